package ratelimit

import (
	"fmt"
	"time"

	"golang.org/x/time/rate"
)

// Adapting the slots of a class. Three numbers bound how many requests of a class this process sends at once:
//
//   - the tenant's limit: Config.Concurrency, lowered to Concurrency-Limit-Limit when Zuora announces one;
//   - this instance's share of it: the tenant's limit divided among the live instances (SetShare, fed by the
//     instance registry of instances.go), the remainder going to the lowest ranks, at least one slot each;
//   - the window (slow start): it starts at Config.InitialConcurrency and grows by one per answer that came back
//     while it was full, until Zuora refuses a request of the class with a 429 that no RateLimit-Remaining of 0
//     explains: a concurrency limit, announced or not (Quickstart answers carry no Concurrency-Limit-* headers).
//     From then on the tenant's limit is taken to be what this instance had in flight besides the refused
//     request (as if it had been alone: with several instances that errs low, never high), the share is taken
//     of that, and it grows again by one probe per Config.ProbeInterval.
//
// The slots are the smallest of the share and the window. A request refused that way is queued again (the
// transport sends it once a slot frees, at most maxRequeues times): Zuora did not process it, and the lower
// window is the answer to its 429, not a pause. Only a concurrency 429 the window cannot explain — this instance
// had a single request out and one slot — pauses the class for Retry-After, as any other 429 does.

// shareOf is the part of total the instance of rank (0-based) among n gets: total/n, the remainder to the lowest
// ranks, never below 1 (an instance without a slot could not make progress at all).
func shareOf(total, n, rank int) int {
	if n <= 1 {
		return max(total, 1)
	}
	s := total / n
	if rank >= 0 && rank < total%n {
		s++
	}
	return max(s, 1)
}

// tenantLimit is the class's limit for the whole tenant: configured, or lower when Zuora announced or a 429
// taught a lower one.
func (cs *classState) tenantLimit() int {
	n := cs.configured
	if cs.reported > 0 {
		n = min(n, cs.reported)
	}
	if cs.learned > 0 {
		n = min(n, cs.learned)
	}
	return n
}

// slotsLocked is the size the class's semaphore should have now. Call with l.mu held.
func (l *Limiter) slotsLocked(cs *classState) int {
	return max(min(shareOf(cs.tenantLimit(), l.instances, l.rank), cs.window), 1)
}

// applyLocked resizes the class's semaphore to slotsLocked. Call with l.mu held (the semaphore has its own lock
// and never takes l.mu).
func (l *Limiter) applyLocked(class Class, cs *classState, why string) {
	want := l.slotsLocked(cs)
	if size, _, _ := cs.sem.stats(); size == want {
		return
	}
	cs.sem.resize(want)
	l.log.Debug("zuora concurrency slots adapted", "class", string(class), "slots", want, "why", why,
		"configured", cs.configured, "reported", cs.reported, "window", cs.window, "instances", l.instances)
}

// SetShare tells the limiter that n instances (this one of rank 0..n-1) share the tenant's budget: the
// requests-per-minute budget and every class's concurrency limit are divided among them. The instance registry
// (Join) calls it; n < 1 counts as 1.
func (l *Limiter) SetShare(n, rank int) {
	n = max(n, 1)
	rank = min(max(rank, 0), n-1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if n == l.instances && rank == l.rank {
		return
	}
	l.instances, l.rank = n, rank
	rpm := float64(l.cfg.RequestsPerMinute) / float64(n)
	l.api.SetLimit(rate.Limit(rpm / 60))
	l.api.SetBurst(shareOf(l.cfg.Burst, n, rank))
	for class, cs := range l.classes {
		cs.window = min(cs.window, shareOf(cs.tenantLimit(), n, rank))
		l.applyLocked(class, cs, "instances changed")
	}
	l.log.Info("zuora budget shared among instances", "instances", n, "rank", rank,
		"requests_per_minute", int(rpm))
}

// setReported follows Concurrency-Limit-Limit (down and back up, never above the configured size). An
// announced limit needs no slow start: the window opens to this instance's share of it.
func (l *Limiter) setReported(class Class, reported int) {
	cs, ok := l.classes[class]
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if cs.reported == reported {
		return
	}
	cs.reported = reported
	cs.window = max(cs.window, shareOf(cs.tenantLimit(), l.instances, l.rank))
	l.applyLocked(class, cs, "Concurrency-Limit-Limit")
	l.log.Info("zuora concurrency limit adapted", "class", string(class), "slots", l.slotsLocked(cs),
		"configured", cs.configured, "reported", reported)
}

// refused learns from a concurrency 429 of class. Zuora still holds this instance's requests of the class that
// are in flight now, less this one (it has not released its slot yet): the tenant's limit is taken to be that
// many, or the lowest count any such 429 showed since (refused requests come back fast, the held ones only after
// Zuora's latency, so the last 429 of a burst sees about the held ones). It reports whether to queue the
// request again: yes, unless it was this instance's only request and the class already had one slot — then
// Zuora is busy with someone else's requests, and the caller pauses the class.
func (l *Limiter) refused(class Class) (requeue bool) {
	cs, ok := l.classes[class]
	if !ok {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, inFlight, _ := cs.sem.stats()
	before := l.slotsLocked(cs)
	if t := max(inFlight-1, 1); t < cs.tenantLimit() {
		cs.learned = t
		cs.window = max(cs.window, cs.configured) // slow start is over: the learned limit bounds the class now
		cs.changed = time.Now()
		l.applyLocked(class, cs, "429")
		l.log.Info("zuora concurrency limit learned from a 429", "class", string(class), "tenant_limit", t,
			"slots", l.slotsLocked(cs), "in_flight", inFlight, "before", before, "instances", l.instances)
	}
	return before > 1 || inFlight > 1
}

// answered grows the class after an answer that was not a 429, for a request sent with inFlight requests out:
// only a full class grows (by one), quickly during slow start and by one probe per ProbeInterval of the learned
// limit after a 429.
func (l *Limiter) answered(class Class, inFlight int) {
	cs, ok := l.classes[class]
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if inFlight < l.slotsLocked(cs) {
		return
	}
	now := time.Now()
	switch {
	case cs.learned > 0:
		if now.Sub(cs.changed) < l.cfg.ProbeInterval || cs.learned >= cs.configured {
			return
		}
		cs.learned++
		l.log.Debug("zuora concurrency probe", "class", string(class), "tenant_limit", cs.learned)
	case cs.window < shareOf(cs.tenantLimit(), l.instances, l.rank):
		cs.window++
	default:
		return
	}
	cs.changed = now
	l.applyLocked(class, cs, fmt.Sprintf("full class answered (%d in flight)", inFlight))
}
