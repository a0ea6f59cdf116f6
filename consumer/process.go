package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/tracing"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// delivery is one message being handled and settled, and what is known about it so far.
type delivery struct {
	msg     jetstream.Msg
	meta    *jetstream.MsgMetadata
	stream  string
	attempt int
	origin  Origin
	start   time.Time
	log     *slog.Logger

	ev  *event.Event // nil until decoded
	key string
	// queued: the event is the head of its entity's parked queue.
	queued bool
	lease  *lease
	// trace holds the Zuora request ids of this attempt, for the log line that settles it.
	trace *zuoraapi.Trace
	// span is this attempt's span (child of the event's traceparent); its context continues into the Zuora
	// calls and the outcome events.
	span    trace.Span
	spanCtx context.Context
}

// publishedSubject is the subject the event was published on: the stored subject without the partition token
// the stream appended.
func (d *delivery) publishedSubject() string {
	tok := strings.Split(d.msg.Subject(), ".")
	if len(tok) == 5 && isNumber(tok[4]) {
		return strings.Join(tok[:4], ".")
	}
	return d.msg.Subject()
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// newDelivery reads a message's metadata; a message without it (not from JetStream) is terminated.
func (r *Runner) newDelivery(stream string, msg jetstream.Msg) (*delivery, bool) {
	meta, err := msg.Metadata()
	if err != nil {
		r.log.Error("message without JetStream metadata, terminating", "subject", msg.Subject(), "err", err)
		_ = msg.Term()
		return nil, false
	}
	origin := originOf(msg.Headers(), stream, r.epoch(stream), meta.Sequence.Stream)
	return &delivery{msg: msg, meta: meta, stream: stream, attempt: int(meta.NumDelivered), origin: origin,
		start: time.Now(), trace: &zuoraapi.Trace{},
		log: r.log.With("stream", stream, "seq", meta.Sequence.Stream, "origin", origin.String(), "attempt", meta.NumDelivered)}, true
}

// process handles one event message end to end: decode → route → (guard → handle) → settle.
func (r *Runner) process(ctx context.Context, stream string, msg jetstream.Msg) {
	d, ok := r.newDelivery(stream, msg)
	if !ok {
		return
	}
	base := d.log
	for waits := 1; ; waits++ {
		d.log, d.trace, d.span, d.spanCtx = base, &zuoraapi.Trace{}, nil, ctx
		res, herr, settled := r.attempt(ctx, d)
		if settled {
			d.endSpan(nil)
			return
		}
		// A wait is not a failure of the event: it is tried again on this delivery, so its attempts stay as they
		// are however long Zuora is unavailable. The hold ends early on shutdown or a lost connection; settle
		// then hands it back to the server.
		if class, floor := r.classify(herr); class == dispatch.ClassWait && r.hold(ctx, d, r.waitDelay(waits, floor), herr) {
			d.endSpan(herr)
			continue
		}
		r.settle(ctx, d, res, herr)
		d.endSpan(herr)
		return
	}
}

// startSpan begins the attempt's span under the event's traceparent (a new trace without one) and puts its trace
// id on the log lines.
func (d *delivery) startSpan(ctx context.Context) context.Context {
	ts, _ := events.ExtensionString(*d.ev, events.ExtTracestate)
	parent := tracing.ContextWithParent(ctx, events.Traceparent(*d.ev), ts)
	sctx, span := tracing.Tracer().Start(parent, "handle "+d.ev.Type(), trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(tracing.Attr("cloudevents.event_id", d.ev.ID()), tracing.Attr("cloudevents.event_type", d.ev.Type()),
			tracing.Attr("messaging.destination.name", d.stream)))
	d.span, d.spanCtx = span, sctx
	if id := tracing.TraceID(sctx); id != "" {
		d.log = d.log.With("trace_id", id)
	}
	return sctx
}

func (d *delivery) endSpan(err error) {
	if d.span != nil {
		tracing.End(d.span, err)
		d.span = nil
	}
}

// attempt runs the event's handler chain once. settled reports that prepare settled the message itself.
func (r *Runner) attempt(ctx context.Context, d *delivery) (res *dispatch.Result, herr error, settled bool) {
	h, in, err := r.prepare(ctx, d)
	if err != nil {
		return nil, err, false
	}
	if h == nil {
		return nil, nil, true // prepare settled it (parked behind an earlier event)
	}
	hctx, cancel := context.WithTimeout(d.startSpan(ctx), r.cfg.HandlerTimeout)
	defer cancel()
	hctx, d.lease = newLease(hctx, r.cfg.Topology.AckWait)
	stopHeartbeat := d.lease.heartbeat(hctx, d.msg, r.connected)
	res, herr = h.Handle(hctx, in)
	stopHeartbeat()
	d.lease.release()
	return res, herr, false
}

func (r *Runner) connected() bool {
	nc := r.js.Conn()
	return nc == nil || nc.IsConnected()
}

// prepare decodes and routes the event and builds its handler chain. It returns a nil handler without error when
// it settled the message itself.
func (r *Runner) prepare(ctx context.Context, d *delivery) (dispatch.Handler, *dispatch.Input, error) {
	ev, err := events.FromMsg(d.msg.Headers(), d.msg.Data())
	if err != nil {
		return nil, nil, dispatch.Permanent(fmt.Errorf("undecodable event: %w", err))
	}
	d.ev = &ev
	key, err := r.orderingKey(d, &ev)
	if err != nil {
		return nil, nil, err
	}
	d.key = key
	d.log = d.log.With("event_id", ev.ID(), "type", ev.Type(), "key", key)

	route, ok := r.router.Lookup(ev.Type())
	if !ok {
		return nil, nil, dispatch.Permanent(fmt.Errorf("%w: no handler for %q", events.ErrUnknownType, ev.Type()))
	}
	payload, err := events.DecodeData(ev)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid %s data: %w", ev.Type(), err)
	}
	if p, ok := r.pending.take(ev.ID(), d.origin); ok {
		// Handled already by this process; only its outcomes were not published.
		return dispatch.HandlerFunc(func(context.Context, *dispatch.Input) (*dispatch.Result, error) { return p, nil }),
			&dispatch.Input{Event: ev, Payload: payload, Key: key, Attempt: d.attempt, Logger: d.log}, nil
	}
	// An earlier event of the same entity is parked: this one queues behind it, so the entity's events still
	// apply in order.
	queue, _, err := r.parked.queue(ctx, parkKey(&ev))
	if err != nil {
		return nil, nil, err
	}
	if len(queue) > 0 && queue[0] != ev.ID() {
		r.settle(ctx, d, nil, dispatch.Defer(fmt.Errorf("waiting behind parked event %s of the same %s", queue[0], events.Entity(ev.Type()))))
		return nil, nil, nil
	}
	d.queued = len(queue) > 0
	// Recover twice: inside, so a panicking handler still releases its claim like any other failure; outside,
	// for the middlewares themselves.
	chain := dispatch.Chain(route, dispatch.Recover(), r.cfg.Metrics.Middleware(), r.guardMiddleware(d),
		r.zuoraMiddleware(d), dispatch.Recover())
	return chain, &dispatch.Input{Event: ev, Payload: payload, Key: key, Attempt: d.attempt, Logger: d.log}, nil
}

// orderingKey is the event's ordering key; it must agree with the partition the message was read from, or the
// message did not come through the stream's transform (a publisher wrote a partition token of its own) and its
// key's events could be handled in two partitions at once.
func (r *Runner) orderingKey(d *delivery, ev *event.Event) (string, error) {
	ps, perr := events.ParseSubject(d.msg.Subject())
	key, err := events.PartitionKey(*ev)
	if err != nil {
		// The subject's key token put the event in its partition; it stays the key from here on.
		if perr != nil {
			return "", dispatch.Permanent(fmt.Errorf("no ordering key: %w", err))
		}
		key = ps.Key
		_ = events.SetPartitionKey(ev, key)
	}
	if perr == nil && ps.Partition >= 0 {
		token := strings.Split(d.msg.Subject(), ".")[3]
		if want := r.cfg.Topology.Partition(token); want != ps.Partition {
			return "", dispatch.Permanent(fmt.Errorf("subject %s carries partition %d, but its key belongs to partition %d: "+
				"publish on %s.<entity>.<action>.<key>, the stream appends the partition", d.msg.Subject(), ps.Partition, want, ps.Prefix))
		}
	}
	return key, nil
}

// maxWaitStep bounds one wait of a held event unless Zuora asked for longer (Retry-After): an open breaker lets a
// probe through after its open timeout, and a busy key is free again within one ack wait.
const maxWaitStep = 10 * time.Second

func (r *Runner) waitDelay(waits int, floor time.Duration) time.Duration {
	return max(min(r.cfg.Backoff.Delay(waits, 0), maxWaitStep), floor)
}

// classify is dispatch.Classify plus the runtime's own wait: another event of the key being handled.
func (r *Runner) classify(err error) (dispatch.Class, time.Duration) {
	if errors.Is(err, errKeyBusy) {
		return dispatch.ClassWait, 0
	}
	return dispatch.Classify(err)
}

// hold keeps the delivery (renewing its ack deadline) for delay, and reports whether it is still this process's
// to try again: false when ctx ends, the connection drops or the server no longer takes the renewal.
func (r *Runner) hold(ctx context.Context, d *delivery, delay time.Duration, why error) bool {
	d.log.Info("waiting, without using an attempt", "reason", why, "retry_in", delay.Round(time.Millisecond))
	deadline := time.NewTimer(delay)
	defer deadline.Stop()
	renew := time.NewTicker(max(r.cfg.Topology.AckWait/3, 10*time.Millisecond))
	defer renew.Stop()
	for {
		if !r.connected() || d.msg.InProgress() != nil {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return true
		case <-renew.C:
		}
	}
}
