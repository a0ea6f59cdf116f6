package e2e

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/zuora-sync/zuora-sync/consumer"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// usageLoad is a generated workload: every customer's reports (for the expected totals) and the messages that
// carry them, duplicates included, split in two halves published one after the other.
type usageLoad struct {
	reports       map[string][]usageReport
	halves        [2]map[string][]*nats.Msg
	messages, dup int
}

// newUsageLoad makes perCustomer messages for each customer: distinct timestamps in random order, one report in
// twelve a SET, and one message in ten a copy of an earlier report under another Nats-Msg-Id (a redelivery the
// stream cannot dedupe), in either half.
func (h *harness) newUsageLoad(customers []string, perCustomer int) *usageLoad {
	l := &usageLoad{reports: map[string][]usageReport{}, halves: [2]map[string][]*nats.Msg{{}, {}}}
	start := h.sim.Now()
	for _, c := range customers {
		unique := perCustomer * 9 / 10
		var sent []*nats.Msg
		for i, off := range rand.Perm(unique) {
			r := usageReport{customer: c, at: start.Add(time.Duration(off) * 3 * time.Second),
				value: fmt.Sprintf("%d.%02d", rand.IntN(40), rand.IntN(100))}
			behavior := events.UpdateDelta
			if rand.IntN(12) == 0 {
				r.set, behavior = true, events.UpdateSet
				r.value = fmt.Sprintf("%d.25", 200+rand.IntN(300))
			}
			l.reports[c] = append(l.reports[c], r)
			m := h.usageMsg(fmt.Sprintf("usage-%s-%d", c, off), c, r.at, behavior, r.value)
			half := i * 2 / unique
			l.halves[half][c] = append(l.halves[half][c], m)
			sent = append(sent, m)
		}
		for i := range perCustomer - unique {
			orig := sent[rand.IntN(len(sent))]
			dup := nats.NewMsg(orig.Subject)
			dup.Data, dup.Header = orig.Data, nats.Header{}
			for k, v := range orig.Header {
				dup.Header[k] = v
			}
			dup.Header.Set(nats.MsgIdHdr, fmt.Sprintf("%s-again-%d", orig.Header.Get(nats.MsgIdHdr), i))
			half := rand.IntN(2)
			l.halves[half][c] = append(l.halves[half][c], dup)
			l.dup++
		}
		l.messages += perCustomer
	}
	return l
}

// At the scale: 10,000 reports for 50 customers, DELTA and SET mixed, out of order, one in ten a
// redelivered copy, handled by two consumer instances at once while Zuora misbehaves — 503 bursts on creates, 429s
// with Retry-After on patches, creates whose answer is lost after Zuora committed them, failing subscription reads,
// and then an outage of every usage write while the second half arrives. Zuora ends with every exact sum in one
// pending record per subscription, nothing is dead-lettered, and replaying the last fifth changes nothing.
// Under the race detector it runs at a fifth of the size; make test also runs it at full size without.
func TestUsageAtScaleTwoInstancesThroughZuoraFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 events")
	}
	perCustomer := 200
	if raceDetector {
		perCustomer = 40
	}
	var customers []string
	for i := range 50 {
		customers = append(customers, fmt.Sprintf("cust-s%02d", i))
	}
	h := usageWorld(t, customers)
	load := h.newUsageLoad(customers, perCustomer)
	h.sim.InjectFault(zuorasim.Fault{Method: "POST", PathPrefix: "/v2/usage_records", Status: 503, Probability: 0.3, Times: 40})
	h.sim.InjectFault(zuorasim.Fault{Method: "PATCH", PathPrefix: "/v2/usage_records", Status: 429, RetryAfter: 1, Probability: 0.3, Times: 40})
	h.sim.InjectFault(zuorasim.Fault{Method: "POST", PathPrefix: "/v2/usage_records", AfterCommit: true, Status: 500, Probability: 0.2, Times: 15})
	h.sim.InjectFault(zuorasim.Fault{Method: "GET", PathPrefix: "/v2/subscriptions/", Status: 503, Probability: 0.05, Times: 20})

	h.cfg.UsageFlushInterval = 200 * time.Millisecond
	// The outage opens the breakers; production keeps them open 30 s, a test has no time for that.
	h.cfg.RateLimit.BreakerOpenTimeout = time.Second
	h.startConsumer()
	h.startConsumer()
	t0 := time.Now()
	h.publishConcurrently(load.halves[0])
	outage := h.sim.InjectFault(zuorasim.Fault{PathPrefix: "/v2/usage_records", Status: 503, Probability: 1})
	h.publishConcurrently(load.halves[1])
	h.eventually(120*time.Second, "the reports to be counted during the outage", func() bool {
		return h.backlog(topology.StreamStigg) == 0
	})
	counted := time.Since(t0)
	time.Sleep(1500 * time.Millisecond) // the flushers keep trying: the breakers open, then probe
	refused := 0
	for _, f := range h.sim.Faults() {
		if f.ID == outage {
			refused = f.Fired
		}
	}
	if !h.sim.RemoveFault(outage) || refused == 0 {
		t.Fatalf("the outage refused %d requests: it was not in force", refused)
	}
	t.Logf("%d reports counted in %s (%.0f/s); the outage refused %d usage requests", load.messages,
		counted.Round(time.Millisecond), float64(load.messages)/counted.Seconds(), refused)

	h.waitIdle(topology.StreamStigg, 120*time.Second)
	h.waitUsageTotals(load.reports, 30*time.Second)
	writes, took := h.usageWrites(), time.Since(t0)
	fired := 0
	for _, f := range h.sim.Faults() {
		fired += f.Fired
	}
	t.Logf("%d reports (%d redelivered copies) for %d customers in %s through two instances and %d injected "+
		"Zuora failures: %d usage writes (%.4f per report), %d events counted",
		load.messages, load.dup, len(customers), took.Round(time.Millisecond), fired, writes,
		float64(writes)/float64(load.messages), h.usageEventsCounted())
	if writes*10 > load.messages {
		t.Errorf("%d usage writes for %d reports: writes must be coalesced", writes, load.messages)
	}
	if dl := h.dlq(); len(dl) != 0 {
		t.Fatalf("%d dead letters, first %+v", len(dl), dl[0])
	}

	// Replay the last fifth with both instances running: nothing is counted twice or written again.
	h.sim.ClearFaults()
	ctx, cancel := contextWithTimeout(30 * time.Second)
	defer cancel()
	s, err := h.js.Stream(ctx, topology.StreamStigg)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := consumer.Replay(ctx, h.js, topology.StreamStigg, consumer.ReplayFrom{Seq: s.CachedInfo().State.LastSeq - uint64(load.messages/5)}); err != nil {
		t.Fatal(err)
	}
	h.waitIdle(topology.StreamStigg, 60*time.Second)
	time.Sleep(600 * time.Millisecond) // a few flush rounds
	for _, c := range customers {
		if pending, _, _ := h.zuoraUsage("stigg-sub-" + c); pending.Cmp(expectedTotal(load.reports[c])) != 0 {
			t.Errorf("%s: %s in Zuora after the replay, want %s", c, pending.FloatString(3), expectedTotal(load.reports[c]).FloatString(3))
		}
	}
	if n := h.usageWrites(); n != writes {
		t.Errorf("the replay made %d usage writes", n-writes)
	}
}
