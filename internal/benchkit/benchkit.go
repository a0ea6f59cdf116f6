// Package benchkit is benchmark support only: the pieces shared by e2e's benchmarks and the peer benchmarks of the
// bench module (which cannot import e2e's test package). Nothing in the service imports it.
package benchkit

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/consumer"
	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/topology"
)

const (
	// Partitions is the partition count of the benchmarks' topology.
	Partitions = 16
	// Warm and Block are the no-op workload's untimed warm-up events per side and its block size (see
	// AlternateBlocks).
	Warm  = 200
	Block = 400
)

// Topology is the default topology with Partitions partitions.
func Topology() topology.Topology {
	t := topology.Default()
	t.Partitions = Partitions
	return t
}

// NoopRuntime starts the runtime side of the no-op workload: a consumer.Runner on topo whose dispatch.Router has
// one handler, for customer.created, that counts the event and returns success (no outcome). It returns the
// count of handled events and stop, which cancels the runner and waits for it to return.
func NoopRuntime(ctx context.Context, js jetstream.JetStream, topo topology.Topology, logger *slog.Logger) (handled *atomic.Int64, stop func()) {
	handled = &atomic.Int64{}
	router := dispatch.NewRouter()
	router.Handle(events.TypeStiggCustomerCreated, dispatch.HandlerFunc(func(context.Context, *dispatch.Input) (*dispatch.Result, error) {
		handled.Add(1)
		return &dispatch.Result{}, nil
	}))
	runner := consumer.New(js, router, consumer.Config{Topology: topo, Logger: logger})
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()
	return handled, func() { cancel(); <-done }
}

// Side is one of the loops a benchmark alternates: Run does events from..to-1 and returns once they are
// finished.
type Side struct {
	Name string
	Run  func(from, to int)
}

// PublishSide is a side whose events are messages published asynchronously, finished when done (a count of
// finished events) reaches to.
func PublishSide(tb testing.TB, js jetstream.JetStream, name string, msgs []*nats.Msg, done func() int64) Side {
	return Side{Name: name, Run: func(from, to int) {
		futures := make([]jetstream.PubAckFuture, 0, to-from)
		for _, m := range msgs[from:to] {
			futures = append(futures, PublishAsync(tb, js, name, m))
		}
		AwaitAcks(tb, name, futures)
		deadline := time.Now().Add(2 * time.Minute)
		for done() < int64(to) {
			if time.Now().After(deadline) {
				tb.Fatalf("%s: %d of %d events finished after 2 minutes", name, done(), to)
			}
			time.Sleep(200 * time.Microsecond)
		}
	}}
}

// PublishAsync publishes msg asynchronously; name labels a failure.
func PublishAsync(tb testing.TB, js jetstream.JetStream, name string, msg *nats.Msg) jetstream.PubAckFuture {
	tb.Helper()
	f, err := js.PublishMsgAsync(msg)
	if err != nil {
		tb.Fatalf("%s: publish: %v", name, err)
	}
	return f
}

// AwaitAcks waits for every publish ack (30 seconds at the most each); name labels a failure.
func AwaitAcks(tb testing.TB, name string, futures []jetstream.PubAckFuture) {
	tb.Helper()
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			tb.Fatalf("%s: publish: %v", name, err)
		case <-time.After(30 * time.Second):
			tb.Fatalf("%s: publish ack timed out", name)
		}
	}
}

// AlternateBlocks runs the first warm events of each side (untimed), then events warm..total-1 in blocks of
// block events, one side after the other, each block timed from its start until the side has finished it. It
// returns each side's total time.
func AlternateBlocks(b *testing.B, sides []Side, warm, total, block int) []time.Duration {
	b.Helper()
	walls := make([]time.Duration, len(sides))
	for _, s := range sides {
		s.Run(0, warm)
	}
	b.ResetTimer()
	for from := warm; from < total; from += block {
		to := min(from+block, total)
		for i, s := range sides {
			start := time.Now()
			s.Run(from, to)
			walls[i] += time.Since(start)
		}
	}
	b.StopTimer()
	return walls
}

// CustomerMsgs builds n customer.created messages for distinct customers named "Bench Person" (so they spread
// over the partitions); prefix, when set, replaces the subject's "stigg" prefix (for a copy of the stream).
func CustomerMsgs(tb testing.TB, name string, n int, prefix string) []*nats.Msg {
	tb.Helper()
	run := time.Now().UnixNano()
	out := make([]*nats.Msg, n)
	days := 30
	for i := range out {
		id := fmt.Sprintf("%s-%d-%d", name, run, i)
		c := &events.Customer{CustomerID: id, Name: "Bench Person", Email: "bench.person@example.com", Currency: "USD",
			InvoiceDaysUntilDue: &days, EntityURL: "https://app.stigg.io/customers/" + id,
			BillingAddress: &events.Address{Line1: "1 Main St", City: "Springfield", State: "IL", PostalCode: "62701", Country: "United States"}}
		out[i] = CustomerMsg(tb, events.TypeStiggCustomerCreated, c)
		if prefix != "" {
			out[i].Subject = prefix + strings.TrimPrefix(out[i].Subject, "stigg")
		}
	}
	return out
}

// CustomerMsg is the message of a customer event of type typ about c (keyed and subjected by its customer id).
func CustomerMsg(tb testing.TB, typ string, c *events.Customer) *nats.Msg {
	tb.Helper()
	ev, err := events.New(typ, "/bench", c.CustomerID, c.CustomerID, c)
	if err != nil {
		tb.Fatal(err)
	}
	msg, err := events.ToMsg("", ev)
	if err != nil {
		tb.Fatal(err)
	}
	return msg
}

// CopyInputStream creates a stream with the configuration of an input stream (storage, limits, subject
// transform) under another name and subject prefix, and returns its name.
func CopyInputStream(tb testing.TB, js jetstream.JetStream, from, name, prefix string) string {
	tb.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, from)
	if err != nil {
		tb.Fatal(err)
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
		tb.Fatal(err)
	}
	return name
}

// SniffAcks counts the acks sent to each named stream's consumers, by listening on the JetStream ack subjects: the
// same count for a runtime and a peer or bare loop, taken outside both.
func SniffAcks(tb testing.TB, nc *nats.Conn, streams ...string) map[string]*atomic.Int64 {
	tb.Helper()
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
		tb.Fatal(err)
	}
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		tb.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = sub.Unsubscribe() })
	return counts
}
