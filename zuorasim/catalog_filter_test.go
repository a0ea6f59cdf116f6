package zuorasim

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// The catalog lists filter on each row as the API renders it (filter.go). These tests pin, for every documented
// filterable field of products, plans and prices, which rows a filter selects, with values written out by hand:
// a field that renders differently from what a filter used to compare (active computed with today's date, the
// Quickstart vocabulary of charge_model/charge_type, an absent optional field reading as "") fails here.

// catalogFilterFixture is two products (one active, one not yet started), a plan on each and five prices
// covering every simulated charge model and type. Each step happens two simulated minutes after the previous
// one, so created_time and updated_time tell the rows apart.
type catalogFilterFixture struct {
	prodA, prodB          string // prodA active since 2020, patched later; prodB starts in 2098
	prodACreated          string
	planM, planN          string // planM on prodA (active, patched later), planN on prodB (not started)
	planMCreated          string
	p1, p2, p3, p4, p5    string // p1 flat recurring (patched later), p2 per unit, p3 one-time, p4 tiered, p5 volume
	p1Created             string
	midProducts, midPlans string // between the two creations of each collection
	midPrices             string
	lateProds, latePlans  string // between the last creation and the patch of each collection
	latePrices            string
}

func buildFilterCatalog(t *testing.T, h *harness) catalogFilterFixture {
	t.Helper()
	var f catalogFilterFixture
	step := func() string { // advance the clock; the returned instant lies between what came before and after
		t.Helper()
		mid := h.sim.Advance(time.Minute).Format(time.RFC3339)
		h.sim.Advance(time.Minute)
		return mid
	}
	create := func(path string, body map[string]any) map[string]any {
		t.Helper()
		r := h.do("POST", path, body)
		expectStatus(t, r, http.StatusCreated)
		return r.json(t)
	}
	patch := func(path string, body map[string]any) {
		t.Helper()
		expectStatus(t, h.do("PATCH", path, body), http.StatusOK)
	}
	h.sim.DefineCustomField(catalogCustomPrice, "stiggPriceId__c")
	h.createUOM("Seat", 0)

	a := create("/v2/products", map[string]any{"name": "Alpha", "sku": "fa", "type": "base", "description": "first",
		"start_date": "2020-01-01", "custom_fields": map[string]any{"stiggPackageId__c": "pa"}})
	f.prodA, f.prodACreated = a["id"].(string), a["created_time"].(string)
	f.midProducts = step()
	f.prodB = create("/v2/products", map[string]any{"name": "Beta", "type": "add_on", "start_date": "2098-01-01",
		"end_date": "2099-06-30"})["id"].(string)
	f.lateProds = step()
	patch("/v2/products/"+f.prodA, map[string]any{"description": "first product"})
	step()

	m := create("/v2/plans", map[string]any{"product_id": f.prodA, "name": "Monthly", "plan_number": "PN-M",
		"description": "m", "start_date": "2021-01-01", "custom_fields": map[string]any{"stiggPackageId__c": "pm"}})
	f.planM, f.planMCreated = m["id"].(string), m["created_time"].(string)
	f.midPlans = step()
	f.planN = create("/v2/plans", map[string]any{"product_id": f.prodB, "name": "Nightly"})["id"].(string)
	f.latePlans = step()
	patch("/v2/plans/"+f.planM, map[string]any{"description": "monthly"})
	step()

	flat := chargeBody(f.planM, "Base fee", "Flat Fee Pricing", "Recurring", "Month", tier("USD", 49))
	flat["AccountingCode"], flat["stiggPriceId__c"] = "4000-SUBS", "p1"
	f.p1 = h.createCharge(flat)
	r := h.do("GET", "/v2/prices/"+f.p1, nil)
	expectStatus(t, r, http.StatusOK)
	f.p1Created = r.json(t)["created_time"].(string)
	f.midPrices = step()
	perUnit := chargeBody(f.planM, "Seats", "Per Unit Pricing", "Recurring", "Month", tier("USD", 10))
	perUnit["UOM"] = "Seat"
	f.p2 = h.createCharge(perUnit)
	f.p3 = h.createCharge(chargeBody(f.planN, "Setup", "Flat Fee Pricing", "OneTime", "Month", tier("USD", 99)))
	tiered := chargeBody(f.planN, "Calls", "Tiered Pricing", "Usage", "Month",
		tier("USD", 0, "StartingUnit", 0, "EndingUnit", 100, "PriceFormat", "Per Unit"),
		tier("USD", 0.01, "StartingUnit", 101, "PriceFormat", "Per Unit"))
	tiered["UOM"] = "Seat"
	f.p4 = h.createCharge(tiered)
	volume := chargeBody(f.planN, "Storage", "Volume Pricing", "Usage", "Month",
		tier("USD", 5, "StartingUnit", 0, "EndingUnit", 10, "PriceFormat", "Flat Fee"),
		tier("USD", 0.3, "StartingUnit", 11, "PriceFormat", "Per Unit"))
	volume["UOM"] = "Seat"
	f.p5 = h.createCharge(volume)
	f.latePrices = step()
	patch("/v2/prices/"+f.p1, map[string]any{"description": "base"})
	return f
}

// listIDs lists path with the given filters and returns the ids of the rows, in list order.
func listIDs(t *testing.T, h *harness, path string, filters ...string) []string {
	t.Helper()
	q := url.Values{"filter[]": filters, "page_size": {"99"}}
	r := h.do("GET", path+"?"+q.Encode(), nil)
	expectStatus(t, r, http.StatusOK)
	var ids []string
	for _, row := range r.json(t)["data"].([]any) {
		ids = append(ids, row.(map[string]any)["id"].(string))
	}
	return ids
}

type filterCase struct {
	filter string
	want   []string
}

func checkFilters(t *testing.T, h *harness, path string, cases []filterCase) {
	t.Helper()
	for _, c := range cases {
		if got := listIDs(t, h, path, c.filter); !slices.Equal(got, c.want) {
			t.Errorf("GET %s filter[]=%s: ids = %v, want %v", path, c.filter, got, c.want)
		}
	}
}

// checkUnfilterable asserts that filtering on each field is refused with 400 invalid_parameter on filter[].
func checkUnfilterable(t *testing.T, h *harness, path string, fields ...string) {
	t.Helper()
	for _, field := range fields {
		r := h.do("GET", path+"?"+url.Values{"filter[]": {field + ".EQ:x"}}.Encode(), nil)
		if e := qsErr(t, r, http.StatusBadRequest, "bad_request"); e["parameter"] != "filter[]" ||
			!strings.Contains(e["message"].(string), field) {
			t.Errorf("GET %s filter on %s: error = %v", path, field, e)
		}
	}
}

func TestProductFilterFields(t *testing.T) {
	h := newHarness(t, Config{})
	f := buildFilterCatalog(t, h)
	a, b := f.prodA, f.prodB
	checkFilters(t, h, "/v2/products", []filterCase{
		{"id.EQ:" + a, []string{a}},
		{"id.NE:" + a, []string{b}},
		{"name.EQ:Beta", []string{b}},
		{"name.IN:[Alpha,Beta]", []string{a, b}},
		{"sku.EQ:fa", []string{a}},
		{"sku.EQ:SKU-00000001", []string{b}}, // generated
		{"sku.SW:SKU-", []string{b}},
		{"type.EQ:base", []string{a}},
		{"type.EQ:add_on", []string{b}},
		{"description.EQ:first product", []string{a}},
		{"description.IN:[]", []string{b}}, // absent (omitted from the JSON) reads as ""
		{"start_date.EQ:2020-01-01", []string{a}},
		{"start_date.GT:2050-01-01", []string{b}},
		{"end_date.EQ:2099-12-31", []string{a}}, // the default end date
		{"end_date.EQ:2099-06-30", []string{b}},
		{"active.EQ:true", []string{a}}, // computed from the dates and today
		{"active.EQ:false", []string{b}},
		{"active.NE:true", []string{b}},
		{"created_time.EQ:" + f.prodACreated, []string{a}},
		{"created_time.LT:" + f.midProducts, []string{a}},
		{"created_time.GT:" + f.midProducts, []string{b}},
		{"updated_time.GT:" + f.lateProds, []string{a}}, // patched after prodB was created
		{"updated_time.LT:" + f.lateProds, []string{b}},
		{"stiggPackageId__c.EQ:pa", []string{a}},
		{"custom_fields.stiggPackageId__c.EQ:pa", []string{a}},
		{"stiggPackageId__c.IN:[]", []string{b}}, // unset custom field reads as ""
		{"stiggEntityUrl__c.IN:[]", []string{a, b}},
	})
	checkUnfilterable(t, h, "/v2/products", "created_by_id", "updated_by_id", "plans", "custom_fields", "undefined__c")
}

func TestPlanFilterFields(t *testing.T) {
	h := newHarness(t, Config{})
	f := buildFilterCatalog(t, h)
	m, n := f.planM, f.planN
	checkFilters(t, h, "/v2/plans", []filterCase{
		{"id.EQ:" + n, []string{n}},
		{"name.EQ:Monthly", []string{m}},
		{"name.SW:N", []string{n}},
		{"plan_number.EQ:PN-M", []string{m}},
		{"plan_number.EQ:PRP-00000001", []string{n}}, // generated
		{"product_id.EQ:" + f.prodA, []string{m}},
		{"product_id.EQ:" + f.prodB, []string{n}},
		{"description.EQ:monthly", []string{m}},
		{"description.IN:[]", []string{n}},
		{"start_date.EQ:2021-01-01", []string{m}},
		{"start_date.EQ:2098-01-01", []string{n}}, // a plan starts no earlier than its product
		{"end_date.EQ:2099-12-31", []string{m, n}},
		{"active.EQ:true", []string{m}},
		{"active.EQ:false", []string{n}},
		{"created_time.EQ:" + f.planMCreated, []string{m}},
		{"created_time.LT:" + f.midPlans, []string{m}},
		{"created_time.GE:" + f.midPlans, []string{n}},
		{"updated_time.GT:" + f.latePlans, []string{m}},
		{"updated_time.LE:" + f.latePlans, []string{n}},
		{"stiggPackageId__c.EQ:pm", []string{m}},
		{"custom_fields.stiggPackageId__c.IN:[]", []string{n}},
	})
	checkUnfilterable(t, h, "/v2/plans", "active_currencies", "created_by_id", "product", "prices", "undefined__c")
}

func TestPriceFilterFields(t *testing.T) {
	h := newHarness(t, Config{})
	f := buildFilterCatalog(t, h)
	all := []string{f.p1, f.p2, f.p3, f.p4, f.p5}
	checkFilters(t, h, "/v2/prices", []filterCase{
		{"id.EQ:" + f.p3, []string{f.p3}},
		{"id.IN:[" + f.p1 + "," + f.p5 + "]", []string{f.p1, f.p5}},
		{"plan_id.EQ:" + f.planM, []string{f.p1, f.p2}},
		{"plan_id.EQ:" + f.planN, []string{f.p3, f.p4, f.p5}},
		{"name.EQ:Seats", []string{f.p2}},
		{"name.SW:S", []string{f.p2, f.p3, f.p5}},
		// charge_model and charge_type compare the Quickstart vocabulary, not the V1 CRUD one.
		{"charge_model.EQ:flat_fee", []string{f.p1, f.p3}},
		{"charge_model.EQ:per_unit", []string{f.p2}},
		{"charge_model.EQ:tiered", []string{f.p4}},
		{"charge_model.EQ:volume", []string{f.p5}},
		{"charge_model.EQ:Flat Fee Pricing", nil},
		{"charge_type.EQ:recurring", []string{f.p1, f.p2}},
		{"charge_type.EQ:one_time", []string{f.p3}},
		{"charge_type.EQ:usage", []string{f.p4, f.p5}},
		{"charge_type.EQ:Recurring", nil},
		{"charge_type.EQ:OneTime", nil},
		{"unit_of_measure.EQ:Seat", []string{f.p2, f.p4, f.p5}},
		{"unit_of_measure.IN:[]", []string{f.p1, f.p3}},
		{"accounting_code.EQ:4000-SUBS", []string{f.p1}},
		{"accounting_code.IN:[]", []string{f.p2, f.p3, f.p4, f.p5}},
		{"created_time.EQ:" + f.p1Created, []string{f.p1}},
		{"created_time.LT:" + f.midPrices, []string{f.p1}},
		{"created_time.GT:" + f.midPrices, []string{f.p2, f.p3, f.p4, f.p5}},
		{"updated_time.GT:" + f.latePrices, []string{f.p1}},
		{"updated_time.LT:" + f.latePrices, []string{f.p2, f.p3, f.p4, f.p5}},
		{"stiggPriceId__c.EQ:p1", []string{f.p1}},
		{"custom_fields.stiggPriceId__c.EQ:p1", []string{f.p1}},
		{"stiggPriceId__c.IN:[]", []string{f.p2, f.p3, f.p4, f.p5}},
		{"name.NE:nothing", all},
	})
	// Rendered, but not documented as filterable.
	checkUnfilterable(t, h, "/v2/prices", "description", "plan_number", "active", "tiers_mode", "start_event",
		"taxable", "created_by_id", "undefined__c")
}

// TestPriceListIgnoresExpand: prices have no expandable relations, so expand[] adds nothing to a fields[]
// projection of the list (nor of the single GET).
func TestPriceListIgnoresExpand(t *testing.T) {
	h := newHarness(t, Config{})
	f := buildFilterCatalog(t, h)
	q := url.Values{"fields[]": {"id"}, "expand[]": {"recurring"}, "filter[]": {"id.EQ:" + f.p1}}
	r := h.do("GET", "/v2/prices?"+q.Encode(), nil)
	expectStatus(t, r, http.StatusOK)
	data := r.json(t)["data"].([]any)
	if len(data) != 1 || len(data[0].(map[string]any)) != 1 {
		t.Fatalf("projected prices = %v", data)
	}
	r = h.do("GET", "/v2/prices/"+f.p1+"?"+url.Values{"fields[]": {"id"}, "expand[]": {"recurring"}}.Encode(), nil)
	expectStatus(t, r, http.StatusOK)
	if got := r.json(t); len(got) != 1 || got["id"] != f.p1 {
		t.Fatalf("projected price = %v", got)
	}
}
