// Package dispatch is the contract between the runtime and the handlers: what a handler receives (Input), what it
// returns (Result with outcome events, or an error whose behaviour decides the event's fate), the Router that maps
// CloudEvent types to handlers, and Middleware, the shape of every cross-cutting concern. It knows nothing of
// JetStream: the runtime (consumer/) delivers events, handlers (handlers/) apply them, and both meet here.
package dispatch

import (
	"context"
	"log/slog"
	"slices"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/zuora-sync/zuora-sync/events"
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

// Middleware wraps a handler with one cross-cutting concern.
type Middleware func(Handler) Handler

// Chain applies middlewares to h; the first is the outermost.
func Chain(h Handler, mw ...Middleware) Handler {
	for _, m := range slices.Backward(mw) {
		h = m(h)
	}
	return h
}

// Input is one decoded, validated event.
type Input struct {
	Event   event.Event
	Payload events.Payload
	// Key is the ordering key (the customer id; the package id for catalog events).
	Key string
	// Attempt counts deliveries of this copy of the event, starting at 1.
	Attempt int
	Logger  *slog.Logger
}

// Result is what a handler did; the runtime publishes its outcomes before it acknowledges the event.
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

// Synced is the common result: one io.zuorasync.<entity>.synced outcome.
func Synced(entity string, data events.Outcome) *Result {
	return &Result{Outcomes: []Outcome{{Entity: entity, Result: events.ResultSynced, Data: data}}}
}

// Ordering says how the runtime orders a route's events against each other (beyond per-key order).
type Ordering int

const (
	// Latest: every event carries its entity's full state (a customer, a package, a subscription), so an event
	// older than the last one applied to its entity is skipped — applying it would revert newer state.
	Latest Ordering = iota
	// Each: every event is applied on its own (a usage report, a payment request); an older one arriving late is
	// still applied, and the handler dedupes by event id.
	Each
)

// Router maps CloudEvent types to handlers.
type Router struct {
	routes   map[string]Handler
	ordering map[string]Ordering
	mw       []Middleware
}

// NewRouter returns an empty router.
func NewRouter() *Router {
	return &Router{routes: map[string]Handler{}, ordering: map[string]Ordering{}}
}

// Use adds middlewares that wrap every route, outermost first. Routes registered before and after see them alike.
func (r *Router) Use(mw ...Middleware) { r.mw = append(r.mw, mw...) }

// Handle registers h for eventType, with middlewares of its own inside the router's; it replaces any earlier
// registration.
func (r *Router) Handle(eventType string, h Handler, mw ...Middleware) {
	r.routes[eventType] = Chain(h, mw...)
	r.ordering[eventType] = Latest
}

// HandleEach registers h for eventType like Handle, for events that are each applied on their own (Each).
func (r *Router) HandleEach(eventType string, h Handler, mw ...Middleware) {
	r.Handle(eventType, h, mw...)
	r.ordering[eventType] = Each
}

// Ordering is how eventType's events are ordered (Latest for an unknown type).
func (r *Router) Ordering(eventType string) Ordering { return r.ordering[eventType] }

// Lookup returns the handler of eventType wrapped in the router's middlewares; ok is false for an unknown type.
func (r *Router) Lookup(eventType string) (h Handler, ok bool) {
	h, ok = r.routes[eventType]
	if !ok {
		return nil, false
	}
	return Chain(h, r.mw...), true
}

// Types lists the event types with a handler.
func (r *Router) Types() []string {
	out := make([]string, 0, len(r.routes))
	for t := range r.routes {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}
