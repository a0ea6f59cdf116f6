package zuorasim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"testing"
)

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestCreateAndGetAccount(t *testing.T) {
	h := newHarness(t, Config{})
	a := h.createAccount("cust-1")
	if !hex32.MatchString(a["id"].(string)) || a["account_number"] != "A00000001" {
		t.Fatalf("id/number = %v %v", a["id"], a["account_number"])
	}
	if a["payment_terms"] != "Due Upon Receipt" || a["currency"] != "USD" || a["enabled"] != true {
		t.Fatalf("defaults = %v", a)
	}
	cf := a["custom_fields"].(map[string]any)
	if cf["stiggCustomerId__c"] != "cust-1" {
		t.Fatalf("custom_fields = %v", cf)
	}
	if a["bill_to_id"] == "" || a["bill_to_id"] != a["sold_to_id"] {
		t.Fatalf("without sold_to the bill-to contact is the sold-to contact: %v / %v", a["bill_to_id"], a["sold_to_id"])
	}
	if _, ok := a["bill_to"]; ok {
		t.Fatalf("bill_to returned without expand[]")
	}
	for _, k := range []string{"created_time", "updated_time", "created_by_id", "updated_by_id"} {
		if a[k] == "" || a[k] == nil {
			t.Fatalf("%s missing", k)
		}
	}

	// By id and by number; expand[] returns the contact.
	for _, key := range []string{a["id"].(string), "A00000001"} {
		r := h.do("GET", "/v2/accounts/"+key+"?expand[]=bill_to", nil)
		expectStatus(t, r, 200)
		got := r.json(t)
		if got["id"] != a["id"] {
			t.Fatalf("GET %s returned %v", key, got["id"])
		}
		bt := got["bill_to"].(map[string]any)
		addr := bt["address"].(map[string]any)
		if bt["first_name"] != "Amy" || addr["postal_code"] != "95100" || bt["account_id"] != a["id"] {
			t.Fatalf("bill_to = %v", bt)
		}
	}

	// fields[] trims the response.
	r := h.do("GET", "/v2/accounts/A00000001?fields[]=id,name", nil)
	if m := r.json(t); len(m) != 2 || m["name"] != "Acme cust-1" {
		t.Fatalf("fields[] response = %s", r.body)
	}

	// Second account gets the next number; explicit numbers are honoured.
	b := h.createAccount("cust-2")
	if b["account_number"] != "A00000002" {
		t.Fatalf("second number = %v", b["account_number"])
	}
	body := validAccount("cust-3")
	body["account_number"] = "CUST-3"
	body["payment_terms"] = "net 30"
	body["bill_cycle_day"] = 15
	body["sold_to"] = map[string]any{"first_name": "Sam", "last_name": "Sold"}
	r = h.do("POST", "/v2/accounts", body)
	expectStatus(t, r, 201)
	c := r.json(t)
	if c["account_number"] != "CUST-3" || c["payment_terms"] != "Net 30" || c["bill_cycle_day"] != float64(15) ||
		c["sold_to_id"] == c["bill_to_id"] {
		t.Fatalf("explicit fields = %s", r.body)
	}
	qsErr(t, h.do("POST", "/v2/accounts", body), 400, "bad_request") // duplicate account number
}

func TestAccountValidation(t *testing.T) {
	h := newHarness(t, Config{})
	cases := []struct {
		name   string
		mutate func(map[string]any)
		code   string
		param  string
	}{
		{"missing name", func(b map[string]any) { delete(b, "name") }, "missing_parameter", "name"},
		{"missing currency", func(b map[string]any) { delete(b, "currency") }, "missing_parameter", "currency"},
		{"missing bill_to", func(b map[string]any) { delete(b, "bill_to") }, "missing_parameter", "bill_to"},
		{"short currency", func(b map[string]any) { b["currency"] = "US" }, "invalid_parameter", "currency"},
		{"numeric currency", func(b map[string]any) { b["currency"] = "123" }, "invalid_parameter", "currency"},
		{"currency type", func(b map[string]any) { b["currency"] = 840 }, "invalid_parameter", "currency"},
		{"bill_to first_name", func(b map[string]any) { delete(b["bill_to"].(map[string]any), "first_name") }, "missing_parameter", "bill_to.first_name"},
		{"bill cycle day", func(b map[string]any) { b["bill_cycle_day"] = 32 }, "invalid_parameter", "bill_cycle_day"},
		{"payment term", func(b map[string]any) { b["payment_terms"] = "Net 31" }, "invalid_parameter", "payment_terms"},
		{"unknown field", func(b map[string]any) { b["colour"] = "blue" }, "unknown_parameter", "colour"},
		{"unknown custom field", func(b map[string]any) {
			b["custom_fields"] = map[string]any{"region__c": "EU"}
		}, "unknown_parameter", "custom_fields.region__c"},
		{"custom field type", func(b map[string]any) {
			b["custom_fields"] = map[string]any{"stiggCustomerId__c": 5}
		}, "invalid_parameter", "custom_fields.stiggCustomerId__c"},
		{"email", func(b map[string]any) { b["bill_to"].(map[string]any)["email"] = "nope" }, "invalid_parameter", "bill_to.email"},
		{"auto_pay without method", func(b map[string]any) { b["auto_pay"] = true }, "invalid_parameter", "auto_pay"},
		{"unknown default payment method", func(b map[string]any) { b["default_payment_method_id"] = "pm1" }, "resource_not_found", "default_payment_method_id"},
		{"unknown parent", func(b map[string]any) { b["parent_account_id"] = "A99" }, "resource_not_found", "parent_account_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := validAccount("x")
			c.mutate(body)
			e := qsErr(t, h.do("POST", "/v2/accounts", body), 400, "bad_request")
			if e["code"] != c.code || e["parameter"] != c.param || e["message"] == "" {
				t.Fatalf("error = %v, want code %s parameter %s", e, c.code, c.param)
			}
		})
	}
	if n := len(h.sim.State().Accounts); n != 0 {
		t.Fatalf("invalid bodies created %d accounts", n)
	}

	// A custom field defined later is accepted.
	h.sim.DefineCustomField("Account", "region__c")
	body := validAccount("y")
	body["custom_fields"] = map[string]any{"region__c": "EU"}
	expectStatus(t, h.do("POST", "/v2/accounts", body), 201)
}

func TestPatchAccount(t *testing.T) {
	h := newHarness(t, Config{})
	a := h.createAccount("cust-1")
	id := a["id"].(string)
	h.sim.Advance(60e9)
	r := h.do("PATCH", "/v2/accounts/"+id+"?expand[]=bill_to", map[string]any{
		"name":          "Renamed",
		"payment_terms": "Net 45",
		"custom_fields": map[string]any{"stiggEntityUrl__c": nil, "stiggCustomerId__c": "cust-1b"},
		"bill_to":       map[string]any{"address": map[string]any{"city": "Oakland"}, "work_email": "ap@example.com"},
	})
	expectStatus(t, r, 200)
	p := r.json(t)
	bt := p["bill_to"].(map[string]any)
	addr := bt["address"].(map[string]any)
	cf := p["custom_fields"].(map[string]any)
	if p["name"] != "Renamed" || p["payment_terms"] != "Net 45" || cf["stiggCustomerId__c"] != "cust-1b" ||
		cf["stiggEntityUrl__c"] != nil || addr["city"] != "Oakland" || addr["line1"] != "1 Main St" ||
		bt["work_email"] != "ap@example.com" || bt["first_name"] != "Amy" {
		t.Fatalf("patched account = %s", r.body)
	}
	if p["updated_time"] == a["updated_time"] || p["created_time"] != a["created_time"] {
		t.Fatalf("timestamps: created %v→%v updated %v→%v", a["created_time"], p["created_time"], a["updated_time"], p["updated_time"])
	}

	qsErr(t, h.do("PATCH", "/v2/accounts/"+id, map[string]any{"currency": "EURO"}), 400, "bad_request")
	qsErr(t, h.do("PATCH", "/v2/accounts/"+id, map[string]any{"name": ""}), 400, "bad_request")
	qsErr(t, h.do("PATCH", "/v2/accounts/"+id, map[string]any{"payment_method": map[string]any{}}), 400, "bad_request")
	qsErr(t, h.do("PATCH", "/v2/accounts/nope", map[string]any{"name": "x"}), 404, "not_found")
}

func TestListAccounts(t *testing.T) {
	h := newHarness(t, Config{})
	for _, c := range []string{"cust-1", "cust-2", "cust-3"} {
		h.createAccount(c)
	}
	list := func(query string) (int, []map[string]any, any) {
		t.Helper()
		r := h.do("GET", "/v2/accounts?"+query, nil)
		if r.status != 200 {
			return r.status, nil, nil
		}
		var resp struct {
			NextPage any              `json:"next_page"`
			Data     []map[string]any `json:"data"`
		}
		if err := json.Unmarshal(r.body, &resp); err != nil {
			t.Fatal(err)
		}
		return 200, resp.Data, resp.NextPage
	}
	f := func(s string) string { return "filter[]=" + url.QueryEscape(s) }

	if _, data, next := list(""); len(data) != 3 || next != nil {
		t.Fatalf("list all: %d items, next %v", len(data), next)
	}
	if _, data, _ := list(f("stiggCustomerId__c.EQ:cust-2")); len(data) != 1 || data[0]["account_number"] != "A00000002" {
		t.Fatalf("custom field filter = %v", data)
	}
	if _, data, _ := list(f("custom_fields.stiggCustomerId__c.EQ:cust-3")); len(data) != 1 {
		t.Fatalf("custom_fields.<name> filter = %v", data)
	}
	if _, data, _ := list(f("account_number.EQ:A00000001")); len(data) != 1 || data[0]["name"] != "Acme cust-1" {
		t.Fatalf("account_number filter = %v", data)
	}
	if _, data, _ := list(f("name.IN:[Acme cust-1,Acme cust-3]") + "&" + f("currency.EQ:USD")); len(data) != 2 {
		t.Fatalf("IN filter = %v", data)
	}
	if _, data, _ := list(f("stiggCustomerId__c.EQ:nobody")); data == nil || len(data) != 0 {
		t.Fatalf("no match must be an empty list, got %v", data)
	}

	// Pagination.
	_, p1, next := list("page_size=2")
	if len(p1) != 2 || next == nil {
		t.Fatalf("page 1: %d, next %v", len(p1), next)
	}
	_, p2, next2 := list("page_size=2&cursor=" + url.QueryEscape(next.(string)))
	if len(p2) != 1 || next2 != nil || p2[0]["id"] == p1[0]["id"] {
		t.Fatalf("page 2: %v next %v", p2, next2)
	}

	for _, q := range []string{"page_size=0", "page_size=100", "page_size=x", "cursor=bogus", f("name.XX:a"), f("nonsense"), f("colour.EQ:blue")} {
		r := h.do("GET", "/v2/accounts?"+q, nil)
		qsErr(t, r, http.StatusBadRequest, "bad_request")
	}
}

func TestV1GetAccount(t *testing.T) {
	h := newHarness(t, Config{})
	body := validAccount("cust-1")
	body["bill_to"].(map[string]any)["other_phone_type"] = "mobile"
	delete(body["custom_fields"].(map[string]any), "stiggEntityUrl__c")
	r := h.do("POST", "/v2/accounts", body)
	expectStatus(t, r, 201)
	id := r.json(t)["id"].(string)

	for _, key := range []string{"A00000001", id} {
		r := h.do("GET", "/v1/accounts/"+key, nil)
		expectStatus(t, r, 200)
		var v struct {
			Success           bool
			BasicInfo         map[string]any
			BillingAndPayment struct {
				Currency, PaymentTerm string
				BillCycleDay          int
			}
			BillToContact map[string]any
			SoldToContact map[string]any
			Metrics       map[string]any
		}
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatal(err)
		}
		bi := v.BasicInfo
		if !v.Success || bi["id"] != id || bi["accountNumber"] != "A00000001" || bi["name"] != "Acme cust-1" ||
			bi["status"] != "Active" || bi["stiggCustomerId__c"] != "cust-1" {
			t.Fatalf("basicInfo = %v", bi)
		}
		if val, ok := bi["stiggEntityUrl__c"]; !ok || val != nil {
			t.Fatalf("unset custom field must be null, got %v (present %v)", val, ok)
		}
		if v.BillingAndPayment.Currency != "USD" || v.BillingAndPayment.PaymentTerm != "Due Upon Receipt" {
			t.Fatalf("billingAndPayment = %+v", v.BillingAndPayment)
		}
		bt := v.BillToContact
		if bt["firstName"] != "Amy" || bt["zipCode"] != "95100" || bt["address1"] != "1 Main St" ||
			bt["personalEmail"] != "amy@example.com" || bt["otherPhoneType"] != "Mobile" {
			t.Fatalf("billToContact = %v", bt)
		}
		if v.SoldToContact["id"] != bt["id"] {
			t.Fatalf("soldToContact = %v", v.SoldToContact)
		}
		if v.Metrics["balance"] != "0.00" {
			t.Fatalf("metrics = %v", v.Metrics)
		}
		if r.header.Get("Concurrency-Limit-Type") == "" {
			t.Fatal("no concurrency headers on /v1")
		}
	}
}

func TestPaymentTerms(t *testing.T) {
	h := newHarness(t, Config{})
	for _, path := range []string{"/v1/settings/payment-terms", "/settings/payment-terms"} {
		r := h.do("GET", path, nil)
		expectStatus(t, r, 200)
		var terms []PaymentTerm
		if err := json.Unmarshal(r.body, &terms); err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		defaults := 0
		for _, term := range terms {
			got[term.Name] = term.DueDays
			if !term.Active || !hex32.MatchString(term.ID) {
				t.Fatalf("term = %+v", term)
			}
			if term.UseDefault {
				defaults++
			}
		}
		want := map[string]int{"Due Upon Receipt": 0, "Net 15": 15, "Net 30": 30, "Net 45": 45, "Net 60": 60, "Net 90": 90}
		if len(got) != len(want) || defaults != 1 {
			t.Fatalf("terms = %v", terms)
		}
		for k, v := range want {
			if d, ok := got[k]; !ok || d != v {
				t.Fatalf("term %s = %d (present %v)", k, d, ok)
			}
		}
	}
	h.sim.AddPaymentTerm("Net 7", 7)
	body := validAccount("c")
	body["payment_terms"] = "Net 7"
	expectStatus(t, h.do("POST", "/v2/accounts", body), 201)
}

func TestStateShape(t *testing.T) {
	h := newHarness(t, Config{})
	h.createAccount("cust-1")
	var st map[string]json.RawMessage
	getJSON(t, h.srv.URL+"/_sim/state", &st)
	want := []string{"accounts", "products", "plans", "prices", "productRatePlanCharges", "unitsOfMeasure",
		"subscriptions", "orders", "invoices", "payments", "paymentMethods", "usageRecords", "eventTriggers",
		"calloutTemplates", "notificationDefinitions", "customObjectDefinitions", "calloutHistory"}
	var keys []string
	for k := range st {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Fatalf("state keys = %v", keys)
	}
	for k, v := range st {
		var list []map[string]any
		if err := json.Unmarshal(v, &list); err != nil || list == nil {
			t.Fatalf("%s is not a list: %s", k, v)
		}
		if k == "accounts" {
			if len(list) != 1 {
				t.Fatalf("accounts = %s", v)
			}
			a := list[0]
			cf, _ := a["custom_fields"].(map[string]any)
			bt, _ := a["bill_to"].(map[string]any)
			if a["account_number"] != "A00000001" || cf["stiggCustomerId__c"] != "cust-1" || bt["last_name"] != "Lawrence" {
				t.Fatalf("state account = %v", a)
			}
		} else if len(list) != 0 {
			t.Fatalf("%s should be empty: %s", k, v)
		}
	}
}
