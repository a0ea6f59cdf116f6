package consumer

import (
	"context"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zuora-sync/zuora-sync/topology"
)

// BacklogCollector exports, at each scrape, how far the runtime's consumers are behind and what waits: per
// consumer of the input streams the messages not yet delivered (NumPending) and delivered but not acked
// (NumAckPending), the DLQ's size, and the entities with parked events. It reads JetStream when scraped — one
// consumer listing per input stream, one DLQ stream info, one key listing of the parked bucket — bounded by a
// timeout, so a slow server makes the scrape lose these series rather than hang.
type BacklogCollector struct {
	js      jetstream.JetStream
	timeout time.Duration

	pending, ackPending, dlq, parked, scrapeErrors *prometheus.Desc
}

// NewBacklogCollector builds the collector on js; register it on the process's registry.
func NewBacklogCollector(js jetstream.JetStream) *BacklogCollector {
	return &BacklogCollector{js: js, timeout: 5 * time.Second,
		pending: prometheus.NewDesc("zuorasync_consumer_pending_messages",
			"Messages of the stream a runtime consumer has not delivered yet (JetStream NumPending).", []string{"stream", "consumer"}, nil),
		ackPending: prometheus.NewDesc("zuorasync_consumer_ack_pending_messages",
			"Messages delivered and not acknowledged yet (JetStream NumAckPending).", []string{"stream", "consumer"}, nil),
		dlq: prometheus.NewDesc("zuorasync_dlq_messages",
			"Dead letters waiting in "+topology.StreamDLQ+".", nil, nil),
		parked: prometheus.NewDesc("zuorasync_parked_entities",
			"Entities with events parked while a dependency is missing.", nil, nil),
		scrapeErrors: prometheus.NewDesc("zuorasync_backlog_scrape_errors",
			"JetStream reads that failed during this scrape (1 per failed read).", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *BacklogCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.pending, c.ackPending, c.dlq, c.parked, c.scrapeErrors} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *BacklogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	failed := 0
	for _, in := range topology.Inputs {
		s, err := c.js.Stream(ctx, in.Stream)
		if err != nil {
			failed++
			continue
		}
		list := s.ListConsumers(ctx)
		for info := range list.Info() {
			if !strings.HasPrefix(info.Name, "zuorasync-") {
				continue
			}
			ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(info.NumPending), in.Stream, info.Name)
			ch <- prometheus.MustNewConstMetric(c.ackPending, prometheus.GaugeValue, float64(info.NumAckPending), in.Stream, info.Name)
		}
		if list.Err() != nil {
			failed++
		}
	}
	if s, err := c.js.Stream(ctx, topology.StreamDLQ); err == nil {
		ch <- prometheus.MustNewConstMetric(c.dlq, prometheus.GaugeValue, float64(s.CachedInfo().State.Msgs))
	} else {
		failed++
	}
	if n, err := c.parkedEntities(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(c.parked, prometheus.GaugeValue, float64(n))
	} else {
		failed++
	}
	ch <- prometheus.MustNewConstMetric(c.scrapeErrors, prometheus.GaugeValue, float64(failed))
}

// parkedEntities counts the parked bucket's keys (an entity's queue is deleted once empty).
func (c *BacklogCollector) parkedEntities(ctx context.Context) (int, error) {
	kv, err := c.js.KeyValue(ctx, topology.BucketParked)
	if err != nil {
		return 0, err
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = keys.Stop() }()
	n := 0
	for range keys.Keys() {
		n++
	}
	return n, nil
}
