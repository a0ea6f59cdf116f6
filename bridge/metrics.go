package bridge

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a callout is rejected, the values of zuorasync_bridge_callouts_rejected_total{reason}.
const (
	// reasonChallenge: no credentials. This is the first leg of Zuora's non-preemptive Basic auth, so every
	// callout of such a template is counted here once; alert on reasonAuth instead.
	reasonChallenge = "challenge"
	// reasonAuth: credentials that are malformed or wrong (or the bridge has none configured).
	reasonAuth        = "auth"
	reasonTooLarge    = "too_large"
	reasonInvalid     = "invalid"
	reasonUnavailable = "unavailable"
)

// How a callout was found to be delivered already, the values of zuorasync_bridge_callouts_deduplicated_total{via}.
const (
	viaRecord = "record" // the zuorasync-callouts bucket holds its id: nothing is published
	viaStream = "stream" // JetStream's duplicate window dropped the publication (PubAck.Duplicate)
)

type metrics struct {
	received     prometheus.Counter
	rejected     *prometheus.CounterVec
	published    prometheus.Counter
	deduplicated *prometheus.CounterVec
	recordFailed prometheus.Counter
	duration     *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		received: newCounter("zuorasync_bridge_callouts_received_total", "Requests to POST /callouts/zuora."),
		rejected: newCounterVec("zuorasync_bridge_callouts_rejected_total",
			"Callouts answered with an error, by reason: challenge (no credentials, the first leg of non-preemptive Basic auth), auth, too_large, invalid, unavailable.",
			"reason", reasonChallenge, reasonAuth, reasonTooLarge, reasonInvalid, reasonUnavailable),
		published: newCounter("zuorasync_bridge_callouts_published_total",
			"Callouts stored in the ZUORA stream (acknowledged by JetStream) for the first time."),
		deduplicated: newCounterVec("zuorasync_bridge_callouts_deduplicated_total",
			"Callouts answered 200 without being stored again: via record (the zuorasync-callouts bucket) or stream (JetStream's duplicate window).",
			"via", viaRecord, viaStream),
		recordFailed: newCounter("zuorasync_bridge_callout_records_failed_total",
			"Callouts stored in the stream whose id could not be written to the zuorasync-callouts bucket (a retry after the duplicate window would be stored again)."),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "zuorasync_bridge_callout_duration_seconds",
			Help:    "Time from receiving a callout to answering it, by HTTP status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"code"}),
	}
	var err error
	m.received, err = register(reg, m.received, err)
	m.rejected, err = register(reg, m.rejected, err)
	m.published, err = register(reg, m.published, err)
	m.deduplicated, err = register(reg, m.deduplicated, err)
	m.recordFailed, err = register(reg, m.recordFailed, err)
	m.duration, err = register(reg, m.duration, err)
	if err != nil {
		return nil, fmt.Errorf("bridge: metrics: %w", err)
	}
	return m, nil
}

func newCounter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
}

// newCounterVec is a counter by one label whose series for each of values exist from the start (at 0), so a
// rate or an alert sees them before the first count.
func newCounterVec(name, help, label string, values ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{label})
	for _, v := range values {
		c.WithLabelValues(v)
	}
	return c
}

// register adds c to reg (unless an earlier registration failed); when an identical collector is registered
// already (a second bridge on one registry, as tests do), that one is returned, so both count into one series.
func register[C prometheus.Collector](reg prometheus.Registerer, c C, failed error) (C, error) {
	if failed != nil {
		return c, failed
	}
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}
