package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/consumer"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/app"
	"github.com/zuora-sync/zuora-sync/internal/benchkit"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/ratelimit"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// BenchmarkPipeline and BenchmarkBareJetStream are the first form of the pipeline-vs-JetStream figure: two
// benchmarks, each on a server of its own, compared by hand. `make bench` now measures the same things side by
// side within one benchmark — BenchmarkRouter (runtime vs bare consume+ack) and BenchmarkFlow (the customer flow vs
// its bare Zuora calls) — see docs/PERFORMANCE.md; these two stay for a quick `-bench 'Pipeline|BareJetStream'`,
// and their helpers (benchTopology, inProcessZuora, benchRateLimit) are shared.

const benchPartitions = benchkit.Partitions

func benchTopology() topology.Topology { return benchkit.Topology() }

// inProcessZuora serves the simulator without a network hop: the "instant Zuora" of the benchmark, so what is
// measured is zuora-sync's own work (decode, route, id map, Zuora client and limiter, outcome, ack).
type inProcessZuora struct{ h http.Handler }

func (z inProcessZuora) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	z.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// BenchmarkPipeline: publish → route → customer handler (against the in-process simulator) → outcome → ack.
func BenchmarkPipeline(b *testing.B) {
	srv := natstest.Start(b)
	_, js := srv.Connect(b)
	sim := zuorasim.New(zuorasim.Config{Limits: zuorasim.Limits{Default: -1, HighVolume: -1, ObjectQuery: -1}})
	b.Cleanup(sim.Close)
	rc := consumer.DefaultConfig()
	rc.Topology = benchTopology()
	a, err := app.New(context.Background(), app.Config{
		NATSURL:           srv.ClientURL(),
		ZuoraBaseURL:      "http://zuora.invalid",
		ZuoraClientID:     zuorasim.DefaultClientID,
		ZuoraClientSecret: zuorasim.DefaultClientSecret,
		ZuoraTransport:    inProcessZuora{sim.Handler()},
		RateLimit:         benchRateLimit(),
		Runner:            rc,
		Logger:            testLogger(b),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	publishCustomers(b, js, "warm", 1)
	waitStreamMsgs(b, js, topology.StreamOutcomes, 1)
	b.ResetTimer()
	start := time.Now()
	publishCustomers(b, js, "bench", b.N)
	waitStreamMsgs(b, js, topology.StreamOutcomes, uint64(b.N)+1)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// benchRateLimit lifts the client-side Zuora budget: the benchmark measures the pipeline, not the budget.
func benchRateLimit() (c ratelimit.Config) {
	c.RequestsPerMinute = 10_000_000
	return c
}

// BenchmarkBareJetStream: the same stream layout and partition consumers, each message acked as soon as it
// arrives — the floor any JetStream consumer pays.
func BenchmarkBareJetStream(b *testing.B) {
	srv := natstest.Start(b)
	_, js := srv.Connect(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	topo := benchTopology()
	if err := topology.EnsureStreams(ctx, js, topo); err != nil {
		b.Fatal(err)
	}
	var acked atomic.Int64
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	startBareLoops(ctx, b, js, topology.StreamStigg, "stigg", topo.AckWait, &wg, func() { acked.Add(1) })
	publishCustomers(b, js, "warm", 1)
	for acked.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	b.ResetTimer()
	start := time.Now()
	publishCustomers(b, js, "bench", b.N)
	for acked.Load() < int64(b.N)+1 {
		time.Sleep(500 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// startBareLoops starts the bare consume+ack loops on stream: per partition p, a durable pull consumer bare-p<p>
// on subject prefix.*.*.*.<p> (one message in flight, explicit acks) and a loop that DoubleAcks each message as
// soon as it arrives and then, if the ack succeeded and acked is set, calls acked. The loops stop when ctx is
// done; wg counts them.
func startBareLoops(ctx context.Context, b *testing.B, js jetstream.JetStream, stream, prefix string, ackWait time.Duration, wg *sync.WaitGroup, acked func()) {
	b.Helper()
	for p := range benchPartitions {
		cons, err := js.CreateConsumer(ctx, stream, jetstream.ConsumerConfig{
			Durable: fmt.Sprintf("bare-p%d", p), FilterSubject: fmt.Sprintf("%s.*.*.*.%d", prefix, p),
			AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 1, MaxDeliver: -1, AckWait: ackWait,
		})
		if err != nil {
			b.Fatal(err)
		}
		it, err := cons.Messages(jetstream.PullMaxMessages(1))
		if err != nil {
			b.Fatal(err)
		}
		stop := context.AfterFunc(ctx, it.Stop)
		wg.Go(func() {
			defer stop()
			for {
				msg, err := it.Next()
				if err != nil {
					return
				}
				if err := msg.DoubleAck(ctx); err == nil && acked != nil {
					acked()
				}
			}
		})
	}
}

// publishCustomers publishes n customer.created events for distinct customers (so they spread over the
// partitions), asynchronously, and waits for every publish ack.
func publishCustomers(b *testing.B, js jetstream.JetStream, prefix string, n int) {
	b.Helper()
	futures := make([]jetstream.PubAckFuture, 0, n)
	for i := range n {
		c := customer(fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), i), "Bench Person")
		futures = append(futures, benchkit.PublishAsync(b, js, prefix, benchkit.CustomerMsg(b, events.TypeStiggCustomerCreated, c)))
	}
	benchkit.AwaitAcks(b, prefix, futures)
}

func waitStreamMsgs(b *testing.B, js jetstream.JetStream, stream string, want uint64) {
	b.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		info, err := s.Info(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if info.State.Msgs >= want {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s has %d messages, want %d", stream, info.State.Msgs, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
