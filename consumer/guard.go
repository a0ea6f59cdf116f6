package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/topology"
)

// The ordering guard. Every event that changes an entity carries that entity's full state, so an older event
// applied after a newer one would send Zuora back in time. Partitions keep one key's events in stream order, but
// copies break that order (a parked copy whose ack was lost, a redrive after an outage, a replay that moves
// unkeyed events again, a re-created retry consumer), and a consumer reset lets the server deliver a key's next
// event while the previous one is still being handled. So, per ordering key, one KV record holds:
//
//   - applied: for each entity of the key, the origin of the last event applied. An older event is skipped with
//     an outcome that says so; the same or a newer one is applied. Replaying everything therefore re-applies
//     only each entity's latest event, which repairs what Zuora lost without reverting anything.
//   - inflight: the event being handled now, by which instance, until when. A second event of the key waits
//     (it is retried shortly, without using up its attempts) until the claim is released or has expired; an
//     expired claim belongs to a holder whose lease has lapsed and who is fenced off from Zuora.
//
// Every change of the record is a compare-and-set on its revision, so two instances cannot both claim a key or
// roll an entity's origin back.

// HeaderOverride on a redriven event lets it apply although a newer event of its entity was applied since: the
// operator's explicit choice (consumer dlq redrive -force).
const HeaderOverride = "Zuorasync-Override-Guard"

// ActionSuperseded is the outcome action of an event the guard skipped.
const ActionSuperseded = "superseded"

type appliedEntry struct {
	Origin  string    `json:"origin"`
	EventID string    `json:"eventId"`
	At      time.Time `json:"at"`
}

type inflightClaim struct {
	Holder  string    `json:"holder"`
	EventID string    `json:"eventId"`
	Origin  string    `json:"origin"`
	Since   time.Time `json:"since"`
	Until   time.Time `json:"until"`
}

type keyRecord struct {
	Applied  map[string]appliedEntry `json:"applied,omitempty"`
	Inflight *inflightClaim          `json:"inflight,omitempty"`
}

type guard struct {
	kv     jetstream.KeyValue
	holder string        // this process
	hold   time.Duration // how long a claim lasts unless renewed: the ack wait
	now    func() time.Time
}

// errKeyBusy: another event of the key is being handled; the event is retried shortly and does not use up its
// attempts.
var errKeyBusy = errors.New("another event of the same key is being handled")

var errConcurrentApply = errors.New("ordering guard: the key's record changed while the event was being applied")

func guardRecordKey(stream, key string) string { return stream + "." + topology.KVKey(key) }

// entityOf names the entity an event changes: its kind and its Stigg id (the CloudEvent subject; the ordering
// key when there is none).
func entityOf(ev *event.Event, key string) string {
	id := ev.Subject()
	if id == "" {
		id = key
	}
	return events.Entity(ev.Type()) + "/" + id
}

func (g *guard) read(ctx context.Context, key string) (keyRecord, uint64, error) {
	e, err := g.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return keyRecord{}, 0, nil
	}
	if err != nil {
		return keyRecord{}, 0, fmt.Errorf("ordering guard: read %s: %w", key, err)
	}
	var rec keyRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return keyRecord{}, 0, fmt.Errorf("ordering guard: corrupt record %s: %w", key, err)
	}
	return rec, e.Revision(), nil
}

// write stores rec with a compare-and-set on rev (0: the key must not exist) and returns the new revision.
func (g *guard) write(ctx context.Context, key string, rec keyRecord, rev uint64) (uint64, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return 0, err
	}
	var next uint64
	if rev == 0 {
		next, err = g.kv.Create(ctx, key, b)
	} else {
		next, err = g.kv.Update(ctx, key, b, rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || isWrongSequence(err) {
		return 0, errConcurrentApply
	}
	if err != nil {
		return 0, fmt.Errorf("ordering guard: write %s: %w", key, err)
	}
	return next, nil
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

func appliedOrigin(rec keyRecord, entity string) (Origin, appliedEntry) {
	a, ok := rec.Applied[entity]
	if !ok {
		return Origin{}, appliedEntry{}
	}
	o, err := ParseOrigin(a.Origin)
	if err != nil {
		return Origin{}, appliedEntry{}
	}
	return o, a
}

// guardMiddleware skips superseded events, claims the key for the others, and records the origin of each event
// whose handler succeeded. Routes registered with HandleEach (dispatch.Each) only take the claim: their events are
// each applied on their own.
func (r *Runner) guardMiddleware(d *delivery) dispatch.Middleware {
	return func(next dispatch.Handler) dispatch.Handler {
		return dispatch.HandlerFunc(func(ctx context.Context, in *dispatch.Input) (*dispatch.Result, error) {
			g := r.guard
			key, entity := guardRecordKey(d.stream, in.Key), entityOf(d.ev, in.Key)
			rec, rev, err := g.read(ctx, key)
			if err != nil {
				return nil, err
			}
			have, last := appliedOrigin(rec, entity)
			snapshot := r.router.Ordering(d.ev.Type()) == dispatch.Latest
			if snapshot && d.origin.Before(have) {
				if d.msg.Headers().Get(HeaderOverride) == "" {
					in.Logger.Info("superseded: a newer event of the entity was applied", "applied_origin", have.String(),
						"applied_event", last.EventID)
					return superseded(d.ev, d.origin, have, last.EventID), nil
				}
				in.Logger.Warn("applying an event older than the entity's last applied one, as the redrive asked",
					"applied_origin", have.String())
			}
			now := g.now()
			if c := rec.Inflight; c != nil && now.Before(c.Until) && !(c.Holder == g.holder && c.Origin == d.origin.String()) {
				return nil, fmt.Errorf("%w: event %s since %s (holder %s)", errKeyBusy, c.EventID, c.Since.Format(time.RFC3339), c.Holder)
			}
			rec.Inflight = &inflightClaim{Holder: g.holder, EventID: d.ev.ID(), Origin: d.origin.String(), Since: now, Until: now.Add(g.hold)}
			if rev, err = g.write(ctx, key, rec, rev); err != nil {
				if errors.Is(err, errConcurrentApply) {
					return nil, fmt.Errorf("%w: claim raced with another instance", errKeyBusy)
				}
				return nil, err
			}
			// The claim lasts one ack wait and is extended with every renewal of the message's lease, so a crashed
			// holder blocks its key no longer than the server takes to redeliver its message.
			var claimMu sync.Mutex
			if d.lease != nil {
				d.lease.alsoRenew(func() {
					claimMu.Lock()
					defer claimMu.Unlock()
					rec.Inflight.Until = g.now().Add(g.hold)
					wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
					defer cancel()
					if next, err := g.write(wctx, key, rec, rev); err == nil {
						rev = next
					}
				})
			}
			res, herr := next.Handle(ctx, in)
			if d.lease != nil {
				d.lease.alsoRenew(nil)
			}
			claimMu.Lock()
			defer claimMu.Unlock()
			// The claim is released on every way out; a success also records the origin. The write uses a
			// context of its own: the handler's may have ended with its deadline.
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			rec.Inflight = nil
			if herr == nil && snapshot && !d.origin.Before(have) {
				if rec.Applied == nil {
					rec.Applied = map[string]appliedEntry{}
				}
				rec.Applied[entity] = appliedEntry{Origin: d.origin.String(), EventID: d.ev.ID(), At: g.now().UTC()}
			}
			if _, err := g.write(wctx, key, rec, rev); err != nil {
				if herr != nil {
					in.Logger.Warn("could not release the key's claim; it expires on its own", "err", err)
					return nil, herr
				}
				if errors.Is(err, errConcurrentApply) {
					// Our claim expired and another instance took the key: two handlers ran at once. The fence
					// should have stopped this one; say so loudly and let the retry re-read the record.
					in.Logger.Error("ordering guard: the key was taken over while this event was applied", "err", err)
				}
				return nil, err
			}
			return res, herr
		})
	}
}

func superseded(ev *event.Event, o, applied Origin, appliedEvent string) *dispatch.Result {
	return dispatch.Synced(events.Entity(ev.Type()), events.Outcome{
		StiggID: ev.Subject(),
		Action:  ActionSuperseded,
		Reason: fmt.Sprintf("not applied: event %s (origin %s) is older than event %s (origin %s), which was applied "+
			"to this %s already", ev.ID(), o, appliedEvent, applied, events.Entity(ev.Type())),
	})
}
