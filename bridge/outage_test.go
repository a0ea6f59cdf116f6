package bridge

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/zuora-sync/zuora-sync/internal/natsembed"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/topology"
)

func waitStatus(t *testing.T, nc *nats.Conn, connected bool, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for (nc.Status() == nats.CONNECTED) != connected {
		if time.Now().After(deadline) {
			t.Fatalf("NATS connection still %s after %s", nc.Status(), within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// NATS down: the callout is answered 503 with Retry-After at once and nothing is lost; Zuora's retry after NATS
// is back (same store, same port, the bridge's connection reconnects) lands exactly once.
func TestNATSDownIs503AndTheRetryLandsOnceItIsBack(t *testing.T) {
	dir := t.TempDir()
	srv := natstest.StartAt(t, dir)
	port := srv.Addr().(*net.TCPAddr).Port
	nc, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	b, hs := servedBridge(t, nc, Config{PublishTimeout: time.Second})

	srv.Shutdown()
	srv.WaitForShutdown()
	waitStatus(t, nc, false, 5*time.Second)
	c := callout{body: invoicePaid("INV-DOWN"), notificationID: "notif-down"}
	start := time.Now()
	a := post(t, hs.URL, c).want(t, http.StatusServiceUnavailable, "NATS down")
	if a.header.Get("Retry-After") != "30" || time.Since(start) > time.Second {
		t.Fatalf("503 after %s with Retry-After %q", time.Since(start), a.header.Get("Retry-After"))
	}
	if strings.Contains(a.raw, testPass) || a.body["success"] != false {
		t.Fatalf("503 body %s", a.raw)
	}
	if counter(t, b, "rejected", reasonUnavailable) != 1 {
		t.Fatal("rejected{unavailable} must count the 503")
	}

	ns, err := natsembed.Start(natsembed.Options{StoreDir: dir, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	waitStatus(t, nc, true, 10*time.Second)
	// Zuora retries on its own schedule; the first retry after the restart is stored.
	deadline := time.Now().Add(10 * time.Second)
	for a = post(t, hs.URL, c); a.code != http.StatusOK; a = post(t, hs.URL, c) {
		if a.code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("retry after the restart: %d %s", a.code, a.raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
	post(t, hs.URL, c).want(t, http.StatusOK, "a further retry")
	_, js := (&natstest.Server{Server: ns, StoreDir: dir}).Connect(t)
	got := stored(t, js)
	if len(got) != 1 || got[0].ID() != notificationIDPrefix+"notif-down" {
		t.Fatalf("stored %v, want the callout once", ids(got))
	}
}

// A connection closed for good is known at once: 503, no wait for a publish timeout.
func TestClosedConnectionIs503(t *testing.T) {
	b, _ := newCalloutBridge(t)
	b.nc.Close()
	start := time.Now()
	a := post(t, b.http.URL, callout{body: invoicePaid("INV-CLOSED")}).want(t, http.StatusServiceUnavailable, "closed")
	if a.header.Get("Retry-After") == "" || time.Since(start) > time.Second {
		t.Fatalf("503 after %s, Retry-After %q", time.Since(start), a.header.Get("Retry-After"))
	}
}

// Without the record of delivered callouts the bridge cannot tell a retry from a first delivery: it is not ready
// and answers 503 rather than risk a second copy.
func TestMissingCalloutsBucketIsNotReadyAnd503(t *testing.T) {
	b, js := newCalloutBridge(t)
	b.wantReady(t, http.StatusOK, "provisioned")
	if err := js.DeleteKeyValue(t.Context(), topology.BucketCallouts); err != nil {
		t.Fatal(err)
	}
	if code, body := b.get(t, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, topology.BucketCallouts) {
		t.Fatalf("readyz without the bucket: %d %q", code, body)
	}
	post(t, b.http.URL, callout{body: invoicePaid("INV-NOKV")}).want(t, http.StatusServiceUnavailable, "no bucket")
	if n := len(stored(t, js)); n != 0 {
		t.Fatalf("%d stored without a record to dedupe against", n)
	}
	b.provision(t) // a restart (or the next instance) provisions it again
	post(t, b.http.URL, callout{body: invoicePaid("INV-NOKV")}).want(t, http.StatusOK, "bucket back")
}

func TestCalloutsBucketIsProvisionedWithLeaderReadsAndATTL(t *testing.T) {
	_, js := newCalloutBridge(t)
	s, err := js.Stream(t.Context(), "KV_"+topology.BucketCallouts)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	if cfg.AllowDirect || cfg.MaxAge != topology.CalloutsTTL || topology.CalloutsTTL != 7*24*time.Hour {
		t.Fatalf("bucket stream: AllowDirect %v MaxAge %s", cfg.AllowDirect, cfg.MaxAge)
	}
}

// A sealed stream takes no writes: not ready.
func TestReadyzSaysUnavailableWhenTheStreamIsSealed(t *testing.T) {
	b, js := newCalloutBridge(t)
	st, err := js.Stream(t.Context(), topology.StreamZuora)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	cfg.Sealed = true
	if _, err := js.UpdateStream(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if code, body := b.get(t, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "sealed") {
		t.Fatalf("readyz on a sealed stream: %d %q", code, body)
	}
	post(t, b.http.URL, callout{body: invoicePaid("INV-SEALED")}).want(t, http.StatusServiceUnavailable, "sealed")
}

// Shutdown lets a callout that is being received finish: its body arrives after the shutdown began, and it is
// still stored and answered 200 before Serve returns.
func TestShutdownFinishesInFlightCallouts(t *testing.T) {
	srv := natstest.Start(t)
	nc, js := srv.Connect(t)
	b, err := New(nc, Config{Username: testUser, Password: testPass, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx, ln) }()
	deadline := time.Now().Add(5 * time.Second)
	for !b.ready.Load() {
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := invoicePaid("INV-SHUTDOWN")
	auth := base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPass))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: bridge\r\nAuthorization: Basic %s\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\n\r\n%s", CalloutPath, auth, len(body), body[:10])
	time.Sleep(100 * time.Millisecond) // the server has the request and its handler is reading the body
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Serve returned with a callout in flight: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if b.ready.Load() {
		t.Fatal("a bridge shutting down must not be ready")
	}
	if _, err := conn.Write(body[10:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("in-flight callout: %d", resp.StatusCode)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if n := len(stored(t, js)); n != 1 {
		t.Fatalf("%d stored", n)
	}
}

// JetStream refusing the write while NATS itself is up (the stream is gone) and JetStream not answering (a
// subscriber that never replies stands in for a stream without a leader): 503 within the publish timeout.
func TestPublishFailureAndTimeoutAre503(t *testing.T) {
	srv := natstest.Start(t)
	nc, js := srv.Connect(t)
	_, hs := servedBridge(t, nc, Config{PublishTimeout: 300 * time.Millisecond})
	if err := js.DeleteStream(t.Context(), topology.StreamZuora); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	post(t, hs.URL, callout{body: invoicePaid("INV-NOSTREAM")}).want(t, http.StatusServiceUnavailable, "no stream")
	if time.Since(start) > 2*time.Second { // the client retries "no responders" (a leader election) within the timeout
		t.Fatalf("no stream: 503 after %s, want within the 300ms publish timeout", time.Since(start))
	}
	sub, err := nc.Subscribe("zuora.>", func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	start = time.Now()
	a := post(t, hs.URL, callout{body: invoicePaid("INV-SILENT")}).want(t, http.StatusServiceUnavailable, "no answer")
	if el := time.Since(start); el < 250*time.Millisecond || el > 2*time.Second || a.header.Get("Retry-After") == "" {
		t.Fatalf("503 after %s (Retry-After %q), want the 300ms publish timeout", el, a.header.Get("Retry-After"))
	}
}
