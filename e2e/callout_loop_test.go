package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zuora-sync/zuora-sync/bridge"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/handlers"
	"github.com/zuora-sync/zuora-sync/internal/app"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// The Zuora → Stigg loop over real HTTP on one machine: the consumer provisions Zuora's callouts (on
// io.stigg.integration.connected) for a real bridge listening on 127.0.0.1 with Basic credentials, the simulator
// delivers its callouts there, the bridge stores them on the ZUORA stream and the consumer turns them into
// outcomes.

const (
	loopUser = "zuora-callouts"
	loopPass = "loop-secret"
	// loopEventIDPrefix is how the bridge names a callout's event: the Zuora-Notification-Id under this prefix.
	loopEventIDPrefix = "zuora-notification:"
)

// loopBridge is a bridge server on 127.0.0.1 behind a gate that sees every callout and can fail some. It can be
// stopped (connection refused) and started again on the same address.
type loopBridge struct {
	t    *testing.T
	srv  *bridge.Server
	reg  *prometheus.Registry
	gate *calloutGate
	addr string

	mu sync.Mutex
	hs *http.Server
}

// startLoopBridge builds a bridge on the harness's NATS connection and topology, provisions it and serves it on a
// random loopback port.
func startLoopBridge(t *testing.T, h *harness) *loopBridge {
	t.Helper()
	b := &loopBridge{t: t, reg: prometheus.NewRegistry(), addr: "127.0.0.1:0"}
	srv, err := bridge.New(h.nc, bridge.Config{Username: loopUser, Password: loopPass, Topology: h.cfg.Runner.Topology,
		Logger: testLogger(t).With("component", "bridge"), Registry: b.reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	b.srv = srv
	b.gate = &calloutGate{next: srv.Handler()}
	b.start()
	t.Cleanup(b.stop)
	return b
}

// url is the bridge's public base URL (BRIDGE_PUBLIC_URL).
func (b *loopBridge) url() string { return "http://" + b.addr }

// start serves the bridge on its address (a fresh port the first time, the same one afterwards).
func (b *loopBridge) start() {
	b.t.Helper()
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		b.t.Fatalf("bridge: listen %s: %v", b.addr, err)
	}
	b.addr = ln.Addr().String()
	hs := &http.Server{Handler: b.gate, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	b.mu.Lock()
	b.hs = hs
	b.mu.Unlock()
}

// stop closes the listener and every connection: Zuora's next attempt finds nothing listening.
func (b *loopBridge) stop() {
	b.mu.Lock()
	hs := b.hs
	b.hs = nil
	b.mu.Unlock()
	if hs != nil {
		_ = hs.Close()
	}
}

// counter reads one of the bridge's counters (zuorasync_bridge_callouts_<name>_total), of the series with the
// label when one is given (name, value).
func (b *loopBridge) counter(name string, label ...string) float64 {
	b.t.Helper()
	mfs, err := b.reg.Gather()
	if err != nil {
		b.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "zuorasync_bridge_callouts_"+name+"_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := len(label) == 0
			for _, l := range m.GetLabel() {
				match = match || len(label) == 2 && l.GetName() == label[0] && l.GetValue() == label[1]
			}
			if match {
				return m.GetCounter().GetValue()
			}
		}
	}
	b.t.Fatalf("the bridge has no counter %s %v", name, label)
	return 0
}

// calloutGate stands in front of the bridge as a load balancer would: it notes every callout request and the
// status it got, and can lose the answer to one (the bridge stores the callout, Zuora gets a 504).
type calloutGate struct {
	next http.Handler

	mu         sync.Mutex
	seen       []gateRequest
	loseAnswer string // invoice number: its next authenticated invoice.paid callout is stored, then answered 504
}

type gateRequest struct {
	event, invoice, notificationID string
	authorized                     bool
	status                         int
}

func (g *calloutGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != bridge.CalloutPath {
		g.next.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	seen := gateRequest{notificationID: r.Header.Get(bridge.HeaderNotificationID)}
	seen.event, _ = m["event"].(string)
	seen.invoice, _ = m["invoiceNumber"].(string)
	_, _, seen.authorized = r.BasicAuth()

	g.mu.Lock()
	lose := seen.authorized && seen.event == "invoice.paid" && seen.invoice != "" && seen.invoice == g.loseAnswer
	g.mu.Unlock()
	rec := httptest.NewRecorder()
	g.next.ServeHTTP(rec, r)
	seen.status = rec.Code
	if lose && rec.Code == http.StatusOK {
		g.mu.Lock()
		g.loseAnswer = ""
		g.mu.Unlock()
		seen.status = http.StatusGatewayTimeout
		http.Error(w, "upstream request timeout", http.StatusGatewayTimeout)
	} else {
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}
	g.mu.Lock()
	g.seen = append(g.seen, seen)
	g.mu.Unlock()
}

// requestsFor are the requests of one notification, oldest first.
func (g *calloutGate) requestsFor(notificationID string) []gateRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []gateRequest
	for _, r := range g.seen {
		if r.notificationID == notificationID {
			out = append(out, r)
		}
	}
	return out
}

// calloutWorld is subscriptionWorld with the consumer pointed at a real bridge (Handlers.Bridge) and the
// integration connected: Zuora's callouts provisioned for it.
func calloutWorld(t *testing.T) (*harness, *app.App, *loopBridge) {
	t.Helper()
	h := newHarness(t)
	b := startLoopBridge(t, h)
	h.cfg.Handlers.Bridge = handlers.BridgeTarget{PublicURL: b.url(), Username: loopUser, Password: loopPass}
	a := h.startConsumer()

	specs := len(events.CalloutSpecs())
	connected := h.newEvent(events.TypeStiggIntegrationConnected, "int-zuora", "int-zuora", &events.Integration{IntegrationID: "int-zuora"})
	h.publish(connected)
	typ, out := h.waitOutcome(connected.ID(), 30*time.Second)
	if typ != events.TypeOutIntegrationSynced || out.Action != "provisioned" || out.Zuora["created"] != strconv.Itoa(3*specs) ||
		out.Zuora["calloutUrl"] != b.url()+bridge.CalloutPath {
		t.Fatalf("integration connected: %s %+v, want provisioned: %d created, callouts to %s", typ, out, 3*specs, b.url()+bridge.CalloutPath)
	}
	if raw, _ := json.Marshal(out); strings.Contains(string(raw), loopPass) {
		t.Fatalf("the provisioning outcome carries the bridge's password: %s", raw)
	}

	var ids []string
	for _, pk := range sampleCatalog(t) {
		ids = append(ids, h.publishPackage(pk))
	}
	ids = append(ids, h.customerEvent(events.TypeStiggCustomerCreated, customer("cust-sub", "Sub Scriber")))
	for _, id := range ids {
		if typ, out := h.waitOutcome(id, 30*time.Second); !strings.HasSuffix(typ, ".synced") {
			t.Fatalf("setup: %s %+v", typ, out)
		}
	}
	return h, a, b
}

// waitCallouts waits until the simulator has no callout in flight or due.
func (h *harness) waitCallouts() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.sim.WaitCallouts(ctx); err != nil {
		h.t.Fatalf("callouts still in flight: %v", err)
	}
}

// paidCallouts are the simulator's invoice.paid deliveries of one invoice.
func (h *harness) paidCallouts(invoiceNumber string) []zuorasim.CalloutHistoryEntry {
	var out []zuorasim.CalloutHistoryEntry
	for _, c := range h.sim.CalloutHistory() {
		if c.Parameters["event"] == "invoice.paid" && c.Parameters["invoiceNumber"] == invoiceNumber {
			out = append(out, c)
		}
	}
	return out
}

// onePaidCallout returns the invoice's invoice.paid delivery, failing the test unless there is exactly one.
func (h *harness) onePaidCallout(invoiceNumber string) zuorasim.CalloutHistoryEntry {
	h.t.Helper()
	cs := h.paidCallouts(invoiceNumber)
	if len(cs) != 1 {
		h.t.Fatalf("%d invoice.paid callouts of %s in Zuora's history, want 1: %+v", len(cs), invoiceNumber, cs)
	}
	return cs[0]
}

// storedCallouts are the ZUORA stream's events of one notification.
func (h *harness) storedCallouts(notificationID string) int {
	h.t.Helper()
	n := 0
	for _, ev := range h.readStream(topology.StreamZuora, "zuora.>") {
		if ev.ID() == loopEventIDPrefix+notificationID {
			n++
		}
	}
	return n
}

// attemptCodes lists the response code of each attempt (0: no response).
func attemptCodes(c zuorasim.CalloutHistoryEntry) []int {
	out := make([]int, len(c.Attempts))
	for i, a := range c.Attempts {
		out[i] = a.ResponseCode
	}
	return out
}

// arrival notes when the first core-NATS message with a Nats-Msg-Id arrives on a subject filter: the moment the
// bridge or the consumer published it.
type arrival struct {
	sub *nats.Subscription
}

func (h *harness) watch(filter string) *arrival {
	h.t.Helper()
	sub, err := h.nc.SubscribeSync(filter)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := h.nc.Flush(); err != nil { // the server knows of the subscription before anything is published
		h.t.Fatal(err)
	}
	return &arrival{sub: sub}
}

// wait returns the time the message with this Nats-Msg-Id arrived.
func (a *arrival) wait(t *testing.T, msgID string, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg, err := a.sub.NextMsg(time.Until(deadline))
		if errors.Is(err, nats.ErrTimeout) {
			t.Fatalf("no message %s on %s within %s", msgID, a.sub.Subject, timeout)
		}
		if err != nil {
			t.Fatal(err)
		}
		if msg.Header.Get(nats.MsgIdHdr) == msgID {
			return time.Now()
		}
	}
}

// The loop in steps on one world: (a) a paid invoice comes back, (b) retries are stored once, (c) wrong
// credentials store nothing, (e) disconnect stops the callouts. NATS down while a callout arrives (503 with
// Retry-After, the retry stored once NATS is back) is bridge/outage_test.go's
// TestNATSDownIs503AndTheRetryLandsOnceItIsBack.
func TestCalloutLoopOverRealHTTP(t *testing.T) {
	h, a, b := calloutWorld(t)
	h.waitCallouts()
	loopPaidInvoiceBecomesAnOutcome(t, h, b)
	loopRetriedCalloutIsStoredOnce(t, h, b)
	loopWrongCredentialsStoreNothing(t, h, a, b)
	loopDisconnectedSendsNoCallout(t, h, a)

	// Every callout of the run (the invoices' posted and paid notifications) was handled: nothing dead-lettered.
	h.waitIdle(topology.StreamZuora, 30*time.Second)
	if dl := h.dlq(); len(dl) != 0 {
		t.Fatalf("dead letters after the loop: %+v", dl)
	}
}

// (a) A paid invoice becomes one callout (delivered at its first attempt, after the non-preemptive 401
// challenge), one event on the ZUORA stream and one io.zuorasync.invoice.paid outcome with the Stigg ids.
func loopPaidInvoiceBecomesAnOutcome(t *testing.T, h *harness, b *loopBridge) {
	inv := invoiceOf(t, h, "sub-loop")
	h.waitCallouts() // the invoice's posted callout
	stored, outcomes := h.watch("zuora.invoice.paid.>"), h.watch("zuorasync.out.invoice.>")
	challenges := b.counter("rejected", "reason", "challenge")

	start := time.Now()
	if _, err := h.sim.PayInvoice(inv.InvoiceNumber); err != nil {
		t.Fatal(err)
	}
	c := h.onePaidCallout(inv.InvoiceNumber)
	id := loopEventIDPrefix + c.NotificationID
	storedAt := stored.wait(t, id, 30*time.Second)
	outAt := outcomes.wait(t, id+":"+events.TypeOutInvoicePaid, 30*time.Second)
	t.Logf("pay → bridge stored the callout: %s; pay → outcome published: %s", storedAt.Sub(start), outAt.Sub(start))

	h.waitCallouts()
	c = h.onePaidCallout(inv.InvoiceNumber)
	if c.Status != zuorasim.CalloutDelivered || len(c.Attempts) != 1 || !c.Attempts[0].Authorized ||
		c.Attempts[0].ResponseCode != http.StatusOK || c.RequestURL != b.url()+bridge.CalloutPath {
		t.Fatalf("Zuora's history of the invoice.paid callout: %+v", c)
	}
	var resp struct {
		Success bool   `json:"success"`
		ID      string `json:"id"`
	}
	if err := json.Unmarshal([]byte(c.ResponseContent), &resp); err != nil || !resp.Success || resp.ID != id {
		t.Fatalf("the bridge answered %q, want success with event id %s", c.ResponseContent, id)
	}
	reqs := b.gate.requestsFor(c.NotificationID)
	if len(reqs) != 2 || reqs[0].authorized || reqs[0].status != http.StatusUnauthorized || !reqs[1].authorized ||
		reqs[1].status != http.StatusOK {
		t.Fatalf("requests of the callout %+v, want the 401 challenge without credentials, then 200 with them", reqs)
	}
	if got := b.counter("rejected", "reason", "challenge") - challenges; got != 1 {
		t.Fatalf("%v challenges counted for one callout", got)
	}
	if n := h.storedCallouts(c.NotificationID); n != 1 {
		t.Fatalf("%d events of the notification on the ZUORA stream, want 1", n)
	}
	typ, out := h.waitOutcome(id, 30*time.Second)
	if typ != events.TypeOutInvoicePaid || out.Action != "confirmed" || out.StiggID != "cust-sub" ||
		out.Zuora["stiggSubscriptionId"] != "sub-loop" || out.Zuora["stiggCustomerId"] != "cust-sub" ||
		out.Zuora[events.ZuoraInvoiceNumber] != inv.InvoiceNumber || out.Zuora["balance"] != "0" ||
		out.SourceEventType != events.TypeZuoraInvoicePaid {
		t.Fatalf("outcome of the callout: %s %+v", typ, out)
	}
}

// (b) A callout Zuora retries is stored once: once when the answer to a stored callout is lost (the retry is
// answered 200 from the bridge's record of delivered callouts), once when the bridge was down for the first
// attempt (the retry is the one stored).
func loopRetriedCalloutIsStoredOnce(t *testing.T, h *harness, b *loopBridge) {
	lost := invoiceOf(t, h, "sub-loop-lost")
	h.waitCallouts()
	b.gate.mu.Lock()
	b.gate.loseAnswer = lost.InvoiceNumber
	b.gate.mu.Unlock()
	if _, err := h.sim.PayInvoice(lost.InvoiceNumber); err != nil {
		t.Fatal(err)
	}
	h.waitCallouts()
	c := h.onePaidCallout(lost.InvoiceNumber)
	if c.Status != zuorasim.CalloutPending || !slices.Equal(attemptCodes(c), []int{http.StatusGatewayTimeout}) {
		t.Fatalf("callout whose answer was lost: %+v", c)
	}
	id := loopEventIDPrefix + c.NotificationID
	if typ, out := h.waitOutcome(id, 30*time.Second); typ != events.TypeOutInvoicePaid || out.Zuora["stiggSubscriptionId"] != "sub-loop-lost" {
		t.Fatalf("outcome of the stored callout: %s %+v", typ, out)
	}
	deduped, published := b.counter("deduplicated", "via", "record"), b.counter("published")
	h.sim.Advance(30 * time.Minute) // Zuora's retry comes due
	h.waitCallouts()
	c = h.onePaidCallout(lost.InvoiceNumber)
	if c.Status != zuorasim.CalloutDelivered || !slices.Equal(attemptCodes(c), []int{http.StatusGatewayTimeout, http.StatusOK}) ||
		c.Attempts[0].RequestID == c.Attempts[1].RequestID {
		t.Fatalf("the retry of the lost answer: %+v", c)
	}
	// Answered from the record of delivered callouts, not published again (JetStream's duplicate window would
	// also drop it here, seconds later in real time, but not after Zuora's real 30 minutes).
	if got, pub := b.counter("deduplicated", "via", "record")-deduped, b.counter("published")-published; got != 1 || pub != 0 {
		t.Fatalf("the retry: %v answered from the record, %v published; want 1 and 0", got, pub)
	}
	if n := h.storedCallouts(c.NotificationID); n != 1 {
		t.Fatalf("%d events of the retried notification on the ZUORA stream, want 1", n)
	}

	down := invoiceOf(t, h, "sub-loop-down")
	h.waitCallouts()
	b.stop()
	if _, err := h.sim.PayInvoice(down.InvoiceNumber); err != nil {
		t.Fatal(err)
	}
	h.waitCallouts()
	c = h.onePaidCallout(down.InvoiceNumber)
	if c.Status != zuorasim.CalloutPending || !slices.Equal(attemptCodes(c), []int{0}) || c.Attempts[0].Error == "" {
		t.Fatalf("callout while the bridge is down: %+v", c)
	}
	if n := h.storedCallouts(c.NotificationID); n != 0 {
		t.Fatalf("%d events stored while the bridge was down", n)
	}
	b.start()
	h.sim.Advance(30 * time.Minute)
	h.waitCallouts()
	c = h.onePaidCallout(down.InvoiceNumber)
	if c.Status != zuorasim.CalloutDelivered || !slices.Equal(attemptCodes(c), []int{0, http.StatusOK}) {
		t.Fatalf("the retry after the bridge is back: %+v", c)
	}
	if n := h.storedCallouts(c.NotificationID); n != 1 {
		t.Fatalf("%d events of the notification on the ZUORA stream, want 1", n)
	}
	if typ, out := h.waitOutcome(loopEventIDPrefix+c.NotificationID, 30*time.Second); typ != events.TypeOutInvoicePaid ||
		out.Zuora["stiggSubscriptionId"] != "sub-loop-down" {
		t.Fatalf("outcome of the retried callout: %s %+v", typ, out)
	}
}

// (c) Zuora configured with another password: every attempt is answered 401, nothing is stored, and the
// reconcile with the right password repairs the templates.
func loopWrongCredentialsStoreNothing(t *testing.T, h *harness, a *app.App, b *loopBridge) {
	inv := invoiceOf(t, h, "sub-loop-auth")
	h.waitCallouts()
	ctx, cancel := context.WithTimeout(zuoraapi.WithEventID(context.Background(), "test-wrong-password"), 30*time.Second)
	defer cancel()
	specs := len(events.CalloutSpecs())
	wrong := handlers.NewProvisioner(handlers.Deps{Zuora: a.Zuora, Logger: testLogger(t),
		Bridge: handlers.BridgeTarget{PublicURL: b.url(), Username: loopUser, Password: "not-the-" + loopPass}})
	if rep, err := wrong.Reconcile(ctx); err != nil || rep.Updated != specs || rep.Created+rep.Deleted != 0 {
		t.Fatalf("reconcile with another password: %+v %v, want the %d templates updated", rep, err, specs)
	}
	refused := b.counter("rejected", "reason", "auth")
	if _, err := h.sim.PayInvoice(inv.InvoiceNumber); err != nil {
		t.Fatal(err)
	}
	for range 2 { // Zuora's two retries, 30 min apart
		h.waitCallouts()
		h.sim.Advance(30 * time.Minute)
	}
	h.waitCallouts()
	c := h.onePaidCallout(inv.InvoiceNumber)
	want := []int{http.StatusUnauthorized, http.StatusUnauthorized, http.StatusUnauthorized}
	if c.Status != zuorasim.CalloutFailed || !slices.Equal(attemptCodes(c), want) || !c.Attempts[0].Authorized {
		t.Fatalf("callouts with the wrong password: %+v", c)
	}
	if got := b.counter("rejected", "reason", "auth") - refused; got != 3 {
		t.Fatalf("%v refusals for wrong credentials counted, want 3", got)
	}
	if n := h.storedCallouts(c.NotificationID); n != 0 {
		t.Fatalf("%d events stored from callouts with the wrong password", n)
	}
	for _, r := range b.gate.requestsFor(c.NotificationID) {
		if r.status != http.StatusUnauthorized {
			t.Fatalf("a callout with the wrong password got %d", r.status)
		}
	}
	if rep, err := a.Provisioner.Reconcile(ctx); err != nil || rep.Updated != specs || rep.Created+rep.Deleted != 0 {
		t.Fatalf("reconcile with the bridge's password: %+v %v", rep, err)
	}
}

// (e) io.stigg.integration.disconnected removes the set-up; a paid invoice afterwards sends no callout.
func loopDisconnectedSendsNoCallout(t *testing.T, h *harness, a *app.App) {
	inv := invoiceOf(t, h, "sub-loop-off")
	h.waitCallouts()
	specs := len(events.CalloutSpecs())
	disconnected := h.newEvent(events.TypeStiggIntegrationDisconnected, "int-zuora", "int-zuora", &events.Integration{IntegrationID: "int-zuora"})
	h.publish(disconnected)
	typ, out := h.waitOutcome(disconnected.ID(), 30*time.Second)
	if typ != events.TypeOutIntegrationSynced || out.Action != "removed" || out.Zuora["deleted"] != strconv.Itoa(3*specs) {
		t.Fatalf("integration disconnected: %s %+v, want removed: %d deleted", typ, out, 3*specs)
	}
	ctx, cancel := context.WithTimeout(zuoraapi.WithEventID(context.Background(), "test-read"), 10*time.Second)
	defer cancel()
	tpls, err := a.Zuora.ListCalloutTemplates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defs, err := a.Zuora.ListNotificationDefinitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	trigs, err := a.Zuora.ListEventTriggers(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(tpls)+len(defs)+len(trigs) != 0 {
		t.Fatalf("after disconnect Zuora still has %d templates, %d definitions, %d triggers", len(tpls), len(defs), len(trigs))
	}
	history := len(h.sim.CalloutHistory())
	if _, err := h.sim.PayInvoice(inv.InvoiceNumber); err != nil {
		t.Fatal(err)
	}
	h.waitCallouts()
	if got := h.sim.CalloutHistory(); len(got) != history {
		t.Fatalf("a paid invoice after disconnect sent %d callouts: %+v", len(got)-history, got[history:])
	}
	if n := len(h.readStream(topology.StreamZuora, "zuora.invoice.paid.>")); n != 3 {
		t.Fatalf("%d invoice.paid events on the ZUORA stream, want the 3 delivered before the disconnect", n)
	}
}
