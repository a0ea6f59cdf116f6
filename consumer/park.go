package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/topology"
)

// Parking: an event whose dependency is missing (a subscription whose customer has no Zuora account yet) must
// not wait at the head of its partition — the dependency may be queued right behind it in the same partition,
// and waiting there would deadlock until the event is dead-lettered. Instead it is parked:
//
//   - the event is copied to ZUORASYNC_RETRY with a not-before time and its origin, and acked, so its partition
//     moves on; the copy's dedupe id is its origin and deferral count, so a lost ack parks no second copy;
//   - its entity (type entity + CloudEvent subject) gets a queue in the zuorasync-parked bucket, and every later
//     event of that entity is parked behind it, so events of one entity still apply in stream order;
//   - the retry consumer puts each copy back on its input subject when due and deletes it from the retry stream;
//     the head of an entity's queue is handled, the others wait their turn again;
//   - after MaxDeferrals the event is dead-lettered (class exhausted) and leaves the queue.
const (
	HeaderDeferrals   = "Zuorasync-Deferrals"
	HeaderNotBefore   = "Zuorasync-Not-Before"
	HeaderDeferReason = "Zuorasync-Defer-Reason"
	// HeaderRequeueSubject is the input subject a parked copy goes back to.
	HeaderRequeueSubject = "Zuorasync-Origin-Subject"
)

// parking is the queue of parked events per entity.
type parking struct {
	kv jetstream.KeyValue
}

// parkKey names an entity's queue. Stigg entities keep the bare kind (the form queues were stored under first).
func parkKey(ev *event.Event) string {
	k := events.Entity(ev.Type()) + "." + topology.KVKey(ev.Subject())
	if ns := events.Namespace(ev.Type()); ns != events.NamespaceStigg {
		k = topology.KVKey(ns) + "." + k
	}
	return k
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

// parkCopy is the message that waits in the retry stream.
func parkCopy(d *delivery, reason error, n int, notBefore time.Time) *nats.Msg {
	input := d.publishedSubject()
	out := nats.NewMsg(topology.PrefixRetry + "." + input)
	out.Header = copyHeaders(d.msg.Headers())
	out.Header.Set(HeaderDeferrals, strconv.Itoa(n))
	out.Header.Set(HeaderNotBefore, notBefore.UTC().Format(time.RFC3339Nano))
	out.Header.Set(HeaderDeferReason, truncate(reason.Error(), 500))
	out.Header.Set(HeaderRequeueSubject, input)
	out.Header.Set(HeaderOrigin, d.origin.String())
	// One copy per origin and deferral: a redelivery after a lost ack publishes the same id and is deduplicated;
	// a copy that slips past the dedupe window is later skipped by the ordering guard.
	out.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("park:%s:%d", d.origin, n))
	out.Data = d.msg.Data()
	return out
}

// requeue is the retry consumer's work: put a parked copy back on its input subject once it is due, then delete
// it from the retry stream, so a re-created retry consumer cannot republish it.
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
	input := h.Get(HeaderRequeueSubject)
	if input == "" {
		r.log.Error("parked message without its input subject; terminating it", "subject", msg.Subject())
		_ = msg.TermWithReason("parked copy without " + HeaderRequeueSubject)
		return
	}
	out := nats.NewMsg(input)
	out.Header = copyHeaders(h, HeaderNotBefore, HeaderRequeueSubject, HeaderDeferReason)
	id := "requeue:" + strconv.FormatUint(meta.Sequence.Stream, 10)
	if o := h.Get(HeaderOrigin); o != "" {
		id = fmt.Sprintf("requeue:%s:%d", o, deferralsOf(h))
	}
	out.Header.Set(jetstream.MsgIDHeader, id)
	out.Data = msg.Data()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := r.js.PublishMsg(pctx, out); err != nil {
		_ = msg.NakWithDelay(time.Second)
		return
	}
	if err := msg.DoubleAck(pctx); err != nil {
		return // redelivered: the requeue id deduplicates the second publish
	}
	if err := r.retryStream.DeleteMsg(pctx, meta.Sequence.Stream); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		r.log.Warn("requeued copy not deleted from the retry stream; the ordering guard skips it if it returns",
			"seq", meta.Sequence.Stream, "err", err)
	}
}
