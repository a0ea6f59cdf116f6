package handlers

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
)

// bridgeStandIn answers callouts as the bridge does (401 challenge, 200 once authenticated), or 503 while down,
// and counts the invoice.paid callouts it took.
type bridgeStandIn struct {
	up   atomic.Bool
	mu   sync.Mutex
	paid []string // Zuora-Notification-Id of each invoice.paid taken
}

func (b *bridgeStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !b.up.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if _, _, ok := r.BasicAuth(); !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="zuora-sync"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	body, _ := io.ReadAll(r.Body)
	if typ, _, err := events.ParseCallout(body); err == nil && typ == events.TypeZuoraInvoicePaid {
		b.mu.Lock()
		b.paid = append(b.paid, r.Header.Get("Zuora-Notification-Id"))
		b.mu.Unlock()
	}
	w.WriteHeader(http.StatusOK)
}

func (b *bridgeStandIn) paidCallouts() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.paid...)
}

// A bridge down for longer than Zuora's retries: Zuora gives up on the callouts, the reconciler finds them in
// Zuora's history — not before Zuora's own attempts are used up — and has them resent; once delivered they are
// not resent again, also by a restarted reconciler reading the same progress.
func TestMissedCalloutsAreResentOnceZuoraGaveUp(t *testing.T) {
	e := newSubsEnv(t)
	bridge := &bridgeStandIn{}
	srv := httptest.NewServer(bridge)
	t.Cleanup(srv.Close)
	e.deps.Bridge = BridgeTarget{PublicURL: srv.URL, Username: "zuora", Password: "callout-password"}
	if _, err := NewProvisioner(e.deps).Reconcile(e.ctx()); err != nil {
		t.Fatal(err)
	}
	_, js := natstest.Start(t).Connect(t)
	kv, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: "reconcile"})
	if err != nil {
		t.Fatal(err)
	}
	rec := NewCalloutReconciler(e.deps, kv, CalloutReconcileConfig{})
	rec.now = e.sim.Now

	e.syncCustomer("cust-r")
	out, err := e.handle(events.TypeStiggSubscriptionCreated, &events.SubscriptionCreated{Subscription: *proSub("sub-r", "cust-r")}, "cust-r")
	if err != nil || out.Zuora[events.ZuoraInvoiceNumber] == "" {
		t.Fatalf("subscription: %+v %v", out, err)
	}
	if _, err := e.sim.PayInvoice(out.Zuora[events.ZuoraInvoiceNumber]); err != nil {
		t.Fatal(err)
	}
	wait := func() {
		t.Helper()
		if err := e.sim.WaitCallouts(e.ctx()); err != nil {
			t.Fatal(err)
		}
	}
	wait()
	st, err := rec.Reconcile(e.ctx())
	if err != nil || st.Ours == 0 || st.Resent != 0 {
		t.Fatalf("while Zuora still retries: %+v %v, want failed deliveries seen and none resent", st, err)
	}
	for range 2 { // Zuora's two retries, 30 minutes apart, fail too
		e.sim.Advance(31 * time.Minute)
		wait()
	}
	if n := len(bridge.paidCallouts()); n != 0 {
		t.Fatalf("%d paid callouts taken while the bridge was down", n)
	}

	bridge.up.Store(true)
	rec.now = e.sim.Now
	st, err = rec.Reconcile(e.ctx())
	if err != nil || st.Resent == 0 || st.Resent != st.Ours {
		t.Fatalf("after Zuora gave up: %+v %v, want every failed delivery of ours resent", st, err)
	}
	wait()
	if got := bridge.paidCallouts(); len(got) != 1 || got[0] == "" {
		t.Fatalf("invoice.paid callouts taken after the resend: %q, want one with its notification id", got)
	}

	restarted := NewCalloutReconciler(e.deps, kv, CalloutReconcileConfig{})
	restarted.now = e.sim.Now
	if st, err := restarted.Reconcile(e.ctx()); err != nil || st.Resent != 0 {
		t.Fatalf("a later round: %+v %v, want nothing resent", st, err)
	}
	if n := len(bridge.paidCallouts()); n != 1 {
		t.Fatalf("%d paid callouts in all, want 1", n)
	}
}

// Two instances at once: the one holding the round runs it, the other skips.
func TestOneReconcileRoundAtATime(t *testing.T) {
	_, js := natstest.Start(t).Connect(t)
	kv, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: "reconcile"})
	if err != nil {
		t.Fatal(err)
	}
	a := NewCalloutReconciler(Deps{}, kv, CalloutReconcileConfig{})
	b := NewCalloutReconciler(Deps{}, kv, CalloutReconcileConfig{})
	now := time.Now()
	if _, _, err := a.claim(t.Context(), now); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.claim(t.Context(), now); err != errRoundTaken {
		t.Fatalf("second instance: %v, want errRoundTaken", err)
	}
	if _, _, err := b.claim(t.Context(), now.Add(6*time.Minute)); err != nil {
		t.Fatalf("after the claim ran out: %v", err)
	}
}
