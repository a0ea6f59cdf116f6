package bridge

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/topology"
)

// testBridge is a bridge on a real embedded NATS server, served over httptest (no Serve, so provisioning is up
// to the test).
type testBridge struct {
	*Server
	srv  *natstest.Server
	nc   *nats.Conn
	http *httptest.Server
	reg  *prometheus.Registry
}

func newTestBridge(t *testing.T) *testBridge {
	t.Helper()
	srv := natstest.Start(t)
	nc, _ := srv.Connect(t)
	topo := topology.Default()
	topo.Partitions = 4
	reg := prometheus.NewRegistry()
	b, err := New(nc, Config{Topology: topo, Username: testUser, Password: testPass, Registry: reg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(b.Handler())
	t.Cleanup(hs.Close)
	return &testBridge{Server: b, srv: srv, nc: nc, http: hs, reg: reg}
}

func (b *testBridge) get(t *testing.T, path string) (int, string) {
	t.Helper()
	return get(t, b.http.URL+path)
}

func (b *testBridge) provision(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Provision(ctx); err != nil {
		t.Fatal(err)
	}
}

func (b *testBridge) wantReady(t *testing.T, want int, why string) {
	t.Helper()
	if code, body := b.get(t, "/readyz"); code != want {
		t.Fatalf("%s: readyz %d %q, want %d", why, code, body, want)
	}
}

// Liveness says only that the process serves HTTP: it stays 200 without NATS, so an orchestrator does not
// restart a bridge that is merely waiting for NATS to come back.
func TestHealthzIsLiveWithoutNATS(t *testing.T) {
	b := newTestBridge(t)
	if code, body := b.get(t, "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("healthz: %d %q", code, body)
	}
	b.nc.Close()
	if code, _ := b.get(t, "/healthz"); code != http.StatusOK {
		t.Fatalf("healthz without NATS: %d", code)
	}
	resp, err := http.Post(b.http.URL+"/healthz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /healthz: %d, want 405", resp.StatusCode)
	}
}

func TestReadyzOnlyOnceProvisioned(t *testing.T) {
	b := newTestBridge(t)
	b.wantReady(t, http.StatusServiceUnavailable, "before Provision")
	b.provision(t)
	if code, body := b.get(t, "/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Fatalf("after Provision: readyz %d %q", code, body)
	}
}

func TestProvisionCreatesThePartitionedZuoraStream(t *testing.T) {
	b := newTestBridge(t)
	b.provision(t)
	b.provision(t) // idempotent: a second instance, or a restart, provisions the same stream again
	_, js := b.srv.Connect(t)
	st, err := js.Stream(t.Context(), topology.StreamZuora)
	if err != nil {
		t.Fatalf("stream %s: %v", topology.StreamZuora, err)
	}
	cfg := st.CachedInfo().Config
	if len(cfg.Subjects) == 0 || !strings.HasPrefix(cfg.Subjects[0], "zuora.") {
		t.Fatalf("subjects %v, want the zuora.* input subjects", cfg.Subjects)
	}
	if cfg.SubjectTransform == nil || !strings.Contains(cfg.SubjectTransform.Destination, "4") {
		t.Fatalf("subject transform %+v, want a partition over 4", cfg.SubjectTransform)
	}
}

// A bridge without its stream cannot make a callout durable, whatever it provisioned at start.
func TestReadyzSaysUnavailableWhenTheStreamIsMissing(t *testing.T) {
	b := newTestBridge(t)
	b.provision(t)
	_, js := b.srv.Connect(t)
	if err := js.DeleteStream(t.Context(), topology.StreamZuora); err != nil {
		t.Fatal(err)
	}
	code, body := b.get(t, "/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, topology.StreamZuora) {
		t.Fatalf("readyz without the stream: %d %q, want 503 naming %s", code, body, topology.StreamZuora)
	}
}

func TestReadyzSaysUnavailableWhenTheConnectionIsClosed(t *testing.T) {
	b := newTestBridge(t)
	b.provision(t)
	b.wantReady(t, http.StatusOK, "provisioned")
	b.nc.Close()
	start := time.Now()
	b.wantReady(t, http.StatusServiceUnavailable, "closed connection")
	if time.Since(start) > time.Second {
		t.Fatal("a closed connection is known at once; readyz must not wait on it")
	}
}

func TestReadyzSaysUnavailableWhileNATSIsDown(t *testing.T) {
	b := newTestBridge(t)
	b.provision(t)
	b.srv.Shutdown()
	b.srv.WaitForShutdown()
	deadline := time.Now().Add(5 * time.Second)
	for b.nc.Status() == nats.CONNECTED && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	b.wantReady(t, http.StatusServiceUnavailable, "disconnected ("+b.nc.Status().String()+")")
}

// A draining connection belongs to a process on its way out: no new callouts for it.
func TestReadyzSaysUnavailableWhileTheConnectionDrains(t *testing.T) {
	b := newTestBridge(t)
	b.provision(t)
	// A subscriber busy with a message holds the drain open.
	release, got := make(chan struct{}), make(chan struct{})
	if _, err := b.nc.Subscribe("hold", func(*nats.Msg) { close(got); <-release }); err != nil {
		t.Fatal(err)
	}
	if err := b.nc.Publish("hold", nil); err != nil {
		t.Fatal(err)
	}
	<-got
	if err := b.nc.Drain(); err != nil {
		t.Fatal(err)
	}
	defer close(release)
	if !b.nc.IsDraining() {
		t.Fatal("the connection should still be draining")
	}
	start := time.Now()
	b.wantReady(t, http.StatusServiceUnavailable, "draining")
	if time.Since(start) > time.Second {
		t.Fatal("a draining connection is known at once; readyz must not wait on it")
	}
}

func TestMetricsServesTheConfiguredRegistry(t *testing.T) {
	b := newTestBridge(t)
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "bridge_test_total", Help: "test"})
	b.reg.MustRegister(c)
	c.Add(3)
	resp, err := http.Get(b.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "bridge_test_total 3") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// Serve provisions before it listens, and after its context ends it is no longer ready and returns cleanly.
func TestServeProvisionsAndShutsDownCleanly(t *testing.T) {
	srv := natstest.Start(t)
	nc, js := srv.Connect(t)
	b, err := New(nc, Config{Username: testUser, Password: testPass, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(nil)
	ln := hs.Listener // a free loopback port the bridge serves on itself
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx, ln) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if resp, err := http.Get("http://" + ln.Addr().String() + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := js.Stream(t.Context(), topology.StreamZuora); err != nil {
		t.Fatalf("Serve must provision %s: %v", topology.StreamZuora, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after its context ended: %v", err)
	}
	if b.ready.Load() {
		t.Fatal("a stopped bridge must not report ready")
	}
}
