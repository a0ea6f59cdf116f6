package ratelimit

import (
	"context"
	"sync"
)

// semaphore is a FIFO counting semaphore whose size can change while requests are in flight (Zuora may report
// a lower concurrency limit than configured). Shrinking never interrupts holders; it only delays new grants
// until in-flight drops below the new size.
type semaphore struct {
	mu      sync.Mutex
	size    int
	inUse   int
	waiters []chan struct{} // FIFO; a closed channel means the slot was granted
}

func newSemaphore(size int) *semaphore { return &semaphore{size: max(size, 1)} }

func (s *semaphore) acquire(ctx context.Context) error {
	s.mu.Lock()
	if s.inUse < s.size && len(s.waiters) == 0 {
		s.inUse++
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.waiters = append(s.waiters, ch)
	s.mu.Unlock()

	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		select {
		case <-ch:
			// Granted while we were giving up: hand the slot on.
			s.inUse--
			s.grantLocked()
		default:
			s.removeLocked(ch)
		}
		return ctx.Err()
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
		ch := s.waiters[0]
		s.waiters = s.waiters[1:]
		s.inUse++
		close(ch)
	}
}

func (s *semaphore) removeLocked(ch chan struct{}) {
	for i, w := range s.waiters {
		if w == ch {
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
