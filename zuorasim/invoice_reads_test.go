package zuorasim

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// The CRUD invoice object: by id only, PascalCase, with the balance and status the invoice has now; an unknown id
// or a number is CRUD's 404 INVALID_ID; fields narrows the answer.
func TestCRUDGetInvoice(t *testing.T) {
	f, inv := invoicedFixture(t)
	id := inv["id"].(string)
	r := f.h.do("GET", "/v1/object/invoice/"+id, nil)
	expectStatus(t, r, http.StatusOK)
	obj := r.json(t)
	if obj["Id"] != id || obj["InvoiceNumber"] != "INV00000001" || obj["AccountId"] != f.account["id"] ||
		obj["Status"] != "Posted" || obj["Balance"] != firstInvoice || obj["Amount"] != firstInvoice || obj["Currency"] != "USD" {
		t.Fatalf("invoice object %v", obj)
	}
	if _, ok := obj["success"]; ok {
		t.Fatalf("a CRUD read carries no success member: %v", obj)
	}
	for _, key := range []string{"INV00000001", "2c92c0f8nope"} {
		r := f.h.do("GET", "/v1/object/invoice/"+key, nil)
		expectStatus(t, r, http.StatusNotFound)
		m := r.json(t)
		if errs, _ := m["Errors"].([]any); m["Success"] != false || len(errs) != 1 || errs[0].(map[string]any)["Code"] != "INVALID_ID" {
			t.Fatalf("unknown %s: %s", key, r.body)
		}
	}
	if _, err := f.h.sim.PayInvoice("INV00000001"); err != nil {
		t.Fatal(err)
	}
	r = f.h.do("GET", "/v1/object/invoice/"+id+"?fields=Balance,status", nil)
	expectStatus(t, r, http.StatusOK)
	if m := r.json(t); len(m) != 3 || m["Id"] != id || m["Balance"] != 0.0 || m["Status"] != "Posted" {
		t.Fatalf("paid, fields=Balance,status: %v", m)
	}
}

// The items of an invoice: each with its subscription, amounts as decimal strings and unitPrice as a number,
// paged by pageSize with nextPage; by id or number; an unknown invoice is V1's not found.
func TestInvoiceItems(t *testing.T) {
	f, inv := invoicedFixture(t)
	all := v1OK(t, f.h.do("GET", "/v1/invoices/INV00000001/items", nil))
	items, _ := all["invoiceItems"].([]any)
	if len(items) < 2 {
		t.Fatalf("items %v", all)
	}
	if _, ok := all["nextPage"]; ok {
		t.Fatalf("one page has no nextPage: %v", all)
	}
	sum := 0.0
	for _, raw := range items {
		it := raw.(map[string]any)
		if name, _ := it["subscriptionName"].(string); name == "" || it["subscriptionId"] == "" {
			t.Fatalf("item without its subscription: %v", it)
		}
		amount, ok := it["chargeAmount"].(string)
		if !ok {
			t.Fatalf("chargeAmount %T", it["chargeAmount"])
		}
		if p, ok := it["unitPrice"]; ok {
			if _, isNum := p.(float64); !isNum {
				t.Fatalf("unitPrice %T, want a number", p)
			}
		}
		v, err := strconv.ParseFloat(amount, 64)
		if err != nil {
			t.Fatal(err)
		}
		sum += v
	}
	if math.Round(sum*100) != firstInvoice*100 {
		t.Fatalf("items add up to %v, want %v", sum, firstInvoice)
	}
	first := v1OK(t, f.h.do("GET", "/v1/invoices/"+inv["id"].(string)+"/items?pageSize=1", nil))
	if got, _ := first["invoiceItems"].([]any); len(got) != 1 || first["nextPage"] == nil ||
		!strings.Contains(first["nextPage"].(string), "page=2") {
		t.Fatalf("first page %v", first)
	}
	last := v1OK(t, f.h.do("GET", "/v1/invoices/INV00000001/items?pageSize=1&page="+strconv.Itoa(len(items)), nil))
	if got, _ := last["invoiceItems"].([]any); len(got) != 1 || last["nextPage"] != nil {
		t.Fatalf("last page %v", last)
	}
	if code := v1Err(t, f.h.do("GET", "/v1/invoices/INV-NOPE/items", nil), 404); code != 50000040 {
		t.Fatalf("unknown invoice: code %d", code)
	}
}
