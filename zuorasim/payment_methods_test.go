package zuorasim

import (
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// testCardNumber is a card number the tests try to smuggle in; no answer or stored object may contain it.
const testCardNumber = "4242424242424242"

var last4Pattern = regexp.MustCompile(`^[0-9]{4}$`)

// ccRefBody is a cc_ref create body for a Stripe customer and its payment method, with the card's display data.
func ccRefBody(accountID string, isDefault bool) map[string]any {
	b := map[string]any{
		"type": "cc_ref",
		"cc_ref": map[string]any{"token": "cus_Q1w2e3", "second_token": "pm_1PqR2s",
			"card": map[string]any{"brand": "visa", "expiry_month": 12, "expiry_year": 2099}},
		"billing_details": map[string]any{"name": "Amy Lawrence", "email": "amy@example.com",
			"address": map[string]any{"line1": "1 Main St", "city": "San Jose", "postal_code": "95100", "country": "USA"}},
	}
	if accountID != "" {
		b["account_id"] = accountID
	}
	if isDefault {
		b["is_default"] = true
	}
	return b
}

func (h *harness) createCcRef(accountID string, isDefault bool) map[string]any {
	h.t.Helper()
	r := h.do("POST", "/v2/payment_methods", ccRefBody(accountID, isDefault))
	expectStatus(h.t, r, 201)
	return r.json(h.t)
}

// bypass is a harness on the same simulator without the conformance middleware, for bodies the spec itself
// rejects (the simulator must refuse them too).
func (h *harness) bypass(t *testing.T) *harness {
	t.Helper()
	srv := httptest.NewServer(h.sim.Handler())
	t.Cleanup(srv.Close)
	return &harness{t: t, sim: h.sim, srv: srv, token: h.token}
}

func TestCreateAndGetPaymentMethod(t *testing.T) {
	h := newConformingHarness(t, Config{})
	acct := h.createAccount("cust-1")
	pm := h.createCcRef(acct["id"].(string), true)
	id, _ := pm["id"].(string)
	if !hex32.MatchString(id) || pm["type"] != "cc_ref" || pm["account_id"] != acct["id"] || pm["state"] != "active" {
		t.Fatalf("created %v", pm)
	}
	cc := pm["cc_ref"].(map[string]any)
	card := cc["card"].(map[string]any)
	if cc["token"] != "cus_Q1w2e3" || cc["second_token"] != "pm_1PqR2s" || card["brand"] != "visa" ||
		card["expiry_month"] != 12.0 || card["expiry_year"] != 2099.0 || !last4Pattern.MatchString(card["last_4"].(string)) {
		t.Fatalf("cc_ref %v", cc)
	}
	if pm["use_default_retry_rule"] != true || pm["custom_fields"] == nil || pm["created_time"] == "" {
		t.Fatalf("defaults %v", pm)
	}
	// is_default made it the account's default.
	a := h.do("GET", "/v2/accounts/"+acct["id"].(string), nil).json(t)
	if a["default_payment_method_id"] != id {
		t.Fatalf("account default = %v, want %s", a["default_payment_method_id"], id)
	}
	// The read is the same object; fields[] trims it.
	r := h.do("GET", "/v2/payment_methods/"+id, nil)
	expectStatus(t, r, 200)
	if got := r.json(t); got["id"] != id || got["cc_ref"].(map[string]any)["card"].(map[string]any)["last_4"] != card["last_4"] {
		t.Fatalf("GET = %s", r.body)
	}
	if got := h.do("GET", "/v2/payment_methods/"+id+"?fields[]=id,state", nil).json(t); len(got) != 2 || got["state"] != "active" {
		t.Fatalf("fields[] = %v", got)
	}
	if e := qsErr(t, h.do("GET", "/v2/payment_methods/nope", nil), 404, "not_found"); e["code"] != "not_found" {
		t.Fatalf("unknown id: %v", e)
	}
	// The same token gives the same last 4 digits (the simulated gateway is stable); an orphan has no account.
	orphan := h.createCcRef("", false)
	if orphan["account_id"] != nil || orphan["cc_ref"].(map[string]any)["card"].(map[string]any)["last_4"] != card["last_4"] {
		t.Fatalf("orphan %v", orphan)
	}
	st := h.sim.State()
	if len(st.PaymentMethods) != 2 || st.PaymentMethods[0].ID != id || st.PaymentMethods[0].CcRef.SecondToken != "pm_1PqR2s" {
		t.Fatalf("state payment methods = %+v", st.PaymentMethods)
	}
}

func TestCreatePaymentMethodIdempotency(t *testing.T) {
	h := newConformingHarness(t, Config{})
	acct := h.createAccount("cust-1")
	body := ccRefBody(acct["id"].(string), false)
	first := h.do("POST", "/v2/payment_methods", body, "Idempotency-Key: pm-key-1")
	second := h.do("POST", "/v2/payment_methods", body, "Idempotency-Key: pm-key-1")
	expectStatus(t, first, 201)
	expectStatus(t, second, 201)
	if first.json(t)["id"] != second.json(t)["id"] || len(h.sim.PaymentMethods()) != 1 {
		t.Fatalf("a replayed create made a second payment method: %s / %s", first.body, second.body)
	}
	expectStatus(t, h.do("POST", "/v2/payment_methods", body, "Idempotency-Key: pm-key-2"), 201)
	if n := len(h.sim.PaymentMethods()); n != 2 {
		t.Fatalf("%d payment methods, want 2", n)
	}
}

// No answer carries card data back, and nothing is stored: the refusals name the field only.
func TestPaymentMethodRefusesRawCardData(t *testing.T) {
	h := newConformingHarness(t, Config{})
	raw := h.bypass(t) // the spec forbids card_number inside cc_ref.card, so the checker would refuse first
	acct := h.createAccount("cust-1")
	cardBody := map[string]any{"type": "card", "account_id": acct["id"],
		"card": map[string]any{"card_number": testCardNumber, "brand": "visa", "expiry_month": 12, "expiry_year": 2030}}
	inCcRef := ccRefBody(acct["id"].(string), false)
	inCcRef["cc_ref"].(map[string]any)["card"].(map[string]any)["card_number"] = testCardNumber
	withCard := ccRefBody(acct["id"].(string), false)
	withCard["card"] = map[string]any{"card_number": testCardNumber, "brand": "visa", "expiry_month": 12, "expiry_year": 2030}
	cvc := ccRefBody(acct["id"].(string), false)
	cvc["cc_ref"].(map[string]any)["card"].(map[string]any)["security_code"] = "123"
	for _, tc := range []struct {
		name  string
		h     *harness
		body  map[string]any
		param string
	}{
		{"type card", h, cardBody, "card"},
		{"cc_ref with a card hash", h, withCard, "card"},
		{"card_number in cc_ref.card", raw, inCcRef, "cc_ref.card.card_number"},
		{"security_code in cc_ref.card", raw, cvc, "cc_ref.card.security_code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.h.do("POST", "/v2/payment_methods", tc.body)
			e := qsErr(t, r, 400, "bad_request")
			if e["parameter"] != tc.param || e["code"] != "invalid_parameter" {
				t.Fatalf("error %v, want parameter %s", e, tc.param)
			}
			if strings.Contains(string(r.body), testCardNumber) || strings.Contains(string(r.body), "123\"") {
				t.Fatalf("the answer echoes card data: %s", r.body)
			}
		})
	}
	if n := len(h.sim.PaymentMethods()); n != 0 {
		t.Fatalf("%d payment methods stored from refused bodies", n)
	}
	// A PATCH with card data is refused the same way.
	pm := h.createCcRef(acct["id"].(string), false)
	r := raw.do("PATCH", "/v2/payment_methods/"+pm["id"].(string), map[string]any{"card": map[string]any{"security_code": "123"}})
	if e := qsErr(t, r, 400, "bad_request"); e["parameter"] != "card" {
		t.Fatalf("patch card: %v", e)
	}
}

func TestCreatePaymentMethodValidation(t *testing.T) {
	h := newConformingHarness(t, Config{})
	raw := h.bypass(t)
	acct := h.createAccount("cust-1")
	aid := acct["id"].(string)
	with := func(mut func(b map[string]any)) map[string]any {
		b := ccRefBody(aid, false)
		mut(b)
		return b
	}
	ccRef := func(b map[string]any) map[string]any { return b["cc_ref"].(map[string]any) }
	for _, tc := range []struct {
		name        string
		h           *harness
		body        map[string]any
		code, param string
	}{
		{"no type", raw, with(func(b map[string]any) { delete(b, "type") }), "missing_parameter", "type"},
		{"other type", h, with(func(b map[string]any) { b["type"] = "sepa_debit" }), "invalid_parameter", "type"},
		{"no cc_ref", h, with(func(b map[string]any) { delete(b, "cc_ref") }), "missing_parameter", "cc_ref"},
		{"no token", raw, with(func(b map[string]any) { delete(ccRef(b), "token") }), "missing_parameter", "cc_ref.token"},
		{"customer token alone", h, with(func(b map[string]any) { delete(ccRef(b), "second_token") }), "missing_parameter", "cc_ref.second_token"},
		{"bad brand", raw, with(func(b map[string]any) { ccRef(b)["card"].(map[string]any)["brand"] = "amex" }), "invalid_parameter", "cc_ref.card.brand"},
		{"month 13", h, with(func(b map[string]any) { ccRef(b)["card"].(map[string]any)["expiry_month"] = 13 }), "invalid_parameter", "cc_ref.card.expiry_month"},
		{"three-digit year", h, with(func(b map[string]any) { ccRef(b)["card"].(map[string]any)["expiry_year"] = 203 }), "invalid_parameter", "cc_ref.card.expiry_year"},
		{"unknown account", h, with(func(b map[string]any) { b["account_id"] = "nope" }), "resource_not_found", "account_id"},
		{"unknown account number", h, with(func(b map[string]any) { b["account_number"] = "A-OTHER" }), "resource_not_found", "account_number"},
		{"default without account", h, with(func(b map[string]any) { delete(b, "account_id"); b["is_default"] = true }), "invalid_parameter", "is_default"},
		{"another type's hash", raw, with(func(b map[string]any) { b["ach_debit"] = map[string]any{"bank_aba_code": "1"} }), "invalid_parameter", "ach_debit"},
		{"undefined custom field", h, with(func(b map[string]any) { b["custom_fields"] = map[string]any{"x__c": "1"} }), "unknown_parameter", "custom_fields.x__c"},
		{"bad email", h, with(func(b map[string]any) { b["billing_details"].(map[string]any)["email"] = "nope" }), "invalid_parameter", "billing_details.email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := qsErr(t, tc.h.do("POST", "/v2/payment_methods", tc.body), 400, "bad_request")
			if e["code"] != tc.code || e["parameter"] != tc.param {
				t.Fatalf("error %v, want %s on %s", e, tc.code, tc.param)
			}
		})
	}
	if n := len(h.sim.PaymentMethods()); n != 0 {
		t.Fatalf("%d payment methods stored from refused bodies", n)
	}
	if a := h.do("GET", "/v2/accounts/"+aid, nil).json(t); a["default_payment_method_id"] != nil {
		t.Fatalf("a refused create changed the account: %v", a)
	}
}

func TestPatchPaymentMethod(t *testing.T) {
	h := newConformingHarness(t, Config{})
	a1, a2 := h.createAccount("cust-1"), h.createAccount("cust-2")
	id1, id2 := a1["id"].(string), a2["id"].(string)
	def := h.createCcRef(id1, true)["id"].(string)
	spare := h.createCcRef(id1, false)["id"].(string)

	r := h.do("PATCH", "/v2/payment_methods/"+spare, map[string]any{
		"cc_ref":          map[string]any{"second_token": "pm_new", "mandate": map[string]any{"id": "m-1", "reason": "renewal"}},
		"billing_details": map[string]any{"phone": "555-0100", "address": map[string]any{"line2": "Suite 2"}},
	})
	expectStatus(t, r, 200)
	got := r.json(t)
	cc := got["cc_ref"].(map[string]any)
	bd := got["billing_details"].(map[string]any)
	if cc["second_token"] != "pm_new" || cc["token"] != "cus_Q1w2e3" || cc["mandate"].(map[string]any)["id"] != "m-1" ||
		bd["phone"] != "555-0100" || bd["name"] != "Amy Lawrence" || bd["address"].(map[string]any)["line1"] != "1 Main St" ||
		bd["address"].(map[string]any)["line2"] != "Suite 2" {
		t.Fatalf("patched %s", r.body)
	}
	if got["updated_time"] == "" || cc["card"].(map[string]any)["brand"] != "visa" {
		t.Fatalf("patch lost data: %s", r.body)
	}

	// Move the spare to the second account (by number), then make it that account's default.
	r = h.do("PATCH", "/v2/payment_methods/"+spare, map[string]any{"account_number": a2["account_number"]})
	expectStatus(t, r, 200)
	if r.json(t)["account_id"] != id2 {
		t.Fatalf("moved %s", r.body)
	}
	expectStatus(t, h.do("PATCH", "/v2/accounts/"+id2, map[string]any{"default_payment_method_id": spare}), 200)
	// The first account's default cannot move, nor be made another account's default.
	if e := qsErr(t, h.do("PATCH", "/v2/payment_methods/"+def, map[string]any{"account_id": id2}), 400, "bad_request"); e["parameter"] != "account_id" {
		t.Fatalf("moving the default: %v", e)
	}
	if e := qsErr(t, h.do("PATCH", "/v2/accounts/"+id2, map[string]any{"default_payment_method_id": def}), 400, "bad_request"); e["parameter"] != "default_payment_method_id" {
		t.Fatalf("another account's payment method as default: %v", e)
	}
	if e := qsErr(t, h.do("PATCH", "/v2/accounts/"+id2, map[string]any{"default_payment_method_id": "nope"}), 400, "bad_request"); e["code"] != "resource_not_found" {
		t.Fatalf("unknown default: %v", e)
	}
	// A new account cannot start with a default: it owns no payment method yet.
	body := validAccount("cust-3")
	body["default_payment_method_id"] = spare
	if e := qsErr(t, h.do("POST", "/v2/accounts", body), 400, "bad_request"); e["parameter"] != "default_payment_method_id" {
		t.Fatalf("create with a default: %v", e)
	}
	if e := qsErr(t, h.do("PATCH", "/v2/payment_methods/"+spare, map[string]any{"account_id": "nope"}), 400, "bad_request"); e["code"] != "resource_not_found" {
		t.Fatalf("move to an unknown account: %v", e)
	}
	if e := qsErr(t, h.do("PATCH", "/v2/payment_methods/"+spare, map[string]any{"currency": "XXX"}), 400, "bad_request"); e["parameter"] != "currency" {
		t.Fatalf("unknown currency: %v", e)
	}
	qsErr(t, h.do("PATCH", "/v2/payment_methods/nope", map[string]any{"device_session_id": "d"}), 404, "not_found")
	// Retry rule.
	r = h.do("PATCH", "/v2/payment_methods/"+spare, map[string]any{"maximum_payment_attempts": 3, "payment_retry_interval": 24})
	expectStatus(t, r, 200)
	if got := r.json(t); got["maximum_payment_attempts"] != 3.0 || got["use_default_retry_rule"] != false {
		t.Fatalf("retry rule %s", r.body)
	}
}

func TestListPaymentMethods(t *testing.T) {
	h := newConformingHarness(t, Config{})
	a1, a2 := h.createAccount("cust-1"), h.createAccount("cust-2")
	h.createCcRef(a1["id"].(string), false)
	h.createCcRef(a1["id"].(string), false)
	mine := h.createCcRef(a2["id"].(string), false)["id"].(string)
	var list struct {
		Data []map[string]any `json:"data"`
	}
	getJSONAuth(t, h, "/v2/payment_methods?filter[]=account_id.EQ:"+a2["id"].(string), &list)
	if len(list.Data) != 1 || list.Data[0]["id"] != mine {
		t.Fatalf("filtered list = %v", list.Data)
	}
	getJSONAuth(t, h, "/v2/payment_methods?page_size=2", &list)
	if len(list.Data) != 2 {
		t.Fatalf("page = %v", list.Data)
	}
}

// getJSONAuth GETs an API path with the harness token and decodes the 200 answer.
func getJSONAuth(t *testing.T, h *harness, path string, v any) {
	t.Helper()
	r := h.do("GET", path, nil)
	expectStatus(t, r, 200)
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
