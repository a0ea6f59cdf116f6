// Package consumer is the JetStream runtime of zuora-sync: it consumes the input streams in per-key order,
// routes each CloudEvent to its handler through the runtime's middlewares (recover, metrics, the ordering guard,
// the Zuora context), and settles every message in one place (ack, retry with delay, park, or dead-letter) from
// the behaviour of the handler's error. Names and provisioning live in topology/, the handler contract in
// dispatch/. See docs/ARCHITECTURE.md.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/topology"
)

// Config tunes the runtime. Zero fields take the defaults of DefaultConfig.
type Config struct {
	Topology topology.Topology
	// MaxAttempts bounds deliveries of a transiently failing event before it is dead-lettered. With the default
	// backoff (1 s doubling to 5 min, jittered), 20 attempts ride out 30–60 minutes of Zuora being unavailable.
	MaxAttempts int
	// HandlerTimeout is the deadline of one attempt; every retry gets a fresh one.
	HandlerTimeout time.Duration
	Backoff        Backoff
	// DrainTimeout bounds how long shutdown waits for in-flight handlers before cancelling them (their events are
	// then redelivered, which is safe because handlers are idempotent).
	DrainTimeout time.Duration
	// MaxDeferrals bounds how often an event waiting for a dependency is parked before it is dead-lettered;
	// DeferBackoff spaces its returns.
	MaxDeferrals int
	DeferBackoff Backoff
	// Source is the CloudEvents source of outcome events.
	Source  string
	Logger  *slog.Logger
	Metrics *Metrics
}

// DefaultConfig returns production defaults.
func DefaultConfig() Config {
	return Config{
		Topology:       topology.Default(),
		MaxAttempts:    20,
		HandlerTimeout: 2 * time.Minute,
		Backoff:        DefaultBackoff(),
		DrainTimeout:   30 * time.Second,
		MaxDeferrals:   60,
		DeferBackoff:   Backoff{Base: time.Second, Max: time.Minute},
		Source:         "zuora-sync",
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Topology.Partitions == 0 {
		c.Topology = d.Topology
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = d.MaxAttempts
	}
	if c.HandlerTimeout <= 0 {
		c.HandlerTimeout = d.HandlerTimeout
	}
	if c.Backoff.Base <= 0 || c.Backoff.Max <= 0 {
		c.Backoff = d.Backoff
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = d.DrainTimeout
	}
	if c.MaxDeferrals <= 0 {
		c.MaxDeferrals = d.MaxDeferrals
	}
	if c.DeferBackoff.Base <= 0 || c.DeferBackoff.Max <= 0 {
		c.DeferBackoff = d.DeferBackoff
	}
	if c.Source == "" {
		c.Source = d.Source
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// ErrConnectionClosed ends Run when the NATS connection is closed for good (nats.go gives up on a connection
// after some protocol errors): a process that can no longer reach JetStream must exit, not idle as a zombie.
var ErrConnectionClosed = errors.New("consumer: NATS connection closed")

// Runner consumes the input streams and dispatches events to handlers.
type Runner struct {
	js     jetstream.JetStream
	router *dispatch.Router
	cfg    Config
	log    *slog.Logger

	parked      *parking
	idem        *idemGens
	guard       *guard
	retryStream jetstream.Stream
	pending     *pendingOutcomes
	instance    string // names this process in the ordering guard's claims

	epochMu sync.RWMutex
	epochs  map[string]int64 // input stream → creation time (see Origin)

	running atomic.Bool
}

// Ready reports whether the runner is consuming: nil between the start of its consumers and the start of its
// shutdown, and while the NATS connection is up.
func (r *Runner) Ready() error {
	if !r.running.Load() {
		return errors.New("consumer: not consuming")
	}
	if nc := r.js.Conn(); nc != nil {
		switch {
		case nc.IsClosed():
			return ErrConnectionClosed
		case !nc.IsConnected():
			return errors.New("consumer: NATS disconnected (reconnecting)")
		}
	}
	return nil
}

// New returns a runner; call Run to start it.
func New(js jetstream.JetStream, router *dispatch.Router, cfg Config) *Runner {
	cfg = cfg.withDefaults()
	cfg.Metrics.watchBacklog(js)
	return &Runner{js: js, router: router, cfg: cfg, log: cfg.Logger.With("component", "consumer"),
		pending: newPendingOutcomes(1024), instance: uuid.NewString()}
}

// refreshEpoch records the creation time of an input stream. It runs at start and whenever a consumer loop
// (re)attaches; a loop does not pull until it succeeded, so events of a re-created stream are never compared
// with the old incarnation's sequences.
func (r *Runner) refreshEpoch(ctx context.Context, stream string) error {
	s, err := r.js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	r.epochMu.Lock()
	defer r.epochMu.Unlock()
	if r.epochs == nil {
		r.epochs = map[string]int64{}
	}
	r.epochs[stream] = s.CachedInfo().Created.UnixNano()
	return nil
}

func (r *Runner) epoch(stream string) int64 {
	r.epochMu.RLock()
	defer r.epochMu.RUnlock()
	return r.epochs[stream]
}

// Run provisions the topology and consumes until ctx is cancelled, then drains: no new events are taken, events
// in flight finish (bounded by DrainTimeout) and are acked before Run returns. It returns ErrConnectionClosed
// (wrapped) when the NATS connection closes for good.
func (r *Runner) Run(ctx context.Context) error {
	if err := r.provision(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped before it started: nothing was taken, nothing to drain
		}
		return err
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	if nc := r.js.Conn(); nc != nil {
		wait := watchClosed(ctx, nc, stop)
		defer wait() // Run returns only after ctx is done, which ends the watcher
	}
	// Handlers keep running during the drain; this context ends them only when the drain times out.
	hardCtx, hardCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hardCancel()

	t := r.cfg.Topology
	var wg sync.WaitGroup
	for _, in := range topology.Inputs {
		for p := range t.Partitions {
			cfg := t.PartitionConsumer(in, p)
			wg.Go(func() { r.consumeLoop(ctx, hardCtx, in.Stream, cfg, r.process) })
		}
		rekey, stray := t.RekeyConsumer(in), t.StrayConsumer(in)
		wg.Go(func() { r.consumeLoop(ctx, hardCtx, in.Stream, rekey, r.rekey) })
		wg.Go(func() { r.consumeLoop(ctx, hardCtx, in.Stream, stray, r.stray) })
	}
	retryCfg := t.RetryConsumer()
	wg.Go(func() { r.consumeLoop(ctx, hardCtx, topology.StreamRetry, retryCfg, r.requeue) })
	r.log.Info("consuming", "partitions", t.Partitions, "streams", []string{topology.StreamStigg, topology.StreamZuora})
	r.running.Store(true)
	<-ctx.Done()
	r.running.Store(false)
	cause := context.Cause(ctx)
	if errors.Is(cause, ErrConnectionClosed) {
		r.log.Error("NATS connection closed for good; stopping", "err", cause)
		hardCancel() // nothing can be acked any more
	} else {
		r.log.Info("shutting down: draining in-flight events", "timeout", r.cfg.DrainTimeout)
	}
	drainTimer := time.AfterFunc(r.cfg.DrainTimeout, hardCancel)
	defer drainTimer.Stop()
	wg.Wait()
	if errors.Is(cause, ErrConnectionClosed) {
		return cause
	}
	r.log.Info("drained")
	return nil
}

// provision creates the streams and buckets and binds the runner to them.
func (r *Runner) provision(ctx context.Context) error {
	if err := topology.EnsureStreams(ctx, r.js, r.cfg.Topology); err != nil {
		return err
	}
	b, err := topology.EnsureBuckets(ctx, r.js, r.cfg.Topology)
	if err != nil {
		return err
	}
	r.parked, r.idem = &parking{kv: b.Parked}, &idemGens{kv: b.Idem}
	r.guard = &guard{kv: b.Applied, holder: r.instance, hold: r.cfg.Topology.AckWait, now: time.Now}
	if r.retryStream, err = r.js.Stream(ctx, topology.StreamRetry); err != nil {
		return fmt.Errorf("stream %s: %w", topology.StreamRetry, err)
	}
	for _, in := range topology.Inputs {
		if err := r.refreshEpoch(ctx, in.Stream); err != nil {
			return err
		}
	}
	return nil
}

// watchClosed cancels ctx with ErrConnectionClosed once nc is closed; the returned function waits for the
// watcher to end (it ends with ctx). It polls, because nats.go keeps a single ClosedHandler per connection, which
// belongs to whoever opened it.
func watchClosed(ctx context.Context, nc *nats.Conn, stop context.CancelCauseFunc) (wait func()) {
	return every(ctx, 250*time.Millisecond, func() bool {
		if !nc.IsClosed() {
			return true
		}
		err := nc.LastError()
		if err == nil {
			err = errors.New("closed")
		}
		stop(fmt.Errorf("%w: %w", ErrConnectionClosed, err))
		return false
	})
}

type processFunc func(ctx context.Context, stream string, msg jetstream.Msg)

// consumeLoop pulls one consumer's messages until ctx ends. It re-attaches when the consumer disappears (an
// operator deleted or recreated it) and Naks messages that arrive after shutdown began so another instance takes
// them at once instead of after AckWait.
func (r *Runner) consumeLoop(ctx, hardCtx context.Context, stream string, cfg jetstream.ConsumerConfig, process processFunc) {
	log := r.log.With("stream", stream, "consumer", cfg.Durable)
	retry := 0
	backoff := func(what string, err error) {
		retry++
		log.Warn(what+", retrying", "err", err)
		sleepCtx(ctx, r.cfg.Backoff.Delay(min(retry, 6), 0))
	}
	for ctx.Err() == nil {
		cons, err := topology.EnsureConsumer(ctx, r.js, stream, cfg)
		if err != nil {
			backoff("consumer unavailable", err)
			continue
		}
		if _, input := topology.InputFor(stream); input {
			if err := r.refreshEpoch(ctx, stream); err != nil {
				backoff("cannot read the stream's epoch", err)
				continue
			}
		}
		iter, err := cons.Messages(jetstream.PullMaxMessages(1))
		if err != nil {
			backoff("cannot pull", err)
			continue
		}
		retry = 0
		stopDrain := context.AfterFunc(ctx, iter.Drain)
		for {
			msg, err := iter.Next()
			if err != nil {
				if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
					break
				}
				if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
					log.Warn("consumer deleted, re-attaching")
					break
				}
				log.Debug("pull interrupted", "err", err)
				continue
			}
			if ctx.Err() != nil {
				_ = msg.Nak()
				continue
			}
			process(hardCtx, stream, msg)
		}
		stopDrain()
		iter.Stop()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
