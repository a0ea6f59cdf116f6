package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/app"
	"github.com/zuora-sync/zuora-sync/internal/envvar"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// demoUsageFlushInterval is the demo's USAGE_FLUSH_INTERVAL when the variable is unset: the usage step waits for
// the flusher, and the default 5 s would make the demo stall for no reason.
const demoUsageFlushInterval = time.Second

const (
	demoUsageSubscription = "sub-acme-pro"
	demoUsageCustomer     = "cust-acme"
	demoUsageFeature      = "feature-api-calls"
	demoUsageDistinct     = 288 // distinct reports
	demoUsageCopies       = 12  // redelivered copies of some of them
)

// demoUsageReport is one distinct report and what it means for the total.
type demoUsageReport struct {
	at    time.Time
	set   bool
	value string
}

// demoUsage reports a burst of API-call usage for sub-acme-pro, the add-on its upgrade added, as a metered
// service would through Stigg: DELTAs of varied size and two SETs (a reporter correcting its running total),
// published out of time order, plus a few redeliveries of reports already sent (same event id, another
// Nats-Msg-Id, so the stream cannot drop them and the handler must). The handler only counts into KV; the flusher
// writes Zuora the period's total. The step waits for the subscription's pending usage record to hold exactly the
// total computed here from what was published, and counts the Zuora usage writes it took.
func demoUsage(ctx context.Context, out io.Writer, a *app.App) error {
	if a.Sim == nil {
		return errors.New("demo: not running against the simulator")
	}
	number := "stigg-" + demoUsageSubscription
	if e, err := a.IDs.Get(ctx, "subscription", demoUsageSubscription); err == nil && e.ZuoraNumber != "" {
		number = e.ZuoraNumber
	}
	writesBefore := usageWrites(a)

	// The reports: one every 250 ms over the last 72 s, ending now (the add-on's item started today; a report
	// from before its start counts in its first period). Values are fixed so the total is the same every run.
	step := 250 * time.Millisecond
	base := a.Sim.Now().Add(-demoUsageDistinct * step)
	reports := make([]demoUsageReport, demoUsageDistinct)
	sets := map[int]string{60: "2500", 180: "7000.5"}
	for i := range reports {
		r := demoUsageReport{at: base.Add(time.Duration(i) * step), value: fmt.Sprintf("%d.%d", 1+i*37%97, i*3%10)}
		if v, ok := sets[i]; ok {
			r.set, r.value = true, v
		}
		reports[i] = r
	}
	want, afterSet := demoUsageTotal(reports)

	msgs := make([]*nats.Msg, 0, demoUsageDistinct+demoUsageCopies)
	for _, r := range reports {
		m, err := demoUsageMsg(r)
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	// Out of time order (a fixed shuffle), and copies of a dozen reports, each redelivered at a later point of
	// the burst.
	rng := rand.New(rand.NewPCG(9, 2026))
	rng.Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
	for k := range demoUsageCopies {
		i := rng.IntN(len(msgs))
		dup := &nats.Msg{Subject: msgs[i].Subject, Header: nats.Header{}, Data: msgs[i].Data}
		for h, v := range msgs[i].Header {
			dup.Header[h] = append([]string(nil), v...)
		}
		dup.Header.Set(nats.MsgIdHdr, fmt.Sprintf("%s-redelivered-%d", msgs[i].Header.Get(nats.MsgIdHdr), k))
		at := i + 1 + rng.IntN(len(msgs)-i)
		msgs = append(msgs[:at], append([]*nats.Msg{dup}, msgs[at:]...)...)
	}

	t0 := time.Now()
	for _, m := range msgs {
		if _, err := a.JS.PublishMsg(ctx, m); err != nil {
			return fmt.Errorf("publish usage report: %w", err)
		}
	}

	// About a second on an idle machine; under the race detector on a loaded 2-core machine the 300 reports alone
	// took over 30 s to be counted.
	const timeout = 90 * time.Second
	deadline := time.Now().Add(timeout)
	var pending *big.Rat
	var recs []string
	var quantity, uom string
	for {
		pending, recs, quantity, uom = demoPendingUsage(a, number)
		if pending.Cmp(want) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("usage of %s on %s: Zuora has %s pending after %s, want %s: see `go run ./cmd/consumer dlq list`",
				demoUsageFeature, demoUsageSubscription, ratText(pending), timeout, ratText(want))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	took := time.Since(t0)
	writes := usageWrites(a) - writesBefore

	record := "usage record " + strings.Join(recs, ", ")
	if len(recs) != 1 {
		record, quantity = fmt.Sprintf("%d usage records", len(recs)), ratText(pending)
	}
	plural := "s"
	if writes == 1 {
		plural = ""
	}
	fmt.Fprintf(out, "\nUsage of API calls (%s): %d reports (%d of them redelivered copies) → %s in Zuora: quantity %s %s, pending; %d Zuora usage write%s (%.3f per report)\n",
		demoUsageSubscription, len(msgs), demoUsageCopies, record, quantity, uom, writes, plural, float64(writes)/float64(len(msgs)))
	fmt.Fprintf(out, "  %d distinct %s events of %s over %s, published out of time order: the total is the latest SET (%s) plus the %d DELTAs after it, each counted once\n",
		demoUsageDistinct, events.TypeStiggUsageReported, demoUsageFeature, demoUsageDistinct*step, sets[180], afterSet)
	fmt.Fprintf(out, "  in Zuora %s after the first report; the flusher writes every %s here (USAGE_FLUSH_INTERVAL, default 5s)\n",
		took.Round(10*time.Millisecond), envvar.Or("USAGE_FLUSH_INTERVAL", demoUsageFlushInterval.String()))
	return nil
}

// demoUsageTotal is the total the reports make, by the rule of docs/ARCHITECTURE.md ("Usage"): the latest SET by
// timestamp plus the DELTAs not before it (the timestamps here are distinct); afterSet counts those DELTAs.
func demoUsageTotal(reports []demoUsageReport) (total *big.Rat, afterSet int) {
	var set *demoUsageReport
	for i := range reports {
		if r := &reports[i]; r.set && (set == nil || r.at.After(set.at)) {
			set = r
		}
	}
	total = new(big.Rat)
	if set != nil {
		total.SetString(set.value)
	}
	for _, r := range reports {
		if !r.set && (set == nil || !r.at.Before(set.at)) {
			v, _ := new(big.Rat).SetString(r.value)
			total.Add(total, v)
			afterSet++
		}
	}
	return total, afterSet
}

// demoUsageMsg is the report as Stigg publishes it: about the subscription, in the customer's order.
func demoUsageMsg(r demoUsageReport) (*nats.Msg, error) {
	behavior := events.UpdateDelta
	if r.set {
		behavior = events.UpdateSet
	}
	u := &events.UsageReported{CustomerID: demoUsageCustomer, SubscriptionID: demoUsageSubscription, FeatureID: demoUsageFeature,
		Value: events.DecimalPtr(r.value), UpdateBehavior: behavior, Timestamp: r.at.UTC().Format(time.RFC3339Nano)}
	ev, err := events.New(events.TypeStiggUsageReported, "/zuora-sync/demo", demoUsageSubscription, demoUsageCustomer, u)
	if err != nil {
		return nil, fmt.Errorf("usage report: %w", err)
	}
	return events.ToMsg("", ev)
}

// demoPendingUsage sums the subscription's pending usage records in the simulator and names them.
func demoPendingUsage(a *app.App, number string) (sum *big.Rat, ids []string, quantity, uom string) {
	sum = new(big.Rat)
	for _, r := range a.Sim.UsageRecords() {
		if r.SubscriptionNumber != number || r.State != zuoraapi.UsageStatePending {
			continue
		}
		q, ok := new(big.Rat).SetString(r.Quantity.String())
		if !ok {
			continue
		}
		sum.Add(sum, q)
		ids, quantity, uom = append(ids, r.ID), r.Quantity.String(), r.UnitOfMeasure
	}
	return sum, ids, quantity, uom
}

// usageWrites counts the usage writes Zuora has received (creates and patches of usage records).
func usageWrites(a *app.App) int {
	n := 0
	for _, r := range a.Sim.Requests() {
		if r.Method != "GET" && strings.HasPrefix(r.Path, "/v2/usage_records") {
			n++
		}
	}
	return n
}

// ratText spells r as a decimal without trailing zeros.
func ratText(r *big.Rat) string {
	if r.IsInt() {
		return r.RatString()
	}
	return strings.TrimRight(strings.TrimRight(r.FloatString(9), "0"), ".")
}
