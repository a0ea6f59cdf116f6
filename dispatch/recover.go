package dispatch

import (
	"context"
	"fmt"
	"runtime/debug"
)

// PanicError is a handler's panic turned into the failure of its one event. It is permanent: a panic is a bug
// that the same input will hit again, and retrying it would only hold up the partition; the dead letter keeps the
// event for a redrive once the bug is fixed.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string   { return fmt.Sprintf("%v: %v", ErrPanic, e.Value) }
func (e *PanicError) Unwrap() error   { return ErrPanic }
func (e *PanicError) Permanent() bool { return true }

// Recover turns a panic in the handler (or an inner middleware) into a *PanicError, so one bad event fails on its
// own instead of killing every partition of the process.
func Recover() Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, in *Input) (res *Result, err error) {
			defer func() {
				if v := recover(); v != nil {
					res, err = nil, &PanicError{Value: v, Stack: debug.Stack()}
					if in != nil && in.Logger != nil {
						in.Logger.Error("handler panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
					}
				}
			}()
			return next.Handle(ctx, in)
		})
	}
}
