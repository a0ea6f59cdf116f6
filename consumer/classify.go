package consumer

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// Class is what the runtime does with a message after a handler returned.
type Class int

const (
	// ClassSuccess: publish outcomes, then ack.
	ClassSuccess Class = iota
	// ClassTransient: NakWithDelay with backoff; dead-lettered once attempts are exhausted.
	ClassTransient
	// ClassPermanent: dead-letter with the reason, then Term. Retrying cannot help.
	ClassPermanent
	// ClassDeferred: a dependency is missing; park the event so its partition moves on (defer.go).
	ClassDeferred
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
	}
	return "unknown"
}

// PermanentError marks a failure that no retry can fix (bad input, a Zuora validation error).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so the runtime dead-letters the event instead of retrying it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// RetryLaterError marks a failure that will resolve by waiting, such as a dependency that has not been synced yet
// (a subscription whose customer has no Zuora account so far).
type RetryLaterError struct {
	Err   error
	After time.Duration // minimum delay before the next attempt; 0 means the normal backoff
}

func (e *RetryLaterError) Error() string { return e.Err.Error() }
func (e *RetryLaterError) Unwrap() error { return e.Err }

// RetryLater wraps err as transient with a minimum delay.
func RetryLater(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &RetryLaterError{Err: err, After: after}
}

// maxRetryAfterFloor bounds how long one Zuora Retry-After may hold an event (and its partition) back.
const maxRetryAfterFloor = 5 * time.Minute

// Classify maps a handler error onto the fate of its message, and the least delay Zuora asked for.
// Unknown errors are transient: retrying a bug a few times costs little, while dead-lettering a passing network
// fault on first sight would lose work until someone redrives it.
func Classify(err error) (Class, time.Duration) {
	if err == nil {
		return ClassSuccess, 0
	}
	var perm *PermanentError
	if errors.As(err, &perm) {
		return ClassPermanent, 0
	}
	var deferred *DeferError
	if errors.As(err, &deferred) {
		return ClassDeferred, 0
	}
	var later *RetryLaterError
	if errors.As(err, &later) {
		return ClassTransient, later.After
	}
	var verr *events.ValidationError
	if errors.As(err, &verr) || errors.Is(err, events.ErrUnknownType) {
		return ClassPermanent, 0
	}
	var zerr *zuoraapi.Error
	if errors.As(err, &zerr) {
		if zuoraapi.IsRejection(zerr) {
			return ClassPermanent, 0
		}
		// Everything else — rate limits, outages, auth trouble, answers we could not read — may pass. A
		// Retry-After beyond the backoff cap is not waited out in one go: the event is tried again by then.
		return ClassTransient, min(zerr.RetryAfter, maxRetryAfterFloor)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return ClassTransient, 0
	}
	return ClassTransient, 0
}

// Backoff computes retry delays: exponential growth with jitter, never below what Zuora asked for.
type Backoff struct {
	Base time.Duration
	Max  time.Duration
}

// DefaultBackoff starts around a second and caps at five minutes.
func DefaultBackoff() Backoff { return Backoff{Base: time.Second, Max: 5 * time.Minute} }

// Delay for the given attempt (1-based), with floor as the minimum (e.g. Retry-After).
func (b Backoff) Delay(attempt int, floor time.Duration) time.Duration {
	ceiling := b.Base
	for i := 1; i < attempt && ceiling < b.Max; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, b.Max)
	// Jitter over the upper half of the window spreads retries of partitions that failed together (a Zuora
	// outage) while still letting the delay grow with every attempt.
	d := time.Duration(rand.Int64N(int64(ceiling)/2+1)) + ceiling/2
	return max(d, floor)
}
