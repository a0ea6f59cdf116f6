// Package consumer is the JetStream runtime of zuora-sync: it provisions the contract's streams, consumes the input
// streams in per-key order, routes each CloudEvent to its handler, and decides every message's fate (ack, retry
// with delay, or dead-letter) from the class of the handler's error. See docs/ARCHITECTURE.md.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// Handler handles one kind of event. It must be idempotent: the runtime delivers at least once, and replays
// deliver everything again.
type Handler interface {
	Handle(ctx context.Context, in *Input) (*Result, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, in *Input) (*Result, error)

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, in *Input) (*Result, error) { return f(ctx, in) }

// Input is one decoded, validated event.
type Input struct {
	Event   event.Event
	Payload events.Payload
	// Key is the ordering key (the customer id; the package id for catalog events).
	Key string
	// Attempt counts deliveries of this message, starting at 1.
	Attempt int
	// Stream and StreamSeq place the message in its input stream; within one entity, a higher sequence is a
	// later event (parked events come back with a new, higher sequence, still in the entity's order).
	Stream    string
	StreamSeq uint64
	// StreamEpoch identifies this incarnation of the stream (its creation time): sequences restart when an
	// operator recreates a stream, so a recorded sequence only compares within one epoch.
	StreamEpoch string
	Logger    *slog.Logger
}

// Result is what a handler did; its outcomes are published before the event is acked.
type Result struct {
	Outcomes []Outcome
}

// Outcome is one outcome event (`io.zuorasync.<entity>.<result>` on `zuorasync.out.<entity>.<result>.<key>`).
// Data.StiggID becomes the CloudEvent subject; the source event fields are filled in by the runtime.
type Outcome struct {
	Entity string
	Result string
	Data   events.Outcome
}

// Router maps CloudEvent types to handlers.
type Router struct{ handlers map[string]Handler }

// NewRouter returns an empty router.
func NewRouter() *Router { return &Router{handlers: map[string]Handler{}} }

// Handle registers h for eventType, replacing any earlier registration.
func (r *Router) Handle(eventType string, h Handler) { r.handlers[eventType] = h }

func (r *Router) lookup(eventType string) Handler { return r.handlers[eventType] }

// Config tunes the runtime. Zero fields take the defaults of DefaultConfig.
type Config struct {
	Topology Topology
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
		Topology:       DefaultTopology(),
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

// Runner consumes the input streams and dispatches events to handlers.
type Runner struct {
	js     jetstream.JetStream
	router *Router
	cfg    Config
	log    *slog.Logger
	parked *parking
	idem   *idemGens

	epochMu sync.RWMutex
	epochs  map[string]string // input stream → creation time (see Input.StreamEpoch)
}

// refreshEpoch records the creation time of an input stream. It runs at start and whenever a consumer loop
// (re)attaches, so a stream an operator recreated under a running instance gets its new epoch.
func (r *Runner) refreshEpoch(ctx context.Context, stream string) error {
	s, err := r.js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	r.epochMu.Lock()
	defer r.epochMu.Unlock()
	if r.epochs == nil {
		r.epochs = map[string]string{}
	}
	r.epochs[stream] = s.CachedInfo().Created.UTC().Format(time.RFC3339Nano)
	return nil
}

func (r *Runner) epoch(stream string) string {
	r.epochMu.RLock()
	defer r.epochMu.RUnlock()
	return r.epochs[stream]
}

// New returns a runner; call Run to start it.
func New(js jetstream.JetStream, router *Router, cfg Config) *Runner {
	cfg = cfg.withDefaults()
	return &Runner{js: js, router: router, cfg: cfg, log: cfg.Logger.With("component", "consumer")}
}

// Run provisions the topology and consumes until ctx is cancelled, then drains: no new events are taken, events
// in flight finish (bounded by DrainTimeout) and are acked before Run returns.
func (r *Runner) Run(ctx context.Context) error {
	if err := EnsureStreams(ctx, r.js, r.cfg.Topology); err != nil {
		return err
	}
	kv, err := ensureParkedBucket(ctx, r.js, r.cfg.Topology)
	if err != nil {
		return err
	}
	r.parked = &parking{kv: kv}
	ikv, err := ensureIdemBucket(ctx, r.js, r.cfg.Topology)
	if err != nil {
		return err
	}
	r.idem = &idemGens{kv: ikv}
	for _, in := range inputStreams {
		if err := r.refreshEpoch(ctx, in.name); err != nil {
			return err
		}
	}
	// Handlers keep running during the drain; this context ends them only when the drain times out.
	hardCtx, hardCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hardCancel()

	var wg sync.WaitGroup
	for _, in := range inputStreams {
		for p := range r.cfg.Topology.Partitions {
			cfg := r.cfg.Topology.partitionConsumerConfig(in, p)
			wg.Go(func() { r.consumeLoop(ctx, hardCtx, in.name, cfg, r.process) })
		}
		cfg := r.cfg.Topology.rekeyConsumerConfig(in)
		wg.Go(func() { r.consumeLoop(ctx, hardCtx, in.name, cfg, r.rekey) })
	}
	retryCfg := r.cfg.Topology.retryConsumerConfig()
	wg.Go(func() { r.consumeLoop(ctx, hardCtx, StreamRetry, retryCfg, r.requeue) })
	r.log.Info("consuming", "partitions", r.cfg.Topology.Partitions, "streams", []string{StreamStigg, StreamZuora})
	<-ctx.Done()
	r.log.Info("shutting down: draining in-flight events", "timeout", r.cfg.DrainTimeout)
	drainTimer := time.AfterFunc(r.cfg.DrainTimeout, hardCancel)
	defer drainTimer.Stop()
	wg.Wait()
	r.log.Info("drained")
	return nil
}

type processFunc func(ctx context.Context, stream string, msg jetstream.Msg)

// consumeLoop pulls one consumer's messages until ctx ends. It re-attaches when the consumer disappears (an
// operator deleted or recreated it) and Naks messages that arrive after shutdown began so another instance takes
// them at once instead of after AckWait.
func (r *Runner) consumeLoop(ctx, hardCtx context.Context, stream string, cfg jetstream.ConsumerConfig, process processFunc) {
	log := r.log.With("stream", stream, "consumer", cfg.Durable)
	retry := 0
	for ctx.Err() == nil {
		cons, err := ensureConsumer(ctx, r.js, stream, cfg)
		if err != nil {
			retry++
			log.Warn("consumer unavailable, retrying", "err", err)
			sleepCtx(ctx, r.cfg.Backoff.Delay(min(retry, 6), 0))
			continue
		}
		if stream == StreamStigg || stream == StreamZuora {
			if err := r.refreshEpoch(ctx, stream); err != nil {
				log.Warn("cannot read the stream's epoch", "err", err)
			}
		}
		iter, err := cons.Messages(jetstream.PullMaxMessages(1))
		if err != nil {
			retry++
			log.Warn("cannot pull, retrying", "err", err)
			sleepCtx(ctx, r.cfg.Backoff.Delay(min(retry, 6), 0))
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

// process handles one event message end to end and settles it.
func (r *Runner) process(ctx context.Context, stream string, msg jetstream.Msg) {
	start := time.Now()
	meta, err := msg.Metadata()
	if err != nil {
		r.log.Error("message without JetStream metadata, terminating", "subject", msg.Subject(), "err", err)
		_ = msg.Term()
		return
	}
	attempt := int(meta.NumDelivered)
	log := r.log.With("stream", stream, "seq", meta.Sequence.Stream, "attempt", attempt)
	d := delivery{msg: msg, meta: meta, stream: stream, attempt: attempt, log: log}

	ev, err := events.FromMsg(msg.Headers(), msg.Data())
	if err != nil {
		r.deadLetter(ctx, d, nil, "", fmt.Errorf("undecodable event: %w", err), "permanent")
		return
	}
	d.ev = &ev
	key, err := events.PartitionKey(ev)
	if err != nil {
		// The subject's key token put the event in its partition; it stays the key from here on.
		ps, perr := events.ParseSubject(msg.Subject())
		if perr != nil {
			r.deadLetter(ctx, d, nil, "", fmt.Errorf("no ordering key: %w", err), "permanent")
			return
		}
		key = ps.Key
		_ = events.SetPartitionKey(&ev, key)
	}
	log = log.With("event_id", ev.ID(), "type", ev.Type(), "key", key)
	d.log = log

	h := r.router.lookup(ev.Type())
	if h == nil {
		r.deadLetter(ctx, d, &ev, key, fmt.Errorf("%w: no handler for %q", events.ErrUnknownType, ev.Type()), "permanent")
		return
	}
	payload, err := events.DecodeData(ev)
	if err != nil {
		r.deadLetter(ctx, d, &ev, key, fmt.Errorf("invalid %s data: %w", ev.Type(), err), "permanent")
		return
	}
	// An earlier event of the same entity is parked: this one queues behind it, so the entity's events still
	// apply in order.
	queue, _, err := r.parked.queue(ctx, parkKey(&ev))
	if err != nil {
		r.retry(d, err, 0)
		return
	}
	if len(queue) > 0 && queue[0] != ev.ID() {
		r.park(ctx, d, &ev, key, fmt.Errorf("waiting behind parked event %s of the same %s", queue[0], events.Entity(ev.Type())))
		return
	}
	d.queued = len(queue) > 0

	hctx, cancel := context.WithTimeout(ctx, r.cfg.HandlerTimeout)
	// Keys repeat on redelivery, except after Zuora answered a write with a failure or an operator redrove the
	// event (idemgen.go). Only redeliveries can have a generation, so first attempts skip the KV read.
	gen := 0
	if attempt > 1 || deferralsOf(msg.Headers()) > 0 {
		if gen, err = r.idem.get(ctx, ev.ID()); err != nil {
			cancel()
			r.retry(d, err, 0)
			return
		}
	}
	hctx = zuoraapi.WithEventID(hctx, idempotencyBase(ev.ID(), gen, msg.Headers().Get(HeaderRedrive)))
	hctx, trace := zuoraapi.WithTrace(hctx)
	d.trace = trace
	stopKeepAlive := keepAlive(hctx, msg, r.cfg.Topology.AckWait)
	res, herr := h.Handle(hctx, &Input{Event: ev, Payload: payload, Key: key, Attempt: attempt,
		Stream: stream, StreamSeq: meta.Sequence.Stream, StreamEpoch: r.epoch(stream), Logger: log})
	stopKeepAlive()
	cancel()

	class, floor := Classify(herr)
	r.cfg.Metrics.observe(ev.Type(), class, time.Since(start))
	switch class {
	case ClassSuccess:
		if err := r.publishOutcomes(ctx, &ev, key, res); err != nil {
			r.retry(d, fmt.Errorf("publish outcome: %w", err), 0)
			return
		}
		// Released before the ack: a crash in between redelivers an event that is no longer queued, which is
		// harmless; the other order could leave the entity's queue blocked by an event already handled.
		if err := r.releaseParked(ctx, d, &ev); err != nil {
			r.retry(d, fmt.Errorf("handled, but its parked queue was not released: %w", err), 0)
			return
		}
		actx, acancel := context.WithTimeout(ctx, 5*time.Second)
		defer acancel()
		if err := msg.DoubleAck(actx); err != nil {
			// The event will be redelivered and handled again, harmlessly.
			log.Warn("ack not confirmed", "err", err)
		}
		log.Info("handled", "duration", time.Since(start).Round(time.Millisecond), "zuora_request_ids", trace.RequestIDs())
	case ClassTransient:
		if answeredWriteFailure(herr) {
			if err := r.idem.bump(ctx, ev.ID(), gen); err != nil {
				log.Warn("could not move the event to fresh idempotency keys; its retry may get the stored failure", "err", err)
			}
		}
		if attempt >= r.cfg.MaxAttempts {
			r.deadLetter(ctx, d, &ev, key, fmt.Errorf("gave up after %d attempts: %w", attempt, herr), "exhausted")
			return
		}
		r.retry(d, herr, floor)
	case ClassDeferred:
		r.park(ctx, d, &ev, key, herr)
	case ClassPermanent:
		r.deadLetter(ctx, d, &ev, key, herr, "permanent")
	}
}

// delivery is the message being settled and what is known about it so far.
type delivery struct {
	msg     jetstream.Msg
	meta    *jetstream.MsgMetadata
	stream  string
	attempt int
	ev      *event.Event
	log     *slog.Logger
	// queued: the event is the head of its entity's parked queue.
	queued bool
	// trace holds the Zuora request ids of this attempt, for the log line that settles it.
	trace *zuoraapi.Trace
}

func (r *Runner) retry(d delivery, cause error, floor time.Duration) {
	delay := r.cfg.Backoff.Delay(d.attempt, floor)
	attrs := []any{"err", cause, "retry_in", delay.Round(time.Millisecond)}
	var zerr *zuoraapi.Error
	if errors.As(cause, &zerr) && zerr.RequestID != "" {
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

// keepAlive tells the server the message is still being worked on, so a long handler does not get its message
// redelivered to another instance mid-flight.
func keepAlive(ctx context.Context, msg jetstream.Msg, ackWait time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(max(ackWait/3, 100*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	return func() { cancel(); <-done }
}
