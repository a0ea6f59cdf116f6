package handlers

import (
	"encoding/json"
	"testing"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
)

// A customer not in Zuora yet is previewed against a stand-in account, which needs a currency: without one in
// the request it takes the default, also when the preview service was built from Deps without defaults.
func TestPreviewOfUnsyncedCustomerWithoutCurrencyUsesTheDefault(t *testing.T) {
	e := newSubsEnv(t)
	sub := proSub("sub-nocur", "cust-not-yet")
	sub.Currency = ""
	p, err := e.previews().PreviewOrder(e.ctx(), &OrderPreviewRequest{Subscription: *sub})
	if err != nil {
		t.Fatalf("preview: %v", err)
	}
	body := e.rec.last("/v1/orders/preview")
	info, _ := body["previewAccountInfo"].(map[string]any)
	if info["currency"] != "USD" {
		t.Fatalf("stand-in account %v, want currency USD", info)
	}
	// 39 (overridden base) + 5 seats × 12.5 + 50 GB × 0.5 = 126.5
	if len(p.Invoices) != 1 || p.Invoices[0].Amount.String() != "126.5" || p.Currency != "USD" {
		t.Fatalf("preview %+v, want one USD invoice of 126.5", p)
	}
}

// A preview of an existing subscription for a paying customer Zuora has no account of yet cannot say what the
// change would cost: the subscription handler would wait for the customer, so the preview says not synced.
func TestPreviewOfExistingSubscriptionWithUnsyncedPayerIsNotSynced(t *testing.T) {
	e := newSubsEnv(t)
	e.syncCustomer("cust-1")
	sub := proSub("sub-payer", "cust-1")
	if _, err := e.handle(events.TypeStiggSubscriptionCreated, &events.SubscriptionCreated{Subscription: *sub}, "cust-1"); err != nil {
		t.Fatal(err)
	}
	sub.PayingCustomerID = "cust-new-payer"
	_, err := e.previews().PreviewOrder(e.ctx(), &OrderPreviewRequest{Subscription: *sub})
	if !dispatch.IsDeferred(err) {
		t.Fatalf("err %v, want a deferred (not synced) error", err)
	}
}

// The preview prices the very order the subscription handler then sends: same date, account, subscription
// number, custom fields, terms, rate plans and charge overrides.
func TestPreviewPricesTheOrderThatCreatesTheSubscription(t *testing.T) {
	e := newSubsEnv(t)
	e.syncCustomer("cust-1")
	sub := proSub("sub-same", "cust-1")
	if _, err := e.previews().PreviewOrder(e.ctx(), &OrderPreviewRequest{Subscription: *sub}); err != nil {
		t.Fatalf("preview: %v", err)
	}
	out, err := e.handle(events.TypeStiggSubscriptionCreated, &events.SubscriptionCreated{Subscription: *sub}, "cust-1")
	if err != nil || out.Action != actionCreated {
		t.Fatalf("create: %+v %v", out, err)
	}
	preview, order := e.rec.last("/v1/orders/preview"), e.rec.last("/v1/orders")
	for _, k := range []string{"orderDate", "existingAccountNumber", "subscriptions"} {
		if !jsonEqual(preview[k], order[k]) {
			t.Errorf("%s differs:\npreview %s\norder   %s", k, jsonOf(preview[k]), jsonOf(order[k]))
		}
	}
	if order["processingOptions"] == nil {
		t.Error("the create order must still bill its first period")
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func jsonEqual(a, b any) bool { return a != nil && jsonOf(a) == jsonOf(b) }
