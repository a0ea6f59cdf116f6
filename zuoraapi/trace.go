package zuoraapi

import (
	"context"
	"sync"
)

// Trace collects the Zuora-Request-Id of every call made with a context, so the log line that closes the
// handling of an event can name them: the ids Zuora support asks for.
type Trace struct {
	mu  sync.Mutex
	ids []string
}

type traceKey struct{}

// WithTrace returns a context whose calls are recorded in the returned Trace.
func WithTrace(ctx context.Context) (context.Context, *Trace) {
	t := &Trace{}
	return context.WithValue(ctx, traceKey{}, t), t
}

// RequestIDs returns the request ids recorded so far, in call order.
func (t *Trace) RequestIDs() []string {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.ids...)
}

func traceRequest(ctx context.Context, requestID string) {
	t, _ := ctx.Value(traceKey{}).(*Trace)
	if t == nil || requestID == "" {
		return
	}
	t.mu.Lock()
	t.ids = append(t.ids, requestID)
	t.mu.Unlock()
}

// WithTraceTo records the request ids of calls made with ctx in t (nil t: a new trace is not started).
func WithTraceTo(ctx context.Context, t *Trace) context.Context {
	if t == nil {
		return ctx
	}
	return context.WithValue(ctx, traceKey{}, t)
}
