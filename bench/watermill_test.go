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
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmjs "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/jetstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/consumer"
	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/topology"
)

const (
	partitions = 16 // as e2e's benchPartitions
	warm       = 200
	block      = 400
)

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
	topo := topology.Default()
	topo.Partitions = partitions
	if err := topology.EnsureStreams(ctx, js, topo); err != nil {
		b.Fatal(err)
	}
	wmStream := copyInputStream(b, js, topology.StreamStigg, "BENCH_WATERMILL", "benchwm")
	acks := sniffAcks(b, nc, topology.StreamStigg, wmStream)

	// zuora-sync's runtime with a no-op handler.
	var handled atomic.Int64
	router := dispatch.NewRouter()
	router.Handle(events.TypeStiggCustomerCreated, dispatch.HandlerFunc(func(context.Context, *dispatch.Input) (*dispatch.Result, error) {
		handled.Add(1)
		return &dispatch.Result{}, nil
	}))
	runner := consumer.New(js, router, consumer.Config{Topology: topo, Logger: slog.New(slog.DiscardHandler)})
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()
	defer func() { cancel(); <-done }()

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

	sides := []side{
		{name: "watermill", msgs: customerMsgs(b, "wm", b.N+warm, "benchwm"), done: acks[wmStream].Load},
		{name: "runtime", msgs: customerMsgs(b, "rt", b.N+warm, ""), done: acks[topology.StreamStigg].Load},
	}
	walls := alternateBlocks(b, js, sides)
	if got, wgot := handled.Load(), wmHandled.Load(); got != int64(b.N+warm) || wgot != int64(b.N+warm) {
		b.Fatalf("the no-op handlers ran %d (runtime) and %d (Watermill) times for %d events each", got, wgot, b.N+warm)
	}
	wmRate, rtRate := float64(b.N)/walls[0].Seconds(), float64(b.N)/walls[1].Seconds()
	b.ReportMetric(rtRate, "events/s")
	b.ReportMetric(wmRate, "watermill_events/s")
	b.ReportMetric(rtRate/wmRate, "ratio")
}

// The helpers below mirror e2e/bench_router_test.go (a test package cannot be imported).

type side struct {
	name string
	msgs []*nats.Msg
	done func() int64
}

func alternateBlocks(b *testing.B, js jetstream.JetStream, sides []side) []time.Duration {
	b.Helper()
	walls := make([]time.Duration, len(sides))
	run := func(s side, from, to int) time.Duration {
		start := time.Now()
		futures := make([]jetstream.PubAckFuture, 0, to-from)
		for _, m := range s.msgs[from:to] {
			f, err := js.PublishMsgAsync(m)
			if err != nil {
				b.Fatalf("%s: publish: %v", s.name, err)
			}
			futures = append(futures, f)
		}
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				b.Fatalf("%s: publish: %v", s.name, err)
			case <-time.After(30 * time.Second):
				b.Fatalf("%s: publish ack timed out", s.name)
			}
		}
		deadline := time.Now().Add(2 * time.Minute)
		for s.done() < int64(to) {
			if time.Now().After(deadline) {
				b.Fatalf("%s: %d of %d events finished after 2 minutes", s.name, s.done(), to)
			}
			time.Sleep(200 * time.Microsecond)
		}
		return time.Since(start)
	}
	for _, s := range sides {
		run(s, 0, warm)
	}
	b.ResetTimer()
	total := len(sides[0].msgs)
	for from := warm; from < total; from += block {
		to := min(from+block, total)
		for i, s := range sides {
			walls[i] += run(s, from, to)
		}
	}
	b.StopTimer()
	return walls
}

func customerMsgs(b *testing.B, name string, n int, prefix string) []*nats.Msg {
	b.Helper()
	run := time.Now().UnixNano()
	out := make([]*nats.Msg, n)
	days := 30
	for i := range out {
		id := fmt.Sprintf("%s-%d-%d", name, run, i)
		c := &events.Customer{CustomerID: id, Name: "Bench Person", Email: "bench.person@example.com", Currency: "USD",
			InvoiceDaysUntilDue: &days, EntityURL: "https://app.stigg.io/customers/" + id,
			BillingAddress: &events.Address{Line1: "1 Main St", City: "Springfield", State: "IL", PostalCode: "62701", Country: "United States"}}
		ev, err := events.New(events.TypeStiggCustomerCreated, "/bench", id, id, c)
		if err != nil {
			b.Fatal(err)
		}
		if out[i], err = events.ToMsg("", ev); err != nil {
			b.Fatal(err)
		}
		if prefix != "" {
			out[i].Subject = prefix + strings.TrimPrefix(out[i].Subject, "stigg")
		}
	}
	return out
}

func copyInputStream(b *testing.B, js jetstream.JetStream, from, name, prefix string) string {
	b.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, from)
	if err != nil {
		b.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	in, _ := topology.InputFor(from)
	swap := func(subj string) string { return prefix + strings.TrimPrefix(subj, in.Prefix) }
	cfg.Name, cfg.Description = name, "benchmark copy of "+from
	for i, subj := range cfg.Subjects {
		cfg.Subjects[i] = swap(subj)
	}
	if t := cfg.SubjectTransform; t != nil {
		cfg.SubjectTransform = &jetstream.SubjectTransformConfig{Source: swap(t.Source), Destination: swap(t.Destination)}
	}
	if _, err := js.CreateStream(ctx, cfg); err != nil {
		b.Fatal(err)
	}
	return name
}

func sniffAcks(b *testing.B, nc *nats.Conn, streams ...string) map[string]*atomic.Int64 {
	b.Helper()
	counts := map[string]*atomic.Int64{}
	for _, s := range streams {
		counts[s] = &atomic.Int64{}
	}
	sub, err := nc.Subscribe("$JS.ACK.>", func(m *nats.Msg) {
		if !strings.HasPrefix(string(m.Data), "+ACK") {
			return
		}
		for s, c := range counts {
			if strings.Contains(m.Subject, "."+s+".") {
				c.Add(1)
				return
			}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		b.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sub.Unsubscribe() })
	return counts
}
