package zuoraapi

import (
	"context"
)

// Quickstart (v2) payment methods: snake_case fields as in the Quickstart spec's `paymentMethod`,
// `paymentMethodCreateRequest` and `paymentMethodPatchRequest` schemas, for the type this client creates:
// cc_ref, a credit card reference transaction (a card tokenised at the payment gateway). For a Stripe gateway the
// token is the Stripe customer and the second token its payment method.
//
// There is deliberately no field for a card number or a security code: raw card data never passes through this
// client. Cards reach Zuora tokenised (cc_ref) or through Zuora's hosted payment pages.

// PaymentMethodTypeCcRef is the type of a credit card reference transaction payment method.
const PaymentMethodTypeCcRef = "cc_ref"

// BillingAddress is a payment method's billing address.
type BillingAddress struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	Country    string `json:"country,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
}

// BillingDetails is a payment method's billing details. On a patch, only the fields set are changed.
type BillingDetails struct {
	Name    string          `json:"name,omitempty"`
	Email   string          `json:"email,omitempty"`
	Phone   string          `json:"phone,omitempty"`
	Address *BillingAddress `json:"address,omitempty"`
}

// MandateRequest is the mandate sent with a payment method (the gateway's mandate id and its reason).
type MandateRequest struct {
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Mandate is a payment method's mandate as read; State (active, canceled, expired, agreed) is Zuora's.
type Mandate struct {
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason,omitempty"`
	State  string `json:"state,omitempty"`
}

// CcRefCardRequest is the display data of the card behind a cc_ref payment method: brand (visa, mastercard,
// american_express, discover, jcb, diners) and expiry. The last four digits are Zuora's to fill in.
type CcRefCardRequest struct {
	Brand       string `json:"brand,omitempty"`
	ExpiryMonth int    `json:"expiry_month,omitempty"`
	ExpiryYear  int    `json:"expiry_year,omitempty"`
}

// CcRefCard is the card behind a cc_ref payment method as read.
type CcRefCard struct {
	Brand       string `json:"brand,omitempty"`
	ExpiryMonth int    `json:"expiry_month,omitempty"`
	ExpiryYear  int    `json:"expiry_year,omitempty"`
	Last4       string `json:"last_4,omitempty"`
}

// CcRefRequest is the cc_ref hash of a create: Token is required; SecondToken is required when Token is a
// gateway customer profile (it then names the tokenised payment method).
type CcRefRequest struct {
	Token       string            `json:"token"`
	SecondToken string            `json:"second_token,omitempty"`
	Mandate     *MandateRequest   `json:"mandate,omitempty"`
	Card        *CcRefCardRequest `json:"card,omitempty"`
}

// CcRef is the cc_ref hash of a payment method as read.
type CcRef struct {
	Token       string     `json:"token,omitempty"`
	SecondToken string     `json:"second_token,omitempty"`
	Mandate     *Mandate   `json:"mandate,omitempty"`
	Card        *CcRefCard `json:"card,omitempty"`
}

// PaymentMethod is a Quickstart payment method. Zuora has no "is default" on the payment method itself: the
// account's DefaultPaymentMethodID says which one is the default.
type PaymentMethod struct {
	ID                       string          `json:"id"`
	Type                     string          `json:"type"`
	AccountID                string          `json:"account_id,omitempty"`
	State                    string          `json:"state,omitempty"` // active, closed, scrubbed
	BillingDetails           *BillingDetails `json:"billing_details,omitempty"`
	CcRef                    *CcRef          `json:"cc_ref,omitempty"`
	MaximumPaymentAttempts   *int            `json:"maximum_payment_attempts,omitempty"`
	PaymentRetryInterval     *int            `json:"payment_retry_interval,omitempty"`
	UseDefaultRetryRule      bool            `json:"use_default_retry_rule"`
	DeviceSessionID          string          `json:"device_session_id,omitempty"`
	BankIdentificationNumber string          `json:"bank_identification_number,omitempty"`
	CustomFields             map[string]any  `json:"custom_fields,omitempty"`
	CreatedTime              string          `json:"created_time,omitempty"`
	UpdatedTime              string          `json:"updated_time,omitempty"`
}

// PaymentMethodCreateRequest is the body of POST /v2/payment_methods. Type is required (PaymentMethodTypeCcRef,
// with CcRef). AccountID or AccountNumber attach the payment method to an account (without either it is an
// orphan); IsDefault makes it the account's default payment method.
type PaymentMethodCreateRequest struct {
	Type                   string            `json:"type"`
	AccountID              string            `json:"account_id,omitempty"`
	AccountNumber          string            `json:"account_number,omitempty"`
	IsDefault              *bool             `json:"is_default,omitempty"`
	BillingDetails         *BillingDetails   `json:"billing_details,omitempty"`
	CcRef                  *CcRefRequest     `json:"cc_ref,omitempty"`
	MaximumPaymentAttempts *int              `json:"maximum_payment_attempts,omitempty"`
	PaymentRetryInterval   *int              `json:"payment_retry_interval,omitempty"` // hours
	GatewayID              string            `json:"gateway_id,omitempty"`
	GatewayOptions         map[string]string `json:"gateway_options,omitempty"`
	CustomFields           map[string]any    `json:"custom_fields,omitempty"`
}

// NewCcRefPaymentMethod is the create body of a cc_ref payment method for an account: the gateway's token and
// second token and the card's display data.
func NewCcRefPaymentMethod(accountID, token, secondToken string, card *CcRefCardRequest) *PaymentMethodCreateRequest {
	return &PaymentMethodCreateRequest{Type: PaymentMethodTypeCcRef, AccountID: accountID,
		CcRef: &CcRefRequest{Token: token, SecondToken: secondToken, Card: card}}
}

// CcRefPatch changes a cc_ref payment method's second token or mandate (its card data cannot change).
type CcRefPatch struct {
	SecondToken *string         `json:"second_token,omitempty"`
	Mandate     *MandateRequest `json:"mandate,omitempty"`
}

// PaymentMethodPatch is the body of PATCH /v2/payment_methods/{id}: nil fields are not sent. AccountID or
// AccountNumber move the payment method to another account; make it that account's default with
// UpdateAccount(DefaultPaymentMethodID).
type PaymentMethodPatch struct {
	AccountID              *string           `json:"account_id,omitempty"`
	AccountNumber          *string           `json:"account_number,omitempty"`
	BillingDetails         *BillingDetails   `json:"billing_details,omitempty"`
	CcRef                  *CcRefPatch       `json:"cc_ref,omitempty"`
	MaximumPaymentAttempts *int              `json:"maximum_payment_attempts,omitempty"`
	PaymentRetryInterval   *int              `json:"payment_retry_interval,omitempty"`
	GatewayID              *string           `json:"gateway_id,omitempty"`
	GatewayOptions         map[string]string `json:"gateway_options,omitempty"`
	CustomFields           map[string]any    `json:"custom_fields,omitempty"`
}

// IsEmpty reports whether the patch would change nothing (callers then skip the call).
func (p *PaymentMethodPatch) IsEmpty() bool { return p == nil || emptyJSON(p) }

// CreatePaymentMethod creates a payment method (POST /v2/payment_methods).
func (c *Client) CreatePaymentMethod(ctx context.Context, step string, req *PaymentMethodCreateRequest) (*PaymentMethod, error) {
	return qsCreate[PaymentMethod](c, ctx, step, "/v2/payment_methods", req)
}

// GetPaymentMethod fetches a payment method by id (GET /v2/payment_methods/{payment_method_id}).
func (c *Client) GetPaymentMethod(ctx context.Context, id string) (*PaymentMethod, error) {
	return qsGet[PaymentMethod](c, ctx, "/v2/payment_methods", id, nil)
}

// UpdatePaymentMethod sends only the fields set in patch (PATCH /v2/payment_methods/{payment_method_id}).
func (c *Client) UpdatePaymentMethod(ctx context.Context, step, id string, patch *PaymentMethodPatch) (*PaymentMethod, error) {
	return qsPatch[PaymentMethod](c, ctx, step, "/v2/payment_methods", id, patch)
}

// FindPaymentMethods lists the payment methods matching all filters, Quickstart filter syntax, e.g.
// "account_id.EQ:8ad0…", following next_page up to a bound.
func (c *Client) FindPaymentMethods(ctx context.Context, filters ...string) ([]PaymentMethod, error) {
	return qsFind[PaymentMethod](c, ctx, "/v2/payment_methods", filters)
}
