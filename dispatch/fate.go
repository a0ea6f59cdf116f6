package dispatch

import (
	"errors"
	"time"
)

// The fate of an event follows from the behaviour of the error its handler returned, not from its type: any
// error in the chain may say that it is permanent, that it waits for another event, or when to try again.
// *zuoraapi.Error and *events.ValidationError implement these, so handlers return them as they are.
type (
	// permanent errors cannot be fixed by retrying the same event.
	permanent interface{ Permanent() bool }
	// deferred errors resolve once another event has been handled (a missing dependency).
	deferred interface{ Deferred() bool }
	// retryDelayer errors know the least time to wait before the next attempt (Zuora's Retry-After).
	retryDelayer interface{ RetryDelay() time.Duration }
	// unavailable errors say the event did not fail: Zuora cannot be called now (an open circuit breaker, a
	// rate or concurrency limit). Waiting is all there is to do, and it must not use up the event's attempts, or
	// an outage would dead-letter every event that arrived during it.
	unavailable interface{ Unavailable() bool }
)

// Class is what the runtime does with an event after its handler returned.
type Class int

const (
	// ClassSuccess: publish outcomes, then ack.
	ClassSuccess Class = iota
	// ClassTransient: retry with backoff; dead-lettered once attempts are exhausted.
	ClassTransient
	// ClassPermanent: dead-letter with the reason. Retrying cannot help.
	ClassPermanent
	// ClassDeferred: a dependency is missing; park the event so its partition moves on.
	ClassDeferred
	// ClassWait: the event did not fail, Zuora is unavailable or holding requests back; try again after the
	// delay without counting an attempt.
	ClassWait
)

func (c Class) String() string {
	switch c {
	case ClassSuccess:
		return "success"
	case ClassTransient:
		return "transient"
	case ClassPermanent:
		return "permanent"
	case ClassDeferred:
		return "deferred"
	case ClassWait:
		return "wait"
	}
	return "unknown"
}

// MaxRetryDelay bounds how long one Retry-After may hold an event (and its partition) back: a longer one is not
// waited out in one go, the event is tried again by then.
const MaxRetryDelay = 5 * time.Minute

// Classify maps a handler error onto the fate of its event, and the least delay before a retry. The outermost
// error that states a behaviour decides. Errors that state none are transient: retrying a bug a few times costs
// little, while dead-lettering a passing network fault on first sight would lose work until someone redrives it.
func Classify(err error) (Class, time.Duration) {
	if err == nil {
		return ClassSuccess, 0
	}
	for e := range walk(err) {
		if p, ok := e.(permanent); ok && p.Permanent() {
			return ClassPermanent, 0
		}
		if d, ok := e.(deferred); ok && d.Deferred() {
			return ClassDeferred, 0
		}
		if u, ok := e.(unavailable); ok && u.Unavailable() {
			var delay time.Duration
			if r, ok := e.(retryDelayer); ok {
				delay = min(max(r.RetryDelay(), 0), MaxRetryDelay)
			}
			return ClassWait, delay
		}
		if r, ok := e.(retryDelayer); ok {
			return ClassTransient, min(max(r.RetryDelay(), 0), MaxRetryDelay)
		}
	}
	return ClassTransient, 0
}

// walk yields err and everything it wraps, depth first (errors.Join and multi-%w included).
func walk(err error) func(yield func(error) bool) {
	return func(yield func(error) bool) {
		var visit func(error) bool
		visit = func(e error) bool {
			if e == nil {
				return true
			}
			if !yield(e) {
				return false
			}
			switch u := e.(type) {
			case interface{ Unwrap() error }:
				return visit(u.Unwrap())
			case interface{ Unwrap() []error }:
				for _, inner := range u.Unwrap() {
					if !visit(inner) {
						return false
					}
				}
			}
			return true
		}
		visit(err)
	}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() }
func (e *permanentError) Unwrap() error   { return e.err }
func (e *permanentError) Permanent() bool { return true }

// Permanent marks err as a failure no retry can fix: the runtime dead-letters the event with err as the reason.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

type deferError struct{ err error }

func (e *deferError) Error() string  { return e.err.Error() }
func (e *deferError) Unwrap() error  { return e.err }
func (e *deferError) Deferred() bool { return true }

// Defer marks err as a missing dependency that another event will provide: the runtime parks the event instead
// of blocking its partition.
func Defer(err error) error {
	if err == nil {
		return nil
	}
	return &deferError{err: err}
}

// IsDeferred tells whether err (or an error it wraps) asks to wait for another event.
func IsDeferred(err error) bool {
	c, _ := Classify(err)
	return c == ClassDeferred
}

type retryLaterError struct {
	err   error
	after time.Duration
}

func (e *retryLaterError) Error() string             { return e.err.Error() }
func (e *retryLaterError) Unwrap() error             { return e.err }
func (e *retryLaterError) RetryDelay() time.Duration { return e.after }

// RetryLater marks err as transient with a least delay before the next attempt.
func RetryLater(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryLaterError{err: err, after: after}
}

// ErrPanic is wrapped by the error Recover makes of a handler's panic.
var ErrPanic = errors.New("handler panicked")
