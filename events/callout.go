package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Zuora callouts as zuora-sync provisions them. For every io.zuora.* type there is one custom event trigger in
// Zuora (CalloutSpec.EventName on CalloutSpec.BaseObject, firing when CalloutSpec.Condition holds) and one
// notification whose callout template sends CalloutSpec.Params as the JSON body: the member "event" names the
// notification (the type without "io.zuora."), every other member is a field of the type's payload, filled by
// Zuora from a merge field of the event's data source ({{DataSource.<Object>.<Field>}}). Zuora renders merge
// fields as strings, an unknown or empty one as "". ParseCallout turns such a body back into the type and its
// payload. Deployed templates depend on these names: change them only together with a reconcile of the templates.

// CalloutEventParam is the body member that names the notification.
const CalloutEventParam = "event"

// CalloutEventPrefix prefixes the custom event type names zuora-sync creates in Zuora, so provisioning can tell
// its own objects from a tenant's others.
const CalloutEventPrefix = "zuorasync_"

// CalloutSpec is what Zuora needs to send one io.zuora.* type.
type CalloutSpec struct {
	Type       string            // the CloudEvent type, e.g. io.zuora.invoice.paid
	Name       string            // the "event" member of the body, e.g. invoice.paid
	EventName  string            // the custom event type's name in Zuora, e.g. zuorasync_invoice_paid
	BaseObject string            // the trigger's base object, e.g. Invoice
	Condition  string            // the trigger's JEXL condition over the change
	Params     map[string]string // calloutParams: body member → merge field (or the literal name for "event")
}

func mergeField(object, field string) string { return "{{DataSource." + object + "." + field + "}}" }

// accountParams are the account members every body carries: the ordering key comes from them.
func accountParams() map[string]string {
	return map[string]string{
		"accountId":       mergeField("Account", "Id"),
		"accountNumber":   mergeField("Account", "AccountNumber"),
		"stiggCustomerId": mergeField("Account", "stiggCustomerId__c"),
	}
}

func withAccount(more map[string]string) map[string]string {
	p := accountParams()
	maps.Copy(p, more)
	return p
}

var calloutSpecs = func() []CalloutSpec {
	invoice := func(action, condition string) CalloutSpec {
		return CalloutSpec{Type: "io.zuora.invoice." + action, BaseObject: "Invoice", Condition: condition,
			Params: withAccount(map[string]string{
				"invoiceId": mergeField("Invoice", "Id"), "invoiceNumber": mergeField("Invoice", "InvoiceNumber"),
				"amount": mergeField("Invoice", "Amount"), "balance": mergeField("Invoice", "Balance"),
				"currency": mergeField("Account", "Currency"), "status": mergeField("Invoice", "Status"),
				"invoiceDate": mergeField("Invoice", "InvoiceDate"), "dueDate": mergeField("Invoice", "DueDate"),
			})}
	}
	subscription := func(action, condition string) CalloutSpec {
		return CalloutSpec{Type: "io.zuora.subscription." + action, BaseObject: "Subscription", Condition: condition,
			Params: withAccount(map[string]string{
				// No Stigg subscription id: Zuora's subscriptions carry it only in their number (stigg-<id>), which
				// the consumer maps back; stiggResourceId__c holds Stigg's resource id, not the subscription's.
				"subscriptionId": mergeField("Subscription", "Id"), "subscriptionNumber": mergeField("Subscription", "Name"),
				"version": mergeField("Subscription", "Version"), "status": mergeField("Subscription", "Status"),
				"cancelledDate": mergeField("Subscription", "CancelledDate"), "termEndDate": mergeField("Subscription", "TermEndDate"),
			})}
	}
	specs := []CalloutSpec{
		invoice("paid", "changeType == 'UPDATE' && Invoice.Status == 'Posted' && Invoice.Balance == 0 && Invoice.Balance_old != 0"),
		invoice("posted", "changeType == 'UPDATE' && Invoice.Status == 'Posted' && Invoice.Status_old != 'Posted'"),
		{Type: TypeZuoraPaymentFailed, BaseObject: "Payment",
			Condition: "(changeType == 'INSERT' || changeType == 'UPDATE') && Payment.Status == 'Error' && Payment.Status_old != 'Error'",
			Params: withAccount(map[string]string{
				"paymentId": mergeField("Payment", "Id"), "paymentNumber": mergeField("Payment", "PaymentNumber"),
				"amount": mergeField("Payment", "Amount"), "currency": mergeField("Account", "Currency"),
				"status": mergeField("Payment", "Status"), "gatewayResponse": mergeField("Payment", "GatewayResponse"),
				"gatewayResponseCode": mergeField("Payment", "GatewayResponseCode"),
			})},
		subscription("updated", "changeType == 'INSERT' && Subscription.Version > 1 && Subscription.Status == 'Active'"),
		subscription("canceled", "Subscription.Status == 'Cancelled' && Subscription.Status_old != 'Cancelled'"),
		{Type: TypeZuoraOrderScheduledCompleted, BaseObject: "Order",
			Condition: "changeType == 'UPDATE' && Order.Status == 'Completed' && Order.Status_old == 'Scheduled'",
			Params: map[string]string{
				"accountNumber": mergeField("Account", "AccountNumber"), "stiggCustomerId": mergeField("Account", "stiggCustomerId__c"),
				"orderId": mergeField("Order", "Id"), "orderNumber": mergeField("Order", "OrderNumber"),
				"status": mergeField("Order", "Status"), "scheduledDate": mergeField("Order", "ScheduledDate"),
			}},
		{Type: TypeZuoraAccountCanceled, BaseObject: "Account",
			Condition: "changeType == 'UPDATE' && Account.Status == 'Canceled' && Account.Status_old != 'Canceled'",
			Params:    withAccount(map[string]string{"status": mergeField("Account", "Status")})},
		{Type: TypeZuoraAccountPaymentMethodChanged, BaseObject: "Account",
			Condition: "changeType == 'UPDATE' && Account.DefaultPaymentMethodId != Account.DefaultPaymentMethodId_old",
			Params: withAccount(map[string]string{
				"defaultPaymentMethodId": mergeField("Account", "DefaultPaymentMethodId"),
			})},
	}
	for i := range specs {
		s := &specs[i]
		s.Name = strings.TrimPrefix(s.Type, "io.zuora.")
		s.EventName = CalloutEventPrefix + strings.NewReplacer(".", "_").Replace(s.Name)
		s.Params[CalloutEventParam] = s.Name
	}
	slices.SortFunc(specs, func(a, b CalloutSpec) int { return strings.Compare(a.Type, b.Type) })
	return specs
}()

// CalloutSpecs lists the callouts zuora-sync provisions, one per io.zuora.* type, sorted by type. The result is a
// copy: callers may change it.
func CalloutSpecs() []CalloutSpec {
	out := make([]CalloutSpec, len(calloutSpecs))
	for i, s := range calloutSpecs {
		s.Params = maps.Clone(s.Params)
		out[i] = s
	}
	return out
}

// CalloutSpecFor finds the spec of an io.zuora.* type or of a body's "event" name.
func CalloutSpecFor(typeOrName string) (CalloutSpec, bool) {
	for _, s := range calloutSpecs {
		if s.Type == typeOrName || s.Name == typeOrName {
			s.Params = maps.Clone(s.Params)
			return s, true
		}
	}
	return CalloutSpec{}, false
}

// MaxCalloutMember bounds one member of a callout body: ids, numbers and amounts are far shorter, and a bound
// keeps a hostile body from becoming a huge subject or key.
const MaxCalloutMember = 1024

// ParseCallout reads a callout body: a JSON object of string members (numbers are accepted too), "event" naming a
// known notification. Empty members are what Zuora sends for merge fields without a value and are dropped;
// members zuora-sync did not provision are ignored (an operator may add parameters to a template). It returns the
// event type and its validated payload; a body that cannot be used is a *ValidationError saying why.
func ParseCallout(body []byte) (string, Payload, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return "", nil, &ValidationError{Scope: ScopeData, Problem: "a callout body must be a JSON object"}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return "", nil, &ValidationError{Scope: ScopeData, Problem: "malformed JSON: " + err.Error(), Err: err}
	}
	members := make(map[string]string, len(raw))
	for k, v := range raw {
		var s string
		switch {
		case len(v) > 0 && v[0] == '"':
			if err := json.Unmarshal(v, &s); err != nil {
				return "", nil, &ValidationError{Scope: ScopeData, Field: k, Problem: "not a JSON string", Err: err}
			}
		case len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9'):
			s = string(v)
		case string(v) == "null":
		default:
			return "", nil, &ValidationError{Scope: ScopeData, Field: k, Problem: "must be a string"}
		}
		if len(s) > MaxCalloutMember {
			return "", nil, &ValidationError{Scope: ScopeData, Field: k, Problem: fmt.Sprintf("longer than %d bytes", MaxCalloutMember)}
		}
		if s = strings.TrimSpace(s); s != "" {
			members[k] = s
		}
	}
	name, ok := members[CalloutEventParam]
	if !ok {
		return "", nil, &ValidationError{Scope: ScopeData, Field: CalloutEventParam, Problem: "missing: the callout does not say which notification it is"}
	}
	spec, ok := CalloutSpecFor(name)
	if !ok || spec.Name != name {
		return "", nil, &ValidationError{Scope: ScopeData, Field: CalloutEventParam, Problem: fmt.Sprintf("%q is not a notification zuora-sync provisions", name)}
	}
	known := make(map[string]string, len(members))
	for k, v := range members {
		if _, ok := spec.Params[k]; ok && k != CalloutEventParam {
			known[k] = v
		}
	}
	data, err := json.Marshal(known)
	if err != nil {
		return "", nil, err
	}
	p, _ := NewPayload(spec.Type)
	if err := unmarshalPayload(data, p); err != nil {
		return "", nil, err
	}
	if err := p.Validate(); err != nil {
		return "", nil, err
	}
	return spec.Type, p, nil
}
