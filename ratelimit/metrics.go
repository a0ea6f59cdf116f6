package ratelimit

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
)

// collector exports Stats as gauges, read at scrape time (no goroutine, no bookkeeping on the request path).
type collector struct {
	l        *Limiter
	inFlight *prometheus.Desc
	slots    *prometheus.Desc
	waiting  *prometheus.Desc
	paused   *prometheus.Desc
	breaker  *prometheus.Desc
}

func newCollector(l *Limiter) *collector {
	return &collector{
		l:        l,
		inFlight: prometheus.NewDesc("zuorasync_zuora_inflight_requests", "Zuora requests holding a concurrency slot.", []string{"class"}, nil),
		slots:    prometheus.NewDesc("zuorasync_zuora_concurrency_slots", "Current concurrency slots per class (after adapting to Concurrency-Limit-Limit).", []string{"class"}, nil),
		waiting:  prometheus.NewDesc("zuorasync_zuora_waiting_requests", "Zuora requests queued for a concurrency slot.", []string{"class"}, nil),
		paused:   prometheus.NewDesc("zuorasync_zuora_pause_remaining_seconds", "Seconds until Zuora requests of the scope may flow again (0 = not paused).", []string{"scope"}, nil),
		breaker:  prometheus.NewDesc("zuorasync_zuora_breaker_state", "Circuit breaker state per surface: 0 closed, 1 half-open, 2 open.", []string{"surface"}, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.inFlight, c.slots, c.waiting, c.paused, c.breaker} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.l.Stats()
	remaining := func(t time.Time) float64 { return max(time.Until(t).Seconds(), 0) }
	ch <- prometheus.MustNewConstMetric(c.paused, prometheus.GaugeValue, remaining(st.PausedUntil), "all")
	for class, cs := range st.Classes {
		ch <- prometheus.MustNewConstMetric(c.paused, prometheus.GaugeValue, remaining(cs.PausedUntil), string(class))
		if class == ClassAuth {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(cs.InFlight), string(class))
		ch <- prometheus.MustNewConstMetric(c.slots, prometheus.GaugeValue, float64(cs.Capacity), string(class))
		ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(cs.Waiting), string(class))
	}
	for s, state := range st.Breakers {
		v := 0.0
		switch state {
		case gobreaker.StateHalfOpen:
			v = 1
		case gobreaker.StateOpen:
			v = 2
		}
		ch <- prometheus.MustNewConstMetric(c.breaker, prometheus.GaugeValue, v, string(s))
	}
}

// register adds the limiter's gauges to reg. A duplicate registration (two limiters on one registry) is logged,
// not fatal: limiting matters more than its gauges.
func (l *Limiter) register(reg prometheus.Registerer) {
	if reg == nil {
		return
	}
	if err := reg.Register(newCollector(l)); err != nil {
		var are prometheus.AlreadyRegisteredError
		l.log.Warn("ratelimit metrics not registered", "error", err, "duplicate", errors.As(err, &are))
	}
}
