package consumer

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/events"
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
)

// publishSubject is the subject an event was published on: the stored subject without the partition token the
// stream appended.
func publishSubject(stored string) string {
	tok := strings.Split(stored, ".")
	if len(tok) == 5 {
		if _, err := strconv.Atoi(tok[4]); err == nil {
			return strings.Join(tok[:4], ".")
		}
	}
	return stored
}

// dlqSubject mirrors the published subject under zuorasync.dlq, so operators can filter dead letters by entity,
// action or key.
func dlqSubject(published string) string {
	tok := strings.Split(published, ".")
	if len(tok) < 3 {
		return "zuorasync.dlq.invalid." + strings.Join(tok, "_")
	}
	return "zuorasync.dlq." + published
}

// deadLetter writes the event and the reason to the DLQ, publishes a failed outcome, then terminates the message.
// If the DLQ write fails the message is retried instead: nothing leaves the input stream without a DLQ record.
func (r *Runner) deadLetter(ctx context.Context, d delivery, ev *event.Event, key string, reason error, class string) {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	published := publishSubject(d.msg.Subject())
	out := nats.NewMsg(dlqSubject(published))
	for k, v := range d.msg.Headers() {
		out.Header[k] = append([]string(nil), v...)
	}
	out.Header.Set(HeaderDLQReason, reason.Error())
	out.Header.Set(HeaderDLQClass, class)
	out.Header.Set(HeaderDLQStream, d.stream)
	out.Header.Set(HeaderDLQSeq, strconv.FormatUint(d.meta.Sequence.Stream, 10))
	out.Header.Set(HeaderDLQSubject, published)
	out.Header.Set(HeaderDLQAttempts, strconv.Itoa(d.attempt))
	out.Header.Set(HeaderDLQTime, time.Now().UTC().Format(time.RFC3339Nano))
	// Unique per delivery (consumer sequence): a replay inside the dedupe window must not be deduplicated into
	// losing its dead letter; a crash between this write and Term at worst leaves a second, identical entry.
	out.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("dlq:%s:%d:%d", d.stream, d.meta.Sequence.Stream, d.meta.Sequence.Consumer))
	out.Data = d.msg.Data()
	if _, err := r.js.PublishMsg(pctx, out); err != nil {
		r.retry(d, fmt.Errorf("dead-letter write failed (event kept): %w", err), 0)
		return
	}
	r.cfg.Metrics.deadLetter(class)
	d.log.Error("dead-lettered", "reason", reason, "class", class, "dlq_subject", out.Subject,
		"zuora_request_ids", d.trace.RequestIDs())

	if ev != nil {
		failed := Outcome{Entity: events.Entity(ev.Type()), Result: events.ResultFailed, Data: events.Outcome{
			StiggID: ev.Subject(),
			Reason:  reason.Error(),
			Code:    class,
		}}
		if err := r.publishOutcomes(pctx, ev, key, &Result{Outcomes: []Outcome{failed}}); err != nil {
			d.log.Warn("failed outcome not published; the DLQ entry stands", "err", err)
		}
	}
	if ev != nil {
		if err := r.releaseParked(pctx, d, ev); err != nil {
			r.retry(d, fmt.Errorf("dead-lettered, but its parked queue was not released: %w", err), 0)
			return
		}
	}
	if err := d.msg.TermWithReason(truncate(class+": "+reason.Error(), 200)); err != nil {
		d.log.Warn("term failed; a redelivery will find the DLQ write deduplicated", "err", err)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// publishOutcomes writes a handler's outcome events. Their ids derive from the source event so that a redelivery
// inside the dedupe window does not report the same outcome twice.
func (r *Runner) publishOutcomes(ctx context.Context, src *event.Event, key string, res *Result) error {
	if res == nil {
		return nil
	}
	for _, o := range res.Outcomes {
		typ := events.OutcomeType(o.Entity, o.Result)
		ev, err := events.NewOutcome(r.cfg.Source, *src, o.Entity, o.Result, o.Data)
		if err != nil {
			return fmt.Errorf("build outcome %s: %w", typ, err)
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

// rekey moves an event published without a key token (prefix.entity.action) onto its keyed subject, using the
// partitionkey attribute, so that it joins its key's partition and order from there on.
func (r *Runner) rekey(ctx context.Context, stream string, msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		_ = msg.Term()
		return
	}
	d := delivery{msg: msg, meta: meta, stream: stream, attempt: int(meta.NumDelivered),
		log: r.log.With("stream", stream, "seq", meta.Sequence.Stream, "rekey", true)}
	ev, err := events.FromMsg(msg.Headers(), msg.Data())
	if err != nil {
		r.deadLetter(ctx, d, nil, "", fmt.Errorf("undecodable event: %w", err), "permanent")
		return
	}
	key, err := events.PartitionKey(ev)
	if err != nil {
		r.deadLetter(ctx, d, nil, "", fmt.Errorf("cannot move %s onto a keyed subject: %w", msg.Subject(), err), "permanent")
		return
	}
	out := nats.NewMsg(msg.Subject() + "." + events.EncodeKey(key))
	for k, v := range msg.Headers() {
		out.Header[k] = append([]string(nil), v...)
	}
	// The original publish already used the event id as Nats-Msg-Id; a distinct id keeps the move from being
	// deduplicated away, and stays stable so a redelivered move is.
	out.Header.Set(jetstream.MsgIDHeader, "rekey:"+ev.ID())
	out.Data = msg.Data()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := r.js.PublishMsg(pctx, out); err != nil {
		r.retry(d, fmt.Errorf("rekey publish: %w", err), 0)
		return
	}
	if err := msg.DoubleAck(pctx); err != nil {
		d.log.Warn("ack not confirmed", "err", err)
	}
}
