package consumer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrLeaseLost is the cause of a handler's cancellation when its hold on the event may have lapsed: the server
// redelivers an event whose ack deadline passed, so another instance may be handling it (or the next event of
// its key) already. A paused process (GC, SIGSTOP, a frozen VM) must not write to Zuora after that.
var ErrLeaseLost = errors.New("lease on the event lost: its ack deadline may have passed")

// lease tracks the ack deadline of one message. The heartbeat (InProgress every AckWait/3) renews it; a failed
// heartbeat, or a renewal that comes too late, ends it: the handler's context is cancelled and every further
// Zuora call is refused by the fence.
type lease struct {
	ackWait time.Duration
	cancel  context.CancelCauseFunc
	now     func() time.Time

	mu      sync.Mutex
	renewed time.Time
	lost    error
	// onRenew, when set, runs after each successful renewal (the ordering guard extends its claim on the key).
	onRenew func()
}

// alsoRenew makes every later renewal run fn too.
func (l *lease) alsoRenew(fn func()) {
	l.mu.Lock()
	l.onRenew = fn
	l.mu.Unlock()
}

// safetyMargin is kept between the last renewal and the server's deadline, for clock steps and the time a
// renewal takes to reach the server.
const safetyMargin = 0.2

func newLease(ctx context.Context, ackWait time.Duration) (context.Context, *lease) {
	ctx, cancel := context.WithCancelCause(ctx)
	return ctx, &lease{ackWait: ackWait, cancel: cancel, now: time.Now, renewed: time.Now()}
}

// check is the fence: nil while the lease holds.
func (l *lease) check() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost == nil && l.now().Sub(l.renewed) > time.Duration(float64(l.ackWait)*(1-safetyMargin)) {
		l.lost = fmt.Errorf("%w: last renewed %s ago, ack wait %s", ErrLeaseLost, l.now().Sub(l.renewed).Round(time.Millisecond), l.ackWait)
		l.cancel(l.lost)
	}
	return l.lost
}

func (l *lease) renewedAt(t time.Time) {
	l.mu.Lock()
	l.renewed = t
	l.mu.Unlock()
}

func (l *lease) lose(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost == nil {
		l.lost = fmt.Errorf("%w: %w", ErrLeaseLost, err)
		l.cancel(l.lost)
	}
}

// release ends the lease normally.
func (l *lease) release() { l.cancel(context.Canceled) }

// heartbeat renews the lease every AckWait/3 until stop is called. A renewal is checked against the deadline
// before it is sent: a process that slept through its deadline must not pretend it still holds the event. While
// disconnected, renewals only sit in the client's buffer, so they do not count.
func (l *lease) heartbeat(ctx context.Context, msg jetstream.Msg, connected func() bool) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	wait := every(ctx, max(l.ackWait/3, 50*time.Millisecond), func() bool {
		if l.check() != nil {
			return false
		}
		if !connected() {
			return true
		}
		sent := l.now()
		if err := msg.InProgress(); err != nil {
			l.lose(fmt.Errorf("heartbeat: %w", err))
			return false
		}
		l.renewedAt(sent)
		l.mu.Lock()
		renew := l.onRenew
		l.mu.Unlock()
		if renew != nil {
			renew()
		}
		return true
	})
	return func() { cancel(); wait() }
}

// every runs fn each period in a goroutine of its own until fn returns false or ctx ends; the returned function
// waits for that goroutine to end.
func every(ctx context.Context, period time.Duration, fn func() bool) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if !fn() {
					return
				}
			}
		}
	}()
	return func() { <-done }
}
