package zuorasim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// concurrencyClass is one of Zuora's concurrency limit types.
type concurrencyClass int

const (
	classDefault concurrencyClass = iota
	classHighVolume
	classObjectQuery
)

// String is the value of the Concurrency-Limit-Type header.
func (c concurrencyClass) String() string {
	switch c {
	case classHighVolume:
		return "High-volume transactions"
	case classObjectQuery:
		return "Object Query"
	default:
		return "Default"
	}
}

// classify maps a request to its concurrency class. Quickstart (/v2) and object queries count as Object Query;
// the high-volume list is Zuora's (create account/order/subscription, order preview, RSA signatures, payments).
func classify(method, path string) concurrencyClass {
	switch {
	case strings.HasPrefix(path, "/v2/"), strings.HasPrefix(path, "/object-query/"),
		strings.HasPrefix(path, "/v1/object-query/"):
		return classObjectQuery
	case path == "/v1/rsa-signatures", path == "/v1/orders/preview", path == "/v1/async/orders/preview",
		strings.HasPrefix(path, "/v1/payments"):
		return classHighVolume
	case method == http.MethodPost && (path == "/v1/accounts" || path == "/v1/orders" || path == "/v1/async/orders" ||
		path == "/v1/subscriptions" || path == "/v1/subscriptions/preview"):
		return classHighVolume
	case method == http.MethodPut && strings.HasPrefix(path, "/v1/subscriptions/") &&
		(strings.HasSuffix(path, "/cancel") || strings.HasSuffix(path, "/renew") || strings.Count(path, "/") == 3):
		return classHighVolume
	}
	return classDefault
}

// nominalRateLimit is what the RateLimit-* headers report when no budget is configured: Zuora's production
// API limit per minute.
const nominalRateLimit = 50000

// limiter enforces a fixed-window per-minute request budget (windows aligned on minutes of simulated time) and
// per-class concurrency.
type limiter struct {
	mu       sync.Mutex
	limits   Limits
	window   time.Time
	used     int
	inflight [3]int
}

func newLimiter(l Limits) *limiter { return &limiter{limits: l} }

func (l *limiter) set(lim Limits) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limits = lim
	l.window, l.used = time.Time{}, 0
}

func (l *limiter) current() Limits {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limits
}

// rateDecision is the outcome of taking one request from the budget.
type rateDecision struct {
	allowed   bool
	limit     int
	remaining int
	reset     int // seconds until the window resets (≥1)
}

func (l *limiter) take(now time.Time) rateDecision {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := now.Truncate(time.Minute)
	if !w.Equal(l.window) {
		l.window, l.used = w, 0
	}
	reset := int(w.Add(time.Minute).Sub(now).Seconds() + 0.999)
	reset = max(reset, 1)
	limit := l.limits.RequestsPerMinute
	enforced := limit > 0
	if !enforced {
		limit = nominalRateLimit
	}
	if enforced && l.used >= limit {
		// Rejected requests still count, as Zuora documents; the counter just stays saturated.
		return rateDecision{allowed: false, limit: limit, remaining: 0, reset: reset}
	}
	l.used++
	return rateDecision{allowed: true, limit: limit, remaining: max(limit-l.used, 0), reset: reset}
}

// peek reports the budget without consuming from it.
func (l *limiter) peek(now time.Time) rateDecision {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := now.Truncate(time.Minute)
	used := l.used
	if !w.Equal(l.window) {
		used = 0
	}
	limit := l.limits.RequestsPerMinute
	if limit <= 0 {
		limit = nominalRateLimit
	}
	reset := max(int(w.Add(time.Minute).Sub(now).Seconds()+0.999), 1)
	return rateDecision{allowed: true, limit: limit, remaining: max(limit-used, 0), reset: reset}
}

func (l *limiter) classLimit(c concurrencyClass) int {
	switch c {
	case classHighVolume:
		return l.limits.HighVolume
	case classObjectQuery:
		return l.limits.ObjectQuery
	default:
		return l.limits.Default
	}
}

// acquire takes a concurrency slot. It returns the class limit, the slots remaining after taking this one, and
// whether a slot was available. A negative limit means unlimited.
func (l *limiter) acquire(c concurrencyClass) (limit, remaining int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	limit = l.classLimit(c)
	if limit >= 0 && l.inflight[c] >= limit {
		return limit, 0, false
	}
	l.inflight[c]++
	if limit < 0 {
		return limit, -1, true
	}
	return limit, limit - l.inflight[c], true
}

func (l *limiter) release(c concurrencyClass) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inflight[c] > 0 {
		l.inflight[c]--
	}
}

// setRateHeaders writes the IETF-draft RateLimit-* headers Zuora sends on every response.
func setRateHeaders(h http.Header, d rateDecision) {
	h.Set("RateLimit-Limit", fmt.Sprintf("%d, %d;w=60", d.limit, d.limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(d.remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(d.reset))
}

// setConcurrencyHeaders writes the Concurrency-Limit-* headers of /v1 responses. Unlimited classes report the
// documented default so clients always see numbers.
func setConcurrencyHeaders(h http.Header, c concurrencyClass, limit, remaining int) {
	if limit < 0 {
		limit, remaining = defaultFor(c), defaultFor(c)
	}
	h.Set("Concurrency-Limit-Type", c.String())
	h.Set("Concurrency-Limit-Limit", strconv.Itoa(limit))
	h.Set("Concurrency-Limit-Remaining", strconv.Itoa(remaining))
}

func defaultFor(c concurrencyClass) int {
	switch c {
	case classHighVolume:
		return DefaultConcurrencyHighVolume
	case classObjectQuery:
		return DefaultConcurrencyObjectQuery
	default:
		return DefaultConcurrencyDefault
	}
}
