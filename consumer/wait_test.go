package consumer

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/ratelimit"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// An outage or a 429 storm is not the event's failure: an event that has already used up every attempt (the
// worst case) waits out Zuora being unavailable on its delivery, however many tries that takes, and is then
// applied; nothing is dead-lettered and the server is not asked to redeliver it.
func TestZuoraUnavailableForLongerThanEveryAttemptLosesNothing(t *testing.T) {
	e := newRuntimeEnv(t)
	var calls atomic.Int32
	unavailable := 2 * e.r.cfg.MaxAttempts
	e.router.Handle(events.TypeStiggCustomerUpdated, &recorder{fn: func(context.Context, *dispatch.Input) error {
		switch n := int(calls.Add(1)); {
		case n == 1:
			return &zuoraapi.Error{Kind: zuoraapi.KindRateLimited, StatusCode: 429, RetryAfter: 150 * time.Millisecond}
		case n <= unavailable:
			return fmt.Errorf("update account: %w", &ratelimit.OpenError{Surface: "v2"})
		}
		return nil
	}})
	m := e.delivery(events.TypeStiggCustomerUpdated, "e1", "cust-1", customer("cust-1", "a"))
	m.meta.NumDelivered = uint64(e.r.cfg.MaxAttempts)
	start := time.Now()
	e.process(m)
	if acked, naks, termed := m.state(); !acked || naks != 0 || termed != "" {
		t.Fatalf("acked %v, naks %d, termed %q: want applied on this delivery", acked, naks, termed)
	}
	if n := int(calls.Load()); n != unavailable+1 {
		t.Fatalf("handler called %d times, want %d", n, unavailable+1)
	}
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Fatalf("held %s: Zuora's Retry-After (150ms) was not waited out", took)
	}
	if m.progress == 0 {
		t.Fatal("the held delivery's ack deadline was never renewed")
	}
	if n := e.count(topology.StreamDLQ, ">"); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
}

// A held event goes back to the server when the process stops: one Nak, no dead letter, whatever its attempts.
func TestAWaitingEventIsHandedBackOnShutdown(t *testing.T) {
	e := newRuntimeEnv(t)
	var calls atomic.Int32
	e.router.Handle(events.TypeStiggCustomerUpdated, &recorder{fn: func(context.Context, *dispatch.Input) error {
		calls.Add(1)
		return &zuoraapi.Error{Kind: zuoraapi.KindRateLimited, StatusCode: 429}
	}})
	m := e.delivery(events.TypeStiggCustomerUpdated, "e1", "cust-1", customer("cust-1", "a"))
	m.meta.NumDelivered = uint64(e.r.cfg.MaxAttempts + 3)
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() { defer close(done); e.r.process(ctx, topology.StreamStigg, m) }()
	waitFor(t, func() bool { return calls.Load() >= 3 })
	cancel()
	<-done
	if acked, naks, termed := m.state(); acked || naks != 1 || termed != "" {
		t.Fatalf("acked %v, naks %d, termed %q: want handed back once", acked, naks, termed)
	}
	if n := e.count(topology.StreamDLQ, ">"); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
}

// Ordinary failures still count: a 503 on the last attempt dead-letters the event (exhausted), as before.
func TestA5xxOnTheLastAttemptIsStillDeadLettered(t *testing.T) {
	e := newRuntimeEnv(t)
	e.router.Handle(events.TypeStiggCustomerUpdated, &recorder{fn: func(context.Context, *dispatch.Input) error {
		return &zuoraapi.Error{Kind: zuoraapi.KindTransient, StatusCode: 503}
	}})
	m := e.delivery(events.TypeStiggCustomerUpdated, "e1", "cust-1", customer("cust-1", "a"))
	m.meta.NumDelivered = uint64(e.r.cfg.MaxAttempts)
	e.process(m)
	if _, _, termed := m.state(); !strings.HasPrefix(termed, "term:") {
		t.Fatalf("termed %q: want dead-lettered", termed)
	}
	if n := e.count(topology.StreamDLQ, ">"); n != 1 {
		t.Fatalf("%d dead letters, want 1", n)
	}
}

// A message published with JetStream preconditions (the bridge publishes with Nats-Expected-Stream: ZUORA) is
// dead-lettered like any other: the preconditions belong to that publish, not to the copies the runtime writes.
func TestPublishPreconditionsDoNotFollowTheEventIntoItsCopies(t *testing.T) {
	e := newRuntimeEnv(t)
	e.router.Handle(events.TypeStiggCustomerUpdated, &recorder{fn: func(context.Context, *dispatch.Input) error {
		return dispatch.Permanent(fmt.Errorf("refused"))
	}})
	m := e.delivery(events.TypeStiggCustomerUpdated, "e1", "cust-1", customer("cust-1", "a"))
	m.header.Set("Nats-Expected-Stream", "ZUORA")
	m.header.Set("Nats-Expected-Last-Sequence", "7")
	e.process(m)
	if _, naks, termed := m.state(); naks != 0 || termed == "" {
		t.Fatalf("naks %d termed %q: want dead-lettered at once", naks, termed)
	}
	if n := e.count(topology.StreamDLQ, ">"); n != 1 {
		t.Fatalf("%d dead letters, want 1", n)
	}
}
