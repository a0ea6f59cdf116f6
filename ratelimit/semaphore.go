package ratelimit

import (
	"context"
	"sync"
)

// semaphore is a FIFO counting semaphore whose size can change while requests are in flight (Zuora may report
// a lower concurrency limit than configured, a 429 may teach a lower one, other instances may join). Shrinking
// never interrupts holders; it only delays new grants until in-flight drops below the new size. It is the
// limiter's queue: a request that finds every slot of its class taken waits here, in arrival order, instead of
// going out to be refused with a 429.
type semaphore struct {
	mu      sync.Mutex
	size    int
	inUse   int
	waiters []*waiter // FIFO
}

// waiter is one queued acquire; ch is closed when the slot is granted, n is the in-flight count (this request
// included) at the grant.
type waiter struct {
	ch chan struct{}
	n  int
}

func newSemaphore(size int) *semaphore { return &semaphore{size: max(size, 1)} }

// acquire takes a slot, waiting in line while all are taken, and returns how many slots were in use with this
// one (what the limiter learns from when Zuora refuses the request).
func (s *semaphore) acquire(ctx context.Context) (int, error) {
	s.mu.Lock()
	if s.inUse < s.size && len(s.waiters) == 0 {
		s.inUse++
		n := s.inUse
		s.mu.Unlock()
		return n, nil
	}
	w := &waiter{ch: make(chan struct{})}
	s.waiters = append(s.waiters, w)
	s.mu.Unlock()

	select {
	case <-w.ch:
		return w.n, nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		select {
		case <-w.ch:
			// Granted while we were giving up: hand the slot on.
			s.inUse--
			s.grantLocked()
		default:
			s.removeLocked(w)
		}
		return 0, ctx.Err()
	}
}

func (s *semaphore) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inUse--
	s.grantLocked()
}

func (s *semaphore) resize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.size = max(n, 1)
	s.grantLocked()
}

func (s *semaphore) grantLocked() {
	for s.inUse < s.size && len(s.waiters) > 0 {
		w := s.waiters[0]
		s.waiters = s.waiters[1:]
		s.inUse++
		w.n = s.inUse
		close(w.ch)
	}
}

func (s *semaphore) removeLocked(w *waiter) {
	for i, x := range s.waiters {
		if x == w {
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			return
		}
	}
}

func (s *semaphore) stats() (size, inUse, waiting int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size, s.inUse, len(s.waiters)
}
