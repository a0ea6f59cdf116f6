package console

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// zuoraStats is what the overview shows of Zuora, read from the process's Prometheus registry.
type zuoraStats struct {
	Available bool
	Surfaces  []surfaceStats
	Classes   []classStats
	Pauses    []pauseStats
	// Calls and RateLimited are the totals since the process started; Recent* over the last Window.
	Calls, RateLimited             float64
	RecentCalls, RecentRateLimited float64
	Window                         time.Duration
}

type surfaceStats struct {
	Surface        string
	Calls, Limited float64
	Breaker        string // closed, half-open, open, or "" when the breaker has not been used
}

type classStats struct {
	Class                    string
	InFlight, Slots, Waiting float64
}

type pauseStats struct {
	Scope     string
	Remaining float64
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	}
	return 0
}

// readZuoraStats gathers the Zuora metrics of g.
func readZuoraStats(g prometheus.Gatherer) zuoraStats {
	var st zuoraStats
	if g == nil {
		return st
	}
	families, err := g.Gather()
	if err != nil && len(families) == 0 {
		return st
	}
	st.Available = true
	surfaces := map[string]*surfaceStats{}
	surface := func(name string) *surfaceStats {
		if surfaces[name] == nil {
			surfaces[name] = &surfaceStats{Surface: name}
		}
		return surfaces[name]
	}
	classes := map[string]*classStats{}
	class := func(name string) *classStats {
		if classes[name] == nil {
			classes[name] = &classStats{Class: name}
		}
		return classes[name]
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			l, v := labels(m), value(m)
			switch f.GetName() {
			case "zuorasync_zuora_calls_total":
				s := surface(l["surface"])
				s.Calls += v
				st.Calls += v
				if l["outcome"] == "rate_limited" {
					s.Limited += v
					st.RateLimited += v
				}
			case "zuorasync_zuora_breaker_state":
				surface(l["surface"]).Breaker = map[float64]string{0: "closed", 1: "half-open", 2: "open"}[v]
			case "zuorasync_zuora_inflight_requests":
				class(l["class"]).InFlight = v
			case "zuorasync_zuora_concurrency_slots":
				class(l["class"]).Slots = v
			case "zuorasync_zuora_waiting_requests":
				class(l["class"]).Waiting = v
			case "zuorasync_zuora_pause_remaining_seconds":
				st.Pauses = append(st.Pauses, pauseStats{Scope: l["scope"], Remaining: v})
			}
		}
	}
	for _, s := range surfaces {
		st.Surfaces = append(st.Surfaces, *s)
	}
	slices.SortFunc(st.Surfaces, func(a, b surfaceStats) int { return compareStrings(a.Surface, b.Surface) })
	for _, c := range classes {
		st.Classes = append(st.Classes, *c)
	}
	slices.SortFunc(st.Classes, func(a, b classStats) int { return compareStrings(a.Class, b.Class) })
	slices.SortFunc(st.Pauses, func(a, b pauseStats) int { return compareStrings(a.Scope, b.Scope) })
	return st
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// rateSampler keeps the call counters every sampleEvery for recentWindow, so the overview can show the calls and
// 429s of the last minutes rather than since the process started.
type rateSampler struct {
	g       prometheus.Gatherer
	mu      sync.Mutex
	samples []rateSample
}

type rateSample struct {
	at             time.Time
	calls, limited float64
}

const (
	sampleEvery  = 15 * time.Second
	recentWindow = 5 * time.Minute
)

func newRateSampler(g prometheus.Gatherer) *rateSampler { return &rateSampler{g: g} }

func (r *rateSampler) run(ctx context.Context) {
	if r.g == nil {
		return
	}
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	r.sample(time.Now(), readZuoraStats(r.g))
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.sample(now, readZuoraStats(r.g))
		}
	}
}

func (r *rateSampler) sample(now time.Time, st zuoraStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples = append(r.samples, rateSample{at: now, calls: st.Calls, limited: st.RateLimited})
	// Keep one sample at or before the window's start, and everything after it.
	for len(r.samples) > 2 && now.Sub(r.samples[1].at) >= recentWindow {
		r.samples = r.samples[1:]
	}
}

// recent fills st's Recent* from the oldest sample inside the window (none yet: since start).
func (r *rateSampler) recent(now time.Time, st *zuoraStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.samples) == 0 {
		return
	}
	s := r.samples[0]
	st.Window = now.Sub(s.at).Round(time.Second)
	st.RecentCalls = max(st.Calls-s.calls, 0)
	st.RecentRateLimited = max(st.RateLimited-s.limited, 0)
}
