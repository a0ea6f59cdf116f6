package idmap

import (
	"maps"
	"testing"
)

// The stored form is what deployed entries hold: a record read from it and written back must be the same map,
// or an upgrade would lose plans, charges or scheduled orders.
func TestPackageRecordKeepsTheStoredForm(t *testing.T) {
	stored := map[string]string{
		"plan.MONTHLY":                        "prp-1",
		"plan.ANNUALLY":                       "prp-2",
		"charge.MONTHLY.FLAT_FEE":             "c-1",
		"model.MONTHLY.FLAT_FEE":              "Flat Fee Pricing|Recurring",
		"charge.MONTHLY.PER_UNIT.feature-a.b": "c-2",
		"model.MONTHLY.PER_UNIT.feature-a.b":  "Per Unit Pricing|Recurring",
		"model.ANNUALLY.USAGE_BASED.calls":    "Tiered Pricing|Usage", // a model recorded before its charge existed
	}
	r := PackageOf(&Entry{Extra: stored})
	if got := r.Extra(); !maps.Equal(got, stored) {
		t.Fatalf("round trip changed the stored form:\n got %v\nwant %v", got, stored)
	}
	if r.Plan("MONTHLY") != "prp-1" || !r.ClaimsPlan("prp-2") || r.ClaimsPlan("c-1") {
		t.Fatal("plans")
	}
	c, ok := r.Charge("MONTHLY", "PER_UNIT.feature-a.b")
	if !ok || c != (ChargeRecord{ID: "c-2", Model: "Per Unit Pricing", Type: "Recurring"}) {
		t.Fatalf("charge with a dotted feature id: %+v", c)
	}
	if !r.ClaimsCharge("c-1") || r.ClaimsCharge("prp-1") || !r.HasCharges() {
		t.Fatal("charge claims")
	}
	if PackageOf(&Entry{Extra: map[string]string{"plan.MONTHLY": "p"}}).HasCharges() {
		t.Fatal("a package without charges is free")
	}
	other := PackageOf(nil)
	other.SetCharge("ANNUALLY", "USAGE_BASED.calls", ChargeRecord{ID: "c-3", Model: "Tiered Pricing", Type: "Usage"})
	r.Merge(other)
	if c, _ := r.Charge("ANNUALLY", "USAGE_BASED.calls"); c.ID != "c-3" {
		t.Fatalf("merge: %+v", c)
	}
}

func TestSubscriptionRecordKeepsTheStoredForm(t *testing.T) {
	stored := map[string]string{"scheduledOrder": "O-1", "scheduledBy": "ev-1", "cancelledBy": "ev-2", "skipped": "free plan"}
	r := SubscriptionOf(&Entry{Extra: stored})
	if r != (SubscriptionRecord{ScheduledOrder: "O-1", ScheduledBy: "ev-1", CancelledBy: "ev-2", Skipped: "free plan"}) {
		t.Fatalf("decoded %+v", r)
	}
	if got := r.Extra(); !maps.Equal(got, stored) {
		t.Fatalf("round trip: %v", got)
	}
	if got := (SubscriptionRecord{}).Extra(); len(got) != 0 {
		t.Fatalf("an empty record stores %v", got)
	}
}
