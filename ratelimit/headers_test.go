package ratelimit

import (
	"net/http"
	"testing"
	"time"
)

func TestParseRateLimit(t *testing.T) {
	h := http.Header{}
	h.Set("RateLimit-Limit", "2250000, 50000;w=60, 2250000;w=3600, 27000000;w=86400")
	h.Set("RateLimit-Remaining", "399")
	h.Set("RateLimit-Reset", "1200")
	got := ParseRateLimit(h)
	if got.Limit != 2250000 || len(got.Windows) != 3 || got.Windows[0] != (Window{50000, 60}) || got.Windows[2] != (Window{27000000, 86400}) {
		t.Fatalf("limit/windows = %d %v", got.Limit, got.Windows)
	}
	if !got.HasRemaining || got.Remaining != 399 || !got.HasReset || got.Reset != 1200*time.Second {
		t.Fatalf("remaining/reset = %+v", got)
	}

	junk := http.Header{}
	junk.Set("RateLimit-Limit", ";;,w=,=,-5;w=-1, abc")
	junk.Set("RateLimit-Remaining", "-1")
	junk.Set("RateLimit-Reset", "soon")
	if got := ParseRateLimit(junk); got.HasRemaining || got.HasReset || got.Limit != 0 || len(got.Windows) != 0 {
		t.Fatalf("junk parsed as %+v", got)
	}
	if got := ParseRateLimit(http.Header{}); got.HasRemaining || got.HasReset {
		t.Fatalf("empty parsed as %+v", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 120 * time.Second, true},
		{" 0 ", 0, true},
		{"1.5", time.Second, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"99999999999999999999", 7 * 24 * time.Hour, true},
		{"", 0, false},
		{"-3", 0, false},
		{"tomorrow", 0, false},
	}
	for _, c := range cases {
		got, ok := ParseRetryAfter(c.in, now)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseRetryAfter(%q) = %v,%v want %v,%v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestParseConcurrency(t *testing.T) {
	for typ, want := range map[string]Class{
		"Default":                  ClassDefault,
		"High-volume transactions": ClassHighVolume,
		"Object Query":             ClassObjectQuery,
		"object_query":             ClassObjectQuery,
		"Something new":            "",
	} {
		h := http.Header{}
		h.Set("Concurrency-Limit-Type", typ)
		h.Set("Concurrency-Limit-Limit", "40")
		h.Set("Concurrency-Limit-Remaining", "3")
		got := ParseConcurrency(h)
		if got.Class != want || !got.HasLimit || got.Limit != 40 || got.Remaining != 3 {
			t.Errorf("%q: %+v", typ, got)
		}
	}
}

// FuzzHeaders: header parsing must never panic and never report negative values, whatever Zuora (or a proxy)
// sends. The seeds run in plain `go test`.
func FuzzHeaders(f *testing.F) {
	f.Add("2250000, 50000;w=60, 2250000;w=3600, 27000000;w=86400", "399", "1200", "120", "Default", "40")
	f.Add("", "", "", "", "", "")
	f.Add(";w=;;,,", "-1", "1e309", "Wed, 21 Oct 2015 07:28:00 GMT", "High-volume transactions", "NaN")
	f.Add("5;w=99999999999999999999", "0, 5;w=60", "600.0", "9223372036854775807", "\x00\xff", "+7")
	f.Fuzz(func(t *testing.T, limit, remaining, reset, retryAfter, ctype, climit string) {
		h := http.Header{}
		h.Set("RateLimit-Limit", limit)
		h.Set("RateLimit-Remaining", remaining)
		h.Set("RateLimit-Reset", reset)
		h.Set("Concurrency-Limit-Type", ctype)
		h.Set("Concurrency-Limit-Limit", climit)
		h.Set("Concurrency-Limit-Remaining", remaining)
		rl := ParseRateLimit(h)
		if rl.Limit < 0 || rl.Remaining < 0 || rl.Reset < 0 {
			t.Fatalf("negative: %+v", rl)
		}
		for _, w := range rl.Windows {
			if w.Limit < 0 || w.Seconds < 0 {
				t.Fatalf("negative window: %+v", w)
			}
		}
		if d, _ := ParseRetryAfter(retryAfter, time.Now()); d < 0 || d > maxHeaderSeconds*time.Second {
			t.Fatalf("retry-after out of range: %v", d)
		}
		if ci := ParseConcurrency(h); ci.Limit < 0 || ci.Remaining < 0 {
			t.Fatalf("negative concurrency: %+v", ci)
		}
	})
}

func TestRetryAfterTakesOnlyPlainNumbers(t *testing.T) {
	for _, v := range []string{"inf", "Infinity", "NaN", "0x10", "1e3", "-5"} {
		if d, ok := ParseRetryAfter(v, time.Now()); ok {
			t.Errorf("Retry-After %q parsed as %s; junk must count as absent", v, d)
		}
	}
	if d, ok := ParseRetryAfter("600.0", time.Now()); !ok || d != 10*time.Minute {
		t.Errorf(`"600.0" = %s %v, want 10m`, d, ok)
	}
}
