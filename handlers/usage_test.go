package handlers

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/idmap"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// usageEnv is subsEnv with the usage bucket and handler.
type usageEnv struct {
	*subsEnv
	kv    jetstream.KeyValue
	usage *usageReports
}

func newUsageEnv(t *testing.T) *usageEnv {
	t.Helper()
	e := newSubsEnv(t)
	_, js := natstest.Start(t).Connect(t)
	kv, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: "usage"})
	if err != nil {
		t.Fatal(err)
	}
	e.deps.Usage = kv
	return &usageEnv{subsEnv: e, kv: kv, usage: newUsageReports(e.deps)}
}

const apiCalls = "feature-api-calls"

// apiCallsSubscription subscribes the customer to Pro with the API-calls add-on through the subscription
// handler (a one-month term, as Stigg's monthly subscriptions get).
func (e *usageEnv) apiCallsSubscription(subID, customer string) {
	e.t.Helper()
	e.syncCustomer(customer)
	s := proSub(subID, customer)
	s.Addons = append(s.Addons, events.AddonQuantity{AddonID: "addon-api-calls", Quantity: 1})
	if _, err := e.handle(events.TypeStiggSubscriptionCreated, &events.SubscriptionCreated{Subscription: *s}, customer); err != nil {
		e.t.Fatalf("create subscription: %v", err)
	}
}

// yearSubscription creates the API-calls add-on subscription in Zuora directly, with a twelve-month term, and maps
// it: the simulator does not renew terms, so a period rollover needs a term longer than one billing period.
func (e *usageEnv) yearSubscription(subID, customer string) string {
	e.t.Helper()
	e.syncCustomer(customer)
	ctx := e.ctx()
	acct, err := e.deps.IDs.Get(ctx, KindCustomer, customer)
	if err != nil {
		e.t.Fatal(err)
	}
	pkg, err := e.deps.IDs.Get(ctx, KindPackage, "addon-api-calls")
	if err != nil {
		e.t.Fatal(err)
	}
	today := zuoraapi.FormatDate(e.sim.Now())
	number := subscriptionNumberFor(subID)
	resp, err := e.deps.Zuora.CreateOrder(ctx, "test.create", &zuoraapi.OrderRequest{OrderDate: today, ExistingAccountNumber: acct.ZuoraNumber,
		Subscriptions: []zuoraapi.OrderSubscription{{OrderActions: []zuoraapi.OrderAction{zuoraapi.NewCreateSubscriptionAction(today,
			&zuoraapi.OrderCreateSubscription{SubscriptionNumber: number, Terms: &zuoraapi.OrderTerms{
				InitialTerm: zuoraapi.OrderTerm{TermType: zuoraapi.TermTypeTermed, Period: 12, PeriodType: zuoraapi.PeriodTypeMonth}},
				SubscribeToRatePlans: []zuoraapi.OrderRatePlan{{ProductRatePlanID: idmap.PackageOf(pkg).Plan("MONTHLY")}}})}}}})
	if err != nil {
		e.t.Fatalf("create subscription: %v", err)
	}
	if err := e.deps.IDs.Put(ctx, KindSubscription, &idmap.Entry{StiggID: subID, ZuoraID: resp.SubscriptionIDs[0], ZuoraNumber: number}); err != nil {
		e.t.Fatal(err)
	}
	return number
}

// report handles one usage event with the given id.
func (e *usageEnv) report(id, subID, feature string, at time.Time, behavior events.UpdateBehavior, value string) (events.Outcome, error) {
	e.t.Helper()
	u := &events.UsageReported{CustomerID: "cust-u", SubscriptionID: subID, FeatureID: feature, Value: events.DecimalPtr(value),
		UpdateBehavior: behavior, Timestamp: at.UTC().Format(time.RFC3339Nano)}
	ev, err := events.New(events.TypeStiggUsageReported, "/test", subID, "cust-u", u)
	if err != nil {
		e.t.Fatal(err)
	}
	ev.SetID(id)
	res, err := e.usage.Handle(e.ctx(), &dispatch.Input{Event: ev, Payload: u, Key: "cust-u", Attempt: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return events.Outcome{}, err
	}
	return res.Outcomes[0].Data, nil
}

// entries reads every usage entry, by key.
func (e *usageEnv) entries() map[string]*usageEntry {
	e.t.Helper()
	out := map[string]*usageEntry{}
	keys, err := e.kv.Keys(e.ctx())
	if err != nil && err != jetstream.ErrNoKeysFound {
		e.t.Fatal(err)
	}
	for _, k := range keys {
		en, _, err := usageStore{kv: e.kv}.get(e.ctx(), k)
		if err != nil {
			e.t.Fatal(err)
		}
		out[k] = en
	}
	return out
}

func TestUsageHandlerCountsIntoTheItemsPeriod(t *testing.T) {
	e := newUsageEnv(t)
	e.apiCallsSubscription("sub-u", "cust-u")
	now := e.sim.Now()
	for i, step := range []struct {
		id, value, action string
		behavior          events.UpdateBehavior
	}{
		{"u1", "10", actionCounted, ""},
		{"u2", "2.5", actionCounted, events.UpdateDelta},
		{"u1", "10", actionUnchanged, ""}, // a redelivery
		{"u3", "0.1", actionCounted, events.UpdateDelta},
	} {
		out, err := e.report(step.id, "sub-u", apiCalls, now.Add(time.Duration(i)*time.Second), step.behavior, step.value)
		if err != nil || out.Action != step.action {
			t.Fatalf("step %d: %+v %v, want action %s", i, out, err, step.action)
		}
		if out.Zuora[events.ZuoraSubscriptionNumber] != "stigg-sub-u" {
			t.Fatalf("step %d: outcome names %v", i, out.Zuora)
		}
	}
	entries := e.entries()
	start := zuoraapi.FormatDate(now)
	en := entries[usageKey("sub-u", apiCalls, start)]
	if len(entries) != 1 || en == nil {
		t.Fatalf("entries %v, want one for the period from %s", entries, start)
	}
	if en.Total.String() != "12.6" || en.Written != nil || en.PeriodEnd != zuoraapi.FormatDate(addCalendarMonths(now, 1)) {
		t.Fatalf("entry: total %s written %v period %s..%s", en.Total, en.Written, en.PeriodStart, en.PeriodEnd)
	}
	// The item is the subscription's usage charge for the feature, from the add-on's package record.
	sub, err := e.deps.Zuora.GetSubscription(e.ctx(), "stigg-sub-u", "subscription_plans", "subscription_plans.subscription_items")
	if err != nil {
		t.Fatal(err)
	}
	var item *zuoraapi.SubscriptionItem
	for _, it := range sub.Items() {
		if it.ID == en.Target.ItemID {
			item = &it
		}
	}
	if item == nil || item.ChargeType != "usage" || en.Target.UOM != "API Call" || en.Target.AccountID != sub.AccountID {
		t.Fatalf("target %+v, item %+v", en.Target, item)
	}
	if n := len(e.sim.UsageRecords()); n != 0 {
		t.Fatalf("the handler wrote %d usage records; only the flusher writes", n)
	}
}

func TestUsageHandlerSetReplacesEarlierUsage(t *testing.T) {
	e := newUsageEnv(t)
	e.apiCallsSubscription("sub-u", "cust-u")
	now := e.sim.Now()
	e.report("d1", "sub-u", apiCalls, now.Add(time.Second), events.UpdateDelta, "40")
	e.report("s1", "sub-u", apiCalls, now.Add(2*time.Second), events.UpdateSet, "100")
	e.report("d2", "sub-u", apiCalls, now.Add(3*time.Second), events.UpdateDelta, "5")
	out, err := e.report("late", "sub-u", apiCalls, now, events.UpdateDelta, "7") // older than the SET
	if err != nil || out.Action != actionUnchanged || !strings.Contains(out.Reason, "SET") {
		t.Fatalf("late DELTA before the SET: %+v %v", out, err)
	}
	if en := e.entries()[usageKey("sub-u", apiCalls, zuoraapi.FormatDate(now))]; en.Total.String() != "105" {
		t.Fatalf("total %s, want 105", en.Total)
	}
}

func TestUsageHandlerRefusesAFeatureNotBilledByUsage(t *testing.T) {
	e := newUsageEnv(t)
	e.apiCallsSubscription("sub-u", "cust-u")
	_, err := e.report("seats", "sub-u", "feature-seats", e.sim.Now(), events.UpdateDelta, "1") // a PER_UNIT charge
	if c, _ := dispatch.Classify(err); c != dispatch.ClassPermanent || !strings.Contains(err.Error(), "not billed by usage") {
		t.Fatalf("usage of a per-unit feature: %v (%v)", err, c)
	}
}

func TestUsageHandlerWaitsForTheSubscription(t *testing.T) {
	e := newUsageEnv(t)
	_, err := e.report("early", "sub-unknown", apiCalls, e.sim.Now(), events.UpdateDelta, "1")
	if !dispatch.IsDeferred(err) {
		t.Fatalf("usage of a subscription not synced yet: %v, want deferred", err)
	}
}

func TestUsagePeriodOf(t *testing.T) {
	monthly := &zuoraapi.SubscriptionRecurring{Interval: "month", IntervalCount: 1, Usage: true}
	sub := &zuoraapi.Subscription{SubscriptionNumber: "S-1", State: "active"}
	day := func(d string) time.Time { t, _ := time.Parse(time.DateOnly, d); return t.Add(13 * time.Hour) }
	item := &zuoraapi.SubscriptionItem{ID: "i", StartDate: "2024-01-31", Recurring: monthly}
	for at, want := range map[string]string{
		"2024-01-31": "2024-01-31..2024-02-29", // months added from the start, clamped: Jan 31 → Feb 29 → Mar 31
		"2024-02-29": "2024-02-29..2024-03-31",
		"2024-03-30": "2024-02-29..2024-03-31",
		"2024-03-31": "2024-03-31..2024-04-30",
		"2024-01-02": "2024-01-31..2024-02-29", // before the item started: its first period
	} {
		s, e, err := usagePeriodOf(sub, item, day(at))
		if err != nil || s+".."+e != want {
			t.Errorf("usage at %s: %s..%s %v, want %s", at, s, e, err, want)
		}
	}
	yearly := &zuoraapi.SubscriptionItem{ID: "y", StartDate: "2024-05-10", EndDate: "2025-02-01",
		Recurring: &zuoraapi.SubscriptionRecurring{Interval: "year", IntervalCount: 1}}
	if s, e, err := usagePeriodOf(sub, yearly, day("2025-01-15")); err != nil || s != "2024-05-10" || e != "2025-02-01" {
		t.Errorf("yearly item cut at its end: %s..%s %v", s, e, err)
	}
	_, _, err := usagePeriodOf(sub, yearly, day("2025-02-01"))
	if c, _ := dispatch.Classify(err); c != dispatch.ClassPermanent {
		t.Errorf("usage after the item ended: %v, want permanent", err)
	}
	// At the end of a term that renews, the report waits for the renewal instead.
	renewing := &zuoraapi.Subscription{SubscriptionNumber: "S-2", State: "active", AutoRenew: true,
		CurrentTerm: &zuoraapi.SubscriptionTerm{EndDate: "2025-02-01"}}
	_, _, err = usagePeriodOf(renewing, yearly, day("2025-02-01"))
	if c, d := dispatch.Classify(err); c != dispatch.ClassTransient || d != renewalWait {
		t.Errorf("usage after the term of a renewing subscription: %v (%v %v), want a retry", err, c, d)
	}
}
