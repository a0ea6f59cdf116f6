package zuoraapi

import (
	"context"
	"net/http"
	"reflect"
	"testing"
)

const subscriptionV1JSON = `{"success":true,
	"id":"8a90s3","subscriptionNumber":"A-S00000001","status":"Active","version":3,"isLatestVersion":true,
	"accountId":"8a90acc","accountNumber":"A00000001","accountName":"Acme","currency":"USD","orderNumber":"O-3",
	"termType":"TERMED","autoRenew":true,"initialTerm":1,"initialTermPeriodType":"Month","currentTerm":1,
	"currentTermPeriodType":"Month","renewalTerm":1,"renewalTermPeriodType":"Month","renewalSetting":"RENEW_WITH_SPECIFIC_TERM",
	"contractEffectiveDate":"2025-01-15","serviceActivationDate":"2025-01-15","customerAcceptanceDate":"2025-01-15",
	"subscriptionStartDate":"2025-01-15","termStartDate":"2025-02-15","termEndDate":"2025-03-15",
	"contractedMrr":69.99,"totalContractedValue":139.98,
	"stiggCustomerId__c":"cust-1","stiggResourceId__c":"res-1",
	"ratePlans":[
		{"id":"rp-3a","productId":"p1","productName":"Pro","productRatePlanId":"prp-pro-m","ratePlanName":"Pro monthly",
		 "lastChangeType":"Update","stiggPackageId__c":"plan-pro",
		 "ratePlanCharges":[
			{"id":"rpc-1","number":"C-00000001","originalChargeId":"rpc-0","productRatePlanChargeId":"prpc-base","name":"Base",
			 "type":"Recurring","model":"FlatFee","price":19.99,"currency":"USD","billingPeriod":"Month","billingTiming":"IN_ADVANCE",
			 "chargedThroughDate":"2025-03-15","processedThroughDate":"2025-02-15","effectiveStartDate":"2025-01-15",
			 "effectiveEndDate":"2026-01-15","mrr":19.99,"segment":1,"version":3,"triggerEvent":"ContractEffective"},
			{"id":"rpc-2","number":"C-00000002","productRatePlanChargeId":"prpc-seats","name":"Seats","type":"Recurring",
			 "model":"Volume","quantity":10,"uom":"Seat","billingPeriod":"Month","stiggFeatureId__c":"seats",
			 "tiers":[{"tier":1,"startingUnit":0,"endingUnit":10,"price":5,"priceFormat":"PerUnit"},
			          {"tier":2,"startingUnit":11,"price":4,"priceFormat":"PerUnit"}]}]},
		{"id":"rp-3b","productRatePlanId":"prp-addon-m","ratePlanName":"Extra","lastChangeType":"Remove","ratePlanCharges":[]}]}`

func TestGetSubscriptionV1(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/subscriptions/A-S00000001" {
			writeJSON(w, 200, `{"success":false,"reasons":[{"code":50000040,"message":"Cannot find entity by key"}]}`)
			return
		}
		writeJSON(w, 200, subscriptionV1JSON)
	})
	c := f.checkedClient(t)
	s, err := c.GetSubscriptionV1(context.Background(), "A-S00000001")
	if err != nil {
		t.Fatal(err)
	}
	if r := f.lastRequest(t); r.Method != http.MethodGet || r.Header.Get("Zuora-Version") != DefaultZuoraVersion {
		t.Fatalf("%s %v", r.Method, r.Header)
	}
	if s.ID != "8a90s3" || s.Status != SubscriptionStatusActive || s.Version != 3 || s.AccountNumber != "A00000001" ||
		s.TermType != TermTypeTermed || !s.AutoRenew || s.TermEndDate != "2025-03-15" || s.ContractEffectiveDate != "2025-01-15" ||
		s.ContractedMrr.String() != "69.99" || *s.IsLatestVersion != true {
		t.Fatalf("decoded %+v", s)
	}
	if want := map[string]any{"stiggCustomerId__c": "cust-1", "stiggResourceId__c": "res-1"}; !reflect.DeepEqual(s.CustomFields, want) {
		t.Fatalf("subscription custom fields %v", s.CustomFields)
	}
	if len(s.RatePlans) != 2 || s.RatePlans[0].CustomFields["stiggPackageId__c"] != "plan-pro" || s.RatePlans[1].CustomFields != nil {
		t.Fatalf("rate plans %+v", s.RatePlans)
	}
	cur := s.CurrentRatePlans()
	if len(cur) != 1 || cur[0].ID != "rp-3a" || !s.RatePlans[1].Removed() {
		t.Fatalf("current %+v", cur)
	}
	base, seats := cur[0].RatePlanCharges[0], cur[0].RatePlanCharges[1]
	if base.Quantity != nil || base.Price.String() != "19.99" || base.Model != ChargeModelReadFlatFee || base.Number != "C-00000001" ||
		base.ChargedThroughDate != "2025-03-15" || base.EffectiveEndDate != "2026-01-15" || base.CustomFields != nil {
		t.Fatalf("base %+v", base)
	}
	if seats.Quantity.String() != "10" || seats.Price != nil || seats.UOM != "Seat" || len(seats.Tiers) != 2 ||
		seats.Tiers[1].EndingUnit != nil || seats.Tiers[0].Price.String() != "5" || seats.CustomFields["stiggFeatureId__c"] != "seats" {
		t.Fatalf("seats %+v", seats)
	}
	if _, err := c.GetSubscriptionV1(context.Background(), "A-S404"); !IsNotFound(err) {
		t.Fatalf("want not found, got %v", err)
	}
}

func TestPreviewSubscription(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"success":true,"invoices":[{"amount":54.99,"amountWithoutTax":49.99,"taxAmount":5,"targetDate":"2025-03-15",
			"status":null,"isFromExistingInvoice":false,"invoiceItems":[
				{"serviceStartDate":"2025-03-15","serviceEndDate":"2025-04-14","amountWithoutTax":49.99,"taxAmount":5,"chargeName":"Seats",
				 "chargeNumber":"C-00000002","productName":"Pro","productRatePlanChargeId":"prpc-seats","processingType":"Charge",
				 "unitPrice":4.999,"quantity":10,"unitOfMeasure":"Seat"}]}],
			"creditMemos":[{"creditMemoNumber":"CM-1","amount":-5,"amountWithoutTax":-5,"taxAmount":0,"targetDate":"2025-03-15",
				"isFromExistingCreditMemo":true,"creditMemoItems":[{"amountWithoutTax":-5,"taxAmount":0,"chargeName":"Base"}]}]}`)
	})
	c := f.checkedClient(t)
	resp, err := c.PreviewSubscription(orderCtx(), "preview-next-invoice", "A-S00000001", &SubscriptionPreviewRequest{
		PreviewStartDate:   &PreviewStartDate{PreviewStartDatePolicy: PreviewStartToday},
		PreviewThroughDate: &PreviewThroughDate{PreviewThruDatePolicy: PreviewThroughNextBillingPeriods, NextBillingPeriods: 1},
		SkipTax:            new(false),
	})
	if err != nil {
		t.Fatal(err)
	}
	r := f.lastRequest(t)
	wantOrderWrite(t, r, "/v1/subscriptions/A-S00000001/preview", "", "preview-next-invoice")
	sameJSON(t, r.Body, `{"previewStartDate":{"previewStartDatePolicy":"today"},
		"previewThroughDate":{"previewThruDatePolicy":"nextBillingPeriods","nextBillingPeriods":1},"skipTax":false}`)
	if len(resp.Invoices) != 1 || resp.Invoices[0].Amount.String() != "54.99" || resp.Invoices[0].Status != "" {
		t.Fatalf("invoices %+v", resp.Invoices)
	}
	it := resp.Invoices[0].InvoiceItems[0]
	if it.UnitPrice.String() != "4.999" || it.Quantity.String() != "10" || it.AmountWithoutTax.String() != "49.99" || it.ChargeNumber != "C-00000002" {
		t.Fatalf("item %+v", it)
	}
	cm := resp.CreditMemos
	if len(cm) != 1 || cm[0].Amount.String() != "-5" || !cm[0].IsFromExistingCreditMemo || cm[0].CreditMemoItems[0].ChargeName != "Base" {
		t.Fatalf("credit memos %+v", cm)
	}

	// No options: an empty body, still a valid request.
	if _, err := c.PreviewSubscription(orderCtx(), "preview-default", "A-S00000001", nil); err != nil {
		t.Fatal(err)
	}
	if b := f.lastRequest(t).Body; string(b) != `{}` {
		t.Fatalf("body %s", b)
	}
}

func TestGetSubscriptionQuickstart(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/subscriptions/A-S00000001" {
			writeJSON(w, 404, `{"type":"not_found","errors":[{"code":"not_found","message":"subscription not found"}],"retryable":false}`)
			return
		}
		if got := r.URL.Query()["expand[]"]; !reflect.DeepEqual(got, []string{"subscription_plans", "subscription_plans.subscription_items"}) {
			writeJSON(w, 400, `{"type":"bad_request","errors":[{"code":"invalid_parameter","parameter":"expand[]","message":"bad"}],"retryable":false}`)
			return
		}
		writeJSON(w, 200, `{"id":"8a90s3","subscription_number":"A-S00000001","state":"active","version":3,"latest_version":true,
			"account_id":"8a90acc","invoice_owner_account_id":"8a90acc","currency":"USD","auto_renew":true,
			"initial_term":{"type":"termed","interval":"month","interval_count":1,"start_date":"2025-01-15","end_date":"2025-02-15"},
			"current_term":{"type":"termed","interval":"month","interval_count":1,"start_date":"2025-02-15","end_date":"2025-03-15"},
			"start_date":"2025-01-15","contract_effective":"2025-01-15","contracted_mrr":"69.99",
			"custom_fields":{"stiggCustomerId__c":"cust-1"},
			"subscription_plans":{"next_page":null,"data":[{"id":"sp-1","subscription_plan_number":"SP-1","name":"Pro monthly",
				"subscription_id":"8a90s3","product_id":"p1","plan_id":"prp-pro-m",
				"subscription_items":{"next_page":null,"data":[
					{"id":"si-1","subscription_item_number":"C-00000002","name":"Seats","price_id":"prpc-seats","state":"active","active":true,
					 "charge_model":"volume","charge_type":"recurring","unit_of_measure":"Seat","quantity":10,
					 "tiers_mode":"volume","tiers":[{"up_to":10,"unit_amount":5},{"unit_amount":4}],
					 "recurring":{"interval":"month","interval_count":1,"timing":"in_advance"},
					 "start_date":"2025-01-15","charged_through_date":"2025-03-15","subscription_plan_id":"sp-1"},
					{"id":"si-2","subscription_item_number":"C-00000003","name":"API calls","price_id":"prpc-api","state":"active",
					 "charge_type":"usage","unit_of_measure":"Call","unit_amount":0.001,"recurring":{"usage":true,"interval":"month"}}]}}]}}`)
	})
	c := f.checkedClient(t)
	s, err := c.GetSubscription(context.Background(), "A-S00000001", "subscription_plans", "subscription_plans.subscription_items")
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "8a90s3" || s.State != "active" || s.AccountID != "8a90acc" || s.CurrentTerm.EndDate != "2025-03-15" ||
		s.ContractedMrr.String() != "69.99" || s.CustomFields["stiggCustomerId__c"] != "cust-1" || *s.LatestVersion != true {
		t.Fatalf("decoded %+v", s)
	}
	items := s.Items()
	if len(items) != 2 || items[0].UnitOfMeasure != "Seat" || items[0].PriceID != "prpc-seats" || items[0].Quantity.String() != "10" ||
		items[0].Tiers[1].UpTo != nil || items[0].Tiers[0].UnitAmount.String() != "5" || items[0].Recurring.Timing != "in_advance" {
		t.Fatalf("items %+v", items)
	}
	if items[1].Quantity != nil || items[1].UnitAmount.String() != "0.001" || !items[1].Recurring.Usage {
		t.Fatalf("usage item %+v", items[1])
	}
	if _, err := c.GetSubscription(context.Background(), "nope"); !IsNotFound(err) {
		t.Fatalf("want not found, got %v", err)
	}
	if (&Subscription{}).Items() != nil {
		t.Fatal("no plans expanded: no items")
	}
}
