// Package ratelimit is an http.RoundTripper that keeps the client inside Zuora's limits: a requests-per-minute
// budget (golang.org/x/time/rate), a pool of in-flight slots per Zuora concurrency class, pauses taken from
// response headers (RateLimit-*, Concurrency-Limit-*, Retry-After) and one circuit breaker per API surface.
//
// A request waits in its class's queue while the slots are taken. It is sent again only after a 429 that the
// limiter answered by lowering the class's slots (adaptive.go): Zuora refused it before doing anything, so it
// queues again instead of failing. Otherwise it goes out once or fails fast with *OpenError / *PausedError (or
// the context's error), and retrying is the caller's decision.
//
// Several instances share one tenant's budget through SetShare, which Join keeps up to date from a JetStream KV
// registry of live instances (instances.go).
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/time/rate"
)

// Config tunes a Limiter. Zero values take the defaults noted on each field.
type Config struct {
	// RequestsPerMinute is the API budget; default 2500 (Zuora API Sandbox; production tenants allow 50,000).
	RequestsPerMinute int
	// Burst is how many requests may go out at once from a full bucket; default RequestsPerMinute/60 (min 1).
	Burst int
	// AuthRequestsPerMinute budgets POST /oauth/token; default 100 (Zuora's per-IP AUTH limit).
	AuthRequestsPerMinute int
	// Concurrency is the slot count per class; missing classes default to Default 40, HighVolume 200,
	// ObjectQuery 80 (Zuora's documented tenant limits). ClassAuth takes no slots. These are the tenant's
	// limits: instances sharing the tenant divide them (SetShare).
	Concurrency map[Class]int
	// InitialConcurrency is the window each class starts with before Zuora has answered (slow start: it grows
	// by one per answer while full, up to the share); default 1. An announced Concurrency-Limit-Limit opens it.
	InitialConcurrency int
	// ProbeInterval is how often a class whose window a 429 lowered tries one more slot; default 30s.
	ProbeInterval time.Duration

	// A surface's breaker opens after BreakerConsecutiveFailures failures in a row (default 5), or when at
	// least BreakerMinRequests (default 20) requests in the current BreakerInterval (default 60s) failed at a
	// ratio of BreakerFailureRatio or more (default 0.5). Failures are 5xx, transport errors and timeouts.
	BreakerConsecutiveFailures uint32
	BreakerFailureRatio        float64
	BreakerMinRequests         uint32
	BreakerInterval            time.Duration
	// BreakerOpenTimeout is how long a breaker stays open before letting probes through; default 30s.
	BreakerOpenTimeout time.Duration
	// BreakerHalfOpenRequests is how many probes a half-open breaker admits; default 1.
	BreakerHalfOpenRequests uint32

	// MaxPause caps any pause taken from response headers; default 1h.
	MaxPause time.Duration
	// DefaultRetryAfter is the pause after a 429 that carries no Retry-After or RateLimit-Reset; default 1s.
	DefaultRetryAfter time.Duration

	Logger *slog.Logger
	// Registerer receives the limiter's gauges (in-flight, slots, pauses, breaker states); nil = no metrics.
	Registerer prometheus.Registerer
}

// defaultConcurrency holds Zuora's documented per-tenant concurrency limits.
var defaultConcurrency = map[Class]int{ClassDefault: 40, ClassHighVolume: 200, ClassObjectQuery: 80}

func (c Config) withDefaults() Config {
	if c.RequestsPerMinute <= 0 {
		c.RequestsPerMinute = 2500
	}
	if c.Burst <= 0 {
		c.Burst = max(c.RequestsPerMinute/60, 1)
	}
	if c.AuthRequestsPerMinute <= 0 {
		c.AuthRequestsPerMinute = 100
	}
	conc := make(map[Class]int, len(defaultConcurrency))
	for cl, n := range defaultConcurrency {
		conc[cl] = n
		if v := c.Concurrency[cl]; v > 0 {
			conc[cl] = v
		}
	}
	c.Concurrency = conc
	if c.InitialConcurrency <= 0 {
		c.InitialConcurrency = 1
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = 30 * time.Second
	}
	if c.BreakerConsecutiveFailures == 0 {
		c.BreakerConsecutiveFailures = 5
	}
	if c.BreakerFailureRatio <= 0 {
		c.BreakerFailureRatio = 0.5
	}
	if c.BreakerMinRequests == 0 {
		c.BreakerMinRequests = 20
	}
	if c.BreakerInterval <= 0 {
		c.BreakerInterval = time.Minute
	}
	if c.BreakerOpenTimeout <= 0 {
		c.BreakerOpenTimeout = 30 * time.Second
	}
	if c.BreakerHalfOpenRequests == 0 {
		c.BreakerHalfOpenRequests = 1
	}
	if c.MaxPause <= 0 {
		c.MaxPause = time.Hour
	}
	if c.DefaultRetryAfter <= 0 {
		c.DefaultRetryAfter = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

type breaker = gobreaker.TwoStepCircuitBreaker[struct{}]

// classState is one concurrency class. sem is its queue; the other fields are guarded by Limiter.mu.
type classState struct {
	configured int // Config.Concurrency: the tenant's limit
	sem        *semaphore

	reported int       // last Concurrency-Limit-Limit (0: never announced)
	window   int       // slow start's bound for this instance (adaptive.go)
	learned  int       // the tenant's limit as a 429 taught it (0: none); grows by probes
	changed  time.Time // last change of window or learned
}

// Limiter holds the shared state for one Zuora tenant; every transport it makes draws from the same budgets.
// It starts no goroutines.
type Limiter struct {
	cfg     Config
	log     *slog.Logger
	api     *rate.Limiter
	auth    *rate.Limiter
	classes map[Class]*classState

	mu          sync.Mutex
	pausedUntil time.Time           // all API classes
	classPause  map[Class]time.Time // per class, including ClassAuth
	breakers    map[Surface]*breaker
	instances   int // instances sharing the tenant's budget (SetShare), ≥ 1
	rank        int // this instance's place among them, 0-based

	lastAdmit atomic.Int64 // unix nanoseconds of the last API request admitted (Active)
}

// New returns a Limiter configured by cfg (defaults applied).
func New(cfg Config) *Limiter {
	cfg = cfg.withDefaults()
	l := &Limiter{
		cfg:        cfg,
		log:        cfg.Logger,
		api:        rate.NewLimiter(rate.Limit(float64(cfg.RequestsPerMinute)/60), cfg.Burst),
		auth:       rate.NewLimiter(rate.Limit(float64(cfg.AuthRequestsPerMinute)/60), max(cfg.AuthRequestsPerMinute/60, 1)),
		classes:    make(map[Class]*classState, len(cfg.Concurrency)),
		classPause: make(map[Class]time.Time),
		breakers:   make(map[Surface]*breaker),
		instances:  1,
	}
	for cl, n := range cfg.Concurrency {
		w := min(cfg.InitialConcurrency, n)
		l.classes[cl] = &classState{configured: n, window: w, sem: newSemaphore(w)}
	}
	l.register(cfg.Registerer)
	return l
}

// errNotAttempted tells the breaker a request never reached Zuora (it waited and gave up), so it is neither a
// success nor a failure.
var errNotAttempted = errors.New("ratelimit: request not attempted")

// errServerStatus marks a 5xx response as a breaker failure.
var errServerStatus = errors.New("ratelimit: server error status")

func (l *Limiter) breaker(s Surface) *breaker {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.breakers[s]; ok {
		return b
	}
	cfg := l.cfg
	b := gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        string(s),
		MaxRequests: cfg.BreakerHalfOpenRequests,
		Interval:    cfg.BreakerInterval,
		Timeout:     cfg.BreakerOpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			if c.ConsecutiveFailures >= cfg.BreakerConsecutiveFailures {
				return true
			}
			return c.Requests >= cfg.BreakerMinRequests &&
				float64(c.TotalFailures)/float64(c.Requests) >= cfg.BreakerFailureRatio
		},
		OnStateChange: func(name string, from, to gobreaker.State) {
			lvl := slog.LevelInfo
			if to == gobreaker.StateOpen {
				lvl = slog.LevelWarn
			}
			l.log.Log(context.Background(), lvl, "zuora circuit breaker state change",
				"surface", name, "from", from.String(), "to", to.String())
		},
		// A caller giving up (cancel) says nothing about Zuora's health; a deadline hit mid-request does.
		IsExcluded: func(err error) bool {
			return errors.Is(err, errNotAttempted) || errors.Is(err, context.Canceled)
		},
	})
	l.breakers[s] = b
	return b
}

// admit waits for pauses to end, then for a rate token, then in the class's queue for a slot. It fails fast
// with a *PausedError when a pause or the rate wait would outlast the context's deadline, and with one when the
// deadline passes in the queue. inFlight is how many requests of the class were out with this one.
func (l *Limiter) admit(ctx context.Context, class Class) (release func(), inFlight int, err error) {
	if err := l.waitPause(ctx, class); err != nil {
		return nil, 0, err
	}
	lim := l.api
	if class == ClassAuth {
		lim = l.auth
	}
	if err := waitRate(ctx, lim, class); err != nil {
		return nil, 0, err
	}
	cs, ok := l.classes[class]
	if !ok { // ClassAuth: Zuora does not count token requests against a concurrency limit.
		return func() {}, 0, nil
	}
	queued := time.Now()
	l.lastAdmit.Store(queued.UnixNano())
	n, err := cs.sem.acquire(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		// Not the event's failure: every slot stayed taken until the deadline. Try again about as late.
		size, _, waiting := cs.sem.stats()
		return nil, 0, &PausedError{Class: class, Until: time.Now().Add(min(time.Since(queued), l.cfg.DefaultRetryAfter)),
			Reason: fmt.Sprintf("all %d %s slots taken until the deadline, %d waiting", size, class, waiting), cause: err}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("ratelimit: waiting for a %s slot: %w", class, err)
	}
	return cs.sem.release, n, nil
}

func (l *Limiter) pauseFor(class Class) (until time.Time, reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if class != ClassAuth && l.pausedUntil.After(until) {
		until, reason = l.pausedUntil, "tenant rate limit"
	}
	if cu := l.classPause[class]; cu.After(until) {
		until, reason = cu, string(class)+" limit"
	}
	return until, reason
}

func (l *Limiter) waitPause(ctx context.Context, class Class) error {
	for {
		until, reason := l.pauseFor(class)
		wait := time.Until(until)
		if wait <= 0 {
			return nil
		}
		if dl, ok := ctx.Deadline(); ok && dl.Before(until) {
			return &PausedError{Class: class, Until: until, Reason: reason}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("ratelimit: paused by Zuora (%s): %w", reason, ctx.Err())
		case <-t.C:
			// Loop: the pause may have been extended meanwhile.
		}
	}
}

func waitRate(ctx context.Context, lim *rate.Limiter, class Class) error {
	now := time.Now()
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return fmt.Errorf("ratelimit: %s budget cannot admit a request", class)
	}
	delay := r.DelayFrom(now)
	if delay <= 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && dl.Before(now.Add(delay)) {
		r.CancelAt(now)
		return &PausedError{Class: class, Until: now.Add(delay), Reason: "requests-per-minute budget"}
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		r.Cancel()
		return fmt.Errorf("ratelimit: waiting for the %s budget: %w", class, ctx.Err())
	case <-t.C:
		return nil
	}
}

// observe adapts to what Zuora said in a response to a request sent with inFlight requests of its class out. It
// reports whether the request should be queued again (a concurrency 429 the lowered slots explain).
func (l *Limiter) observe(class Class, resp *http.Response, inFlight int) (requeue bool) {
	now := time.Now()
	h := resp.Header
	status := resp.StatusCode
	retryAfter, hasRetryAfter := ParseRetryAfter(h.Get("Retry-After"), now)

	if class == ClassAuth {
		// The token endpoint has its own budget; its X-RateLimit-*-minute headers say nothing about the API.
		if status == http.StatusTooManyRequests {
			l.pauseClass(ClassAuth, orDefault(retryAfter, hasRetryAfter, l.cfg.DefaultRetryAfter), "token endpoint 429")
		}
		return false
	}

	rl := ParseRateLimit(h)
	exhausted := rl.HasRemaining && rl.Remaining == 0
	if exhausted && rl.HasReset && rl.Reset > 0 {
		l.pauseAll(rl.Reset, "RateLimit-Remaining is 0")
	}

	ci := ParseConcurrency(h)
	target := class
	if ci.Class != "" {
		target = ci.Class
	}
	if ci.HasLimit && ci.Limit > 0 {
		l.setReported(target, int(min(ci.Limit, 1<<20)))
	}

	limited := status == http.StatusTooManyRequests || (status == http.StatusServiceUnavailable && hasRetryAfter)
	if !limited {
		if status < 500 {
			l.answered(class, inFlight)
		}
		return false
	}
	// A 429 with no exhausted rate window is a concurrency limit when Zuora said nothing about concurrency (the
	// Quickstart API never does) or said none remained.
	concurrency := status == http.StatusTooManyRequests && !exhausted && target == class &&
		(!ci.HasRemaining && !ci.HasLimit || ci.HasRemaining && ci.Remaining == 0)
	if concurrency && l.refused(class) {
		return true
	}
	d := retryAfter
	if !hasRetryAfter {
		d = l.cfg.DefaultRetryAfter
		if rl.HasReset && rl.Reset > 0 {
			d = rl.Reset
		}
	}
	if exhausted {
		l.pauseAll(d, fmt.Sprintf("HTTP %d, rate limit", status))
	} else {
		l.pauseClass(target, d, fmt.Sprintf("HTTP %d", status))
	}
	return false
}

func orDefault(d time.Duration, ok bool, def time.Duration) time.Duration {
	if ok {
		return d
	}
	return def
}

func (l *Limiter) pauseAll(d time.Duration, why string) {
	until := time.Now().Add(min(d, l.cfg.MaxPause))
	l.mu.Lock()
	extended := until.After(l.pausedUntil)
	if extended {
		l.pausedUntil = until
	}
	l.mu.Unlock()
	if extended {
		l.log.Warn("zuora requests paused", "scope", "all", "for", d, "reason", why)
	}
}

func (l *Limiter) pauseClass(class Class, d time.Duration, why string) {
	until := time.Now().Add(min(d, l.cfg.MaxPause))
	l.mu.Lock()
	extended := until.After(l.classPause[class])
	if extended {
		l.classPause[class] = until
	}
	l.mu.Unlock()
	if extended {
		l.log.Warn("zuora requests paused", "scope", string(class), "for", d, "reason", why)
	}
}

// ClassStats describes one concurrency class.
type ClassStats struct {
	Configured  int       // slots from Config
	Capacity    int       // slots now: the instance's share of the tenant's limit, or the learned window if lower
	Reported    int       // Concurrency-Limit-Limit last announced; 0 when never
	Window      int       // slow start's window (adaptive.go)
	Learned     int       // the tenant's limit a 429 taught (0: none); it grows by probes
	InFlight    int       // requests holding a slot
	Waiting     int       // requests queued for a slot
	PausedUntil time.Time // zero when not paused
}

// Stats is a snapshot of the limiter for metrics and logs.
type Stats struct {
	PausedUntil time.Time // pause of all API classes; zero when none
	Instances   int       // instances sharing the tenant's budget (SetShare)
	Rank        int       // this instance's rank among them
	Classes     map[Class]ClassStats
	Breakers    map[Surface]gobreaker.State
}

// Stats returns a snapshot of pauses, slots and breaker states.
func (l *Limiter) Stats() Stats {
	now := time.Now()
	st := Stats{Classes: make(map[Class]ClassStats, len(l.classes)+1), Breakers: map[Surface]gobreaker.State{}}
	l.mu.Lock()
	if l.pausedUntil.After(now) {
		st.PausedUntil = l.pausedUntil
	}
	pauses := make(map[Class]time.Time, len(l.classPause))
	for c, u := range l.classPause {
		if u.After(now) {
			pauses[c] = u
		}
	}
	breakers := make(map[Surface]*breaker, len(l.breakers))
	for s, b := range l.breakers {
		breakers[s] = b
	}
	st.Instances, st.Rank = l.instances, l.rank
	for c, cs := range l.classes {
		size, inUse, waiting := cs.sem.stats()
		st.Classes[c] = ClassStats{Configured: cs.configured, Capacity: size, InFlight: inUse, Waiting: waiting,
			PausedUntil: pauses[c], Reported: cs.reported, Window: cs.window, Learned: cs.learned}
	}
	l.mu.Unlock()

	st.Classes[ClassAuth] = ClassStats{PausedUntil: pauses[ClassAuth]}
	for s, b := range breakers {
		st.Breakers[s] = b.State()
	}
	return st
}

// BreakerState reports the state of a surface's breaker (closed for surfaces not seen yet).
func (l *Limiter) BreakerState(s Surface) gobreaker.State {
	l.mu.Lock()
	b, ok := l.breakers[s]
	l.mu.Unlock()
	if !ok {
		return gobreaker.StateClosed
	}
	return b.State()
}
