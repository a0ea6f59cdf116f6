package consumer

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the runtime's Prometheus series. A nil *Metrics records nothing.
type Metrics struct {
	handled      *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	deadLettered *prometheus.CounterVec
}

// NewMetrics registers the runtime's series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zuorasync_events_handled_total",
			Help: "Handler attempts by event type and result class (success, transient, permanent).",
		}, []string{"type", "class"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "zuorasync_handler_duration_seconds",
			Help:    "Time from taking an event to its handler returning.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10),
		}, []string{"type"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zuorasync_events_dead_lettered_total",
			Help: "Events written to the DLQ, by reason class (permanent, exhausted).",
		}, []string{"class"}),
	}
	reg.MustRegister(m.handled, m.duration, m.deadLettered)
	return m
}

func (m *Metrics) observe(eventType string, class Class, d time.Duration) {
	if m == nil {
		return
	}
	m.handled.WithLabelValues(eventType, class.String()).Inc()
	m.duration.WithLabelValues(eventType).Observe(d.Seconds())
}

func (m *Metrics) deadLetter(class string) {
	if m == nil {
		return
	}
	m.deadLettered.WithLabelValues(class).Inc()
}
