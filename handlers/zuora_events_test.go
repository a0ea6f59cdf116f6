package handlers

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/idmap"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// zuoraEventsEnv is the subscription environment with a customer, a Pro subscription billed on creation (its
// first invoice open) and the handler of Zuora's notifications.
type zuoraEventsEnv struct {
	*subsEnv
	h       *zuoraEvents
	sub     string // the Stigg subscription
	number  string // its Zuora subscription
	invoice zuoraapi.InvoiceV1
}

func newZuoraEventsEnv(t *testing.T) *zuoraEventsEnv {
	t.Helper()
	e := &zuoraEventsEnv{subsEnv: newSubsEnv(t), sub: "sub-z1"}
	e.syncCustomer("cust-1")
	out, err := e.handle(events.TypeStiggSubscriptionCreated, &events.SubscriptionCreated{Subscription: *proSub(e.sub, "cust-1")}, "cust-1")
	if err != nil || out.Zuora[events.ZuoraInvoiceNumber] == "" {
		t.Fatalf("subscription: %+v %v", out, err)
	}
	e.number = out.Zuora[events.ZuoraSubscriptionNumber]
	inv, err := e.deps.Zuora.GetInvoice(e.ctx(), out.Zuora[events.ZuoraInvoiceNumber])
	if err != nil || inv.Balance.IsZero() {
		t.Fatalf("invoice %+v %v", inv, err)
	}
	e.invoice = *inv
	e.h = &zuoraEvents{deps: e.deps}
	return e
}

// notify handles one Zuora notification (delivery attempt 1 unless given) and returns its one outcome.
func (e *zuoraEventsEnv) notify(typ string, p events.Payload, attempt ...int) (dispatch.Outcome, error) {
	e.t.Helper()
	in := e.input(typ, "cust-1", p)
	if len(attempt) > 0 {
		in.Attempt = attempt[0]
	}
	res, err := e.h.Handle(e.ctx(), in)
	if err != nil {
		return dispatch.Outcome{}, err
	}
	if len(res.Outcomes) != 1 {
		e.t.Fatalf("%s: %d outcomes", typ, len(res.Outcomes))
	}
	o := res.Outcomes[0]
	// Every outcome must survive the runtime's encoding.
	if _, err := events.NewOutcome("/test", in.Event, o.Entity, o.Result, o.Data); err != nil {
		e.t.Fatalf("%s: outcome %+v does not encode: %v", typ, o, err)
	}
	return o, nil
}

// zuoraCalls lists the API calls the simulator saw since the last reset, as "METHOD path".
func (e *zuoraEventsEnv) zuoraCalls() []string {
	var out []string
	for _, r := range e.sim.Requests() {
		if r.Path != "/oauth/token" {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

func expectOutcome(t *testing.T, o dispatch.Outcome, typ, stiggID string, want map[string]string) {
	t.Helper()
	if got := events.OutcomeType(o.Entity, o.Result); got != typ || o.Data.StiggID != stiggID {
		t.Fatalf("outcome %s for %q, want %s for %q: %+v", got, o.Data.StiggID, typ, stiggID, o.Data)
	}
	for k, v := range want {
		if o.Data.Zuora[k] != v {
			t.Fatalf("%s: zuora[%s] = %q, want %q (%+v)", typ, k, o.Data.Zuora[k], v, o.Data)
		}
	}
}

// A paid invoice becomes io.zuorasync.invoice.paid with the Stigg customer and subscription, read from Zuora with
// the CRUD invoice and its items; a redelivery reports the same again, says so, and writes nothing.
func TestZuoraInvoicePaidNamesTheStiggSubscription(t *testing.T) {
	e := newZuoraEventsEnv(t)
	if _, err := e.sim.PayInvoice(e.invoice.InvoiceNumber); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	// The callout's own fields are not used: its balance claims something else.
	paid := &events.ZuoraInvoice{InvoiceID: e.invoice.ID, InvoiceNumber: e.invoice.InvoiceNumber, AccountNumber: "A-whatever",
		Balance: events.DecimalPtr("12345"), Status: "Draft"}
	o, err := e.notify(events.TypeZuoraInvoicePaid, paid)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{events.ZuoraInvoiceID: e.invoice.ID, events.ZuoraInvoiceNumber: e.invoice.InvoiceNumber,
		events.ZuoraAccountID: e.invoice.AccountID, keyStatus: "Posted", keyBalance: "0", keyAmount: e.invoice.Amount.String(),
		keyCurrency: "USD", keyStiggCustomerID: "cust-1", keyStiggSubscriptionID: e.sub,
		keyStiggSubscriptionOf(e.number): e.sub, events.ZuoraSubscriptionNumber: e.number}
	expectOutcome(t, o, events.TypeOutInvoicePaid, "cust-1", want)
	if o.Data.Action != actionConfirmed || o.Data.Reason != "" {
		t.Fatalf("outcome %+v", o.Data)
	}
	calls := e.zuoraCalls()
	if len(calls) != 2 || calls[0] != "GET /v1/object/invoice/"+e.invoice.ID || calls[1] != "GET /v1/invoices/"+e.invoice.ID+"/items" {
		t.Fatalf("Zuora calls %v, want the CRUD invoice and its items", calls)
	}

	again, err := e.notify(events.TypeZuoraInvoicePaid, paid, 2)
	if err != nil {
		t.Fatal(err)
	}
	expectOutcome(t, again, events.TypeOutInvoicePaid, "cust-1", want)
	if !strings.Contains(again.Data.Reason, "same notification") {
		t.Fatalf("a redelivery's outcome does not say it is the same notification: %+v", again.Data)
	}
	for _, c := range e.zuoraCalls() {
		if !strings.HasPrefix(c, "GET ") {
			t.Fatalf("a Zuora notification wrote to Zuora: %s", c)
		}
	}
}

// Without the id map (lost, or another instance's bucket), the Stigg ids come from Zuora: the account's
// stiggCustomerId__c and the subscription's stigg-<id> number.
func TestZuoraInvoicePaidWithoutTheIDMap(t *testing.T) {
	e := newZuoraEventsEnv(t)
	if _, err := e.sim.PayInvoice(e.invoice.InvoiceNumber); err != nil {
		t.Fatal(err)
	}
	_, js := natstest.Start(t).Connect(t)
	kv, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: "empty"})
	if err != nil {
		t.Fatal(err)
	}
	deps := e.deps
	deps.IDs = idmap.New(kv)
	e.h = &zuoraEvents{deps: deps}
	o, err := e.notify(events.TypeZuoraInvoicePaid, &events.ZuoraInvoice{InvoiceNumber: e.invoice.InvoiceNumber})
	if err != nil {
		t.Fatal(err)
	}
	expectOutcome(t, o, events.TypeOutInvoicePaid, "cust-1", map[string]string{keyStiggSubscriptionID: e.sub,
		keyBalance: "0", events.ZuoraInvoiceID: e.invoice.ID})
}

// A paid callout for an invoice that still has a balance (stale, or overtaken by a reversal) reports what Zuora
// says, as io.zuorasync.invoice.stale, never as paid.
func TestZuoraInvoicePaidButZuoraHasABalance(t *testing.T) {
	e := newZuoraEventsEnv(t)
	o, err := e.notify(events.TypeZuoraInvoicePaid, &events.ZuoraInvoice{InvoiceID: e.invoice.ID,
		InvoiceNumber: e.invoice.InvoiceNumber, Balance: events.DecimalPtr("0")})
	if err != nil {
		t.Fatal(err)
	}
	expectOutcome(t, o, "io.zuorasync.invoice.stale", "cust-1", map[string]string{keyBalance: e.invoice.Balance.String(),
		keyStatus: "Posted", keyStiggSubscriptionID: e.sub})
	if o.Data.Action != actionStale || !strings.Contains(o.Data.Reason, "balance of "+e.invoice.Balance.String()) {
		t.Fatalf("stale outcome %+v", o.Data)
	}
	// The same invoice's posted notification is confirmed.
	posted, err := e.notify(events.TypeZuoraInvoicePosted, &events.ZuoraInvoice{InvoiceNumber: e.invoice.InvoiceNumber})
	if err != nil {
		t.Fatal(err)
	}
	expectOutcome(t, posted, events.TypeOutInvoicePosted, "cust-1", map[string]string{keyStiggSubscriptionID: e.sub,
		events.ZuoraInvoiceID: e.invoice.ID})
}

// A notification naming an object Zuora does not have is a permanent failure with a reason, not a retry loop.
func TestZuoraNotificationOfUnknownObjectIsPermanent(t *testing.T) {
	e := newZuoraEventsEnv(t)
	for _, c := range []struct {
		typ string
		p   events.Payload
	}{
		{events.TypeZuoraInvoicePaid, &events.ZuoraInvoice{InvoiceID: "8a8aa0b1nope"}},
		{events.TypeZuoraInvoicePosted, &events.ZuoraInvoice{InvoiceNumber: "INV-NOPE"}},
		{events.TypeZuoraPaymentFailed, &events.ZuoraPayment{PaymentNumber: "P-NOPE"}},
		{events.TypeZuoraSubscriptionUpdated, &events.ZuoraSubscription{SubscriptionNumber: "A-S-NOPE"}},
		{events.TypeZuoraOrderScheduledCompleted, &events.ZuoraOrder{OrderNumber: "O-NOPE"}},
		{events.TypeZuoraAccountCanceled, &events.ZuoraAccount{AccountNumber: "A-NOPE"}},
	} {
		_, err := e.notify(c.typ, c.p)
		if class, _ := dispatch.Classify(err); class != dispatch.ClassPermanent || !strings.Contains(err.Error(), "in Zuora, which the") {
			t.Fatalf("%s of an unknown object: %v (%v)", c.typ, class, err)
		}
	}
}

// rewrite answers requests whose path starts with prefix with the simulator's answer changed by f.
func (e *zuoraEventsEnv) rewrite(prefix string, f func(map[string]any)) {
	e.onRequest(func(w http.ResponseWriter, r *http.Request, sim http.Handler) {
		if !strings.HasPrefix(r.URL.Path, prefix) {
			sim.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, r)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			e.t.Errorf("%s: %v", r.URL.Path, err)
		}
		f(body)
		var b bytes.Buffer
		_ = json.NewEncoder(&b).Encode(body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(b.Bytes())
	})
}

// A failed payment is io.zuorasync.payment.declined when Zuora has it in Error, stale otherwise.
func TestZuoraPaymentFailed(t *testing.T) {
	e := newZuoraEventsEnv(t)
	pay, err := e.sim.PayInvoice(e.invoice.InvoiceNumber)
	if err != nil {
		t.Fatal(err)
	}
	failed := &events.ZuoraPayment{PaymentID: pay.ID, Status: "Error"}
	o, err := e.notify(events.TypeZuoraPaymentFailed, failed)
	if err != nil {
		t.Fatal(err)
	}
	expectOutcome(t, o, "io.zuorasync.payment.stale", "cust-1", map[string]string{events.ZuoraPaymentNumber: pay.Number,
		keyStatus: "Processed", keyStiggCustomerID: "cust-1"})
	e.rewrite("/v1/payments/", func(b map[string]any) {
		// A gateway message with a line break, longer than an id may be: the outcome must still encode.
		b["status"], b["gatewayResponse"], b["gatewayResponseCode"] = "Error", "Card declined\n"+strings.Repeat("x", 300), "card_declined"
	})
	o, err = e.notify(events.TypeZuoraPaymentFailed, failed)
	if err != nil {
		t.Fatal(err)
	}
	expectOutcome(t, o, "io.zuorasync.payment.declined", "cust-1", map[string]string{events.ZuoraPaymentID: pay.ID,
		keyStatus: "Error", keyGatewayResponseCode: "card_declined", keyAmount: strconv.FormatFloat(pay.Amount, 'f', -1, 64)})
}

// Subscription notifications carry the Stigg subscription as their stiggId, the customer beside it; a cancelled
// notification for a subscription Zuora has active is stale.
func TestZuoraSubscriptionUpdatedAndCanceled(t *testing.T) {
	e := newZuoraEventsEnv(t)
	more := *proSub(e.sub, "cust-1")
	more.Units = []events.FeatureQuantity{{FeatureID: "feature-seats", Quantity: 8}}
	if _, err := e.handle(events.TypeStiggSubscriptionUpdated, &events.SubscriptionUpdated{Subscription: more}, "cust-1"); err != nil {
		t.Fatal(err)
	}
	zs := &events.ZuoraSubscription{SubscriptionNumber: e.number}
	o, err := e.notify(events.TypeZuoraSubscriptionUpdated, zs)
	if err != nil {
		t.Fatal(err)
	}
	expectOutcome(t, o, events.TypeOutSubscriptionUpdated, e.sub, map[string]string{events.ZuoraSubscriptionNumber: e.number,
		keyStatus: "Active", keyVersion: "2", keyStiggCustomerID: "cust-1", keyStiggSubscriptionID: e.sub,
		keyStiggResourceID: "resource-1"})
	if o, err = e.notify(events.TypeZuoraSubscriptionCanceled, zs); err != nil {
		t.Fatal(err)
	}
	expectOutcome(t, o, "io.zuorasync.subscription.stale", e.sub, map[string]string{keyStatus: "Active"})

	cancel := &events.SubscriptionCanceled{SubscriptionID: e.sub, CustomerID: "cust-1", CancellationTime: events.CancelImmediate}
	if _, err := e.handle(events.TypeStiggSubscriptionCanceled, cancel, "cust-1"); err != nil {
		t.Fatal(err)
	}
	if o, err = e.notify(events.TypeZuoraSubscriptionCanceled, &events.ZuoraSubscription{SubscriptionID: e.subscription(e.number).ID}); err != nil {
		t.Fatal(err)
	}
	expectOutcome(t, o, events.TypeOutSubscriptionCanceled, e.sub, map[string]string{keyStatus: "Cancelled",
		events.ZuoraSubscriptionNumber: e.number, keyStiggCustomerID: "cust-1"})
}

// A scheduled order's completion names the order's subscriptions and customer; before it ran it is stale.
func TestZuoraScheduledOrderCompleted(t *testing.T) {
	e := &zuoraEventsEnv{subsEnv: newSubsEnv(t)}
	e.h = &zuoraEvents{deps: e.deps}
	sub := annualPro("sub-sched")
	order := scheduleDowngrade(t, e.subsEnv, sub)
	done := &events.ZuoraOrder{OrderNumber: order}
	o, err := e.notify(events.TypeZuoraOrderScheduledCompleted, done)
	if err != nil {
		t.Fatal(err)
	}
	expectOutcome(t, o, "io.zuorasync.order.stale", "cust-1", map[string]string{keyStatus: "Scheduled"})
	now := e.sim.Now()
	e.sim.Advance(time.Date(now.Year(), now.Month()+1, 1, 1, 0, 0, 0, time.UTC).Sub(now))
	if o, err = e.notify(events.TypeZuoraOrderScheduledCompleted, done); err != nil {
		t.Fatal(err)
	}
	number := subscriptionNumberFor("sub-sched")
	expectOutcome(t, o, events.TypeOutOrderScheduledCompleted, "cust-1", map[string]string{events.ZuoraOrderNumber: order,
		keyStatus: "Completed", keyStiggSubscriptionID: "sub-sched", keyStiggSubscriptionOf(number): "sub-sched",
		events.ZuoraSubscriptionNumber: number, keyStiggCustomerID: "cust-1"})
}

// Account notifications: cancelled is confirmed only when Zuora has the account Canceled; a payment method change
// reports the account's default payment method now.
func TestZuoraAccountNotifications(t *testing.T) {
	e := &zuoraEventsEnv{subsEnv: newSubsEnv(t)}
	e.h = &zuoraEvents{deps: e.deps}
	e.syncCustomer("cust-1")
	acct, err := e.deps.IDs.Get(e.ctx(), KindCustomer, "cust-1")
	if err != nil {
		t.Fatal(err)
	}
	attach := &events.PaymentMethodAttached{CustomerID: "cust-1", SetAsDefault: true,
		Stripe: &events.StripeRef{CustomerID: "cus_1", PaymentMethodID: "pm_1"},
		Card:   &events.Card{Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2031}}
	res, err := (&paymentMethods{deps: e.deps}).Handle(e.ctx(), e.input(events.TypeStiggPaymentMethodAttached, "cust-1", attach))
	if err != nil {
		t.Fatal(err)
	}
	pmID := res.Outcomes[0].Data.Zuora[events.ZuoraPaymentMethodID]
	o, err := e.notify(events.TypeZuoraAccountPaymentMethodChanged, &events.ZuoraPaymentMethodChanged{AccountID: acct.ZuoraID})
	if err != nil {
		t.Fatal(err)
	}
	expectOutcome(t, o, events.TypeOutAccountPaymentMethodChanged, "cust-1", map[string]string{
		events.ZuoraPaymentMethodID: pmID, events.ZuoraAccountNumber: acct.ZuoraNumber, keyStiggCustomerID: "cust-1"})

	canceled := &events.ZuoraAccount{AccountNumber: acct.ZuoraNumber}
	if o, err = e.notify(events.TypeZuoraAccountCanceled, canceled); err != nil {
		t.Fatal(err)
	}
	expectOutcome(t, o, "io.zuorasync.account.stale", "cust-1", map[string]string{keyStatus: "Active"})
	e.rewrite("/v1/accounts/", func(b map[string]any) { b["basicInfo"].(map[string]any)["status"] = "Canceled" })
	if o, err = e.notify(events.TypeZuoraAccountCanceled, canceled); err != nil {
		t.Fatal(err)
	}
	expectOutcome(t, o, events.TypeOutAccountCanceled, "cust-1", map[string]string{keyStatus: "Canceled",
		events.ZuoraAccountID: acct.ZuoraID})
}

// An account Stigg does not know is reported with Zuora's ids and a reason, not failed.
func TestZuoraNotificationOfAnAccountStiggDoesNotKnow(t *testing.T) {
	e := &zuoraEventsEnv{subsEnv: newSubsEnv(t)}
	e.h = &zuoraEvents{deps: e.deps}
	other, err := e.deps.Zuora.CreateAccount(e.ctx(), "other", &zuoraapi.AccountCreateRequest{Name: "Hand Made", Currency: "USD",
		BillTo: &zuoraapi.Contact{FirstName: "Hand", LastName: "Made"}})
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.notify(events.TypeZuoraAccountCanceled, &events.ZuoraAccount{AccountID: other.ID})
	if err != nil {
		t.Fatal(err)
	}
	if o.Data.StiggID != "" || o.Data.Zuora[events.ZuoraAccountID] != other.ID || !strings.Contains(o.Data.Reason, "not linked to a Stigg customer") {
		t.Fatalf("outcome %+v", o.Data)
	}
}

// Every io.zuora.* type is routed, each on its own (a late older notification is reported too).
func TestZuoraEventsAreRouted(t *testing.T) {
	r := dispatch.NewRouter()
	Register(r, Deps{Logger: slog.New(slog.DiscardHandler)})
	for _, typ := range []string{events.TypeZuoraInvoicePaid, events.TypeZuoraInvoicePosted, events.TypeZuoraPaymentFailed,
		events.TypeZuoraSubscriptionUpdated, events.TypeZuoraSubscriptionCanceled, events.TypeZuoraOrderScheduledCompleted,
		events.TypeZuoraAccountCanceled, events.TypeZuoraAccountPaymentMethodChanged} {
		if _, ok := r.Lookup(typ); !ok || r.Ordering(typ) != dispatch.Each {
			t.Fatalf("%s: routed %v, ordering %v", typ, ok, r.Ordering(typ))
		}
	}
}

// An invoice that bills several subscriptions names each one's Stigg subscription by its number, and says which
// subscription Stigg does not know; none is singled out as the invoice's subscription.
func TestZuoraInvoiceOfSeveralSubscriptions(t *testing.T) {
	e := newZuoraEventsEnv(t)
	e.rewrite("/v1/invoices/", func(b map[string]any) {
		items, _ := b["invoiceItems"].([]any)
		if len(items) == 0 {
			return
		}
		first := items[0].(map[string]any)
		other, foreign := map[string]any{}, map[string]any{}
		for k, v := range first {
			other[k], foreign[k] = v, v
		}
		other["subscriptionName"], other["subscriptionId"] = subscriptionNumberFor("sub-other"), "8a8aother"
		foreign["subscriptionName"], foreign["subscriptionId"] = "A-S00000099", "8a8aforeign"
		b["invoiceItems"] = append(items, other, foreign)
	})
	o, err := e.notify(events.TypeZuoraInvoicePosted, &events.ZuoraInvoice{InvoiceID: e.invoice.ID})
	if err != nil {
		t.Fatal(err)
	}
	expectOutcome(t, o, events.TypeOutInvoicePosted, "cust-1", map[string]string{keyStiggSubscriptionOf(e.number): e.sub,
		keyStiggSubscriptionOf(subscriptionNumberFor("sub-other")): "sub-other", keyStiggCustomerID: "cust-1"})
	for _, k := range []string{keyStiggSubscriptionID, events.ZuoraSubscriptionNumber, keyStiggSubscriptionOf("A-S00000099")} {
		if v, ok := o.Data.Zuora[k]; ok {
			t.Fatalf("zuora[%s] = %q on an invoice of several subscriptions", k, v)
		}
	}
	if !strings.Contains(o.Data.Reason, "A-S00000099 has no Stigg subscription") {
		t.Fatalf("reason %q", o.Data.Reason)
	}
}
