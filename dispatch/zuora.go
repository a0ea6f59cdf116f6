package dispatch

import (
	"context"

	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// ZuoraCall is what one handling's Zuora calls carry.
type ZuoraCall struct {
	// EventID is the base of the calls' idempotency keys and their Zuora-Track-Id.
	EventID string
	// Trace, when set, collects the calls' Zuora request ids for the line that reports the handling.
	Trace *zuoraapi.Trace
	// Fence, when set, is asked before each call whether the handler may still act.
	Fence func() error
}

// ZuoraContext gives the handler's Zuora calls what of says for the input, so every caller of handlers (the
// event runtime, the request/reply service) sets the idempotency base the same way instead of by hand.
func ZuoraContext(of func(*Input) ZuoraCall) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, in *Input) (*Result, error) {
			c := of(in)
			ctx = zuoraapi.WithTraceTo(zuoraapi.WithEventID(ctx, c.EventID), c.Trace)
			if c.Fence != nil {
				ctx = zuoraapi.WithFence(ctx, c.Fence)
			}
			return next.Handle(ctx, in)
		})
	}
}
