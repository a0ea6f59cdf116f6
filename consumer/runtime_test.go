package consumer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

const custData = `{"customerId":"%s","name":"%s"}`

func customer(key, name string) string { return fmt.Sprintf(custData, key, name) }

// recorder is a handler that records the events it applied, in order.
type recorder struct {
	mu      sync.Mutex
	applied []string
	fn      func(ctx context.Context, in *dispatch.Input) error
}

func (h *recorder) Handle(ctx context.Context, in *dispatch.Input) (*dispatch.Result, error) {
	if h.fn != nil {
		if err := h.fn(ctx, in); err != nil {
			return nil, err
		}
	}
	h.mu.Lock()
	h.applied = append(h.applied, in.Event.ID())
	h.mu.Unlock()
	return dispatch.Synced(events.EntityCustomer, events.Outcome{StiggID: in.Key, Action: "updated"}), nil
}

func (h *recorder) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.applied...)
}

// Defect 1: a panicking handler fails only its own event, which is dead-lettered with the reason; the process and
// the next event go on.
func TestHandlerPanicDeadLettersOnlyItsEvent(t *testing.T) {
	e := newRuntimeEnv(t)
	h := &recorder{fn: func(_ context.Context, in *dispatch.Input) error {
		if in.Event.ID() == "boom" {
			var acct *zuoraapi.Account
			_ = acct.ID // the nil dereference of the account-update bug
		}
		return nil
	}}
	e.router.Handle(events.TypeStiggCustomerUpdated, h)
	bad := e.delivery(events.TypeStiggCustomerUpdated, "boom", "cust-1", customer("cust-1", "A"))
	e.process(bad)
	if _, _, termed := bad.state(); !strings.Contains(termed, "panicked") {
		t.Fatalf("panicking event settled as %q, want terminated with the panic as reason", termed)
	}
	if n := e.count(topology.StreamDLQ, ">"); n != 1 {
		t.Fatalf("%d dead letters, want 1", n)
	}
	good := e.delivery(events.TypeStiggCustomerUpdated, "next", "cust-1", customer("cust-1", "B"))
	e.process(good)
	if acked, _, _ := good.state(); !acked || len(h.list()) != 1 {
		t.Fatalf("the next event was not handled (acked %v, applied %v)", acked, h.list())
	}
}

// Defect 5a/5d: a parked event whose ack was lost parks no second copy (copies are named by origin), and a copy
// that comes back after a newer event of its entity was applied is skipped with an outcome that says so.
func TestParkedCopiesAreDedupedByOriginAndNeverApplyAfterNewerEvents(t *testing.T) {
	e := newRuntimeEnv(t)
	var deferFirst atomic.Bool
	deferFirst.Store(true)
	h := &recorder{fn: func(_ context.Context, in *dispatch.Input) error {
		if in.Event.ID() == "e1" && deferFirst.Load() {
			return dispatch.Defer(errors.New("account not there yet"))
		}
		return nil
	}}
	e.router.Handle(events.TypeStiggCustomerUpdated, h)
	e1 := e.delivery(events.TypeStiggCustomerUpdated, "e1", "cust-1", customer("cust-1", "old"))
	e.process(e1)
	e.process(redeliver(e1)) // the server never heard the ack of the park
	if n := e.count(topology.StreamRetry, ">"); n != 1 {
		t.Fatalf("%d parked copies after a lost ack, want 1", n)
	}
	// The dependency arrives; the parked copy comes back and is applied, then the newer event.
	deferFirst.Store(false)
	copy1 := e.requeuedCopy(t)
	e.process(copy1)
	e2 := e.delivery(events.TypeStiggCustomerUpdated, "e2", "cust-1", customer("cust-1", "new"))
	e.process(e2)
	// A stale copy of e1 (past the dedupe window, or from a re-created retry consumer) arrives last.
	stale := redeliver(copy1)
	e.process(stale)
	if got := h.list(); strings.Join(got, ",") != "e1,e2" {
		t.Fatalf("applied %v, want e1,e2 (the stale copy skipped)", got)
	}
	if acked, _, _ := stale.state(); !acked {
		t.Fatal("the stale copy was not acked")
	}
	if got := e.outcomeActions()["e1"]; !strings.HasSuffix(got, "/"+ActionSuperseded) && !strings.HasSuffix(got, "/updated") {
		t.Fatalf("outcome of e1: %q", got)
	}
}

// requeuedCopy is the parked copy as the retry consumer puts it back on the input subject: the headers of the
// copy, a new stream sequence.
func (e *runtimeEnv) requeuedCopy(t *testing.T) *fakeMsg {
	t.Helper()
	s, err := e.js.Stream(e.ctx, topology.StreamRetry)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := s.Info(e.ctx)
	raw, err := s.GetMsg(e.ctx, info.State.LastSeq)
	if err != nil {
		t.Fatal(err)
	}
	h := copyHeaders(raw.Header, HeaderNotBefore, HeaderRequeueSubject, HeaderDeferReason)
	e.seq++
	input := raw.Header.Get(HeaderRequeueSubject)
	key := strings.Split(input, ".")[3]
	return &fakeMsg{subject: input + "." + itoa(e.r.cfg.Topology.Partition(key)), header: h, data: raw.Data,
		meta: jetstreamMeta(e.seq)}
}

// Defect 5b: the documented redrive after an outage appends an old event after newer ones; the guard skips it,
// and the redrive command keeps such entries unless the operator forces them.
func TestRedriveOfASupersededEventNeedsAnOverride(t *testing.T) {
	e := newRuntimeEnv(t)
	var fail atomic.Bool
	fail.Store(true)
	h := &recorder{fn: func(_ context.Context, in *dispatch.Input) error {
		if in.Event.ID() == "e1" && fail.Load() {
			return dispatch.Permanent(errors.New("zuora said no"))
		}
		return nil
	}}
	e.router.Handle(events.TypeStiggCustomerUpdated, h)
	e.process(e.delivery(events.TypeStiggCustomerUpdated, "e1", "cust-1", customer("cust-1", "old")))
	e.process(e.delivery(events.TypeStiggCustomerUpdated, "e2", "cust-1", customer("cust-1", "new")))
	fail.Store(false)

	res, err := Redrive(e.ctx, e.js, RedriveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Redriven != 0 || len(res.Superseded) != 1 || res.Superseded[0].EventID != "e1" {
		t.Fatalf("redrive without -force: %+v, want e1 kept as superseded", res)
	}
	// The same copy arriving anyway (an older redrive tool, a hand-made publish) is skipped by the guard.
	dl := res.Superseded[0]
	copyMsg := &fakeMsg{subject: dl.OriginalSubject + ".0", header: copyHeaders(dl.Header, "Zuorasync-Dlq-*"), data: dl.Data,
		meta: jetstreamMeta(500)}
	copyMsg.subject = dl.OriginalSubject + "." + itoa(e.r.cfg.Topology.Partition("cust-1"))
	e.process(copyMsg)
	if got := h.list(); strings.Join(got, ",") != "e2" {
		t.Fatalf("applied %v, want only e2", got)
	}
	res, err = Redrive(e.ctx, e.js, RedriveOptions{Force: true})
	if err != nil || res.Redriven != 1 {
		t.Fatalf("forced redrive: %+v %v", res, err)
	}
}

// Defect 6: a consumer reset lets the server deliver a key's next event while the previous one is still being
// handled; the guard's claim keeps the second waiting on its delivery, without using up its attempts.
func TestTwoEventsOfAKeyNeverRunAtOnce(t *testing.T) {
	e := newRuntimeEnv(t)
	release := make(chan struct{})
	var running, maxRunning atomic.Int32
	h := &recorder{fn: func(ctx context.Context, in *dispatch.Input) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := maxRunning.Load()
			if n <= m || maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		if in.Event.ID() == "e1" {
			<-release
		}
		return nil
	}}
	e.router.Handle(events.TypeStiggCustomerUpdated, h)
	e1 := e.delivery(events.TypeStiggCustomerUpdated, "e1", "cust-1", customer("cust-1", "a"))
	e2 := e.delivery(events.TypeStiggCustomerUpdated, "e2", "cust-1", customer("cust-1", "b"))
	done := make(chan struct{})
	go func() { defer close(done); e.process(e1) }()
	waitFor(t, func() bool { return running.Load() == 1 })
	second := make(chan struct{})
	go func() { defer close(second); e.process(e2) }() // what a reset consumer delivers meanwhile
	// e2 waits on its delivery, renewing it, while e1 holds the key.
	waitFor(t, func() bool { e2.mu.Lock(); defer e2.mu.Unlock(); return e2.progress >= 2 })
	if acked, naks, _ := e2.state(); acked || naks != 0 || len(h.list()) != 0 {
		t.Fatalf("second event of the key while the first runs: acked %v naks %d applied %v", acked, naks, h.list())
	}
	close(release)
	<-done
	<-second
	if acked, naks, _ := e2.state(); !acked || naks != 0 {
		t.Fatalf("second event: acked %v naks %d, want applied on the same delivery", acked, naks)
	}
	if got := h.list(); strings.Join(got, ",") != "e1,e2" || maxRunning.Load() != 1 {
		t.Fatalf("applied %v with up to %d at once, want e1,e2 one at a time", got, maxRunning.Load())
	}
}

// Defect 6: a dead letter's id is unique per dead-lettering, so a replayed event (whose delivery sequences repeat
// after a reset) still gets its DLQ entry instead of being deduplicated away while it is terminated.
func TestEveryDeadLetteringWritesAnEntry(t *testing.T) {
	e := newRuntimeEnv(t)
	e.router.Handle(events.TypeStiggCustomerUpdated, &recorder{fn: func(context.Context, *dispatch.Input) error {
		return dispatch.Permanent(errors.New("refused"))
	}})
	m := e.delivery(events.TypeStiggCustomerUpdated, "e1", "cust-1", customer("cust-1", "a"))
	e.process(m)
	again := &fakeMsg{subject: m.subject, header: m.header, data: m.data, meta: m.meta} // same sequences: a replay
	e.process(again)
	if n := e.count(topology.StreamDLQ, ">"); n != 2 {
		t.Fatalf("%d DLQ entries after two dead-letterings, want 2", n)
	}
}

// Defect 2: ids too long to be keys are refused before any NATS call with a reason, and the connection stays up.
func TestOversizedIdsAreDeadLetteredAndTheConnectionSurvives(t *testing.T) {
	e := newRuntimeEnv(t)
	h := &recorder{}
	e.router.Handle(events.TypeStiggCustomerUpdated, h)
	long := strings.Repeat("x", 5000)
	for _, tc := range []struct{ name, subject, key, data string }{
		{"subject", long, "cust-1", customer("cust-1", "a")},
		{"partition key", "cust-1", long, customer("cust-1", "a")},
		{"customer id", "cust-1", "cust-1", customer(long, "a")},
	} {
		// Built by hand: the library refuses to encode such an event, but other publishers may not.
		h := nats.Header{}
		for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": "ev-" + tc.name, "ce-source": "urn:test",
			"ce-type": events.TypeStiggCustomerUpdated, "ce-subject": tc.subject, "ce-partitionkey": tc.key,
			"content-type": "application/json"} {
			h.Set(k, v)
		}
		e.seq++
		m := &fakeMsg{subject: "stigg.customer.updated.cust-1." + itoa(e.r.cfg.Topology.Partition("cust-1")),
			header: h, data: []byte(tc.data), meta: jetstreamMeta(e.seq)}
		e.process(m)
		if _, _, termed := m.state(); !strings.Contains(termed, "at most") {
			t.Errorf("%s of 5 KB: settled %q, want dead-lettered naming the limit", tc.name, termed)
		}
		if !e.nc.IsConnected() {
			t.Fatalf("%s of 5 KB closed the NATS connection", tc.name)
		}
	}
	if len(h.list()) != 0 {
		t.Fatalf("oversized events reached the handler: %v", h.list())
	}
}

// Defect 7: a message whose partition token does not match its key came from a publisher, not from the
// stream's transform; handling it could run a key's events in two partitions at once.
func TestForgedPartitionTokenIsDeadLettered(t *testing.T) {
	e := newRuntimeEnv(t)
	h := &recorder{}
	e.router.Handle(events.TypeStiggCustomerUpdated, h)
	m := e.delivery(events.TypeStiggCustomerUpdated, "e1", "cust-1", customer("cust-1", "a"))
	right := e.r.cfg.Topology.Partition("cust-1")
	m.subject = "stigg.customer.updated.cust-1." + itoa((right+1)%e.r.cfg.Topology.Partitions)
	e.process(m)
	if _, _, termed := m.state(); !strings.Contains(termed, "partition") || len(h.list()) != 0 {
		t.Fatalf("forged partition: settled %q, applied %v", termed, h.list())
	}
}

// Defect 3: an answer Zuora gave after committing a write but that could not be read is an unknown outcome:
// the event keeps its idempotency key (a fresh one could create a second account); only a refusal rotates it.
func TestOnlyRefusalsRotateIdempotencyKeys(t *testing.T) {
	e := newRuntimeEnv(t)
	var keys []string
	var failWith error
	h := &recorder{fn: func(ctx context.Context, _ *dispatch.Input) error {
		keys = append(keys, zuoraapi.IdempotencyKey(zuoraapi.EventIDFrom(ctx), "account.create"))
		return failWith
	}}
	e.router.Handle(events.TypeStiggCustomerUpdated, h)
	m := e.delivery(events.TypeStiggCustomerUpdated, "e1", "cust-1", customer("cust-1", "a"))
	unreadable := &zuoraapi.Error{Kind: zuoraapi.KindUnknown, StatusCode: 201, Method: "POST", Path: "/v2/accounts",
		Message: "decoding response: unexpected end of JSON input"}
	failWith = unreadable
	e.process(m)
	m2 := redeliver(m)
	e.process(m2)
	if len(keys) != 2 || keys[0] != keys[1] {
		t.Fatalf("keys after an unreadable 201: %v, want the same key again", keys)
	}
	failWith = refusal(t)
	m3 := redeliver(m2)
	e.process(m3)
	failWith = nil
	e.process(redeliver(m3))
	if len(keys) != 4 || keys[3] == keys[2] {
		t.Fatalf("keys after a refusal: %v, want a fresh key on the retry", keys)
	}
}

func refusal(t *testing.T) error {
	t.Helper()
	// A 400 as the Zuora client reports it: answered, and refused.
	return zuoraapi.NewTestRefusal("POST", "/v2/accounts", 400)
}

// Defect 9: a handler whose lease lapsed (a paused process) is fenced off before its next Zuora call.
func TestLeaseLapseFencesTheHandler(t *testing.T) {
	ctx, l := newLease(context.Background(), time.Second)
	now := time.Now()
	l.now = func() time.Time { return now }
	if err := l.check(); err != nil {
		t.Fatalf("fresh lease: %v", err)
	}
	now = now.Add(900 * time.Millisecond) // past the safety margin of a 1 s ack wait
	if err := l.check(); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("lapsed lease: %v", err)
	}
	if !errors.Is(context.Cause(ctx), ErrLeaseLost) {
		t.Fatalf("the handler's context was not cancelled with the lease: %v", context.Cause(ctx))
	}
	// A failed heartbeat ends the lease too.
	ctx2, l2 := newLease(context.Background(), 150*time.Millisecond)
	stop := l2.heartbeat(ctx2, &fakeMsg{inProgressErr: errors.New("connection closed")}, func() bool { return true })
	defer stop()
	waitFor(t, func() bool { return l2.check() != nil })
	if ctx2.Err() == nil {
		t.Fatal("failed heartbeat did not cancel the handler")
	}
}

// A closed NATS connection ends Run with an error instead of leaving a zombie that consumes nothing.
func TestClosedConnectionEndsRun(t *testing.T) {
	e := newRuntimeEnv(t)
	done := make(chan error, 1)
	go func() { done <- e.r.Run(context.Background()) }()
	time.Sleep(300 * time.Millisecond)
	e.nc.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrConnectionClosed) {
			t.Fatalf("Run returned %v, want ErrConnectionClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept going on a closed connection")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Defect 10: when the outcome cannot be published after the handler did its work, the redelivery reports what
// was done (its ids, its action) instead of handling the event again and reporting "unchanged".
func TestOutcomeOfAHandledEventSurvivesAFailedPublish(t *testing.T) {
	e := newRuntimeEnv(t)
	h := &recorder{}
	e.router.Handle(events.TypeStiggCustomerUpdated, h)
	if err := e.js.DeleteStream(e.ctx, topology.StreamOutcomes); err != nil {
		t.Fatal(err)
	}
	m := e.delivery(events.TypeStiggCustomerUpdated, "e1", "cust-1", customer("cust-1", "a"))
	e.process(m)
	if acked, naks, _ := m.state(); acked || naks != 1 {
		t.Fatalf("outcome publish failed: acked %v naks %d, want a retry", acked, naks)
	}
	if err := topology.EnsureStreams(e.ctx, e.js, e.r.cfg.Topology); err != nil {
		t.Fatal(err)
	}
	e.process(redeliver(m))
	if n := len(h.list()); n != 1 {
		t.Fatalf("handler ran %d times, want once", n)
	}
	if got := e.outcomeActions()["e1"]; got != events.TypeOutCustomerSynced+"/updated" {
		t.Fatalf("outcome %q, want the first attempt's", got)
	}
}

// Defect 5c/5e: an event published unkeyed is moved onto its keyed subject by the rekey consumer; if a newer
// keyed event of the same entity was applied before the moved copy arrives (or a replay moves the old event
// again), the copy's origin says it is older and it is skipped.
func TestRekeyedCopyKeepsItsOrigin(t *testing.T) {
	e := newRuntimeEnv(t)
	h := &recorder{}
	e.router.Handle(events.TypeStiggCustomerUpdated, h)
	unkeyed := e.delivery(events.TypeStiggCustomerUpdated, "e1", "cust-1", customer("cust-1", "old"))
	unkeyed.subject = "stigg.customer.updated"
	keyed := e.delivery(events.TypeStiggCustomerUpdated, "e2", "cust-1", customer("cust-1", "new"))
	e.process(keyed)
	e.r.rekey(e.ctx, topology.StreamStigg, unkeyed)
	if acked, _, _ := unkeyed.state(); !acked {
		t.Fatal("the unkeyed event was not moved")
	}
	s, _ := e.js.Stream(e.ctx, topology.StreamStigg)
	info, _ := s.Info(e.ctx)
	raw, err := s.GetMsg(e.ctx, info.State.LastSeq)
	if err != nil {
		t.Fatal(err)
	}
	if got := raw.Header.Get(HeaderOrigin); got != e.r.originOfTest(unkeyed) {
		t.Fatalf("moved copy carries origin %q, want the unkeyed message's %q", got, e.r.originOfTest(unkeyed))
	}
	moved := &fakeMsg{subject: raw.Subject, header: raw.Header, data: raw.Data, meta: jetstreamMeta(raw.Sequence)}
	e.process(moved)
	if got := h.list(); strings.Join(got, ",") != "e2" {
		t.Fatalf("applied %v, want only the newer e2", got)
	}
}

// Events that are each applied on their own (usage reports, payment requests) are never skipped as superseded:
// a late older one is applied too. They still wait for the key's claim.
func TestEachRoutesAreNotSuperseded(t *testing.T) {
	e := newRuntimeEnv(t)
	h := &recorder{}
	e.router.HandleEach(events.TypeStiggCustomerUpdated, h)
	older := e.delivery(events.TypeStiggCustomerUpdated, "e1", "cust-1", customer("cust-1", "a"))
	newer := e.delivery(events.TypeStiggCustomerUpdated, "e2", "cust-1", customer("cust-1", "b"))
	e.process(newer)
	e.process(older)
	if got := h.list(); strings.Join(got, ",") != "e2,e1" {
		t.Fatalf("applied %v, want both", got)
	}
}

// An event carrying a raw card number is refused, and neither its dead letter nor anything else keeps the body.
func TestCardDataIsRefusedAndNotStored(t *testing.T) {
	e := newRuntimeEnv(t)
	h := &recorder{}
	e.router.Handle(events.TypeStiggPaymentMethodAttached, h)
	const pan = "4242424242424242"
	body := `{"customerId":"cust-1","setAsDefault":true,"stripe":{"customerId":"cus_1","paymentMethodId":"pm_1"},` +
		`"card":{"brand":"visa","last4":"4242","expMonth":12,"expYear":2030,"number":"` + pan + `"}}`
	m := e.delivery(events.TypeStiggPaymentMethodAttached, "pm-ev", "cust-1", body)
	e.process(m)
	if _, _, termed := m.state(); !strings.Contains(termed, "card data") || len(h.list()) != 0 {
		t.Fatalf("settled %q, applied %v; want refused", termed, h.list())
	}
	dl, err := ListDLQ(e.ctx, e.js, "", 0)
	if err != nil || len(dl) != 1 {
		t.Fatalf("dead letters %v %v", dl, err)
	}
	if strings.Contains(string(dl[0].Data), pan) || strings.Contains(dl[0].Reason, pan) {
		t.Fatal("the card number was stored in the DLQ")
	}
	for _, vs := range dl[0].Header {
		for _, v := range vs {
			if strings.Contains(v, pan) {
				t.Fatal("the card number was stored in a DLQ header")
			}
		}
	}
	if got := e.outcomeActions()["pm-ev"]; !strings.HasPrefix(got, events.OutcomeType(events.EntityPaymentMethod, events.ResultFailed)) {
		t.Fatalf("outcome %q, want a failed outcome", got)
	}
}

// A holder that died mid-handler blocks its key only until its claim expires (one ack wait, renewed while alive),
// not for the handler timeout.
func TestAClaimOfADeadHolderExpiresAfterOneAckWait(t *testing.T) {
	e := newRuntimeEnv(t)
	h := &recorder{}
	e.router.Handle(events.TypeStiggCustomerUpdated, h)
	var now atomic.Pointer[time.Time]
	start := time.Now()
	now.Store(&start)
	e.r.guard.now = func() time.Time { return *now.Load() }
	key := guardRecordKey(topology.StreamStigg, "cust-1")
	dead := keyRecord{Inflight: &inflightClaim{Holder: "dead-instance", EventID: "e0", Origin: "STIGG/1/1", Since: start,
		Until: start.Add(e.r.guard.hold)}}
	if _, err := e.r.guard.write(e.ctx, key, dead, 0); err != nil {
		t.Fatal(err)
	}
	if e.r.guard.hold != e.r.cfg.Topology.AckWait {
		t.Fatalf("claims last %s, want one ack wait (%s)", e.r.guard.hold, e.r.cfg.Topology.AckWait)
	}
	m := e.delivery(events.TypeStiggCustomerUpdated, "e1", "cust-1", customer("cust-1", "a"))
	done := make(chan struct{})
	go func() { defer close(done); e.process(m) }()
	waitFor(t, func() bool { m.mu.Lock(); defer m.mu.Unlock(); return m.progress >= 2 })
	if acked, naks, _ := m.state(); acked || naks != 0 || len(h.list()) != 0 {
		t.Fatalf("while the claim lives: acked %v naks %d applied %v", acked, naks, h.list())
	}
	later := start.Add(e.r.guard.hold + time.Second)
	now.Store(&later)
	<-done
	if acked, naks, _ := m.state(); !acked || naks != 0 || len(h.list()) != 1 {
		t.Fatalf("after the claim expired: acked %v naks %d applied %v", acked, naks, h.list())
	}
}

// A live holder's claim is renewed with its lease, so a handler longer than the ack wait still keeps the key.
func TestALiveHoldersClaimIsRenewed(t *testing.T) {
	e := newRuntimeEnv(t)
	e.r.cfg.Topology.AckWait, e.r.guard.hold = time.Second, time.Second
	release := make(chan struct{})
	h := &recorder{fn: func(_ context.Context, in *dispatch.Input) error {
		if in.Event.ID() == "slow" {
			<-release
		}
		return nil
	}}
	e.router.Handle(events.TypeStiggCustomerUpdated, h)
	slow := e.delivery(events.TypeStiggCustomerUpdated, "slow", "cust-1", customer("cust-1", "a"))
	done := make(chan struct{})
	go func() { defer close(done); e.process(slow) }()
	time.Sleep(1600 * time.Millisecond) // past the first claim's end: only renewals keep it
	next := e.delivery(events.TypeStiggCustomerUpdated, "next", "cust-1", customer("cust-1", "b"))
	nextDone := make(chan struct{})
	go func() { defer close(nextDone); e.process(next) }()
	waitFor(t, func() bool { next.mu.Lock(); defer next.mu.Unlock(); return next.progress >= 2 })
	if acked, naks, _ := next.state(); acked || naks != 0 || len(h.list()) != 0 {
		t.Fatalf("the next event ran while the slow one held the key (acked %v naks %d)", acked, naks)
	}
	close(release)
	<-done
	<-nextDone
	if acked, _, _ := slow.state(); !acked {
		t.Fatal("the slow event was not acked")
	}
	if got := strings.Join(h.list(), ","); got != "slow,next" {
		t.Fatalf("applied %s, want slow,next", got)
	}
}
