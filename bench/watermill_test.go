// Package bench holds benchmarks against peer libraries, in a module of their own so the service's module does
// not depend on them (go.mod replaces github.com/zuora-sync/zuora-sync with ../).
package bench

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	wmjs "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/jetstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/internal/benchkit"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/topology"
)

const partitions = benchkit.Partitions

// BenchmarkPeerWatermill runs the no-op workload of e2e's BenchmarkRouter — customer.created events, per-key order
// kept (one message in flight per partition consumer), a handler that returns success — through zuora-sync's
// runtime (consumer.Runner + dispatch.Router) and through Watermill's message.Router fed by watermill-nats'
// JetStream subscriber (one subscription per partition consumer, synchronous DoubleAck, as the runtime acks), on
// the same embedded server with the same partition layout: Watermill reads a copy of the STIGG stream under
// another prefix. The two alternate in blocks; ratio is runtime events/s ÷ Watermill events/s (goal ≥ 1).
func BenchmarkPeerWatermill(b *testing.B) {
	srv := natstest.Start(b)
	nc, js := srv.Connect(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	topo := benchkit.Topology()
	if err := topology.EnsureStreams(ctx, js, topo); err != nil {
		b.Fatal(err)
	}
	wmStream := benchkit.CopyInputStream(b, js, topology.StreamStigg, "BENCH_WATERMILL", "benchwm")
	acks := benchkit.SniffAcks(b, nc, topology.StreamStigg, wmStream)

	// zuora-sync's runtime with a no-op handler.
	handled, stopRuntime := benchkit.NoopRuntime(ctx, js, topo, slog.New(slog.DiscardHandler))
	defer stopRuntime()

	// Watermill: a router with one no-op handler per partition subscription, on its own connection.
	wmConn, err := nats.Connect(srv.ClientURL(), nats.Name("watermill"))
	if err != nil {
		b.Fatal(err)
	}
	defer wmConn.Close()
	sub, err := wmjs.NewSubscriber(wmjs.SubscriberConfig{
		Conn:           wmConn,
		Logger:         watermill.NopLogger{},
		AckWaitTimeout: topo.AckWait,
		ResourceInitializer: func(ctx context.Context, js jetstream.JetStream, topic string) (jetstream.Consumer, func(context.Context, watermill.LoggerAdapter), error) {
			c, err := js.CreateOrUpdateConsumer(ctx, wmStream, jetstream.ConsumerConfig{
				Durable: "wm-" + topic, FilterSubject: "benchwm.*.*.*." + strings.TrimPrefix(topic, "p"),
				AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 1, MaxDeliver: -1, AckWait: topo.AckWait,
			})
			return c, nil, err
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	wm, err := message.NewRouter(message.RouterConfig{}, watermill.NopLogger{})
	if err != nil {
		b.Fatal(err)
	}
	var wmHandled atomic.Int64
	for p := range partitions {
		wm.AddConsumerHandler(fmt.Sprintf("noop-p%d", p), fmt.Sprintf("p%d", p), sub, func(*message.Message) error {
			wmHandled.Add(1)
			return nil
		})
	}
	wmDone := make(chan error, 1)
	go func() { wmDone <- wm.Run(ctx) }()
	defer func() { cancel(); <-wmDone; _ = sub.Close() }()
	<-wm.Running()

	total := b.N + benchkit.Warm
	sides := []benchkit.Side{
		benchkit.PublishSide(b, js, "watermill", benchkit.CustomerMsgs(b, "wm", total, "benchwm"), acks[wmStream].Load),
		benchkit.PublishSide(b, js, "runtime", benchkit.CustomerMsgs(b, "rt", total, ""), acks[topology.StreamStigg].Load),
	}
	walls := benchkit.AlternateBlocks(b, sides, benchkit.Warm, total, benchkit.Block)
	if got, wgot := handled.Load(), wmHandled.Load(); got != int64(total) || wgot != int64(total) {
		b.Fatalf("the no-op handlers ran %d (runtime) and %d (Watermill) times for %d events each", got, wgot, total)
	}
	wmRate, rtRate := float64(b.N)/walls[0].Seconds(), float64(b.N)/walls[1].Seconds()
	b.ReportMetric(rtRate, "events/s")
	b.ReportMetric(wmRate, "watermill_events/s")
	b.ReportMetric(rtRate/wmRate, "ratio")
}
