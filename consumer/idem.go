package consumer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/topology"
)

// Idempotency-key generations. A handler's Zuora writes carry keys derived from the event id, so a redelivery
// after a lost response gets Zuora's stored answer instead of writing twice. But Zuora stores refusals too
// (24 h), so after Zuora refused a write, repeating the key would only replay the refusal. The runtime then
// moves the event to a new key generation: the refused write did not happen, and handlers look before they
// write. Only a refusal counts (zuoraapi.Error.Refused); an unknown outcome — a 5xx, a timeout, a reset
// connection, a 2xx whose body could not be read — keeps the key, since Zuora may have committed the write and
// only the same key prevents a second one. A refusal stored under such a key is cleared by the operator's
// redrive, which always starts a fresh generation.

// HeaderRedrive counts how often an event was redriven; it is part of the event's Zuora idempotency keys.
const HeaderRedrive = "Zuorasync-Redrive"

type idemGens struct{ kv jetstream.KeyValue }

func (g *idemGens) get(ctx context.Context, eventID string) (int, error) {
	e, err := g.kv.Get(ctx, topology.KVKey(eventID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("idempotency generation of %s: %w", eventID, err)
	}
	n, err := strconv.Atoi(string(e.Value()))
	if err != nil {
		return 0, fmt.Errorf("idempotency generation of %s: corrupt value %q", eventID, e.Value())
	}
	return n, nil
}

func (g *idemGens) bump(ctx context.Context, eventID string, current int) error {
	_, err := g.kv.Put(ctx, topology.KVKey(eventID), []byte(strconv.Itoa(current+1)))
	return err
}

// refused tells whether err carries Zuora's refusal of a write (the key now holds that refusal).
func refused(err error) bool {
	var r interface{ Refused() bool }
	return errors.As(err, &r) && r.Refused()
}

// IdempotencyBase is what a handler's idempotency keys derive from: the event id, its key generation and its
// redrive count (an operator redrives after fixing the cause, so the stored failure must not come back).
// Deployed keys depend on it: a change would make in-flight retries write twice.
func IdempotencyBase(eventID string, gen int, redrive string) string {
	// '#' is doubled in the id so that no event id can spell another event's generation or redrive marker
	// ("e#g1" must not share keys with generation 1 of "e"); ids without '#' keep the form deployed first.
	id := strings.ReplaceAll(eventID, "#", "##")
	if gen > 0 {
		id += "#g" + strconv.Itoa(gen)
	}
	if redrive != "" {
		id += "#redrive" + redrive
	}
	return id
}

// zuoraMiddleware gives the handler's Zuora calls their idempotency base, a fence against writing after the
// event's lease lapsed, and a trace of request ids for the line that settles the event; after a refused write it
// moves the event to a fresh key generation.
func (r *Runner) zuoraMiddleware(d *delivery) dispatch.Middleware {
	return func(next dispatch.Handler) dispatch.Handler {
		return dispatch.HandlerFunc(func(ctx context.Context, in *dispatch.Input) (*dispatch.Result, error) {
			// Only redeliveries and parked copies can have a generation, so first attempts skip the KV read.
			gen := 0
			if d.attempt > 1 || deferralsOf(d.msg.Headers()) > 0 {
				var err error
				if gen, err = r.idem.get(ctx, d.ev.ID()); err != nil {
					return nil, err
				}
			}
			call := dispatch.ZuoraCall{EventID: IdempotencyBase(d.ev.ID(), gen, d.msg.Headers().Get(HeaderRedrive)),
				Trace: d.trace, Fence: d.lease.check}
			res, err := dispatch.ZuoraContext(func(*dispatch.Input) dispatch.ZuoraCall { return call })(next).Handle(ctx, in)
			if err != nil && refused(err) {
				if berr := r.idem.bump(ctx, d.ev.ID(), gen); berr != nil {
					in.Logger.Warn("could not move the event to fresh idempotency keys; its retry may get the stored refusal", "err", berr)
				}
			}
			return res, err
		})
	}
}
