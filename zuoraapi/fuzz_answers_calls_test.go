package zuoraapi

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/zuora-sync/zuora-sync/internal/conformance"
)

// The calls FuzzAnswers drives: every client method that decodes a Zuora answer (and the few that only check
// one), each with plausible arguments, a valid answer as the specs have it, and what the method yields for that
// answer. TestAnswerSeeds checks each seed against Zuora's OpenAPI documents.
//
// The fuzzer picks a call by its index, so the corpus under testdata/fuzz/FuzzAnswers names calls by position:
// add new calls at the end, never reorder or remove.

// answerCall is one client method under FuzzAnswers.
type answerCall struct {
	name string
	// v2: a Quickstart call, whose 2xx answers carry no success flag.
	v2 bool
	// value: the method returns what it decoded, so an answer without a body cannot be a success.
	value bool
	// token: the fuzzed answer is the OAuth token endpoint's; the API call itself is answered with tokenAPIAnswer.
	token bool
	call  func(ctx context.Context, c *Client) ([]string, error)
	// seed is a valid answer (status, content type; "" = application/json) and want what call yields for it.
	seed   string
	status int
	ctype  string
	want   []string
}

const (
	seedAccountID  = "8ad09be48db5aba7018db604776d4854"
	seedProductID  = "8ad097b4909708e001909b41bb085c0d"
	seedPlanID     = "8ad097b4909708e001909b41bb4a0c11"
	seedPriceID    = "8ad097b4909708e001909b41bb8e0c15"
	seedSubID      = "8ad0823f8e0a7d31018e0f0a2c7a1b2e"
	seedPMID       = "8ad09c4b8e5b3c5f018e5f9a3b1c2d3e"
	seedPaymentID  = "8ad08e0a8e5b3c5f018e5fa0c0d10001"
	seedInvoiceID  = "8ad08e0a8e5b3c5f018e5fa0c0d10002"
	seedUsageID    = "8ad08e0a8e5b3c5f018e5fa0c0d10003"
	seedTriggerID  = "2c93808457d787030157e031fcd34e19"
	seedTemplateID = "2c93808457d787030157e031fcd34e20"
	seedDefID      = "2c93808457d787030157e031fcd34e21"
	seedHistoryID  = "2c93808457d787030157e031fcd34e22"

	// hpSeed*: a hosted page signature that verifies (a throwaway 1024-bit key, signed once for these values).
	hpSeedURI    = "https://apisandbox.zuora.com/apps/PublicHostedPageLite.do"
	hpSeedPageID = "8a85858f49a3f2230149abccaa2e004a"
	hpSeedToken  = "hvNFdYkZaLVhlRH9qA7x4dTb2PWQ13Z1"
	hpSeedKey    = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCgYLLv3OFKdTUWMoqgpyBexlyotmvVrP1zD0IPKsRpvP35bTqzGvEfkPCjmCTtrll3awkTY+PJQDPqXY5xNZioS6SB8D3Xjh8/KRr5T+X9fxdVpfg8kU/itVugND87Jv85rRq0C7Q4s5NoY2IZ7IkN5a2uAEvUP12iCcpnz+63EwIDAQAB"
	hpSeedSig    = "SSx4e4d4G/uE9yhm0IYnyGlyaOnUdjbc1XmGUDn63HHoDGOk7c0hQFzYr7jcrk5yW1fRNNXlqnrCMiAtFlXFHUcXXzRY+rnpgVAWLrCy6JobeSXKr8maxLHirKvR/tVQoPkS587bRL6eBAj54mIcnzm3iIKoZOCTkhzxd3YY1iw="

	seedAccessToken = "3c9e1a2b4d5f6a7b8c9d0e1f2a3b4c5d"

	// tokenAPIAnswer answers the API call of the token case (GET /v2/accounts/{id}).
	tokenAPIAnswer = `{"id":"` + seedAccountID + `","account_number":"A00000001","name":"Acme","currency":"USD","auto_pay":false}`
)

const (
	qsAccount = `{"id":"` + seedAccountID + `","account_number":"A00000001","name":"Acme Corp","currency":"USD",` +
		`"payment_terms":"Net 30","bill_cycle_day":1,"auto_pay":false,"enabled":true,"bill_to_id":"8ad09be48db5aba7018db604777e4855",` +
		`"bill_to":{"id":"8ad09be48db5aba7018db604777e4855","first_name":"Ada","last_name":"Lovelace","email":"ada@example.com",` +
		`"address":{"line1":"1 Main St","city":"Springfield","country":"United States","postal_code":"12345"}},` +
		`"custom_fields":{"stiggCustomerId__c":"cust-1"},"remaining_invoice_balance":0,` +
		`"created_time":"2024-02-20T10:00:00-08:00","updated_time":"2024-02-20T10:00:00-08:00"}`
	qsProduct = `{"id":"` + seedProductID + `","name":"Pro","sku":"SKU-PRO","description":"The pro package","type":"base",` +
		`"start_date":"2024-01-01","end_date":"2099-12-31","active":true,"custom_fields":{"stiggEntityUrl__c":"https://app.stigg.io/p/pro"},` +
		`"created_time":"2024-02-20T10:00:00-08:00","updated_time":"2024-02-20T10:00:00-08:00"}`
	qsPlan = `{"id":"` + seedPlanID + `","name":"Pro monthly","plan_number":"PRP-00000001","product_id":"` + seedProductID + `",` +
		`"start_date":"2024-01-01","end_date":"2099-12-31","active_currencies":["USD"],"active":true,` +
		`"created_time":"2024-02-20T10:00:00-08:00","updated_time":"2024-02-20T10:00:00-08:00"}`
	qsPrice = `{"id":"` + seedPriceID + `","name":"Seats","plan_id":"` + seedPlanID + `","charge_type":"recurring",` +
		`"charge_model":"per_unit","recurring":{"interval":"month","interval_count":1,"timing":"in_advance","on":"account_cycle_date"},` +
		`"start_event":"contract_effective","unit_of_measure":"Seat","quantity":1,"unit_amounts":{"USD":19.99},` +
		`"created_time":"2024-02-20T10:00:00-08:00","updated_time":"2024-02-20T10:00:00-08:00"}`
	qsPaymentMethod = `{"id":"` + seedPMID + `","type":"cc_ref","account_id":"` + seedAccountID + `","state":"active",` +
		`"billing_details":{"name":"Ada Lovelace","email":"ada@example.com"},` +
		`"cc_ref":{"token":"cus_P1","second_token":"pm_1","card":{"brand":"visa","expiry_month":12,"expiry_year":2030,"last_4":"4242"}},` +
		`"use_default_retry_rule":true,"created_time":"2024-02-20T10:00:00-08:00","updated_time":"2024-02-20T10:00:00-08:00"}`
	qsUsage = `{"id":"` + seedUsageID + `","account_id":"` + seedAccountID + `","account_number":"A00000001",` +
		`"subscription_id":"` + seedSubID + `","subscription_number":"A-S00000001","subscription_item_id":"8ad0823f8e0a7d31018e0f0a2c7a1b30",` +
		`"quantity":1250.5,"start_time":"2024-05-01T00:00:00Z","unit_of_measure":"Call","state":"pending",` +
		`"created_time":"2024-05-01T00:00:00Z","updated_time":"2024-05-01T00:00:00Z"}`
	v1Charge = `{"id":"` + seedPriceID + `","name":"Seats","type":"Recurring","model":"PerUnit","uom":"Seat",` +
		`"billingPeriod":"Month","billingDay":"DefaultFromCustomer","billingTiming":"IN_ADVANCE","listPriceBase":"Per_Billing_Period",` +
		`"triggerEvent":"ContractEffective","endDateCondition":"Subscription_End","defaultQuantity":1,` +
		`"pricing":[{"currency":"USD","price":19.99,"tiers":null}],"pricingSummary":["USD19.99/Seat"],` +
		`"productRatePlanChargeNumber":"PRPC-00000001","taxable":false,"customFields":{"stiggEntityUrl__c":"u"},"success":true}`
	// v1ListCharge is a charge as the rate plan list has it (GETProductRatePlanChargeType: decimals as strings).
	v1ListCharge = `{"id":"` + seedPriceID + `","name":"Seats","type":"Recurring","model":"PerUnit","uom":"Seat",` +
		`"billingPeriod":"Month","billingDay":"DefaultFromCustomer","billingTiming":"IN_ADVANCE","listPriceBase":"Per_Billing_Period",` +
		`"triggerEvent":"ContractEffective","endDateCondition":"Subscription_End","defaultQuantity":"1",` +
		`"pricing":[{"currency":"USD","price":"19.99"}],"pricingSummary":["USD19.99/Seat"],` +
		`"productRatePlanChargeNumber":"PRPC-00000001","taxable":false,"stiggEntityUrl__c":"u"}`
	v1Order = `{"orderNumber":"O-00000001","orderDate":"2024-03-01","status":"Completed","category":"NewSales",` +
		`"currency":"USD","existingAccountNumber":"A00000001","createdDate":"2024-03-01 10:00:00","createdBy":"u1",` +
		`"updatedDate":"2024-03-01 10:00:00","updatedBy":"u1","subscriptions":[{"subscriptionNumber":"A-S00000001",` +
		`"baseVersion":1,"newVersion":1,"orderActions":[{"id":"8ad0823f8e0a7d31018e0f0a2c7a1b40","sequence":0,` +
		`"type":"CreateSubscription","triggerDates":[{"name":"ContractEffective","triggerDate":"2024-03-01"}]}]}]}`
	v1Payment = `{"id":"` + seedPaymentID + `","number":"P-00000001","accountId":"` + seedAccountID + `","accountNumber":"A00000001",` +
		`"type":"External","status":"Processed","amount":19.99,"appliedAmount":19.99,"unappliedAmount":0,"refundAmount":0,` +
		`"currency":"USD","effectiveDate":"2024-03-01T00:00:00-08:00","comment":"stigg",` +
		`"createdDate":"2024-03-01T10:00:00-08:00","updatedDate":"2024-03-01T10:00:00-08:00"`
	v1Trigger = `{"id":"` + seedTriggerID + `","active":true,"baseObject":"Invoice",` +
		`"condition":"changeType == 'UPDATE' && Invoice.Status == 'Posted'","eventType":{"name":"zsInvoicePosted",` +
		`"displayName":"zuora-sync invoice posted"}}`
	v1Template = `{"id":"` + seedTemplateID + `","name":"zuora-sync invoice posted","active":true,` +
		`"calloutBaseurl":"https://bridge.example.com/callouts","httpMethod":"POST","eventTypeName":"zsInvoicePosted",` +
		`"eventTypeNamespace":"user.notification","calloutRetry":true,"requiredAuth":true,` +
		`"calloutAuth":{"username":"zuora","preemptive":true},"contentType":"application/json"}`
	v1Definition = `{"id":"` + seedDefID + `","name":"zuora-sync invoice posted","active":true,` +
		`"eventTypeName":"zsInvoicePosted","eventTypeNamespace":"user.notification","calloutActive":true,` +
		`"calloutTemplateIds":["` + seedTemplateID + `"]}`
)

// answerCalls is the table; see the note above about its order.
var answerCalls = []answerCall{
	{name: "CreateAccount", v2: true, value: true, seed: qsAccount, status: http.StatusCreated, want: []string{seedAccountID, "A00000001"},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			a, err := c.CreateAccount(ctx, "account.create", &AccountCreateRequest{Name: "Acme Corp", Currency: "USD",
				BillTo: &Contact{FirstName: "Ada", LastName: "Lovelace"}})
			return ids(err, func() []string { return []string{a.ID, a.AccountNumber} })
		}},
	{name: "GetAccount", v2: true, value: true, seed: qsAccount, status: 200, want: []string{seedAccountID, "A00000001"},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			a, err := c.GetAccount(ctx, seedAccountID, "bill_to")
			return ids(err, func() []string { return []string{a.ID, a.AccountNumber} })
		}},
	{name: "UpdateAccount", v2: true, value: true, seed: qsAccount, status: 200, want: []string{seedAccountID, "A00000001"},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			a, err := c.UpdateAccount(ctx, "account.update", seedAccountID, &AccountPatch{Name: new("Acme Corp")})
			return ids(err, func() []string { return []string{a.ID, a.AccountNumber} })
		}},
	{name: "FindAccounts", v2: true, value: true, seed: `{"data":[` + qsAccount + `]}`, status: 200, want: []string{seedAccountID},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			as, err := c.FindAccounts(ctx, "customerId__c.EQ:cust-1")
			return ids(err, func() []string { return each(as, func(a Account) string { return a.ID }) })
		}},
	{name: "GetAccountV1", value: true, status: 200, want: []string{seedAccountID, "A00000001"},
		seed: `{"success":true,"basicInfo":{"id":"` + seedAccountID + `","accountNumber":"A00000001","name":"Acme Corp",` +
			`"status":"Active","batch":"Batch1","stiggCustomerId__c":"cust-1"},"billingAndPayment":{"billCycleDay":1,` +
			`"currency":"USD","paymentTerm":"Net 30","autoPay":false,"invoiceDeliveryPrefsEmail":true,"invoiceDeliveryPrefsPrint":false},` +
			`"metrics":{"balance":"0","totalInvoiceBalance":"0","creditBalance":"0","contractedMrr":"19.99"}}`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			a, err := c.GetAccountV1(ctx, "A00000001")
			return ids(err, func() []string { return []string{a.BasicInfo.ID, a.BasicInfo.AccountNumber} })
		}},
	{name: "CreateProduct", v2: true, value: true, seed: qsProduct, status: http.StatusCreated, want: []string{seedProductID},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			p, err := c.CreateProduct(ctx, "product.create", &ProductCreateRequest{Name: "Pro", SKU: "SKU-PRO"})
			return ids(err, func() []string { return []string{p.ID} })
		}},
	{name: "GetProduct", v2: true, value: true, status: 200, want: []string{seedProductID, seedPlanID},
		seed: qsProduct[:len(qsProduct)-1] + `,"plans":{"data":[` + qsPlan + `]}}`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			p, err := c.GetProduct(ctx, seedProductID, "plans")
			return ids(err, func() []string {
				out := []string{p.ID}
				if p.Plans != nil {
					out = append(out, each(p.Plans.Data, func(pl Plan) string { return pl.ID })...)
				}
				return out
			})
		}},
	{name: "UpdateProduct", v2: true, value: true, seed: qsProduct, status: 200, want: []string{seedProductID},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			p, err := c.UpdateProduct(ctx, "product.update", seedProductID, &ProductPatch{Name: new("Pro")})
			return ids(err, func() []string { return []string{p.ID} })
		}},
	{name: "FindProducts", v2: true, value: true, seed: `{"data":[` + qsProduct + `]}`, status: 200, want: []string{seedProductID},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			ps, err := c.FindProducts(ctx, "sku.EQ:SKU-PRO")
			return ids(err, func() []string { return each(ps, func(p Product) string { return p.ID }) })
		}},
	{name: "CreatePlan", v2: true, value: true, seed: qsPlan, status: http.StatusCreated, want: []string{seedPlanID},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			p, err := c.CreatePlan(ctx, "plan.create", &PlanCreateRequest{ProductID: seedProductID, Name: "Pro monthly"})
			return ids(err, func() []string { return []string{p.ID} })
		}},
	{name: "GetPlan", v2: true, value: true, status: 200, want: []string{seedPlanID, seedPriceID},
		seed: qsPlan[:len(qsPlan)-1] + `,"prices":{"data":[` + qsPrice + `]}}`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			p, err := c.GetPlan(ctx, seedPlanID, "prices")
			return ids(err, func() []string {
				out := []string{p.ID}
				if p.Prices != nil {
					out = append(out, each(p.Prices.Data, func(pr Price) string { return pr.ID })...)
				}
				return out
			})
		}},
	{name: "UpdatePlan", v2: true, value: true, seed: qsPlan, status: 200, want: []string{seedPlanID},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			p, err := c.UpdatePlan(ctx, "plan.update", seedPlanID, &PlanPatch{Name: new("Pro monthly")})
			return ids(err, func() []string { return []string{p.ID} })
		}},
	{name: "FindPlans", v2: true, value: true, seed: `{"data":[` + qsPlan + `]}`, status: 200, want: []string{seedPlanID},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			ps, err := c.FindPlans(ctx, "product_id.EQ:"+seedProductID)
			return ids(err, func() []string { return each(ps, func(p Plan) string { return p.ID }) })
		}},
	{name: "GetPrice", v2: true, value: true, seed: qsPrice, status: 200, want: []string{seedPriceID, "19.99"},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			p, err := c.GetPrice(ctx, seedPriceID)
			return ids(err, func() []string { return []string{p.ID, p.UnitAmounts["USD"].String()} })
		}},
	{name: "UpdatePrice", v2: true, value: true, seed: qsPrice, status: 200, want: []string{seedPriceID},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			p, err := c.UpdatePrice(ctx, "price.update", seedPriceID, &PricePatch{UnitAmounts: map[string]Amount{"USD": MustAmount("19.99")}})
			return ids(err, func() []string { return []string{p.ID} })
		}},
	{name: "FindPrices", v2: true, value: true, seed: `{"data":[` + qsPrice + `]}`, status: 200, want: []string{seedPriceID},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			ps, err := c.FindPrices(ctx, "plan_id.EQ:"+seedPlanID)
			return ids(err, func() []string { return each(ps, func(p Price) string { return p.ID }) })
		}},
	{name: "CreateCharge", value: true, seed: `{"Success":true,"Id":"` + seedPriceID + `"}`, status: 200, want: []string{seedPriceID},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			id, err := c.CreateCharge(ctx, "charge.create", &ChargeCreateRequest{ProductRatePlanID: seedPlanID, Name: "Seats",
				ChargeModel: "Per Unit Pricing", ChargeType: "Recurring", BillingPeriod: "Month", UOM: "Seat",
				ProductRatePlanChargeTierData: ChargeTierData{ProductRatePlanChargeTier: []ChargeTier{{Currency: "USD", Price: MustAmount("19.99")}}}})
			return ids(err, func() []string { return []string{id} })
		}},
	{name: "GetCharge", value: true, seed: v1Charge, status: 200, want: []string{seedPriceID, "19.99"},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			ch, err := c.GetCharge(ctx, seedPriceID)
			return ids(err, func() []string {
				out := []string{ch.ID}
				if p := ch.PricingFor("USD"); p != nil && p.Price != nil {
					out = append(out, p.Price.String())
				}
				return out
			})
		}},
	{name: "ListProductRatePlans", value: true, status: 200, want: []string{seedPlanID, seedPriceID},
		seed: `{"success":true,"productRatePlans":[{"id":"` + seedPlanID + `","name":"Pro monthly","status":"Active",` +
			`"productRatePlanNumber":"PRP-00000001","effectiveStartDate":"2024-01-01","effectiveEndDate":"2099-12-31",` +
			`"planCode__c":"pro","productRatePlanCharges":[` + v1ListCharge + `]}]}`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			ps, err := c.ListProductRatePlans(ctx, seedProductID)
			return ids(err, func() []string {
				var out []string
				for _, p := range ps {
					out = append(out, p.ID)
					out = append(out, each(p.Charges, func(ch Charge) string { return ch.ID })...)
				}
				return out
			})
		}},
	{name: "CreateUnitOfMeasure", value: true, seed: `{"Success":true,"Id":"8ad08e0a8e5b3c5f018e5fa0c0d10004"}`, status: 200,
		want: []string{"8ad08e0a8e5b3c5f018e5fa0c0d10004"},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			id, err := c.CreateUnitOfMeasure(ctx, "uom.create.Seat", &UnitOfMeasure{UomName: "Seat", DecimalPlaces: 0})
			return ids(err, func() []string { return []string{id} })
		}},
	{name: "CreateOrder", value: true, status: 200, want: []string{"O-00000001", "A-S00000001"},
		seed: `{"success":true,"orderNumber":"O-00000001","accountNumber":"A00000001","status":"Completed",` +
			`"subscriptions":[{"subscriptionNumber":"A-S00000001","status":"Active"}],"orderId":"8ad0823f8e0a7d31018e0f0a2c7a1b41",` +
			`"accountId":"` + seedAccountID + `","subscriptionIds":["` + seedSubID + `"]}`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			o, err := c.CreateOrder(ctx, "order.create", answerOrderRequest())
			return ids(err, func() []string { return append([]string{o.OrderNumber}, o.AllSubscriptionNumbers()...) })
		}},
	{name: "PreviewOrder", value: true, status: 200, want: []string{"A-S00000001", "19.99"},
		seed: `{"success":true,"previewResult":{"invoices":[{"amount":19.99,"amountWithoutTax":19.99,"taxAmount":0,` +
			`"targetDate":"2024-04-01","invoiceItems":[{"serviceStartDate":"2024-03-01","serviceEndDate":"2024-03-31",` +
			`"amountWithoutTax":19.99,"taxAmount":0,"chargeName":"Seats","chargeNumber":"C-00000001","productName":"Pro",` +
			`"productRatePlanChargeId":"` + seedPriceID + `","subscriptionNumber":"A-S00000001","processingType":"Charge"}]}]}}`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			o := answerOrderRequest()
			p, err := c.PreviewOrder(ctx, "order.preview", &OrderPreviewRequest{OrderDate: o.OrderDate,
				ExistingAccountNumber: o.ExistingAccountNumber, Subscriptions: o.Subscriptions,
				PreviewOptions: OrderPreviewOptions{PreviewThruType: PreviewThruNumberOfPeriods, PreviewNumberOfPeriods: 1,
					PreviewTypes: []string{PreviewTypeBillingDocs}}})
			return ids(err, func() []string {
				var out []string
				for _, inv := range p.PreviewResult.Invoices {
					for _, it := range inv.InvoiceItems {
						out = append(out, it.SubscriptionNumber, it.AmountWithoutTax.String())
					}
				}
				return out
			})
		}},
	{name: "GetOrder", value: true, seed: `{"success":true,"order":` + v1Order + `}`, status: 200, want: []string{"O-00000001", "A-S00000001"},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			o, err := c.GetOrder(ctx, "O-00000001")
			return ids(err, func() []string { return orderIDs(*o) })
		}},
	{name: "ListSubscriptionOrders", value: true, seed: `{"success":true,"orders":[` + v1Order + `]}`, status: 200,
		want: []string{"O-00000001", "A-S00000001"},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			os, err := c.ListSubscriptionOrders(ctx, "A-S00000001", OrderStatusScheduled)
			return ids(err, func() []string {
				var out []string
				for _, o := range os {
					out = append(out, orderIDs(o)...)
				}
				return out
			})
		}},
	{name: "CancelOrder", status: 200,
		seed: `{"success":true,"orderNumber":"O-00000001","accountNumber":"A00000001","status":"Cancelled","cancelReason":"replaced"}`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			return nil, c.CancelOrder(ctx, "O-00000001", "replaced")
		}},
	{name: "EnsureOrderCancelled", status: 200,
		seed: `{"success":true,"orderNumber":"O-00000001","accountNumber":"A00000001","status":"Cancelled","cancelReason":"replaced"}`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			o, err := c.EnsureOrderCancelled(ctx, "O-00000001", "replaced")
			if o != nil {
				return []string{o.OrderNumber, o.Status}, err
			}
			return nil, err
		}},
	{name: "GetSubscriptionV1", value: true, status: 200, want: []string{seedSubID, "A-S00000001", "8ad0823f8e0a7d31018e0f0a2c7a1b50"},
		seed: `{"success":true,"id":"` + seedSubID + `","subscriptionNumber":"A-S00000001","status":"Active","version":1,` +
			`"accountId":"` + seedAccountID + `","accountNumber":"A00000001","accountName":"Acme Corp","termType":"TERMED",` +
			`"autoRenew":true,"initialTerm":1,"initialTermPeriodType":"Month","currentTerm":1,"currentTermPeriodType":"Month",` +
			`"renewalTerm":1,"renewalTermPeriodType":"Month","renewalSetting":"RENEW_WITH_SPECIFIC_TERM",` +
			`"contractEffectiveDate":"2024-03-01","subscriptionStartDate":"2024-03-01","termStartDate":"2024-03-01",` +
			`"termEndDate":"2024-04-01","contractedMrr":19.99,"totalContractedValue":19.99,"stiggCustomerId__c":"cust-1",` +
			`"ratePlans":[{"id":"8ad0823f8e0a7d31018e0f0a2c7a1b50","productId":"` + seedProductID + `","productName":"Pro",` +
			`"productRatePlanId":"` + seedPlanID + `","ratePlanName":"Pro monthly","ratePlanCharges":[{` +
			`"id":"8ad0823f8e0a7d31018e0f0a2c7a1b51","number":"C-00000001","productRatePlanChargeId":"` + seedPriceID + `",` +
			`"name":"Seats","type":"Recurring","model":"PerUnit","quantity":3,"price":19.99,"currency":"USD","uom":"Seat",` +
			`"billingPeriod":"Month","effectiveStartDate":"2024-03-01","effectiveEndDate":"2024-04-01","mrr":59.97,"tcv":59.97,` +
			`"segment":1,"version":1}]}]}`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			s, err := c.GetSubscriptionV1(ctx, "A-S00000001")
			return ids(err, func() []string {
				return append([]string{s.ID, s.SubscriptionNumber}, each(s.RatePlans, func(rp SubscriptionRatePlanV1) string { return rp.ID })...)
			})
		}},
	{name: "PreviewSubscription", value: true, status: 200, want: []string{"59.97"},
		seed: `{"success":true,"invoices":[{"amount":59.97,"amountWithoutTax":59.97,"taxAmount":0,"targetDate":"2024-04-01",` +
			`"invoiceItems":[{"serviceStartDate":"2024-04-01","serviceEndDate":"2024-04-30","amountWithoutTax":59.97,` +
			`"taxAmount":0,"unitPrice":19.99,"quantity":3,"chargeName":"Seats","chargeNumber":"C-00000001","productName":"Pro",` +
			`"processingType":"Charge"}]}]}`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			p, err := c.PreviewSubscription(ctx, "subscription.preview", "A-S00000001", &SubscriptionPreviewRequest{
				PreviewStartDate:   &PreviewStartDate{PreviewStartDatePolicy: PreviewStartToday},
				PreviewThroughDate: &PreviewThroughDate{PreviewThruDatePolicy: PreviewThroughNextBillingPeriods, NextBillingPeriods: 1}})
			return ids(err, func() []string {
				return each(p.Invoices, func(d SubscriptionPreviewDoc) string { return d.Amount.String() })
			})
		}},
	{name: "GetSubscription", v2: true, value: true, status: 200, want: []string{seedSubID, "A-S00000001", "8ad0823f8e0a7d31018e0f0a2c7a1b51"},
		seed: `{"id":"` + seedSubID + `","subscription_number":"A-S00000001","state":"active","version":1,` +
			`"account_id":"` + seedAccountID + `","auto_renew":true,"currency":"USD",` +
			`"start_date":"2024-03-01","contract_effective":"2024-03-01","subscription_plans":{"data":[{` +
			`"id":"8ad0823f8e0a7d31018e0f0a2c7a1b50","subscription_id":"` + seedSubID + `","product_id":"` + seedProductID + `",` +
			`"plan_id":"` + seedPlanID + `","subscription_items":{"data":[{"id":"8ad0823f8e0a7d31018e0f0a2c7a1b51",` +
			`"subscription_item_number":"C-00000001","price_id":"` + seedPriceID + `","charge_model":"per_unit",` +
			`"charge_type":"recurring","quantity":3,"unit_amount":19.99,"state":"active"}]}}]}}`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			s, err := c.GetSubscription(ctx, "A-S00000001", "subscription_plans", "subscription_plans.subscription_items")
			return ids(err, func() []string {
				return append([]string{s.ID, s.SubscriptionNumber}, each(s.Items(), func(it SubscriptionItem) string { return it.ID })...)
			})
		}},
	{name: "CreatePaymentMethod", v2: true, value: true, seed: qsPaymentMethod, status: http.StatusCreated, want: []string{seedPMID, "4242"},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			pm, err := c.CreatePaymentMethod(ctx, "payment_method.create", NewCcRefPaymentMethod(seedAccountID, "cus_P1", "pm_1",
				&CcRefCardRequest{Brand: "visa", ExpiryMonth: 12, ExpiryYear: 2030}))
			return ids(err, func() []string { return pmIDs(pm) })
		}},
	{name: "GetPaymentMethod", v2: true, value: true, seed: qsPaymentMethod, status: 200, want: []string{seedPMID, "4242"},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			pm, err := c.GetPaymentMethod(ctx, seedPMID)
			return ids(err, func() []string { return pmIDs(pm) })
		}},
	{name: "UpdatePaymentMethod", v2: true, value: true, seed: qsPaymentMethod, status: 200, want: []string{seedPMID, "4242"},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			pm, err := c.UpdatePaymentMethod(ctx, "payment_method.update", seedPMID, &PaymentMethodPatch{
				CcRef: &CcRefPatch{SecondToken: new("pm_1")}})
			return ids(err, func() []string { return pmIDs(pm) })
		}},
	{name: "FindPaymentMethods", v2: true, value: true, seed: `{"data":[` + qsPaymentMethod + `]}`, status: 200, want: []string{seedPMID},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			pms, err := c.FindPaymentMethods(ctx, "account_id.EQ:"+seedAccountID)
			return ids(err, func() []string { return each(pms, func(pm PaymentMethod) string { return pm.ID }) })
		}},
	{name: "CreatePayment", value: true, seed: v1Payment + `,"success":true}`, status: 200, want: []string{seedPaymentID, "19.99"},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			p, err := c.CreatePayment(ctx, "payment.create", &PaymentCreateRequest{AccountID: seedAccountID, Type: PaymentTypeExternal,
				Amount: MustAmount("19.99"), Currency: "USD", EffectiveDate: "2024-03-01",
				Invoices: []PaymentInvoice{{InvoiceID: seedInvoiceID, Amount: MustAmount("19.99")}}})
			return ids(err, func() []string { return []string{p.ID, p.Amount.String()} })
		}},
	{name: "GetPayment", value: true, seed: v1Payment + `,"success":true}`, status: 200, want: []string{seedPaymentID, "19.99"},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			p, err := c.GetPayment(ctx, "P-00000001")
			return ids(err, func() []string { return []string{p.ID, p.Amount.String()} })
		}},
	{name: "ListPayments", value: true, seed: `{"success":true,"payments":[` + v1Payment + `}]}`, status: 200, want: []string{seedPaymentID},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			ps, err := c.ListPayments(ctx, PaymentFilter{AccountID: seedAccountID})
			return ids(err, func() []string { return each(ps, func(p Payment) string { return p.ID }) })
		}},
	{name: "GetInvoice", value: true, status: 200, want: []string{seedInvoiceID, "INV00000001", "19.99"},
		seed: `{"success":true,"id":"` + seedInvoiceID + `","invoiceNumber":"INV00000001","accountId":"` + seedAccountID + `",` +
			`"status":"Posted","currency":"USD","amount":19.99,"balance":0,"paymentAmount":19.99,"creditMemoAmount":0,` +
			`"invoiceDate":"2024-03-01","dueDate":"2024-03-31","postedDate":"2024-03-01","targetDate":"2024-03-01"}`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			inv, err := c.GetInvoice(ctx, "INV00000001")
			return ids(err, func() []string { return []string{inv.ID, inv.InvoiceNumber, inv.Amount.String()} })
		}},
	{name: "ListInvoiceApplicationParts", value: true, status: 200, want: []string{seedPaymentID},
		seed: `{"success":true,"applicationParts":[{"appliedAmount":19.99,"paymentId":"` + seedPaymentID + `",` +
			`"createdDate":"2024-03-01T10:00:00-08:00","createdById":"u1","updatedDate":"2024-03-01T10:00:00-08:00","updatedById":"u1"}]}`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			ps, err := c.ListInvoiceApplicationParts(ctx, "INV00000001")
			return ids(err, func() []string { return each(ps, func(p InvoiceApplicationPart) string { return p.PaymentID }) })
		}},
	{name: "GetInvoiceObject", value: true, status: 200, want: []string{seedInvoiceID, "INV00000001"},
		seed: `{"Id":"` + seedInvoiceID + `","AccountId":"` + seedAccountID + `","InvoiceNumber":"INV00000001","Status":"Posted",` +
			`"Amount":19.99,"Balance":0,"PaymentAmount":19.99,"CreditMemoAmount":0,"RefundAmount":0,"InvoiceDate":"2024-03-01",` +
			`"DueDate":"2024-03-31","PostedDate":"2024-03-01T10:00:00.000-08:00","UpdatedDate":"2024-03-01T10:00:00.000-08:00"}`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			inv, err := c.GetInvoiceObject(ctx, seedInvoiceID)
			return ids(err, func() []string { return []string{inv.ID, inv.InvoiceNumber} })
		}},
	{name: "ListInvoiceItems", value: true, status: 200, want: []string{"8ad08e0a8e5b3c5f018e5fa0c0d10005", "A-S00000001"},
		seed: `{"success":true,"invoiceItems":[{"id":"8ad08e0a8e5b3c5f018e5fa0c0d10005","subscriptionId":"` + seedSubID + `",` +
			`"subscriptionName":"A-S00000001","chargeId":"8ad0823f8e0a7d31018e0f0a2c7a1b51","chargeName":"Seats",` +
			`"chargeType":"Recurring","chargeAmount":"59.97","balance":"0","taxAmount":"0","quantity":"3","unitPrice":19.99,` +
			`"unitOfMeasure":"Seat","productName":"Pro","processingType":"Charge","serviceStartDate":"2024-03-01",` +
			`"serviceEndDate":"2024-03-31"}]}`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			its, err := c.ListInvoiceItems(ctx, "INV00000001")
			return ids(err, func() []string {
				var out []string
				for _, it := range its {
					out = append(out, it.ID, it.SubscriptionName)
				}
				return out
			})
		}},
	{name: "ListHostedPages", value: true, status: 200, want: []string{hpSeedPageID, "2c92c0f94e29b5de014e2f2d0d4b1a2b"},
		seed: `{"hostedpages":[{"pageId":"` + hpSeedPageID + `","pageName":"Card","pageType":"Credit Card","pageVersion":"2"},` +
			`{"pageId":"2c92c0f94e29b5de014e2f2d0d4b1a2b","pageType":"ACH","pageVersion":"2"}],"success":true}`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			ps, err := c.ListHostedPages(ctx, "2")
			return ids(err, func() []string { return each(ps, func(p HostedPage) string { return p.PageID }) })
		}},
	{name: "CreateRSASignature", value: true, status: 200, want: []string{hpSeedToken, "verified"},
		seed: `{"signature":"` + hpSeedSig + `","token":"` + hpSeedToken + `","tenantId":"12270","key":"` + hpSeedKey + `","success":true}`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			sig, err := c.CreateRSASignature(ctx, "hosted_page.sign", &RSASignatureRequest{URI: hpSeedURI, PageID: hpSeedPageID})
			return ids(err, func() []string {
				// Verification is offline and returns plain errors; what it says is part of the round trip.
				if VerifyHostedPageSignature(sig, hpSeedURI, hpSeedPageID) != nil {
					return []string{sig.Token, "unverified"}
				}
				return []string{sig.Token, "verified"}
			})
		}},
	{name: "CreateUsageRecord", v2: true, value: true, seed: qsUsage, status: http.StatusCreated, want: []string{seedUsageID, "1250.5"},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			u, err := c.CreateUsageRecord(ctx, "usage.create", &UsageRecordCreateRequest{AccountNumber: "A00000001",
				SubscriptionNumber: "A-S00000001", Quantity: MustAmount("1250.5"), StartTime: "2024-05-01T00:00:00Z", UnitOfMeasure: "Call"})
			return ids(err, func() []string { return []string{u.ID, u.Quantity.String()} })
		}},
	{name: "GetUsageRecord", v2: true, value: true, seed: qsUsage, status: 200, want: []string{seedUsageID, "1250.5"},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			u, err := c.GetUsageRecord(ctx, seedUsageID)
			return ids(err, func() []string { return []string{u.ID, u.Quantity.String()} })
		}},
	{name: "UpdateUsageRecord", v2: true, value: true, seed: qsUsage, status: 200, want: []string{seedUsageID, "1250.5"},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			u, err := c.UpdateUsageRecord(ctx, "usage.patch", seedUsageID, &UsageRecordPatch{Quantity: AmountPtr("1250.5")})
			return ids(err, func() []string { return []string{u.ID, u.Quantity.String()} })
		}},
	{name: "DeleteUsageRecord", v2: true, seed: "", status: http.StatusNoContent,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			return nil, c.DeleteUsageRecord(ctx, seedUsageID)
		}},
	{name: "ListUsageRecords", v2: true, value: true, seed: `{"data":[` + qsUsage + `]}`, status: 200, want: []string{seedUsageID},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			us, err := c.ListUsageRecords(ctx, "subscription_number.EQ:A-S00000001", "state.EQ:pending")
			return ids(err, func() []string { return each(us, func(u UsageRecord) string { return u.ID }) })
		}},
	{name: "ListEventTriggers", value: true, seed: `{"data":[` + v1Trigger + `]}`, status: 200, want: []string{seedTriggerID},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			ts, err := c.ListEventTriggers(ctx, "")
			return ids(err, func() []string { return each(ts, func(t EventTrigger) string { return t.ID }) })
		}},
	{name: "CreateEventTrigger", value: true, seed: v1Trigger, status: 200, want: []string{seedTriggerID, "zsInvoicePosted"},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			t, err := c.CreateEventTrigger(ctx, "provision.trigger", &EventTrigger{Active: true, BaseObject: "Invoice",
				Condition: "changeType == 'UPDATE' && Invoice.Status == 'Posted'",
				EventType: EventType{Name: "zsInvoicePosted", DisplayName: "zuora-sync invoice posted"}})
			return ids(err, func() []string { return []string{t.ID, t.EventType.Name} })
		}},
	{name: "UpdateEventTrigger", value: true, seed: v1Trigger, status: 200, want: []string{seedTriggerID, "zsInvoicePosted"},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			t, err := c.UpdateEventTrigger(ctx, seedTriggerID, &EventTriggerUpdate{Active: new(true)})
			return ids(err, func() []string { return []string{t.ID, t.EventType.Name} })
		}},
	{name: "DeleteEventTrigger", seed: "", status: http.StatusNoContent,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			return nil, c.DeleteEventTrigger(ctx, seedTriggerID)
		}},
	{name: "ListCalloutTemplates", value: true, seed: `{"data":[` + v1Template + `]}`, status: 200, want: []string{seedTemplateID},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			ts, err := c.ListCalloutTemplates(ctx)
			return ids(err, func() []string { return each(ts, func(t CalloutTemplate) string { return t.ID }) })
		}},
	{name: "CreateCalloutTemplate", value: true, seed: v1Template, status: 200, want: []string{seedTemplateID},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			t, err := c.CreateCalloutTemplate(ctx, "provision.template", answerTemplate())
			return ids(err, func() []string { return []string{t.ID} })
		}},
	{name: "UpdateCalloutTemplate", value: true, seed: v1Template, status: 200, want: []string{seedTemplateID},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			t, err := c.UpdateCalloutTemplate(ctx, seedTemplateID, answerTemplate())
			return ids(err, func() []string { return []string{t.ID} })
		}},
	{name: "DeleteCalloutTemplate", seed: "", status: http.StatusNoContent,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			return nil, c.DeleteCalloutTemplate(ctx, seedTemplateID)
		}},
	{name: "ListNotificationDefinitions", value: true, seed: `{"data":[` + v1Definition + `]}`, status: 200, want: []string{seedDefID},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			ds, err := c.ListNotificationDefinitions(ctx)
			return ids(err, func() []string { return each(ds, func(d NotificationDefinition) string { return d.ID }) })
		}},
	{name: "CreateNotificationDefinition", value: true, seed: v1Definition, status: 200, want: []string{seedDefID, seedTemplateID},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			d, err := c.CreateNotificationDefinition(ctx, "provision.definition", answerDefinition())
			return ids(err, func() []string { return append([]string{d.ID}, d.CalloutTemplateIDs...) })
		}},
	{name: "UpdateNotificationDefinition", value: true, seed: v1Definition, status: 200, want: []string{seedDefID, seedTemplateID},
		call: func(ctx context.Context, c *Client) ([]string, error) {
			d, err := c.UpdateNotificationDefinition(ctx, seedDefID, answerDefinition())
			return ids(err, func() []string { return append([]string{d.ID}, d.CalloutTemplateIDs...) })
		}},
	{name: "DeleteNotificationDefinition", seed: "", status: http.StatusNoContent,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			return nil, c.DeleteNotificationDefinition(ctx, seedDefID)
		}},
	{name: "ListCalloutHistory", value: true, status: 200, want: []string{seedHistoryID, "3"},
		seed: `{"calloutHistories":[{"id":"` + seedHistoryID + `","notificationId":"2c93808457d787030157e031fcd34e23",` +
			`"notification":"zuora-sync invoice posted","eventCategory":"zsInvoicePosted","attemptedNum":"3",` +
			`"createTime":"2024-03-01T10:00:00","requestMethod":"POST","requestUrl":"https://bridge.example.com/callouts",` +
			`"responseCode":"503","responseContent":"unavailable","eventContext":"{}"}]}`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			hs, err := c.ListCalloutHistory(ctx, CalloutHistoryQuery{ObjectID: seedInvoiceID, AllDeliveries: true})
			return ids(err, func() []string {
				var out []string
				for _, h := range hs {
					out = append(out, h.ID, h.AttemptedNum)
				}
				return out
			})
		}},
	{name: "ResendCallouts", value: true, status: http.StatusAccepted, want: []string{"ObjectNotFound"},
		seed: `{"` + seedHistoryID + `":{"code":"ObjectNotFound","message":"no callout history with id"}}`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			refused, err := c.ResendCallouts(ctx, "callouts.resend", []string{seedHistoryID})
			return ids(err, func() []string {
				var out []string
				for _, r := range refused {
					out = append(out, r.Code)
				}
				return out
			})
		}},
	{name: "DescribeFields", value: true, status: 200, ctype: "text/xml; charset=utf-8", want: []string{"Id", "stiggCustomerId__c"},
		seed: `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<object><name>Account</name><label>Account</label><fields>` +
			`<field><name>Id</name><label>Id</label><type>text</type><contexts><context>soap</context></contexts></field>` +
			`<field><name>stiggCustomerId__c</name><label>stiggCustomerId</label><type>text</type></field></fields></object>`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			fs, err := c.DescribeFields(ctx, "Account")
			return ids(err, func() []string { return each(fs, func(f DescribedField) string { return f.Name }) })
		}},
	{name: "ListPaymentTerms", value: true, status: 200, want: []string{"8ad09be48db5aba7018db604776d4860", "30"},
		seed: `{"paymentTerms":[{"id":"8ad09be48db5aba7018db604776d4860","name":"Net 30","active":true,"type":"DAYS","dueDays":30}]}`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			ts, err := c.ListPaymentTerms(ctx)
			return ids(err, func() []string {
				var out []string
				for _, t := range ts {
					out = append(out, t.ID, strconv.Itoa(t.DueDays))
				}
				return out
			})
		}},
	{name: "OAuthToken", v2: true, value: true, token: true, status: 200, want: []string{seedAccountID},
		seed: `{"access_token":"` + seedAccessToken + `","token_type":"bearer","expires_in":3599,"scope":"user.1 tenant.2",` +
			`"jti":"` + seedAccessToken + `"}`,
		call: func(ctx context.Context, c *Client) ([]string, error) {
			a, err := c.GetAccount(ctx, seedAccountID)
			return ids(err, func() []string { return []string{a.ID} })
		}},
}

// ids runs got only when the call succeeded: a failed call yields nothing.
func ids(err error, got func() []string) ([]string, error) {
	if err != nil {
		return nil, err
	}
	return got(), nil
}

func each[T any](xs []T, f func(T) string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

func orderIDs(o Order) []string {
	return append([]string{o.OrderNumber}, each(o.Subscriptions, func(s OrderSubscription) string { return s.SubscriptionNumber })...)
}

func pmIDs(pm *PaymentMethod) []string {
	out := []string{pm.ID}
	if pm.CcRef != nil && pm.CcRef.Card != nil {
		out = append(out, pm.CcRef.Card.Last4)
	}
	return out
}

func answerOrderRequest() *OrderRequest {
	terms, _ := TermForBillingPeriod(BillingPeriodMonth)
	return &OrderRequest{OrderDate: "2024-03-01", ExistingAccountNumber: "A00000001", Subscriptions: []OrderSubscription{{
		OrderActions: []OrderAction{NewCreateSubscriptionAction("2024-03-01", &OrderCreateSubscription{Terms: terms,
			SubscribeToRatePlans: []OrderRatePlan{{ProductRatePlanID: seedPlanID}}})},
	}}}
}

func answerTemplate() *CalloutTemplate {
	return &CalloutTemplate{Name: "zuora-sync invoice posted", Active: true, CalloutBaseurl: "https://bridge.example.com/callouts",
		HTTPMethod: "POST", EventTypeName: "zsInvoicePosted", EventTypeNamespace: EventTypeNamespaceUser, CalloutRetry: true,
		RequiredAuth: true, CalloutAuth: &CalloutAuth{Username: "zuora", Password: "secret", Preemptive: true}}
}

func answerDefinition() *NotificationDefinition {
	return &NotificationDefinition{Name: "zuora-sync invoice posted", Active: true, EventTypeName: "zsInvoicePosted",
		EventTypeNamespace: EventTypeNamespaceUser, CalloutActive: true, CalloutTemplateIDs: []string{seedTemplateID}}
}

// Each seed is a valid answer as Zuora's OpenAPI documents have it (the requests are checked too), and the
// method yields what it holds.
func TestAnswerSeeds(t *testing.T) {
	srv := newAnswerServer(t)
	check := conformance.Load(t)
	for _, call := range answerCalls {
		t.Run(call.name, func(t *testing.T) {
			c, err := New(Config{BaseURL: srv.srv.URL, ClientID: testClientID, ClientSecret: testClientSecret,
				Transport: check.Transport(t, srv.keep), RequestTimeout: answerTimeout})
			if err != nil {
				t.Fatal(err)
			}
			ctype := call.ctype
			if ctype == "" {
				ctype = "application/json"
			}
			a := &answer{status: call.status, ctype: ctype, body: []byte(call.seed), token: call.token}
			got, err := call.call(srv.expect(t, a), c)
			if err != nil || !slices.Equal(got, call.want) {
				t.Fatalf("got %q, %v; want %q", got, err, call.want)
			}
			if _, auth := a.seen(); call.token && (len(auth) != 1 || auth[0] != "Bearer "+seedAccessToken) {
				t.Fatalf("the API call carried %q, not the token of the answer", auth)
			}
		})
	}
}
