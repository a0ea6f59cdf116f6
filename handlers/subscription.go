package handlers

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/idmap"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// KindSubscription is the id-map kind of subscriptions.
const KindSubscription = events.EntitySubscription

// Outcome actions of the subscription handler, besides created/updated/unchanged.
const (
	actionScheduled = "scheduled"
	actionCancelled = "cancelled"
	actionSkipped   = "skipped"
)

// subscriptions applies io.stigg.subscription.created/updated/canceled through Zuora Orders: one order per
// event, holding every action the event implies, so a change is applied atomically or not at all.
type subscriptions struct {
	deps Deps
	now  func() time.Time
}

func newSubscriptions(d Deps) *subscriptions {
	return &subscriptions{deps: d, now: func() time.Time { return time.Now().UTC() }}
}

// subscriptionNumberFor gives the Zuora subscription the Stigg id as its number, so the subscription can be found
// again without the id map: a replay long after Zuora forgot the idempotency key still cannot create a second one.
func subscriptionNumberFor(stiggID string) string {
	n := "stigg-" + stiggID
	if len(n) <= 64 && !strings.ContainsAny(n, " /?#%") {
		return n
	}
	sum := sha256.Sum256([]byte(stiggID))
	return "stigg-" + hex.EncodeToString(sum[:16])
}

func (h *subscriptions) Handle(ctx context.Context, in *dispatch.Input) (*dispatch.Result, error) {
	switch p := in.Payload.(type) {
	case *events.SubscriptionCreated:
		return h.apply(ctx, in, &p.Subscription, events.ScheduleImmediate, true)
	case *events.SubscriptionUpdated:
		return h.apply(ctx, in, &p.Subscription, cmp.Or(p.ScheduleStrategy, events.ScheduleImmediate), false)
	case *events.SubscriptionCanceled:
		return h.cancel(ctx, in, p)
	}
	return nil, dispatch.Permanent(fmt.Errorf("subscription handler got %T", in.Payload))
}

// ratePlanRef is a Stigg package's Zuora rate plan for one billing period, from the id map.
type ratePlanRef struct {
	packageID         string
	productRatePlanID string
	charges           map[string]chargeRef // chargeKey → charge
}

type chargeRef struct{ id, model, chargeType string }

// resolvePackage finds a package's rate plan for a billing period. ok=false means the package has no charges at
// all (a free plan), which Zuora does not need to know about.
func (h *subscriptions) resolvePackage(ctx context.Context, packageID string, period events.BillingPeriod) (*ratePlanRef, bool, error) {
	e, err := h.deps.IDs.Get(ctx, KindPackage, packageID)
	if errors.Is(err, idmap.ErrNotFound) {
		return nil, false, dispatch.Defer(fmt.Errorf("package %s is not synced to Zuora yet", packageID))
	}
	if err != nil {
		return nil, false, err
	}
	rec := idmap.PackageOf(e)
	if !rec.HasCharges() {
		return nil, false, nil
	}
	ref := &ratePlanRef{packageID: packageID, productRatePlanID: rec.Plan(string(period)), charges: map[string]chargeRef{}}
	for key, c := range rec.Charges(string(period)) {
		if c.ID != "" {
			ref.charges[key] = chargeRef{id: c.ID, model: c.Model, chargeType: c.Type}
		}
	}
	if ref.productRatePlanID == "" {
		return nil, false, dispatch.Permanent(fmt.Errorf("package %s has no %s price in Zuora; publish one in Stigg "+
			"or subscribe with another billing period", packageID, period))
	}
	return ref, true, nil
}

// desiredRatePlan is one rate plan the subscription should have, with the charge quantities and prices Stigg
// sets (charges not mentioned keep their catalog defaults).
type desiredRatePlan struct {
	ref        *ratePlanRef
	quantities map[string]zuoraapi.Amount
	prices     map[string]zuoraapi.Amount
}

// desired turns a Stigg subscription into rate plans. skip is a reason not to sync it at all.
func (h *subscriptions) desired(ctx context.Context, s *events.Subscription) (plans []desiredRatePlan, skip string, err error) {
	plan, ok, err := h.resolvePackage(ctx, s.PlanID, s.BillingPeriod)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		// As Stigg's own integration does: subscriptions of free plans are not synced.
		return nil, fmt.Sprintf("plan %s has no price, so the subscription is not billed in Zuora", s.PlanID), nil
	}
	main := desiredRatePlan{ref: plan, quantities: map[string]zuoraapi.Amount{}, prices: map[string]zuoraapi.Amount{}}
	for _, u := range s.Units {
		if _, ok := plan.charges[string(events.BillingModelPerUnit)+"."+u.FeatureID]; ok {
			main.quantities[string(events.BillingModelPerUnit)+"."+u.FeatureID] = zuoraapi.QuantityAmount(u.Quantity)
		}
	}
	for i, o := range s.PriceOverrides {
		key := string(events.BillingModelFlatFee)
		if o.FeatureID != "" {
			key = ""
			for _, m := range []events.BillingModel{events.BillingModelPerUnit, events.BillingModelUsageBased} {
				if _, ok := plan.charges[string(m)+"."+o.FeatureID]; ok {
					key = string(m) + "." + o.FeatureID
				}
			}
		}
		c, ok := plan.charges[key]
		if !ok {
			return nil, "", dispatch.Permanent(fmt.Errorf("priceOverrides[%d]: plan %s has no %s charge for feature %q to override",
				i, s.PlanID, s.BillingPeriod, o.FeatureID))
		}
		if c.model == zuoraapi.ChargeModelTiered || c.model == zuoraapi.ChargeModelVolume {
			return nil, "", dispatch.Permanent(fmt.Errorf("priceOverrides[%d]: the %s charge for feature %q is tiered; "+
				"a single override amount cannot replace its tiers", i, s.PlanID, o.FeatureID))
		}
		main.prices[key] = *amountOf(o.Amount)
	}
	plans = append(plans, main)
	for _, a := range s.Addons {
		ref, ok, err := h.resolvePackage(ctx, a.AddonID, s.BillingPeriod)
		if err != nil {
			return nil, "", err
		}
		if !ok {
			continue // a free add-on has nothing to bill
		}
		d := desiredRatePlan{ref: ref, quantities: map[string]zuoraapi.Amount{}, prices: map[string]zuoraapi.Amount{}}
		// The add-on quantity goes on its per-unit charge; a flat-fee add-on has no quantity in Zuora.
		var keys []string
		for k, c := range ref.charges {
			if strings.HasPrefix(k, string(events.BillingModelPerUnit)+".") && c.chargeType == zuoraapi.ChargeTypeRecurring {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		if len(keys) > 0 {
			d.quantities[keys[0]] = zuoraapi.QuantityAmount(a.Quantity)
		}
		plans = append(plans, d)
	}
	return plans, "", nil
}

// overrides prices a rate plan being added: one override per charge whose quantity or price Stigg sets.
func (d *desiredRatePlan) overrides() ([]zuoraapi.OrderChargeOverride, error) {
	var out []zuoraapi.OrderChargeOverride
	for _, key := range d.keys() {
		c := d.ref.charges[key]
		pricing, err := zuoraapi.OrderPricingFor(c.model, c.chargeType, d.price(key))
		if err != nil {
			return nil, dispatch.Permanent(err)
		}
		out = append(out, zuoraapi.OrderChargeOverride{ProductRatePlanChargeID: c.id, Pricing: pricing})
	}
	return out, nil
}

func (d *desiredRatePlan) keys() []string {
	var keys []string
	for k := range d.quantities {
		keys = append(keys, k)
	}
	for k := range d.prices {
		if _, dup := d.quantities[k]; !dup {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func (d *desiredRatePlan) price(key string) zuoraapi.OrderPrice {
	var p zuoraapi.OrderPrice
	if q, ok := d.quantities[key]; ok {
		p.Quantity = new(q)
	}
	if lp, ok := d.prices[key]; ok {
		p.ListPrice = new(lp)
	}
	return p
}

// diffActions lists the order actions that take the subscription from what Zuora has to what Stigg wants:
// removals first, then additions, then charge updates of rate plans both sides share.
func diffActions(cur *zuoraapi.SubscriptionV1, want []desiredRatePlan, date string) ([]zuoraapi.OrderAction, error) {
	current := map[string]*zuoraapi.SubscriptionRatePlanV1{}
	rps := cur.CurrentRatePlans()
	for i := range rps {
		current[rps[i].ProductRatePlanID] = &rps[i]
	}
	var removes, adds, updates []zuoraapi.OrderAction
	wanted := map[string]bool{}
	for i := range want {
		d := &want[i]
		wanted[d.ref.productRatePlanID] = true
		have, ok := current[d.ref.productRatePlanID]
		if !ok {
			ov, err := d.overrides()
			if err != nil {
				return nil, err
			}
			adds = append(adds, zuoraapi.NewAddProductAction(date, &zuoraapi.OrderRatePlan{
				ProductRatePlanID: d.ref.productRatePlanID, ChargeOverrides: ov}))
			continue
		}
		var changes []zuoraapi.OrderChargeUpdate
		for _, key := range d.keys() {
			ref := d.ref.charges[key]
			idx := slices.IndexFunc(have.RatePlanCharges, func(c zuoraapi.SubscriptionChargeV1) bool {
				return c.ProductRatePlanChargeID == ref.id
			})
			if idx < 0 {
				continue // the catalog gained a charge after this subscription was made; Zuora keeps the old shape
			}
			c := have.RatePlanCharges[idx]
			want := d.price(key)
			var upd zuoraapi.OrderPrice
			if want.Quantity != nil && !sameAmount(want.Quantity, c.Quantity) {
				upd.Quantity = want.Quantity
			}
			if want.ListPrice != nil && !sameAmount(want.ListPrice, c.Price) {
				upd.ListPrice = want.ListPrice
			}
			if upd.Quantity == nil && upd.ListPrice == nil {
				continue
			}
			pricing, err := zuoraapi.OrderPricingFor(cmp.Or(c.Model, ref.model), cmp.Or(c.Type, ref.chargeType), upd)
			if err != nil {
				return nil, dispatch.Permanent(err)
			}
			changes = append(changes, zuoraapi.OrderChargeUpdate{ChargeNumber: c.Number, Pricing: pricing})
		}
		if len(changes) > 0 {
			updates = append(updates, zuoraapi.NewUpdateProductAction(date, &zuoraapi.OrderRatePlanUpdate{
				RatePlanID: have.ID, ChargeUpdates: changes}))
		}
	}
	for _, rp := range rps {
		if !wanted[rp.ProductRatePlanID] {
			removes = append(removes, zuoraapi.NewRemoveProductAction(date, &zuoraapi.OrderRemoveProduct{RatePlanID: rp.ID}))
		}
	}
	return slices.Concat(removes, adds, updates), nil
}

// accountNumberOf resolves the Zuora account that pays for the subscription.
func (h *subscriptions) accountNumberOf(ctx context.Context, s *events.Subscription) (string, error) {
	payer := cmp.Or(s.PayingCustomerID, s.CustomerID)
	e, err := h.deps.IDs.Get(ctx, KindCustomer, payer)
	if errors.Is(err, idmap.ErrNotFound) {
		return "", dispatch.Defer(fmt.Errorf("customer %s has no Zuora account yet", payer))
	}
	if err != nil {
		return "", err
	}
	return e.ZuoraNumber, nil
}

func dateOf(v string) (string, error) {
	t, err := events.ParseTime(v)
	if err != nil {
		return "", err
	}
	return zuoraapi.FormatDate(t.UTC()), nil
}

func subscriptionFields(s *events.Subscription) map[string]any {
	f := map[string]any{FieldStiggCustomerID: s.CustomerID}
	if s.EntityURL != "" {
		f[FieldStiggEntityURL] = s.EntityURL
	}
	if s.ResourceID != "" {
		f[FieldStiggResourceID] = s.ResourceID
	}
	return f
}

// current reads the subscription from Zuora; nil when Zuora has none under that number.
func (h *subscriptions) current(ctx context.Context, number string) (*zuoraapi.SubscriptionV1, error) {
	cur, err := h.deps.Zuora.GetSubscriptionV1(ctx, number)
	if zuoraapi.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, describe(err, "read Zuora subscription "+number)
	}
	return cur, nil
}

// apply creates or changes a subscription, now or scheduled.
func (h *subscriptions) apply(ctx context.Context, in *dispatch.Input, s *events.Subscription, when events.ScheduleStrategy, created bool) (*dispatch.Result, error) {
	want, skip, err := h.desired(ctx, s)
	if err != nil {
		return nil, err
	}
	number := subscriptionNumberFor(s.SubscriptionID)
	entry, err := h.entry(ctx, s.SubscriptionID, number)
	if err != nil {
		return nil, err
	}
	if skip != "" {
		return h.skip(ctx, in, entry, number, skip)
	}
	account, err := h.accountNumberOf(ctx, s)
	if err != nil {
		return nil, err
	}
	cur, err := h.current(ctx, number)
	if err != nil {
		return nil, err
	}
	ids := map[string]string{events.ZuoraSubscriptionNumber: number, events.ZuoraAccountNumber: account}
	if cur == nil {
		// An upgrade from a free plan creates the subscription Zuora never had.
		// An update for a subscription Zuora has not seen waits for its creation (still on its way, or
		// dead-lettered) — unless zuora-sync created it before and Zuora lost it: an update carries the whole
		// subscription, and a replay re-applies only each subscription's latest event, so it recreates it.
		if !created && entry.rec.Skipped == "" && entry.ZuoraID == "" {
			return nil, dispatch.Defer(fmt.Errorf("subscription %s does not exist in Zuora yet", number))
		}
		entry.rec.Skipped = ""
		return h.create(ctx, in, s, want, account, number, entry, ids)
	}
	ids[events.ZuoraSubscriptionID] = cur.ID
	if err := changeable(cur); err != nil {
		return nil, err
	}

	if when == events.ScheduleImmediate {
		if _, cur, err = h.supersedeScheduled(ctx, number, entry, cur); err != nil {
			return nil, err
		}
		ids[events.ZuoraSubscriptionID] = cur.ID
		today := zuoraapi.FormatDate(h.now())
		actions, err := diffActions(cur, want, today)
		if err != nil {
			return nil, err
		}
		if len(actions) == 0 {
			return h.finish(ctx, in, entry, ids, actionUnchanged)
		}
		resp, err := h.order(ctx, "order.update", changeOrder(account, number, today, actions))
		if err != nil {
			return nil, describe(err, "update Zuora subscription "+number)
		}
		ids[events.ZuoraOrderNumber] = resp.OrderNumber
		return h.finish(ctx, in, entry, ids, actionUpdated)
	}

	date, err := h.scheduledDate(cur, when)
	if err != nil {
		return nil, err
	}
	// A replay of the event that created the pending scheduled order leaves it alone.
	if entry.rec.ScheduledBy == in.Event.ID() && entry.rec.ScheduledOrder != "" {
		pending, _, err := h.ordersByStatus(ctx, number)
		if err != nil {
			return nil, err
		}
		if len(pending) == 1 && pending[0] == entry.rec.ScheduledOrder {
			ids[events.ZuoraOrderNumber] = pending[0]
			return h.finish(ctx, in, entry, ids, actionUnchanged)
		}
	}
	cancelled, now, err := h.supersedeScheduled(ctx, number, entry, cur)
	if err != nil {
		return nil, err
	}
	if now != cur {
		// A pending order ran meanwhile: schedule on top of the subscription it left, from its new term.
		cur, ids[events.ZuoraSubscriptionID] = now, now.ID
		if date, err = h.scheduledDate(cur, when); err != nil {
			return nil, err
		}
	}
	actions, err := diffActions(cur, want, date)
	if err != nil {
		return nil, err
	}
	if len(actions) == 0 {
		// The change Stigg scheduled before was undone: cancelling the pending order was all there was to do.
		return h.finish(ctx, in, entry, ids, actionUnchanged)
	}
	resp, err := h.order(ctx, scheduleStep("order.schedule", cancelled), &zuoraapi.OrderRequest{
		OrderDate: zuoraapi.FormatDate(h.now()), ExistingAccountNumber: account,
		Status:            zuoraapi.OrderStatusScheduled,
		SchedulingOptions: &zuoraapi.SchedulingOptions{ScheduledDate: date, ScheduledDatePolicy: zuoraapi.ScheduledDatePolicySpecificDate},
		Subscriptions:     []zuoraapi.OrderSubscription{{SubscriptionNumber: number, OrderActions: actions}},
	})
	if err != nil {
		return nil, describe(err, "schedule a change of Zuora subscription "+number)
	}
	ids[events.ZuoraOrderNumber] = resp.OrderNumber
	entry.rec.ScheduledOrder, entry.rec.ScheduledBy = resp.OrderNumber, in.Event.ID()
	return h.finish(ctx, in, entry, ids, actionScheduled)
}

// createOrder is the order that creates the subscription. The handler sends it and a preview of a new
// subscription prices it (all but its processing options, which a preview does not run), so the preview and the
// order that follows cannot drift apart.
func createOrder(s *events.Subscription, want []desiredRatePlan, account, number string) (*zuoraapi.OrderRequest, error) {
	start, err := dateOf(s.StartDate)
	if err != nil {
		return nil, invalid(fmt.Errorf("startDate: %w", err))
	}
	terms, err := termFromBillingPeriod(s.BillingPeriod)
	if err != nil {
		return nil, invalid(err)
	}
	terms.InitialTerm.StartDate = start
	var rps []zuoraapi.OrderRatePlan
	for i := range want {
		ov, err := want[i].overrides()
		if err != nil {
			return nil, err
		}
		rps = append(rps, zuoraapi.OrderRatePlan{ProductRatePlanID: want[i].ref.productRatePlanID, ChargeOverrides: ov})
	}
	req := &zuoraapi.OrderRequest{
		OrderDate: start, ExistingAccountNumber: account,
		Subscriptions: []zuoraapi.OrderSubscription{{
			CustomFields: subscriptionFields(s),
			OrderActions: []zuoraapi.OrderAction{zuoraapi.NewCreateSubscriptionAction(start, &zuoraapi.OrderCreateSubscription{
				SubscriptionNumber: number, Terms: terms, SubscribeToRatePlans: rps,
			})},
		}},
	}
	if s.PaymentCollectionMethod != events.PaymentCollectionNone {
		// Bill the first period now; collection follows the account's payment settings (payment runs), since the
		// account may have no default payment method yet.
		req.ProcessingOptions = &zuoraapi.ProcessingOptions{RunBilling: new(true),
			BillingOptions: &zuoraapi.BillingOptions{TargetDate: start}}
	}
	return req, nil
}

// changeOrder is the order that changes the subscription now, sent by the handler and priced by a preview.
func changeOrder(account, number, date string, actions []zuoraapi.OrderAction) *zuoraapi.OrderRequest {
	return &zuoraapi.OrderRequest{OrderDate: date, ExistingAccountNumber: account,
		Subscriptions: []zuoraapi.OrderSubscription{{SubscriptionNumber: number, OrderActions: actions}}}
}

// invalid marks a subscription no order can be built from: permanent for the handler, and the caller's mistake
// (ErrBadRequest) for a preview.
func invalid(err error) error { return dispatch.Permanent(&invalidError{err}) }

type invalidError struct{ err error }

func (e *invalidError) Error() string   { return e.err.Error() }
func (e *invalidError) Unwrap() []error { return []error{e.err, ErrBadRequest} }

func (h *subscriptions) create(ctx context.Context, in *dispatch.Input, s *events.Subscription, want []desiredRatePlan,
	account, number string, entry *subscriptionState, ids map[string]string) (*dispatch.Result, error) {
	req, err := createOrder(s, want, account, number)
	if err != nil {
		return nil, err
	}
	resp, err := h.order(ctx, "order.create", req)
	if err != nil {
		return nil, describe(err, "create Zuora subscription "+number)
	}
	ids[events.ZuoraOrderNumber] = resp.OrderNumber
	if len(resp.SubscriptionIDs) > 0 {
		ids[events.ZuoraSubscriptionID] = resp.SubscriptionIDs[0]
	}
	if len(resp.InvoiceNumbers) > 0 {
		ids[events.ZuoraInvoiceNumber] = resp.InvoiceNumbers[0]
	}
	return h.finish(ctx, in, entry, ids, actionCreated)
}

func (h *subscriptions) cancel(ctx context.Context, in *dispatch.Input, c *events.SubscriptionCanceled) (*dispatch.Result, error) {
	number := subscriptionNumberFor(c.SubscriptionID)
	entry, err := h.entry(ctx, c.SubscriptionID, number)
	if err != nil {
		return nil, err
	}
	cur, err := h.current(ctx, number)
	if err != nil {
		return nil, err
	}
	ids := map[string]string{events.ZuoraSubscriptionNumber: number}
	if cur == nil && entry.rec.Skipped != "" {
		return h.outcome(c.SubscriptionID, actionSkipped, ids, "never billed in Zuora: "+entry.rec.Skipped), nil
	}
	if cur == nil {
		if _, err := h.deps.IDs.Get(ctx, KindSubscription, c.SubscriptionID); errors.Is(err, idmap.ErrNotFound) {
			// Either the creation is still on its way, or the subscription was never billed (a free plan). Parking
			// it, then dead-lettering after MaxDeferrals, is the honest answer for both.
			return nil, dispatch.Defer(fmt.Errorf("subscription %s does not exist in Zuora (yet)", number))
		}
		return nil, dispatch.Permanent(fmt.Errorf("subscription %s is mapped but missing in Zuora", number))
	}
	ids[events.ZuoraSubscriptionID], ids[events.ZuoraAccountNumber] = cur.ID, cur.AccountNumber
	if cur.Status == zuoraapi.SubscriptionStatusCancelled || entry.rec.CancelledBy == in.Event.ID() {
		return h.finish(ctx, in, entry, ids, actionUnchanged)
	}
	// A cancellation supersedes any change still waiting to happen.
	cancelled, ran, err := h.cancelScheduled(ctx, number, entry)
	if err != nil {
		return nil, err
	}
	if ran {
		if cur, err = h.reread(ctx, number); err != nil {
			return nil, err
		}
		ids[events.ZuoraSubscriptionID] = cur.ID
		if cur.Status == zuoraapi.SubscriptionStatusCancelled {
			return h.finish(ctx, in, entry, ids, actionUnchanged) // the order that ran was a cancellation
		}
	}
	today := zuoraapi.FormatDate(h.now())
	req := &zuoraapi.OrderRequest{OrderDate: today, ExistingAccountNumber: cur.AccountNumber}
	var action zuoraapi.OrderAction
	switch c.CancellationTime {
	case events.CancelImmediate:
		action, err = zuoraapi.NewCancelSubscriptionAction(zuoraapi.CancelSpecificDate, today)
	case events.CancelEndOfBillingPeriod:
		// Terms are one billing period long, so the current term ends where Stigg's billing period does.
		action, err = zuoraapi.NewCancelSubscriptionAction(zuoraapi.CancelEndOfCurrentTerm, "")
	case events.CancelSpecificDate:
		var date string
		if date, err = dateOf(c.CancellationDate); err != nil {
			return nil, dispatch.Permanent(fmt.Errorf("cancellationDate: %w", err))
		}
		action, err = zuoraapi.NewCancelSubscriptionAction(zuoraapi.CancelSpecificDate, date)
		if date > today {
			req.Status = zuoraapi.OrderStatusScheduled
			req.SchedulingOptions = &zuoraapi.SchedulingOptions{ScheduledDate: date, ScheduledDatePolicy: zuoraapi.ScheduledDatePolicySpecificDate}
		}
	}
	if err != nil {
		return nil, dispatch.Permanent(err)
	}
	if c.WriteOffOpenBalance {
		req.ProcessingOptions = &zuoraapi.ProcessingOptions{WriteOff: new(true)}
	}
	req.Subscriptions = []zuoraapi.OrderSubscription{{SubscriptionNumber: number, OrderActions: []zuoraapi.OrderAction{action}}}
	resp, err := h.order(ctx, scheduleStep("order.cancel", cancelled), req)
	if err != nil {
		return nil, describe(err, "cancel Zuora subscription "+number)
	}
	ids[events.ZuoraOrderNumber] = resp.OrderNumber
	var notes []string
	for _, w := range resp.WriteOff {
		if w.Status != "Success" {
			notes = append(notes, fmt.Sprintf("write-off of invoice %s failed: %s; write it off in Zuora by hand", w.InvoiceNumber, w.FailedReason))
		} else if w.WriteOffCreditMemoNumber != "" {
			ids["writeOffCreditMemo."+w.InvoiceNumber] = w.WriteOffCreditMemoNumber
		}
	}
	entry.rec.CancelledBy = in.Event.ID()
	if req.Status == zuoraapi.OrderStatusScheduled {
		entry.rec.ScheduledOrder, entry.rec.ScheduledBy = resp.OrderNumber, in.Event.ID()
	}
	res, err := h.finish(ctx, in, entry, ids, actionCancelled)
	if res != nil && len(notes) > 0 {
		res.Outcomes[0].Data.Reason = strings.Join(notes, "; ")
	}
	return res, err
}

// skip records a subscription Zuora does not bill (a free plan, as Stigg's own integration leaves them out), so
// its later cancellation is not mistaken for an event waiting for its creation. A subscription that moved from a
// paid plan to a free one stays in Zuora as it is; the outcome says so.
func (h *subscriptions) skip(ctx context.Context, in *dispatch.Input, entry *subscriptionState, number, reason string) (*dispatch.Result, error) {
	cur, err := h.current(ctx, number)
	if err != nil {
		return nil, err
	}
	ids := map[string]string{events.ZuoraSubscriptionNumber: number}
	if cur != nil {
		reason += fmt.Sprintf("; Zuora subscription %s (%s) is left as it is: cancel the subscription in Stigg to "+
			"cancel it in Zuora", number, cur.Status)
	} else {
		entry.rec.Skipped = reason
		if entry.ZuoraID == "" {
			entry.ZuoraID = number
		}
		if err := h.put(ctx, entry); err != nil {
			return nil, err
		}
	}
	in.Logger.Info("subscription not synced", "reason", reason)
	return h.outcome(entry.StiggID, actionSkipped, ids, reason), nil
}

// entry is the subscription's id-map entry, or a fresh one.
func (h *subscriptions) entry(ctx context.Context, stiggID, number string) (*subscriptionState, error) {
	e, err := h.deps.IDs.Get(ctx, KindSubscription, stiggID)
	if errors.Is(err, idmap.ErrNotFound) {
		return &subscriptionState{Entry: &idmap.Entry{StiggID: stiggID, ZuoraNumber: number}}, nil
	}
	if err != nil {
		return nil, err
	}
	return &subscriptionState{Entry: e, rec: idmap.SubscriptionOf(e)}, nil
}

// subscriptionState is a subscription's id-map entry with its typed record.
type subscriptionState struct {
	*idmap.Entry
	rec idmap.SubscriptionRecord
}

// put stores the entry with its record, compare-and-set on the revision it was read at.
func (h *subscriptions) put(ctx context.Context, st *subscriptionState) error {
	st.Extra = st.rec.Extra()
	return h.deps.IDs.Put(ctx, KindSubscription, st.Entry)
}

// settleDelay is how long to wait for a scheduled order Zuora is executing to settle.
const settleDelay = 5 * time.Second

// ordersByStatus lists the subscription's orders (every status, one listing) and returns the numbers of those
// still pending (Scheduled) and of those cancelled.
func (h *subscriptions) ordersByStatus(ctx context.Context, number string) (pending, cancelled []string, err error) {
	orders, err := h.deps.Zuora.ListSubscriptionOrders(ctx, number, "")
	if err != nil {
		return nil, nil, describe(err, "list the orders of "+number)
	}
	for _, o := range orders {
		switch o.Status {
		case zuoraapi.OrderStatusScheduled:
			pending = append(pending, o.OrderNumber)
		case zuoraapi.OrderStatusCancelled:
			cancelled = append(cancelled, o.OrderNumber)
		}
	}
	return pending, cancelled, nil
}

// cancelScheduled cancels every pending scheduled order of the subscription: a newer change, or a cancellation,
// replaces what Stigg scheduled before. An order may come due between the list and its cancellation; Zuora then
// runs it (or fails it) instead. That is no failure of the event, but the subscription read before is stale, so
// ran tells the caller to read it again. An order caught while Zuora executes it is tried again shortly.
// cancelled is every cancelled order of the subscription afterwards, by earlier tries and events included: the
// write that follows is named after it (scheduleStep).
func (h *subscriptions) cancelScheduled(ctx context.Context, number string, entry *subscriptionState) (cancelled []string, ran bool, err error) {
	pending, cancelled, err := h.ordersByStatus(ctx, number)
	if err != nil {
		return nil, false, err
	}
	for _, o := range pending {
		got, err := h.deps.Zuora.EnsureOrderCancelled(ctx, o, "Superseded by a newer change from Stigg")
		switch {
		case err == nil:
			cancelled = append(cancelled, o)
		case errors.Is(err, zuoraapi.ErrOrderNotCancellable) && got != nil &&
			(got.Status == zuoraapi.OrderStatusCompleted || got.Status == zuoraapi.OrderStatusFailed):
			ran = true
		case errors.Is(err, zuoraapi.ErrOrderNotCancellable):
			return nil, false, dispatch.RetryLater(fmt.Errorf("scheduled order %s is no longer pending but has not "+
				"settled; trying again: %w", o, err), settleDelay)
		default:
			return nil, false, describe(err, "cancel scheduled order "+o)
		}
	}
	entry.rec.ScheduledOrder = ""
	entry.rec.ScheduledBy = ""
	return cancelled, ran, nil
}

// supersedeScheduled cancels the pending scheduled orders before a change and returns the subscription the
// change applies to: cur itself, or what Zuora has now if one of those orders ran first.
func (h *subscriptions) supersedeScheduled(ctx context.Context, number string, entry *subscriptionState,
	cur *zuoraapi.SubscriptionV1) ([]string, *zuoraapi.SubscriptionV1, error) {
	cancelled, ran, err := h.cancelScheduled(ctx, number, entry)
	if err != nil || !ran {
		return cancelled, cur, err
	}
	if cur, err = h.reread(ctx, number); err != nil {
		return nil, nil, err
	}
	return cancelled, cur, changeable(cur) // the order that ran may have been a cancellation
}

// reread reads the subscription again after a scheduled order changed it.
func (h *subscriptions) reread(ctx context.Context, number string) (*zuoraapi.SubscriptionV1, error) {
	cur, err := h.current(ctx, number)
	if err == nil && cur == nil {
		err = fmt.Errorf("subscription %s vanished from Zuora after its scheduled order ran", number)
	}
	return cur, err
}

// changeable refuses changes to a cancelled subscription, which Zuora cannot amend.
func changeable(cur *zuoraapi.SubscriptionV1) error {
	if cur.Status == zuoraapi.SubscriptionStatusCancelled {
		return dispatch.Permanent(fmt.Errorf("subscription %s is cancelled in Zuora and cannot change; "+
			"Stigg should create a new subscription", cur.SubscriptionNumber))
	}
	return nil
}

// scheduleStep names the write that creates an order after the given orders of the subscription were cancelled.
// A retry whose first try created the order but lost the answer finds that order pending and cancels it; naming
// the step after every cancelled order gives the retry a fresh idempotency key, so Zuora makes a new order
// instead of replaying the one just cancelled, and exactly one scheduled order stays pending. It must be every
// cancelled order, not only those this try cancelled: a try whose cancellation's answer was lost is followed by
// one that finds nothing to cancel, and that one must not reuse the first try's key either.
func scheduleStep(base string, cancelled []string) string {
	if len(cancelled) == 0 {
		return base
	}
	cancelled = slices.Sorted(slices.Values(cancelled))
	sum := sha256.Sum256([]byte(strings.Join(cancelled, ",")))
	return base + "/after-" + hex.EncodeToString(sum[:8])
}

// scheduledDate is when a scheduled change takes effect: the end of the current billing period (the current
// term, which is one period long) or the first day of next month.
func (h *subscriptions) scheduledDate(cur *zuoraapi.SubscriptionV1, when events.ScheduleStrategy) (string, error) {
	switch when {
	case events.ScheduleEndOfBillingMonth:
		now := h.now()
		return zuoraapi.FormatDate(time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)), nil
	case events.ScheduleEndOfBillingPeriod:
		if cur.TermEndDate != "" {
			return cur.TermEndDate, nil
		}
		return "", dispatch.Permanent(fmt.Errorf("subscription %s has no current term end (evergreen?), so the end of its "+
			"billing period is unknown", cur.SubscriptionNumber))
	}
	return "", dispatch.Permanent(fmt.Errorf("unknown schedule strategy %q", when))
}

func (h *subscriptions) order(ctx context.Context, step string, req *zuoraapi.OrderRequest) (*zuoraapi.OrderResponse, error) {
	return h.deps.Zuora.CreateOrder(ctx, step, req)
}

// finish records the mapping and reports the outcome.
func (h *subscriptions) finish(ctx context.Context, in *dispatch.Input, entry *subscriptionState, ids map[string]string, action string) (*dispatch.Result, error) {
	if id := ids[events.ZuoraSubscriptionID]; id != "" {
		entry.ZuoraID = id
	}
	if entry.ZuoraID == "" {
		entry.ZuoraID = entry.ZuoraNumber // the number identifies it too until Zuora's id is known
	}
	entry.SourceEventID = in.Event.ID()
	if err := h.put(ctx, entry); err != nil {
		return nil, err
	}
	in.Logger.Info("subscription synced", "action", action, "subscription_number", entry.ZuoraNumber, "order", ids[events.ZuoraOrderNumber])
	return h.outcome(entry.StiggID, action, ids, ""), nil
}

func (h *subscriptions) outcome(stiggID, action string, ids map[string]string, reason string) *dispatch.Result {
	return &dispatch.Result{Outcomes: []dispatch.Outcome{{
		Entity: events.EntitySubscription, Result: events.ResultSynced,
		Data: events.Outcome{StiggID: stiggID, Action: action, Zuora: ids, Reason: reason},
	}}}
}

var _ dispatch.Handler = (*subscriptions)(nil)
