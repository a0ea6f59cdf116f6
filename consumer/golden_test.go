package consumer

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// Golden vectors: literal outputs of the derivations that messages, KV entries and Zuora idempotency keys in
// flight depend on across a deploy. The expectations are written out, never recomputed with the code under test;
// a vector that has to change needs a migration story, not an edit of the literal.

const goldenEventID = "3f2c9a7e-0d1b-4c55-9e3a-8f1d2b3c4d5e"

func TestGoldenIdempotencyBase(t *testing.T) {
	cases := []struct {
		gen               int
		redrive           string
		wantBase, wantKey string // wantKey = zuoraapi.IdempotencyKey(base, "account.create")
		why               string // what breaks in production if the vector changes
	}{
		{0, "", goldenEventID, "zs-d37bf6553b1c69db94c14c915fb805d6e0f49f78",
			"first attempts in flight across the deploy write twice (new key for the same write)"},
		{1, "", goldenEventID + "#g1", "zs-db53027d4202cb7a38fd71b8fc0b0c75630a6030",
			"an event moved to generation 1 after a refusal retries under a key Zuora never saw: duplicate write"},
		{2, "", goldenEventID + "#g2", "zs-0db8567f8fb90c6063a4c21ea8365048c33a472a",
			"generation 2 retries duplicate their writes"},
		{0, "1", goldenEventID + "#redrive1", "zs-92aa00fa9410c532a5062ef0ddf9bc045c987995",
			"a redriven event's in-flight retry writes twice, or the redrive replays the stored refusal"},
		{1, "1", goldenEventID + "#g1#redrive1", "zs-19e6b612cb5481de37752f9b492e6fcbc99b2020",
			"a refused write after a redrive retries under a fresh key: duplicate write"},
		{2, "1", goldenEventID + "#g2#redrive1", "zs-c519cc78f9a7d53429869315e5ca6cee6ef14058",
			"generation 2 of a redriven event duplicates its writes"},
		{0, "2", goldenEventID + "#redrive2", "zs-d4fa4ab78d60f077dbe558134465bdbbc5e09e15",
			"a second redrive collides with the first (stored failure comes back) or duplicates writes"},
		{1, "2", goldenEventID + "#g1#redrive2", "zs-61b8f1c9adab3b201567af14c306f6ab051e6bd8",
			"generation 1 of a twice-redriven event duplicates its writes"},
		{2, "2", goldenEventID + "#g2#redrive2", "zs-634c85873e066da520503484dfaacce202fcba3e",
			"generation 2 of a twice-redriven event duplicates its writes"},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		base := IdempotencyBase(goldenEventID, tc.gen, tc.redrive)
		if base != tc.wantBase {
			t.Errorf("IdempotencyBase(gen %d, redrive %q) = %q, want %q: %s", tc.gen, tc.redrive, base, tc.wantBase, tc.why)
		}
		if key := zuoraapi.IdempotencyKey(base, "account.create"); key != tc.wantKey {
			t.Errorf("key of gen %d, redrive %q = %q, want %q: %s", tc.gen, tc.redrive, key, tc.wantKey, tc.why)
		}
		if seen[tc.wantKey] {
			t.Errorf("gen %d, redrive %q shares its key with another generation", tc.gen, tc.redrive)
		}
		seen[tc.wantKey] = true
	}
}

// Golden vectors for the header form of an origin; see also TestOriginHeaderForm.
func TestGoldenOriginString(t *testing.T) {
	cases := []struct {
		o    Origin
		want string
		why  string // what breaks in production if want changes
	}{
		{Origin{Stream: topology.StreamStigg, Epoch: 1764600000123456789, Seq: 42}, "STIGG/1764600000123456789/42",
			"copies in flight stop parsing, so the ordering guard treats old parked copies as new events"},
		{Origin{Stream: topology.StreamZuora, Epoch: 0, Seq: 1}, "ZUORA/0/1",
			"origins of a stream created at epoch 0 (test setups, restored snapshots) change their park/requeue ids"},
		{Origin{Stream: topology.StreamStigg, Epoch: -1, Seq: 18446744073709551615}, "STIGG/-1/18446744073709551615",
			"extreme values stop round-tripping through the header"},
	}
	for _, tc := range cases {
		if got := tc.o.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q: %s", tc.o, got, tc.want, tc.why)
		}
		if back, err := ParseOrigin(tc.want); err != nil || back != tc.o {
			t.Errorf("ParseOrigin(%q) = %v, %v", tc.want, back, err)
		}
	}
}

func goldenOrigin() Origin {
	return Origin{Stream: topology.StreamStigg, Epoch: 1764600000123456789, Seq: 42}
}

// The parked copy's subject, headers and, above all, its Nats-Msg-Id: a redelivery after a lost ack must publish
// the very same id so the retry stream deduplicates it.
func TestGoldenParkCopy(t *testing.T) {
	msg := &fakeMsg{
		subject: "stigg.customer.updated.cust%2E1.3",
		header:  nats.Header{"Ce-Id": []string{goldenEventID}, "Zuorasync-Redrive": []string{"1"}},
		data:    []byte(`{"customerId":"cust.1"}`),
		meta:    jetstreamMeta(42),
	}
	d := &delivery{msg: msg, meta: &msg.meta, stream: topology.StreamStigg, attempt: 1, origin: goldenOrigin()}
	notBefore := time.Date(2025, 12, 1, 16, 4, 5, 123456789, time.FixedZone("CET", 3600))
	out := parkCopy(d, errors.New("customer cust.1 has no Zuora account yet"), 2, notBefore)

	// A change re-publishes every parked event as a second copy after a lost ack: the event applies twice.
	if got := out.Header.Get(jetstream.MsgIDHeader); got != "park:STIGG/1764600000123456789/42:2" {
		t.Errorf("park copy id %q", got)
	}
	// A change sends parked copies where the retry consumer (filter zuorasync.retry.>) does not read them.
	if out.Subject != "zuorasync.retry.stigg.customer.updated.cust%2E1" {
		t.Errorf("park subject %q", out.Subject)
	}
	want := map[string]string{
		// The retry consumer puts the copy back here; a change loses parked events or misroutes them.
		HeaderRequeueSubject: "stigg.customer.updated.cust%2E1",
		// The requeue id and the ordering guard read it; a change makes the guard take old copies for new events.
		HeaderOrigin: "STIGG/1764600000123456789/42",
		// Copies parked by the old version must stay due for the new one: the format is parsed by requeue.
		HeaderNotBefore: "2025-12-01T15:04:05.123456789Z",
		// MaxDeferrals counts on it; a change resets or inflates the count of copies in flight.
		HeaderDeferrals: "2",
		// Operators read why an event waits.
		HeaderDeferReason: "customer cust.1 has no Zuora account yet",
		// The redrive count is part of the idempotency base: dropping it replays a refusal stored before the redrive.
		HeaderRedrive: "1",
		"Ce-Id":       goldenEventID,
	}
	for k, v := range want {
		if got := out.Header.Get(k); got != v {
			t.Errorf("park copy header %s = %q, want %q", k, got, v)
		}
	}
	if string(out.Data) != `{"customerId":"cust.1"}` {
		t.Errorf("park copy data %q", out.Data)
	}
	// The original message's headers are not modified.
	if msg.header.Get(HeaderOrigin) != "" || msg.header.Get(jetstream.MsgIDHeader) != "" {
		t.Errorf("parkCopy modified the delivered message's headers: %v", msg.header)
	}

	// A key-less input subject (no partition token) is kept as it is.
	msg.subject = "stigg.customer.updated"
	if got := parkCopy(d, errors.New("x"), 1, notBefore); got.Subject != "zuorasync.retry.stigg.customer.updated" ||
		got.Header.Get(jetstream.MsgIDHeader) != "park:STIGG/1764600000123456789/42:1" {
		t.Errorf("key-less park copy: subject %q, id %q", got.Subject, got.Header.Get(jetstream.MsgIDHeader))
	}
	// The reason is bounded at 500 bytes (a NATS header line must stay small).
	long := parkCopy(d, errors.New(strings.Repeat("r", 600)), 1, notBefore).Header.Get(HeaderDeferReason)
	if long != strings.Repeat("r", 500) {
		t.Errorf("defer reason of %d bytes", len(long))
	}
}

// parkKey names an entity's queue in the zuorasync-parked bucket.
func TestGoldenParkKey(t *testing.T) {
	cases := []struct {
		typ, subject, want string
		why                string // what breaks in production if want changes
	}{
		{events.TypeStiggCustomerUpdated, "cust-1", "customer.cust-1",
			"events of an entity parked before the deploy are no longer queued behind: out-of-order applies, stuck queues"},
		{events.TypeStiggSubscriptionCreated, "sub.1/a b", "subscription.sub=2E1=2Fa=20b",
			"parked subscriptions with punctuation in their id lose their queue"},
		{events.TypeZuoraInvoicePaid, "INV-0001", "io=2Ezuora.invoice.INV-0001",
			"parked Zuora-side events lose their queue"},
	}
	for _, tc := range cases {
		ev, err := events.New(tc.typ, "urn:test", tc.subject, tc.subject, []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		if got := parkKey(&ev); got != tc.want {
			t.Errorf("parkKey(%s, %q) = %q, want %q: %s", tc.typ, tc.subject, got, tc.want, tc.why)
		}
	}
}

// The retry consumer's republish id: a redelivered requeue (lost ack) must publish the same id, so the input
// stream deduplicates it instead of applying the event twice.
func TestGoldenRequeueID(t *testing.T) {
	e := newRuntimeEnv(t)
	msg := &fakeMsg{
		subject: "stigg.customer.updated.cust-1.3",
		header:  nats.Header{"Ce-Id": []string{goldenEventID}},
		data:    []byte(`{}`),
		meta:    jetstreamMeta(42),
	}
	d := &delivery{msg: msg, meta: &msg.meta, stream: topology.StreamStigg, attempt: 1, origin: goldenOrigin()}
	parked := parkCopy(d, errors.New("waiting"), 3, time.Now().Add(-time.Minute))
	retryMsg := &fakeMsg{subject: parked.Subject, header: parked.Header, data: parked.Data,
		meta: jetstream.MsgMetadata{Sequence: jetstream.SequencePair{Stream: 7, Consumer: 7}, NumDelivered: 1, Stream: topology.StreamRetry}}
	e.r.requeue(e.ctx, topology.StreamRetry, retryMsg)
	if acked, _, termed := retryMsg.state(); !acked || termed != "" {
		t.Fatalf("requeue did not ack the parked copy (acked %v, termed %q)", acked, termed)
	}
	raw := lastMsg(t, e, topology.StreamStigg)
	// A change makes a requeue redelivered across the deploy publish the event a second time.
	if got := raw.Header.Get(jetstream.MsgIDHeader); got != "requeue:STIGG/1764600000123456789/42:3" {
		t.Errorf("requeue id %q", got)
	}
	if !strings.HasPrefix(raw.Subject, "stigg.customer.updated.cust-1.") {
		t.Errorf("requeued to %q", raw.Subject)
	}
	for _, h := range []string{HeaderNotBefore, HeaderRequeueSubject, HeaderDeferReason} {
		if v := raw.Header.Get(h); v != "" {
			t.Errorf("requeued copy still carries %s: %q", h, v)
		}
	}
	if raw.Header.Get(HeaderDeferrals) != "3" || raw.Header.Get(HeaderOrigin) != "STIGG/1764600000123456789/42" {
		t.Errorf("requeued copy lost its deferral count or origin: %v", raw.Header)
	}
}

// Outcome event ids derive from the source event, so a redelivery inside the dedupe window reports nothing twice.
func TestGoldenOutcomeID(t *testing.T) {
	e := newRuntimeEnv(t)
	src, err := events.New(events.TypeStiggCustomerUpdated, "urn:test", "cust.1", "cust.1", []byte(customer("cust.1", "A")))
	if err != nil {
		t.Fatal(err)
	}
	src.SetID(goldenEventID)
	res := &dispatch.Result{Outcomes: []dispatch.Outcome{{Entity: events.EntityCustomer, Result: events.ResultSynced,
		Data: events.Outcome{StiggID: "cust.1"}}}}
	if err := e.r.publishOutcomes(e.ctx, &delivery{ev: &src, key: "cust.1"}, res); err != nil {
		t.Fatal(err)
	}
	raw := lastMsg(t, e, topology.StreamOutcomes)
	ev, err := events.FromMsg(raw.Header, raw.Data)
	if err != nil {
		t.Fatal(err)
	}
	// A change reports every outcome of an event redelivered across the deploy twice.
	if ev.ID() != goldenEventID+":io.zuorasync.customer.synced" {
		t.Errorf("outcome id %q", ev.ID())
	}
	// Subscribers filter on this subject; a change makes them miss outcomes.
	if raw.Subject != "zuorasync.out.customer.synced.cust%2E1" {
		t.Errorf("outcome subject %q", raw.Subject)
	}
}

func lastMsg(t *testing.T, e *runtimeEnv, stream string) *jetstream.RawStreamMsg {
	t.Helper()
	s, err := e.js.Stream(e.ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs == 0 {
		t.Fatalf("stream %s is empty", stream)
	}
	raw, err := s.GetMsg(e.ctx, info.State.LastSeq)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// An event id containing '#' cannot spell another event's generation or redrive marker: distinct events never
// share Zuora idempotency keys. (The '#' is doubled; ids without one keep their deployed form above.)
func TestIdempotencyBaseIsInjective(t *testing.T) {
	cases := [][3]any{{"e#g1", 0, ""}, {"e", 1, ""}, {"e#redrive1", 0, ""}, {"e", 0, "1"}, {"e##g1", 0, ""}, {"e#", 1, ""}}
	seen := map[string]int{}
	for i, c := range cases {
		b := IdempotencyBase(c[0].(string), c[1].(int), c[2].(string))
		if j, dup := seen[b]; dup {
			t.Fatalf("cases %v and %v share the base %q", cases[j], cases[i], b)
		}
		seen[b] = i
	}
	if got := IdempotencyBase("e#g1", 0, ""); got != "e##g1" {
		t.Fatalf("IdempotencyBase(e#g1) = %q", got)
	}
}
