package ratelimit

import (
	"errors"
	"fmt"
	"time"

	"github.com/sony/gobreaker/v2"
)

// ErrBreakerOpen matches every *OpenError with errors.Is.
var ErrBreakerOpen = errors.New("ratelimit: circuit breaker open")

// OpenError is returned without contacting Zuora while the breaker of Surface is open (or half-open and already
// probing). Callers should treat it as transient.
type OpenError struct {
	Surface Surface
	State   gobreaker.State
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("ratelimit: circuit breaker for %s is %s", e.Surface, e.State)
}

// Is makes errors.Is(err, ErrBreakerOpen) true.
func (e *OpenError) Is(target error) bool { return target == ErrBreakerOpen }

// Unavailable is true: Zuora was not asked, so nothing about the request failed (the runtime waits without
// counting an attempt).
func (e *OpenError) Unavailable() bool { return true }

// PausedError is returned without contacting Zuora when the request would have to wait past its context
// deadline: Zuora asked us to hold off (Retry-After, an exhausted RateLimit window) or the local requests-per-
// minute budget is spent. Until says when requests of Class may flow again.
type PausedError struct {
	Class  Class
	Until  time.Time
	Reason string
	cause  error // context.DeadlineExceeded when the deadline passed in the queue
}

// Unwrap is the context's error when the request waited in its class's queue until the deadline.
func (e *PausedError) Unwrap() error { return e.cause }

func (e *PausedError) Error() string {
	return fmt.Sprintf("ratelimit: %s requests held for %s (%s)", e.Class, e.RetryAfter().Round(time.Millisecond), e.Reason)
}

// RetryAfter is how long from now the pause lasts (never negative).
func (e *PausedError) RetryAfter() time.Duration { return max(time.Until(e.Until), 0) }

// Unavailable is true: the request was held back for Zuora's limits and never sent.
func (e *PausedError) Unavailable() bool { return true }

// RetryDelay is RetryAfter, for callers that decide by behaviour.
func (e *PausedError) RetryDelay() time.Duration { return e.RetryAfter() }
