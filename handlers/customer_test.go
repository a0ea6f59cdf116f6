package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

func TestSplitName(t *testing.T) {
	for in, want := range map[string][2]string{
		"Ada Lovelace":       {"Ada", "Lovelace"},
		"Jean Luc Picard":    {"Jean Luc", "Picard"},
		"Cher":               {"Cher", "Cher"},
		"  Grace   Hopper  ": {"Grace", "Hopper"},
		"acme@example.com":   {"acme@example.com", "acme@example.com"},
	} {
		if f, l := splitName(in); f != want[0] || l != want[1] {
			t.Errorf("splitName(%q) = %q, %q; want %q, %q", in, f, l, want[0], want[1])
		}
	}
}

func TestAccountPatchSendsOnlyWhatStiggChanged(t *testing.T) {
	acct := &zuoraapi.Account{
		ID: "a1", Name: "Ada Lovelace", PaymentTerms: "Net 30",
		CustomFields: map[string]any{FieldStiggCustomerID: "c1", FieldStiggEntityURL: "https://x/c1"},
		BillTo: &zuoraapi.Contact{FirstName: "Ada", LastName: "Lovelace", WorkEmail: "ada@example.com",
			Address: &zuoraapi.Address{Line1: "1 Main St", City: "London", Country: "United Kingdom"}},
	}
	same := &events.Customer{CustomerID: "c1", Name: "Ada Lovelace", Email: "ada@example.com", EntityURL: "https://x/c1",
		BillingAddress: &events.Address{Line1: "1 Main St", City: "London"}}
	if p := accountPatch(acct, same, "Net 30"); !p.IsEmpty() {
		t.Fatalf("identical customer produced a patch: %+v", p)
	}
	// Fields Stigg leaves empty are not cleared in Zuora.
	if p := accountPatch(acct, &events.Customer{CustomerID: "c1", EntityURL: "https://x/c1"}, ""); !p.IsEmpty() {
		t.Fatalf("empty Stigg fields produced a patch: %+v", p)
	}
	changed := *same
	changed.Name = "Ada King"
	changed.BillingAddress = &events.Address{Line1: "1 Main St", City: "Paris"}
	p := accountPatch(acct, &changed, "Net 45")
	switch {
	case p.Name == nil || *p.Name != "Ada King":
		t.Fatalf("name not patched: %+v", p)
	case p.PaymentTerms == nil || *p.PaymentTerms != "Net 45":
		t.Fatalf("payment term not patched: %+v", p)
	case p.BillTo == nil || p.BillTo.LastName == nil || *p.BillTo.LastName != "King" || p.BillTo.FirstName != nil:
		t.Fatalf("bill-to: want only the last name: %+v", p.BillTo)
	case p.BillTo.Address == nil || p.BillTo.Address.City == nil || *p.BillTo.Address.City != "Paris" || p.BillTo.Address.Line1 != nil:
		t.Fatalf("address: want only the city: %+v", p.BillTo.Address)
	case p.CustomFields != nil:
		t.Fatalf("unchanged custom fields were sent: %v", p.CustomFields)
	}
	// A custom field someone removed in Zuora is put back.
	acct.CustomFields = map[string]any{FieldStiggCustomerID: "c1"}
	if p := accountPatch(acct, same, ""); p.CustomFields[FieldStiggEntityURL] != "https://x/c1" {
		t.Fatalf("missing entity URL not restored: %+v", p.CustomFields)
	}
}

// Defect 1: a failed account PATCH (429, 5xx, timeout, validation) used to dereference the nil account the call
// returned and panic the process; it must come back as the error it is, classified by its behaviour.
func TestFailedAccountUpdateIsAnError(t *testing.T) {
	e := newCatalogEnv(t)
	h := newCustomers(Deps{Zuora: e.h.deps.Zuora, IDs: e.ids, DefaultCurrency: "USD", Logger: slog.New(slog.DiscardHandler)})
	run := func(c *events.Customer) (*dispatch.Result, error) {
		ev, err := events.New(events.TypeStiggCustomerUpdated, "/test", c.CustomerID, c.CustomerID, c)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return h.Handle(ctx, &dispatch.Input{Event: ev, Payload: c, Key: c.CustomerID, Attempt: 1, Logger: slog.New(slog.DiscardHandler)})
	}
	if _, err := run(&events.Customer{CustomerID: "cust-1", Name: "Ada Lovelace"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		status int
		class  dispatch.Class
	}{{503, dispatch.ClassTransient}, {429, dispatch.ClassWait}, {400, dispatch.ClassPermanent}} {
		e.sim.InjectFault(zuorasim.Fault{Method: "PATCH", PathPrefix: "/v2/accounts/", Status: f.status, Times: 1})
		_, err := run(&events.Customer{CustomerID: "cust-1", Name: fmt.Sprintf("Ada King %d", f.status)})
		if err == nil {
			t.Fatalf("PATCH answered %d: no error", f.status)
		}
		if class, _ := dispatch.Classify(err); class != f.class {
			t.Errorf("PATCH answered %d: classified %s, want %s (%v)", f.status, class, f.class, err)
		}
	}
}
