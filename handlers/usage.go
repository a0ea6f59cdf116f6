package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/idmap"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// actionCounted: the usage report was added to its period's total (Zuora gets the total from the flusher).
const actionCounted = "counted"

// usageReports counts io.stigg.usage.reported into the KV truth (usage_totals.go); it writes nothing to Zuora,
// so a burst of reports costs Zuora one read each and the flusher a handful of writes (usage_flush.go). It is a
// dispatch.Each route: a late older report still counts, and the entry dedupes by event id.
//
// Zuora calls per event: GET /v2/subscriptions/{number} with its plans and items, cached for usageResolveTTL: at
// Zuora's sandbox budget (2,500 requests a minute) a read per report would cap usage at about 40 reports a second.
type usageReports struct {
	deps  Deps
	store usageStore
	now   func() time.Time

	mu       sync.Mutex
	resolved map[string]resolvedUsage // by subscription id + feature id
}

// resolvedUsage is a subscription's item for a feature, as read from Zuora at a time.
type resolvedUsage struct {
	sub  zuoraapi.Subscription // without its plans
	item zuoraapi.SubscriptionItem
	at   time.Time
}

const (
	// usageResolveTTL bounds how long a change of the subscription (an add-on removed) may go unseen.
	usageResolveTTL = 30 * time.Second
	// maxResolved bounds the cache; it starts over when full.
	maxResolved = 10000
)

func newUsageReports(d Deps) *usageReports {
	return &usageReports{deps: d, store: usageStore{kv: d.Usage}, now: time.Now, resolved: map[string]resolvedUsage{}}
}

func (h *usageReports) Handle(ctx context.Context, in *dispatch.Input) (*dispatch.Result, error) {
	u, ok := in.Payload.(*events.UsageReported)
	if !ok {
		return nil, dispatch.Permanent(fmt.Errorf("usage handler got %T", in.Payload))
	}
	if h.store.kv == nil {
		return nil, errors.New("usage: no KV bucket configured (Deps.Usage)")
	}
	at, err := events.ParseTime(u.Timestamp)
	if err != nil {
		return nil, dispatch.Permanent(fmt.Errorf("timestamp: %w", err))
	}
	value, err := zuoraapi.ParseAmount(u.Value.String())
	if err != nil {
		return nil, dispatch.Permanent(fmt.Errorf("value: %w", err))
	}
	sub, item, cached, err := h.resolveCached(ctx, u)
	if err != nil {
		return nil, err
	}
	start, end, err := usagePeriodOf(sub, item, at)
	if err != nil && cached {
		// The refusal may come from what Zuora had a moment ago: decide on what it has now.
		if sub, item, err = h.resolveFresh(ctx, u); err != nil {
			return nil, err
		}
		start, end, err = usagePeriodOf(sub, item, at)
	}
	if err != nil {
		return nil, err
	}
	if usageExpired(end, h.now()) {
		return nil, dispatch.Permanent(fmt.Errorf("usage of feature %s on subscription %s at %s belongs to the billing "+
			"period %s to %s, which ended more than %d days ago: its total is no longer kept, so this report cannot be "+
			"counted without risking a double count; correct the period in Zuora", u.FeatureID, u.SubscriptionID,
			u.Timestamp, start, end, int(usageRetention.Hours()/24)))
	}
	key := usageKey(u.SubscriptionID, u.FeatureID, start)
	ev := usageEvent{hash: usageEventHash(in.Event.ID()), at: at.UnixNano(), set: u.Behavior() == events.UpdateSet, value: value}
	var counted usageCounted
	entry, _, err := h.store.modify(ctx, key, func(cur *usageEntry) (*usageEntry, bool, error) {
		if cur == nil {
			cur = &usageEntry{SubscriptionID: u.SubscriptionID, FeatureID: u.FeatureID, PeriodStart: start, PeriodEnd: end,
				Target: usageTarget{SubscriptionNumber: sub.SubscriptionNumber, AccountID: sub.AccountID, ItemID: item.ID,
					UOM: item.UnitOfMeasure}}
		}
		var err error
		counted, err = cur.count(ev)
		return cur, err == nil && counted == usageAdded, err
	})
	if errors.Is(err, errUsageFull) {
		return nil, dispatch.Permanent(fmt.Errorf("usage of feature %s on subscription %s for the period from %s is full "+
			"(%v; at most %d events per period are kept to dedupe them): report the period's total with SET, which "+
			"replaces what came before, or aggregate DELTAs before reporting", u.FeatureID, u.SubscriptionID, start, err, maxUsageEvents))
	}
	if err != nil {
		return nil, err
	}
	ids := map[string]string{events.ZuoraSubscriptionNumber: sub.SubscriptionNumber, events.ZuoraSubscriptionID: sub.ID,
		events.ZuoraAccountID: sub.AccountID}
	if entry.RecordID != "" {
		ids[events.ZuoraUsageRecordID] = entry.RecordID
	}
	out := events.Outcome{StiggID: cmp.Or(in.Event.Subject(), u.SubscriptionID), Action: actionCounted, Zuora: ids}
	switch counted {
	case usageDuplicate:
		out.Action, out.Reason = actionUnchanged, "this event was counted before"
	case usageSuperseded:
		out.Action, out.Reason = actionUnchanged, "a SET reported later replaces usage reported at this time"
	}
	in.Logger.Debug("usage counted", "action", out.Action, "key", key, "total", entry.Total.String(), "events", len(entry.events))
	return dispatch.Synced(events.EntityUsage, out), nil
}

// resolveCached is resolve, answered from the cache while it is fresh; cached says it was.
func (h *usageReports) resolveCached(ctx context.Context, u *events.UsageReported) (*zuoraapi.Subscription, *zuoraapi.SubscriptionItem, bool, error) {
	k := u.SubscriptionID + "\x00" + u.FeatureID
	h.mu.Lock()
	r, ok := h.resolved[k]
	h.mu.Unlock()
	if ok && h.now().Sub(r.at) < usageResolveTTL {
		return &r.sub, &r.item, true, nil
	}
	sub, item, err := h.resolveFresh(ctx, u)
	return sub, item, false, err
}

// resolveFresh is resolve, remembered for the next reports (only what was found: a feature added a moment ago
// must not be refused from memory).
func (h *usageReports) resolveFresh(ctx context.Context, u *events.UsageReported) (*zuoraapi.Subscription, *zuoraapi.SubscriptionItem, error) {
	at := h.now()
	sub, item, err := h.resolve(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	r := resolvedUsage{sub: *sub, item: *item, at: at}
	r.sub.SubscriptionPlans = nil
	h.mu.Lock()
	if len(h.resolved) >= maxResolved {
		clear(h.resolved)
	}
	h.resolved[u.SubscriptionID+"\x00"+u.FeatureID] = r
	h.mu.Unlock()
	return sub, item, nil
}

// resolve finds the Zuora subscription and the item (the usage charge) that bills the feature: a plan's product
// maps back to its Stigg package, whose record names the feature's USAGE_BASED charge, and the item priced by
// that charge is the one.
func (h *usageReports) resolve(ctx context.Context, u *events.UsageReported) (*zuoraapi.Subscription, *zuoraapi.SubscriptionItem, error) {
	e, err := h.deps.IDs.Get(ctx, KindSubscription, u.SubscriptionID)
	if errors.Is(err, idmap.ErrNotFound) {
		return nil, nil, dispatch.Defer(fmt.Errorf("subscription %s is not synced to Zuora yet", u.SubscriptionID))
	}
	if err != nil {
		return nil, nil, err
	}
	if rec := idmap.SubscriptionOf(e); rec.Skipped != "" {
		return nil, nil, dispatch.Permanent(fmt.Errorf("subscription %s is not billed in Zuora (%s), so its usage is not either",
			u.SubscriptionID, rec.Skipped))
	}
	number := cmp.Or(e.ZuoraNumber, subscriptionNumberFor(u.SubscriptionID))
	sub, err := h.deps.Zuora.GetSubscription(ctx, number, "subscription_plans", "subscription_plans.subscription_items")
	if zuoraapi.IsNotFound(err) {
		return nil, nil, dispatch.Permanent(fmt.Errorf("subscription %s is mapped to Zuora subscription %s, which Zuora does not have",
			u.SubscriptionID, number))
	}
	if err != nil {
		return nil, nil, describe(err, "read Zuora subscription "+number)
	}
	var found []*zuoraapi.SubscriptionItem
	if sub.SubscriptionPlans != nil {
		for i := range sub.SubscriptionPlans.Data {
			p := &sub.SubscriptionPlans.Data[i]
			if p.SubscriptionItems == nil {
				continue
			}
			charges, err := h.usageCharges(ctx, p.ProductID, u.FeatureID)
			if err != nil {
				return nil, nil, err
			}
			for j := range p.SubscriptionItems.Data {
				// The Quickstart item's price_id is the product rate plan charge it was subscribed from.
				if it := &p.SubscriptionItems.Data[j]; slices.Contains(charges, it.PriceID) {
					found = append(found, it)
				}
			}
		}
	}
	if len(found) == 0 {
		return nil, nil, dispatch.Permanent(fmt.Errorf("feature %s is not billed by usage on subscription %s: no item of Zuora "+
			"subscription %s is the %s.%s charge of a Stigg package; nothing was recorded", u.FeatureID, u.SubscriptionID,
			number, events.BillingModelUsageBased, u.FeatureID))
	}
	// A feature billed twice (an add-on removed and added again) has one item per stint: the latest one started.
	slices.SortStableFunc(found, func(a, b *zuoraapi.SubscriptionItem) int { return cmp.Compare(a.StartDate, b.StartDate) })
	return sub, found[len(found)-1], nil
}

// usageCharges are the product rate plan charges that bill the feature by usage in the product's Stigg package
// (any billing period); none for a product zuora-sync did not create.
func (h *usageReports) usageCharges(ctx context.Context, productID, featureID string) ([]string, error) {
	pkgID, err := h.deps.IDs.StiggIDOf(ctx, KindPackage, productID)
	if errors.Is(err, idmap.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	e, err := h.deps.IDs.Get(ctx, KindPackage, pkgID)
	if errors.Is(err, idmap.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rec := idmap.PackageOf(e)
	var out []string
	for _, period := range []events.BillingPeriod{events.BillingPeriodMonthly, events.BillingPeriodAnnually} {
		if c, ok := rec.Charge(string(period), string(events.BillingModelUsageBased)+"."+featureID); ok && c.ID != "" {
			out = append(out, c.ID)
		}
	}
	return out, nil
}

// renewalWait is how long a report after the term's end waits for Zuora to renew the term.
const renewalWait = time.Minute

// usagePeriodOf is the item's billing period [start, end) that holds the report's timestamp, computed as Zuora
// (and zuorasim/usage.go) does: periods of the item's billing period aligned to the item's start, months added
// calendar-wise from the start (Jan 31 → Feb 28 → Mar 31), the last one cut at the item's end. A period Zuora has
// processed already (before the item's charged-through date) is still the report's period: the flusher writes what
// Zuora did not bill into the open period, and a redelivery finds the event where it was counted.
func usagePeriodOf(sub *zuoraapi.Subscription, item *zuoraapi.SubscriptionItem, at time.Time) (string, string, error) {
	day := at.UTC().Format(time.DateOnly)
	anchor, err := time.Parse(time.DateOnly, item.StartDate)
	if err != nil {
		return "", "", fmt.Errorf("the Zuora subscription item %s has no start date (%q)", item.ID, item.StartDate)
	}
	if day < item.StartDate {
		day = item.StartDate // reported just before the item started: its first period
	}
	if item.EndDate != "" && day >= item.EndDate {
		err := fmt.Errorf("usage at %s is after Zuora subscription item %s of %s ended on %s", at.UTC().Format(time.RFC3339),
			item.ID, sub.SubscriptionNumber, item.EndDate)
		if sub.AutoRenew && sub.CurrentTerm != nil && sub.CurrentTerm.EndDate == item.EndDate && sub.State == "active" {
			return "", "", dispatch.RetryLater(fmt.Errorf("%w: waiting for Zuora to renew the term", err), renewalWait)
		}
		return "", "", dispatch.Permanent(fmt.Errorf("%w; it is not billed", err))
	}
	months, days := itemPeriodLength(item.Recurring)
	at0 := func(k int) string {
		if months > 0 {
			return addCalendarMonths(anchor, months*k).Format(time.DateOnly)
		}
		return anchor.AddDate(0, 0, days*k).Format(time.DateOnly)
	}
	for k := range 4000 {
		if pe := at0(k + 1); day < pe {
			if item.EndDate != "" && item.EndDate < pe {
				pe = item.EndDate
			}
			return at0(k), pe, nil
		}
	}
	return "", "", dispatch.Permanent(fmt.Errorf("usage at %s is too far from the start of item %s (%s)", day, item.ID, item.StartDate))
}

// itemPeriodLength is the item's billing period in months or days; a term-long or unknown one counts as a month,
// as the simulator does.
func itemPeriodLength(r *zuoraapi.SubscriptionRecurring) (months, days int) {
	if r == nil {
		return 1, 0
	}
	n := max(r.IntervalCount, 1)
	switch r.Interval {
	case "year":
		return 12 * n, 0
	case "week":
		return 0, 7 * n
	case "day":
		return 0, n
	case "month":
		return n, 0
	}
	return 1, 0
}

// addCalendarMonths adds n months to t, clamping the day to the target month's length.
func addCalendarMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).AddDate(0, n, 0)
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(d, last), 0, 0, 0, 0, time.UTC)
}

var _ dispatch.Handler = (*usageReports)(nil)
