package zuorasim

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// invoicedFixture is the order fixture with its first invoice posted: INV00000001, firstInvoice open.
func invoicedFixture(t *testing.T) (*orderFixture, map[string]any) {
	t.Helper()
	f := newOrderFixture(t)
	if _, err := f.client(t).CreateOrder(ctxFor("evt-create"), "create", f.createRequest(true)); err != nil {
		t.Fatal(err)
	}
	inv := v1OK(t, f.h.do("GET", "/v1/invoices/INV00000001", nil))
	return f, inv
}

// v1OK asserts HTTP 200 with success:true and returns the body.
func v1OK(t *testing.T, r result) map[string]any {
	t.Helper()
	expectStatus(t, r, http.StatusOK)
	m := r.json(t)
	if m["success"] != true {
		t.Fatalf("success = %v: %s", m["success"], r.body)
	}
	return m
}

func (f *orderFixture) payment(kind string, amount float64, invoices ...map[string]any) map[string]any {
	b := map[string]any{"accountId": f.account["id"], "amount": amount, "currency": "USD", "type": kind}
	if len(invoices) > 0 {
		list := make([]any, len(invoices))
		for i, inv := range invoices {
			list[i] = inv
		}
		b["invoices"] = list
	}
	return b
}

func applyTo(inv map[string]any, amount float64) map[string]any {
	return map[string]any{"invoiceId": inv["id"], "amount": amount}
}

func TestGetInvoiceV1(t *testing.T) {
	f, inv := invoicedFixture(t)
	if inv["invoiceNumber"] != "INV00000001" || inv["balance"] != firstInvoice || inv["status"] != "Posted" ||
		inv["accountId"] != f.account["id"] {
		t.Fatalf("invoice %v", inv)
	}
	if _, ok := inv["invoiceItems"]; ok {
		t.Fatalf("the invoice read carries its items: %v", inv)
	}
	if byID := v1OK(t, f.h.do("GET", "/v1/invoices/"+inv["id"].(string), nil)); byID["invoiceNumber"] != "INV00000001" {
		t.Fatalf("by id: %v", byID)
	}
	if code := v1Err(t, f.h.do("GET", "/v1/invoices/INV-NOPE", nil), 404); code != 50000040 {
		t.Fatalf("unknown invoice: code %d", code)
	}
}

// An External payment applied in two steps: balances go down, the remainder stays unapplied on the account, the
// settled invoice records invoice.paid, and the invoice lists both payments as application parts.
func TestExternalPayment(t *testing.T) {
	f, inv := invoicedFixture(t)
	body := f.payment("External", 100, applyTo(inv, 100))
	body["comment"], body["referenceId"], body["effectiveDate"] = "wire 77", "stigg-pay-1", addTerm(f.today(), -2, "Day")
	p := v1OK(t, f.h.do("POST", "/v1/payments", body))
	if p["type"] != "External" || p["status"] != "Processed" || p["gatewayState"] != "NotSubmitted" ||
		p["amount"] != 100.0 || p["appliedAmount"] != 100.0 || p["unappliedAmount"] != 0.0 || p["number"] != "P-00000001" ||
		p["comment"] != "wire 77" || p["referenceId"] != "stigg-pay-1" || p["accountNumber"] != f.acctNum ||
		p["effectiveDate"] != addTerm(f.today(), -2, "Day")+"T00:00:00Z" {
		t.Fatalf("payment %v", p)
	}
	if _, ok := p["paymentMethodId"]; ok {
		t.Fatalf("an External payment without a payment method names one: %v", p)
	}
	if got := v1OK(t, f.h.do("GET", "/v1/invoices/INV00000001", nil)); got["balance"] != firstInvoice-100 || got["paymentAmount"] != 100.0 {
		t.Fatalf("invoice after 100: %v", got)
	}
	// The rest, plus 10 more than is owed.
	rest := firstInvoice - 100
	p2 := v1OK(t, f.h.do("POST", "/v1/payments", f.payment("External", rest+10, applyTo(inv, rest))))
	if p2["appliedAmount"] != rest || p2["unappliedAmount"] != 10.0 {
		t.Fatalf("second payment %v", p2)
	}
	if got := v1OK(t, f.h.do("GET", "/v1/invoices/INV00000001", nil)); got["balance"] != 0.0 || got["status"] != "Posted" {
		t.Fatalf("settled invoice %v", got)
	}
	a := f.h.do("GET", "/v2/accounts/"+f.acctNum, nil).json(t)
	if a["remaining_invoice_balance"] != 0.0 || a["remaining_payment_balance"] != 10.0 {
		t.Fatalf("account balances %v", a)
	}
	paid := 0
	for _, n := range f.h.sim.Notifications() {
		if n.Event == "invoice.paid" && n.Params["InvoiceNumber"] == "INV00000001" && n.Params["PaymentNumber"] == "P-00000002" {
			paid++
		}
	}
	if paid != 1 {
		t.Fatalf("%d invoice.paid notifications for the settling payment, want 1", paid)
	}
	parts := v1OK(t, f.h.do("GET", "/v1/invoices/INV00000001/application-parts", nil))["applicationParts"].([]any)
	if len(parts) != 2 || parts[0].(map[string]any)["paymentId"] != p["id"] || parts[0].(map[string]any)["appliedAmount"] != 100.0 ||
		parts[1].(map[string]any)["paymentId"] != p2["id"] {
		t.Fatalf("application parts %v", parts)
	}
	// Paying a settled invoice is refused.
	r := f.h.do("POST", "/v1/payments", f.payment("External", 1, applyTo(inv, 1)))
	if code := v1Err(t, r, 200); code%100 != catRule {
		t.Fatalf("paying a settled invoice: code %d", code)
	}
	if st := f.h.sim.State(); len(st.Payments) != 2 || st.Payments[0].Type != "External" || st.Payments[1].UnappliedAmount != 10 {
		t.Fatalf("state payments %+v", st.Payments)
	}
}

// An Electronic payment needs a usable payment method: the given one, else the account's default.
func TestElectronicPayment(t *testing.T) {
	f, inv := invoicedFixture(t)
	aid := f.account["id"].(string)
	pay := func(body map[string]any) result { return f.h.do("POST", "/v1/payments", body) }
	if code := v1Err(t, pay(f.payment("Electronic", 50, applyTo(inv, 50))), 200); code%100 != catRule {
		t.Fatalf("no default payment method: code %d", code)
	}
	other := f.h.createAccount("cust-2")
	foreign := f.h.createCcRef(other["id"].(string), false)["id"].(string)
	expired := ccRefBody(aid, false)
	expired["cc_ref"].(map[string]any)["card"].(map[string]any)["expiry_year"] = 2020
	expiredID := f.h.do("POST", "/v2/payment_methods", expired).json(t)["id"].(string)
	for _, tc := range []struct {
		name, pm string
		code     int
	}{
		{"unknown", "nope", 50000040},
		{"another account's", foreign, 50000030},
		{"expired card", expiredID, 50000030},
	} {
		body := f.payment("Electronic", 50, applyTo(inv, 50))
		body["paymentMethodId"] = tc.pm
		if code := v1Err(t, pay(body), 200); code != tc.code {
			t.Fatalf("%s payment method: code %d, want %d", tc.name, code, tc.code)
		}
	}
	if n := len(f.h.sim.Payments()); n != 0 {
		t.Fatalf("%d payments from refused requests", n)
	}
	def := f.h.createCcRef(aid, true)["id"].(string)
	p := v1OK(t, pay(f.payment("Electronic", 50, applyTo(inv, 50))))
	if p["type"] != "Electronic" || p["paymentMethodId"] != def || p["gatewayState"] != "Submitted" ||
		p["gatewayResponse"] != "Approved" || p["submittedOn"] == nil {
		t.Fatalf("electronic payment %v", p)
	}
	spare := f.h.createCcRef(aid, false)["id"].(string)
	body := f.payment("Electronic", 20, applyTo(inv, 20))
	body["paymentMethodId"] = spare
	if p := v1OK(t, pay(body)); p["paymentMethodId"] != spare {
		t.Fatalf("explicit payment method: %v", p)
	}
	// An Electronic payment takes effect today.
	body = f.payment("Electronic", 1)
	body["effectiveDate"] = addTerm(f.today(), -1, "Day")
	if code := v1Err(t, pay(body), 200); code%100 != catRule {
		t.Fatalf("back-dated electronic payment: code %d", code)
	}
}

func TestCreatePaymentValidation(t *testing.T) {
	f, inv := invoicedFixture(t)
	raw := f.unchecked(t)
	other := f.h.createAccount("cust-2")
	with := func(mut func(b map[string]any)) map[string]any {
		b := f.payment("External", 10, applyTo(inv, 10))
		mut(b)
		return b
	}
	for _, tc := range []struct {
		name string
		h    *harness
		body map[string]any
		code int
	}{
		{"unknown account", f.h, with(func(b map[string]any) { b["accountId"] = "nope" }), 50000040},
		{"no account", f.h, with(func(b map[string]any) { delete(b, "accountId") }), 50000022},
		{"no type", raw, with(func(b map[string]any) { delete(b, "type") }), 50000022},
		{"no amount", raw, with(func(b map[string]any) { delete(b, "amount") }), 50000022},
		{"zero amount", f.h, with(func(b map[string]any) { b["amount"] = 0 }), 50000020},
		{"tenths of cents", f.h, with(func(b map[string]any) { b["amount"] = 10.001 }), 50000020},
		{"other currency", f.h, with(func(b map[string]any) { b["currency"] = "EUR" }), 50000030},
		{"future date", f.h, with(func(b map[string]any) { b["effectiveDate"] = addTerm(f.today(), 3, "Day") }), 50000030},
		{"unknown invoice", f.h, with(func(b map[string]any) { b["invoices"] = []any{map[string]any{"invoiceId": "nope", "amount": 10}} }), 50000040},
		{"invoice amount missing", f.h, with(func(b map[string]any) { b["invoices"] = []any{map[string]any{"invoiceId": inv["id"]}} }), 50000022},
		{"more than the balance", f.h, f.payment("External", 1000, applyTo(inv, firstInvoice+1)), 50000030},
		{"more applied than paid", f.h, f.payment("External", 5, applyTo(inv, 10)), 50000030},
		{"invoice listed twice", f.h, f.payment("External", 20, applyTo(inv, 10), applyTo(inv, 10)), 50000020},
		{"another account's invoice", f.h, with(func(b map[string]any) { b["accountId"] = other["id"] }), 50000030},
		{"debit memos", f.h, with(func(b map[string]any) { b["debitMemos"] = []any{map[string]any{"debitMemoId": "d", "amount": 1}} }), 50000020},
		{"long comment", raw, with(func(b map[string]any) { b["comment"] = strings.Repeat("c", 256) }), 50000020},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := v1Err(t, tc.h.do("POST", "/v1/payments", tc.body), 200); code != tc.code {
				t.Fatalf("code %d, want %d", code, tc.code)
			}
		})
	}
	if n := len(f.h.sim.Payments()); n != 0 {
		t.Fatalf("%d payments from refused requests", n)
	}
	if got := v1OK(t, f.h.do("GET", "/v1/invoices/INV00000001", nil)); got["balance"] != firstInvoice {
		t.Fatalf("a refused payment changed the invoice: %v", got)
	}
}

func TestCreatePaymentIdempotency(t *testing.T) {
	f, inv := invoicedFixture(t)
	body := f.payment("External", 25, applyTo(inv, 25))
	first := v1OK(t, f.h.do("POST", "/v1/payments", body, "Idempotency-Key: pay-1"))
	again := v1OK(t, f.h.do("POST", "/v1/payments", body, "Idempotency-Key: pay-1"))
	if first["id"] != again["id"] || len(f.h.sim.Payments()) != 1 {
		t.Fatalf("a replayed payment was made twice: %v / %v", first, again)
	}
	if got := v1OK(t, f.h.do("GET", "/v1/invoices/INV00000001", nil)); got["balance"] != firstInvoice-25 {
		t.Fatalf("balance %v after one payment of 25", got["balance"])
	}
}

func TestGetAndListPayments(t *testing.T) {
	f, inv := invoicedFixture(t)
	p1 := v1OK(t, f.h.do("POST", "/v1/payments", f.payment("External", 10, applyTo(inv, 10))))
	v1OK(t, f.h.do("POST", "/v1/payments", f.payment("External", 20, applyTo(inv, 20))))
	other := f.h.createAccount("cust-2")
	v1OK(t, f.h.do("POST", "/v1/payments", map[string]any{"accountNumber": other["account_number"], "amount": 5,
		"currency": "USD", "type": "External"}))

	for _, key := range []string{p1["id"].(string), "P-00000001"} {
		if got := v1OK(t, f.h.do("GET", "/v1/payments/"+key, nil)); got["id"] != p1["id"] || got["appliedAmount"] != 10.0 {
			t.Fatalf("GET %s = %v", key, got)
		}
	}
	if code := v1Err(t, f.h.do("GET", "/v1/payments/P-NOPE", nil), 404); code != 50000040 {
		t.Fatalf("unknown payment: code %d", code)
	}
	list := v1OK(t, f.h.do("GET", "/v1/payments?accountId="+f.account["id"].(string)+"&pageSize=1", nil))
	rows := list["payments"].([]any)
	if len(rows) != 1 || rows[0].(map[string]any)["number"] != "P-00000001" || list["nextPage"] == nil {
		t.Fatalf("first page %v", list)
	}
	if _, ok := rows[0].(map[string]any)["success"]; ok {
		t.Fatalf("a list row carries success: %v", rows[0])
	}
	next := v1OK(t, f.h.do("GET", list["nextPage"].(string), nil))
	if rows := next["payments"].([]any); len(rows) != 1 || rows[0].(map[string]any)["number"] != "P-00000002" || next["nextPage"] != nil {
		t.Fatalf("second page %v", next)
	}
	all := v1OK(t, f.h.do("GET", "/v1/payments?type=External", nil))["payments"].([]any)
	if len(all) != 3 {
		t.Fatalf("%d External payments, want 3", len(all))
	}
	if code := v1Err(t, f.unchecked(t).do("GET", "/v1/payments?pageSize=41", nil), 200); code%100 != catInvalidQuery {
		t.Fatalf("pageSize 41: code %d", code)
	}
}

// The effective date defaults to the simulated clock's today.
func TestPaymentEffectiveDateFollowsTheClock(t *testing.T) {
	f, inv := invoicedFixture(t)
	f.h.sim.Advance(24 * time.Hour)
	f.h.token = f.h.newToken() // the old one expired meanwhile
	if p := v1OK(t, f.h.do("POST", "/v1/payments", f.payment("External", 10, applyTo(inv, 10)))); p["effectiveDate"] != f.today()+"T00:00:00Z" {
		t.Fatalf("effective date %v, want today %s", p["effectiveDate"], f.today())
	}
}
