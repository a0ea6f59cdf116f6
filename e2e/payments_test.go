package e2e

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/consumer"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// invoiceOf creates a Pro subscription billed now and returns its first invoice.
func invoiceOf(t *testing.T, h *harness, subID string) zuoraapi.InvoiceV1 {
	t.Helper()
	id := h.subscriptionEvent(events.TypeStiggSubscriptionCreated, &events.SubscriptionCreated{Subscription: *proSubscription(subID)}, subID)
	typ, out := h.waitOutcome(id, 30*time.Second)
	if typ != events.TypeOutSubscriptionSynced || out.Zuora[events.ZuoraInvoiceNumber] == "" {
		t.Fatalf("subscription: %s %+v", typ, out)
	}
	for _, inv := range h.sim.Invoices() {
		if inv.InvoiceNumber == out.Zuora[events.ZuoraInvoiceNumber] {
			return zuoraapi.InvoiceV1{ID: inv.ID, InvoiceNumber: inv.InvoiceNumber, Balance: zuoraapi.MustAmount(money(inv.Balance))}
		}
	}
	t.Fatalf("invoice %s not in Zuora", out.Zuora[events.ZuoraInvoiceNumber])
	return zuoraapi.InvoiceV1{}
}

func money(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// An external payment request makes exactly one Zuora payment applied to the invoice, whatever the redeliveries
// and replays; a later electronic one uses the account's default payment method (a Stripe card attached as
// default).
func TestPaymentsAreMadeOncePerRequest(t *testing.T) {
	h, _ := subscriptionWorld(t)
	inv := invoiceOf(t, h, "sub-pay")
	req := &events.PaymentRequested{CustomerID: "cust-sub", InvoiceNumber: inv.InvoiceNumber,
		Amount: events.DecimalPtr(inv.Balance.String()), Currency: "USD", Kind: events.PaymentExternal, Reference: "wire 42"}
	ev := h.newEvent(events.TypeStiggPaymentRequested, inv.InvoiceNumber, "cust-sub", req)
	h.publish(ev)
	if typ, out := h.waitOutcome(ev.ID(), 30*time.Second); typ != events.TypeOutPaymentSynced || out.Action != "created" ||
		out.Zuora[events.ZuoraPaymentNumber] == "" {
		t.Fatalf("external payment: %s %+v", typ, out)
	}
	// The same request again under another message id (a publisher retrying after the dedupe window).
	again, _ := events.ToMsg("", ev)
	again.Header.Set(jetstream.MsgIDHeader, "retry-"+ev.ID())
	h.publishMsg(again)
	h.waitIdle(topology.StreamStigg, 20*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := consumer.Replay(ctx, h.js, topology.StreamStigg, consumer.ReplayFrom{Seq: 1}); err != nil {
		t.Fatal(err)
	}
	h.waitIdle(topology.StreamStigg, 30*time.Second)
	pays := h.sim.Payments()
	if len(pays) != 1 || pays[0].Type != "External" {
		t.Fatalf("payments after a redelivery and a replay: %+v, want one external payment", pays)
	}
	for _, i := range h.sim.Invoices() {
		if i.InvoiceNumber == inv.InvoiceNumber && i.Balance != 0 {
			t.Fatalf("invoice balance %v after paying it", i.Balance)
		}
	}

	// A Stripe card becomes the default cc_ref payment method; an electronic payment then goes through it.
	attach := &events.PaymentMethodAttached{CustomerID: "cust-sub", SetAsDefault: true,
		Stripe: &events.StripeRef{CustomerID: "cus_123", PaymentMethodID: "pm_123"},
		Card:   &events.Card{Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2031}}
	pmEv := h.newEvent(events.TypeStiggPaymentMethodAttached, "pm_123", "cust-sub", attach)
	h.publish(pmEv)
	typ, out := h.waitOutcome(pmEv.ID(), 30*time.Second)
	pmID := out.Zuora[events.ZuoraPaymentMethodID]
	if typ != events.TypeOutPaymentMethodSynced || out.Action != "created" || pmID == "" {
		t.Fatalf("attach: %s %+v", typ, out)
	}
	acct := accountsWithCustomer(h.simState(), "cust-sub")[0]
	if acct["default_payment_method_id"] != pmID {
		t.Fatalf("account default payment method %v, want %s", acct["default_payment_method_id"], pmID)
	}
	inv2 := invoiceOf(t, h, "sub-pay-2")
	elec := &events.PaymentRequested{CustomerID: "cust-sub", InvoiceNumber: inv2.InvoiceNumber,
		Amount: events.DecimalPtr(inv2.Balance.String()), Currency: "USD", Kind: events.PaymentElectronic, PaymentMethodID: pmID}
	// Zuora commits the payment but the answer is lost, then rate-limits the retry: still one payment.
	h.sim.InjectFault(zuorasim.Fault{Method: "POST", PathPrefix: "/v1/payments", Status: 503, AfterCommit: true, Times: 1})
	h.sim.InjectFault(zuorasim.Fault{Method: "GET", PathPrefix: "/v1/payments", Status: 429, RetryAfter: 1, Times: 1})
	eEv := h.newEvent(events.TypeStiggPaymentRequested, inv2.InvoiceNumber, "cust-sub", elec)
	h.publish(eEv)
	// The retry finds the payment its lost answer made (by reference) and reports it.
	if typ, out := h.waitOutcome(eEv.ID(), 30*time.Second); typ != events.TypeOutPaymentSynced ||
		out.Zuora[events.ZuoraPaymentNumber] == "" {
		t.Fatalf("electronic payment: %s %+v", typ, out)
	}
	if pays := h.sim.Payments(); len(pays) != 2 || pays[1].Type != "Electronic" || pays[1].PaymentMethodID != pmID {
		t.Fatalf("payments %+v, want the electronic one through %s", pays, pmID)
	}
}

// A payment method collected by Zuora's hosted page under another account is moved to the customer's account and
// becomes its default; attaching it again changes nothing.
func TestHostedPagePaymentMethodIsMovedAndMadeDefault(t *testing.T) {
	h, a := subscriptionWorld(t)
	ctx, cancel := context.WithTimeout(zuoraapi.WithEventID(context.Background(), "test-setup"), 10*time.Second)
	defer cancel()
	other, err := a.Zuora.CreateAccount(ctx, "other", &zuoraapi.AccountCreateRequest{Name: "Page Holder", Currency: "USD",
		BillTo: &zuoraapi.Contact{FirstName: "Page", LastName: "Holder"}})
	if err != nil {
		t.Fatal(err)
	}
	pm, err := a.Zuora.CreatePaymentMethod(ctx, "pm", zuoraapi.NewCcRefPaymentMethod(other.ID, "cus_page", "pm_page",
		&zuoraapi.CcRefCardRequest{Brand: "visa", ExpiryMonth: 3, ExpiryYear: 2032}))
	if err != nil {
		t.Fatal(err)
	}
	attach := &events.PaymentMethodAttached{CustomerID: "cust-sub", SetAsDefault: true, ZuoraPaymentMethodID: pm.ID}
	for i, want := range []string{"updated", "unchanged"} {
		ev := h.newEvent(events.TypeStiggPaymentMethodAttached, pm.ID, "cust-sub", attach)
		h.publish(ev)
		typ, out := h.waitOutcome(ev.ID(), 30*time.Second)
		if typ != events.TypeOutPaymentMethodSynced || out.Action != want || out.Zuora[events.ZuoraPaymentMethodID] != pm.ID {
			t.Fatalf("attach %d: %s %+v, want %s", i+1, typ, out, want)
		}
	}
	got, err := a.Zuora.GetPaymentMethod(ctx, pm.ID)
	if err != nil {
		t.Fatal(err)
	}
	acct := accountsWithCustomer(h.simState(), "cust-sub")[0]
	if got.AccountID != acct["id"] || acct["default_payment_method_id"] != pm.ID {
		t.Fatalf("payment method on %s, account default %v; want it moved to %v and default", got.AccountID,
			acct["default_payment_method_id"], acct["id"])
	}
}
