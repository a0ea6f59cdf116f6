package zuorasim

import (
	"net/http"
	"testing"
)

// POST /_sim/invoices/{invoiceNumber}/pay settles an invoice as a paying customer would: one payment of the open
// balance, both balances at zero, and the invoice.paid notification a callout would carry; paying again or an
// unknown invoice is refused.
func TestPayInvoiceAdminRoute(t *testing.T) {
	f := newOrderFixture(t)
	if _, err := f.client(t).CreateOrder(ctxFor("evt-create"), "create", f.createRequest(true)); err != nil {
		t.Fatal(err)
	}
	post := func(path string) int {
		t.Helper()
		resp, err := http.Post(f.h.srv.URL+path, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/_sim/invoices/INV00000001/pay"); code != 200 {
		t.Fatalf("pay: %d", code)
	}
	invs, pays := f.h.sim.Invoices(), f.h.sim.Payments()
	if len(invs) != 1 || invs[0].Balance != 0 || len(pays) != 1 || pays[0].Amount != firstInvoice {
		t.Fatalf("after paying: invoices %+v payments %+v", invs, pays)
	}
	paid := 0
	for _, n := range f.h.sim.Notifications() {
		if n.Event == "invoice.paid" && n.Params["InvoiceNumber"] == "INV00000001" && n.Params["Balance"] == "0.00" {
			paid++
		}
	}
	if paid != 1 {
		t.Fatalf("%d invoice.paid notifications, want 1", paid)
	}
	if code := post("/_sim/invoices/INV00000001/pay"); code != http.StatusConflict {
		t.Fatalf("paying a paid invoice: %d, want 409", code)
	}
	if code := post("/_sim/invoices/INV-NOPE/pay"); code != http.StatusNotFound {
		t.Fatalf("unknown invoice: %d, want 404", code)
	}
	if len(f.h.sim.Payments()) != 1 {
		t.Fatal("a refused pay made a payment")
	}
}
