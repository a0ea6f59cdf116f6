package zuorasim

import "net/http"

// route is one Zuora endpoint: its net/http pattern ("METHOD /path/{param}"), how it holds the store, and the
// endpoint. raw is the old handler shape, kept only until its endpoint is converted.
type route struct {
	pattern string
	access  access
	ep      endpoint
	raw     http.HandlerFunc
}

// routes is the table of every Zuora endpoint the simulator serves: the one place to look for what exists.
func (s *Sim) routes() []route {
	return []route{
		{pattern: "POST /oauth/token", access: read, ep: s.token}, // tokens live outside the store
		// accounts.go
		{pattern: "POST /v2/accounts", access: write, ep: s.createAccount},
		{pattern: "GET /v2/accounts", access: read, ep: s.listAccounts},
		{pattern: "GET /v2/accounts/{account_id}", access: read, ep: s.getAccount},
		{pattern: "PATCH /v2/accounts/{account_id}", access: write, ep: s.patchAccount},
		{pattern: "GET /v1/accounts/{account_key}", access: read, ep: s.v1GetAccount},
		// settings.go
		{pattern: "GET /v1/settings/payment-terms", access: read, ep: s.listPaymentTerms},
		{pattern: "GET /settings/payment-terms", access: read, ep: s.listPaymentTerms},
		// catalog.go
		{pattern: "POST /v2/products", raw: s.handleCreateProduct},
		{pattern: "GET /v2/products", raw: s.handleListProducts},
		{pattern: "GET /v2/products/{product_id}", raw: s.handleGetProduct},
		{pattern: "PATCH /v2/products/{product_id}", raw: s.handlePatchProduct},
		{pattern: "POST /v2/plans", raw: s.handleCreatePlan},
		{pattern: "GET /v2/plans", raw: s.handleListPlans},
		{pattern: "GET /v2/plans/{plan_id}", raw: s.handleGetPlan},
		{pattern: "PATCH /v2/plans/{plan_id}", raw: s.handlePatchPlan},
		// prices.go
		{pattern: "GET /v2/prices", raw: s.handleListPrices},
		{pattern: "GET /v2/prices/{price_id}", raw: s.handleGetPrice},
		{pattern: "PATCH /v2/prices/{price_id}", raw: s.handlePatchPrice},
		// charges.go
		{pattern: "POST /v1/object/product-rate-plan-charge", raw: s.handleCreateCharge},
		{pattern: "GET /v1/object/product-rate-plan-charge/{id}", raw: s.handleCRUDGetCharge},
		{pattern: "GET /v1/product-rate-plan-charges/{charge_key}", raw: s.handleV1GetCharge},
		{pattern: "GET /v1/products/{product_key}/product-rate-plans", raw: s.handleV1ListRatePlans},
		// uom.go
		{pattern: "POST /v1/object/unit-of-measure", access: write, ep: s.createUOM},
		{pattern: "GET /v1/object/unit-of-measure/{id}", access: read, ep: s.getUOM},
		// orders.go
		{pattern: "POST /v1/orders", raw: s.handleCreateOrder},
		{pattern: "POST /v1/orders/preview", raw: s.handlePreviewOrder},
		{pattern: "GET /v1/orders/{order_number}", raw: s.handleGetOrder},
		{pattern: "GET /v1/orders/subscription/{subscription_number}", raw: s.handleListSubscriptionOrders},
		{pattern: "PUT /v1/orders/{order_number}/cancel", raw: s.handleCancelOrder},
		// subscriptions.go
		{pattern: "GET /v1/subscriptions/{subscription_key}", raw: s.handleV1GetSubscription},
		{pattern: "GET /v2/subscriptions/{subscription_id}", raw: s.handleQSGetSubscription},
		{pattern: "POST /v1/subscriptions/{subscription_key}/preview", raw: s.handlePreviewSubscription},
	}
}

// registerRoutes puts the route table on mux.
func (s *Sim) registerRoutes(mux *http.ServeMux) {
	for _, rt := range s.routes() {
		if rt.ep != nil {
			mux.HandleFunc(rt.pattern, s.serve(rt.access, rt.ep))
		} else {
			mux.HandleFunc(rt.pattern, rt.raw)
		}
	}
}
