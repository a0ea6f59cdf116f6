package zuorasim

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// orderFixture is a catalog with one charge of every simulated model, recurring and monthly:
//
//	plan  "Pro monthly": Base fee (flat 49), Seats (per unit 10, min 1, max 50, default 5)
//	addon "Support":     Support fee (flat 15)
//	addon "API seats":   Tiered seats (graduated: 0–10 at 5/unit, 11+ at 3/unit)
//	addon "Storage":     Storage (volume: 0–10 flat 20, 11–100 at 1.5/unit, 101+ at 1/unit)
type orderFixture struct {
	h                                      *harness
	account                                map[string]any
	acctNum                                string
	plan, support, tiered, volume          string // product rate plan ids
	flat, seats, supportFee, tieredC, volC string // product rate plan charge ids
	planNumber                             string
}

func newOrderFixture(t *testing.T) *orderFixture {
	t.Helper()
	h := newConformingHarness(t, Config{})
	f := &orderFixture{h: h}
	h.createUOM("Seat", 0)
	h.createUOM("GB", 0)
	prod := h.createProduct("pro", "Pro")
	pid := prod["id"].(string)
	plan := h.createPlan(pid, "Pro monthly")
	f.plan, f.planNumber = plan["id"].(string), plan["plan_number"].(string)
	f.support = h.createPlan(pid, "Support")["id"].(string)
	f.tiered = h.createPlan(pid, "API seats")["id"].(string)
	f.volume = h.createPlan(pid, "Storage")["id"].(string)

	f.flat = h.createCharge(chargeBody(f.plan, "Base fee", "Flat Fee Pricing", "Recurring", "Month", tier("USD", 49)))
	seats := chargeBody(f.plan, "Seats", "Per Unit Pricing", "Recurring", "Month", tier("USD", 10))
	seats["UOM"], seats["MinQuantity"], seats["MaxQuantity"], seats["DefaultQuantity"] = "Seat", 1, 50, 5
	f.seats = h.createCharge(seats)
	f.supportFee = h.createCharge(chargeBody(f.support, "Support fee", "Flat Fee Pricing", "Recurring", "Month", tier("USD", 15)))
	tc := chargeBody(f.tiered, "Tiered seats", "Tiered Pricing", "Recurring", "Month",
		tier("USD", 5, "StartingUnit", 0, "EndingUnit", 10, "PriceFormat", "Per Unit"),
		tier("USD", 3, "StartingUnit", 11, "PriceFormat", "Per Unit"))
	tc["UOM"] = "Seat"
	f.tieredC = h.createCharge(tc)
	vc := chargeBody(f.volume, "Storage", "Volume Pricing", "Recurring", "Month",
		tier("USD", 20, "StartingUnit", 0, "EndingUnit", 10, "PriceFormat", "Flat Fee"),
		tier("USD", 1.5, "StartingUnit", 11, "EndingUnit", 100, "PriceFormat", "Per Unit"),
		tier("USD", 1, "StartingUnit", 101, "PriceFormat", "Per Unit"))
	vc["UOM"] = "GB"
	f.volC = h.createCharge(vc)

	f.account = h.createAccount("cust-1")
	f.acctNum = f.account["account_number"].(string)
	return f
}

func (f *orderFixture) today() string { return f.h.sim.today() }

// unchecked is a harness on the same simulator without the conformance middleware, for requests the spec
// itself rejects (and for the writeOff amount quirk, see TestWriteOffOnCancel).
func (f *orderFixture) unchecked(t *testing.T) *harness {
	t.Helper()
	srv := httptest.NewServer(f.h.sim.Handler())
	t.Cleanup(srv.Close)
	return &harness{t: t, sim: f.h.sim, srv: srv, token: f.h.token}
}

func (f *orderFixture) client(t *testing.T) *zuoraapi.Client {
	t.Helper()
	c, err := zuoraapi.New(zuoraapi.Config{BaseURL: f.h.srv.URL, ClientID: f.h.sim.cfg.ClientID,
		ClientSecret: f.h.sim.cfg.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func amt(s string) *zuoraapi.Amount { return zuoraapi.AmountPtr(s) }

func quantityPricing(model, q string) *zuoraapi.OrderPricing {
	p, err := zuoraapi.OrderPricingFor(model, zuoraapi.ChargeTypeRecurring, zuoraapi.OrderPrice{Quantity: amt(q)})
	if err != nil {
		panic(err)
	}
	return p
}

// createRequest is the order a Stigg subscription.created becomes: the plan (seats 7), the support add-on at an
// overridden price, 15 tiered seats and 50 GB of storage; custom fields; runBilling.
func (f *orderFixture) createRequest(runBilling bool) *zuoraapi.OrderRequest {
	today := f.today()
	terms, _ := zuoraapi.TermForBillingPeriod(zuoraapi.BillingPeriodMonth)
	req := &zuoraapi.OrderRequest{OrderDate: today, ExistingAccountNumber: f.acctNum,
		Subscriptions: []zuoraapi.OrderSubscription{{
			CustomFields: map[string]any{"stiggCustomerId__c": "cust-1", "stiggEntityUrl__c": "https://app.stigg.io/s/1",
				"stiggResourceId__c": "res-1"},
			OrderActions: []zuoraapi.OrderAction{zuoraapi.NewCreateSubscriptionAction(today, &zuoraapi.OrderCreateSubscription{
				Terms: terms,
				SubscribeToRatePlans: []zuoraapi.OrderRatePlan{
					{ProductRatePlanID: f.plan, ChargeOverrides: []zuoraapi.OrderChargeOverride{
						{ProductRatePlanChargeID: f.seats, Pricing: quantityPricing("PerUnit", "7")}}},
					{ProductRatePlanID: f.support, ChargeOverrides: []zuoraapi.OrderChargeOverride{
						{ProductRatePlanChargeID: f.supportFee, Pricing: &zuoraapi.OrderPricing{
							RecurringFlatFee: &zuoraapi.OrderPrice{ListPrice: amt("12.5")}}}}},
					{ProductRatePlanID: f.tiered, ChargeOverrides: []zuoraapi.OrderChargeOverride{
						{ProductRatePlanChargeID: f.tieredC, Pricing: quantityPricing("Tiered", "15")}}},
					{ProductRatePlanID: f.volume, ChargeOverrides: []zuoraapi.OrderChargeOverride{
						{ProductRatePlanChargeID: f.volC, Pricing: quantityPricing("Volume", "50")}}},
				}})}}},
	}
	if runBilling {
		req.ProcessingOptions = &zuoraapi.ProcessingOptions{RunBilling: new(true)}
	}
	return req
}

func ctxFor(event string) context.Context {
	return zuoraapi.WithEventID(context.Background(), event)
}

// The expected first invoice: 49 + 7×10 + 12.5 + (10×5 + 5×3) + 50×1.5.
const firstInvoice = 49 + 70 + 12.5 + 65 + 75

func TestCreateSubscriptionOrder(t *testing.T) {
	f := newOrderFixture(t)
	c := f.client(t)
	resp, err := c.CreateOrder(ctxFor("evt-create"), "create", f.createRequest(true))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != "Completed" || resp.OrderNumber != "O-00000001" || len(resp.Subscriptions) != 1 ||
		resp.Subscriptions[0].SubscriptionNumber != "A-S00000001" || resp.Subscriptions[0].Status != "Active" ||
		resp.OrderID == "" || len(resp.SubscriptionIDs) != 1 || len(resp.InvoiceNumbers) != 1 ||
		resp.InvoiceNumbers[0] != "INV00000001" {
		t.Fatalf("response = %+v", resp)
	}

	sub, err := c.GetSubscriptionV1(context.Background(), "A-S00000001")
	if err != nil {
		t.Fatal(err)
	}
	if sub.Version != 1 || sub.Status != "Active" || sub.TermType != "TERMED" || sub.InitialTerm != 1 ||
		sub.CustomFields["stiggCustomerId__c"] != "cust-1" || sub.CustomFields["stiggResourceId__c"] != "res-1" ||
		len(sub.RatePlans) != 4 || sub.ID != resp.SubscriptionIDs[0] || sub.OrderNumber != "O-00000001" ||
		sub.TermEndDate != addTerm(f.today(), 1, "Month") {
		t.Fatalf("subscription = %+v", sub)
	}
	byPRPC := map[string]zuoraapi.SubscriptionChargeV1{}
	for _, rp := range sub.RatePlans {
		for _, ch := range rp.RatePlanCharges {
			byPRPC[ch.ProductRatePlanChargeID] = ch
		}
	}
	if ch := byPRPC[f.seats]; ch.Quantity.String() != "7" || ch.Price.String() != "10" || ch.Model != "PerUnit" ||
		ch.UOM != "Seat" || ch.BillingPeriod != "Month" || ch.ChargedThroughDate != addTerm(f.today(), 1, "Month") ||
		ch.EffectiveStartDate != f.today() {
		t.Fatalf("seats = %+v", ch)
	}
	if ch := byPRPC[f.supportFee]; ch.Price.String() != "12.5" || ch.Quantity != nil {
		t.Fatalf("support = %+v", ch)
	}
	if ch := byPRPC[f.tieredC]; ch.Model != "Tiered" || ch.Quantity.String() != "15" || len(ch.Tiers) != 2 ||
		ch.Tiers[1].PriceFormat != "PerUnit" {
		t.Fatalf("tiered = %+v", ch)
	}

	// Quickstart read with plans and items.
	qs, err := c.GetSubscription(context.Background(), sub.ID, "subscription_plans", "subscription_plans.subscription_items")
	if err != nil {
		t.Fatal(err)
	}
	if qs.State != "active" || qs.SubscriptionNumber != "A-S00000001" || qs.CustomFields["stiggEntityUrl__c"] != "https://app.stigg.io/s/1" ||
		len(qs.SubscriptionPlans.Data) != 4 || len(qs.Items()) != 5 {
		t.Fatalf("v2 subscription = %+v", qs)
	}
	for _, it := range qs.Items() {
		if it.PriceID == f.seats && (it.Quantity.String() != "7" || it.UnitOfMeasure != "Seat" || it.State != "active" || it.ID == "") {
			t.Fatalf("v2 seats item = %+v", it)
		}
	}

	invs := f.h.sim.Invoices()
	if len(invs) != 1 || invs[0].Amount != firstInvoice || invs[0].Balance != firstInvoice || invs[0].Status != "Posted" ||
		len(invs[0].InvoiceItems) != 5 {
		t.Fatalf("invoices = %+v", invs)
	}
	want := map[string]string{"Base fee": "49.00", "Seats": "70.00", "Support fee": "12.50", "Tiered seats": "65.00", "Storage": "75.00"}
	for _, it := range invs[0].InvoiceItems {
		if want[it.ChargeName] != it.ChargeAmount || it.ServiceStartDate != f.today() ||
			it.ServiceEndDate != inclusiveEnd(addTerm(f.today(), 1, "Month")) || it.SubscriptionName != "A-S00000001" {
			t.Fatalf("invoice item = %+v", it)
		}
	}
	var events []string
	for _, n := range f.h.sim.Notifications() {
		events = append(events, n.Event)
	}
	if strings.Join(events, ",") != "invoice.posted,subscription.created" {
		t.Fatalf("notifications = %v", events)
	}
	if n := f.h.sim.Notifications()[1]; n.Params["StiggCustomerId"] != "cust-1" || n.Params["SubscriptionNumber"] != "A-S00000001" {
		t.Fatalf("notification = %+v", n)
	}
	acct := f.h.do("GET", "/v1/accounts/"+f.acctNum, nil).json(t)
	if acct["metrics"].(map[string]any)["totalInvoiceBalance"] != "271.50" {
		t.Fatalf("account metrics = %v", acct["metrics"])
	}

	// The order read.
	o, err := c.GetOrder(context.Background(), "O-00000001")
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != "Completed" || o.ExistingAccountNumber != f.acctNum || len(o.Subscriptions) != 1 ||
		*o.Subscriptions[0].NewVersion != 1 || o.Subscriptions[0].OrderActions[0].CreateSubscription == nil ||
		o.Subscriptions[0].OrderActions[0].CreateSubscription.SubscriptionNumber != "A-S00000001" ||
		len(o.Subscriptions[0].OrderActions[0].TriggerDates) != 3 {
		t.Fatalf("order = %+v", o)
	}

	// State collections.
	st := f.h.sim.State()
	if len(st.Subscriptions) != 1 || len(st.Orders) != 1 || len(st.Invoices) != 1 || len(st.Payments) != 0 {
		t.Fatalf("state = %d %d %d %d", len(st.Subscriptions), len(st.Orders), len(st.Invoices), len(st.Payments))
	}
}

// subscriptionOf reads a subscription through the conformance-checked V1 endpoint.
func (f *orderFixture) subscription(t *testing.T, key string) *zuoraapi.SubscriptionV1 {
	t.Helper()
	s, err := f.client(t).GetSubscriptionV1(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ratePlanOf(s *zuoraapi.SubscriptionV1, prp string) *zuoraapi.SubscriptionRatePlanV1 {
	for i := range s.RatePlans {
		if s.RatePlans[i].ProductRatePlanID == prp && !s.RatePlans[i].Removed() {
			return &s.RatePlans[i]
		}
	}
	return nil
}

func TestUpdateAddRemoveInOneOrder(t *testing.T) {
	f := newOrderFixture(t)
	c := f.client(t)
	if _, err := c.CreateOrder(ctxFor("e1"), "create", f.createRequest(false)); err != nil {
		t.Fatal(err)
	}
	before := f.subscription(t, "A-S00000001")
	planRP := ratePlanOf(before, f.plan)
	supportRP := ratePlanOf(before, f.support)
	seats := planRP.RatePlanCharges[1]
	today := f.today()
	req := &zuoraapi.OrderRequest{OrderDate: today, ExistingAccountNumber: f.acctNum,
		Subscriptions: []zuoraapi.OrderSubscription{{SubscriptionNumber: "A-S00000001", OrderActions: []zuoraapi.OrderAction{
			zuoraapi.NewUpdateProductAction(today, &zuoraapi.OrderRatePlanUpdate{RatePlanID: planRP.ID,
				ChargeUpdates: []zuoraapi.OrderChargeUpdate{{ChargeNumber: seats.Number, Pricing: quantityPricing("PerUnit", "12")}}}),
			zuoraapi.NewRemoveProductAction(today, &zuoraapi.OrderRemoveProduct{RatePlanID: supportRP.ID}),
			zuoraapi.NewAddProductAction(today, &zuoraapi.OrderRatePlan{ProductRatePlanID: f.support}),
		}}}}
	resp, err := c.CreateOrder(ctxFor("e2"), "update", req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.OrderNumber != "O-00000002" || resp.Subscriptions[0].Status != "Active" {
		t.Fatalf("response = %+v", resp)
	}
	after := f.subscription(t, "A-S00000001")
	if after.Version != 4 || after.ID == before.ID || after.OrderNumber != "O-00000002" {
		t.Fatalf("version %d id %s", after.Version, after.ID)
	}
	np := ratePlanOf(after, f.plan)
	if np.ID != planRP.ID || np.LastChangeType != "Update" || np.RatePlanCharges[1].Quantity.String() != "12" ||
		np.RatePlanCharges[1].Number != seats.Number {
		t.Fatalf("updated plan = %+v", np)
	}
	var removed, added int
	for _, rp := range after.RatePlans {
		if rp.ProductRatePlanID != f.support {
			continue
		}
		switch {
		case rp.Removed() && rp.ID == supportRP.ID && rp.RatePlanCharges[0].EffectiveEndDate == today:
			removed++
		case rp.LastChangeType == "Add" && rp.ID != supportRP.ID && rp.RatePlanCharges[0].Price.String() == "15":
			added++
		}
	}
	if removed != 1 || added != 1 || len(after.CurrentRatePlans()) != 4 {
		t.Fatalf("rate plans = %+v", after.RatePlans)
	}
	// Old version still readable by its id; v2 hides the removed plan (ended today).
	old := f.subscription(t, before.ID)
	if old.Version != 1 || old.IsLatestVersion == nil || *old.IsLatestVersion {
		t.Fatalf("old version = %d latest %v", old.Version, old.IsLatestVersion)
	}
	qs, err := c.GetSubscription(context.Background(), "A-S00000001", "subscription_plans")
	if err != nil || len(qs.SubscriptionPlans.Data) != 4 || qs.Version != 4 {
		t.Fatalf("v2 = %+v, %v", qs, err)
	}
	o, err := c.GetOrder(context.Background(), "O-00000002")
	if err != nil {
		t.Fatal(err)
	}
	acts := o.Subscriptions[0].OrderActions
	if *o.Subscriptions[0].BaseVersion != 1 || *o.Subscriptions[0].NewVersion != 4 || len(acts) != 3 ||
		acts[0].UpdateProduct.NewRatePlanID != planRP.ID || acts[2].AddProduct.NewRatePlanID == "" || *acts[2].Sequence != 3 {
		t.Fatalf("order read = %+v", o.Subscriptions[0])
	}
}

func TestOrderIsAtomic(t *testing.T) {
	f := newOrderFixture(t)
	c := f.client(t)
	if _, err := c.CreateOrder(ctxFor("e1"), "create", f.createRequest(false)); err != nil {
		t.Fatal(err)
	}
	before := f.subscription(t, "A-S00000001")
	planRP := ratePlanOf(before, f.plan)
	today := f.today()
	req := &zuoraapi.OrderRequest{OrderDate: today, ExistingAccountNumber: f.acctNum,
		Subscriptions: []zuoraapi.OrderSubscription{{SubscriptionNumber: "A-S00000001", OrderActions: []zuoraapi.OrderAction{
			zuoraapi.NewAddProductAction(today, &zuoraapi.OrderRatePlan{ProductRatePlanID: f.support}),
			zuoraapi.NewUpdateProductAction(today, &zuoraapi.OrderRatePlanUpdate{RatePlanID: planRP.ID,
				ChargeUpdates: []zuoraapi.OrderChargeUpdate{{ChargeNumber: planRP.RatePlanCharges[1].Number,
					Pricing: quantityPricing("PerUnit", "51")}}}),
		}}}, ProcessingOptions: &zuoraapi.ProcessingOptions{RunBilling: new(true)}}
	_, err := c.CreateOrder(ctxFor("e2"), "update", req)
	if e, ok := zuoraapi.AsError(err); !ok || e.Kind != zuoraapi.KindValidation || !strings.Contains(e.Error(), "maximum") {
		t.Fatalf("err = %v", err)
	}
	after := f.subscription(t, "A-S00000001")
	if after.Version != 1 || len(after.RatePlans) != 4 || len(f.h.sim.Orders()) != 1 || len(f.h.sim.Invoices()) != 0 {
		t.Fatalf("a failed order changed state: version %d", after.Version)
	}
	// No number was used up by the failed order.
	resp, err := c.CreateOrder(ctxFor("e3"), "create", f.createRequest(false))
	if err != nil || resp.OrderNumber != "O-00000002" || resp.Subscriptions[0].SubscriptionNumber != "A-S00000002" {
		t.Fatalf("next order = %+v, %v", resp, err)
	}
	s2 := f.subscription(t, "A-S00000002")
	if n := s2.RatePlans[0].RatePlanCharges[0].Number; n != "C-00000006" {
		t.Fatalf("charge number = %s", n)
	}
}

// orderBody is a raw create-subscription order for validation tests.
func (f *orderFixture) orderBody(mut func(cs map[string]any, body map[string]any)) map[string]any {
	cs := map[string]any{
		"terms": map[string]any{"initialTerm": map[string]any{"termType": "TERMED", "period": 1, "periodType": "Month"},
			"renewalTerms": []any{map[string]any{"period": 1, "periodType": "Month"}}, "autoRenew": true},
		"subscribeToRatePlans": []any{map[string]any{"productRatePlanId": f.plan}},
	}
	body := map[string]any{"orderDate": f.today(), "existingAccountNumber": f.acctNum,
		"subscriptions": []any{map[string]any{"orderActions": []any{map[string]any{
			"type": "CreateSubscription", "createSubscription": cs}}}}}
	if mut != nil {
		mut(cs, body)
	}
	return body
}

func TestOrderValidationErrors(t *testing.T) {
	f := newOrderFixture(t)
	c := f.client(t)
	if _, err := c.CreateOrder(ctxFor("e1"), "create", f.createRequest(false)); err != nil {
		t.Fatal(err)
	}
	sub := f.subscription(t, "A-S00000001")
	supportRP := ratePlanOf(sub, f.support)
	existing := func(actions ...any) func(cs, body map[string]any) {
		return func(_, body map[string]any) {
			body["subscriptions"] = []any{map[string]any{"subscriptionNumber": "A-S00000001", "orderActions": actions}}
		}
	}
	overrides := func(cos ...any) func(cs, body map[string]any) {
		return func(cs, _ map[string]any) {
			cs["subscribeToRatePlans"] = []any{map[string]any{"productRatePlanId": f.plan, "chargeOverrides": cos}}
		}
	}
	cases := []struct {
		name     string
		mut      func(cs, body map[string]any)
		category int
		contains string
	}{
		{"no order date", func(_, b map[string]any) { delete(b, "orderDate") }, catMissingField, "orderDate"},
		{"unknown account", func(_, b map[string]any) { b["existingAccountNumber"] = "A99" }, catNotFound, "A99"},
		{"unknown rate plan", func(cs, _ map[string]any) {
			cs["subscribeToRatePlans"] = []any{map[string]any{"productRatePlanId": "nope"}}
		}, catNotFound, "nope"},
		{"unknown charge", overrides(map[string]any{"productRatePlanChargeId": "nope"}), catNotFound, "nope"},
		{"charge of another plan", overrides(map[string]any{"productRatePlanChargeId": f.supportFee}), catRule, "not part of"},
		{"quantity below min", overrides(map[string]any{"productRatePlanChargeId": f.seats,
			"pricing": map[string]any{"recurringPerUnit": map[string]any{"quantity": 0}}}), catInvalidValue, "minimum"},
		{"pricing of the wrong model", overrides(map[string]any{"productRatePlanChargeId": f.seats,
			"pricing": map[string]any{"recurringFlatFee": map[string]any{"listPrice": 3}}}), catInvalidValue, "recurringPerUnit"},
		{"bad term type", func(cs, _ map[string]any) {
			cs["terms"].(map[string]any)["initialTerm"].(map[string]any)["termType"] = "FOREVER"
		}, catInvalidValue, "termType"},
		{"missing terms", func(cs, _ map[string]any) { delete(cs, "terms") }, catMissingField, "terms"},
		{"action object of another type", func(cs, b map[string]any) {
			act := b["subscriptions"].([]any)[0].(map[string]any)["orderActions"].([]any)[0].(map[string]any)
			act["addProduct"] = map[string]any{"productRatePlanId": f.plan}
		}, catInvalidValue, "addProduct"},
		{"remove a rate plan not on the subscription", existing(map[string]any{"type": "RemoveProduct",
			"removeProduct": map[string]any{"ratePlanId": "not-there"}}), catNotFound, "not-there"},
		{"unknown subscription", func(_, b map[string]any) {
			b["subscriptions"] = []any{map[string]any{"subscriptionNumber": "A-S404", "orderActions": []any{
				map[string]any{"type": "RemoveProduct", "removeProduct": map[string]any{"ratePlanId": supportRP.ID}}}}}
		}, catNotFound, "A-S404"},
		{"evergreen cancelled at term end", func(cs, b map[string]any) {
			cs["terms"] = map[string]any{"initialTerm": map[string]any{"termType": "EVERGREEN"}}
			acts := b["subscriptions"].([]any)[0].(map[string]any)
			acts["orderActions"] = append(acts["orderActions"].([]any), map[string]any{"type": "CancelSubscription",
				"cancelSubscription": map[string]any{"cancellationPolicy": "EndOfCurrentTerm"}})
		}, catRule, "evergreen"},
		{"unsimulated action", existing(map[string]any{"type": "Suspend", "suspend": map[string]any{"suspendPolicy": "Today"}}), catInvalidValue, "Suspend"},
		{"undefined custom field", func(_, b map[string]any) {
			b["subscriptions"].([]any)[0].(map[string]any)["customFields"] = map[string]any{"nope__c": "x"}
		}, catUnknownField, "nope__c"},
		{"scheduled in the past", func(_, b map[string]any) {
			b["status"] = "Scheduled"
			b["schedulingOptions"] = map[string]any{"scheduledDate": f.today(), "scheduledDatePolicy": "SpecificDate"}
		}, catRule, "scheduledDate"},
	}
	// The spec rejects these requests too: they are sent around the conformance check.
	specInvalid := map[string]bool{"no order date": true, "bad term type": true}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := f.h
			if specInvalid[tc.name] {
				h = f.unchecked(t)
			}
			r := h.do("POST", "/v1/orders", f.orderBody(tc.mut), "Zuora-Version: 223.0")
			code := v1Err(t, r, 200)
			if code%100 != tc.category || !strings.Contains(string(r.body), tc.contains) {
				t.Fatalf("code %d, body %s", code, r.body)
			}
		})
	}
	if got := f.subscription(t, "A-S00000001"); got.Version != 1 || len(f.h.sim.Orders()) != 1 {
		t.Fatalf("validation failures changed state")
	}
	// Updating a cancelled subscription is refused.
	cancel, _ := zuoraapi.NewCancelSubscriptionAction("SpecificDate", f.today())
	if _, err := c.CreateOrder(ctxFor("e2"), "cancel", &zuoraapi.OrderRequest{OrderDate: f.today(),
		ExistingAccountNumber: f.acctNum, Subscriptions: []zuoraapi.OrderSubscription{{SubscriptionNumber: "A-S00000001",
			OrderActions: []zuoraapi.OrderAction{cancel}}}}); err != nil {
		t.Fatal(err)
	}
	r := f.h.do("POST", "/v1/orders", f.orderBody(existing(map[string]any{"type": "AddProduct",
		"addProduct": map[string]any{"productRatePlanId": f.support}})))
	if code := v1Err(t, r, 200); code%100 != catRule || !strings.Contains(string(r.body), "cancelled") {
		t.Fatalf("update of cancelled: %s", r.body)
	}
}

func (f *orderFixture) cancelOrder(t *testing.T, policy, date string, writeOff bool) *zuoraapi.OrderResponse {
	t.Helper()
	act, err := zuoraapi.NewCancelSubscriptionAction(policy, date)
	if err != nil {
		t.Fatal(err)
	}
	req := &zuoraapi.OrderRequest{OrderDate: f.today(), ExistingAccountNumber: f.acctNum,
		Subscriptions: []zuoraapi.OrderSubscription{{SubscriptionNumber: "A-S00000001", OrderActions: []zuoraapi.OrderAction{act}}}}
	if writeOff {
		req.ProcessingOptions = &zuoraapi.ProcessingOptions{WriteOff: new(true)}
	}
	resp, err := f.client(t).CreateOrder(ctxFor("cancel-"+policy+date), "cancel", req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestCancelPolicies(t *testing.T) {
	today := time.Now().UTC().Format(dateLayout)
	cases := []struct {
		policy, date, wantEnd string
		billed                bool
	}{
		{"SpecificDate", today, today, false},
		{"SpecificDate", addTerm(today, 10, "Day"), addTerm(today, 10, "Day"), false},
		{"EndOfCurrentTerm", "", addTerm(today, 1, "Month"), false},
		{"EndOfLastInvoicePeriod", "", addTerm(today, 1, "Month"), true},
		{"EndOfLastInvoicePeriod", "", today, false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s %s billed=%v", tc.policy, tc.date, tc.billed), func(t *testing.T) {
			f := newOrderFixture(t)
			if f.today() != today {
				t.Skip("the day changed during the test")
			}
			if _, err := f.client(t).CreateOrder(ctxFor("e1"), "create", f.createRequest(tc.billed)); err != nil {
				t.Fatal(err)
			}
			resp := f.cancelOrder(t, tc.policy, tc.date, false)
			if resp.Subscriptions[0].Status != "Cancelled" {
				t.Fatalf("response = %+v", resp)
			}
			s := f.subscription(t, "A-S00000001")
			if s.Status != "Cancelled" || s.SubscriptionEndDate != tc.wantEnd || s.Version != 2 {
				t.Fatalf("status %s end %s version %d", s.Status, s.SubscriptionEndDate, s.Version)
			}
			for _, rp := range s.RatePlans {
				if rp.RatePlanCharges[0].EffectiveEndDate != tc.wantEnd {
					t.Fatalf("charge end = %s", rp.RatePlanCharges[0].EffectiveEndDate)
				}
			}
			qs, err := f.client(t).GetSubscription(context.Background(), "A-S00000001")
			if err != nil || qs.State != "canceled" || qs.EndDate != tc.wantEnd {
				t.Fatalf("v2 = %+v %v", qs, err)
			}
			ns := f.h.sim.Notifications()
			if last := ns[len(ns)-1]; last.Event != "subscription.canceled" || last.Params["CancelledDate"] != tc.wantEnd {
				t.Fatalf("last notification = %+v", last)
			}
		})
	}
}

func TestWriteOffOnCancel(t *testing.T) {
	// Spec quirk: PostOrderResponseType gives writeOff[].amount "minimum: 9, maximum: 22" (a decimal(22,9)
	// written as bounds), so only amounts in [9, 22] pass the conformance check. The checked run uses a 12.50
	// subscription; the 271.50 one goes around the check.
	t.Run("checked", func(t *testing.T) {
		f := newOrderFixture(t)
		req := f.createRequest(true)
		cs := req.Subscriptions[0].OrderActions[0].CreateSubscription
		cs.SubscribeToRatePlans = cs.SubscribeToRatePlans[1:2] // the support add-on at 12.50
		if _, err := f.client(t).CreateOrder(ctxFor("e1"), "create", req); err != nil {
			t.Fatal(err)
		}
		resp := f.cancelOrder(t, "SpecificDate", f.today(), true)
		if len(resp.WriteOff) != 1 || resp.WriteOff[0].InvoiceNumber != "INV00000001" || resp.WriteOff[0].Status != "Success" ||
			resp.WriteOff[0].Amount.String() != "12.5" || resp.WriteOff[0].WriteOffCreditMemoNumber != "CM00000001" ||
			len(resp.CreditMemoNumbers) != 1 || len(resp.CreditMemoIDs) != 1 {
			t.Fatalf("response = %+v", resp)
		}
		if inv := f.h.sim.Invoices()[0]; inv.Balance != 0 || inv.CreditMemoAmount != 12.5 {
			t.Fatalf("invoice = %+v", inv)
		}
		acct := f.h.do("GET", "/v1/accounts/"+f.acctNum, nil).json(t)
		if acct["metrics"].(map[string]any)["totalInvoiceBalance"] != "0.00" {
			t.Fatalf("metrics = %v", acct["metrics"])
		}
	})
	t.Run("unchecked", func(t *testing.T) {
		f := newOrderFixture(t)
		if _, err := f.client(t).CreateOrder(ctxFor("e1"), "create", f.createRequest(true)); err != nil {
			t.Fatal(err)
		}
		sub := f.subscription(t, "A-S00000001")
		body := map[string]any{"orderDate": f.today(), "existingAccountNumber": f.acctNum,
			"processingOptions": map[string]any{"writeOff": true},
			"subscriptions": []any{map[string]any{"subscriptionNumber": sub.SubscriptionNumber, "orderActions": []any{
				map[string]any{"type": "CancelSubscription", "cancelSubscription": map[string]any{
					"cancellationPolicy": "EndOfLastInvoicePeriod"}}}}}}
		m := f.unchecked(t).do("POST", "/v1/orders", body, "Zuora-Version: 223.0").json(t)
		wo, _ := m["writeOff"].([]any)
		if len(wo) != 1 || wo[0].(map[string]any)["amount"] != firstInvoice {
			t.Fatalf("response = %v", m)
		}
		if inv := f.h.sim.Invoices()[0]; inv.Balance != 0 || inv.CreditMemoAmount != firstInvoice {
			t.Fatalf("invoice = %+v", inv)
		}
	})
}

func TestCollectPayment(t *testing.T) {
	f := newOrderFixture(t)
	req := f.createRequest(true)
	req.ProcessingOptions.CollectPayment = new(true)
	_, err := f.client(t).CreateOrder(ctxFor("e1"), "create", req)
	if e, ok := zuoraapi.AsError(err); !ok || e.Kind != zuoraapi.KindValidation || !strings.Contains(e.Error(), "payment method") {
		t.Fatalf("err = %v", err)
	}
	if len(f.h.sim.Subscriptions()) != 0 || len(f.h.sim.Invoices()) != 0 {
		t.Fatal("a failed payment left a subscription or invoice behind")
	}
	// Give the account a default payment method.
	pm := f.h.createCcRef(f.account["id"].(string), true)["id"].(string)
	resp, err := f.client(t).CreateOrder(ctxFor("e2"), "create", req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.PaymentNumber != "P-00000001" || resp.PaidAmount.String() != "271.5" || resp.PaymentID == "" {
		t.Fatalf("response = %+v", resp)
	}
	if inv := f.h.sim.Invoices()[0]; inv.Balance != 0 || inv.PaymentAmount != firstInvoice {
		t.Fatalf("invoice = %+v", inv)
	}
	if p := f.h.sim.Payments(); len(p) != 1 || p[0].PaymentMethodID != pm || p[0].Amount != firstInvoice {
		t.Fatalf("payments = %+v", p)
	}
}

// scheduledUpdate is an order that sets the seats to q on date.
func (f *orderFixture) scheduledUpdate(t *testing.T, date string, q string) *zuoraapi.OrderRequest {
	t.Helper()
	s := f.subscription(t, "A-S00000001")
	rp := ratePlanOf(s, f.plan)
	return &zuoraapi.OrderRequest{OrderDate: f.today(), ExistingAccountNumber: f.acctNum, Status: "Scheduled",
		SchedulingOptions: &zuoraapi.SchedulingOptions{ScheduledDate: date, ScheduledDatePolicy: "SpecificDate"},
		Subscriptions: []zuoraapi.OrderSubscription{{SubscriptionNumber: "A-S00000001", OrderActions: []zuoraapi.OrderAction{
			zuoraapi.NewUpdateProductAction(date, &zuoraapi.OrderRatePlanUpdate{RatePlanID: rp.ID,
				ChargeUpdates: []zuoraapi.OrderChargeUpdate{{ChargeNumber: rp.RatePlanCharges[1].Number,
					Pricing: quantityPricing("PerUnit", q)}}}),
		}}}}
}

func TestScheduledOrders(t *testing.T) {
	f := newOrderFixture(t)
	c := f.client(t)
	if _, err := c.CreateOrder(ctxFor("e1"), "create", f.createRequest(false)); err != nil {
		t.Fatal(err)
	}
	in5, in9 := addTerm(f.today(), 5, "Day"), addTerm(f.today(), 9, "Day")
	first, err := c.CreateOrder(ctxFor("s1"), "schedule", f.scheduledUpdate(t, in5, "3"))
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != "Scheduled" || first.Subscriptions[0].SubscriptionNumber != "A-S00000001" {
		t.Fatalf("response = %+v", first)
	}
	if s := f.subscription(t, "A-S00000001"); s.Version != 1 {
		t.Fatal("a scheduled order applied early")
	}
	// A second scheduled order replaces the first: cancel it.
	second, err := c.CreateOrder(ctxFor("s2"), "schedule", f.scheduledUpdate(t, in9, "4"))
	if err != nil {
		t.Fatal(err)
	}
	pending, err := c.ListSubscriptionOrders(context.Background(), "A-S00000001", "Scheduled")
	if err != nil || len(pending) != 2 || pending[0].SchedulingOptions.ScheduledDate != in5 {
		t.Fatalf("pending = %+v, %v", pending, err)
	}
	if _, err := c.EnsureOrderCancelled(context.Background(), first.OrderNumber, "replaced"); err != nil {
		t.Fatal(err)
	}
	// Cancelling again is harmless through EnsureOrderCancelled, refused by the API.
	if _, err := c.EnsureOrderCancelled(context.Background(), first.OrderNumber, "replaced"); err != nil {
		t.Fatal(err)
	}
	r := f.h.do("PUT", "/v1/orders/"+first.OrderNumber+"/cancel", map[string]any{"cancelReason": "again"})
	if code := v1Err(t, r, 200); code%100 != catRule {
		t.Fatalf("code %d", code)
	}
	// Advance past the first date: nothing runs (it was cancelled); past the second: it runs.
	f.h.sim.Advance(6 * 24 * time.Hour)
	if s := f.subscription(t, "A-S00000001"); s.Version != 1 {
		t.Fatal("the cancelled scheduled order ran")
	}
	resp, err := http.Post(f.h.srv.URL+"/_sim/clock/advance", "application/json", strings.NewReader(`{"seconds": 345600}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s := f.subscription(t, "A-S00000001")
	if s.Version != 2 || ratePlanOf(s, f.plan).RatePlanCharges[1].Quantity.String() != "4" || s.OrderNumber != second.OrderNumber {
		t.Fatalf("after the scheduled date: version %d", s.Version)
	}
	o, err := c.GetOrder(context.Background(), second.OrderNumber)
	if err != nil || o.Status != "Completed" || *o.Subscriptions[0].NewVersion != 2 {
		t.Fatalf("order = %+v, %v", o, err)
	}
	f.h.token = f.h.newToken() // the clock moved past the token's lifetime
	raw := f.h.do("GET", "/v1/orders/"+second.OrderNumber, nil).json(t)
	if act, _ := raw["order"].(map[string]any)["scheduledOrderActivationResponse"].(map[string]any); act["status"] != "Completed" {
		t.Fatalf("activation = %v", act)
	}
	all, err := c.ListSubscriptionOrders(context.Background(), "A-S00000001", "")
	if err != nil || len(all) != 3 || all[1].Status != "Cancelled" || all[2].Status != "Completed" {
		t.Fatalf("orders = %+v, %v", all, err)
	}
	var events []string
	for _, n := range f.h.sim.Notifications() {
		events = append(events, n.Event)
	}
	if got := strings.Join(events, ","); got != "subscription.created,order.scheduled,order.scheduled,order.cancelled,subscription.updated,order.scheduled_completed" {
		t.Fatalf("events = %s", got)
	}
	// A completed order cannot be cancelled.
	_, err = c.EnsureOrderCancelled(context.Background(), second.OrderNumber, "too late")
	if err == nil || !strings.Contains(err.Error(), "no longer Draft or Scheduled") {
		t.Fatalf("err = %v", err)
	}
}

func TestScheduledOrderFailsWhenNoLongerValid(t *testing.T) {
	f := newOrderFixture(t)
	c := f.client(t)
	if _, err := c.CreateOrder(ctxFor("e1"), "create", f.createRequest(false)); err != nil {
		t.Fatal(err)
	}
	sched, err := c.CreateOrder(ctxFor("s1"), "schedule", f.scheduledUpdate(t, addTerm(f.today(), 3, "Day"), "3"))
	if err != nil {
		t.Fatal(err)
	}
	f.cancelOrder(t, "SpecificDate", f.today(), false) // an immediate cancel supersedes the scheduled change
	f.h.sim.Advance(4 * 24 * time.Hour)
	o, err := c.GetOrder(context.Background(), sched.OrderNumber)
	if err != nil || o.Status != "Failed" {
		t.Fatalf("order = %+v, %v", o, err)
	}
}

func TestOrderIdempotentReplay(t *testing.T) {
	f := newOrderFixture(t)
	body := f.orderBody(nil)
	r1 := f.h.do("POST", "/v1/orders?returnIds=true", body, "Idempotency-Key: k-1", "Zuora-Version: 223.0")
	r2 := f.h.do("POST", "/v1/orders?returnIds=true", body, "Idempotency-Key: k-1", "Zuora-Version: 223.0")
	expectStatus(t, r1, 200)
	if string(r1.body) != string(r2.body) || r2.header.Get(hdrRequestID) != r1.header.Get(hdrRequestID) {
		t.Fatalf("replay differs:\n%s\n%s", r1.body, r2.body)
	}
	if len(f.h.sim.Subscriptions()) != 1 || len(f.h.sim.Orders()) != 1 {
		t.Fatal("a replay created a second subscription or order")
	}
	// Without Zuora-Version the older response form is used.
	r3 := f.h.do("POST", "/v1/orders", body)
	m := r3.json(t)
	if nums, _ := m["subscriptionNumbers"].([]any); len(nums) != 1 || nums[0] != "A-S00000002" || m["subscriptions"] != nil || m["orderId"] != nil {
		t.Fatalf("old form = %s", r3.body)
	}
}

func TestDraftOrder(t *testing.T) {
	f := newOrderFixture(t)
	body := f.orderBody(func(_, b map[string]any) { b["status"] = "Draft" })
	m := f.h.do("POST", "/v1/orders", body, "Zuora-Version: 223.0").json(t)
	if m["status"] != "Draft" || len(f.h.sim.Subscriptions()) != 0 {
		t.Fatalf("draft = %v", m)
	}
	r := f.h.do("PUT", "/v1/orders/"+m["orderNumber"].(string)+"/cancel", map[string]any{"cancelReason": "no"})
	expectStatus(t, r, 200)
	if got := r.json(t); got["status"] != "Cancelled" || got["cancelReason"] != "no" {
		t.Fatalf("cancel = %v", got)
	}
}

func TestOrderPreview(t *testing.T) {
	f := newOrderFixture(t)
	c := f.client(t)
	create := f.createRequest(false)
	preview := &zuoraapi.OrderPreviewRequest{OrderDate: create.OrderDate,
		PreviewAccountInfo: &zuoraapi.PreviewAccountInfo{BillCycleDay: 1, Currency: "USD"},
		PreviewOptions: zuoraapi.OrderPreviewOptions{PreviewThruType: "NumberOfPeriods", PreviewNumberOfPeriods: 3,
			PreviewTypes: []string{"BillingDocs", "ChargeMetrics"}},
		Subscriptions: create.Subscriptions}
	res, err := c.PreviewOrder(ctxFor("p1"), "preview", preview)
	if err != nil {
		t.Fatal(err)
	}
	invs := res.PreviewResult.Invoices
	if len(invs) != 3 {
		t.Fatalf("invoices = %+v", invs)
	}
	for i, inv := range invs {
		start := addTerm(f.today(), i, "Month")
		if inv.Amount.String() != "271.5" || inv.TaxAmount.String() != "0" || inv.TargetDate != start || len(inv.InvoiceItems) != 5 {
			t.Fatalf("invoice %d = %+v", i, inv)
		}
		for _, it := range inv.InvoiceItems {
			if it.ServiceStartDate != start || it.ServiceEndDate != inclusiveEnd(addTerm(f.today(), i+1, "Month")) || it.ProductName != "Pro" {
				t.Fatalf("item = %+v", it)
			}
		}
	}
	if len(res.PreviewResult.ChargeMetrics) != 1 || len(res.PreviewResult.ChargeMetrics[0].Charges) != 5 {
		t.Fatalf("charge metrics = %+v", res.PreviewResult.ChargeMetrics)
	}
	if len(f.h.sim.Subscriptions()) != 0 || len(f.h.sim.Orders()) != 0 {
		t.Fatal("a preview stored something")
	}

	// Create (billed), then preview an upgrade: the next invoice has the new seats.
	if _, err := c.CreateOrder(ctxFor("e1"), "create", f.createRequest(true)); err != nil {
		t.Fatal(err)
	}
	s := f.subscription(t, "A-S00000001")
	rp := ratePlanOf(s, f.plan)
	upd := &zuoraapi.OrderPreviewRequest{OrderDate: f.today(), ExistingAccountNumber: f.acctNum,
		PreviewOptions: zuoraapi.OrderPreviewOptions{PreviewThruType: "TermEnd", PreviewTypes: []string{"BillingDocs", "ChargeMetrics"}},
		Subscriptions: []zuoraapi.OrderSubscription{{SubscriptionNumber: "A-S00000001", OrderActions: []zuoraapi.OrderAction{
			zuoraapi.NewUpdateProductAction(f.today(), &zuoraapi.OrderRatePlanUpdate{RatePlanID: rp.ID,
				ChargeUpdates: []zuoraapi.OrderChargeUpdate{{ChargeNumber: rp.RatePlanCharges[1].Number, Pricing: quantityPricing("PerUnit", "9")}}})}}}}
	res, err = c.PreviewOrder(ctxFor("p2"), "preview", upd)
	if err != nil {
		t.Fatal(err)
	}
	// Through the term end: the current period is billed already, so nothing is due.
	if len(res.PreviewResult.Invoices) != 0 {
		t.Fatalf("term-end preview = %+v", res.PreviewResult.Invoices)
	}
	var seatDelta string
	for _, ch := range res.PreviewResult.ChargeMetrics[0].Charges {
		if ch.ChargeNumber == rp.RatePlanCharges[1].Number {
			seatDelta = ch.CMRR.RegularDelta.String()
		}
	}
	if seatDelta != "20" {
		t.Fatalf("seat mrr delta = %s", seatDelta)
	}
	upd.PreviewOptions = zuoraapi.OrderPreviewOptions{PreviewThruType: "NumberOfPeriods", PreviewNumberOfPeriods: 1}
	res, err = c.PreviewOrder(ctxFor("p3"), "preview", upd)
	if err != nil {
		t.Fatal(err)
	}
	if inv := res.PreviewResult.Invoices; len(inv) != 1 || inv[0].Amount.String() != "291.5" || inv[0].TargetDate != addTerm(f.today(), 1, "Month") {
		t.Fatalf("upgrade preview = %+v", inv)
	}

	// The next invoice of the existing subscription.
	next, err := c.PreviewSubscription(ctxFor("p4"), "preview", "A-S00000001", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Invoices) != 1 || next.Invoices[0].Amount.String() != "271.5" || next.Invoices[0].TargetDate != addTerm(f.today(), 1, "Month") {
		t.Fatalf("next invoice = %+v", next)
	}
	two, err := c.PreviewSubscription(ctxFor("p5"), "preview", "A-S00000001", &zuoraapi.SubscriptionPreviewRequest{
		PreviewThroughDate: &zuoraapi.PreviewThroughDate{PreviewThruDatePolicy: "nextBillingPeriods", NextBillingPeriods: 2}})
	if err != nil || len(two.Invoices) != 2 {
		t.Fatalf("two periods = %+v, %v", two, err)
	}

	// Preview errors.
	bad := *preview
	bad.PreviewOptions = zuoraapi.OrderPreviewOptions{PreviewThruType: "SpecificDate"}
	_, err = c.PreviewOrder(ctxFor("p6"), "preview", &bad)
	if e, ok := zuoraapi.AsError(err); !ok || e.Kind != zuoraapi.KindValidation {
		t.Fatalf("err = %v", err)
	}
}

func TestRate(t *testing.T) {
	p := func(v float64) *float64 { return &v }
	graduated := []ChargeTier{{Tier: 1, EndingUnit: p(1000), Price: 0, PriceFormat: formatPerUnit},
		{Tier: 2, StartingUnit: 1001, EndingUnit: p(10000), Price: 0.01, PriceFormat: formatPerUnit},
		{Tier: 3, StartingUnit: 10001, Price: 0.005, PriceFormat: formatPerUnit}}
	withFlat := []ChargeTier{{Tier: 1, EndingUnit: p(10), Price: 20, PriceFormat: formatFlatFee},
		{Tier: 2, StartingUnit: 11, EndingUnit: p(100), Price: 1.5, PriceFormat: formatPerUnit},
		{Tier: 3, StartingUnit: 101, Price: 1, PriceFormat: formatPerUnit}}
	cases := []struct {
		model string
		price *float64
		tiers []ChargeTier
		q     float64
		want  float64
	}{
		{modelFlatFee, p(49), nil, 3, 49},
		{modelPerUnit, p(10), nil, 7, 70},
		{modelTiered, nil, graduated, 500, 0},
		{modelTiered, nil, graduated, 5000, 40},
		{modelTiered, nil, graduated, 20000, 90 + 50},
		{modelTiered, nil, withFlat, 5, 20},
		{modelTiered, nil, withFlat, 50, 20 + 60},
		{modelTiered, nil, withFlat, 0, 0},
		{modelVolume, nil, withFlat, 5, 20},
		{modelVolume, nil, withFlat, 50, 75},
		{modelVolume, nil, withFlat, 200, 200},
	}
	for _, tc := range cases {
		if got := rate(tc.model, tc.price, tc.tiers, tc.q); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s q=%v: got %v, want %v", tc.model, tc.q, got, tc.want)
		}
	}
	if got := addMonths(parseDate("2024-01-31"), 1); fmtDate(got) != "2024-02-29" {
		t.Errorf("Jan 31 + 1 month = %s", fmtDate(got))
	}
}

func TestStateAndNotificationsAdmin(t *testing.T) {
	f := newOrderFixture(t)
	if _, err := f.client(t).CreateOrder(ctxFor("e1"), "create", f.createRequest(true)); err != nil {
		t.Fatal(err)
	}
	var st map[string][]map[string]any
	getJSON(t, f.h.srv.URL+"/_sim/state", &st)
	sub := st["subscriptions"][0]
	if sub["subscriptionNumber"] != "A-S00000001" || sub["stiggCustomerId__c"] != "cust-1" ||
		st["orders"][0]["orderNumber"] != "O-00000001" || st["invoices"][0]["invoiceNumber"] != "INV00000001" {
		t.Fatalf("state = %v", st)
	}
	var ns []Notification
	getJSON(t, f.h.srv.URL+"/_sim/notifications", &ns)
	if len(ns) != 2 || ns[0].Event != "invoice.posted" {
		t.Fatalf("notifications = %+v", ns)
	}
	b, _ := json.Marshal(ns[0])
	if !strings.Contains(string(b), `"InvoiceNumber":"INV00000001"`) {
		t.Fatalf("notification json = %s", b)
	}
}

func TestListSubscriptionOrdersPaging(t *testing.T) {
	f := newOrderFixture(t)
	c := f.client(t)
	if _, err := c.CreateOrder(ctxFor("e1"), "create", f.createRequest(false)); err != nil {
		t.Fatal(err)
	}
	for i, d := range []int{3, 4} {
		if _, err := c.CreateOrder(ctxFor(fmt.Sprint("s", i)), "schedule", f.scheduledUpdate(t, addTerm(f.today(), d, "Day"), "2")); err != nil {
			t.Fatal(err)
		}
	}
	m := f.h.do("GET", "/v1/orders/subscription/A-S00000001?page=1&pageSize=2", nil).json(t)
	if orders, _ := m["orders"].([]any); len(orders) != 2 || m["nextPage"] != "/v1/orders/subscription/A-S00000001?page=2&pageSize=2" {
		t.Fatalf("page 1 = %v", m)
	}
	m = f.h.do("GET", "/v1/orders/subscription/A-S00000001?page=2&pageSize=2", nil).json(t)
	if orders, _ := m["orders"].([]any); len(orders) != 1 || m["nextPage"] != nil {
		t.Fatalf("page 2 = %v", m)
	}
	m = f.h.do("GET", "/v1/orders/subscription/A-S00000001?status=completed", nil).json(t)
	if orders, _ := m["orders"].([]any); len(orders) != 1 || orders[0].(map[string]any)["status"] != "Completed" {
		t.Fatalf("completed = %v", m)
	}
	all, err := c.ListSubscriptionOrders(context.Background(), "A-S00000001", "")
	if err != nil || len(all) != 3 {
		t.Fatalf("all = %d, %v", len(all), err)
	}
	r := f.unchecked(t).do("GET", "/v1/orders/subscription/A-S00000001?pageSize=41", nil)
	if code := v1Err(t, r, 200); code%100 != catInvalidQuery {
		t.Fatalf("pageSize 41: %d", code)
	}
}
