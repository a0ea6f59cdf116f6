package e2e

import (
	"context"
	"sync"
	"testing"

	"github.com/zuora-sync/zuora-sync/internal/benchkit"
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
	bare := benchkit.CopyInputStream(b, js, topology.StreamStigg, "BENCH_BARE", "benchbare")
	acks := benchkit.SniffAcks(b, nc, topology.StreamStigg, bare)

	handled, stopRuntime := benchkit.NoopRuntime(ctx, js, topo, testLogger(b))
	defer stopRuntime()

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	startBareLoops(ctx, b, js, bare, "benchbare", topo.AckWait, &wg, nil)

	total := b.N + routerBenchWarm
	sides := []benchkit.Side{
		benchkit.PublishSide(b, js, "bare", benchkit.CustomerMsgs(b, "bare", total, "benchbare"), acks[bare].Load),
		benchkit.PublishSide(b, js, "runtime", benchkit.CustomerMsgs(b, "rt", total, ""), acks[topology.StreamStigg].Load),
	}
	walls := benchkit.AlternateBlocks(b, sides, routerBenchWarm, total, routerBenchBlock)
	if got := handled.Load(); got != int64(b.N+routerBenchWarm) {
		b.Fatalf("the no-op handler ran %d times for %d events", got, b.N+routerBenchWarm)
	}
	bareRate, rtRate := float64(b.N)/walls[0].Seconds(), float64(b.N)/walls[1].Seconds()
	b.ReportMetric(rtRate, "events/s")
	b.ReportMetric(bareRate, "bare_events/s")
	b.ReportMetric(rtRate/bareRate, "ratio")
}

const (
	routerBenchWarm  = benchkit.Warm
	routerBenchBlock = benchkit.Block
)
