package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zuora-sync/zuora-sync/bridge"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/app"
	"github.com/zuora-sync/zuora-sync/internal/conformance"
	"github.com/zuora-sync/zuora-sync/internal/natsconn"
	"github.com/zuora-sync/zuora-sync/internal/natsembed"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// The repo's nats.conf with its users, as production runs it: every component on its own user. What a user may
// not do is refused by the server, and the whole flow (a Stigg event in, the consumer syncing it to Zuora, an
// outcome out; a Zuora callout through the bridge, handled by the consumer) runs without a single permission
// violation.

var natsUserPasswords = map[string]string{
	"stigg-publisher":    "pubPassw0rdForTests",
	"zuorasync-bridge":   "bridgePassw0rdForTests",
	"zuorasync-consumer": "consumerPassw0rdForTests",
}

// violations records the server's permission-violation log lines.
type violations struct {
	mu    sync.Mutex
	lines []string
}

func (v *violations) Enabled(context.Context, slog.Level) bool { return true }
func (v *violations) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "Permissions Violation") {
		v.mu.Lock()
		v.lines = append(v.lines, r.Message)
		v.mu.Unlock()
	}
	return nil
}
func (v *violations) WithAttrs([]slog.Attr) slog.Handler { return v }
func (v *violations) WithGroup(string) slog.Handler      { return v }

func (v *violations) take() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := v.lines
	v.lines = nil
	return out
}

// usersServer starts nats.conf (users and all) on a random port and a temp store, its passwords in the env.
func usersServer(t *testing.T) (*natstest.Server, *violations) {
	t.Helper()
	t.Setenv("NATS_PUBLISHER_PASSWORD", natsUserPasswords["stigg-publisher"])
	t.Setenv("NATS_BRIDGE_PASSWORD", natsUserPasswords["zuorasync-bridge"])
	t.Setenv("NATS_CONSUMER_PASSWORD", natsUserPasswords["zuorasync-consumer"])
	v := &violations{}
	dir := t.TempDir()
	ns, err := natsembed.Start(natsembed.Options{StoreDir: dir, ConfigFile: "../nats.conf", Host: "127.0.0.1",
		Port: -1, Logger: slog.New(v)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return &natstest.Server{Server: ns, StoreDir: dir}, v
}

// asyncErrs collects a connection's asynchronous errors (the server's -ERR for a refused publish or subscribe).
type asyncErrs struct {
	mu   sync.Mutex
	errs []error
}

func (a *asyncErrs) handler(_ *nats.Conn, _ *nats.Subscription, err error) {
	a.mu.Lock()
	a.errs = append(a.errs, err)
	a.mu.Unlock()
}

func (a *asyncErrs) waitFor(t *testing.T, what, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		a.mu.Lock()
		for _, err := range a.errs {
			if strings.Contains(err.Error(), want) {
				a.mu.Unlock()
				return
			}
		}
		a.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: no %q from the server (got %v)", what, want, a.errs)
}

// connectAs connects as one of nats.conf's users with the inbox prefix its binary uses.
func connectAs(t *testing.T, url, user, inbox string) (*nats.Conn, jetstream.JetStream, *asyncErrs) {
	t.Helper()
	errs := &asyncErrs{}
	nc, err := natsconn.Auth{User: user, Password: natsUserPasswords[user], InboxPrefix: inbox}.Connect(url,
		t.Name()+" as "+user, "", nats.ErrorHandler(errs.handler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js, errs
}

func TestNATSUsersWrongPasswordIsRefused(t *testing.T) {
	srv, _ := usersServer(t)
	_, err := natsconn.Auth{User: "zuorasync-consumer", Password: "guess"}.Connect(srv.ClientURL(), "intruder", "")
	if err == nil || !strings.Contains(err.Error(), "Authorization Violation") {
		t.Fatalf("a wrong password connected: %v", err)
	}
	if _, err := nats.Connect(srv.ClientURL()); err == nil {
		t.Fatal("an anonymous client connected")
	}
}

func TestNATSUsersForbiddenPublishesAreRefused(t *testing.T) {
	srv, _ := usersServer(t)
	url := srv.ClientURL()
	// The consumer provisions what the others then try to reach.
	cnc, cjs, _ := connectAs(t, url, "zuorasync-consumer", natsconn.InboxConsumer)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	topo := testRunnerConfig().Topology
	if err := topology.EnsureStreams(ctx, cjs, topo); err != nil {
		t.Fatalf("the consumer cannot provision its streams: %v", err)
	}
	if _, err := topology.EnsureBuckets(ctx, cjs, topo); err != nil {
		t.Fatalf("the consumer cannot provision its buckets: %v", err)
	}

	pnc, pjs, perrs := connectAs(t, url, "stigg-publisher", "")
	bnc, bjs, berrs := connectAs(t, url, "zuorasync-bridge", natsconn.InboxBridge)

	// Allowed: each publishes on its own prefix and gets the PubAck.
	if _, err := pjs.Publish(ctx, "stigg.customer.created.cust-allowed", []byte("{}")); err != nil {
		t.Fatalf("stigg-publisher cannot publish stigg.>: %v", err)
	}
	if _, err := bjs.Publish(ctx, "zuora.invoice.paid.allowed", []byte("{}")); err != nil {
		t.Fatalf("zuorasync-bridge cannot publish zuora.>: %v", err)
	}

	// stigg-publisher → zuora.x.y.z and the bridge → stigg.x.y.z are refused, and nothing is stored.
	if err := pnc.Publish("zuora.x.y.z", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	_ = pnc.Flush()
	perrs.waitFor(t, "stigg-publisher publishing zuora.x.y.z", `Permissions Violation for Publish to "zuora.x.y.z"`)
	if err := bnc.Publish("stigg.x.y.z", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	_ = bnc.Flush()
	berrs.waitFor(t, "zuorasync-bridge publishing stigg.x.y.z", `Permissions Violation for Publish to "stigg.x.y.z"`)
	// Other services' subjects: outcomes, dead letters, a forged rpc answer.
	for _, subj := range []string{"zuorasync.out.customer.synced.x", "zuorasync.dlq.x", "zuorasync.rpc.order.preview"} {
		_ = pnc.Publish(subj, []byte("{}"))
		_ = pnc.Flush()
		perrs.waitFor(t, "stigg-publisher publishing "+subj, `Permissions Violation for Publish to "`+subj+`"`)
	}
	for _, subj := range []string{"zuorasync.out.x.y.z", "$KV.zuorasync-ids.cust-1"} {
		_ = bnc.Publish(subj, []byte("{}"))
		_ = bnc.Flush()
		berrs.waitFor(t, "zuorasync-bridge publishing "+subj, `Permissions Violation for Publish to "`+subj+`"`)
	}
	for _, s := range []struct {
		stream, subject string
	}{{topology.StreamZuora, "zuora.x.y.z"}, {topology.StreamStigg, "stigg.x.y.z"}} {
		st, err := cjs.Stream(ctx, s.stream)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetLastMsgForSubject(ctx, s.subject+".>"); !errors.Is(err, jetstream.ErrMsgNotFound) {
			t.Fatalf("%s holds a message on %s: %v", s.stream, s.subject, err)
		}
	}

	// A publisher subscribing to outcomes, or to the events themselves, is refused.
	for _, subj := range []string{"zuorasync.out.>", "stigg.>", "_INBOX_zuorasync-consumer.>"} {
		if _, err := pnc.SubscribeSync(subj); err != nil {
			t.Fatal(err)
		}
		_ = pnc.Flush()
		perrs.waitFor(t, "stigg-publisher subscribing "+subj, `Permissions Violation for Subscription to "`+subj+`"`)
	}
	// ... and so is reading the id map, the outcomes stream or any JetStream API.
	short := func() context.Context {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		t.Cleanup(cancel)
		return c
	}
	if _, err := pjs.KeyValue(short(), topology.BucketIDs); err == nil {
		t.Fatal("stigg-publisher opened the id map")
	}
	perrs.waitFor(t, "stigg-publisher reading KV", `Permissions Violation for Publish to "$JS.API.STREAM.INFO.KV_zuorasync-ids"`)
	if _, err := pjs.Stream(short(), topology.StreamOutcomes); err == nil {
		t.Fatal("stigg-publisher read the outcomes stream")
	}
	// The bridge has its bucket, not the consumer's; the consumer has not the bridge's.
	if _, err := bjs.KeyValue(short(), topology.BucketIDs); err == nil {
		t.Fatal("zuorasync-bridge opened the id map")
	}
	cerrs := &asyncErrs{}
	cnc.SetErrorHandler(cerrs.handler)
	if _, err := cjs.KeyValue(short(), topology.BucketCallouts); err == nil {
		t.Fatal("zuorasync-consumer opened the bridge's callouts bucket")
	}
	cerrs.waitFor(t, "zuorasync-consumer reading the bridge's bucket",
		`Permissions Violation for Publish to "$JS.API.STREAM.INFO.KV_zuorasync-callouts"`)
	if _, err := cnc.SubscribeSync("_INBOX_zuorasync-bridge.>"); err != nil {
		t.Fatal(err)
	}
	_ = cnc.Flush()
	cerrs.waitFor(t, "zuorasync-consumer subscribing to the bridge's inbox", "Permissions Violation for Subscription")
}

// The customer flow and a callout, each component on its own user.
func TestNATSUsersWholeFlowOnOwnUsers(t *testing.T) {
	srv, viol := usersServer(t)
	url := srv.ClientURL()
	h := &harness{t: t, nats: srv, check: conformance.Load(t)}
	// The test reads outcomes and dead letters as the consumer's operator commands do: as zuorasync-consumer.
	h.nc, h.js, _ = connectAs(t, url, "zuorasync-consumer", natsconn.InboxConsumer)
	h.sim = zuorasim.New(zuorasim.Config{})
	sim := httptest.NewServer(h.check.Middleware(t, h.sim.Handler()))
	t.Cleanup(func() { sim.Close(); h.sim.Close() })
	h.simURL = sim.URL
	h.cfg = appConfigFor(h, url, sim.URL)
	t.Cleanup(h.stopConsumer)
	h.startConsumer()

	// Stigg's publisher publishes a customer; the consumer syncs it to Zuora and the outcome arrives.
	_, pjs, _ := connectAs(t, url, "stigg-publisher", "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ev := h.newEvent(events.TypeStiggCustomerCreated, "cust-users", "cust-users", customer("cust-users", "Grace Hopper"))
	msg, err := events.ToMsg("", ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pjs.PublishMsg(ctx, msg); err != nil {
		t.Fatalf("stigg-publisher: %v", err)
	}
	typ, out := h.waitOutcome(ev.ID(), 30*time.Second)
	if typ != events.TypeOutCustomerSynced || out.Action != "created" {
		t.Fatalf("outcome %s %+v: want customer synced, created", typ, out)
	}
	if n := len(accountsWithCustomer(h.simState(), "cust-users")); n != 1 {
		t.Fatalf("%d accounts for cust-users, want 1", n)
	}
	// An unkeyed event is moved onto its keyed subject by the consumer (a publish on stigg.>), an invalid one
	// dead-lettered (the DLQ and a failed outcome written), and the DLQ read back as `consumer dlq list` does.
	unkeyed := h.newEvent(events.TypeStiggCustomerUpdated, "cust-users", "cust-users", customer("cust-users", "Grace Brewster Hopper"))
	if msg, err = events.ToMsg("stigg.customer.updated", unkeyed); err != nil {
		t.Fatal(err)
	}
	if _, err := pjs.PublishMsg(ctx, msg); err != nil {
		t.Fatalf("stigg-publisher, unkeyed: %v", err)
	}
	if typ, out := h.waitOutcome(unkeyed.ID(), 30*time.Second); typ != events.TypeOutCustomerSynced || out.Action != "updated" {
		t.Fatalf("unkeyed update: %s %+v", typ, out)
	}
	raw := nats.NewMsg("stigg.customer.created.cust-garbage")
	raw.Data = []byte("not json")
	if _, err := pjs.PublishMsg(ctx, raw); err != nil {
		t.Fatal(err)
	}
	h.eventually(20*time.Second, "the garbage event dead-lettered", func() bool { return len(h.dlq()) == 1 })
	if dl := h.dlq()[0]; dl.OriginalSubject != "stigg.customer.created.cust-garbage" || dl.Class != "permanent" {
		t.Fatalf("dead letter %+v", dl)
	}

	// The bridge, as zuorasync-bridge, provisions the ZUORA stream and its bucket and takes a callout (twice: the
	// retry is answered from its bucket), which the consumer handles: Zuora's account is read, an outcome
	// published.
	bnc, _, _ := connectAs(t, url, "zuorasync-bridge", natsconn.InboxBridge)
	br, err := bridge.New(bnc, bridge.Config{Username: loopUser, Password: loopPass, Topology: h.cfg.Runner.Topology,
		Logger: testLogger(t).With("component", "bridge"), Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	if err := br.Provision(ctx); err != nil {
		t.Fatalf("the bridge cannot provision as zuorasync-bridge: %v", err)
	}
	bs := httptest.NewServer(br.Handler())
	t.Cleanup(bs.Close)
	acct := out.Zuora[events.ZuoraAccountID]
	body, _ := json.Marshal(map[string]string{
		"event": "account.payment_method_changed", "accountId": acct, "accountNumber": out.Zuora[events.ZuoraAccountNumber],
		"stiggCustomerId": "cust-users", "defaultPaymentMethodId": "",
	})
	for attempt := range 2 { // Zuora's retry of a delivered callout is answered without a second event
		req, _ := http.NewRequest(http.MethodPost, bs.URL+bridge.CalloutPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(bridge.HeaderNotificationID, "zn-users-1")
		req.Header.Set(bridge.HeaderRequestID, "req-users-"+string(rune('a'+attempt)))
		req.SetBasicAuth(loopUser, loopPass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("callout attempt %d: %s", attempt+1, resp.Status)
		}
	}
	rr := httptest.NewRecorder()
	br.Handler().ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rr.Code != http.StatusOK {
		t.Fatalf("bridge /readyz as zuorasync-bridge: %d %s", rr.Code, rr.Body)
	}
	typ, out = h.waitOutcome(loopEventIDPrefix+"zn-users-1", 30*time.Second)
	if typ != events.TypeOutAccountPaymentMethodChanged || out.StiggID != "cust-users" || out.Zuora[events.ZuoraAccountID] != acct {
		t.Fatalf("callout outcome %s %+v: want the account's payment method changed", typ, out)
	}
	if dl := h.dlq(); len(dl) != 1 {
		t.Fatalf("dead letters: %+v, want only the garbage event's", dl)
	}
	// A replay from the start (consumer replay, as zuorasync-consumer) changes nothing in Zuora.
	if _, _, err := replayAll(ctx, h); err != nil {
		t.Fatalf("replay as zuorasync-consumer: %v", err)
	}
	h.waitIdle(topology.StreamStigg, 30*time.Second)
	if n := len(accountsWithCustomer(h.simState(), "cust-users")); n != 1 {
		t.Fatalf("%d accounts for cust-users after the replay, want 1", n)
	}

	// Draining the consumer (its rpc service, usage watcher, pull consumers) is part of the run checked.
	h.stopConsumer()
	if v := viol.take(); len(v) > 0 {
		t.Fatalf("permission violations while every component ran on its own user:\n%s", strings.Join(v, "\n"))
	}
}

// appConfigFor is the harness's consumer configuration against url, connecting as zuorasync-consumer.
func appConfigFor(h *harness, url, simURL string) app.Config {
	return app.Config{
		NATSURL:           url,
		NATSAuth:          natsconn.Auth{User: "zuorasync-consumer", Password: natsUserPasswords["zuorasync-consumer"]},
		ZuoraBaseURL:      simURL,
		ZuoraClientID:     zuorasim.DefaultClientID,
		ZuoraClientSecret: zuorasim.DefaultClientSecret,
		ZuoraTransport:    h.check.Transport(h.t, http.DefaultTransport.(*http.Transport).Clone()),
		Runner:            testRunnerConfig(),
		Logger:            testLogger(h.t),
	}
}
