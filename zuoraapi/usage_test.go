package zuoraapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/internal/conformance"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// usageSim is the simulator with a metered subscription (12 months from today; one usage charge "API calls",
// 0.015 per Call, billed monthly), and a client whose every request and answer is checked against Zuora's
// OpenAPI specs on the way.
type usageSim struct {
	sim     *zuorasim.Sim
	c       *Client
	account *Account
	sub     *Subscription // with its items
	calls   SubscriptionItem
	priceID string // the product rate plan charge of the calls item
	today   string
}

func newUsageSim(t *testing.T) *usageSim {
	t.Helper()
	sim := zuorasim.New(zuorasim.Config{})
	sim.DefineCustomField("Usage", "stiggEventId__c")
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() {
		sim.Close()
		srv.Close()
	})
	c, err := New(Config{BaseURL: srv.URL, ClientID: zuorasim.DefaultClientID, ClientSecret: zuorasim.DefaultClientSecret,
		Transport: conformance.Load(t).Transport(t, http.DefaultTransport)})
	if err != nil {
		t.Fatal(err)
	}
	u := &usageSim{sim: sim, c: c, today: sim.Now().Format("2006-01-02")}
	ctx := eventCtx("setup")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.CreateUnitOfMeasure(ctx, "uom", &UnitOfMeasure{UomName: "Call", DecimalPlaces: 3})
	must(err)
	prod, err := c.CreateProduct(ctx, "product", &ProductCreateRequest{Name: "Metered", SKU: "metered"})
	must(err)
	plan, err := c.CreatePlan(ctx, "plan", &PlanCreateRequest{ProductID: prod.ID, Name: "Metered"})
	must(err)
	u.priceID, err = c.CreateCharge(ctx, "charge", &ChargeCreateRequest{ProductRatePlanID: plan.ID, Name: "API calls",
		ChargeModel: ChargeModelPerUnit, ChargeType: ChargeTypeUsage, BillingPeriod: BillingPeriodMonth,
		BillCycleType: "DefaultFromCustomer", TriggerEvent: "ContractEffective", UOM: "Call",
		ProductRatePlanChargeTierData: ChargeTierData{ProductRatePlanChargeTier: []ChargeTier{{Currency: "USD", Price: MustAmount("0.015")}}}})
	must(err)
	u.account, err = c.CreateAccount(ctx, "account", &AccountCreateRequest{Name: "Acme", Currency: "USD",
		BillTo: &Contact{FirstName: "Ada", LastName: "Lovelace"}})
	must(err)
	order, err := c.CreateOrder(ctx, "order", &OrderRequest{OrderDate: u.today, ExistingAccountNumber: u.account.AccountNumber,
		Subscriptions: []OrderSubscription{{OrderActions: []OrderAction{NewCreateSubscriptionAction(u.today, &OrderCreateSubscription{
			Terms: &OrderTerms{InitialTerm: OrderTerm{TermType: TermTypeTermed, Period: 12, PeriodType: PeriodTypeMonth},
				AutoRenew: new(false), RenewalTerms: []OrderRenewalTerm{{Period: 12, PeriodType: PeriodTypeMonth}}},
			SubscribeToRatePlans: []OrderRatePlan{{ProductRatePlanID: plan.ID}}})}}}})
	must(err)
	u.sub, err = c.GetSubscription(ctx, order.Subscriptions[0].SubscriptionNumber, "subscription_plans.subscription_items")
	must(err)
	for _, it := range u.sub.Items() {
		if it.PriceID == u.priceID {
			u.calls = it
		}
	}
	return u
}

func (u *usageSim) record(quantity, start string) *UsageRecordCreateRequest {
	return &UsageRecordCreateRequest{AccountNumber: u.account.AccountNumber, SubscriptionNumber: u.sub.SubscriptionNumber,
		SubscriptionItemID: u.calls.ID, Quantity: MustAmount(quantity), StartTime: start, UnitOfMeasure: "Call"}
}

// The subscription read places a usage record: the item's id, price (charge), unit of measure, and the dates
// of its billing periods (start, interval, processed-through).
func TestGetSubscriptionItemsForUsage(t *testing.T) {
	u := newUsageSim(t)
	it := u.calls
	if it.ID == "" || it.SubscriptionItemNumber == "" || it.UnitOfMeasure != "Call" || it.ChargeType != "usage" ||
		it.ChargeModel != "per_unit" || it.UnitAmount.String() != "0.015" || it.StartDate != u.today ||
		it.EndDate != u.sub.CurrentTerm.EndDate || it.ChargedThroughDate != "" || it.ProcessedThroughDate != "" ||
		it.Recurring == nil || !it.Recurring.Usage || it.Recurring.Interval != "month" || it.Recurring.IntervalCount != 1 {
		t.Fatalf("usage item = %+v (recurring %+v)", it, it.Recurring)
	}
	if u.sub.CurrentTerm.StartDate != u.today || u.sub.CurrentTerm.EndDate == "" {
		t.Fatalf("current term = %+v", u.sub.CurrentTerm)
	}
}

func TestUsageRecordLifecycleAgainstSimulator(t *testing.T) {
	u := newUsageSim(t)
	ctx := eventCtx("evt-1")
	req := u.record("0.125", u.today+"T01:00:00Z")
	req.CustomFields = map[string]any{"stiggEventId__c": "evt-1"}
	rec, err := u.c.CreateUsageRecord(ctx, "usage", req)
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID == "" || !rec.Pending() || rec.Quantity.String() != "0.125" || rec.SubscriptionItemID != u.calls.ID ||
		rec.SubscriptionItemNumber != u.calls.SubscriptionItemNumber || rec.SubscriptionNumber != u.sub.SubscriptionNumber ||
		rec.AccountID != u.account.ID || rec.StartTime != u.today+"T01:00:00Z" || rec.CustomFields["stiggEventId__c"] != "evt-1" {
		t.Fatalf("created %+v", rec)
	}
	// A redelivery of the event sends the same Idempotency-Key: Zuora answers with the stored record.
	again, err := u.c.CreateUsageRecord(ctx, "usage", req)
	if err != nil || again.ID != rec.ID {
		t.Fatalf("replay = %+v, %v", again, err)
	}
	got, err := u.c.GetUsageRecord(ctx, rec.ID, "subscription_item")
	if err != nil || got.ID != rec.ID || !got.Quantity.Equal(MustAmount("0.125")) {
		t.Fatalf("get = %+v, %v", got, err)
	}

	patch := &UsageRecordPatch{Quantity: AmountPtr("1.25"), CustomFields: map[string]any{"stiggEventId__c": "evt-2"}}
	if (&UsageRecordPatch{}).IsEmpty() != true || patch.IsEmpty() {
		t.Fatal("IsEmpty")
	}
	upd, err := u.c.UpdateUsageRecord(eventCtx("evt-2"), "usage-update", rec.ID, patch)
	if err != nil || upd.Quantity.String() != "1.25" || upd.CustomFields["stiggEventId__c"] != "evt-2" || !upd.Pending() {
		t.Fatalf("update = %+v, %v", upd, err)
	}

	// A second period's record, deleted while pending.
	next := addMonth(u.today) // the start of the second period
	late, err := u.c.CreateUsageRecord(eventCtx("evt-3"), "usage", u.record("2", next+"T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if err := u.c.DeleteUsageRecord(ctx, late.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := u.c.GetUsageRecord(ctx, late.ID); !IsNotFound(err) {
		t.Fatalf("get deleted: %v", err)
	}
	if err := u.c.DeleteUsageRecord(ctx, late.ID); !IsNotFound(err) {
		t.Fatalf("delete again: %v", err)
	}

	// The period ends: the record is processed and rated, and can no longer change.
	periodEnd := addMonth(u.today)
	u.sim.Advance(32 * 24 * time.Hour)
	processed, err := u.c.GetUsageRecord(ctx, rec.ID)
	if err != nil || processed.State != UsageStateProcessed || processed.Pending() {
		t.Fatalf("after the period = %+v, %v", processed, err)
	}
	_, err = u.c.UpdateUsageRecord(eventCtx("evt-4"), "usage-update", rec.ID, &UsageRecordPatch{Quantity: AmountPtr("2")})
	var zerr *Error
	if !errors.As(err, &zerr) || zerr.StatusCode != 400 || !zerr.Refused() || !zerr.Permanent() || !strings.Contains(zerr.Error(), "processed") {
		t.Fatalf("update of a processed record: %v", err)
	}
	sub, err := u.c.GetSubscription(ctx, u.sub.SubscriptionNumber, "subscription_plans.subscription_items")
	if err != nil {
		t.Fatal(err)
	}
	if it := sub.Items()[0]; it.ProcessedThroughDate != periodEnd || it.ChargedThroughDate != periodEnd {
		t.Fatalf("item after the period = %+v", it)
	}
	if invs := u.sim.Invoices(); len(invs) != 1 || invs[0].Amount != 0.02 || invs[0].InvoiceItems[0].Quantity != "1.25" {
		t.Fatalf("invoices = %+v", invs) // 1.25 × 0.015 = 0.01875 → 0.02
	}
}

func TestListUsageRecordsPagesAndFilters(t *testing.T) {
	u := newUsageSim(t)
	const n = 101 // more than one page of 99
	for i := range n {
		if _, err := u.c.CreateUsageRecord(eventCtx(fmt.Sprintf("evt-%d", i)), "usage",
			u.record("1", u.today+"T02:00:00Z")); err != nil {
			t.Fatal(err)
		}
	}
	u.sim.ResetRequests()
	all, err := u.c.ListUsageRecords(context.Background(), "subscription_item_id.EQ:"+u.calls.ID, "state.EQ:pending")
	if err != nil || len(all) != n {
		t.Fatalf("listed %d, %v", len(all), err)
	}
	lists := 0
	for _, r := range u.sim.Requests() {
		if r.Method == "GET" && r.Path == "/v2/usage_records" {
			lists++
		}
	}
	if lists != 2 {
		t.Fatalf("%d list requests, want 2 pages", lists)
	}
	seen := map[string]bool{}
	for _, r := range all {
		seen[r.ID] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct records", len(seen))
	}
	none, err := u.c.ListUsageRecords(context.Background(), "state.EQ:processed")
	if err != nil || len(none) != 0 {
		t.Fatalf("processed = %d, %v", len(none), err)
	}
	if _, err := u.c.ListUsageRecords(context.Background(), "charge_id.EQ:x"); err == nil || !IsRejection(asError(err)) {
		t.Fatalf("unknown filter field: %v", err)
	}
}

// addMonth adds one calendar month to a date, clamping the day to the month's length (Jan 31 → Feb 28/29), as
// Zuora's billing periods run.
func addMonth(day string) string {
	t, err := time.Parse("2006-01-02", day)
	if err != nil {
		panic(err)
	}
	first := time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(t.Day(), last), 0, 0, 0, 0, time.UTC).Format("2006-01-02")
}

func asError(err error) *Error {
	var zerr *Error
	errors.As(err, &zerr)
	return zerr
}

func TestUsageRecordRequestsOnTheWire(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"id":"u1","quantity":"0.0001","state":"pending"}`)
	})
	c := f.client(t)
	rec, err := c.UpdateUsageRecord(eventCtx("e"), "usage-update", "u 1", &UsageRecordPatch{Quantity: AmountPtr("10.50"),
		EndTime: new("2024-05-01T00:00:00Z")})
	if err != nil || rec.Quantity.String() != "0.0001" {
		t.Fatalf("update = %+v, %v", rec, err)
	}
	r := f.requests()[0]
	if r.Method != "PATCH" || r.Path != "/v2/usage_records/u 1" || string(r.Body) != `{"quantity":10.5,"end_time":"2024-05-01T00:00:00Z"}` ||
		r.Header.Get("Idempotency-Key") != IdempotencyKey("e", "usage-update") {
		t.Fatalf("%s %s %s (key %q)", r.Method, r.Path, r.Body, r.Header.Get("Idempotency-Key"))
	}
	if _, err := c.CreateUsageRecord(eventCtx("e"), "usage", &UsageRecordCreateRequest{AccountID: "a1",
		SubscriptionItemID: "i1", Quantity: MustAmount("0.000001"), StartTime: "2024-05-01T00:00:00Z", UnitOfMeasure: "Call"}); err != nil {
		t.Fatal(err)
	}
	want := `{"account_id":"a1","subscription_item_id":"i1","quantity":0.000001,"start_time":"2024-05-01T00:00:00Z","unit_of_measure":"Call"}`
	if got := string(f.requests()[1].Body); got != want {
		t.Fatalf("create body\n got %s\nwant %s", got, want)
	}
}
