package zuoraapi_test

import (
	"testing"

	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// The CRUD invoice object and the invoice's items, against the simulator with every request and answer checked
// against Zuora's documents.
func TestInvoiceReadsAgainstSimulator(t *testing.T) {
	sim, c := simClient(t)
	acct, number := postedInvoice(t, c)
	ctx := evt("evt-invoice-reads")
	inv, err := c.GetInvoice(ctx, number)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := c.GetInvoiceObject(ctx, inv.ID)
	if err != nil || obj.ID != inv.ID || obj.InvoiceNumber != number || obj.AccountID != acct.ID || obj.Status != "Posted" ||
		obj.Balance.String() != "49" || obj.Amount.String() != "49" || obj.Currency != "USD" {
		t.Fatalf("invoice object %+v, %v", obj, err)
	}
	for _, key := range []string{number, "2c92c0f9nope"} {
		if _, err := c.GetInvoiceObject(ctx, key); !zuoraapi.IsNotFound(err) {
			t.Fatalf("CRUD read of %s: %v, want not found", key, err)
		}
	}
	items, err := c.ListInvoiceItems(ctx, number)
	if err != nil || len(items) != 1 || items[0].SubscriptionName == "" || items[0].SubscriptionID == "" ||
		items[0].ChargeAmount.String() != "49" || items[0].ChargeType != "Recurring" {
		t.Fatalf("items %+v, %v", items, err)
	}
	sub, ok := sim.Subscription(items[0].SubscriptionName)
	if !ok || sub.AccountID != acct.ID {
		t.Fatalf("the item's subscription %s: %+v", items[0].SubscriptionName, sub)
	}
	if _, err := c.ListInvoiceItems(ctx, "INV-NOPE"); !zuoraapi.IsNotFound(err) {
		t.Fatalf("items of an unknown invoice: %v", err)
	}
	if _, err := sim.PayInvoice(number); err != nil {
		t.Fatal(err)
	}
	if obj, err = c.GetInvoiceObject(ctx, inv.ID); err != nil || !obj.Balance.IsZero() || obj.PaymentAmount.String() != "49" {
		t.Fatalf("paid invoice object %+v, %v", obj, err)
	}
}
