package zuoraapi

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are per call (one observation per Do, including the 401 retry). Labels use the limiter's surface,
// not the path, so cardinality stays bounded.
type metrics struct {
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zuorasync_zuora_calls_total",
			Help: "Zuora API calls by method, surface and outcome (ok or the error kind).",
		}, []string{"method", "surface", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "zuorasync_zuora_call_duration_seconds",
			Help:    "Duration of Zuora API calls, including limiter waits and a re-authentication.",
			Buckets: prometheus.ExponentialBuckets(0.025, 2, 10),
		}, []string{"method", "surface"}),
	}
	for _, c := range []prometheus.Collector{m.calls, m.duration} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("zuoraapi: metrics already registered (one Client per registry): %w", err)
			}
			return nil, fmt.Errorf("zuoraapi: registering metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) observe(method, surface string, start time.Time, err *Error) {
	if m == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = err.Kind.String()
	}
	m.calls.WithLabelValues(method, surface, outcome).Inc()
	m.duration.WithLabelValues(method, surface).Observe(time.Since(start).Seconds())
}
