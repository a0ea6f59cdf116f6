package handlers

import (
	"strings"
	"testing"

	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

func amt(s string) *zuoraapi.Amount { return new(zuoraapi.MustAmount(s)) }

func TestDiffActionsOneOrderForPlanAndAddonChanges(t *testing.T) {
	pro := &ratePlanRef{packageID: "plan-pro", productRatePlanID: "prp-pro", charges: map[string]chargeRef{
		"FLAT_FEE":               {id: "c-flat", model: zuoraapi.ChargeModelFlatFee, chargeType: zuoraapi.ChargeTypeRecurring},
		"PER_UNIT.feature-seats": {id: "c-seats", model: zuoraapi.ChargeModelPerUnit, chargeType: zuoraapi.ChargeTypeRecurring},
	}}
	calls := &ratePlanRef{packageID: "addon-calls", productRatePlanID: "prp-calls", charges: map[string]chargeRef{
		"USAGE_BASED.calls": {id: "c-calls", model: zuoraapi.ChargeModelTiered, chargeType: zuoraapi.ChargeTypeUsage},
	}}
	cur := &zuoraapi.SubscriptionV1{RatePlans: []zuoraapi.SubscriptionRatePlanV1{
		{ID: "rp-pro", ProductRatePlanID: "prp-pro", RatePlanCharges: []zuoraapi.SubscriptionChargeV1{
			{Number: "C-1", ProductRatePlanChargeID: "c-flat", Model: "FlatFee", Type: "Recurring", Price: amt("49")},
			{Number: "C-2", ProductRatePlanChargeID: "c-seats", Model: "PerUnit", Type: "Recurring", Quantity: amt("5")},
		}},
		{ID: "rp-storage", ProductRatePlanID: "prp-storage"},
		{ID: "rp-old", ProductRatePlanID: "prp-old", LastChangeType: zuoraapi.RatePlanChangeRemove},
	}}
	want := []desiredRatePlan{
		{ref: pro, quantities: map[string]zuoraapi.Amount{"PER_UNIT.feature-seats": zuoraapi.MustAmount("10")},
			prices: map[string]zuoraapi.Amount{"FLAT_FEE": zuoraapi.MustAmount("49")}},
		{ref: calls},
	}
	actions, err := diffActions(cur, want, "2026-12-01")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range actions {
		switch a.Type {
		case zuoraapi.OrderActionRemoveProduct:
			got = append(got, "remove "+a.RemoveProduct.RatePlanID)
		case zuoraapi.OrderActionAddProduct:
			got = append(got, "add "+a.AddProduct.ProductRatePlanID)
		case zuoraapi.OrderActionUpdateProduct:
			u := a.UpdateProduct
			if len(u.ChargeUpdates) != 1 || u.ChargeUpdates[0].Pricing.RecurringPerUnit == nil {
				t.Fatalf("update: want only the seat quantity, got %+v", u.ChargeUpdates)
			}
			got = append(got, "update "+u.RatePlanID+" "+u.ChargeUpdates[0].ChargeNumber+" qty "+u.ChargeUpdates[0].Pricing.RecurringPerUnit.Quantity.String())
		}
		if a.Type != zuoraapi.OrderActionCancelSubscription && (len(a.TriggerDates) == 0 || a.TriggerDates[0].TriggerDate != "2026-12-01") {
			t.Errorf("%s: trigger dates %+v", a.Type, a.TriggerDates)
		}
	}
	// The removed plan stays removed; the unchanged flat fee price makes no update.
	if w := "remove rp-storage|add prp-calls|update rp-pro C-2 qty 10"; strings.Join(got, "|") != w {
		t.Fatalf("actions %q, want %q", strings.Join(got, "|"), w)
	}

	// Nothing to change: no actions, so no order.
	same := []desiredRatePlan{{ref: pro, quantities: map[string]zuoraapi.Amount{"PER_UNIT.feature-seats": zuoraapi.MustAmount("5")}}}
	cur.RatePlans = cur.RatePlans[:1]
	if actions, err := diffActions(cur, same, "2026-12-01"); err != nil || len(actions) != 0 {
		t.Fatalf("no difference must mean no actions, got %d (%v)", len(actions), err)
	}
}

func TestSubscriptionNumberIsStableAndSafe(t *testing.T) {
	if got := subscriptionNumberFor("sub-123"); got != "stigg-sub-123" {
		t.Fatalf("readable ids stay readable: %q", got)
	}
	long := subscriptionNumberFor(strings.Repeat("x", 100))
	if len(long) > 64 || long != subscriptionNumberFor(strings.Repeat("x", 100)) {
		t.Fatalf("long ids must hash to a stable short number: %q", long)
	}
	if odd := subscriptionNumberFor("a/b c"); strings.ContainsAny(odd, "/ ") {
		t.Fatalf("unsafe characters leaked into %q", odd)
	}
}
