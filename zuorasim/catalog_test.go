package zuorasim

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/zuora-sync/zuora-sync/internal/conformance"
)

// newConformingHarness serves the simulator behind the conformance middleware: every request and response of
// the test is checked against Zuora's OpenAPI documents.
func newConformingHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	sim := New(cfg)
	srv := httptest.NewServer(conformance.Load(t).Middleware(t, sim.Handler()))
	t.Cleanup(func() {
		sim.Close()
		srv.Close()
	})
	h := &harness{t: t, sim: sim, srv: srv}
	h.token = h.newToken()
	return h
}

func (h *harness) createUOM(name string, decimals int) string {
	h.t.Helper()
	r := h.do("POST", "/v1/object/unit-of-measure", map[string]any{"UomName": name, "DecimalPlaces": decimals})
	expectStatus(h.t, r, 200)
	m := r.json(h.t)
	if m["Success"] != true || !hex32.MatchString(m["Id"].(string)) {
		h.t.Fatalf("create UOM: %s", r.body)
	}
	return m["Id"].(string)
}

func (h *harness) createProduct(sku, name string) map[string]any {
	h.t.Helper()
	r := h.do("POST", "/v2/products", map[string]any{"name": name, "sku": sku, "description": "Stigg package " + sku,
		"custom_fields": map[string]any{"stiggPackageId__c": sku, "stiggEntityUrl__c": "https://app.stigg.io/p/" + sku}})
	expectStatus(h.t, r, 201)
	return r.json(h.t)
}

func (h *harness) createPlan(productID, name string) map[string]any {
	h.t.Helper()
	r := h.do("POST", "/v2/plans", map[string]any{"product_id": productID, "name": name,
		"custom_fields": map[string]any{"stiggPackageId__c": name}})
	expectStatus(h.t, r, 201)
	return r.json(h.t)
}

// chargeBody is a valid CRUD create body (the spec requires BillCycleType, BillingPeriod, TriggerEvent and
// UseDiscountSpecificAccountingCode even where Zuora has defaults).
func chargeBody(planID, name, model, typ, period string, tiers ...map[string]any) map[string]any {
	ts := make([]any, len(tiers))
	for i, t := range tiers {
		ts[i] = t
	}
	return map[string]any{"ProductRatePlanId": planID, "Name": name, "ChargeModel": model, "ChargeType": typ,
		"BillingPeriod": period, "BillCycleType": "DefaultFromCustomer", "TriggerEvent": "ContractEffective",
		"UseDiscountSpecificAccountingCode": false,
		"ProductRatePlanChargeTierData":     map[string]any{"ProductRatePlanChargeTier": ts}}
}

func tier(cur string, price float64, kv ...any) map[string]any {
	m := map[string]any{"Currency": cur, "Price": price}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func (h *harness) createCharge(body map[string]any, headers ...string) string {
	h.t.Helper()
	r := h.do("POST", "/v1/object/product-rate-plan-charge", body, headers...)
	expectStatus(h.t, r, 200)
	m := r.json(h.t)
	if m["Success"] != true {
		h.t.Fatalf("create charge failed: %s", r.body)
	}
	return m["Id"].(string)
}

// crudErr asserts a CRUD error envelope (HTTP 200, Success false) and returns its code.
func crudErr(t *testing.T, r result) string {
	t.Helper()
	expectStatus(t, r, 200)
	m := r.json(t)
	errs, _ := m["Errors"].([]any)
	if m["Success"] != false || len(errs) != 1 {
		t.Fatalf("not a CRUD error: %s", r.body)
	}
	return errs[0].(map[string]any)["Code"].(string)
}

// catalog builds the sample catalog: a seat-based plan (flat fee + per unit with min/max), a usage
// add-on with graduated tiers and a volume-priced storage add-on.
type catalogFixture struct {
	product, monthly, addon          map[string]any
	flat, perUnit, graduated, volume string
	seatUOM, callUOM, gbUOM          string
}

func buildCatalog(h *harness) catalogFixture {
	h.t.Helper()
	var f catalogFixture
	f.seatUOM = h.createUOM("Seat", 0)
	f.callUOM = h.createUOM("API Call", 0)
	f.gbUOM = h.createUOM("GB", 2)
	f.product = h.createProduct("plan-pro", "Pro")
	f.monthly = h.createPlan(f.product["id"].(string), "Pro monthly")
	f.addon = h.createPlan(f.product["id"].(string), "Pro add-ons")
	mid, aid := f.monthly["id"].(string), f.addon["id"].(string)

	flat := chargeBody(mid, "Base fee", "Flat Fee Pricing", "Recurring", "Month", tier("USD", 49), tier("EUR", 45))
	flat["AccountingCode"] = "4000-SUBS"
	f.flat = h.createCharge(flat)

	perUnit := chargeBody(mid, "Seats", "Per Unit Pricing", "Recurring", "Month", tier("USD", 10))
	perUnit["UOM"], perUnit["MinQuantity"], perUnit["MaxQuantity"], perUnit["DefaultQuantity"] = "Seat", 1, 50, 5
	f.perUnit = h.createCharge(perUnit)

	graduated := chargeBody(aid, "API calls", "Tiered Pricing", "Usage", "Month",
		tier("USD", 0, "StartingUnit", 0, "EndingUnit", 1000, "PriceFormat", "Per Unit"),
		tier("USD", 0.01, "StartingUnit", 1001, "EndingUnit", 10000, "PriceFormat", "Per Unit"),
		tier("USD", 0.005, "StartingUnit", 10001, "PriceFormat", "Per Unit"))
	graduated["UOM"] = "API Call"
	f.graduated = h.createCharge(graduated)

	volume := chargeBody(aid, "Storage", "Volume Pricing", "Usage", "Month",
		tier("USD", 5, "StartingUnit", 0, "EndingUnit", 10, "PriceFormat", "Flat Fee"),
		tier("USD", 0.4, "StartingUnit", 10.01, "EndingUnit", 100, "PriceFormat", "Per Unit"),
		tier("USD", 0.3, "StartingUnit", 100.01, "PriceFormat", "Per Unit"),
		tier("GBP", 4, "StartingUnit", 0, "EndingUnit", 10, "PriceFormat", "Flat Fee"),
		tier("GBP", 0.35, "StartingUnit", 10.01, "EndingUnit", 100, "PriceFormat", "Per Unit"),
		tier("GBP", 0.25, "StartingUnit", 100.01, "PriceFormat", "Per Unit"))
	volume["UOM"] = "GB"
	f.volume = h.createCharge(volume)
	return f
}

func TestCatalogCreateAndRead(t *testing.T) {
	h := newConformingHarness(t, Config{})
	f := buildCatalog(h)

	// V1 read of each charge.
	v1 := func(id string) map[string]any {
		r := h.do("GET", "/v1/product-rate-plan-charges/"+id, nil)
		expectStatus(t, r, 200)
		return r.json(t)
	}
	flat := v1(f.flat)
	if flat["success"] != true || flat["model"] != "FlatFee" || flat["type"] != "Recurring" || flat["billingPeriod"] != "Month" ||
		flat["uom"] != nil || flat["billingTiming"] != "IN_ADVANCE" || flat["listPriceBase"] != "Per_Billing_Period" {
		t.Fatalf("flat charge = %v", flat)
	}
	pricing := flat["pricing"].([]any)
	if len(pricing) != 2 || pricing[0].(map[string]any)["price"] != 49.0 || pricing[1].(map[string]any)["currency"] != "EUR" ||
		pricing[0].(map[string]any)["tiers"] != nil {
		t.Fatalf("flat pricing = %v", pricing)
	}
	if ps := flat["pricingSummary"].([]any); ps[0] != "USD49" {
		t.Fatalf("pricingSummary = %v", ps)
	}
	if n, _ := flat["productRatePlanChargeNumber"].(string); !strings.HasPrefix(n, "PRPC-") {
		t.Fatalf("charge number = %v", flat["productRatePlanChargeNumber"])
	}
	// The charge number addresses the same charge.
	if byNum := v1(flat["productRatePlanChargeNumber"].(string)); byNum["id"] != f.flat {
		t.Fatalf("GET by number = %v", byNum["id"])
	}

	grad := v1(f.graduated)
	tiers := grad["pricing"].([]any)[0].(map[string]any)["tiers"].([]any)[0].([]any)
	if grad["model"] != "Tiered" || grad["type"] != "Usage" || grad["uom"] != "API Call" || len(tiers) != 3 {
		t.Fatalf("graduated = %v", grad)
	}
	t2 := tiers[1].(map[string]any)
	if t2["startingUnit"] != 1001.0 || t2["endingUnit"] != 10000.0 || t2["price"] != 0.01 || t2["priceFormat"] != "Per Unit" || t2["tier"] != 2.0 {
		t.Fatalf("tier 2 = %v", t2)
	}
	if _, ok := tiers[2].(map[string]any)["endingUnit"]; ok {
		t.Fatalf("last tier has an ending unit: %v", tiers[2])
	}

	// Quickstart views of the same objects.
	price := func(id string) map[string]any {
		r := h.do("GET", "/v2/prices/"+id, nil)
		expectStatus(t, r, 200)
		return r.json(t)
	}
	pf := price(f.flat)
	rec := pf["recurring"].(map[string]any)
	if pf["id"] != f.flat || pf["charge_model"] != "flat_fee" || pf["charge_type"] != "recurring" || pf["plan_id"] != f.monthly["id"] ||
		rec["interval"] != "month" || rec["interval_count"] != 1.0 || rec["usage"] != false || rec["timing"] != "in_advance" ||
		pf["accounting_code"] != "4000-SUBS" || pf["amounts"].(map[string]any)["EUR"] != 45.0 || pf["start_event"] != "contract_effective" {
		t.Fatalf("flat price = %v", pf)
	}
	pu := price(f.perUnit)
	if pu["charge_model"] != "per_unit" || pu["unit_of_measure"] != "Seat" || pu["min_quantity"] != 1.0 || pu["max_quantity"] != 50.0 ||
		pu["quantity"] != 5.0 || pu["unit_amounts"].(map[string]any)["USD"] != 10.0 {
		t.Fatalf("per unit price = %v", pu)
	}
	pg := price(f.graduated)
	if pg["tiers_mode"] != "graduated" || pg["charge_type"] != "usage" || !pg["recurring"].(map[string]any)["usage"].(bool) {
		t.Fatalf("graduated price = %v", pg)
	}
	pv := price(f.volume)
	vt := pv["tiers"].([]any)
	first, last := vt[0].(map[string]any), vt[2].(map[string]any)
	if pv["tiers_mode"] != "volume" || len(vt) != 3 || first["up_to"] != 10.0 || first["amounts"].(map[string]any)["GBP"] != 4.0 ||
		last["unit_amounts"].(map[string]any)["USD"] != 0.3 || last["up_to"] != nil {
		t.Fatalf("volume price = %v", pv)
	}

	// CRUD read carries what the REST read does not: min/max quantity and the accounting code.
	r := h.do("GET", "/v1/object/product-rate-plan-charge/"+f.perUnit, nil)
	expectStatus(t, r, 200)
	crud := r.json(t)
	if crud["ChargeModel"] != "Per Unit Pricing" || crud["MinQuantity"] != 1.0 || crud["MaxQuantity"] != 50.0 || crud["UOM"] != "Seat" ||
		crud["ProductRatePlanId"] != f.monthly["id"] {
		t.Fatalf("CRUD charge = %v", crud)
	}

	// The product's rate plans with their charges (V1 list form: decimals as strings).
	r = h.do("GET", "/v1/products/plan-pro/product-rate-plans", nil)
	expectStatus(t, r, 200)
	list := r.json(t)
	plans := list["productRatePlans"].([]any)
	if list["success"] != true || len(plans) != 2 {
		t.Fatalf("rate plans = %s", r.body)
	}
	mp := plans[0].(map[string]any)
	charges := mp["productRatePlanCharges"].([]any)
	seats := charges[1].(map[string]any)
	if mp["status"] != "Active" || mp["stiggPackageId__c"] != "Pro monthly" || len(charges) != 2 ||
		seats["minQuantity"] != "1" || seats["maxQuantity"] != "50" || seats["pricing"].([]any)[0].(map[string]any)["price"] != "10" {
		t.Fatalf("monthly plan = %v", mp)
	}
	storage := plans[1].(map[string]any)["productRatePlanCharges"].([]any)[1].(map[string]any)
	st2 := storage["pricing"].([]any)[0].(map[string]any)["tiers"].([]any)[1].(map[string]any)
	if st2["startingUnit"] != "10.01" || st2["endingUnit"] != "100" || st2["priceFormat"] != "Per Unit" {
		t.Fatalf("storage tier 2 = %v", st2)
	}

	// The plan learned the currencies its prices use.
	r = h.do("GET", "/v2/plans/"+f.monthly["id"].(string), nil)
	if cs := r.json(t)["active_currencies"].([]any); len(cs) != 2 || cs[0] != "USD" || cs[1] != "EUR" {
		t.Fatalf("active_currencies = %v", cs)
	}

	// State collections.
	s := h.sim.State()
	if len(s.Products) != 1 || len(s.Plans) != 2 || len(s.Prices) != 4 || len(s.ProductRatePlanCharges) != 4 || len(s.UnitsOfMeasure) != 3 {
		t.Fatalf("state sizes: %d %d %d %d %d", len(s.Products), len(s.Plans), len(s.Prices), len(s.ProductRatePlanCharges), len(s.UnitsOfMeasure))
	}
	if s.Prices[1].ID != s.ProductRatePlanCharges[1].ID || s.UnitsOfMeasure[2].DecimalPlaces != 2 || s.Products[0].SKU != "plan-pro" {
		t.Fatalf("state content: %+v", s)
	}
	var raw map[string][]map[string]any
	getJSON(t, h.srv.URL+"/_sim/state", &raw)
	if raw["unitsOfMeasure"][0]["UomName"] != "Seat" || raw["prices"][0]["charge_model"] != "flat_fee" ||
		raw["productRatePlanCharges"][0]["model"] != "FlatFee" || raw["products"][0]["custom_fields"] == nil {
		t.Fatalf("/_sim/state catalog = %v", raw)
	}
}

func TestProductsAndPlans(t *testing.T) {
	h := newConformingHarness(t, Config{})
	p := h.createProduct("plan-basic", "Basic")
	id := p["id"].(string)
	if p["type"] != "base" || p["active"] != true || p["start_date"] == "" || p["end_date"] != defaultCatalogEnd {
		t.Fatalf("product defaults = %v", p)
	}
	// Without a SKU Zuora generates one.
	r := h.do("POST", "/v2/products", map[string]any{"name": "No SKU", "type": "add_on"})
	expectStatus(t, r, 201)
	if sku := r.json(t)["sku"].(string); sku != "SKU-00000001" {
		t.Fatalf("generated sku = %s", sku)
	}
	for _, key := range []string{id, "plan-basic"} {
		r := h.do("GET", "/v2/products/"+key, nil)
		expectStatus(t, r, 200)
		if r.json(t)["id"] != id {
			t.Fatalf("GET %s", key)
		}
	}
	r = h.do("PATCH", "/v2/products/"+id, map[string]any{"name": "Basic v2", "description": "new",
		"custom_fields": map[string]any{"stiggEntityUrl__c": "https://x/2"}})
	expectStatus(t, r, 200)
	got := r.json(t)
	cf := got["custom_fields"].(map[string]any)
	if got["name"] != "Basic v2" || cf["stiggEntityUrl__c"] != "https://x/2" || cf["stiggPackageId__c"] != "plan-basic" {
		t.Fatalf("patched = %v", got)
	}

	list := func(path string, filters ...string) []any {
		t.Helper()
		q := url.Values{"filter[]": filters}
		r := h.do("GET", path+"?"+q.Encode(), nil)
		expectStatus(t, r, 200)
		return r.json(t)["data"].([]any)
	}
	if d := list("/v2/products", "sku.EQ:plan-basic"); len(d) != 1 || d[0].(map[string]any)["id"] != id {
		t.Fatalf("sku filter = %v", d)
	}
	if d := list("/v2/products", "name.EQ:Basic v2"); len(d) != 1 {
		t.Fatalf("name filter = %v", d)
	}
	if d := list("/v2/products", "stiggPackageId__c.EQ:plan-basic"); len(d) != 1 {
		t.Fatalf("custom field filter = %v", d)
	}
	if d := list("/v2/products"); len(d) != 2 {
		t.Fatalf("all products = %v", d)
	}

	m := h.createPlan(id, "Basic monthly")
	a := h.createPlan(id, "Basic annual")
	if n := m["plan_number"].(string); n != "PRP-00000001" || m["product_id"] != id || m["active"] != true {
		t.Fatalf("plan = %v", m)
	}
	if d := list("/v2/plans", "product_id.EQ:"+id); len(d) != 2 {
		t.Fatalf("plans of product = %v", d)
	}
	if d := list("/v2/plans", "product_id.EQ:"+id, "name.EQ:Basic annual"); len(d) != 1 || d[0].(map[string]any)["id"] != a["id"] {
		t.Fatalf("plan by name = %v", d)
	}
	if d := list("/v2/plans", "stiggPackageId__c.EQ:Basic monthly"); len(d) != 1 {
		t.Fatalf("plan by custom field = %v", d)
	}
	r = h.do("PATCH", "/v2/plans/"+m["id"].(string), map[string]any{"description": "monthly billing", "active_currencies": []string{"USD", "EUR"}})
	expectStatus(t, r, 200)
	if pm := r.json(t); pm["description"] != "monthly billing" || len(pm["active_currencies"].([]any)) != 2 {
		t.Fatalf("patched plan = %v", pm)
	}

	// Expansion: product with plans, plan with product and prices.
	h.createUOM("Seat", 0)
	cid := h.createCharge(chargeBody(m["id"].(string), "Base", "Flat Fee Pricing", "Recurring", "Month", tier("USD", 9)))
	r = h.do("GET", "/v2/products/"+id+"?expand[]=plans", nil)
	if ps := r.json(t)["plans"].(map[string]any)["data"].([]any); len(ps) != 2 {
		t.Fatalf("expanded plans = %s", r.body)
	}
	r = h.do("GET", "/v2/plans/"+m["id"].(string)+"?expand[]=prices&expand[]=product", nil)
	pl := r.json(t)
	if pl["product"].(map[string]any)["id"] != id || pl["prices"].(map[string]any)["data"].([]any)[0].(map[string]any)["id"] != cid {
		t.Fatalf("expanded plan = %s", r.body)
	}
	if d := list("/v2/prices", "plan_id.EQ:"+m["id"].(string)); len(d) != 1 || d[0].(map[string]any)["id"] != cid {
		t.Fatalf("prices of plan = %v", d)
	}
	if d := list("/v2/prices", "plan_id.EQ:"+a["id"].(string)); len(d) != 0 {
		t.Fatalf("prices of empty plan = %v", d)
	}
}

func TestPricePatchAndV1Consistency(t *testing.T) {
	h := newConformingHarness(t, Config{})
	f := buildCatalog(h)

	// Lightweight changes through the price show in the V1 reads.
	r := h.do("PATCH", "/v2/prices/"+f.perUnit, map[string]any{"name": "Seats (v2)", "unit_amounts": map[string]any{"USD": 12, "EUR": 11},
		"min_quantity": 2, "max_quantity": 100, "accounting_code": "4100-SEATS"})
	expectStatus(t, r, 200)
	if p := r.json(t); p["min_quantity"] != 2.0 || p["unit_amounts"].(map[string]any)["EUR"] != 11.0 {
		t.Fatalf("patched price = %v", p)
	}
	r = h.do("GET", "/v1/product-rate-plan-charges/"+f.perUnit, nil)
	v := r.json(t)
	pr := v["pricing"].([]any)
	if v["name"] != "Seats (v2)" || len(pr) != 2 || pr[0].(map[string]any)["price"] != 12.0 || pr[1].(map[string]any)["currency"] != "EUR" {
		t.Fatalf("V1 after price patch = %v", v)
	}
	crud := h.do("GET", "/v1/object/product-rate-plan-charge/"+f.perUnit, nil).json(t)
	if crud["MinQuantity"] != 2.0 || crud["MaxQuantity"] != 100.0 || crud["AccountingCode"] != "4100-SEATS" {
		t.Fatalf("CRUD after price patch = %v", crud)
	}

	// New tiers for the graduated usage price: bounds derive from up_to (+1 unit).
	r = h.do("PATCH", "/v2/prices/"+f.graduated, map[string]any{"tiers": []any{
		map[string]any{"up_to": 5000, "unit_amounts": map[string]any{"USD": 0}},
		map[string]any{"unit_amounts": map[string]any{"USD": 0.002}},
	}})
	expectStatus(t, r, 200)
	v = h.do("GET", "/v1/product-rate-plan-charges/"+f.graduated, nil).json(t)
	ts := v["pricing"].([]any)[0].(map[string]any)["tiers"].([]any)[0].([]any)
	if len(ts) != 2 || ts[0].(map[string]any)["endingUnit"] != 5000.0 || ts[1].(map[string]any)["startingUnit"] != 5001.0 ||
		ts[1].(map[string]any)["price"] != 0.002 {
		t.Fatalf("V1 tiers after patch = %v", ts)
	}

	// Drift made "in the UI" shows in both views.
	if !h.sim.MutateCharge(f.flat, func(c *Charge) { c.Tiers[0].Price = 59; c.AccountingCode = "9999" }) {
		t.Fatal("MutateCharge: not found")
	}
	p := h.do("GET", "/v2/prices/"+f.flat, nil).json(t)
	if p["amounts"].(map[string]any)["USD"] != 59.0 || p["accounting_code"] != "9999" {
		t.Fatalf("drifted price = %v", p)
	}
	if c, ok := h.sim.Charge(f.flat); !ok || c.Tiers[0].Price != 59 {
		t.Fatalf("Charge() = %+v", c)
	}

	// What Zuora cannot change in place.
	for _, tc := range []struct {
		id    string
		body  map[string]any
		param string
	}{
		{f.graduated, map[string]any{"tiers_mode": "volume"}, "tiers_mode"},
		{f.perUnit, map[string]any{"unit_of_measure": "API Call"}, "unit_of_measure"},
		{f.flat, map[string]any{"recurring": map[string]any{"interval": "year"}}, "recurring.interval"},
		{f.flat, map[string]any{"recurring": map[string]any{"interval_count": 3}}, "recurring.interval_count"},
		{f.graduated, map[string]any{"recurring": map[string]any{"usage": false}}, "recurring.usage"},
		{f.flat, map[string]any{"unit_amounts": map[string]any{"USD": 1}}, "unit_amounts"},
		{f.flat, map[string]any{"tiers": []any{map[string]any{"amounts": map[string]any{"USD": 1}}}}, "tiers"},
	} {
		e := qsErr(t, h.do("PATCH", "/v2/prices/"+tc.id, tc.body), 400, "bad_request")
		if e["parameter"] != tc.param || e["code"] != "invalid_parameter" || !strings.Contains(e["message"].(string), "cannot be changed") {
			t.Errorf("PATCH %v: error %v", tc.body, e)
		}
	}
	// Validation on PATCH: max below min, currency not enabled, non-contiguous... (tiers cannot be, up_to drives them).
	e := qsErr(t, h.do("PATCH", "/v2/prices/"+f.perUnit, map[string]any{"max_quantity": 1}), 400, "bad_request")
	if e["parameter"] != "max_quantity" {
		t.Errorf("max<min: %v", e)
	}
	e = qsErr(t, h.do("PATCH", "/v2/prices/"+f.flat, map[string]any{"amounts": map[string]any{"JPY": 1000}}), 400, "bad_request")
	if e["parameter"] != "tiers" || !strings.Contains(e["message"].(string), "JPY") {
		t.Errorf("disabled currency: %v", e)
	}
	qsErr(t, h.do("GET", "/v2/prices/nope", nil), 404, "not_found")
}

func TestCatalogValidationErrors(t *testing.T) {
	h := newConformingHarness(t, Config{})
	f := buildCatalog(h)
	mid := f.monthly["id"].(string)

	// Units of measure: duplicate name.
	r := h.do("POST", "/v1/object/unit-of-measure", map[string]any{"UomName": "Seat", "DecimalPlaces": 0})
	if code := crudErr(t, r); code != "DUPLICATE_VALUE" {
		t.Fatalf("duplicate UOM: %s", r.body)
	}
	if code := crudErr(t, h.do("POST", "/v1/object/unit-of-measure", map[string]any{"UomName": "Hour"})); code != "MISSING_REQUIRED_VALUE" {
		t.Fatalf("UOM without DecimalPlaces: %s", code)
	}
	r = h.do("GET", "/v1/object/unit-of-measure/"+f.gbUOM, nil)
	if u := r.json(t); u["UomName"] != "GB" || u["DisplayedAs"] != "GB" || u["RoundingMode"] != "Up" || u["Active"] != true {
		t.Fatalf("GET UOM = %s", r.body)
	}
	expectStatus(t, h.do("GET", "/v1/object/unit-of-measure/nope", nil), 404)

	// Products and plans.
	e := qsErr(t, h.do("POST", "/v2/products", map[string]any{"name": "Again", "sku": "plan-pro"}), 400, "bad_request")
	if e["parameter"] != "sku" {
		t.Fatalf("duplicate sku: %v", e)
	}
	e = qsErr(t, h.do("POST", "/v2/plans", map[string]any{"product_id": "missing", "name": "x"}), 400, "bad_request")
	if e["code"] != "resource_not_found" || e["parameter"] != "product_id" {
		t.Fatalf("unknown product: %v", e)
	}
	e = qsErr(t, h.do("PATCH", "/v2/plans/"+mid, map[string]any{"active_currencies": []string{"USD"}}), 400, "bad_request")
	if !strings.Contains(e["message"].(string), "EUR") {
		t.Fatalf("deactivating a used currency: %v", e)
	}
	qsErr(t, h.do("GET", "/v2/products/nope", nil), 404, "not_found")
	qsErr(t, h.do("GET", "/v2/plans/nope", nil), 404, "not_found")

	// Charges.
	cases := []struct {
		name string
		body map[string]any
		code string
		msg  string
	}{
		{"unknown plan", chargeBody("missing", "X", "Flat Fee Pricing", "Recurring", "Month", tier("USD", 1)), "INVALID_ID", "ProductRatePlanId"},
		{"duplicate name", chargeBody(mid, "Base fee", "Flat Fee Pricing", "Recurring", "Month", tier("USD", 1)), "DUPLICATE_VALUE", "Base fee"},
		{"per unit without UOM", chargeBody(mid, "X", "Per Unit Pricing", "Recurring", "Month", tier("USD", 1)), "INVALID_VALUE", "UOM"},
		{"usage without UOM", chargeBody(mid, "X", "Flat Fee Pricing", "Usage", "Month", tier("USD", 1)), "INVALID_VALUE", "UOM"},
		{"unknown UOM", withKV(chargeBody(mid, "X", "Per Unit Pricing", "Recurring", "Month", tier("USD", 1)), "UOM", "Widget"), "INVALID_VALUE", "Widget"},
		{"currency not enabled", chargeBody(mid, "X", "Flat Fee Pricing", "Recurring", "Month", tier("JPY", 1)), "INVALID_VALUE", "JPY"},
		{"not simulated model", chargeBody(mid, "X", "Overage Pricing", "Usage", "Month", tier("USD", 1)), "INVALID_VALUE", "does not simulate"},
		{"first tier not at 0", withKV(chargeBody(mid, "X", "Tiered Pricing", "Recurring", "Month",
			tier("USD", 1, "StartingUnit", 1, "EndingUnit", 10), tier("USD", 1, "StartingUnit", 11)), "UOM", "Seat"), "INVALID_VALUE", "start at 0"},
		{"gap between tiers", withKV(chargeBody(mid, "X", "Tiered Pricing", "Recurring", "Month",
			tier("USD", 1, "StartingUnit", 0, "EndingUnit", 10), tier("USD", 1, "StartingUnit", 12)), "UOM", "Seat"), "INVALID_VALUE", "must start at 11"},
		{"capped last tier", withKV(chargeBody(mid, "X", "Volume Pricing", "Recurring", "Month",
			tier("USD", 1, "StartingUnit", 0, "EndingUnit", 10), tier("USD", 1, "StartingUnit", 11, "EndingUnit", 20)), "UOM", "Seat"), "INVALID_VALUE", "last tier"},
		{"currencies with different tiers", withKV(chargeBody(mid, "X", "Volume Pricing", "Recurring", "Month",
			tier("USD", 1, "StartingUnit", 0, "EndingUnit", 10), tier("USD", 1, "StartingUnit", 11),
			tier("EUR", 1, "StartingUnit", 0)), "UOM", "Seat"), "INVALID_VALUE", "same tiers"},
		{"two prices for a flat fee", chargeBody(mid, "X", "Flat Fee Pricing", "Recurring", "Month", tier("USD", 1), tier("USD", 2)), "INVALID_VALUE", "exactly one"},
		{"min above max", withKV(withKV(withKV(chargeBody(mid, "X", "Per Unit Pricing", "Recurring", "Month", tier("USD", 1)),
			"UOM", "Seat"), "MinQuantity", 5), "MaxQuantity", 2), "INVALID_VALUE", "MaxQuantity"},
		{"undefined custom field", withKV(chargeBody(mid, "X", "Flat Fee Pricing", "Recurring", "Month", tier("USD", 1)), "foo__c", "x"), "INVALID_FIELD", "foo__c"},
	}
	for _, tc := range cases {
		r := h.do("POST", "/v1/object/product-rate-plan-charge", tc.body)
		if code := crudErr(t, r); code != tc.code || !strings.Contains(string(r.body), tc.msg) {
			t.Errorf("%s: %s (want %s mentioning %q)", tc.name, r.body, tc.code, tc.msg)
		}
	}

	// Reads of what does not exist: the REST charge read answers 200 with success:false (the only documented
	// status), the CRUD read 404 with no data, the rate-plan list success:false.
	if code := v1Err(t, h.do("GET", "/v1/product-rate-plan-charges/nope", nil), 200); code != 50000040 {
		t.Fatalf("unknown charge code = %d", code)
	}
	r = h.do("GET", "/v1/object/product-rate-plan-charge/nope", nil)
	expectStatus(t, r, 404)
	if m := r.json(t); m["done"] != true || m["size"] != 0.0 {
		t.Fatalf("CRUD not found = %s", r.body)
	}
	v1Err(t, h.do("GET", "/v1/products/nope/product-rate-plans", nil), 200)

	// Nothing was stored by the failures.
	if n := len(h.sim.State().ProductRatePlanCharges); n != 4 {
		t.Fatalf("charges = %d", n)
	}
}

func withKV(m map[string]any, k string, v any) map[string]any { m[k] = v; return m }

// TestCatalogSpecInvalidRequests covers requests the specs themselves forbid, so it runs without the
// conformance middleware (which would report the request): missing or out-of-enum fields and
// rejectUnknownFields, whose 400 the spec does not list.
func TestCatalogSpecInvalidRequests(t *testing.T) {
	h := newHarness(t, Config{Currencies: []string{"USD", "JPY"}})
	h.createUOM("Seat", 0)
	p := h.createProduct("p", "P")
	pl := h.createPlan(p["id"].(string), "Monthly")
	pid := pl["id"].(string)

	noPeriod := chargeBody(pid, "X", "Flat Fee Pricing", "Recurring", "Month", tier("JPY", 100))
	delete(noPeriod, "BillingPeriod")
	if code := crudErr(t, h.do("POST", "/v1/object/product-rate-plan-charge", noPeriod)); code != "MISSING_REQUIRED_VALUE" {
		t.Fatalf("recurring without period: %s", code)
	}
	bogus := chargeBody(pid, "X", "Bogus Pricing", "Recurring", "Month", tier("USD", 1))
	if code := crudErr(t, h.do("POST", "/v1/object/product-rate-plan-charge", bogus)); code != "INVALID_VALUE" {
		t.Fatalf("bogus model: %s", code)
	}
	badPeriod := chargeBody(pid, "X", "Flat Fee Pricing", "Recurring", "Fortnight", tier("USD", 1))
	if code := crudErr(t, h.do("POST", "/v1/object/product-rate-plan-charge", badPeriod)); code != "INVALID_VALUE" {
		t.Fatalf("bad period: %s", code)
	}
	badType := chargeBody(pid, "X", "Flat Fee Pricing", "Recurring", "Month", map[string]any{"Currency": "USD", "Price": "ten"})
	if code := crudErr(t, h.do("POST", "/v1/object/product-rate-plan-charge", badType)); code != "INVALID_VALUE" {
		t.Fatalf("bad type: %s", code)
	}
	// A one-time charge needs no billing period; a configured currency (JPY) is accepted.
	oneTime := chargeBody(pid, "Setup", "Flat Fee Pricing", "OneTime", "Month", tier("JPY", 5000))
	delete(oneTime, "BillingPeriod")
	id := h.createCharge(oneTime)
	pr := h.do("GET", "/v2/prices/"+id, nil).json(t)
	if pr["charge_type"] != "one_time" || pr["recurring"] != nil || pr["amounts"].(map[string]any)["JPY"] != 5000.0 {
		t.Fatalf("one-time price = %v", pr)
	}
	// Unknown fields are ignored by default and refused with rejectUnknownFields=true.
	extra := withKV(chargeBody(pid, "Extra", "Flat Fee Pricing", "Recurring", "Month", tier("USD", 1)), "Nonsense", 1)
	h.createCharge(extra)
	r := h.do("POST", "/v1/object/product-rate-plan-charge?rejectUnknownFields=true", withKV(extra, "Name", "Extra 2"))
	expectStatus(t, r, 400)
	if r.json(t)["message"] != "Error - unrecognised fields" {
		t.Fatalf("rejectUnknownFields: %s", r.body)
	}
	// Quickstart PATCH with a field outside the patch schema.
	qsErr(t, h.do("PATCH", "/v2/plans/"+pid, map[string]any{"product_id": p["id"]}), 400, "bad_request")
}

func TestCatalogIdempotentReplay(t *testing.T) {
	h := newConformingHarness(t, Config{})
	uom1 := h.do("POST", "/v1/object/unit-of-measure", map[string]any{"UomName": "Seat", "DecimalPlaces": 0}, "Idempotency-Key: k-uom")
	uom2 := h.do("POST", "/v1/object/unit-of-measure", map[string]any{"UomName": "Seat", "DecimalPlaces": 0}, "Idempotency-Key: k-uom")
	if string(uom1.body) != string(uom2.body) || uom2.json(t)["Success"] != true {
		t.Fatalf("UOM replay: %s / %s", uom1.body, uom2.body)
	}
	prod := h.createProduct("p", "P")
	p2 := h.do("POST", "/v2/products", map[string]any{"name": "Q", "sku": "q"}, "Idempotency-Key: k-prod")
	p3 := h.do("POST", "/v2/products", map[string]any{"name": "Q", "sku": "q"}, "Idempotency-Key: k-prod")
	expectStatus(t, p3, 201)
	if string(p2.body) != string(p3.body) {
		t.Fatal("product replay differs")
	}
	pl := h.createPlan(prod["id"].(string), "Monthly")
	body := chargeBody(pl["id"].(string), "Seats", "Per Unit Pricing", "Recurring", "Month", tier("USD", 10))
	body["UOM"] = "Seat"
	id1 := h.createCharge(body, "Idempotency-Key: k-charge")
	id2 := h.createCharge(body, "Idempotency-Key: k-charge")
	if id1 != id2 {
		t.Fatalf("replayed charge id %s != %s", id2, id1)
	}
	patch := map[string]any{"unit_amounts": map[string]any{"USD": 11}}
	a := h.do("PATCH", "/v2/prices/"+id1, patch, "Idempotency-Key: k-patch")
	b := h.do("PATCH", "/v2/prices/"+id1, patch, "Idempotency-Key: k-patch")
	if string(a.body) != string(b.body) {
		t.Fatal("price patch replay differs")
	}
	s := h.sim.State()
	if len(s.UnitsOfMeasure) != 1 || len(s.Products) != 2 || len(s.ProductRatePlanCharges) != 1 {
		t.Fatalf("state after replays: %d UOM, %d products, %d charges", len(s.UnitsOfMeasure), len(s.Products), len(s.ProductRatePlanCharges))
	}
	// Without a key, a second identical charge is refused by Zuora's rules (same name in the plan).
	r := h.do("POST", "/v1/object/product-rate-plan-charge", body)
	if code := crudErr(t, r); code != "DUPLICATE_VALUE" {
		t.Fatalf("second create without key: %s", r.body)
	}
}
