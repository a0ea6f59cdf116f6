package ratelimit

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header parsing is deliberately forgiving: Zuora documents the IETF RateLimit draft shape
// (`ratelimit-limit: 2250000, 50000;w=60, ...`), older responses and proxies may send something else, and a
// malformed header must never stop a request or panic. Anything that does not parse is reported as absent.

// maxHeaderSeconds caps second counts read from headers, so junk cannot overflow a time.Duration.
const maxHeaderSeconds = 7 * 24 * 60 * 60

// maxHeaderInt clamps any number read from a header (2^53: exact in a float64, far above any real limit).
const maxHeaderInt = 1 << 53

// Window is one quota window of a `RateLimit-Limit` header: Limit requests per Seconds.
type Window struct {
	Limit   int64
	Seconds int64
}

// RateLimitInfo is what the `RateLimit-*` response headers say about the window closest to exhaustion.
type RateLimitInfo struct {
	Limit        int64 // first, unparameterised item of RateLimit-Limit; 0 when absent
	Windows      []Window
	Remaining    int64
	HasRemaining bool
	Reset        time.Duration
	HasReset     bool
}

// ParseRateLimit reads `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.
func ParseRateLimit(h http.Header) RateLimitInfo {
	var info RateLimitInfo
	info.Limit, info.Windows = parseLimitList(h.Get("RateLimit-Limit"))
	if v, ok := firstInt(h.Get("RateLimit-Remaining")); ok {
		info.Remaining, info.HasRemaining = v, true
	}
	if v, ok := firstInt(h.Get("RateLimit-Reset")); ok {
		info.Reset, info.HasReset = time.Duration(min(v, maxHeaderSeconds))*time.Second, true
	}
	return info
}

// parseLimitList parses `2250000, 50000;w=60, 2250000;w=3600`: the leading bare number is the limit of the window
// closest to exhaustion, the `;w=` items describe each window.
func parseLimitList(v string) (limit int64, windows []Window) {
	for item := range strings.SplitSeq(v, ",") {
		parts := strings.Split(item, ";")
		n, ok := parseNonNegInt(parts[0])
		if !ok {
			continue
		}
		w := int64(-1)
		for _, p := range parts[1:] {
			k, val, found := strings.Cut(strings.TrimSpace(p), "=")
			if found && strings.EqualFold(strings.TrimSpace(k), "w") {
				if s, ok := parseNonNegInt(val); ok {
					w = s
				}
			}
		}
		if w < 0 {
			if limit == 0 {
				limit = n
			}
			continue
		}
		windows = append(windows, Window{Limit: n, Seconds: w})
	}
	return limit, windows
}

// firstInt reads the first item of a possibly list-valued header (`399` or `399, 10;w=60`).
func firstInt(v string) (int64, bool) {
	item, _, _ := strings.Cut(v, ",")
	item, _, _ = strings.Cut(item, ";")
	return parseNonNegInt(item)
}

func parseNonNegInt(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err == nil {
		return n, n >= 0
	}
	// Some gateways send "600.0"; absurdly large values are clamped rather than dropped. Only plain decimal
	// numbers count: ParseFloat would also take "inf", "NaN" and hex floats, which no limit header means.
	if strings.ContainsFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' }) {
		return 0, false
	}
	f, ferr := strconv.ParseFloat(s, 64)
	if ferr != nil && !errors.Is(ferr, strconv.ErrRange) || math.IsNaN(f) || f < 0 {
		return 0, false
	}
	return int64(min(f, maxHeaderInt)), true
}

// ParseRetryAfter reads a `Retry-After` value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3). A date in the
// past yields 0. The result is capped at a week.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, ok := parseNonNegInt(v); ok {
		return time.Duration(min(n, maxHeaderSeconds)) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return min(d, maxHeaderSeconds*time.Second), true
}

// ConcurrencyInfo is what the `Concurrency-Limit-*` response headers say.
type ConcurrencyInfo struct {
	Type         string // raw Concurrency-Limit-Type
	Class        Class  // Class named by Type; "" when Type is absent or unknown
	Limit        int64
	HasLimit     bool
	Remaining    int64
	HasRemaining bool
}

// ParseConcurrency reads `Concurrency-Limit-Type`, `Concurrency-Limit-Limit` and `Concurrency-Limit-Remaining`.
func ParseConcurrency(h http.Header) ConcurrencyInfo {
	info := ConcurrencyInfo{Type: strings.TrimSpace(h.Get("Concurrency-Limit-Type"))}
	info.Class = classFromLimitType(info.Type)
	if v, ok := firstInt(h.Get("Concurrency-Limit-Limit")); ok {
		info.Limit, info.HasLimit = v, true
	}
	if v, ok := firstInt(h.Get("Concurrency-Limit-Remaining")); ok {
		info.Remaining, info.HasRemaining = v, true
	}
	return info
}

// classFromLimitType maps Zuora's documented type names ("Default", "High-volume transactions",
// "Object Query") onto classes, ignoring case, spaces, hyphens and underscores.
func classFromLimitType(t string) Class {
	norm := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '_', '\t':
			return -1
		}
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, t)
	switch {
	case norm == "":
		return ""
	case norm == "default":
		return ClassDefault
	case strings.HasPrefix(norm, "highvolume"):
		return ClassHighVolume
	case strings.HasPrefix(norm, "objectquery"):
		return ClassObjectQuery
	}
	return ""
}
