package consumer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/tracing"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// Headers the runtime adds to a dead-lettered message; the original CloudEvent headers and body are kept as they
// were, so a redrive publishes exactly what came in.
const (
	HeaderDLQReason   = "Zuorasync-Dlq-Reason"
	HeaderDLQClass    = "Zuorasync-Dlq-Class"
	HeaderDLQStream   = "Zuorasync-Dlq-Stream"
	HeaderDLQSeq      = "Zuorasync-Dlq-Stream-Seq"
	HeaderDLQSubject  = "Zuorasync-Dlq-Subject"
	HeaderDLQAttempts = "Zuorasync-Dlq-Attempts"
	HeaderDLQTime     = "Zuorasync-Dlq-Time"
	// HeaderDLQZuoraRequestIDs lists (comma-separated) the Zuora-Request-Id of each Zuora call of the attempt
	// that dead-lettered the event, so Zuora support can find them; earlier attempts' are in the log.
	HeaderDLQZuoraRequestIDs = "Zuorasync-Zuora-Request-Ids"
)

// Dead-letter classes.
const (
	DLQPermanent = "permanent"
	DLQExhausted = "exhausted"
)

// settle is the one place that decides and carries out a message's fate from its handler's result:
//
//	success   → publish outcomes, release the entity's parked queue, ack
//	wait      → (held and tried again by process while it can) NakWithDelay, attempts not checked
//	transient → NakWithDelay(backoff ≥ Retry-After); dead-letter (exhausted) after MaxAttempts
//	deferred  → park (copy to the retry stream, ack); dead-letter (exhausted) after MaxDeferrals
//	permanent → dead-letter: DLQ write, failed outcome, release the parked queue, Term
//
// Each step that writes to JetStream comes before the ack or Term, so a crash in between redelivers the event
// instead of losing it; when a step fails, the event is retried.
func (r *Runner) settle(ctx context.Context, d *delivery, res *dispatch.Result, herr error) {
	class, floor := r.classify(herr)
	switch class {
	case dispatch.ClassSuccess:
		r.succeed(ctx, d, res)
	case dispatch.ClassWait:
		// process held the event while it could; it now goes back to the server (stopping, or disconnected).
		// Not a failure: no attempt check.
		d.log.Info("handing a waiting event back", "reason", herr)
		_ = d.msg.NakWithDelay(r.waitDelay(1, floor))
	case dispatch.ClassTransient:
		if d.attempt >= r.cfg.MaxAttempts {
			r.deadLetter(ctx, d, fmt.Errorf("gave up after %d attempts: %w", d.attempt, herr), DLQExhausted)
			return
		}
		r.retry(d, herr, floor)
	case dispatch.ClassDeferred:
		r.park(ctx, d, herr)
	case dispatch.ClassPermanent:
		r.deadLetter(ctx, d, herr, DLQPermanent)
	}
}

func (r *Runner) succeed(ctx context.Context, d *delivery, res *dispatch.Result) {
	if err := r.publishOutcomes(ctx, d, res); err != nil {
		// The handler's work is done; keep its result so the redelivery publishes it instead of reporting a
		// second, "unchanged" outcome.
		r.pending.put(d.ev.ID(), d.origin, res)
		r.retry(d, fmt.Errorf("publish outcome: %w", err), 0)
		return
	}
	// Released before the ack: a crash in between redelivers an event that is no longer queued, which is
	// harmless; the other order could leave the entity's queue blocked by an event already handled.
	if err := r.releaseParked(ctx, d); err != nil {
		r.retry(d, fmt.Errorf("handled, but its parked queue was not released: %w", err), 0)
		return
	}
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := d.msg.DoubleAck(actx); err != nil {
		// The event will be redelivered and handled again, harmlessly.
		d.log.Warn("ack not confirmed", "err", err)
	}
	d.log.Info("handled", "duration", time.Since(d.start).Round(time.Millisecond), "zuora_request_ids", d.trace.RequestIDs())
}

func (r *Runner) retry(d *delivery, cause error, floor time.Duration) {
	delay := r.cfg.Backoff.Delay(d.attempt, floor)
	attrs := []any{"err", cause, "retry_in", delay.Round(time.Millisecond)}
	if zerr, ok := zuoraapi.AsError(cause); ok && zerr.RequestID != "" {
		attrs = append(attrs, "zuora_request_id", zerr.RequestID)
	}
	if ids := d.trace.RequestIDs(); len(ids) > 0 {
		attrs = append(attrs, "zuora_request_ids", ids)
	}
	d.log.Warn("transient failure, will retry", attrs...)
	if err := d.msg.NakWithDelay(delay); err != nil {
		d.log.Warn("nak failed; the server redelivers after AckWait", "err", err)
	}
}

// park moves the event to the retry stream and acks it. When it has been parked too often it is dead-lettered
// and leaves its entity's queue, so the events behind it can proceed.
func (r *Runner) park(ctx context.Context, d *delivery, reason error) {
	n := deferralsOf(d.msg.Headers())
	if n >= r.cfg.MaxDeferrals {
		d.queued = true // it leaves its entity's queue with the dead letter
		r.deadLetter(ctx, d, fmt.Errorf("still waiting after %d deferrals: %w", n, reason), DLQExhausted)
		return
	}
	if err := r.parked.add(ctx, parkKey(d.ev), d.ev.ID()); err != nil {
		r.retry(d, err, 0)
		return
	}
	delay := r.cfg.DeferBackoff.Delay(n+1, 0)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := r.js.PublishMsg(pctx, parkCopy(d, reason, n+1, time.Now().Add(delay))); err != nil {
		r.retry(d, fmt.Errorf("park: %w", err), 0)
		return
	}
	if err := d.msg.DoubleAck(pctx); err != nil {
		d.log.Warn("ack of a parked event not confirmed; its redelivery parks the same copy again", "err", err)
	}
	d.log.Info("parked", "reason", reason, "deferrals", n+1, "retry_in", delay.Round(time.Millisecond))
}

// releaseParked takes a handled (or dead-lettered) event out of its entity's queue. Callers settle the message
// only after it succeeded: acking with the event still queued would block its entity's later events.
func (r *Runner) releaseParked(ctx context.Context, d *delivery) error {
	if d.ev == nil || deferralsOf(d.msg.Headers()) == 0 && !d.queued {
		return nil // never parked: nothing to release, and no KV call on the common path
	}
	return r.parked.remove(ctx, parkKey(d.ev), d.ev.ID())
}

// maxSubject bounds the subjects the runtime derives from a stored subject, well inside the server's control
// line (a longer subject closes the connection).
const maxSubject = 1024

// dlqSubject mirrors the published subject under zuorasync.dlq, so operators can filter dead letters by entity,
// action or key; an oversized subject is replaced by a hash (the header keeps it whole).
func dlqSubject(published string) string {
	if len(published) > maxSubject-len(topology.PrefixDLQ)-20 {
		sum := sha256.Sum256([]byte(published))
		return topology.PrefixDLQ + ".oversized." + hex.EncodeToString(sum[:20])
	}
	return topology.PrefixDLQ + "." + published
}

// deadLetter writes the event and the reason to the DLQ, publishes a failed outcome, then terminates the message.
// If the DLQ write fails the message is retried instead: nothing leaves the input stream without a DLQ record.
func (r *Runner) deadLetter(ctx context.Context, d *delivery, reason error, class string) {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	published := d.publishedSubject()
	out := nats.NewMsg(dlqSubject(published))
	out.Header = copyHeaders(d.msg.Headers())
	out.Header.Set(HeaderDLQReason, truncate(reason.Error(), 4000))
	out.Header.Set(HeaderDLQClass, class)
	out.Header.Set(HeaderDLQStream, d.stream)
	out.Header.Set(HeaderDLQSeq, strconv.FormatUint(d.meta.Sequence.Stream, 10))
	out.Header.Set(HeaderDLQSubject, published)
	out.Header.Set(HeaderDLQAttempts, strconv.Itoa(d.attempt))
	out.Header.Set(HeaderDLQTime, time.Now().UTC().Format(time.RFC3339Nano))
	out.Header.Set(HeaderOrigin, d.origin.String())
	if ids := d.trace.RequestIDs(); len(ids) > 0 {
		out.Header.Set(HeaderDLQZuoraRequestIDs, truncate(strings.Join(ids, ","), 2000))
	}
	// Unique per dead-lettering: delivery and consumer sequences repeat after a consumer reset, and a repeated
	// id would be deduplicated into a lost dead letter. A crash between this write and Term leaves at worst a
	// second entry for the same origin, which the ordering guard makes harmless on redrive.
	out.Header.Set(jetstream.MsgIDHeader, "dlq:"+d.origin.String()+":"+uuid.NewString())
	out.Data = d.msg.Data()
	if sensitive(reason) {
		// The body must not be stored anywhere (raw card data): the entry keeps the headers and the reason.
		out.Data = []byte(`{"withheld":"the event body was not stored: it carried data zuora-sync must not keep"}`)
		out.Header.Del("Content-Type")
		out.Header.Set("content-type", "application/json")
	}
	if _, err := r.js.PublishMsg(pctx, out); err != nil {
		r.retry(d, fmt.Errorf("dead-letter write failed (event kept): %w", err), 0)
		return
	}
	r.cfg.Metrics.deadLetter(class)
	d.log.Error("dead-lettered", "reason", reason, "class", class, "dlq_subject", out.Subject,
		"zuora_request_ids", d.trace.RequestIDs())

	if d.ev != nil {
		failed := dispatch.Outcome{Entity: events.Entity(d.ev.Type()), Result: events.ResultFailed, Data: events.Outcome{
			StiggID: d.ev.Subject(), Reason: reason.Error(), Code: class,
		}}
		if err := r.publishOutcomes(pctx, d, &dispatch.Result{Outcomes: []dispatch.Outcome{failed}}); err != nil {
			d.log.Warn("failed outcome not published; the DLQ entry stands", "err", err)
		}
		if err := r.releaseParked(pctx, d); err != nil {
			r.retry(d, fmt.Errorf("dead-lettered, but its parked queue was not released: %w", err), 0)
			return
		}
	}
	if err := d.msg.TermWithReason(truncate(class+": "+reason.Error(), 200)); err != nil {
		d.log.Warn("term failed; the redelivery writes a second DLQ entry", "err", err)
	}
}

// sensitive tells whether err says the event's body must not be stored (events.CardDataError).
func sensitive(err error) bool {
	var s interface{ Sensitive() bool }
	return errors.As(err, &s) && s.Sensitive()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// publishOutcomes writes a handler's outcome events. Their ids derive from the source event so that a redelivery
// inside the dedupe window does not report the same outcome twice.
func (r *Runner) publishOutcomes(ctx context.Context, d *delivery, res *dispatch.Result) error {
	if res == nil {
		return nil
	}
	src, key := d.ev, d.key
	for _, o := range res.Outcomes {
		typ := events.OutcomeType(o.Entity, o.Result)
		ev, err := events.NewOutcome(r.cfg.Source, *src, o.Entity, o.Result, o.Data)
		if err != nil {
			return fmt.Errorf("build outcome %s: %w", typ, err)
		}
		// The outcome continues the trace as a child of this attempt's span (NewOutcome copied the source's).
		if d.spanCtx != nil {
			if tp, ts := tracing.Parent(d.spanCtx); tp != "" && events.SetTraceparent(&ev, tp) == nil && ts != "" {
				ev.SetExtension(events.ExtTracestate, ts)
			}
		}
		ev.SetID(fmt.Sprintf("%s:%s", src.ID(), typ))
		msg, err := events.ToMsg(events.OutcomeSubject(o.Entity, o.Result, key), ev)
		if err != nil {
			return fmt.Errorf("encode outcome %s: %w", typ, err)
		}
		if _, err := r.js.PublishMsg(ctx, msg); err != nil {
			return fmt.Errorf("publish outcome %s: %w", typ, err)
		}
	}
	return nil
}

// pendingOutcomes keeps, for a while, the results of events whose handler succeeded but whose outcomes could not
// be published, so their redelivery to this process reports what was done rather than "unchanged".
type pendingOutcomes struct {
	mu    sync.Mutex
	limit int
	m     map[string]*dispatch.Result
	order []string
}

func newPendingOutcomes(limit int) *pendingOutcomes {
	return &pendingOutcomes{limit: limit, m: map[string]*dispatch.Result{}}
}

func (p *pendingOutcomes) put(eventID string, o Origin, res *dispatch.Result) {
	k := eventID + "@" + o.String()
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.m[k]; !ok {
		p.order = append(p.order, k)
	}
	p.m[k] = res
	for len(p.order) > p.limit {
		delete(p.m, p.order[0])
		p.order = p.order[1:]
	}
}

func (p *pendingOutcomes) take(eventID string, o Origin) (*dispatch.Result, bool) {
	k := eventID + "@" + o.String()
	p.mu.Lock()
	defer p.mu.Unlock()
	res, ok := p.m[k]
	if ok {
		delete(p.m, k)
	}
	return res, ok
}

// Backoff computes retry delays: exponential growth with jitter, never below what Zuora asked for.
type Backoff struct {
	Base time.Duration
	Max  time.Duration
}

// DefaultBackoff starts around a second and caps at five minutes.
func DefaultBackoff() Backoff { return Backoff{Base: time.Second, Max: 5 * time.Minute} }

// Delay for the given attempt (1-based), with floor as the minimum (e.g. Retry-After).
func (b Backoff) Delay(attempt int, floor time.Duration) time.Duration {
	ceiling := b.Base
	for i := 1; i < attempt && ceiling < b.Max; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, b.Max)
	// Jitter over the upper half of the window spreads retries of partitions that failed together (a Zuora
	// outage) while still letting the delay grow with every attempt.
	d := time.Duration(rand.Int64N(int64(ceiling)/2+1)) + ceiling/2
	return max(d, floor)
}
