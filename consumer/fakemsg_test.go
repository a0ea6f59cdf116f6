package consumer

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/topology"
)

// fakeMsg is a delivered message under the test's control: it records how it was settled, and can lose its acks
// (the server never hears of them) to stand in for a crash or a dropped connection.
type fakeMsg struct {
	subject string
	header  nats.Header
	data    []byte
	meta    jetstream.MsgMetadata

	mu            sync.Mutex
	acked         bool
	naks          []time.Duration
	termed        string
	progress      int
	inProgressErr error
}

func (m *fakeMsg) Metadata() (*jetstream.MsgMetadata, error) { c := m.meta; return &c, nil }
func (m *fakeMsg) Data() []byte                              { return m.data }
func (m *fakeMsg) Headers() nats.Header                      { return m.header }
func (m *fakeMsg) Subject() string                           { return m.subject }
func (m *fakeMsg) Reply() string                             { return "" }
func (m *fakeMsg) Ack() error                                { return m.DoubleAck(context.Background()) }
func (m *fakeMsg) DoubleAck(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.acked = true
	return nil
}
func (m *fakeMsg) Nak() error { return m.NakWithDelay(0) }
func (m *fakeMsg) NakWithDelay(d time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.naks = append(m.naks, d)
	return nil
}
func (m *fakeMsg) InProgress() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.progress++
	return m.inProgressErr
}
func (m *fakeMsg) Term() error { return m.TermWithReason("") }
func (m *fakeMsg) TermWithReason(reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.termed = "term:" + reason
	return nil
}

func (m *fakeMsg) state() (acked bool, naks int, termed string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.acked, len(m.naks), m.termed
}

// runtimeEnv is a real JetStream server with the topology provisioned and a runner bound to it, whose process
// the tests call directly with fake deliveries.
type runtimeEnv struct {
	t      *testing.T
	js     jetstream.JetStream
	nc     *nats.Conn
	r      *Runner
	router *dispatch.Router
	ctx    context.Context
	seq    uint64
}

func newRuntimeEnv(t *testing.T) *runtimeEnv {
	t.Helper()
	srv := natstest.Start(t)
	nc, js := srv.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	router := dispatch.NewRouter()
	cfg := DefaultConfig()
	cfg.Topology.Partitions = 4
	cfg.Backoff = Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}
	cfg.Logger = testLogger(t)
	r := New(js, router, cfg)
	if err := r.provision(ctx); err != nil {
		t.Fatal(err)
	}
	return &runtimeEnv{t: t, js: js, nc: nc, r: r, router: router, ctx: ctx, seq: 100}
}

// delivery builds a fake delivery of a customer event for key, as the partition consumer would hand it over.
func (e *runtimeEnv) delivery(typ, id, key string, data string) *fakeMsg {
	e.t.Helper()
	ev, err := events.New(typ, "urn:test", key, key, []byte(data))
	if err != nil {
		e.t.Fatal(err)
	}
	ev.SetID(id)
	subject, err := events.SubjectFor(ev)
	if err != nil {
		e.t.Fatal(err)
	}
	msg, err := events.ToMsg(subject, ev)
	if err != nil {
		e.t.Fatal(err)
	}
	e.seq++
	token := events.KeyToken(key)
	stored := msg.Subject + "." + itoa(e.r.cfg.Topology.Partition(token))
	return &fakeMsg{subject: stored, header: msg.Header, data: msg.Data,
		meta: jetstream.MsgMetadata{Sequence: jetstream.SequencePair{Stream: e.seq, Consumer: e.seq}, NumDelivered: 1,
			Stream: topology.StreamStigg}}
}

func itoa(n int) string { return strconv.Itoa(n) }

// redeliver is the same stored message delivered again.
func redeliver(m *fakeMsg) *fakeMsg {
	c := &fakeMsg{subject: m.subject, header: m.header, data: m.data, meta: m.meta}
	c.meta.NumDelivered++
	c.meta.Sequence.Consumer++
	return c
}

func (e *runtimeEnv) process(m *fakeMsg) { e.r.process(e.ctx, topology.StreamStigg, m) }

// count returns the number of messages stored in a stream under filter.
func (e *runtimeEnv) count(stream, filter string) int {
	e.t.Helper()
	s, err := e.js.Stream(e.ctx, stream)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(e.ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, c := range info.State.Subjects {
		n += int(c)
	}
	return n
}

// outcomes lists the outcome events published so far with their action.
func (e *runtimeEnv) outcomeActions() map[string]string {
	e.t.Helper()
	out := map[string]string{}
	s, err := e.js.Stream(e.ctx, topology.StreamOutcomes)
	if err != nil {
		e.t.Fatal(err)
	}
	info, _ := s.Info(e.ctx)
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		raw, err := s.GetMsg(e.ctx, seq)
		if err != nil {
			continue
		}
		ev, err := events.FromMsg(raw.Header, raw.Data)
		if err != nil {
			e.t.Fatal(err)
		}
		var o events.Outcome
		_ = ev.DataAs(&o)
		out[o.SourceEventID] = ev.Type() + "/" + o.Action
	}
	return out
}

func jetstreamMeta(seq uint64) jetstream.MsgMetadata {
	return jetstream.MsgMetadata{Sequence: jetstream.SequencePair{Stream: seq, Consumer: seq}, NumDelivered: 1,
		Stream: topology.StreamStigg}
}

func (r *Runner) originOfTest(m *fakeMsg) string {
	return originOf(m.header, topology.StreamStigg, r.epoch(topology.StreamStigg), m.meta.Sequence.Stream).String()
}
