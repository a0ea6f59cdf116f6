package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
)

// The instance registry: every consumer instance of one tenant keeps a key in a JetStream KV bucket
// (topology.BucketInstances) fresh with a heartbeat, watches the bucket, and divides the tenant's budget by the
// number of live keys (SetShare). A key not refreshed for three heartbeats is no longer counted (a crashed
// instance); a clean shutdown deletes its key at once, so the others take its share back without waiting.
//
// The value says whether the instance is busy (it sent a Zuora request within the last heartbeat), written
// again as soon as that changes: busy instances divide the budget among the busy ones only, so an instance
// that has the work is not held to a third while the others have none. An idle instance counts every live one,
// so the share it starts with when work arrives is the small one until the others have seen it busy.

// InstanceConfig configures Join.
type InstanceConfig struct {
	// ID names this instance in the bucket; default a random UUID. It must be a valid KV key.
	ID string
	// Heartbeat is how often the key is refreshed; default 2s. Keys older than 3 heartbeats are not counted.
	Heartbeat time.Duration
	Logger    *slog.Logger
}

// Join registers this instance in kv and keeps the limiter's share up to date until leave is called. The first
// heartbeat is written and the bucket's current keys read before Join returns, so the share is right before the
// first request. ctx bounds only that start; the registry runs until leave, which deletes the key.
func (l *Limiter) Join(ctx context.Context, kv jetstream.KeyValue, cfg InstanceConfig) (leave func(), err error) {
	if cfg.ID == "" {
		cfg.ID = uuid.NewString()
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = l.log
	}
	r := &registry{l: l, kv: kv, cfg: cfg, seen: map[string]peer{}}
	if err := r.beat(ctx); err != nil {
		return nil, fmt.Errorf("ratelimit: register instance %s: %w", cfg.ID, err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	w, err := kv.WatchAll(runCtx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("ratelimit: watch the instance registry: %w", err)
	}
	// The initial values end with a nil entry: wait for it, so the share is known when Join returns.
	for initial := true; initial; {
		select {
		case e, ok := <-w.Updates():
			if !ok || e == nil {
				initial = false
				break
			}
			if e.Key() != cfg.ID {
				r.see(e, e.Created())
			}
		case <-ctx.Done():
			cancel()
			_ = w.Stop()
			return nil, ctx.Err()
		}
	}
	r.publish()
	var wg sync.WaitGroup
	wg.Go(func() { r.run(runCtx, w) })
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			_ = w.Stop()
			dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer dcancel()
			if err := kv.Delete(dctx, cfg.ID); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
				cfg.Logger.Warn("instance registry: could not remove this instance", "id", cfg.ID, "err", err)
			}
		})
	}, nil
}

// Active reports whether the limiter admitted an API request within d: the instance has Zuora work.
func (l *Limiter) Active(d time.Duration) bool {
	return time.Since(time.Unix(0, l.lastAdmit.Load())) < d
}

type registry struct {
	l    *Limiter
	kv   jetstream.KeyValue
	cfg  InstanceConfig
	busy bool            // what this instance last wrote
	seen map[string]peer // the other instances; only run's goroutine touches it after Join
}

// peer is another instance as last seen: when its key was refreshed and whether it was busy.
type peer struct {
	at   time.Time
	busy bool
}

const (
	valueBusy = "busy"
	valueIdle = "idle"
)

func (r *registry) beat(ctx context.Context) error {
	v := valueIdle
	if r.busy {
		v = valueBusy
	}
	_, err := r.kv.Put(ctx, r.cfg.ID, []byte(v))
	return err
}

func (r *registry) see(e jetstream.KeyValueEntry, at time.Time) {
	switch e.Operation() {
	case jetstream.KeyValuePut:
		r.seen[e.Key()] = peer{at: at, busy: string(e.Value()) == valueBusy}
	default: // delete, purge: the instance left
		delete(r.seen, e.Key())
	}
}

// publish counts the live keys (this instance always among them) and hands the share to the limiter: among
// the busy ones when this instance is busy, among all live ones when it is idle.
func (r *registry) publish() {
	stale := time.Now().Add(-3 * r.cfg.Heartbeat)
	live, busy := []string{r.cfg.ID}, []string{r.cfg.ID}
	for k, p := range r.seen {
		if p.at.Before(stale) {
			delete(r.seen, k)
			continue
		}
		live = append(live, k)
		if p.busy {
			busy = append(busy, k)
		}
	}
	among := live
	if r.busy {
		among = busy
	}
	slices.Sort(among)
	r.l.SetShare(len(among), slices.Index(among, r.cfg.ID))
}

func (r *registry) run(ctx context.Context, w jetstream.KeyWatcher) {
	t := time.NewTicker(r.cfg.Heartbeat)
	defer t.Stop()
	check := time.NewTicker(max(r.cfg.Heartbeat/20, 10*time.Millisecond))
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e != nil && e.Key() != r.cfg.ID {
				r.see(e, time.Now())
				r.publish()
			}
		case <-check.C:
			if busy := r.l.Active(r.cfg.Heartbeat); busy != r.busy {
				r.busy = busy
				bctx, cancel := context.WithTimeout(ctx, r.cfg.Heartbeat)
				if err := r.beat(bctx); err != nil && ctx.Err() == nil {
					r.cfg.Logger.Warn("instance registry: could not say busy/idle", "id", r.cfg.ID, "err", err)
				}
				cancel()
				r.publish()
			}
		case <-t.C:
			bctx, cancel := context.WithTimeout(ctx, r.cfg.Heartbeat)
			if err := r.beat(bctx); err != nil && ctx.Err() == nil {
				r.cfg.Logger.Warn("instance registry: heartbeat failed; keeping the last share", "id", r.cfg.ID, "err", err)
			}
			cancel()
			r.publish()
		}
	}
}
