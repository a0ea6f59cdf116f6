package e2e

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// A bridge outage longer than Zuora's retries: the invoice.paid callout fails all three attempts and Zuora gives
// up; the consumer's reconciliation finds it in Zuora's callout history and has it resent once the bridge is
// back. The notification is stored once and comes back as the invoice.paid outcome with the Stigg ids; a second
// round resends nothing.
func TestCalloutDroppedPastZuorasRetriesIsRecovered(t *testing.T) {
	h, a, b := calloutWorld(t)
	if a.Callouts == nil {
		t.Fatal("no callout reconciler although the bridge is configured")
	}
	h.waitCallouts()
	inv := invoiceOf(t, h, "sub-recover")
	h.waitCallouts()
	b.stop()
	if _, err := h.sim.PayInvoice(inv.InvoiceNumber); err != nil {
		t.Fatal(err)
	}
	h.waitCallouts()
	for range 2 {
		h.sim.Advance(31 * time.Minute)
		h.waitCallouts()
	}
	c := h.onePaidCallout(inv.InvoiceNumber)
	if c.Status != zuorasim.CalloutFailed || !slices.Equal(attemptCodes(c), []int{0, 0, 0}) {
		t.Fatalf("after Zuora's retries: %+v, want failed after three attempts", c)
	}

	b.start()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := a.Callouts.Reconcile(ctx)
	if err != nil || st.Resent == 0 {
		t.Fatalf("reconcile: %+v %v, want the failed callouts resent", st, err)
	}
	h.waitCallouts()
	c = h.onePaidCallout(inv.InvoiceNumber)
	if c.Status != zuorasim.CalloutDelivered {
		t.Fatalf("after the resend: %+v", c)
	}
	if n := h.storedCallouts(c.NotificationID); n != 1 {
		t.Fatalf("%d events of the notification on the ZUORA stream, want 1", n)
	}
	if typ, out := h.waitOutcome(loopEventIDPrefix+c.NotificationID, 30*time.Second); typ != events.TypeOutInvoicePaid ||
		out.Zuora["stiggSubscriptionId"] != "sub-recover" {
		t.Fatalf("outcome of the recovered callout: %s %+v", typ, out)
	}
	if st, err := a.Callouts.Reconcile(ctx); err != nil || st.Resent != 0 {
		t.Fatalf("second round: %+v %v, want nothing resent", st, err)
	}
}

// A callout stored by the bridge (published with JetStream preconditions) about an object Zuora does not have is
// dead-lettered once with a failed outcome, like any other permanent failure, instead of looping on a DLQ write.
func TestBridgedCalloutForAnUnknownObjectIsDeadLettered(t *testing.T) {
	h, _, b := calloutWorld(t)
	h.waitCallouts()
	before := len(h.dlq())
	req, _ := http.NewRequest(http.MethodPost, b.url()+"/callouts/zuora",
		strings.NewReader(`{"event":"invoice.paid","accountNumber":"A-unknown","invoiceId":"8a-no-such-invoice"}`))
	req.SetBasicAuth(loopUser, loopPass)
	req.Header.Set("Zuora-Notification-Id", "0123456789abcdef0123456789abcdef")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("bridge answered %d", resp.StatusCode)
	}
	id := loopEventIDPrefix + "0123456789abcdef0123456789abcdef"
	if typ, out := h.waitOutcome(id, 30*time.Second); typ != events.TypeOutInvoiceFailed {
		t.Fatalf("outcome %s %+v, want invoice.failed", typ, out)
	}
	h.eventually(20*time.Second, "the dead letter", func() bool { return len(h.dlq()) == before+1 })
}
