package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/events"
)

// Deferral: an event whose dependency is missing (a subscription whose customer has no Zuora account yet) must
// not wait at the head of its partition — the dependency may be queued right behind it in the same partition,
// and waiting there would deadlock until the event is dead-lettered. Instead it is parked:
//
//   - the event is copied to ZUORASYNC_RETRY with a not-before time and acked, so its partition moves on;
//   - its entity (type entity + CloudEvent subject) is marked parked in the zuorasync-parked bucket, and every
//     later event of that entity is parked behind it, so events of one entity still apply in stream order;
//   - the retry consumer puts each copy back on its input subject when due; the head of an entity's queue is
//     handled, the others wait their turn again;
//   - after MaxDeferrals the event is dead-lettered (class exhausted) and leaves the queue.
const (
	StreamRetry   = "ZUORASYNC_RETRY"
	BucketParked  = "zuorasync-parked"
	retryConsumer = "zuorasync-retry"

	HeaderDeferrals   = "Zuorasync-Deferrals"
	HeaderNotBefore   = "Zuorasync-Not-Before"
	HeaderDeferReason = "Zuorasync-Defer-Reason"
	HeaderOrigin      = "Zuorasync-Origin-Subject"
)

// DeferError marks a failure that resolves when another event has been handled (a missing dependency).
type DeferError struct{ Err error }

func (e *DeferError) Error() string { return e.Err.Error() }
func (e *DeferError) Unwrap() error { return e.Err }

// Defer wraps err so the runtime parks the event instead of blocking its partition.
func Defer(err error) error {
	if err == nil {
		return nil
	}
	return &DeferError{Err: err}
}

// parking is the queue of parked events per entity.
type parking struct {
	kv jetstream.KeyValue
}

func parkKey(ev *event.Event) string {
	return events.Entity(ev.Type()) + "." + kvToken(ev.Subject())
}

// kvToken escapes an id into one KV key token (letters, digits, '-', '_' kept; other bytes as =XX).
func kvToken(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "=%02X", c)
	}
	if b.Len() == 0 {
		return "="
	}
	return b.String()
}

// queue returns the ids of the entity's parked events, oldest first, and the revision to update against.
func (p *parking) queue(ctx context.Context, key string) ([]string, uint64, error) {
	e, err := p.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("parking: read %s: %w", key, err)
	}
	var ids []string
	if len(e.Value()) > 0 {
		if err := json.Unmarshal(e.Value(), &ids); err != nil {
			return nil, 0, fmt.Errorf("parking: corrupt queue %s: %w", key, err)
		}
	}
	return ids, e.Revision(), nil
}

// update rewrites the queue with a compare-and-set on its revision; events of one entity share a partition, so a
// conflict means an operator edited the bucket, and the caller retries the event.
func (p *parking) update(ctx context.Context, key string, rev uint64, ids []string) error {
	if len(ids) == 0 {
		if rev == 0 {
			return nil
		}
		if err := p.kv.Delete(ctx, key, jetstream.LastRevision(rev)); err != nil {
			return fmt.Errorf("parking: clear %s: %w", key, err)
		}
		return nil
	}
	b, _ := json.Marshal(ids)
	var err error
	if rev == 0 {
		_, err = p.kv.Create(ctx, key, b)
	} else {
		_, err = p.kv.Update(ctx, key, b, rev)
	}
	if err != nil {
		return fmt.Errorf("parking: write %s: %w", key, err)
	}
	return nil
}

func (p *parking) add(ctx context.Context, key, id string) error {
	ids, rev, err := p.queue(ctx, key)
	if err != nil || slices.Contains(ids, id) {
		return err
	}
	return p.update(ctx, key, rev, append(ids, id))
}

func (p *parking) remove(ctx context.Context, key, id string) error {
	ids, rev, err := p.queue(ctx, key)
	if err != nil || !slices.Contains(ids, id) {
		return err
	}
	return p.update(ctx, key, rev, slices.DeleteFunc(ids, func(s string) bool { return s == id }))
}

// deferralsOf counts how often this copy of the event was parked before.
func deferralsOf(h nats.Header) int {
	n, _ := strconv.Atoi(h.Get(HeaderDeferrals))
	return n
}

// park moves the event to the retry stream and acks it. When it has been parked too often it is dead-lettered
// and leaves its entity's queue, so the events behind it can proceed.
func (r *Runner) park(ctx context.Context, d delivery, ev *event.Event, key string, reason error) {
	n := deferralsOf(d.msg.Headers())
	pk := parkKey(ev)
	if n >= r.cfg.MaxDeferrals {
		d.queued = true // it leaves its entity's queue with the dead letter
		r.deadLetter(ctx, d, ev, key, fmt.Errorf("still waiting after %d deferrals: %w", n, reason), "exhausted")
		return
	}
	if err := r.parked.add(ctx, pk, ev.ID()); err != nil {
		r.retry(d, err, 0)
		return
	}
	delay := r.cfg.DeferBackoff.Delay(n+1, 0)
	origin := publishSubject(d.msg.Subject())
	out := nats.NewMsg("zuorasync.retry." + origin)
	for k, v := range d.msg.Headers() {
		out.Header[k] = append([]string(nil), v...)
	}
	out.Header.Set(HeaderDeferrals, strconv.Itoa(n+1))
	out.Header.Set(HeaderNotBefore, time.Now().Add(delay).UTC().Format(time.RFC3339Nano))
	out.Header.Set(HeaderDeferReason, truncate(reason.Error(), 500))
	out.Header.Set(HeaderOrigin, origin)
	// The consumer sequence is unique per delivery, also after a replay (whose stream sequences repeat inside
	// the dedupe window); a crash before the ack at worst parks a second copy, handled idempotently.
	out.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("park:%s:%d:%d", d.stream, d.meta.Sequence.Stream, d.meta.Sequence.Consumer))
	out.Data = d.msg.Data()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := r.js.PublishMsg(pctx, out); err != nil {
		r.retry(d, fmt.Errorf("park: %w", err), 0)
		return
	}
	if err := d.msg.DoubleAck(pctx); err != nil {
		d.log.Warn("ack of a parked event not confirmed; it may be handled twice, harmlessly", "err", err)
	}
	d.log.Info("parked", "reason", reason, "deferrals", n+1, "retry_in", delay.Round(time.Millisecond))
}

// releaseParked takes a handled (or dead-lettered) event out of its entity's queue. Callers settle the message
// only after it succeeded: acking with the event still queued would block its entity's later events.
func (r *Runner) releaseParked(ctx context.Context, d delivery, ev *event.Event) error {
	if deferralsOf(d.msg.Headers()) == 0 && !d.queued {
		return nil // never parked: nothing to release, and no KV call on the common path
	}
	return r.parked.remove(ctx, parkKey(ev), ev.ID())
}

// requeue is the retry consumer's work: put a parked event back on its input subject once it is due.
func (r *Runner) requeue(ctx context.Context, _ string, msg jetstream.Msg) {
	h := msg.Headers()
	meta, err := msg.Metadata()
	if err != nil {
		_ = msg.Term()
		return
	}
	if nb, err := time.Parse(time.RFC3339Nano, h.Get(HeaderNotBefore)); err == nil {
		if wait := time.Until(nb); wait > 0 {
			_ = msg.NakWithDelay(wait)
			return
		}
	}
	origin := h.Get(HeaderOrigin)
	if origin == "" {
		r.log.Error("parked message without its origin subject; terminating it", "subject", msg.Subject())
		_ = msg.Term()
		return
	}
	out := nats.NewMsg(origin)
	for k, v := range h {
		if k == HeaderNotBefore || k == HeaderOrigin || k == HeaderDeferReason {
			continue
		}
		out.Header[k] = v
	}
	// Named after the parked copy (unique in the retry stream), not the event: a structured-mode event carries
	// its id in the body, and an id from a header would collide for every such event.
	out.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("requeue:%d", meta.Sequence.Stream))
	out.Data = msg.Data()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := r.js.PublishMsg(pctx, out); err != nil {
		_ = msg.NakWithDelay(time.Second)
		return
	}
	_ = msg.DoubleAck(pctx)
}
