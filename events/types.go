package events

import "strings"

// Event types, Stigg → Zuora (published on stigg.<entity>.<action>.<key>).
const (
	TypeStiggCustomerCreated         = "io.stigg.customer.created"
	TypeStiggCustomerUpdated         = "io.stigg.customer.updated"
	TypeStiggPaymentMethodAttached   = "io.stigg.payment_method.attached"
	TypeStiggPackagePublished        = "io.stigg.package.published"
	TypeStiggSubscriptionCreated     = "io.stigg.subscription.created"
	TypeStiggSubscriptionUpdated     = "io.stigg.subscription.updated"
	TypeStiggSubscriptionCanceled    = "io.stigg.subscription.canceled"
	TypeStiggUsageReported           = "io.stigg.usage.reported"
	TypeStiggPaymentRequested        = "io.stigg.payment.requested"
	TypeStiggIntegrationConnected    = "io.stigg.integration.connected"
	TypeStiggIntegrationDisconnected = "io.stigg.integration.disconnected"
)

// Event types, Zuora → Stigg (the bridge publishes them on zuora.<entity>.<action>.<key>).
const (
	TypeZuoraInvoicePaid                 = "io.zuora.invoice.paid"
	TypeZuoraInvoicePosted               = "io.zuora.invoice.posted"
	TypeZuoraPaymentFailed               = "io.zuora.payment.failed"
	TypeZuoraSubscriptionUpdated         = "io.zuora.subscription.updated"
	TypeZuoraSubscriptionCanceled        = "io.zuora.subscription.canceled"
	TypeZuoraOrderScheduledCompleted     = "io.zuora.order.scheduled_completed"
	TypeZuoraAccountCanceled             = "io.zuora.account.canceled"
	TypeZuoraAccountPaymentMethodChanged = "io.zuora.account.payment_method_changed"
)

// Entities, as they appear in types and subjects.
const (
	EntityCustomer      = "customer"
	EntityPaymentMethod = "payment_method"
	EntityPackage       = "package"
	EntitySubscription  = "subscription"
	EntityUsage         = "usage"
	EntityPayment       = "payment"
	EntityIntegration   = "integration"
	EntityInvoice       = "invoice"
	EntityOrder         = "order"
	EntityAccount       = "account"
)

// Outcome results: io.zuorasync.<entity>.<result>. Handlers of Zuora → Stigg events use the
// source event's action as the result (io.zuorasync.invoice.paid, …).
const (
	ResultSynced = "synced"
	ResultFailed = "failed"
)

// Outcome types (published by the consumer on zuorasync.out.<entity>.<result>.<key>).
const (
	TypeOutCustomerSynced      = "io.zuorasync.customer.synced"
	TypeOutCustomerFailed      = "io.zuorasync.customer.failed"
	TypeOutPaymentMethodSynced = "io.zuorasync.payment_method.synced"
	TypeOutPaymentMethodFailed = "io.zuorasync.payment_method.failed"
	TypeOutPackageSynced       = "io.zuorasync.package.synced"
	TypeOutPackageFailed       = "io.zuorasync.package.failed"
	TypeOutSubscriptionSynced  = "io.zuorasync.subscription.synced"
	TypeOutSubscriptionFailed  = "io.zuorasync.subscription.failed"
	TypeOutUsageSynced         = "io.zuorasync.usage.synced"
	TypeOutUsageFailed         = "io.zuorasync.usage.failed"
	TypeOutPaymentSynced       = "io.zuorasync.payment.synced"
	TypeOutPaymentFailed       = "io.zuorasync.payment.failed"
	TypeOutIntegrationSynced   = "io.zuorasync.integration.synced"
	TypeOutIntegrationFailed   = "io.zuorasync.integration.failed"

	TypeOutInvoicePaid                 = "io.zuorasync.invoice.paid"
	TypeOutInvoicePosted               = "io.zuorasync.invoice.posted"
	TypeOutSubscriptionUpdated         = "io.zuorasync.subscription.updated"
	TypeOutSubscriptionCanceled        = "io.zuorasync.subscription.canceled"
	TypeOutOrderScheduledCompleted     = "io.zuorasync.order.scheduled_completed"
	TypeOutAccountCanceled             = "io.zuorasync.account.canceled"
	TypeOutAccountPaymentMethodChanged = "io.zuorasync.account.payment_method_changed"
	TypeOutInvoiceFailed               = "io.zuorasync.invoice.failed"
	TypeOutOrderFailed                 = "io.zuorasync.order.failed"
	TypeOutAccountFailed               = "io.zuorasync.account.failed"
)

// Type namespaces and the subject prefix each one is published under.
const (
	NamespaceStigg     = "io.stigg"
	NamespaceZuora     = "io.zuora"
	NamespaceZuoraSync = "io.zuorasync"

	PrefixStigg   = "stigg"
	PrefixZuora   = "zuora"
	PrefixOutcome = "zuorasync.out"
	PrefixDLQ     = "zuorasync.dlq"
)

// splitType splits "io.<vendor>.<entity>.<action>"; ok is false for any other shape.
func splitType(t string) (namespace, entity, action string, ok bool) {
	parts := strings.Split(t, ".")
	if len(parts) != 4 || parts[0] != "io" {
		return "", "", "", false
	}
	for _, p := range parts[1:] {
		if !isTypeToken(p) {
			return "", "", "", false
		}
	}
	return parts[0] + "." + parts[1], parts[2], parts[3], true
}

// isTypeToken: lower-case letters, digits and '_' — safe both in a type and as a subject token.
func isTypeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Entity returns the entity of an event type: io.stigg.payment_method.attached → payment_method.
// It returns "" for a type not shaped io.<vendor>.<entity>.<action>.
func Entity(eventType string) string {
	_, e, _, _ := splitType(eventType)
	return e
}

// Namespace returns the namespace of an event type: io.stigg.customer.created → io.stigg.
// It returns "" for a type not shaped io.<vendor>.<entity>.<action>.
func Namespace(eventType string) string {
	ns, _, _, _ := splitType(eventType)
	return ns
}

// Action returns the action of an event type: io.stigg.payment_method.attached → attached.
// It returns "" for a type not shaped io.<vendor>.<entity>.<action>.
func Action(eventType string) string {
	_, _, a, _ := splitType(eventType)
	return a
}

// OutcomeType returns io.zuorasync.<entity>.<result>.
func OutcomeType(entity, result string) string {
	return NamespaceZuoraSync + "." + entity + "." + result
}

// subjectPrefixFor maps a type namespace to the subject prefix its events are published under.
func subjectPrefixFor(namespace string) (string, bool) {
	switch namespace {
	case NamespaceStigg:
		return PrefixStigg, true
	case NamespaceZuora:
		return PrefixZuora, true
	case NamespaceZuoraSync:
		return PrefixOutcome, true
	}
	return "", false
}
