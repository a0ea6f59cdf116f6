package zuorasim

import (
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// usageFixture is the order fixture plus a metered plan, subscribed for 12 months from today:
//
//	plan "Metered": Platform fee (recurring flat 10), API calls (usage, per unit 0.015 per Call),
//	                Storage (usage, graduated: 0–100 GB at 0.10, 101+ at 0.05)
type usageFixture struct {
	*orderFixture
	metered                       string // product rate plan id
	sub, subID                    string // subscription number and original id
	calls, callsNum, storage, fee string // subscription charge ids (callsNum: the calls charge number)
	start                         string // the subscription's start: today
}

func newUsageFixture(t *testing.T) *usageFixture {
	t.Helper()
	f := &usageFixture{orderFixture: newOrderFixture(t)}
	h := f.h
	h.createUOM("Call", 0)
	h.sim.DefineCustomField("Usage", "stiggEventId__c")
	prod := h.createProduct("metered", "Metered")
	f.metered = h.createPlan(prod["id"].(string), "Metered")["id"].(string)
	h.createCharge(chargeBody(f.metered, "Platform fee", "Flat Fee Pricing", "Recurring", "Month", tier("USD", 10)))
	calls := chargeBody(f.metered, "API calls", "Per Unit Pricing", "Usage", "Month", tier("USD", 0.015))
	calls["UOM"] = "Call"
	h.createCharge(calls)
	storage := chargeBody(f.metered, "Storage", "Tiered Pricing", "Usage", "Month",
		tier("USD", 0.1, "StartingUnit", 0, "EndingUnit", 100, "PriceFormat", "Per Unit"),
		tier("USD", 0.05, "StartingUnit", 101, "PriceFormat", "Per Unit"))
	storage["UOM"] = "GB"
	h.createCharge(storage)
	f.start = f.today()
	f.sub = f.subscribe(t, f.acctNum)
	v1, _ := h.sim.Subscription(f.sub)
	f.subID = v1.ID
	for _, ch := range v1.RatePlans[0].RatePlanCharges {
		switch ch.Name {
		case "API calls":
			f.calls, f.callsNum = ch.ID, ch.Number
		case "Storage":
			f.storage = ch.ID
		case "Platform fee":
			f.fee = ch.ID
		}
	}
	return f
}

// subscribe subscribes the account to the metered plan for 12 months from today (no billing) and returns the
// subscription number.
func (f *usageFixture) subscribe(t *testing.T, account string) string {
	t.Helper()
	body := f.orderBody(func(cs, body map[string]any) {
		cs["terms"] = map[string]any{"initialTerm": map[string]any{"termType": "TERMED", "period": 12, "periodType": "Month"},
			"renewalTerms": []any{map[string]any{"period": 12, "periodType": "Month"}}, "autoRenew": false}
		cs["subscribeToRatePlans"] = []any{map[string]any{"productRatePlanId": f.metered}}
		body["existingAccountNumber"] = account
		// The V1 read renders unset custom fields as null, which the spec does not allow: set them all.
		body["subscriptions"].([]any)[0].(map[string]any)["customFields"] = map[string]any{"stiggCustomerId__c": account,
			"stiggEntityUrl__c": "https://app.stigg.io/s/" + account, "stiggResourceId__c": "res"}
	})
	r := f.h.do("POST", "/v1/orders", body)
	expectStatus(t, r, 200)
	m := r.json(t)
	if m["success"] != true {
		t.Fatalf("order: %s", r.body)
	}
	return m["subscriptionNumbers"].([]any)[0].(string)
}

// usageAt is a start_time on the given day.
func usageAt(day, clock string) string { return day + "T" + clock + "Z" }

func (f *usageFixture) record(extra map[string]any) map[string]any {
	b := map[string]any{"account_number": f.acctNum, "subscription_number": f.sub, "subscription_item_id": f.calls,
		"quantity": 1, "start_time": usageAt(f.start, "01:00:00"), "unit_of_measure": "Call"}
	for k, v := range extra {
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
	}
	return b
}

func (f *usageFixture) create(t *testing.T, extra map[string]any, headers ...string) map[string]any {
	t.Helper()
	r := f.h.do("POST", "/v2/usage_records", f.record(extra), headers...)
	expectStatus(t, r, http.StatusCreated)
	return r.json(t)
}

func TestUsageRecordCreateAndRead(t *testing.T) {
	f := newUsageFixture(t)
	r := f.h.do("POST", "/v2/usage_records", f.record(map[string]any{"quantity": json.Number("12.345"),
		"start_time": f.start + "T10:30:00+02:00", "end_time": f.start + "T11:00:00+02:00", "description": "calls",
		"custom_fields": map[string]any{"stiggEventId__c": "evt-1"}}))
	expectStatus(t, r, http.StatusCreated)
	if !strings.Contains(string(r.body), `"quantity":12.345`) {
		t.Fatalf("quantity is not the exact decimal: %s", r.body)
	}
	u := r.json(t)
	if !hex32.MatchString(u["id"].(string)) || u["state"] != "pending" || u["account_id"] != f.account["id"] ||
		u["account_number"] != f.acctNum || u["subscription_id"] != f.subID || u["subscription_number"] != f.sub ||
		u["subscription_item_id"] != f.calls || u["subscription_item_number"] != f.callsNum ||
		u["unit_of_measure"] != "Call" || u["description"] != "calls" ||
		u["start_time"] != usageAt(f.start, "08:30:00") || u["end_time"] != usageAt(f.start, "09:00:00") ||
		u["custom_fields"].(map[string]any)["stiggEventId__c"] != "evt-1" || u["created_time"] == "" {
		t.Fatalf("record = %s", r.body)
	}
	id := u["id"].(string)

	// Read with every expandable relation (their shapes are checked against the spec), and with fields[].
	got := f.h.do("GET", "/v2/usage_records/"+id+"?expand[]=account,subscription,subscription_item", nil)
	expectStatus(t, got, 200)
	g := got.json(t)
	if g["account"].(map[string]any)["account_number"] != f.acctNum || g["subscription"].(map[string]any)["subscription_number"] != f.sub ||
		g["subscription_item"].(map[string]any)["unit_of_measure"] != "Call" {
		t.Fatalf("expanded = %s", got.body)
	}
	if m := f.h.do("GET", "/v2/usage_records/"+id+"?fields[]=id,state", nil).json(t); len(m) != 2 || m["state"] != "pending" {
		t.Fatalf("fields[] = %v", m)
	}
	qsErr(t, f.h.do("GET", "/v2/usage_records/nope", nil), 404, "not_found")

	// Without a subscription item: the subscription's usage charge in the record's unit of measure.
	gb := f.create(t, map[string]any{"subscription_item_id": nil, "unit_of_measure": "GB", "quantity": 60})
	if gb["subscription_item_id"] != f.storage {
		t.Fatalf("inferred item = %v, want the storage charge %s", gb["subscription_item_id"], f.storage)
	}
	// Without a subscription: the one holding the item; by account id and item number.
	byItem := f.create(t, map[string]any{"subscription_number": nil, "subscription_item_id": nil,
		"subscription_item_number": f.callsNum, "account_number": nil, "account_id": f.account["id"]})
	if byItem["subscription_number"] != f.sub || byItem["subscription_item_id"] != f.calls {
		t.Fatalf("by item number = %v", byItem)
	}
	if n := len(f.h.sim.UsageRecords()); n != 3 {
		t.Fatalf("%d records", n)
	}
	var st State
	getJSON(t, f.h.srv.URL+"/_sim/state", &st)
	if len(st.UsageRecords) != 3 || st.UsageRecords[0].ID != id || st.UsageRecords[0].Quantity != "12.345" {
		t.Fatalf("state usage records = %+v", st.UsageRecords)
	}
}

func TestUsageRecordValidation(t *testing.T) {
	f := newUsageFixture(t)
	other := f.h.createAccount("cust-2")
	otherSub := f.subscribe(t, other["account_number"].(string))
	termEnd := addTerm(f.start, 12, "Month")
	checked := []struct {
		name        string
		extra       map[string]any
		code, param string
	}{
		{"unknown account", map[string]any{"account_number": nil, "account_id": "nope"}, "resource_not_found", "account_id"},
		{"two accounts", map[string]any{"account_id": other["id"]}, "invalid_parameter", "account_number"},
		{"unknown subscription", map[string]any{"subscription_number": "A-S99"}, "resource_not_found", "subscription_number"},
		{"subscription of another account", map[string]any{"subscription_number": otherSub, "subscription_item_id": nil}, "invalid_parameter", "subscription_number"},
		{"no subscription", map[string]any{"subscription_number": nil, "subscription_item_id": nil}, "missing_parameter", "subscription_number"},
		{"recurring charge", map[string]any{"subscription_item_id": f.fee}, "invalid_parameter", "subscription_item_id"},
		{"unknown item", map[string]any{"subscription_item_id": "nope"}, "resource_not_found", "subscription_item_id"},
		{"item of another subscription", map[string]any{"subscription_number": otherSub, "account_number": other["account_number"]}, "invalid_parameter", "subscription_item_id"},
		{"unit of the other charge", map[string]any{"unit_of_measure": "GB"}, "invalid_parameter", "unit_of_measure"},
		{"no usage charge in the unit", map[string]any{"subscription_item_id": nil, "unit_of_measure": "Seat"}, "invalid_parameter", "subscription_item_id"},
		{"negative quantity", map[string]any{"quantity": -1}, "invalid_parameter", "quantity"},
		{"before the term", map[string]any{"start_time": usageAt(addTerm(f.start, -1, "Day"), "23:59:59")}, "invalid_parameter", "start_time"},
		{"after the term", map[string]any{"start_time": usageAt(termEnd, "00:00:00")}, "invalid_parameter", "start_time"},
		{"end before start", map[string]any{"end_time": usageAt(f.start, "00:59:59")}, "invalid_parameter", "end_time"},
		{"undefined custom field", map[string]any{"custom_fields": map[string]any{"region__c": "eu"}}, "unknown_parameter", "custom_fields.region__c"},
	}
	for _, c := range checked {
		t.Run(c.name, func(t *testing.T) {
			e := qsErr(t, f.h.do("POST", "/v2/usage_records", f.record(c.extra)), 400, "bad_request")
			if e["code"] != c.code || e["parameter"] != c.param {
				t.Fatalf("error = %v, want %s on %s", e, c.code, c.param)
			}
		})
	}
	// Bodies the spec itself rejects go around the conformance middleware.
	raw := f.unchecked(t)
	for _, c := range []struct {
		name        string
		extra       map[string]any
		code, param string
	}{
		{"no quantity", map[string]any{"quantity": nil}, "missing_parameter", "quantity"},
		{"no start_time", map[string]any{"start_time": nil}, "missing_parameter", "start_time"},
		{"no unit", map[string]any{"unit_of_measure": nil}, "missing_parameter", "unit_of_measure"},
		{"no account", map[string]any{"account_number": nil}, "missing_parameter", "account_id"},
		{"quantity as a string", map[string]any{"quantity": "4"}, "invalid_parameter", "quantity"},
		{"a date, not a date-time", map[string]any{"start_time": f.start}, "invalid_parameter", "start_time"},
		{"a charge_id field", map[string]any{"charge_id": f.calls}, "unknown_parameter", "charge_id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := qsErr(t, raw.do("POST", "/v2/usage_records", f.record(c.extra)), 400, "bad_request")
			if e["code"] != c.code || e["parameter"] != c.param {
				t.Fatalf("error = %v, want %s on %s", e, c.code, c.param)
			}
		})
	}
	if n := len(f.h.sim.UsageRecords()); n != 0 {
		t.Fatalf("%d records stored by failed creates", n)
	}
}

func TestUsageRecordListFilters(t *testing.T) {
	f := newUsageFixture(t)
	second := f.subscribe(t, f.acctNum)
	tomorrow := addTerm(f.start, 1, "Day")
	a := f.create(t, map[string]any{"quantity": 1, "custom_fields": map[string]any{"stiggEventId__c": "e1"}})
	b := f.create(t, map[string]any{"quantity": 2.5, "start_time": usageAt(tomorrow, "01:00:00")})
	c := f.create(t, map[string]any{"subscription_item_id": nil, "unit_of_measure": "GB", "quantity": 50})
	d := f.create(t, map[string]any{"subscription_number": second, "subscription_item_id": nil})
	list := func(t *testing.T, filters ...string) []string {
		t.Helper()
		q := url.Values{"filter[]": filters}
		r := f.h.do("GET", "/v2/usage_records?"+q.Encode(), nil)
		expectStatus(t, r, 200)
		var page struct {
			Data []map[string]any `json:"data"`
		}
		if err := json.Unmarshal(r.body, &page); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, u := range page.Data {
			ids = append(ids, u["id"].(string))
		}
		return ids
	}
	id := func(m map[string]any) string { return m["id"].(string) }
	for _, c := range []struct {
		filters []string
		want    []string
	}{
		{nil, []string{id(a), id(b), id(c), id(d)}},
		{[]string{"subscription_number.EQ:" + second}, []string{id(d)}},
		{[]string{"subscription_id.EQ:" + f.subID}, []string{id(a), id(b), id(c)}},
		{[]string{"subscription_item_id.EQ:" + f.calls}, []string{id(a), id(b)}},
		{[]string{"subscription_item_number.EQ:" + f.callsNum}, []string{id(a), id(b)}},
		{[]string{"subscription_number.EQ:" + f.sub, "unit_of_measure.EQ:Call"}, []string{id(a), id(b)}},
		{[]string{"state.EQ:pending"}, []string{id(a), id(b), id(c), id(d)}},
		{[]string{"state.EQ:processed"}, nil},
		{[]string{"start_time.GE:" + usageAt(tomorrow, "00:00:00")}, []string{id(b)}},
		{[]string{"account_id.EQ:" + f.account["id"].(string), "quantity.GT:1"}, []string{id(b), id(c)}},
		{[]string{"stiggEventId__c.EQ:e1"}, []string{id(a)}},
		{[]string{"custom_fields.stiggEventId__c.EQ:e1"}, []string{id(a)}},
	} {
		if got := list(t, c.filters...); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("filter %v = %v, want %v", c.filters, got, c.want)
		}
	}
	qsErr(t, f.h.do("GET", "/v2/usage_records?filter[]=charge_id.EQ:x", nil), 400, "bad_request")

	// Paging through next_page.
	r := f.h.do("GET", "/v2/usage_records?page_size=3", nil)
	expectStatus(t, r, 200)
	first := r.json(t)
	next, _ := first["next_page"].(string)
	if len(first["data"].([]any)) != 3 || next == "" {
		t.Fatalf("first page = %s", r.body)
	}
	rest := f.h.do("GET", "/v2/usage_records?page_size=3&cursor="+url.QueryEscape(next), nil).json(t)
	if len(rest["data"].([]any)) != 1 || rest["next_page"] != nil {
		t.Fatalf("second page = %v", rest)
	}
	qsErr(t, f.unchecked(t).do("GET", "/v2/usage_records?page_size=100", nil), 400, "bad_request")
}

func TestUsageRecordPatchAndDelete(t *testing.T) {
	f := newUsageFixture(t)
	u := f.create(t, map[string]any{"custom_fields": map[string]any{"stiggEventId__c": "e1"}})
	path := "/v2/usage_records/" + u["id"].(string)
	r := f.h.do("PATCH", path, map[string]any{"quantity": json.Number("5.50"), "start_time": usageAt(f.start, "02:00:00"),
		"end_time": usageAt(f.start, "03:00:00"), "custom_fields": map[string]any{"stiggEventId__c": "e2"}})
	expectStatus(t, r, 200)
	p := r.json(t)
	if !strings.Contains(string(r.body), `"quantity":5.5`) || p["start_time"] != usageAt(f.start, "02:00:00") ||
		p["end_time"] != usageAt(f.start, "03:00:00") || p["custom_fields"].(map[string]any)["stiggEventId__c"] != "e2" ||
		p["state"] != "pending" || p["id"] != u["id"] || p["subscription_item_id"] != f.calls {
		t.Fatalf("patched = %s", r.body)
	}
	for _, c := range []struct {
		body  map[string]any
		param string
	}{
		{map[string]any{"unit_of_measure": "GB"}, "unit_of_measure"},
		{map[string]any{"quantity": -0.5}, "quantity"},
		{map[string]any{"end_time": usageAt(f.start, "01:00:00")}, "end_time"},
		{map[string]any{"start_time": usageAt(addTerm(f.start, 12, "Month"), "00:00:00")}, "start_time"},
	} {
		if e := qsErr(t, f.h.do("PATCH", path, c.body), 400, "bad_request"); e["parameter"] != c.param {
			t.Errorf("patch %v: error %v", c.body, e)
		}
	}
	// Not in the patch schema.
	if e := qsErr(t, f.unchecked(t).do("PATCH", path, map[string]any{"subscription_item_id": f.storage}), 400, "bad_request"); e["code"] != "unknown_parameter" {
		t.Fatalf("error = %v", e)
	}
	if got := f.h.sim.UsageRecords()[0]; got.Quantity != "5.5" || got.UnitOfMeasure != "Call" {
		t.Fatalf("a refused patch changed the record: %+v", got)
	}
	qsErr(t, f.h.do("PATCH", "/v2/usage_records/nope", map[string]any{"quantity": 1}), 404, "not_found")

	r = f.h.do("DELETE", path, nil)
	expectStatus(t, r, http.StatusNoContent)
	qsErr(t, f.h.do("GET", path, nil), 404, "not_found")
	qsErr(t, f.h.do("DELETE", path, nil), 404, "not_found")
}

func TestUsageRecordCreateIsIdempotent(t *testing.T) {
	f := newUsageFixture(t)
	first := f.create(t, nil, "Idempotency-Key: usage-1")
	r := f.h.do("POST", "/v2/usage_records", f.record(nil), "Idempotency-Key: usage-1")
	expectStatus(t, r, http.StatusCreated)
	if again := r.json(t); again["id"] != first["id"] {
		t.Fatalf("replay created %v, first was %v", again["id"], first["id"])
	}
	if n := len(f.h.sim.UsageRecords()); n != 1 {
		t.Fatalf("%d records after a replay", n)
	}
	if other := f.create(t, nil, "Idempotency-Key: usage-2"); other["id"] == first["id"] {
		t.Fatal("a new key replayed the first record")
	}
}

// itemsByName indexes an invoice's items by charge name.
func itemsByName(inv V1Invoice) map[string]V1InvoiceItem {
	out := map[string]V1InvoiceItem{}
	for _, it := range inv.InvoiceItems {
		out[it.ChargeName] = it
	}
	return out
}

func TestUsageProcessedWhenPeriodEnds(t *testing.T) {
	f := newUsageFixture(t)
	c := f.client(t)
	periodEnd := addTerm(f.start, 1, "Month")
	// Period 1: 4 + 7 calls (11 × 0.015 = 0.165 → 0.17: exact decimals, where float64 arithmetic gives 0.16),
	// 60 + 55 GB (100 × 0.10 + 15 × 0.05 = 10.75). Period 2: 15 calls.
	p1 := []map[string]any{f.create(t, map[string]any{"quantity": 4}),
		f.create(t, map[string]any{"quantity": 7, "start_time": usageAt(addTerm(periodEnd, -1, "Day"), "23:59:59")}),
		f.create(t, map[string]any{"subscription_item_id": f.storage, "unit_of_measure": "GB", "quantity": 60}),
		f.create(t, map[string]any{"subscription_item_id": f.storage, "unit_of_measure": "GB", "quantity": 55})}
	p2 := f.create(t, map[string]any{"quantity": 15, "start_time": usageAt(periodEnd, "00:00:00")})
	if n := len(f.h.sim.Invoices()); n != 0 {
		t.Fatalf("%d invoices before any period ended", n)
	}

	f.h.sim.Advance(32 * 24 * time.Hour) // past the end of period 1, not of period 2
	f.h.token = f.h.newToken()
	for _, u := range p1 {
		if got := f.h.do("GET", "/v2/usage_records/"+u["id"].(string), nil).json(t); got["state"] != "processed" {
			t.Fatalf("period 1 record = %v", got)
		}
	}
	if got := f.h.do("GET", "/v2/usage_records/"+p2["id"].(string), nil).json(t); got["state"] != "pending" {
		t.Fatalf("period 2 record = %v", got)
	}
	invs := f.h.sim.Invoices()
	if len(invs) != 1 {
		t.Fatalf("invoices = %+v", invs)
	}
	inv := invs[0]
	if inv.Amount != 10.92 || inv.Balance != 10.92 || inv.Status != "Posted" || inv.Source != "BillRun" || inv.SourceType != "Subscription" ||
		inv.InvoiceDate != periodEnd || inv.DueDate != periodEnd || !inv.IncludesUsage || len(inv.InvoiceItems) != 2 {
		t.Fatalf("invoice = %+v", inv)
	}
	// The V1 invoice read (payments.go) shows it as Zuora documents it (checked against the spec).
	expectStatus(t, f.h.do("GET", "/v1/invoices/"+inv.InvoiceNumber, nil), 200)
	byName := itemsByName(inv)
	if it := byName["API calls"]; it.ChargeAmount != "0.17" || it.Quantity != "11" || it.UnitPrice != "0.015" ||
		it.UnitOfMeasure != "Call" || it.ChargeID != f.calls || it.ServiceStartDate != f.start ||
		it.ServiceEndDate != addTerm(periodEnd, -1, "Day") || it.SubscriptionName != f.sub || it.ChargeType != "Usage" {
		t.Fatalf("calls item = %+v", it)
	}
	if it := byName["Storage"]; it.ChargeAmount != "10.75" || it.Quantity != "115" || it.UnitPrice != "" {
		t.Fatalf("storage item = %+v", it)
	}
	// The usage charge is charged (processed) through the end of the period; the recurring fee is untouched.
	qs, err := c.GetSubscription(ctxFor("read"), f.sub, "subscription_plans.subscription_items")
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range qs.Items() {
		want := periodEnd
		if it.ID == f.fee {
			want = ""
		}
		if it.ChargedThroughDate != want || it.ProcessedThroughDate != want {
			t.Errorf("item %s charged through %q / processed through %q, want %q", it.Name, it.ChargedThroughDate, it.ProcessedThroughDate, want)
		}
	}
	acct, err := c.GetAccount(ctxFor("read"), f.acctNum)
	if err != nil || acct.RemainingInvoiceBalance != 10.92 {
		t.Fatalf("account balance = %v, %v", acct, err)
	}
	var posted []Notification
	for _, n := range f.h.sim.Notifications() {
		if n.Event == "invoice.posted" {
			posted = append(posted, n)
		}
	}
	if len(posted) != 1 || posted[0].Params["Amount"] != "10.92" || posted[0].Params["InvoiceNumber"] != inv.InvoiceNumber {
		t.Fatalf("invoice.posted = %+v", posted)
	}

	// A processed record is immutable.
	path := "/v2/usage_records/" + p1[0]["id"].(string)
	if e := qsErr(t, f.h.do("PATCH", path, map[string]any{"quantity": 2}), 400, "bad_request"); e["parameter"] != "state" ||
		!strings.Contains(e["message"].(string), inv.InvoiceNumber) {
		t.Fatalf("patch of a processed record: %v", e)
	}
	qsErr(t, f.h.do("DELETE", path, nil), 400, "bad_request")

	// Late usage of the ended period is billed at the next run, on its own invoice for that period.
	late := f.create(t, map[string]any{"quantity": 10, "start_time": usageAt(f.start, "05:00:00")})
	if got := f.h.do("GET", "/v2/usage_records/"+late["id"].(string), nil).json(t); got["state"] != "processed" {
		t.Fatalf("late record = %v", got)
	}
	if invs := f.h.sim.Invoices(); len(invs) != 2 || invs[1].Amount != 0.15 || invs[1].InvoiceDate != periodEnd {
		t.Fatalf("late invoice = %+v", invs)
	}

	// Past period 2 through the admin clock: 15 × 0.015 = 0.225 → 0.23 (half away from zero).
	resp, err := http.Post(f.h.srv.URL+"/_sim/clock/advance", "application/json", strings.NewReader(`{"seconds": 2678400}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	invs = f.h.sim.Invoices()
	if len(invs) != 3 || invs[2].Amount != 0.23 || invs[2].InvoiceDate != addTerm(f.start, 2, "Month") ||
		invs[2].InvoiceItems[0].ServiceStartDate != periodEnd {
		t.Fatalf("period 2 invoice = %+v", invs)
	}
	f.h.token = f.h.newToken()
	rs, err := c.ListUsageRecords(ctxFor("list"), "state.EQ:pending")
	if err != nil || len(rs) != 0 {
		t.Fatalf("pending after both periods = %+v, %v", rs, err)
	}
}

// A usage charge's periods close as they end, with or without usage: its charged-through date is where the open
// period starts.
func TestUsagePeriodsCloseWithoutUsage(t *testing.T) {
	f := newUsageFixture(t)
	chargedThrough := func() map[string]string {
		v1, _ := f.h.sim.Subscription(f.sub)
		out := map[string]string{}
		for _, ch := range v1.RatePlans[0].RatePlanCharges {
			out[ch.ID] = ch.ChargedThroughDate
		}
		return out
	}
	if got := chargedThrough(); got[f.calls] != "" || got[f.storage] != "" {
		t.Fatalf("charged through before any period ended: %v", got)
	}
	for months := 1; months <= 2; months++ {
		f.h.sim.Advance(31 * 24 * time.Hour)
		want := addTerm(f.start, months, "Month")
		if got := chargedThrough(); got[f.calls] != want || got[f.storage] != want || got[f.fee] != "" {
			t.Fatalf("after %d months: %v, want usage charges through %s", months, got, want)
		}
	}
	if n := len(f.h.sim.Invoices()); n != 0 {
		t.Fatalf("%d invoices without usage", n)
	}
}

func TestUsageRatedBeforeScheduledPriceChange(t *testing.T) {
	f := newUsageFixture(t)
	c := f.client(t)
	periodEnd := addTerm(f.start, 1, "Month")
	change := addTerm(periodEnd, 5, "Day")
	f.create(t, map[string]any{"quantity": 100})                                                               // period 1: 100 × 0.015
	f.create(t, map[string]any{"quantity": 100, "start_time": usageAt(addTerm(change, 1, "Day"), "00:00:00")}) // period 2: 100 × 1
	s := f.subscription(t, f.sub)
	pricing, err := zuoraapi.OrderPricingFor("PerUnit", zuoraapi.ChargeTypeUsage, zuoraapi.OrderPrice{ListPrice: amt("1")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateOrder(ctxFor("price"), "schedule", &zuoraapi.OrderRequest{OrderDate: f.today(),
		ExistingAccountNumber: f.acctNum, Status: "Scheduled",
		SchedulingOptions: &zuoraapi.SchedulingOptions{ScheduledDate: change, ScheduledDatePolicy: "SpecificDate"},
		Subscriptions: []zuoraapi.OrderSubscription{{SubscriptionNumber: f.sub, OrderActions: []zuoraapi.OrderAction{
			zuoraapi.NewUpdateProductAction(change, &zuoraapi.OrderRatePlanUpdate{RatePlanID: s.RatePlans[0].ID,
				ChargeUpdates: []zuoraapi.OrderChargeUpdate{{ChargeNumber: f.callsNum, Pricing: pricing}}}),
		}}}})
	if err != nil {
		t.Fatal(err)
	}
	f.h.sim.Advance(70 * 24 * time.Hour) // past the price change and the end of period 2, in one step
	invs := f.h.sim.Invoices()
	if len(invs) != 2 || invs[0].Amount != 1.5 || invs[0].InvoiceDate != periodEnd || invs[1].Amount != 100 {
		t.Fatalf("invoices = %+v", invs)
	}
}

func TestRateExactAgreesWithRate(t *testing.T) {
	p := func(v float64) *float64 { return &v }
	graduated := []ChargeTier{{Tier: 1, EndingUnit: p(10), Price: 5, PriceFormat: formatPerUnit},
		{Tier: 2, StartingUnit: 11, EndingUnit: p(20), Price: 30, PriceFormat: formatFlatFee},
		{Tier: 3, StartingUnit: 21, Price: 2.5, PriceFormat: formatPerUnit}}
	for _, model := range []string{modelFlatFee, modelPerUnit, modelTiered, modelVolume} {
		for _, q := range []float64{0, 1, 5, 10, 10.5, 11, 15, 20, 20.25, 21, 150} {
			want := roundMoney(rate(model, p(12.5), graduated, q))
			got, _ := roundCents(rateExact(model, p(12.5), graduated, new(big.Rat).SetFloat64(q))).Float64()
			if got != want {
				t.Errorf("%s q=%v: exact %v, float %v", model, q, got, want)
			}
		}
	}
	// Where float64 arithmetic loses the cent (0.015 is stored as 0.01499…): 11 × 0.015 and 15 × 0.015.
	for q, want := range map[int64]string{11: "0.17", 15: "0.23"} {
		if got := roundCents(rateExact(modelPerUnit, p(0.015), nil, big.NewRat(q, 1))).FloatString(2); got != want {
			t.Errorf("%d × 0.015 = %s, want %s", q, got, want)
		}
		if float := money(roundMoney(rate(modelPerUnit, p(0.015), nil, float64(q)))); float == want {
			t.Errorf("%d × 0.015 in float64 = %s: the case no longer shows the difference", q, float)
		}
	}
}
