package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/handlers"
	"github.com/zuora-sync/zuora-sync/internal/app"
	"github.com/zuora-sync/zuora-sync/rpc"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// subscriptionWorld syncs the sample catalog and one customer, the ground every subscription test stands on.
func subscriptionWorld(t *testing.T) (*harness, *app.App) {
	h := newHarness(t)
	a := h.startConsumer()
	var ids []string
	for _, pk := range sampleCatalog(t) {
		ids = append(ids, h.publishPackage(pk))
	}
	ids = append(ids, h.customerEvent(events.TypeStiggCustomerCreated, customer("cust-sub", "Sub Scriber")))
	for _, id := range ids {
		if typ, out := h.waitOutcome(id, 30*time.Second); !strings.HasSuffix(typ, ".synced") {
			t.Fatalf("setup: %s %+v", typ, out)
		}
	}
	return h, a
}

func proSubscription(id string) *events.Subscription {
	return &events.Subscription{
		SubscriptionID: id, CustomerID: "cust-sub", PlanID: "plan-pro", BillingPeriod: events.BillingPeriodMonthly,
		Currency: "USD", StartDate: time.Now().UTC().Format("2006-01-02"),
		Units:                   []events.FeatureQuantity{{FeatureID: "feature-seats", Quantity: 5}},
		Addons:                  []events.AddonQuantity{{AddonID: "addon-storage", Quantity: 50}},
		PaymentCollectionMethod: events.PaymentCollectionInvoice,
		EntityURL:               "https://app.stigg.io/subscriptions/" + id, ResourceID: "resource-1",
	}
}

func (h *harness) subscriptionEvent(typ string, payload events.Payload, subID string) string {
	ev := h.newEvent(typ, subID, "cust-sub", payload)
	h.publish(ev)
	return ev.ID()
}

func (h *harness) zuoraSubscription(a *app.App, number string) *zuoraapi.SubscriptionV1 {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := a.Zuora.GetSubscriptionV1(zuoraapi.WithEventID(ctx, "test-read"), number)
	if err != nil {
		h.t.Fatalf("read subscription %s: %v", number, err)
	}
	return s
}

func (h *harness) ordersOf(a *app.App, number, status string) []zuoraapi.Order {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	orders, err := a.Zuora.ListSubscriptionOrders(ctx, number, status)
	if err != nil {
		h.t.Fatalf("list orders of %s: %v", number, err)
	}
	return orders
}

// quantities maps each current rate plan's product rate plan id to its charges' quantities.
func quantities(s *zuoraapi.SubscriptionV1) map[string][]string {
	out := map[string][]string{}
	for _, rp := range s.CurrentRatePlans() {
		var qs []string
		for _, c := range rp.RatePlanCharges {
			if c.Quantity != nil {
				qs = append(qs, c.Quantity.String())
			}
		}
		out[rp.RatePlanName] = qs
	}
	return out
}

func TestSubscriptionLifecycle(t *testing.T) {
	h, a := subscriptionWorld(t)
	sub := proSubscription("sub-life")
	number := "stigg-sub-life"

	// Create with an add-on and quantities: one order, custom fields, first invoice.
	createdID := h.subscriptionEvent(events.TypeStiggSubscriptionCreated, &events.SubscriptionCreated{Subscription: *sub}, sub.SubscriptionID)
	typ, out := h.waitOutcome(createdID, 30*time.Second)
	if typ != events.TypeOutSubscriptionSynced || out.Action != "created" || out.Zuora[events.ZuoraOrderNumber] == "" {
		t.Fatalf("create: %s %+v", typ, out)
	}
	h.wantCalls("create", h.callsOf(createdID), map[string]int{callRead: 1, callOrder: 1})
	z := h.zuoraSubscription(a, number)
	if len(z.CurrentRatePlans()) != 2 || z.CustomFields[handlers.FieldStiggCustomerID] != "cust-sub" ||
		z.CustomFields[handlers.FieldStiggResourceID] != "resource-1" {
		t.Fatalf("created subscription: %d rate plans, custom fields %v", len(z.CurrentRatePlans()), z.CustomFields)
	}
	if out.Zuora[events.ZuoraInvoiceNumber] == "" {
		t.Errorf("an INVOICE subscription is billed on creation: outcome %v", out.Zuora)
	}

	// Upgrade now: more seats and the API-calls add-on, in one order.
	sub.Units[0].Quantity = 12
	sub.Addons = append(sub.Addons, events.AddonQuantity{AddonID: "addon-api-calls", Quantity: 1})
	ordersBefore := len(h.ordersOf(a, number, ""))
	upgradeID := h.subscriptionEvent(events.TypeStiggSubscriptionUpdated, &events.SubscriptionUpdated{Subscription: *sub}, sub.SubscriptionID)
	if _, out = h.waitOutcome(upgradeID, 30*time.Second); out.Action != "updated" {
		t.Fatalf("upgrade: %+v", out)
	}
	h.wantCalls("update", h.callsOf(upgradeID), map[string]int{callRead: 1, callListOrders: 1, callOrder: 1})
	if n := len(h.ordersOf(a, number, "")); n != ordersBefore+1 {
		t.Fatalf("an upgrade must be one order, orders went %d → %d", ordersBefore, n)
	}
	z = h.zuoraSubscription(a, number)
	if len(z.CurrentRatePlans()) != 3 || !strings.Contains(strings.Join(quantities(z)["Pro (Monthly)"], ","), "12") {
		t.Fatalf("after upgrade: %v", quantities(z))
	}

	// The same update again changes nothing and sends no order.
	repeatID := h.subscriptionEvent(events.TypeStiggSubscriptionUpdated, &events.SubscriptionUpdated{Subscription: *sub}, sub.SubscriptionID)
	if _, out = h.waitOutcome(repeatID, 30*time.Second); out.Action != "unchanged" {
		t.Fatalf("repeat update: %+v", out)
	}
	h.wantCalls("update that changes nothing", h.callsOf(repeatID), map[string]int{callRead: 1, callListOrders: 1})

	// Downgrade at the end of the billing period: a scheduled order, nothing changes yet.
	down := *sub
	down.Units = []events.FeatureQuantity{{FeatureID: "feature-seats", Quantity: 3}}
	down.Addons = []events.AddonQuantity{{AddonID: "addon-storage", Quantity: 50}}
	scheduledID := h.subscriptionEvent(events.TypeStiggSubscriptionUpdated,
		&events.SubscriptionUpdated{Subscription: down, ScheduleStrategy: events.ScheduleEndOfBillingPeriod}, sub.SubscriptionID)
	if _, out = h.waitOutcome(scheduledID, 30*time.Second); out.Action != "scheduled" {
		t.Fatalf("scheduled downgrade: %+v", out)
	}
	first := out.Zuora[events.ZuoraOrderNumber]
	h.wantCalls("scheduled change, nothing pending", h.callsOf(scheduledID), map[string]int{callRead: 1, callListOrders: 1, callOrder: 1})
	if pending := h.ordersOf(a, number, zuoraapi.OrderStatusScheduled); len(pending) != 1 || pending[0].OrderNumber != first {
		t.Fatalf("pending scheduled orders %+v, want exactly %s", pending, first)
	}
	if len(h.zuoraSubscription(a, number).CurrentRatePlans()) != 3 {
		t.Fatal("a scheduled downgrade must not change the subscription before its date")
	}

	// Replaced by another scheduled change: the first is cancelled, one stays pending.
	down.Units[0].Quantity = 4
	rescheduledID := h.subscriptionEvent(events.TypeStiggSubscriptionUpdated,
		&events.SubscriptionUpdated{Subscription: down, ScheduleStrategy: events.ScheduleEndOfBillingPeriod}, sub.SubscriptionID)
	if _, out = h.waitOutcome(rescheduledID, 30*time.Second); out.Action != "scheduled" || out.Zuora[events.ZuoraOrderNumber] == first {
		t.Fatalf("replacement schedule: %+v", out)
	}
	h.wantCalls("scheduled change, one pending", h.callsOf(rescheduledID),
		map[string]int{callRead: 1, callListOrders: 1, callCancelOrder: 1, callOrder: 1})
	pending := h.ordersOf(a, number, zuoraapi.OrderStatusScheduled)
	if len(pending) != 1 || pending[0].OrderNumber != out.Zuora[events.ZuoraOrderNumber] {
		t.Fatalf("after replacing: pending %+v", pending)
	}

	// Replay everything so far. The ordering guard skips the subscription's older events and re-applies its
	// latest, the replacement schedule, which finds its own order still pending and keeps it: one read and one
	// list. A replay that reset nothing would call nothing; one that re-applied the older events would order.
	ordersBefore = len(h.ordersOf(a, number, ""))
	h.waitIdle(topology.StreamStigg, 10*time.Second)
	h.sim.ResetRequests()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := replayAll(ctx, h); err != nil {
		t.Fatal(err)
	}
	h.eventually(30*time.Second, "the replay to re-apply the latest subscription event", func() bool {
		return h.callsOf(rescheduledID)[callListOrders] > 0
	})
	h.waitIdle(topology.StreamStigg, 60*time.Second)
	h.wantCalls("replayed latest event", h.callsOf(rescheduledID), map[string]int{callRead: 1, callListOrders: 1})
	for what, id := range map[string]string{"create": createdID, "upgrade": upgradeID, "repeated update": repeatID, "first schedule": scheduledID} {
		if calls := h.callsOf(id); len(calls) != 0 {
			t.Errorf("replay re-applied the superseded %s event: Zuora calls %v", what, calls)
		}
	}
	if w := h.writeCalls(); len(w) != 0 {
		t.Errorf("the replay wrote to Zuora: %v", w)
	}
	if n := len(h.ordersOf(a, number, "")); n != ordersBefore {
		t.Fatalf("replay created orders: %d → %d", ordersBefore, n)
	}
	if p := h.ordersOf(a, number, zuoraapi.OrderStatusScheduled); len(p) != 1 {
		t.Fatalf("after replay: %d pending scheduled orders, want 1", len(p))
	}
	if subs := h.sim.State().Subscriptions; len(subs) != 1 {
		t.Fatalf("after replay: %d subscriptions in Zuora, want 1", len(subs))
	}

	// An immediate cancellation with write-off supersedes the scheduled change.
	cid := h.subscriptionEvent(events.TypeStiggSubscriptionCanceled, &events.SubscriptionCanceled{
		SubscriptionID: sub.SubscriptionID, CustomerID: "cust-sub", CancellationTime: events.CancelImmediate, WriteOffOpenBalance: true,
	}, sub.SubscriptionID)
	if _, out = h.waitOutcome(cid, 30*time.Second); out.Action != "cancelled" {
		t.Fatalf("cancel: %+v", out)
	}
	h.wantCalls("cancel, one pending", h.callsOf(cid), map[string]int{callRead: 1, callListOrders: 1, callCancelOrder: 1, callOrder: 1})
	if p := h.ordersOf(a, number, zuoraapi.OrderStatusScheduled); len(p) != 0 {
		t.Fatalf("the cancellation must cancel the pending scheduled order, %d left", len(p))
	}
	if z = h.zuoraSubscription(a, number); z.Status != zuoraapi.SubscriptionStatusCancelled {
		t.Fatalf("status after immediate cancel: %s", z.Status)
	}
	hasWriteOff := false
	for k := range out.Zuora {
		hasWriteOff = hasWriteOff || strings.HasPrefix(k, "writeOffCreditMemo.")
	}
	if !hasWriteOff {
		t.Errorf("write-off requested but the outcome names no credit memo: %v (%s)", out.Zuora, out.Reason)
	}
}

func TestSubscriptionBeforeItsCustomerIsEventuallyCorrect(t *testing.T) {
	h := newHarness(t)
	h.startConsumer()
	sub := proSubscription("sub-early")
	id := h.subscriptionEvent(events.TypeStiggSubscriptionCreated, &events.SubscriptionCreated{Subscription: *sub}, sub.SubscriptionID)
	time.Sleep(500 * time.Millisecond) // it waits: neither the customer nor the catalog is in Zuora yet
	if _, _, done := h.outcomeFor(id); done {
		t.Fatal("the subscription cannot be synced before its customer and plan")
	}
	for _, pk := range sampleCatalog(t) {
		h.publishPackage(pk)
	}
	h.customerEvent(events.TypeStiggCustomerCreated, customer("cust-sub", "Late Customer"))
	if typ, out := h.waitOutcome(id, 60*time.Second); out.Action != "created" {
		t.Fatalf("outcome %s %+v", typ, out)
	}
	if len(h.dlq()) != 0 {
		t.Fatalf("waiting for a dependency must not dead-letter: %+v", h.dlq())
	}
}

func TestSubscriptionValidationErrorIsDeadLettered(t *testing.T) {
	h, _ := subscriptionWorld(t)
	sub := proSubscription("sub-toomany")
	sub.Units[0].Quantity = 501 // the seat charge allows at most 500
	id := h.subscriptionEvent(events.TypeStiggSubscriptionCreated, &events.SubscriptionCreated{Subscription: *sub}, sub.SubscriptionID)
	typ, out := h.waitOutcome(id, 30*time.Second)
	if typ != events.TypeOutSubscriptionFailed || out.Reason == "" {
		t.Fatalf("outcome %s %+v", typ, out)
	}
	if dl := h.dlq(); len(dl) != 1 || dl[0].Class != "permanent" {
		t.Fatalf("dead letters %+v", dl)
	}
	t.Logf("reason: %s", out.Reason)
}

func TestPreviewsPriceWithZuora(t *testing.T) {
	h, a := subscriptionWorld(t)
	sub := proSubscription("sub-preview")
	h.waitRPC()
	h.sim.ResetRequests()
	r := h.request(rpc.SubjectOrderPreview, handlers.OrderPreviewRequest{Subscription: *sub, Periods: 2}, 10*time.Second, nil)
	if r.Error != nil {
		t.Fatalf("order preview: %+v", r.Error)
	}
	h.wantCalls("order preview of a new subscription", h.rpcCalls(), map[string]int{callRead: 1, callPreview: 1})
	var p struct {
		Total    float64 `json:"total"`
		Invoices []struct {
			Amount float64                   `json:"amount"`
			Lines  []struct{ Charge string } `json:"lines"`
		} `json:"invoices"`
	}
	decode(t, r.Raw, &p)
	if len(p.Invoices) != 2 || p.Invoices[0].Amount <= 0 || len(p.Invoices[0].Lines) == 0 {
		t.Fatalf("preview of a new subscription: %s", r.Raw)
	}
	// 49 base + 5 seats × 12.5 + 50 GB × 0.5 (volume tier 1) = 136.5 per month.
	if p.Invoices[0].Amount != 136.5 {
		t.Errorf("first month %v, want 136.5 (%s)", p.Invoices[0].Amount, r.Raw)
	}

	h.waitOutcome(h.subscriptionEvent(events.TypeStiggSubscriptionCreated, &events.SubscriptionCreated{Subscription: *sub}, sub.SubscriptionID), 30*time.Second)
	h.sim.ResetRequests()
	r = h.request(rpc.SubjectNextInvoice, handlers.NextInvoiceRequest{SubscriptionID: sub.SubscriptionID}, 10*time.Second, nil)
	if r.Error != nil {
		t.Fatalf("next invoice preview: %+v", r.Error)
	}
	h.wantCalls("next invoice preview", h.rpcCalls(), map[string]int{callRead: 1, callPreviewNext: 1})
	decode(t, r.Raw, &p)
	if len(p.Invoices) == 0 || p.Invoices[0].Amount <= 0 {
		t.Fatalf("next invoice: %s", r.Raw)
	}

	// A proposed change of the existing subscription is previewed as the order that would make it.
	h.sim.ResetRequests()
	more := *sub
	more.Units = []events.FeatureQuantity{{FeatureID: "feature-seats", Quantity: 9}}
	r = h.request(rpc.SubjectOrderPreview, handlers.OrderPreviewRequest{Subscription: more, Periods: 2}, 10*time.Second, nil)
	if r.Error != nil {
		t.Fatalf("update preview: %+v", r.Error)
	}
	// A preview must preview, not order.
	h.wantCalls("order preview of a change", h.rpcCalls(), map[string]int{callRead: 1, callPreview: 1})
	decode(t, r.Raw, &p)
	if len(p.Invoices) == 0 {
		t.Fatalf("update preview: %s", r.Raw)
	}

	// Zuora down: a retryable error with a code, not a hang.
	h.sim.InjectFault(zuorasim.Fault{PathPrefix: "/v1/orders/preview", Status: 503, Probability: 1})
	r = h.request(rpc.SubjectOrderPreview, handlers.OrderPreviewRequest{Subscription: more}, 10*time.Second, nil)
	if r.Error == nil || r.Error.Code != "zuora_unavailable" || !r.Error.Retryable {
		t.Fatalf("preview with Zuora down: %s", r.Raw)
	}
	_ = a
}

func TestDowngradesNowAndAtPeriodEnd(t *testing.T) {
	h, a := subscriptionWorld(t)
	sub := proSubscription("sub-down")
	number := "stigg-sub-down"
	sub.Addons = append(sub.Addons, events.AddonQuantity{AddonID: "addon-api-calls", Quantity: 1})
	h.waitOutcome(h.subscriptionEvent(events.TypeStiggSubscriptionCreated, &events.SubscriptionCreated{Subscription: *sub}, sub.SubscriptionID), 30*time.Second)

	// Downgrade now: drop an add-on and seats, one order.
	sub.Addons = sub.Addons[:1]
	sub.Units[0].Quantity = 2
	id := h.subscriptionEvent(events.TypeStiggSubscriptionUpdated,
		&events.SubscriptionUpdated{Subscription: *sub, ScheduleStrategy: events.ScheduleImmediate}, sub.SubscriptionID)
	if _, out := h.waitOutcome(id, 30*time.Second); out.Action != "updated" {
		t.Fatalf("downgrade now: %+v", out)
	}
	h.wantCalls("update", h.callsOf(id), map[string]int{callRead: 1, callListOrders: 1, callOrder: 1})
	z := h.zuoraSubscription(a, number)
	if len(z.CurrentRatePlans()) != 2 || !strings.Contains(strings.Join(quantities(z)["Pro (Monthly)"], ","), "2") {
		t.Fatalf("after the immediate downgrade: %v", quantities(z))
	}

	// Downgrade at the end of the billing period: scheduled, then applied when Zuora's clock reaches the date.
	sub.Units[0].Quantity = 1
	_, out := h.waitOutcome(h.subscriptionEvent(events.TypeStiggSubscriptionUpdated,
		&events.SubscriptionUpdated{Subscription: *sub, ScheduleStrategy: events.ScheduleEndOfBillingPeriod}, sub.SubscriptionID), 30*time.Second)
	if out.Action != "scheduled" {
		t.Fatalf("scheduled downgrade: %+v", out)
	}
	order := out.Zuora[events.ZuoraOrderNumber]
	h.sim.Advance(40 * 24 * time.Hour)
	z = h.zuoraSubscription(a, number)
	if !strings.Contains(strings.Join(quantities(z)["Pro (Monthly)"], ","), "1") {
		t.Fatalf("after the period ended the scheduled downgrade must apply: %v", quantities(z))
	}
	completed := false
	for _, o := range h.ordersOf(a, number, "") {
		completed = completed || (o.OrderNumber == order && o.Status == zuoraapi.OrderStatusCompleted)
	}
	if !completed {
		t.Fatalf("scheduled order %s did not complete", order)
	}

	// Cancel at the end of the billing period: the scheduled order has run, so there is none to cancel.
	id = h.subscriptionEvent(events.TypeStiggSubscriptionCanceled, &events.SubscriptionCanceled{
		SubscriptionID: sub.SubscriptionID, CustomerID: "cust-sub", CancellationTime: events.CancelEndOfBillingPeriod,
	}, sub.SubscriptionID)
	if _, out = h.waitOutcome(id, 30*time.Second); out.Action != "cancelled" {
		t.Fatalf("cancel at period end: %+v", out)
	}
	h.wantCalls("cancel, nothing pending", h.callsOf(id), map[string]int{callRead: 1, callListOrders: 1, callOrder: 1})
	if z = h.zuoraSubscription(a, number); z.Status != zuoraapi.SubscriptionStatusCancelled || z.SubscriptionEndDate == "" {
		t.Fatalf("after cancel at period end: status %s, end %q", z.Status, z.SubscriptionEndDate)
	}
}

func TestFreePlanSubscriptionsAreSkippedUntilTheyArePaid(t *testing.T) {
	h, a := subscriptionWorld(t)
	free := proSubscription("sub-free")
	free.PlanID, free.Units, free.Addons = "plan-free", nil, nil
	_, out := h.waitOutcome(h.subscriptionEvent(events.TypeStiggSubscriptionCreated, &events.SubscriptionCreated{Subscription: *free}, free.SubscriptionID), 30*time.Second)
	if out.Action != "skipped" {
		t.Fatalf("free plan: %+v", out)
	}
	// Upgrading to a paid plan creates the Zuora subscription.
	paid := proSubscription("sub-free")
	_, out = h.waitOutcome(h.subscriptionEvent(events.TypeStiggSubscriptionUpdated, &events.SubscriptionUpdated{Subscription: *paid}, paid.SubscriptionID), 30*time.Second)
	if out.Action != "created" || h.zuoraSubscription(a, "stigg-sub-free").Status != zuoraapi.SubscriptionStatusActive {
		t.Fatalf("upgrade from free: %+v", out)
	}

	// A free subscription that is cancelled is done at once, not parked waiting for a creation that never comes.
	other := proSubscription("sub-free-2")
	other.PlanID, other.Units, other.Addons = "plan-free", nil, nil
	h.waitOutcome(h.subscriptionEvent(events.TypeStiggSubscriptionCreated, &events.SubscriptionCreated{Subscription: *other}, other.SubscriptionID), 30*time.Second)
	id := h.subscriptionEvent(events.TypeStiggSubscriptionCanceled, &events.SubscriptionCanceled{
		SubscriptionID: other.SubscriptionID, CustomerID: "cust-sub", CancellationTime: events.CancelImmediate}, other.SubscriptionID)
	if _, out = h.waitOutcome(id, 10*time.Second); out.Action != "skipped" {
		t.Fatalf("cancel of a free subscription: %+v", out)
	}
}

func TestScheduledChangeWhoseAnswerWasLostStaysPendingOnce(t *testing.T) {
	h, a := subscriptionWorld(t)
	sub := proSubscription("sub-lost")
	h.waitOutcome(h.subscriptionEvent(events.TypeStiggSubscriptionCreated, &events.SubscriptionCreated{Subscription: *sub}, sub.SubscriptionID), 30*time.Second)
	// Zuora creates the scheduled order, but its answer never arrives.
	h.sim.InjectFault(zuorasim.Fault{Method: "POST", PathPrefix: "/v1/orders", Status: 503, Times: 1, AfterCommit: true})
	sub.Units[0].Quantity = 2
	_, out := h.waitOutcome(h.subscriptionEvent(events.TypeStiggSubscriptionUpdated,
		&events.SubscriptionUpdated{Subscription: *sub, ScheduleStrategy: events.ScheduleEndOfBillingPeriod}, sub.SubscriptionID), 30*time.Second)
	pending := h.ordersOf(a, "stigg-sub-lost", zuoraapi.OrderStatusScheduled)
	if out.Action != "scheduled" || len(pending) != 1 || pending[0].OrderNumber != out.Zuora[events.ZuoraOrderNumber] {
		t.Fatalf("outcome %+v, pending %+v: want exactly the reported order pending", out, pending)
	}
}

// The soak found this: the first try's scheduled order is made but its answer lost; the retry cancels it and
// makes a second, whose answer is lost too; the next retry cancels that one but loses the cancellation's answer.
// The try after that finds nothing pending and, had it named its write after only what it cancelled itself,
// would send the first try's idempotency key and get back the first order, cancelled long since: nothing would
// stay pending. Exactly one scheduled order must stay pending, the one the outcome names.
func TestScheduledChangeSurvivesLostAnswersOfOrdersAndCancellations(t *testing.T) {
	h, a := subscriptionWorld(t)
	sub := proSubscription("sub-lost2")
	h.waitOutcome(h.subscriptionEvent(events.TypeStiggSubscriptionCreated, &events.SubscriptionCreated{Subscription: *sub}, sub.SubscriptionID), 30*time.Second)
	next := len(h.sim.Orders()) + 1 // the simulator numbers orders O-00000001, O-00000002, ...
	h.sim.InjectFault(zuorasim.Fault{Method: "POST", PathPrefix: "/v1/orders", Status: 502, Times: 2, AfterCommit: true})
	h.sim.InjectFault(zuorasim.Fault{Method: "PUT", PathRegexp: fmt.Sprintf("^/v1/orders/O-%08d/cancel$", next+1),
		Status: 502, Times: 1, AfterCommit: true})
	sub.Units[0].Quantity = 2
	_, out := h.waitOutcome(h.subscriptionEvent(events.TypeStiggSubscriptionUpdated,
		&events.SubscriptionUpdated{Subscription: *sub, ScheduleStrategy: events.ScheduleEndOfBillingPeriod}, sub.SubscriptionID), 30*time.Second)
	for _, f := range h.sim.Faults() {
		if f.Fired != f.Times {
			t.Fatalf("fault %+v fired %d times, want %d: the sequence did not happen", f, f.Fired, f.Times)
		}
	}
	pending := h.ordersOf(a, "stigg-sub-lost2", zuoraapi.OrderStatusScheduled)
	if out.Action != "scheduled" || len(pending) != 1 || pending[0].OrderNumber != out.Zuora[events.ZuoraOrderNumber] {
		t.Fatalf("outcome %+v, pending %+v: want exactly the reported order pending", out, pending)
	}
}

func TestParkedStructuredModeEventsAreAllHandled(t *testing.T) {
	h := newHarness(t)
	h.startConsumer()
	var ids []string
	for i := range 3 {
		c := customer(fmt.Sprintf("cust-park-%d", i), "Parked Person")
		sub := proSubscription(fmt.Sprintf("sub-park-%d", i))
		sub.CustomerID = c.CustomerID
		ev := h.newEvent(events.TypeStiggSubscriptionCreated, sub.SubscriptionID, c.CustomerID, &events.SubscriptionCreated{Subscription: *sub})
		msg, err := events.ToStructuredMsg("", ev)
		if err != nil {
			t.Fatal(err)
		}
		h.publishMsg(msg) // before the customer and the catalog: parked
		ids = append(ids, ev.ID())
	}
	time.Sleep(300 * time.Millisecond)
	for _, pk := range sampleCatalog(t) {
		h.publishPackage(pk)
	}
	for i := range 3 {
		h.customerEvent(events.TypeStiggCustomerCreated, customer(fmt.Sprintf("cust-park-%d", i), "Parked Person"))
	}
	for _, id := range ids {
		if _, out := h.waitOutcome(id, 60*time.Second); out.Action != "created" {
			t.Fatalf("parked structured event %s: %+v", id, out)
		}
	}
}
