package e2e

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/topology"
)

// Bursty usage load: what the flusher's coalescing buys (Zuora usage writes per report) and how fast reports reach
// Zuora end to end (from the first publish until every subscription's pending quantity is the exact total).
const (
	usageBenchCustomers = 10
	usageBenchPerBurst  = 30                     // reports per customer per burst: 300 per burst across customers
	usageBenchPause     = 250 * time.Millisecond // quiet time between two bursts
	usageBenchSpacing   = 100 * time.Millisecond // report timestamps of one customer, in report order
	// usageBenchFlush is the flush interval measured: 1 s, a realistic setting (production default is 5 s, the other
	// e2e tests use 100 ms). Writes per report fall, and the end-to-end tail grows, with a longer interval.
	usageBenchFlush = time.Second
)

// BenchmarkUsageBurst publishes b.N bursts of usage reports (DELTA mostly, about one in twelve a SET, about one in
// twenty duplicated under another Nats-Msg-Id, each customer's reports shuffled within a burst), with a pause
// between bursts, and fails unless Zuora ends with each subscription's exact total. It reports writes/event (Zuora
// usage writes, i.e. non-GET /v2/usage_records requests, per report published, duplicates included) and events/s
// (reports published divided by the time from the first publish until Zuora had every exact total). The pauses and
// the flush interval are part of that time: events/s is the rate of this load, not the pipeline's ceiling (see
// BenchmarkPipeline for that). ns/op (time per burst, mostly the pause) is meaningless and hidden.
func BenchmarkUsageBurst(b *testing.B) {
	b.StopTimer() // setup (catalog, customers, subscriptions, messages) is not measured
	var res usageBenchResult
	runWithT(b, "BenchmarkUsageBurst.harness", func(t *testing.T) { res = usageBurst(t, b) })
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(res.writes)/float64(res.events), "writes/event")
	b.ReportMetric(float64(res.events)/res.took.Seconds(), "events/s")
	b.Logf("usage: %d events, %d writes, %.4f writes/event, %.0f events/s", res.events, res.writes,
		float64(res.writes)/float64(res.events), float64(res.events)/res.took.Seconds())
	b.Logf("usage: b.N=%d bursts of %d over %d customers, %d duplicates, %d SETs, flush every %s: "+
		"published in %s, Zuora exact %s after the last publish (%s in all)", b.N, usageBenchCustomers*usageBenchPerBurst,
		usageBenchCustomers, res.dups, res.sets, usageBenchFlush, res.published.Round(time.Millisecond),
		(res.took - res.published).Round(time.Millisecond), res.took.Round(time.Millisecond))
}

type usageBenchResult struct {
	events, dups, sets, writes int
	published, took            time.Duration // first publish → last publish acked, → Zuora exact
}

func usageBurst(t *testing.T, b *testing.B) usageBenchResult {
	var customers []string
	for i := range usageBenchCustomers {
		customers = append(customers, fmt.Sprintf("cust-b%02d", i))
	}
	h := usageWorld(t, customers)
	start := h.sim.Now()
	// Every report must fall in the subscriptions' first (monthly) period, which started today.
	if span := time.Duration(b.N*usageBenchPerBurst*21/20) * usageBenchSpacing; span > 20*24*time.Hour {
		t.Fatalf("b.N=%d bursts span %s of report timestamps, more than the billing period holds", b.N, span)
	}

	var res usageBenchResult
	reports := map[string][]usageReport{}
	bursts := make([]map[string][]*nats.Msg, b.N)
	next := map[string]int{} // each customer's next timestamp slot
	for i := range bursts {
		bursts[i] = map[string][]*nats.Msg{}
	}
	for i := range bursts {
		for _, c := range customers {
			slots := rand.Perm(usageBenchPerBurst) // in time order across bursts, out of order within one
			for _, s := range slots {
				k := next[c] + s
				r := usageReport{customer: c, at: start.Add(time.Duration(k) * usageBenchSpacing),
					value: fmt.Sprintf("%d.%03d", rand.IntN(50), rand.IntN(1000))}
				behavior := events.UpdateDelta
				if rand.IntN(12) == 0 {
					r.set, behavior = true, events.UpdateSet
					r.value = fmt.Sprintf("%d.5", 500+rand.IntN(500))
					res.sets++
				}
				reports[c] = append(reports[c], r)
				id := fmt.Sprintf("bench-usage-%s-%d", c, k)
				bursts[i][c] = append(bursts[i][c], h.usageMsg(id, c, r.at, behavior, r.value))
				res.events++
				if rand.IntN(20) == 0 { // a duplicate the stream cannot dedupe: in this burst or the next
					dup := h.usageMsg(id, c, r.at, behavior, r.value)
					dup.Header.Set(nats.MsgIdHdr, id+"-again")
					in := i
					if i+1 < len(bursts) && rand.IntN(2) == 0 {
						in = i + 1
					}
					bursts[in][c] = append(bursts[in][c], dup)
					res.events++
					res.dups++
				}
			}
			next[c] += usageBenchPerBurst
		}
	}
	want := map[string]*big.Rat{}
	for _, c := range customers {
		want[c] = expectedTotal(reports[c])
	}

	h.cfg.UsageFlushInterval = usageBenchFlush
	h.startConsumer()
	writes0 := h.usageWrites()

	b.ResetTimer()
	b.StartTimer()
	t0 := time.Now()
	for i, burst := range bursts {
		if i > 0 {
			time.Sleep(usageBenchPause)
		}
		h.publishConcurrently(burst)
	}
	res.published = time.Since(t0)
	var mismatch string
	defer func() {
		if t.Failed() && mismatch != "" {
			t.Logf("last seen in Zuora: %s", mismatch)
		}
	}()
	h.eventually(time.Minute+time.Duration(b.N)*2*time.Second, "Zuora to have every subscription's exact total", func() bool {
		for _, c := range customers {
			if pending, _, _ := h.zuoraUsage("stigg-sub-" + c); pending.Cmp(want[c]) != 0 {
				mismatch = fmt.Sprintf("%s pending %s, want %s", c, pending.FloatString(3), want[c].FloatString(3))
				return false
			}
		}
		return true
	})
	res.took = time.Since(t0)
	b.StopTimer()

	// The totals stay exact once everything is handled, in one pending record per subscription, with no dead letter.
	h.waitIdle(topology.StreamStigg, time.Minute)
	for _, c := range customers {
		pending, processed, recs := h.zuoraUsage("stigg-sub-" + c)
		if pending.Cmp(want[c]) != 0 || processed.Sign() != 0 || len(recs) != 1 {
			t.Fatalf("%s after the stream went idle: pending %s (want %s), processed %s, %d records", c,
				pending.FloatString(3), want[c].FloatString(3), processed.FloatString(3), len(recs))
		}
	}
	if dl := h.dlq(); len(dl) != 0 {
		t.Fatalf("%d dead letters, the first: %+v", len(dl), dl[0])
	}
	res.writes = h.usageWrites() - writes0
	return res
}

// runWithT runs f as a test of its own, for helpers that take a *testing.T (the harness does): a benchmark has
// none to give. f runs in another goroutine while the benchmark's waits for it, so f may use b's timer and read
// b.N, but must fail through t; a failure (reported as a failed test, with its log) fails the benchmark.
func runWithT(b *testing.B, name string, f func(t *testing.T)) {
	b.Helper()
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs) // testing.RunTests sets it for each -cpu value
	ran := false
	ok := testing.RunTests(
		func(string, string) (bool, error) { return true, nil }, // past -run, which is '^$' when benchmarking
		[]testing.InternalTest{{Name: name, F: func(t *testing.T) {
			if ran { // RunTests repeats for -count and -cpu: once per benchmark run is what is meant
				return
			}
			ran = true
			runtime.GOMAXPROCS(procs)
			f(t)
		}}})
	switch {
	case !ran:
		b.Fatalf("%s did not run (a -skip pattern skips it, as it matches every name here; or -failfast after a failure)", name)
	case !ok:
		b.Fatalf("%s failed: see its log above", name)
	}
}
