package events

import (
	"sort"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Keys of Outcome.Zuora: the Zuora objects a handler touched, by the names Zuora uses.
const (
	ZuoraAccountID          = "accountId"
	ZuoraAccountNumber      = "accountNumber"
	ZuoraPaymentMethodID    = "paymentMethodId"
	ZuoraProductID          = "productId"
	ZuoraPlanID             = "planId" // product rate plan
	ZuoraChargeID           = "chargeId"
	ZuoraSubscriptionID     = "subscriptionId"
	ZuoraSubscriptionNumber = "subscriptionNumber"
	ZuoraOrderNumber        = "orderNumber"
	ZuoraInvoiceID          = "invoiceId"
	ZuoraInvoiceNumber      = "invoiceNumber"
	ZuoraPaymentID          = "paymentId"
	ZuoraPaymentNumber      = "paymentNumber"
	ZuoraUsageRecordID      = "usageRecordId"
)

// ZuoraPlanOf is the Outcome.Zuora key of a package's plan (product rate plan) for a billing period:
// plan.<PERIOD>.
func ZuoraPlanOf(period string) string { return "plan." + period }

// ZuoraChargeOf is the Outcome.Zuora key of a package's charge: charge.<PERIOD>.<MODEL>[.<featureId>].
func ZuoraChargeOf(period, chargeKey string) string { return "charge." + period + "." + chargeKey }

// Outcome is the data of io.zuorasync.<entity>.<result>: what a handler did in Zuora.
// Zuora is a map because one event touches a varying set of objects (a subscription order
// yields an order number, a subscription number and maybe an invoice); keys are the
// Zuora* constants. Action says what happened ("created", "updated", "unchanged",
// "scheduled", …) so replays that changed nothing are visible as such.
type Outcome struct {
	StiggID         string            `json:"stiggId,omitempty"` // the Stigg entity id (the source event's subject)
	SourceEventID   string            `json:"sourceEventId"`
	SourceEventType string            `json:"sourceEventType,omitempty"`
	Action          string            `json:"action,omitempty"`
	Zuora           map[string]string `json:"zuora,omitempty"`
	Reason          string            `json:"reason,omitempty"` // failures: what a person should fix
	Code            string            `json:"code,omitempty"`   // failures: machine-readable class, e.g. a Zuora error code
}

func (o *Outcome) Validate() error {
	var p problems
	o.validate(&p)
	return p.err()
}

func (o *Outcome) validate(p *problems) {
	p.optID("stiggId", o.StiggID)
	p.id("sourceEventId", o.SourceEventID)
	p.text("sourceEventType", o.SourceEventType)
	keys := make([]string, 0, len(o.Zuora))
	for k := range o.Zuora {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p.id(at("zuora", k), o.Zuora[k])
	}
}

// FailedOutcome is the data of io.zuorasync.<entity>.failed; Reason is required.
type FailedOutcome struct {
	Outcome
}

func (o *FailedOutcome) Validate() error {
	var p problems
	o.validate(&p)
	p.required("reason", o.Reason)
	return p.err()
}

// NewOutcome builds the outcome event for src: type io.zuorasync.<entity>.<result>, subject
// = o.StiggID, the same ordering key as src, src's trace context, and SourceEventID/Type
// filled from src. Publish it with ToMsg("", ev) (subject zuorasync.out.<entity>.<result>.<key>).
func NewOutcome(source string, src event.Event, entity, result string, o Outcome) (event.Event, error) {
	key, err := PartitionKey(src)
	if err != nil {
		return event.Event{}, err
	}
	o.SourceEventID = src.ID()
	o.SourceEventType = src.Type()
	var data Payload = &o
	if result == ResultFailed {
		data = &FailedOutcome{Outcome: o}
	}
	ev, err := New(OutcomeType(entity, result), source, o.StiggID, key, data)
	if err != nil {
		return event.Event{}, err
	}
	PropagateTrace(&ev, src)
	return ev, nil
}
