package e2e

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/consumer"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/handlers"
	"github.com/zuora-sync/zuora-sync/idmap"
	"github.com/zuora-sync/zuora-sync/internal/app"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

const apiCallsFeature = "feature-api-calls"

// usageWorld syncs the sample catalog and the customers, and subscribes each customer to Pro with the API-calls
// add-on (a USAGE_BASED charge), all through the consumer.
func usageWorld(t *testing.T, customers []string) *harness {
	h := newHarness(t)
	h.cfg.UsageFlushInterval = 100 * time.Millisecond
	h.startConsumer()
	var ids []string
	for _, pk := range sampleCatalog(t) {
		ids = append(ids, h.publishPackage(pk))
	}
	for _, c := range customers {
		ids = append(ids, h.customerEvent(events.TypeStiggCustomerCreated, customer(c, "Customer "+c)))
	}
	h.waitSynced(ids)
	ids = nil
	for _, c := range customers {
		s := proSubscription("sub-" + c)
		s.CustomerID = c
		s.Addons = append(s.Addons, events.AddonQuantity{AddonID: "addon-api-calls", Quantity: 1})
		ev := h.newEvent(events.TypeStiggSubscriptionCreated, s.SubscriptionID, c, &events.SubscriptionCreated{Subscription: *s})
		h.publish(ev)
		ids = append(ids, ev.ID())
	}
	h.waitSynced(ids)
	h.stopConsumer()
	return h
}

func (h *harness) waitSynced(ids []string) {
	h.t.Helper()
	for _, id := range ids {
		if typ, out := h.waitOutcome(id, 30*time.Second); !strings.HasSuffix(typ, ".synced") {
			h.t.Fatalf("setup: %s %+v", typ, out)
		}
	}
}

// usageReport is one published report and what it means for the expected total.
type usageReport struct {
	customer string
	at       time.Time
	set      bool
	value    string
}

// usageMsg builds a report's message with the given event id (also its Nats-Msg-Id: a duplicate meant to reach the
// handler gets another Nats-Msg-Id, as a republish after the stream's dedupe window would).
func (h *harness) usageMsg(id, cust string, at time.Time, behavior events.UpdateBehavior, value string) *nats.Msg {
	h.t.Helper()
	u := &events.UsageReported{CustomerID: cust, SubscriptionID: "sub-" + cust, FeatureID: apiCallsFeature,
		Value: events.DecimalPtr(value), UpdateBehavior: behavior, Timestamp: at.UTC().Format(time.RFC3339Nano)}
	ev := h.newEvent(events.TypeStiggUsageReported, "sub-"+cust, cust, u)
	ev.SetID(id)
	msg, err := events.ToMsg("", ev)
	if err != nil {
		h.t.Fatal(err)
	}
	return msg
}

// expectedTotal applies the rule to a customer's reports (timestamps are distinct): the latest SET plus the
// DELTAs after it.
func expectedTotal(reports []usageReport) *big.Rat {
	var base *usageReport
	for i := range reports {
		if r := &reports[i]; r.set && (base == nil || r.at.After(base.at)) {
			base = r
		}
	}
	total := new(big.Rat)
	if base != nil {
		total.SetString(base.value)
	}
	for _, r := range reports {
		if !r.set && (base == nil || !r.at.Before(base.at)) {
			v, _ := new(big.Rat).SetString(r.value)
			total.Add(total, v)
		}
	}
	return total
}

// publishConcurrently publishes every message, one goroutine per customer.
func (h *harness) publishConcurrently(byCustomer map[string][]*nats.Msg) {
	h.t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(byCustomer))
	for _, msgs := range byCustomer {
		wg.Go(func() {
			for _, m := range msgs {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := h.js.PublishMsg(ctx, m)
				cancel()
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		h.t.Fatalf("publish: %v", err)
	}
}

// zuoraUsage sums the usage records of a subscription, by state.
func (h *harness) zuoraUsage(number string) (pending, processed *big.Rat, records []zuorasim.UsageRecord) {
	pending, processed = new(big.Rat), new(big.Rat)
	for _, r := range h.sim.UsageRecords() {
		if r.SubscriptionNumber != number {
			continue
		}
		records = append(records, r)
		q, _ := new(big.Rat).SetString(r.Quantity.String())
		if r.State == zuoraapi.UsageStatePending {
			pending.Add(pending, q)
		} else {
			processed.Add(processed, q)
		}
	}
	return pending, processed, records
}

func (h *harness) usageWrites() int {
	n := 0
	for _, r := range h.sim.Requests() {
		if r.Method != "GET" && strings.HasPrefix(r.Path, "/v2/usage_records") {
			n++
		}
	}
	return n
}

// usageEntries reads the bucket as an operator would (nats kv get): every entry's JSON.
func (h *harness) usageEntries() map[string]map[string]any {
	h.t.Helper()
	ctx, cancel := contextWithTimeout(10 * time.Second)
	defer cancel()
	kv, err := h.js.KeyValue(ctx, topology.BucketUsage)
	if err != nil {
		h.t.Fatal(err)
	}
	keys, err := kv.Keys(ctx)
	if err != nil && err != jetstream.ErrNoKeysFound {
		h.t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, k := range keys {
		e, err := kv.Get(ctx, k)
		if err != nil {
			h.t.Fatal(err)
		}
		var v map[string]any
		decode(h.t, e.Value(), &v)
		out[k] = v
	}
	return out
}

// Many usage reports from many customers, DELTA and SET mixed, out of order, with duplicates, published
// concurrently, through a consumer restart: Zuora ends with each subscription's exact total, written with far fewer
// usage writes than there were reports.
func TestUsageTotalsReachZuoraExactly(t *testing.T) {
	var customers []string
	for i := range 10 {
		customers = append(customers, fmt.Sprintf("cust-u%02d", i))
	}
	h := usageWorld(t, customers)
	start := h.sim.Now()
	reports := map[string][]usageReport{}
	var first, second = map[string][]*nats.Msg{}, map[string][]*nats.Msg{}
	published, dups := 0, 0
	for _, c := range customers {
		offsets := rand.Perm(200) // distinct timestamps, published in random order
		for i, off := range offsets {
			r := usageReport{customer: c, at: start.Add(time.Duration(off) * 7 * time.Second), value: fmt.Sprintf("%d.%03d", rand.IntN(50), rand.IntN(1000))}
			behavior := events.UpdateDelta
			if rand.IntN(12) == 0 {
				r.set, behavior = true, events.UpdateSet
				r.value = fmt.Sprintf("%d.5", 500+rand.IntN(500))
			}
			id := fmt.Sprintf("usage-%s-%d", c, off)
			reports[c] = append(reports[c], r)
			half := first
			if i >= len(offsets)/2 {
				half = second
			}
			half[c] = append(half[c], h.usageMsg(id, c, r.at, behavior, r.value))
			published++
			if rand.IntN(10) == 0 { // a duplicate the stream cannot dedupe (another Nats-Msg-Id), now or later
				dup := h.usageMsg(id, c, r.at, behavior, r.value)
				dup.Header.Set(nats.MsgIdHdr, id+"-again")
				other := first
				if rand.IntN(2) == 0 {
					other = second
				}
				other[c] = append(other[c], dup)
				published++
				dups++
			}
		}
	}

	// The first consumer never flushes in time (its start-up round finds nothing): what it counts is only in KV
	// when it stops midway through the first half.
	h.cfg.UsageFlushInterval = time.Hour
	h.startConsumer()
	t0 := time.Now()
	h.publishConcurrently(first)
	inFirst := 0
	for _, msgs := range first {
		inFirst += len(msgs)
	}
	h.eventually(20*time.Second, "the first consumer to handle part of the reports", func() bool {
		return h.backlog(topology.StreamStigg) <= inFirst-300
	})
	h.stopConsumer()
	if n := len(h.sim.UsageRecords()); n != 0 {
		t.Fatalf("%d usage records before any flush", n)
	}
	entries := h.usageEntries()
	for k, e := range entries {
		if e["written"] != nil {
			t.Fatalf("entry %s was written before any flush: %v", k, e)
		}
	}
	if len(entries) == 0 {
		t.Fatal("the first consumer counted nothing")
	}
	t.Logf("first consumer stopped with %d entries (%d events kept) counted in KV and nothing written to Zuora",
		len(entries), h.usageEventsCounted())

	// The second consumer writes what the first counted, and everything after.
	h.cfg.UsageFlushInterval = 100 * time.Millisecond
	h.startConsumer()
	h.publishConcurrently(second)
	h.waitIdle(topology.StreamStigg, 60*time.Second)
	h.waitUsageTotals(reports, 20*time.Second)
	writes, took := h.usageWrites(), time.Since(t0)
	t.Logf("%d reports (%d duplicates) over %d customers in %s: %d Zuora usage writes, %.4f writes per report",
		published, dups, len(customers), took.Round(time.Millisecond), writes, float64(writes)/float64(published))
	// Writes are bounded by time (an entry at most once a round), not by reports. Measured: about 50 writes for
	// 2,200 reports (0.02), 140 under -race, whose slower handling spreads the reports over more rounds.
	if rounds := int(took/h.cfg.UsageFlushInterval) + 1; writes*5 > published || writes > len(customers)*rounds {
		t.Errorf("%d usage writes for %d reports in %d rounds: writes must be coalesced", writes, published, rounds)
	}
	if dl := h.dlq(); len(dl) != 0 {
		t.Fatalf("dead letters: %+v", dl)
	}
	for k, e := range h.usageEntries() {
		if e["written"] == nil || fmt.Sprint(e["written"]) != fmt.Sprint(e["total"]) || e["claim"] != nil {
			t.Errorf("entry %s: total %v written %v claim %v", k, e["total"], e["written"], e["claim"])
		}
	}

	// A replay of the last reports (redelivered as a whole) counts nothing twice: no total moves, nothing is written.
	ctx, cancel := contextWithTimeout(30 * time.Second)
	defer cancel()
	s, err := h.js.Stream(ctx, topology.StreamStigg)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := consumer.Replay(ctx, h.js, topology.StreamStigg, consumer.ReplayFrom{Seq: s.CachedInfo().State.LastSeq - 600}); err != nil {
		t.Fatal(err)
	}
	h.waitIdle(topology.StreamStigg, 60*time.Second)
	time.Sleep(300 * time.Millisecond) // a few flush rounds
	for _, c := range customers {
		if pending, _, _ := h.zuoraUsage("stigg-sub-" + c); pending.Cmp(expectedTotal(reports[c])) != 0 {
			t.Errorf("%s: %s in Zuora after the replay, want %s", c, pending.FloatString(3), expectedTotal(reports[c]).FloatString(3))
		}
	}
	if n := h.usageWrites(); n != writes {
		t.Errorf("the replay made %d usage writes", n-writes)
	}
}

// waitUsageTotals waits until every customer's subscription has its exact total in Zuora, in one pending record.
func (h *harness) waitUsageTotals(reports map[string][]usageReport, each time.Duration) {
	h.t.Helper()
	for c, rs := range reports {
		want := expectedTotal(rs)
		h.eventually(each, "Zuora to have the total of "+c, func() bool {
			pending, _, _ := h.zuoraUsage("stigg-sub-" + c)
			return pending.Cmp(want) == 0
		})
		if _, _, recs := h.zuoraUsage("stigg-sub-" + c); len(recs) != 1 {
			h.t.Errorf("%s: %d usage records, want one for the period", c, len(recs))
		}
	}
}

// usageEventsCounted sums the events kept by every usage entry (SETs drop what they replace, so it is a floor).
func (h *harness) usageEventsCounted() int {
	n := 0
	for _, e := range h.usageEntries() {
		c, _ := e["eventCount"].(float64)
		n += int(c)
	}
	return n
}

// backlog is how many messages of the stream its consumers have not handled yet.
func (h *harness) backlog(stream string) int {
	ctx, cancel := contextWithTimeout(5 * time.Second)
	defer cancel()
	s, err := h.js.Stream(ctx, stream)
	if err != nil {
		return -1
	}
	n := 0
	infos := s.ListConsumers(ctx)
	for info := range infos.Info() {
		n += int(info.NumPending) + info.NumAckPending
	}
	return n
}

// yearSubscription subscribes the customer to the API-calls add-on directly in Zuora with a twelve-month term and
// maps it as the subscription handler would: the simulator does not renew terms, and the handler's terms are one
// billing period long, so a period rollover needs a longer term.
func (h *harness) yearSubscription(a *app.App, subID, cust string) string {
	h.t.Helper()
	ctx, cancel := contextWithTimeout(10 * time.Second)
	defer cancel()
	ctx = zuoraapi.WithEventID(ctx, "test-"+subID)
	acct, err := a.IDs.Get(ctx, handlers.KindCustomer, cust)
	if err != nil {
		h.t.Fatal(err)
	}
	pkg, err := a.IDs.Get(ctx, handlers.KindPackage, "addon-api-calls")
	if err != nil {
		h.t.Fatal(err)
	}
	today, number := zuoraapi.FormatDate(h.sim.Now()), "stigg-"+subID
	resp, err := a.Zuora.CreateOrder(ctx, "create", &zuoraapi.OrderRequest{OrderDate: today, ExistingAccountNumber: acct.ZuoraNumber,
		Subscriptions: []zuoraapi.OrderSubscription{{OrderActions: []zuoraapi.OrderAction{zuoraapi.NewCreateSubscriptionAction(today,
			&zuoraapi.OrderCreateSubscription{SubscriptionNumber: number, Terms: &zuoraapi.OrderTerms{
				InitialTerm: zuoraapi.OrderTerm{TermType: zuoraapi.TermTypeTermed, Period: 12, PeriodType: zuoraapi.PeriodTypeMonth}},
				SubscribeToRatePlans: []zuoraapi.OrderRatePlan{{ProductRatePlanID: idmap.PackageOf(pkg).Plan("MONTHLY")}}})}}}})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := a.IDs.Put(ctx, handlers.KindSubscription, &idmap.Entry{StiggID: subID, ZuoraID: resp.SubscriptionIDs[0], ZuoraNumber: number}); err != nil {
		h.t.Fatal(err)
	}
	return number
}

// When the period ends Zuora processes its record; the processed record is left as it is, new usage goes to a
// new record of the new period, and usage reported late for the processed period to a record of the open one.
func TestUsagePeriodRollover(t *testing.T) {
	h := newHarness(t)
	h.cfg.UsageFlushInterval = 100 * time.Millisecond
	a := h.startConsumer()
	var ids []string
	for _, pk := range sampleCatalog(t) {
		ids = append(ids, h.publishPackage(pk))
	}
	ids = append(ids, h.customerEvent(events.TypeStiggCustomerCreated, customer("cust-roll", "Roll Over")))
	h.waitSynced(ids)
	number := h.yearSubscription(a, "sub-cust-roll", "cust-roll")

	t0 := h.sim.Now()
	send := func(prefix string, n int, at time.Time, value string) {
		for i := range n {
			h.publishMsg(h.usageMsg(fmt.Sprintf("%s-%d", prefix, i), "cust-roll", at.Add(time.Duration(i)*time.Second), events.UpdateDelta, value))
		}
	}
	wantPending := func(what string, want string) {
		w, _ := new(big.Rat).SetString(want)
		h.eventually(20*time.Second, what, func() bool {
			pending, _, _ := h.zuoraUsage(number)
			return pending.Cmp(w) == 0
		})
	}
	send("p1", 20, t0, "1.5")
	wantPending("the first period's 30 in Zuora", "30")
	h.sim.Advance(32 * 24 * time.Hour)
	_, processed, recs := h.zuoraUsage(number)
	if len(recs) != 1 || processed.String() != "30/1" {
		t.Fatalf("after the period ended: %+v", recs)
	}
	before := recs[0]

	send("p2", 10, h.sim.Now(), "2")           // the new period: 20
	send("late", 4, t0.Add(time.Hour), "0.25") // the processed period, reported late: 1
	wantPending("the new period's 20 and the late 1 in Zuora", "21")
	_, processed, recs = h.zuoraUsage(number)
	if processed.String() != "30/1" || len(recs) != 3 {
		t.Fatalf("records %+v", recs)
	}
	if r := recs[0]; r.ID != before.ID || r.Quantity != before.Quantity || r.State != zuoraapi.UsageStateProcessed ||
		r.UpdatedTime != before.UpdatedTime {
		t.Fatalf("the processed record changed: %+v → %+v", before, r)
	}
	for _, r := range recs[1:] {
		if r.State != zuoraapi.UsageStatePending || r.StartTime[:10] <= before.StartTime[:10] {
			t.Fatalf("record %+v is not in the new period", r)
		}
	}
	if dl := h.dlq(); len(dl) != 0 {
		t.Fatalf("dead letters: %+v", dl)
	}
}
