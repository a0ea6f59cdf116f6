package zuoraapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func orderCtx() context.Context { return WithEventID(context.Background(), "evt-order-1") }

// wantOrderWrite checks a POST: path, query, Zuora-Version and the idempotency key of step.
func wantOrderWrite(t *testing.T, r recorded, path, rawQuery, step string) {
	t.Helper()
	if r.Method != http.MethodPost || r.Path != path || r.RawQuery != rawQuery {
		t.Fatalf("got %s %s?%s, want POST %s?%s", r.Method, r.Path, r.RawQuery, path, rawQuery)
	}
	if got, want := r.Header.Get("Idempotency-Key"), IdempotencyKey("evt-order-1", step); got != want {
		t.Fatalf("Idempotency-Key %q, want %q", got, want)
	}
	if r.Header.Get("Zuora-Version") != DefaultZuoraVersion {
		t.Fatalf("Zuora-Version %q", r.Header.Get("Zuora-Version"))
	}
}

func TestCreateOrderNewSubscription(t *testing.T) {
	// paidAmount is a decimal string of 9 to 22 characters in the spec.
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"success":true,"orderNumber":"O-00000001","accountNumber":"A00000001","status":"Completed",
			"subscriptions":[{"subscriptionNumber":"A-S00000001","status":"Active","subscriptionId":"8a90a1"}],
			"invoiceNumbers":["INV00000001"],"paymentNumber":"P-00000001","paidAmount":"129.950000000",
			"orderId":"8a90o1","accountId":"8a90acc","subscriptionIds":["8a90a1"],"invoiceIds":["8a90inv"]}`)
	})
	c := f.checkedClient(t)

	terms, err := TermForBillingPeriod(BillingPeriodMonth)
	if err != nil {
		t.Fatal(err)
	}
	seats, err := OrderPricingFor(ChargeModelPerUnit, ChargeTypeRecurring, OrderPrice{Quantity: new(QuantityAmount(5))})
	if err != nil {
		t.Fatal(err)
	}
	base, err := OrderPricingFor("FlatFee", ChargeTypeRecurring, OrderPrice{ListPrice: AmountPtr("19.99")})
	if err != nil {
		t.Fatal(err)
	}
	addon, _ := OrderPricingFor("PerUnit", ChargeTypeRecurring, OrderPrice{Quantity: new(QuantityAmount(2))})
	cf := map[string]any{"stiggCustomerId__c": "cust-1", "stiggEntityUrl__c": "https://app.stigg.io/s/1", "stiggResourceId__c": "res-1"}
	req := &OrderRequest{
		OrderDate:             "2025-01-15",
		ExistingAccountNumber: "A00000001",
		Description:           "Subscription sub-1",
		ProcessingOptions:     &ProcessingOptions{RunBilling: new(true), CollectPayment: new(false), BillingOptions: &BillingOptions{TargetDate: "2025-01-15"}},
		Subscriptions: []OrderSubscription{{
			CustomFields: cf,
			OrderActions: []OrderAction{NewCreateSubscriptionAction("2025-01-15", &OrderCreateSubscription{
				SubscriptionOwnerAccountNumber: "A00000001",
				Terms:                          terms,
				SubscribeToRatePlans: []OrderRatePlan{
					{ProductRatePlanID: "prp-pro-m", UniqueToken: "plan", ChargeOverrides: []OrderChargeOverride{
						{ProductRatePlanChargeID: "prpc-base", Pricing: base},
						{ProductRatePlanChargeID: "prpc-seats", Pricing: seats},
					}},
					{ProductRatePlanID: "prp-addon-m", UniqueToken: "addon-extra", ChargeOverrides: []OrderChargeOverride{
						{ProductRatePlanChargeID: "prpc-addon", Pricing: addon},
					}},
				},
			})},
		}},
	}
	resp, err := c.CreateOrder(orderCtx(), "create-subscription", req)
	if err != nil {
		t.Fatal(err)
	}
	r := f.lastRequest(t)
	wantOrderWrite(t, r, "/v1/orders", "returnIds=true", "create-subscription")
	sameJSON(t, r.Body, `{
		"orderDate":"2025-01-15","existingAccountNumber":"A00000001","description":"Subscription sub-1",
		"processingOptions":{"runBilling":true,"collectPayment":false,"billingOptions":{"targetDate":"2025-01-15"}},
		"subscriptions":[{
			"customFields":{"stiggCustomerId__c":"cust-1","stiggEntityUrl__c":"https://app.stigg.io/s/1","stiggResourceId__c":"res-1"},
			"orderActions":[{
				"type":"CreateSubscription",
				"triggerDates":[{"name":"ContractEffective","triggerDate":"2025-01-15"},{"name":"ServiceActivation","triggerDate":"2025-01-15"},
					{"name":"CustomerAcceptance","triggerDate":"2025-01-15"}],
				"createSubscription":{
					"subscriptionOwnerAccountNumber":"A00000001",
					"terms":{"initialTerm":{"termType":"TERMED","period":1,"periodType":"Month"},"autoRenew":true,
						"renewalSetting":"RENEW_WITH_SPECIFIC_TERM","renewalTerms":[{"period":1,"periodType":"Month"}]},
					"subscribeToRatePlans":[
						{"productRatePlanId":"prp-pro-m","uniqueToken":"plan","chargeOverrides":[
							{"productRatePlanChargeId":"prpc-base","pricing":{"recurringFlatFee":{"listPrice":19.99}}},
							{"productRatePlanChargeId":"prpc-seats","pricing":{"recurringPerUnit":{"quantity":5}}}]},
						{"productRatePlanId":"prp-addon-m","uniqueToken":"addon-extra","chargeOverrides":[
							{"productRatePlanChargeId":"prpc-addon","pricing":{"recurringPerUnit":{"quantity":2}}}]}]}}]}]}`)
	// Money reaches Zuora as the decimal text, not through a float.
	if !strings.Contains(string(r.Body), `"listPrice":19.99}`) {
		t.Fatalf("listPrice not sent verbatim: %s", r.Body)
	}

	if resp.OrderNumber != "O-00000001" || resp.Status != OrderStatusCompleted || resp.OrderID != "8a90o1" ||
		resp.AccountID != "8a90acc" || resp.PaymentNumber != "P-00000001" || resp.PaidAmount.String() != "129.95" {
		t.Fatalf("decoded %+v", resp)
	}
	if got := resp.AllSubscriptionNumbers(); !reflect.DeepEqual(got, []string{"A-S00000001"}) ||
		resp.Subscriptions[0].Status != SubscriptionStatusActive || resp.Subscriptions[0].SubscriptionID != "8a90a1" {
		t.Fatalf("subscriptions %+v", resp.Subscriptions)
	}
	if !reflect.DeepEqual(resp.InvoiceNumbers, []string{"INV00000001"}) || !reflect.DeepEqual(resp.SubscriptionIDs, []string{"8a90a1"}) {
		t.Fatalf("numbers/ids %+v", resp)
	}
}

func TestCreateOrderOlderResponseForm(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"success":true,"orderNumber":"O-2","accountNumber":"A1","status":"Completed","subscriptionNumbers":["S-1","S-2"]}`)
	})
	c := f.checkedClient(t)
	resp, err := c.CreateOrder(orderCtx(), "s", &OrderRequest{OrderDate: "2025-01-01", ExistingAccountNumber: "A1",
		Subscriptions: []OrderSubscription{{SubscriptionNumber: "S-1", OrderActions: []OrderAction{
			NewRemoveProductAction("2025-01-01", &OrderRemoveProduct{RatePlanID: "rp-1"})}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.AllSubscriptionNumbers(); !reflect.DeepEqual(got, []string{"S-1", "S-2"}) {
		t.Fatalf("got %v", got)
	}
}

// A business failure comes back as HTTP 200 with success:false; the caller gets a Validation *Error with the
// reason code, so the event goes to the DLQ with Zuora's reason.
func TestCreateOrderFailureIsValidationError(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"success":false,"processId":"CBCFED6580B4E076",
			"reasons":[{"code":53100320,"message":"'termType' value should be one of: TERMED, EVERGREEN"}]}`)
	})
	c := f.checkedClient(t)
	_, err := c.CreateOrder(orderCtx(), "create-subscription", &OrderRequest{OrderDate: "2025-01-15", ExistingAccountNumber: "A1",
		Subscriptions: []OrderSubscription{{OrderActions: []OrderAction{NewCreateSubscriptionAction("2025-01-15",
			&OrderCreateSubscription{Terms: &OrderTerms{InitialTerm: OrderTerm{TermType: TermTypeEvergreen}},
				SubscribeToRatePlans: []OrderRatePlan{{ProductRatePlanID: "prp"}}})}}}})
	e, ok := AsError(err)
	if !ok || e.Kind != KindValidation || e.Code != "53100320" || e.ProcessID != "CBCFED6580B4E076" ||
		!strings.Contains(e.Message, "termType") || e.Temporary() {
		t.Fatalf("got %#v", err)
	}
}

func TestCreateOrderNeedsStep(t *testing.T) {
	f := newFake(t, nil)
	c := f.client(t)
	if _, err := c.CreateOrder(orderCtx(), "", &OrderRequest{OrderDate: "2025-01-01"}); err == nil {
		t.Fatal("a POST without a step must be refused")
	}
	if _, err := c.PreviewOrder(orderCtx(), "", &OrderPreviewRequest{OrderDate: "2025-01-01"}); err == nil {
		t.Fatal("a POST without a step must be refused")
	}
	if len(f.requests()) != 0 {
		t.Fatal("nothing may be sent")
	}
}

// One atomic order for an update scheduled at the end of the billing period: quantity change, new add-on, and a
// removed add-on.
func TestCreateScheduledUpdateOrder(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"success":true,"orderNumber":"O-3","accountNumber":"A1","status":"Scheduled"}`)
	})
	c := f.checkedClient(t)
	qty, _ := OrderPricingFor("Volume Pricing", ChargeTypeRecurring, OrderPrice{Quantity: new(QuantityAmount(12))})
	addon, _ := OrderPricingFor(ChargeModelFlatFee, ChargeTypeRecurring, OrderPrice{ListPrice: AmountPtr("5")})
	req := &OrderRequest{
		OrderDate: "2025-01-20", ExistingAccountNumber: "A1",
		Status:            OrderStatusScheduled,
		SchedulingOptions: &SchedulingOptions{ScheduledDate: "2025-02-01", ScheduledDatePolicy: ScheduledDatePolicySpecificDate},
		Subscriptions: []OrderSubscription{{SubscriptionNumber: "A-S1", OrderActions: []OrderAction{
			NewUpdateProductAction("2025-02-01", &OrderRatePlanUpdate{RatePlanID: "rp-plan", ChargeUpdates: []OrderChargeUpdate{
				{ChargeNumber: "C-1", Pricing: qty}}}),
			NewAddProductAction("2025-02-01", &OrderRatePlan{ProductRatePlanID: "prp-addon", ChargeOverrides: []OrderChargeOverride{
				{ProductRatePlanChargeID: "prpc-addon", Pricing: addon}}}),
			NewRemoveProductAction("2025-02-01", &OrderRemoveProduct{RatePlanID: "rp-old-addon"}),
		}}},
	}
	resp, err := c.CreateOrder(orderCtx(), "schedule-update", req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != OrderStatusScheduled {
		t.Fatalf("status %q", resp.Status)
	}
	td := `[{"name":"ContractEffective","triggerDate":"2025-02-01"},{"name":"ServiceActivation","triggerDate":"2025-02-01"},{"name":"CustomerAcceptance","triggerDate":"2025-02-01"}]`
	sameJSON(t, f.lastRequest(t).Body, `{"orderDate":"2025-01-20","existingAccountNumber":"A1","status":"Scheduled",
		"schedulingOptions":{"scheduledDate":"2025-02-01","scheduledDatePolicy":"SpecificDate"},
		"subscriptions":[{"subscriptionNumber":"A-S1","orderActions":[
			{"type":"UpdateProduct","triggerDates":`+td+`,"updateProduct":{"ratePlanId":"rp-plan","chargeUpdates":[
				{"chargeNumber":"C-1","pricing":{"recurringVolume":{"quantity":12}}}]}},
			{"type":"AddProduct","triggerDates":`+td+`,"addProduct":{"productRatePlanId":"prp-addon","chargeOverrides":[
				{"productRatePlanChargeId":"prpc-addon","pricing":{"recurringFlatFee":{"listPrice":5}}}]}},
			{"type":"RemoveProduct","triggerDates":`+td+`,"removeProduct":{"ratePlanId":"rp-old-addon"}}]}]}`)
}

func TestCreateCancelOrderWithWriteOff(t *testing.T) {
	// The spec bounds writeOff[].amount to 9..22 (its lengths, written as a range); the amounts respect that.
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"success":true,"orderNumber":"O-4","accountNumber":"A1","status":"Completed",
			"subscriptions":[{"subscriptionNumber":"A-S1","status":"Cancelled"}],"creditMemoNumbers":["CM-1"],
			"writeOff":[{"amount":12.5,"invoiceNumber":"INV-7","status":"Success","writeOffCreditMemoNumber":"CM-2"},
				{"amount":10,"invoiceNumber":"INV-8","status":"Failed","failedReason":"invoice is not posted"}]}`)
	})
	c := f.checkedClient(t)
	cancel, err := NewCancelSubscriptionAction(CancelSpecificDate, "2025-03-31")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.CreateOrder(orderCtx(), "cancel", &OrderRequest{
		OrderDate: "2025-03-01", ExistingAccountNumber: "A1",
		ProcessingOptions: &ProcessingOptions{RunBilling: new(true), WriteOff: new(true),
			WriteOffBehavior: &WriteOffBehavior{FinanceInformation: &WriteOffFinanceInformation{OnAccountAccountingCode: "WO"}}},
		Subscriptions: []OrderSubscription{{SubscriptionNumber: "A-S1", OrderActions: []OrderAction{cancel}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, f.lastRequest(t).Body, `{"orderDate":"2025-03-01","existingAccountNumber":"A1",
		"processingOptions":{"runBilling":true,"writeOff":true,"writeOffBehavior":{"financeInformation":{"onAccountAccountingCode":"WO"}}},
		"subscriptions":[{"subscriptionNumber":"A-S1","orderActions":[
			{"type":"CancelSubscription","cancelSubscription":{"cancellationPolicy":"SpecificDate","cancellationEffectiveDate":"2025-03-31"}}]}]}`)
	if len(resp.WriteOff) != 2 || resp.WriteOff[0].Amount.String() != "12.5" || resp.WriteOff[0].WriteOffCreditMemoNumber != "CM-2" ||
		resp.WriteOff[1].Status != "Failed" || resp.WriteOff[1].FailedReason == "" || resp.Subscriptions[0].Status != SubscriptionStatusCancelled {
		t.Fatalf("decoded %+v", resp)
	}
}

func TestPreviewOrder(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"success":true,"previewResult":{
			"invoices":[{"amount":108.9,"amountWithoutTax":99,"taxAmount":9.9,"targetDate":"2025-02-01","invoiceItems":[
				{"serviceStartDate":"2025-02-01","serviceEndDate":"2025-02-28","amountWithoutTax":99,"taxAmount":9.9,"chargeName":"Seats",
				 "chargeNumber":"C-1","productName":"Pro","productRatePlanChargeId":"prpc-seats","subscriptionNumber":"A-S1",
				 "processingType":"Charge","unitPrice":9.9,"additionalInfo":{"quantity":10,"unitOfMeasure":"Seat"}}]}],
			"chargeMetrics":[{"subscriptionNumber":"A-S1","charges":[{"chargeNumber":"C-1","productRatePlanChargeId":"prpc-seats",
				"cmrr":{"regular":99,"regularDelta":19.8},"tax":{"regular":9.9}}]}]}}`)
	})
	c := f.checkedClient(t)
	qty, _ := OrderPricingFor("PerUnit", ChargeTypeRecurring, OrderPrice{Quantity: new(QuantityAmount(10))})
	resp, err := c.PreviewOrder(orderCtx(), "preview", &OrderPreviewRequest{
		OrderDate: "2025-01-20", ExistingAccountNumber: "A1",
		PreviewOptions: OrderPreviewOptions{PreviewThruType: PreviewThruNumberOfPeriods, PreviewNumberOfPeriods: 1,
			PreviewTypes: []string{PreviewTypeBillingDocs, PreviewTypeChargeMetrics}},
		Subscriptions: []OrderSubscription{{SubscriptionNumber: "A-S1", OrderActions: []OrderAction{
			NewUpdateProductAction("2025-02-01", &OrderRatePlanUpdate{RatePlanID: "rp-1", ChargeUpdates: []OrderChargeUpdate{{ChargeNumber: "C-1", Pricing: qty}}})}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := f.lastRequest(t)
	wantOrderWrite(t, r, "/v1/orders/preview", "", "preview")
	sameJSON(t, r.Body, `{"orderDate":"2025-01-20","existingAccountNumber":"A1",
		"previewOptions":{"previewThruType":"NumberOfPeriods","previewNumberOfPeriods":1,"previewTypes":["BillingDocs","ChargeMetrics"]},
		"subscriptions":[{"subscriptionNumber":"A-S1","orderActions":[{"type":"UpdateProduct",
			"triggerDates":[{"name":"ContractEffective","triggerDate":"2025-02-01"},{"name":"ServiceActivation","triggerDate":"2025-02-01"},{"name":"CustomerAcceptance","triggerDate":"2025-02-01"}],
			"updateProduct":{"ratePlanId":"rp-1","chargeUpdates":[{"chargeNumber":"C-1","pricing":{"recurringPerUnit":{"quantity":10}}}]}}]}]}`)
	inv := resp.PreviewResult.Invoices
	if len(inv) != 1 || inv[0].Amount.String() != "108.9" || inv[0].TaxAmount.String() != "9.9" || inv[0].TargetDate != "2025-02-01" {
		t.Fatalf("invoices %+v", inv)
	}
	item := inv[0].InvoiceItems[0]
	if item.AmountWithoutTax.String() != "99" || item.UnitPrice.String() != "9.9" || item.AdditionalInfo.Quantity.String() != "10" ||
		item.AdditionalInfo.UnitOfMeasure != "Seat" || item.ServiceEndDate != "2025-02-28" {
		t.Fatalf("item %+v", item)
	}
	m := resp.PreviewResult.ChargeMetrics
	if len(m) != 1 || m[0].Charges[0].CMRR.RegularDelta.String() != "19.8" || m[0].Charges[0].Tax.Regular.String() != "9.9" {
		t.Fatalf("metrics %+v", m)
	}
}

// A preview for a customer who has no Zuora account yet describes the account instead.
func TestPreviewOrderWithoutAccount(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"success":true,"previewResult":{"invoices":[]}}`)
	})
	c := f.checkedClient(t)
	terms, _ := TermForBillingPeriod(BillingPeriodAnnual)
	_, err := c.PreviewOrder(orderCtx(), "preview", &OrderPreviewRequest{
		OrderDate:          "2025-01-20",
		PreviewAccountInfo: &PreviewAccountInfo{BillCycleDay: 1, Currency: "USD", SoldToContact: &PreviewContact{Country: "US", State: "CA", PostalCode: "94105"}},
		PreviewOptions:     OrderPreviewOptions{PreviewThruType: PreviewThruTermEnd, PreviewTypes: []string{PreviewTypeBillingDocs}},
		Subscriptions: []OrderSubscription{{OrderActions: []OrderAction{NewCreateSubscriptionAction("2025-01-20",
			&OrderCreateSubscription{Terms: terms, SubscribeToRatePlans: []OrderRatePlan{{ProductRatePlanID: "prp-pro-y"}}})}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	body := jsonBody(t, f.lastRequest(t).Body)
	want := map[string]any{"billCycleDay": float64(1), "currency": "USD",
		"soldToContact": map[string]any{"country": "US", "state": "CA", "postalCode": "94105"}}
	if !reflect.DeepEqual(body["previewAccountInfo"], want) || body["existingAccountNumber"] != nil {
		t.Fatalf("body %v", body)
	}
}

const orderJSON = `{"orderNumber":%q,"orderDate":"2025-01-20","status":%q,"existingAccountNumber":"A1","currency":"USD",
	"createdDate":"2025-01-20 10:00:00","createdBy":"u1","updatedDate":"2025-01-20 10:00:00","updatedBy":"u1",
	"customFields":{"stiggEventId__c":"evt-1"},
	"schedulingOptions":{"scheduledDate":"2025-02-01","scheduledDatePolicy":"SpecificDate"},
	"subscriptions":[{"subscriptionNumber":"A-S1","baseVersion":2,"newVersion":3,"orderActions":[
		{"id":"oa-1","sequence":0,"type":"UpdateProduct",
		 "triggerDates":[{"name":"ContractEffective","triggerDate":"2025-02-01"}],
		 "updateProduct":{"ratePlanId":"rp-1","newRatePlanId":"rp-2","chargeUpdates":[{"chargeNumber":"C-1","pricing":{"recurringPerUnit":{"quantity":3}}}]}},
		{"id":"oa-2","sequence":1,"type":"CancelSubscription",
		 "cancelSubscription":{"cancellationPolicy":"EndOfCurrentTerm"}}]}]}`

func orderBody(number, status string) string { return fmt.Sprintf(orderJSON, number, status) }

func TestListSubscriptionOrdersPagesAndFilters(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/v1/orders/subscription/A-S1" || q.Get("status") != "scheduled" || q.Get("pageSize") != "40" {
			writeJSON(w, 400, `{"success":false,"reasons":[{"code":50000027,"message":"bad query"}]}`)
			return
		}
		switch q.Get("page") {
		case "1":
			writeJSON(w, 200, `{"success":true,"orders":[`+orderBody("O-1", "Scheduled")+`],
				"nextPage":"https://rest.zuora.com/v1/orders/subscription/A-S1?page=2&pageSize=40&status=scheduled"}`)
		case "2":
			writeJSON(w, 200, `{"success":true,"orders":[`+orderBody("O-2", "Scheduled")+`]}`)
		default:
			writeJSON(w, 200, `{"success":true,"orders":[]}`)
		}
	})
	c := f.checkedClient(t)
	orders, err := c.ListSubscriptionOrders(context.Background(), "A-S1", OrderStatusScheduled)
	if err != nil {
		t.Fatal(err)
	}
	if len(orders) != 2 || orders[0].OrderNumber != "O-1" || orders[1].OrderNumber != "O-2" || len(f.requests()) != 2 {
		t.Fatalf("got %d orders after %d requests: %+v", len(orders), len(f.requests()), orders)
	}
	o := orders[0]
	if o.Status != OrderStatusScheduled || o.SchedulingOptions == nil || o.SchedulingOptions.ScheduledDate != "2025-02-01" ||
		o.CustomFields["stiggEventId__c"] != "evt-1" || o.CreatedDate != "2025-01-20 10:00:00" {
		t.Fatalf("order %+v", o)
	}
	s := o.Subscriptions[0]
	if s.SubscriptionNumber != "A-S1" || *s.BaseVersion != 2 || *s.NewVersion != 3 || len(s.OrderActions) != 2 {
		t.Fatalf("subscription %+v", s)
	}
	up := s.OrderActions[0]
	if up.Type != OrderActionUpdateProduct || up.ID != "oa-1" || *up.Sequence != 0 || up.TriggerDates[0].TriggerDate != "2025-02-01" ||
		up.UpdateProduct.NewRatePlanID != "rp-2" || up.UpdateProduct.ChargeUpdates[0].Pricing.RecurringPerUnit.Quantity.String() != "3" {
		t.Fatalf("update action %+v", up)
	}
	if cs := s.OrderActions[1].CancelSubscription; cs == nil || cs.CancellationPolicy != CancelEndOfCurrentTerm {
		t.Fatalf("cancel action %+v", s.OrderActions[1])
	}
	for _, r := range f.requests() {
		if r.Header.Get("Idempotency-Key") != "" {
			t.Fatal("GET must not carry an idempotency key")
		}
	}
}

func TestListSubscriptionOrdersAllStatuses(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("status") {
			writeJSON(w, 400, `{"success":false,"reasons":[{"code":50000027,"message":"unexpected status"}]}`)
			return
		}
		writeJSON(w, 200, `{"success":true,"orders":[]}`)
	})
	c := f.checkedClient(t)
	orders, err := c.ListSubscriptionOrders(context.Background(), "A S/1", "")
	if err != nil || len(orders) != 0 {
		t.Fatalf("%v %v", orders, err)
	}
	if p := f.lastRequest(t).Path; p != "/v1/orders/subscription/A S/1" {
		t.Fatalf("path %q", p) // the fake sees the decoded path; escaping is checked by the round trip
	}
}

func TestGetOrder(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/orders/O-1" {
			writeJSON(w, 200, `{"success":false,"reasons":[{"code":50000040,"message":"Cannot find entity by key"}]}`)
			return
		}
		writeJSON(w, 200, `{"success":true,"order":`+orderBody("O-1", "Completed")+`}`)
	})
	c := f.checkedClient(t)
	o, err := c.GetOrder(context.Background(), "O-1")
	if err != nil {
		t.Fatal(err)
	}
	if o.OrderNumber != "O-1" || o.Status != OrderStatusCompleted || len(o.Subscriptions) != 1 {
		t.Fatalf("order %+v", o)
	}
	if _, err := c.GetOrder(context.Background(), "O-404"); !IsNotFound(err) {
		t.Fatalf("want not found, got %v", err)
	}
}

func TestCancelOrder(t *testing.T) {
	status := map[string]string{"O-sched": "Scheduled", "O-done": "Completed", "O-gone": "Cancelled"}
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		num := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/orders/"), "/cancel")
		st, ok := status[num]
		switch {
		case !ok:
			writeJSON(w, 200, `{"success":false,"reasons":[{"code":50000040,"message":"Cannot find entity by key"}]}`)
		case r.Method == http.MethodGet:
			writeJSON(w, 200, `{"success":true,"order":`+orderBody(num, st)+`}`)
		case st != "Scheduled" && st != "Draft":
			// Zuora documents the refusal but not its code; a rule-restriction code stands in for it.
			writeJSON(w, 200, `{"success":false,"processId":"P1","reasons":[{"code":58730030,"message":"Only draft or scheduled orders can be cancelled."}]}`)
		default:
			status[num] = "Cancelled"
			writeJSON(w, 200, `{"success":true,"orderNumber":"`+num+`","accountNumber":"A1","status":"Cancelled","cancelReason":"replaced"}`)
		}
	})
	c := f.checkedClient(t)
	ctx := orderCtx()

	if err := c.CancelOrder(ctx, "O-sched", "replaced"); err != nil {
		t.Fatal(err)
	}
	r := f.lastRequest(t)
	if r.Method != http.MethodPut || r.Path != "/v1/orders/O-sched/cancel" || string(r.Body) != `{"cancelReason":"replaced"}` {
		t.Fatalf("%s %s %s", r.Method, r.Path, r.Body)
	}
	if r.Header.Get("Idempotency-Key") != "" || r.Header.Get("Zuora-Version") == "" || r.Header.Get("Zuora-Track-Id") != "evt-order-1" {
		t.Fatalf("headers %v", r.Header)
	}

	// A second cancel of the same order is refused; the error tells the caller what happened.
	err := c.CancelOrder(ctx, "O-sched", "replaced")
	e, ok := AsError(err)
	if !ok || e.Kind != KindValidation || e.Code != "58730030" || !IsOrderNotCancellable(err) {
		t.Fatalf("got %#v", err)
	}
	// EnsureOrderCancelled resolves it: already cancelled is done.
	if o, err := c.EnsureOrderCancelled(ctx, "O-sched", "replaced"); err != nil || o.Status != OrderStatusCancelled {
		t.Fatalf("already cancelled: %+v %v", o, err)
	}
	if o, err := c.EnsureOrderCancelled(ctx, "O-gone", "replaced"); err != nil || o == nil {
		t.Fatalf("already cancelled: %v", err)
	}
	// A completed order cannot be cancelled any more.
	o, err := c.EnsureOrderCancelled(ctx, "O-done", "replaced")
	if !errors.Is(err, ErrOrderNotCancellable) || o == nil || o.Status != OrderStatusCompleted {
		t.Fatalf("completed: %+v %v", o, err)
	}
	if e, ok := AsError(err); !ok || e.Code != "58730030" {
		t.Fatalf("the refusal should stay reachable: %v", err)
	}
	// Not found is not "not cancellable".
	err = c.CancelOrder(ctx, "O-404", "")
	if !IsNotFound(err) || IsOrderNotCancellable(err) {
		t.Fatalf("got %v", err)
	}
	if _, err := c.EnsureOrderCancelled(ctx, "O-404", ""); !IsNotFound(err) {
		t.Fatalf("got %v", err)
	}
	if r := f.lastRequest(t); string(r.Body) != `{}` {
		t.Fatalf("an empty reason is left out: %s", r.Body)
	}
}

func TestIsOrderNotCancellableOnlyForCancel(t *testing.T) {
	v := &Error{Kind: KindValidation, Method: http.MethodPost, Path: "/v1/orders"}
	if IsOrderNotCancellable(v) || IsOrderNotCancellable(errors.New("x")) || IsOrderNotCancellable(nil) {
		t.Fatal("only a refused PUT /v1/orders/{n}/cancel counts")
	}
	if IsOrderNotCancellable(&Error{Kind: KindTransient, Method: http.MethodPut, Path: "/v1/orders/O-1/cancel"}) {
		t.Fatal("a transient failure is not a refusal")
	}
}

func TestTermForBillingPeriod(t *testing.T) {
	for period, months := range map[string]int{BillingPeriodMonth: 1, BillingPeriodAnnual: 12} {
		terms, err := TermForBillingPeriod(period)
		if err != nil {
			t.Fatal(err)
		}
		want := &OrderTerms{InitialTerm: OrderTerm{TermType: TermTypeTermed, Period: months, PeriodType: PeriodTypeMonth},
			AutoRenew: new(true), RenewalSetting: RenewWithSpecificTerm, RenewalTerms: []OrderRenewalTerm{{Period: months, PeriodType: PeriodTypeMonth}}}
		if !reflect.DeepEqual(terms, want) {
			t.Fatalf("%s: %+v", period, terms)
		}
	}
	for _, bad := range []string{"Week", "month", ""} {
		if _, err := TermForBillingPeriod(bad); err == nil {
			t.Fatalf("%q must fail", bad)
		}
	}
}

func TestNewCancelSubscriptionAction(t *testing.T) {
	a, err := NewCancelSubscriptionAction(CancelEndOfCurrentTerm, "2025-01-01")
	if err != nil || a.Type != OrderActionCancelSubscription || a.CancelSubscription.CancellationEffectiveDate != "" || a.TriggerDates != nil {
		t.Fatalf("%+v %v", a, err)
	}
	if _, err := NewCancelSubscriptionAction(CancelSpecificDate, ""); err == nil {
		t.Fatal("SpecificDate needs a date")
	}
	if _, err := NewCancelSubscriptionAction("Now", ""); err == nil {
		t.Fatal("unknown policy")
	}
}

func TestOrderPricingFor(t *testing.T) {
	p := OrderPrice{Quantity: new(QuantityAmount(3))}
	cases := []struct {
		model, typ string
		pick       func(*OrderPricing) *OrderPrice
	}{
		{ChargeModelFlatFee, ChargeTypeRecurring, func(o *OrderPricing) *OrderPrice { return o.RecurringFlatFee }},
		{"FlatFee", ChargeTypeRecurring, func(o *OrderPricing) *OrderPrice { return o.RecurringFlatFee }},
		{ChargeModelPerUnit, ChargeTypeRecurring, func(o *OrderPricing) *OrderPrice { return o.RecurringPerUnit }},
		{"Tiered", ChargeTypeRecurring, func(o *OrderPricing) *OrderPrice { return o.RecurringTiered }},
		{ChargeModelVolume, ChargeTypeRecurring, func(o *OrderPricing) *OrderPrice { return o.RecurringVolume }},
		{"PerUnit", ChargeTypeUsage, func(o *OrderPricing) *OrderPrice { return o.UsagePerUnit }},
		{ChargeModelTiered, ChargeTypeUsage, func(o *OrderPricing) *OrderPrice { return o.UsageTiered }},
		{"Volume", ChargeTypeUsage, func(o *OrderPricing) *OrderPrice { return o.UsageVolume }},
	}
	for _, tc := range cases {
		got, err := OrderPricingFor(tc.model, tc.typ, p)
		if err != nil {
			t.Fatalf("%s/%s: %v", tc.model, tc.typ, err)
		}
		if pp := tc.pick(got); pp == nil || pp.Quantity.String() != "3" {
			t.Fatalf("%s/%s: %+v", tc.model, tc.typ, got)
		}
	}
	if _, err := OrderPricingFor("FlatFee", ChargeTypeUsage, p); err == nil {
		t.Fatal("usage flat fee is not supported")
	}
	if _, err := OrderPricingFor("PerUnit", ChargeTypeOneTime, p); err == nil {
		t.Fatal("one-time is not supported")
	}
}

func TestFormatDate(t *testing.T) {
	if got := FormatDate(time.Date(2025, 2, 3, 23, 59, 0, 0, time.UTC)); got != "2025-02-03" {
		t.Fatal(got)
	}
	if QuantityAmount(0).String() != "0" || QuantityAmount(1200).String() != "1200" {
		t.Fatal("QuantityAmount")
	}
}
