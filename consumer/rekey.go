package consumer

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
)

// rekey moves an event without a partition token onto its keyed subject, using the partitionkey attribute, so
// that it joins its key's partition and order from there on. The copy carries the origin of the unkeyed message:
// if a newer event of the entity was applied before the copy arrives (or a replay moves the event again), the
// ordering guard skips it instead of applying it after the newer one.
func (r *Runner) rekey(ctx context.Context, stream string, msg jetstream.Msg) {
	d, ok := r.newDelivery(stream, msg)
	if !ok {
		return
	}
	d.log = d.log.With("rekey", true)
	ev, err := events.FromMsg(msg.Headers(), msg.Data())
	if err != nil {
		r.settle(ctx, d, nil, dispatch.Permanent(fmt.Errorf("undecodable event: %w", err)))
		return
	}
	key, err := events.PartitionKey(ev)
	if err != nil {
		r.settle(ctx, d, nil, dispatch.Permanent(fmt.Errorf("cannot move %s onto a keyed subject: %w", msg.Subject(), err)))
		return
	}
	ps, err := events.ParseSubject(msg.Subject())
	entity, action := ps.Entity, ps.Action
	if err != nil && entity == "" {
		r.settle(ctx, d, nil, dispatch.Permanent(fmt.Errorf("cannot move %s onto a keyed subject: %w", msg.Subject(), err)))
		return
	}
	out := nats.NewMsg(events.Subject(ps.Prefix, entity, action, key))
	out.Header = copyHeaders(msg.Headers())
	out.Header.Set(HeaderOrigin, d.origin.String())
	// The original publish already used the event id as Nats-Msg-Id; an id of its own keeps the move from being
	// deduplicated away, and stays stable so a redelivered move is.
	out.Header.Set(jetstream.MsgIDHeader, "rekey:"+d.origin.String())
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

// stray dead-letters a message stored under a subject shape no consumer reads (possible only in a backlog from
// before the stream refused such subjects), so that it is reported instead of lying unread.
func (r *Runner) stray(ctx context.Context, stream string, msg jetstream.Msg) {
	d, ok := r.newDelivery(stream, msg)
	if !ok {
		return
	}
	if ev, err := events.FromMsg(msg.Headers(), msg.Data()); err == nil {
		d.ev = &ev
		d.key, _ = events.PartitionKey(ev)
	}
	r.deadLetter(ctx, d, fmt.Errorf("subject %q is not <prefix>.<entity>.<action>.<key> or <prefix>.<entity>.<action>; "+
		"republish the event on its keyed subject", msg.Subject()), DLQPermanent)
}
