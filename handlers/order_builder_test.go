package handlers

import (
	"errors"
	"testing"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// The builder is the single definition of the create order: the handler's and the preview's both come from it.
func TestCreateOrderBuilderCarriesEverythingTheSubscriptionNeeds(t *testing.T) {
	ref := &ratePlanRef{packageID: "plan-pro", productRatePlanID: "prp-pro", charges: map[string]chargeRef{
		"FLAT_FEE":               {id: "c-flat", model: zuoraapi.ChargeModelFlatFee, chargeType: zuoraapi.ChargeTypeRecurring},
		"PER_UNIT.feature-seats": {id: "c-seats", model: zuoraapi.ChargeModelPerUnit, chargeType: zuoraapi.ChargeTypeRecurring},
	}}
	want := []desiredRatePlan{{ref: ref, quantities: map[string]zuoraapi.Amount{"PER_UNIT.feature-seats": zuoraapi.MustAmount("5")},
		prices: map[string]zuoraapi.Amount{"FLAT_FEE": zuoraapi.MustAmount("39")}}}
	s := proSub("sub-b", "cust-1")
	s.StartDate = "2026-03-15"
	req, err := createOrder(s, want, "A-1", "stigg-sub-b")
	if err != nil {
		t.Fatal(err)
	}
	if req.OrderDate != "2026-03-15" || req.ExistingAccountNumber != "A-1" || req.ProcessingOptions == nil ||
		len(req.Subscriptions) != 1 || req.Subscriptions[0].CustomFields[FieldStiggResourceID] != "resource-1" {
		t.Fatalf("order %s", jsonOf(req))
	}
	cs := req.Subscriptions[0].OrderActions[0].CreateSubscription
	if cs.SubscriptionNumber != "stigg-sub-b" || cs.Terms.InitialTerm.StartDate != "2026-03-15" ||
		len(cs.SubscribeToRatePlans) != 1 || len(cs.SubscribeToRatePlans[0].ChargeOverrides) != 2 {
		t.Fatalf("create action %s", jsonOf(cs))
	}
	s.PaymentCollectionMethod = events.PaymentCollectionNone
	if req, _ := createOrder(s, want, "A-1", "stigg-sub-b"); req.ProcessingOptions != nil {
		t.Fatal("a subscription Stigg does not collect for is not billed by the order")
	}
	s.StartDate = "yesterday"
	_, err = createOrder(s, want, "A-1", "stigg-sub-b")
	if class, _ := dispatch.Classify(err); !errors.Is(err, ErrBadRequest) || class != dispatch.ClassPermanent {
		t.Fatalf("bad start date: %v, want a permanent ErrBadRequest", err)
	}
}
