package zuorasim

import "net/http"

// route is one Zuora endpoint: its net/http pattern ("METHOD /path/{param}"), how it holds the store, and the
// endpoint.
type route struct {
	pattern string
	access  access
	ep      endpoint
}

// routes is the table of every Zuora endpoint the simulator serves: the one place to look for what exists.
func (s *Sim) routes() []route {
	return append(append(s.coreRoutes(), s.notificationRoutes()...), s.invoiceReadRoutes()...)
}

func (s *Sim) coreRoutes() []route {
	return []route{
		{pattern: "POST /oauth/token", access: read, ep: s.token}, // tokens live outside the store
		// accounts.go
		{pattern: "POST /v2/accounts", access: write, ep: s.createAccount},
		{pattern: "GET /v2/accounts", access: read, ep: s.listAccounts},
		{pattern: "GET /v2/accounts/{account_id}", access: read, ep: s.getAccount},
		{pattern: "PATCH /v2/accounts/{account_id}", access: write, ep: s.patchAccount},
		{pattern: "GET /v1/accounts/{account_key}", access: read, ep: s.v1GetAccount},
		// describe.go: object descriptions, with the tenant's custom fields
		{pattern: "GET /v1/describe/{object}", access: read, ep: s.describe},
		// payment_methods.go: Quickstart payment methods (cc_ref only)
		{pattern: "POST /v2/payment_methods", access: write, ep: s.createPaymentMethod},
		{pattern: "GET /v2/payment_methods", access: read, ep: s.listPaymentMethods},
		{pattern: "GET /v2/payment_methods/{payment_method_id}", access: read, ep: s.getPaymentMethod},
		{pattern: "PATCH /v2/payment_methods/{payment_method_id}", access: write, ep: s.patchPaymentMethod},
		// payments.go: V1 payments and the invoice reads a payer looks at first. Like the order endpoints, each
		// first does what the clock has made due (it may post an invoice), so even the reads hold the store for
		// writing.
		{pattern: "POST /v1/payments", access: write, ep: s.createPayment},
		{pattern: "GET /v1/payments", access: write, ep: s.listPayments},
		{pattern: "GET /v1/payments/{payment_key}", access: write, ep: s.getPayment},
		{pattern: "GET /v1/invoices/{invoice_key}", access: write, ep: s.v1GetInvoice},
		{pattern: "GET /v1/invoices/{invoice_key}/application-parts", access: write, ep: s.invoiceApplicationParts},
		// hosted_pages.go: Payment Pages 2.0 (the key pair is the signer's, outside the tenant data)
		{pattern: "GET /v1/hostedpages", access: read, ep: s.listHostedPages},
		{pattern: "POST /v1/rsa-signatures", access: read, ep: s.createRSASignature},
		// settings.go
		{pattern: "GET /v1/settings/payment-terms", access: read, ep: s.listPaymentTerms},
		{pattern: "GET /settings/payment-terms", access: read, ep: s.listPaymentTerms},
		// catalog.go
		{pattern: "POST /v2/products", access: write, ep: s.createProduct},
		{pattern: "GET /v2/products", access: read, ep: s.listProducts},
		{pattern: "GET /v2/products/{product_id}", access: read, ep: s.getProduct},
		{pattern: "PATCH /v2/products/{product_id}", access: write, ep: s.patchProduct},
		{pattern: "POST /v2/plans", access: write, ep: s.createPlan},
		{pattern: "GET /v2/plans", access: read, ep: s.listPlans},
		{pattern: "GET /v2/plans/{plan_id}", access: read, ep: s.getPlan},
		{pattern: "PATCH /v2/plans/{plan_id}", access: write, ep: s.patchPlan},
		// prices.go
		{pattern: "GET /v2/prices", access: read, ep: s.listPrices},
		{pattern: "GET /v2/prices/{price_id}", access: read, ep: s.getPrice},
		{pattern: "PATCH /v2/prices/{price_id}", access: write, ep: s.patchPrice},
		// charges.go
		{pattern: "POST /v1/object/product-rate-plan-charge", access: write, ep: s.createCharge},
		{pattern: "GET /v1/object/product-rate-plan-charge/{id}", access: read, ep: s.crudGetCharge},
		{pattern: "GET /v1/product-rate-plan-charges/{charge_key}", access: read, ep: s.v1GetCharge},
		{pattern: "GET /v1/products/{product_key}/product-rate-plans", access: read, ep: s.v1ListRatePlans},
		// uom.go
		{pattern: "POST /v1/object/unit-of-measure", access: write, ep: s.createUOM},
		{pattern: "GET /v1/object/unit-of-measure/{id}", access: read, ep: s.getUOM},
		// orders_*.go and subscriptions.go: every one first runs the scheduled orders that have come due
		// (orders_scheduled.go), so even the reads hold the store for writing.
		{pattern: "POST /v1/orders", access: write, ep: s.createOrder},
		{pattern: "POST /v1/orders/preview", access: write, ep: s.previewOrder},
		{pattern: "GET /v1/orders/{order_number}", access: write, ep: s.getOrder},
		{pattern: "GET /v1/orders/subscription/{subscription_number}", access: write, ep: s.listSubscriptionOrders},
		{pattern: "PUT /v1/orders/{order_number}/cancel", access: write, ep: s.cancelOrder},
		{pattern: "GET /v1/subscriptions/{subscription_key}", access: write, ep: s.v1GetSubscription},
		{pattern: "GET /v2/subscriptions/{subscription_id}", access: write, ep: s.getSubscription},
		{pattern: "POST /v1/subscriptions/{subscription_key}/preview", access: write, ep: s.previewSubscription},
		// usage.go: usage records. Like the order and subscription endpoints, every one first does what the clock
		// has made due (scheduled orders, usage of ended billing periods), so even the reads hold the store for
		// writing.
		{pattern: "POST /v2/usage_records", access: write, ep: s.createUsageRecord},
		{pattern: "GET /v2/usage_records", access: write, ep: s.listUsageRecords},
		{pattern: "GET /v2/usage_records/{usage_record_id}", access: write, ep: s.getUsageRecord},
		{pattern: "PATCH /v2/usage_records/{usage_record_id}", access: write, ep: s.patchUsageRecord},
		{pattern: "DELETE /v2/usage_records/{usage_record_id}", access: write, ep: s.deleteUsageRecord},
	}
}

// registerRoutes puts the route table on mux.
func (s *Sim) registerRoutes(mux *http.ServeMux) {
	for _, rt := range s.routes() {
		mux.HandleFunc(rt.pattern, s.serve(rt.access, rt.ep))
	}
}
