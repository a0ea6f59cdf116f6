package zuorasim

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParseFilter: any filter[] value either parses into a well-formed clause or is rejected; matching never
// panics.
func FuzzParseFilter(f *testing.F) {
	for _, seed := range []string{
		"stiggCustomerId__c.EQ:cust-1", "account_number.EQ:A00000001", "name.IN:[Amy,Bella]", "name.IN:[]",
		"updated_time.GT:2020-03-10T07:12:12-07:00", "quantity.LT:200", "a.b.c.SW:x:y", "items[account_id].EQ:1",
		"", ":", ".EQ:", "name.EQ:", "name.IN:[a", "nameEQ:x", "name.eq:x", "na me.EQ:x", "name.NE:\x00",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		fc, err := parseFilter(raw)
		if err != nil {
			return
		}
		if fc.Field == "" || !filterOps[fc.Op] || len(fc.Values) == 0 {
			t.Fatalf("parseFilter(%q) = %+v", raw, fc)
		}
		if fc.Op != "IN" && fc.Values[0] == "" {
			t.Fatalf("parseFilter(%q): empty value accepted", raw)
		}
		if !strings.HasPrefix(raw, fc.Field+"."+fc.Op+":") {
			t.Fatalf("parseFilter(%q) = %+v does not round-trip", raw, fc)
		}
		_, _ = matches([]filterClause{fc}, func(string) (string, bool) { return "value", true })
	})
}

// FuzzAccountBody: arbitrary create bodies are either rejected with a 400-class error or produce an account
// whose required fields are set; validation never panics.
func FuzzAccountBody(f *testing.F) {
	for _, seed := range []string{
		`{"name":"Amy","currency":"USD","bill_to":{"first_name":"Amy","last_name":"L"}}`,
		`{"name":"Amy","currency":"usd","bill_to":{"first_name":"Amy","last_name":"L"},"custom_fields":{"stiggCustomerId__c":"c1"}}`,
		`{"name":"","currency":"USD","bill_to":{}}`,
		`{"name":"A","currency":"USD","bill_to":{"first_name":"a","last_name":"b","address":{"line1":1}}}`,
		`{"name":"A","currency":"USD","bill_cycle_day":1.5,"bill_to":{"first_name":"a","last_name":"b"}}`,
		`{"custom_fields":{"x":null}}`, `[]`, `null`, `{"name":"A"} {}`, `{"sold_to":null,"payment_terms":"net 30"}`,
	} {
		f.Add([]byte(seed))
	}
	s := New(Config{})
	f.Fuzz(func(t *testing.T, body []byte) {
		var in accountInput
		if e := decodeJSON(body, &in); e != nil {
			if e.status != 400 {
				t.Fatalf("decode error status %d", e.status)
			}
			return
		}
		st := s.store
		st.mu.Lock()
		defer st.mu.Unlock()
		if e := st.validateAccountInput(&in, nil); e != nil {
			if e.status != 400 || e.message == "" {
				t.Fatalf("validation error %+v", e)
			}
			return
		}
		a := st.createAccount(&in, "2024-01-01T00:00:00Z")
		if a.Name == "" || len(a.Currency) != 3 || st.contacts[a.BillToID] == nil || a.AccountNumber == "" {
			t.Fatalf("created account = %+v", a)
		}
	})
}

// FuzzChargeBody: arbitrary CRUD charge bodies are rejected with a 400-class error (HTTP 200 on the CRUD surface)
// or produce a charge that satisfies the catalog rules and renders in every view; nothing panics.
func FuzzChargeBody(f *testing.F) {
	s := New(Config{})
	st := s.store
	st.mu.Lock()
	st.cat.uomsByName["Seat"] = &UnitOfMeasure{ID: newID(), UomName: "Seat", Active: true}
	prod := st.createProduct(&productInput{Name: new("P")}, "2024-01-01T00:00:00Z", "2024-01-01")
	pl := st.createPlan(&planInput{ProductID: &prod.ID, Name: new("M")}, "2024-01-01T00:00:00Z", "2024-01-01")
	st.mu.Unlock()
	for _, seed := range []string{
		`{"ProductRatePlanId":"PLAN","Name":"A","ChargeModel":"Flat Fee Pricing","ChargeType":"Recurring","BillingPeriod":"Month","ProductRatePlanChargeTierData":{"ProductRatePlanChargeTier":[{"Currency":"USD","Price":1}]}}`,
		`{"ProductRatePlanId":"PLAN","Name":"B","ChargeModel":"Tiered Pricing","ChargeType":"Usage","UOM":"Seat","ProductRatePlanChargeTierData":{"ProductRatePlanChargeTier":[{"Currency":"USD","Price":1,"StartingUnit":0,"EndingUnit":10},{"Currency":"USD","Price":0.5,"StartingUnit":11}]}}`,
		`{"ProductRatePlanId":"PLAN","Name":"C","ChargeModel":"Per Unit Pricing","ChargeType":"Recurring","BillingPeriod":"Specific Months","UOM":"Seat","MinQuantity":-1,"ProductRatePlanChargeTierData":{"ProductRatePlanChargeTier":[]}}`,
		`{"x__c":1}`, `[]`, `null`, `{"ProductRatePlanChargeTierData":{"ProductRatePlanChargeTier":[{"Tier":-5}]}}`,
	} {
		f.Add([]byte(strings.ReplaceAll(seed, "PLAN", pl.ID)))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		st.mu.Lock()
		defer st.mu.Unlock()
		in, custom, e, rerr := st.decodeChargeInput(body, false)
		if rerr != nil {
			t.Fatalf("unknown fields refused without rejectUnknownFields: %v", rerr)
		}
		if e == nil {
			var c *Charge
			if c, e = st.newChargeFromInput(in, custom); e == nil {
				if e = st.validateCharge(c); e == nil {
					c.ID = newID()
					_ = st.priceView(c)
					_ = st.v1ChargeView(c)
					_ = st.v1ListChargeView(c)
					return
				}
			}
		}
		if e.status != 400 || e.v1Status != 200 || e.message == "" {
			t.Fatalf("error %+v", e)
		}
	})
}

// FuzzPriceTiers: Quickstart tiers either convert into charge tiers that pass the tier rules or are refused.
func FuzzPriceTiers(f *testing.F) {
	f.Add([]byte(`[{"up_to":10,"unit_amounts":{"USD":1}},{"amounts":{"USD":5}}]`))
	f.Add([]byte(`[{"up_to":10,"unit_amounts":{"USD":1}},{"up_to":5,"unit_amounts":{"USD":1,"EUR":2}}]`))
	f.Add([]byte(`[{}]`))
	s := New(Config{})
	f.Fuzz(func(t *testing.T, body []byte) {
		var in []tierInput
		if json.Unmarshal(body, &in) != nil {
			return
		}
		tiers, e := tiersFromInput(in, 1)
		if e != nil {
			return
		}
		c := &Charge{ChargeModel: modelTiered, Tiers: tiers}
		s.store.mu.RLock()
		defer s.store.mu.RUnlock()
		if e := s.store.validateTiers(c, 1); e != nil && e.status != 400 {
			t.Fatalf("validateTiers error %+v", e)
		}
	})
}
