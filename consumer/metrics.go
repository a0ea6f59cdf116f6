package consumer

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zuora-sync/zuora-sync/dispatch"
)

// Metrics are the runtime's Prometheus series. A nil *Metrics records nothing.
type Metrics struct {
	reg          prometheus.Registerer
	handled      *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	deadLettered *prometheus.CounterVec
}

// NewMetrics registers the runtime's series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reg: reg,
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zuorasync_events_handled_total",
			Help: "Handler attempts by event type and result class (success, transient, permanent, deferred, wait: Zuora unavailable or limiting).",
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

// watchBacklog registers the backlog gauges read from js at each scrape (once per registry).
func (m *Metrics) watchBacklog(js jetstream.JetStream) {
	if m == nil || m.reg == nil {
		return
	}
	var already prometheus.AlreadyRegisteredError
	if err := m.reg.Register(NewBacklogCollector(js)); err != nil && !errors.As(err, &already) {
		panic(err) // a name clash is a programming error, like MustRegister's
	}
}

// Middleware counts handler attempts by type and class and times them.
func (m *Metrics) Middleware() dispatch.Middleware {
	return func(next dispatch.Handler) dispatch.Handler {
		if m == nil {
			return next
		}
		return dispatch.HandlerFunc(func(ctx context.Context, in *dispatch.Input) (*dispatch.Result, error) {
			start := time.Now()
			res, err := next.Handle(ctx, in)
			class, _ := dispatch.Classify(err)
			m.handled.WithLabelValues(in.Event.Type(), class.String()).Inc()
			m.duration.WithLabelValues(in.Event.Type()).Observe(time.Since(start).Seconds())
			return res, err
		})
	}
}

func (m *Metrics) deadLetter(class string) {
	if m == nil {
		return
	}
	m.deadLettered.WithLabelValues(class).Inc()
}
