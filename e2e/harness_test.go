// Package e2e runs the whole system the way production does: a real (embedded) JetStream server, the Zuora
// simulator over real HTTP with every request and response checked against Zuora's OpenAPI specs, and the
// consumer built by the same wiring as cmd/consumer.
package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/consumer"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/app"
	"github.com/zuora-sync/zuora-sync/internal/conformance"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

type harness struct {
	t      *testing.T
	nats   *natstest.Server
	nc     *nats.Conn
	js     jetstream.JetStream
	sim    *zuorasim.Sim
	simURL string
	check  *conformance.Checker
	cfg    app.Config

	mu      sync.Mutex
	running []*runningApp
}

type runningApp struct {
	app    *app.App
	cancel context.CancelFunc
	done   chan error
}

// testRunnerConfig keeps retries quick so failure paths finish within a test's time.
func testRunnerConfig() consumer.Config {
	topo := topology.Default()
	topo.Partitions = 4
	topo.AckWait = 5 * time.Second
	return consumer.Config{
		Topology:       topo,
		MaxAttempts:    6,
		HandlerTimeout: 10 * time.Second,
		Backoff:        consumer.Backoff{Base: 50 * time.Millisecond, Max: 400 * time.Millisecond},
		DrainTimeout:   10 * time.Second,
		MaxDeferrals:   60,
		DeferBackoff:   consumer.Backoff{Base: 50 * time.Millisecond, Max: 500 * time.Millisecond},
	}
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("E2E_VERBOSE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, zuorasim.Config{})
}

// newHarnessWith is newHarness with a simulator configured by simCfg.
func newHarnessWith(t *testing.T, simCfg zuorasim.Config) *harness {
	t.Helper()
	h := &harness{t: t, nats: natstest.Start(t), check: conformance.Load(t)}
	h.nc, h.js = h.nats.Connect(t)
	h.sim = zuorasim.New(simCfg)
	srv := httptest.NewServer(h.check.Middleware(t, h.sim.Handler()))
	t.Cleanup(func() { srv.Close(); h.sim.Close() })
	h.simURL = srv.URL
	h.cfg = app.Config{
		NATSURL:           h.nats.ClientURL(),
		ZuoraBaseURL:      srv.URL,
		ZuoraClientID:     zuorasim.DefaultClientID,
		ZuoraClientSecret: zuorasim.DefaultClientSecret,
		ZuoraTransport:    h.check.Transport(t, http.DefaultTransport.(*http.Transport).Clone()),
		Runner:            testRunnerConfig(),
		Logger:            testLogger(t),
	}
	t.Cleanup(h.stopConsumer)
	return h
}

// startConsumer builds the App exactly as cmd/consumer does, runs it and returns once it is consuming: a test
// that ends sooner would cancel Run while it still provisions, which Run reports as an error.
func (h *harness) startConsumer() *app.App {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := app.New(ctx, h.cfg)
	if err != nil {
		h.t.Fatalf("start consumer: %v", err)
	}
	runCtx, runCancel := context.WithCancel(context.Background())
	r := &runningApp{app: a, cancel: runCancel, done: make(chan error, 1)}
	go func() { r.done <- a.Run(runCtx) }()
	h.mu.Lock()
	h.running = append(h.running, r)
	h.mu.Unlock()
	h.eventually(10*time.Second, "the consumer to start consuming", func() bool {
		select {
		case err := <-r.done:
			r.done <- err // still there for stop
			h.t.Fatalf("consumer stopped while starting: %v", err)
		default:
		}
		return a.Runner.Ready() == nil
	})
	return a
}

// stopConsumer shuts every running consumer instance down gracefully and waits for their drains.
func (h *harness) stopConsumer() {
	h.mu.Lock()
	rs := h.running
	h.running = nil
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Go(func() { h.stop(r) })
	}
	wg.Wait()
}

func (h *harness) stop(r *runningApp) {
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			h.t.Errorf("consumer run: %v", err)
		}
	case <-time.After(30 * time.Second):
		h.t.Error("consumer did not drain within 30s")
	}
	r.app.Close()
}

func (h *harness) newEvent(typ, subject, key string, data any) event.Event {
	h.t.Helper()
	ev, err := events.New(typ, "/e2e/stigg", subject, key, data)
	if err != nil {
		h.t.Fatalf("build event: %v", err)
	}
	return ev
}

// publish sends ev in binary mode on its contract subject and waits for the stream's ack.
func (h *harness) publish(ev event.Event) {
	h.t.Helper()
	msg, err := events.ToMsg("", ev)
	if err != nil {
		h.t.Fatalf("encode %s: %v", ev.Type(), err)
	}
	h.publishMsg(msg)
}

func (h *harness) publishMsg(msg *nats.Msg) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := h.js.PublishMsg(ctx, msg); err != nil {
		h.t.Fatalf("publish to %s: %v", msg.Subject, err)
	}
}

// simState fetches GET /_sim/state over HTTP, as an operator would.
func (h *harness) simState() map[string][]map[string]any {
	h.t.Helper()
	resp, err := http.Get(h.simURL + "/_sim/state")
	if err != nil {
		h.t.Fatalf("sim state: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var st map[string][]map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		h.t.Fatalf("sim state: %v: %s", err, b)
	}
	return st
}

// countRequests counts simulator requests by method and path (served from the idempotency store or not).
func (h *harness) countRequests(method, path string) int {
	n := 0
	for _, r := range h.sim.Requests() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

// outcomes reads every outcome event published so far, oldest first.
func (h *harness) outcomes() []event.Event {
	h.t.Helper()
	return h.readStream(topology.StreamOutcomes, "zuorasync.out.>")
}

// readStream reads every message of the stream matching filter that was stored when it started, oldest first.
// It reads up to that known end, one read per message: a slow answer is waited for, never taken for the end of
// the stream, and not getting there within the deadline fails the test instead of returning a shorter list.
func (h *harness) readStream(stream, filter string) []event.Event {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := h.js.Stream(ctx, stream)
	if err != nil {
		h.t.Fatalf("stream %s: %v", stream, err)
	}
	state := s.CachedInfo().State
	var out []event.Event
	for seq := state.FirstSeq; state.Msgs > 0 && seq <= state.LastSeq; {
		msg, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) || (err == nil && msg.Sequence > state.LastSeq) {
			return out // nothing more matches up to the end
		}
		if err != nil {
			h.t.Fatalf("read %s from seq %d (reading up to %d): %v", stream, seq, state.LastSeq, err)
		}
		ev, err := events.FromMsg(msg.Header, msg.Data)
		if err != nil {
			h.t.Fatalf("message %d on %s is not a CloudEvent: %v", msg.Sequence, msg.Subject, err)
		}
		out = append(out, ev)
		seq = msg.Sequence + 1
	}
	return out
}

// outcomeFor returns the outcome data published for a source event, if any.
func (h *harness) outcomeFor(sourceID string) (string, events.Outcome, bool) {
	for _, ev := range h.outcomes() {
		var o events.Outcome
		if err := json.Unmarshal(ev.Data(), &o); err != nil {
			h.t.Fatalf("outcome data: %v", err)
		}
		if o.SourceEventID == sourceID {
			return ev.Type(), o, true
		}
	}
	return "", events.Outcome{}, false
}

// waitOutcome waits until the source event has an outcome and returns it.
func (h *harness) waitOutcome(sourceID string, timeout time.Duration) (string, events.Outcome) {
	h.t.Helper()
	var typ string
	var o events.Outcome
	h.eventually(timeout, fmt.Sprintf("an outcome for event %s", sourceID), func() bool {
		var ok bool
		typ, o, ok = h.outcomeFor(sourceID)
		return ok
	})
	return typ, o
}

func (h *harness) eventually(timeout time.Duration, what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitIdle waits until every zuora-sync consumer of the stream has handled everything stored in it.
func (h *harness) waitIdle(stream string, timeout time.Duration) {
	h.t.Helper()
	h.eventually(timeout, stream+" consumers to catch up", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := h.js.Stream(ctx, stream)
		if err != nil {
			return false
		}
		names := s.ListConsumers(ctx)
		idle := true
		for info := range names.Info() {
			if info.NumPending > 0 || info.NumAckPending > 0 || info.NumRedelivered > 0 {
				idle = false
			}
		}
		return names.Err() == nil && idle
	})
}

func (h *harness) dlq() []consumer.DeadLetter {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dl, err := consumer.ListDLQ(ctx, h.js, "", 0)
	if err != nil {
		h.t.Fatal(err)
	}
	return dl
}

func accountsWithCustomer(st map[string][]map[string]any, customerID string) []map[string]any {
	var out []map[string]any
	for _, a := range st["accounts"] {
		cf, _ := a["custom_fields"].(map[string]any)
		if cf["stiggCustomerId__c"] == customerID {
			out = append(out, a)
		}
	}
	return out
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// replayAll replays the STIGG stream from its first event.
func replayAll(ctx context.Context, h *harness) (uint64, []string, error) {
	return consumer.Replay(ctx, h.js, topology.StreamStigg, consumer.ReplayFrom{Seq: 1})
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}
