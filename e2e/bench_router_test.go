package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/consumer"
	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/topology"
)

// BenchmarkRouter measures what the runtime adds on top of JetStream: customer.created events through a
// consumer.Runner whose dispatch.Router has a no-op handler (it returns success, no outcome), next to a bare
// consume+ack loop, on the same embedded server, with the same partition layout (benchPartitions pull consumers,
// one message in flight each, DoubleAck). The bare loop reads a copy of the STIGG stream (same config and subject
// transform under another prefix), so the two never see each other's events. The two alternate in blocks of
// routerBenchBlock events, so both see the same machine; each block is timed from its first publish to its last
// ack. ns/op covers one event through each. ratio is runtime events/s ÷ bare events/s (goal ≥ 0.5).
func BenchmarkRouter(b *testing.B) {
	srv := natstest.Start(b)
	nc, js := srv.Connect(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	topo := benchTopology()
	if err := topology.EnsureStreams(ctx, js, topo); err != nil {
		b.Fatal(err)
	}
	bare := copyInputStream(b, js, topology.StreamStigg, "BENCH_BARE", "benchbare")
	acks := sniffAcks(b, nc, topology.StreamStigg, bare)

	var handled atomic.Int64
	router := dispatch.NewRouter()
	router.Handle(events.TypeStiggCustomerCreated, dispatch.HandlerFunc(func(context.Context, *dispatch.Input) (*dispatch.Result, error) {
		handled.Add(1)
		return &dispatch.Result{}, nil
	}))
	runner := consumer.New(js, router, consumer.Config{Topology: topo, Logger: testLogger(b)})
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()
	defer func() { cancel(); <-done }()

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for p := range benchPartitions {
		cons, err := js.CreateConsumer(ctx, bare, jetstream.ConsumerConfig{
			Durable: fmt.Sprintf("bare-p%d", p), FilterSubject: fmt.Sprintf("benchbare.*.*.*.%d", p),
			AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 1, MaxDeliver: -1, AckWait: topo.AckWait,
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
				_ = msg.DoubleAck(ctx)
			}
		})
	}

	total := b.N + routerBenchWarm
	sides := []benchSide{
		publishSide(b, js, "bare", customerMsgs(b, "bare", total, "benchbare"), acks[bare].Load),
		publishSide(b, js, "runtime", customerMsgs(b, "rt", total, ""), acks[topology.StreamStigg].Load),
	}
	walls := alternateBlocks(b, sides, routerBenchWarm, total, routerBenchBlock)
	if got := handled.Load(); got != int64(b.N+routerBenchWarm) {
		b.Fatalf("the no-op handler ran %d times for %d events", got, b.N+routerBenchWarm)
	}
	bareRate, rtRate := float64(b.N)/walls[0].Seconds(), float64(b.N)/walls[1].Seconds()
	b.ReportMetric(rtRate, "events/s")
	b.ReportMetric(bareRate, "bare_events/s")
	b.ReportMetric(rtRate/bareRate, "ratio")
}

const (
	routerBenchWarm  = 200
	routerBenchBlock = 400
)

// benchSide is one of the loops a benchmark alternates: run does events from..to-1 and returns once they are
// finished.
type benchSide struct {
	name string
	run  func(from, to int)
}

// publishSide is a side whose events are messages published asynchronously, finished when done (a count of
// finished events) reaches to.
func publishSide(b *testing.B, js jetstream.JetStream, name string, msgs []*nats.Msg, done func() int64) benchSide {
	return benchSide{name: name, run: func(from, to int) {
		futures := make([]jetstream.PubAckFuture, 0, to-from)
		for _, m := range msgs[from:to] {
			f, err := js.PublishMsgAsync(m)
			if err != nil {
				b.Fatalf("%s: publish: %v", name, err)
			}
			futures = append(futures, f)
		}
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				b.Fatalf("%s: publish: %v", name, err)
			case <-time.After(30 * time.Second):
				b.Fatalf("%s: publish ack timed out", name)
			}
		}
		deadline := time.Now().Add(2 * time.Minute)
		for done() < int64(to) {
			if time.Now().After(deadline) {
				b.Fatalf("%s: %d of %d events finished after 2 minutes", name, done(), to)
			}
			time.Sleep(200 * time.Microsecond)
		}
	}}
}

// alternateBlocks runs the first warm events of each side (untimed), then events warm..total-1 in blocks of
// block events, one side after the other, each block timed from its start until the side has finished it. It
// returns each side's total time.
func alternateBlocks(b *testing.B, sides []benchSide, warm, total, block int) []time.Duration {
	b.Helper()
	walls := make([]time.Duration, len(sides))
	for _, s := range sides {
		s.run(0, warm)
	}
	b.ResetTimer()
	for from := warm; from < total; from += block {
		to := min(from+block, total)
		for i, s := range sides {
			start := time.Now()
			s.run(from, to)
			walls[i] += time.Since(start)
		}
	}
	b.StopTimer()
	return walls
}

// customerMsgs builds n customer.created messages for distinct customers (so they spread over the partitions);
// prefix, when set, replaces the subject's "stigg" prefix (for a copy of the stream).
func customerMsgs(b *testing.B, name string, n int, prefix string) []*nats.Msg {
	b.Helper()
	run := time.Now().UnixNano()
	out := make([]*nats.Msg, n)
	for i := range out {
		c := customer(fmt.Sprintf("%s-%d-%d", name, run, i), "Bench Person")
		ev, err := events.New(events.TypeStiggCustomerCreated, "/bench", c.CustomerID, c.CustomerID, c)
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

// copyInputStream creates a stream with the configuration of an input stream (storage, limits, subject
// transform) under another name and subject prefix, and returns its name.
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

// sniffAcks counts the acks sent to each named stream's consumers, by listening on the JetStream ack subjects: the
// same count for a runtime and a bare loop, taken outside both.
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
