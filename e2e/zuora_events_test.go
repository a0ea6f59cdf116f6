package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/topology"
)

// zuoraEvent builds an io.zuora.* CloudEvent as the bridge publishes it: its id the notification's, its subject the
// Zuora object, keyed by the Stigg customer.
func (h *harness) zuoraEvent(typ, id, object string, data events.Payload) event.Event {
	h.t.Helper()
	ev, err := events.New(typ, "/e2e/bridge", object, "cust-sub", data)
	if err != nil {
		h.t.Fatal(err)
	}
	ev.SetID(id)
	return ev
}

// publishZuora publishes ev on its ZUORA subject (events.SubjectFor) under msgID.
func (h *harness) publishZuora(ev event.Event, msgID string) {
	h.t.Helper()
	subject, err := events.SubjectFor(ev)
	if err != nil {
		h.t.Fatal(err)
	}
	if !strings.HasPrefix(subject, events.PrefixZuora+".") {
		h.t.Fatalf("%s goes to %s, not the ZUORA stream", ev.Type(), subject)
	}
	msg, err := events.ToMsg(subject, ev)
	if err != nil {
		h.t.Fatal(err)
	}
	msg.Header.Set(jetstream.MsgIDHeader, msgID)
	h.publishMsg(msg)
}

// A paid invoice's notification on the ZUORA stream comes back through the real consumer as
// io.zuorasync.invoice.paid with the Stigg customer and subscription, read from Zuora (CRUD invoice + items) and
// nothing written there; the same notification again is harmless; an invoice Zuora does not have is a failed
// outcome and a dead letter with the reason, not a retry loop.
func TestZuoraInvoicePaidComesBackAsAnOutcome(t *testing.T) {
	h, _ := subscriptionWorld(t)
	inv := invoiceOf(t, h, "sub-zev")
	if _, err := h.sim.PayInvoice(inv.InvoiceNumber); err != nil {
		t.Fatal(err)
	}
	before := h.writeCalls()
	paid := &events.ZuoraInvoice{InvoiceID: inv.ID, InvoiceNumber: inv.InvoiceNumber, StiggCustomerID: "cust-sub",
		Balance: events.DecimalPtr("0")}
	ev := h.zuoraEvent(events.TypeZuoraInvoicePaid, "zn-paid-1", inv.InvoiceNumber, paid)
	h.publishZuora(ev, ev.ID())
	typ, out := h.waitOutcome(ev.ID(), 30*time.Second)
	if typ != events.TypeOutInvoicePaid || out.StiggID != "cust-sub" || out.Action != "confirmed" ||
		out.Zuora["stiggSubscriptionId"] != "sub-zev" || out.Zuora["stiggCustomerId"] != "cust-sub" ||
		out.Zuora[events.ZuoraInvoiceNumber] != inv.InvoiceNumber || out.Zuora[events.ZuoraInvoiceID] != inv.ID ||
		out.Zuora["balance"] != "0" || out.Zuora["status"] != "Posted" || out.Zuora["amount"] != inv.Balance.String() ||
		out.Zuora[events.ZuoraSubscriptionNumber] != "stigg-sub-zev" {
		t.Fatalf("invoice paid: %s %+v", typ, out)
	}
	reads := map[string]int{"GET /v1/object/invoice/" + inv.ID: 1, "GET /v1/invoices/" + inv.ID + "/items": 1}
	h.wantCalls("invoice paid", h.callsOf(ev.ID()), reads)
	if stored := h.readStream(topology.StreamZuora, "zuora.invoice.paid.>"); len(stored) != 1 || stored[0].ID() != ev.ID() {
		t.Fatalf("ZUORA stream holds %d invoice.paid events", len(stored))
	}

	// The same notification once more under another message id (a callout retried past the duplicate window):
	// handled again, read-only, and its outcome — same id — is not stored twice.
	h.publishZuora(ev, "zn-paid-1-retry")
	h.waitIdle(topology.StreamZuora, 30*time.Second)
	n := 0
	for _, o := range h.outcomes() {
		if o.ID() == ev.ID()+":"+events.TypeOutInvoicePaid {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d outcomes of one notification, want 1", n)
	}
	for call := range reads {
		reads[call] = 2
	}
	h.wantCalls("invoice paid, twice", h.callsOf(ev.ID()), reads)

	bad := h.zuoraEvent(events.TypeZuoraInvoicePaid, "zn-paid-nope", "INV-NOPE", &events.ZuoraInvoice{InvoiceID: "8a8aa0b1nope"})
	h.publishZuora(bad, bad.ID())
	typ, out = h.waitOutcome(bad.ID(), 30*time.Second)
	if typ != events.TypeOutInvoiceFailed || !strings.Contains(out.Reason, "no invoice 8a8aa0b1nope in Zuora") {
		t.Fatalf("unknown invoice: %s %+v", typ, out)
	}
	found := false
	for _, d := range h.dlq() {
		if d.EventID == bad.ID() && d.Class == "permanent" && d.Attempts == 1 {
			found = true
		}
	}
	if !found {
		t.Fatalf("no permanent dead letter for the unknown invoice: %+v", h.dlq())
	}
	h.wantCalls("writes while handling Zuora's notifications", h.writeCalls(), before)
}
