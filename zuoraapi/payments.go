package zuoraapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// V1 payments and invoices: camelCase fields as in the V1 spec's `CreatePaymentType`,
// `GETARPaymentTypeWithPaymentOption` / `GETARPaymentType`, `PaymentCollectionResponseType`,
// `GetInvoiceResponse` and `GetInvoiceApplicationPartCollectionType`.

// Payment types.
const (
	PaymentTypeExternal   = "External"   // recorded in Zuora, collected elsewhere
	PaymentTypeElectronic = "Electronic" // collected through the payment gateway
)

// PaymentInvoice is the part of a payment applied to one invoice (by the invoice's id).
type PaymentInvoice struct {
	InvoiceID string `json:"invoiceId"`
	Amount    Amount `json:"amount"`
}

// PaymentCreateRequest is the body of POST /v1/payments. AccountID or AccountNumber, Amount, Currency (the
// account's) and Type are required. An Electronic payment uses PaymentMethodID, else the account's default
// payment method. What Invoices do not take stays on the account as unapplied payment.
type PaymentCreateRequest struct {
	AccountID       string           `json:"accountId,omitempty"`
	AccountNumber   string           `json:"accountNumber,omitempty"`
	Type            string           `json:"type"`
	Amount          Amount           `json:"amount"`
	Currency        string           `json:"currency"`
	EffectiveDate   string           `json:"effectiveDate,omitempty"` // YYYY-MM-DD; default today
	PaymentMethodID string           `json:"paymentMethodId,omitempty"`
	Invoices        []PaymentInvoice `json:"invoices,omitempty"`
	Comment         string           `json:"comment,omitempty"`     // at most 255 characters
	ReferenceID     string           `json:"referenceId,omitempty"` // at most 100 characters
	GatewayOrderID  string           `json:"gatewayOrderId,omitempty"`
}

// Payment is a V1 payment as created or read. EffectiveDate is the text Zuora sends (the spec types it as a
// date-time; Zuora's samples show a date).
type Payment struct {
	ID                  string `json:"id"`
	Number              string `json:"number"`
	AccountID           string `json:"accountId"`
	AccountNumber       string `json:"accountNumber"`
	Type                string `json:"type"`   // External | Electronic
	Status              string `json:"status"` // Draft, Processing, Processed, Error, Canceled, Posted
	Amount              Amount `json:"amount"`
	AppliedAmount       Amount `json:"appliedAmount"`
	UnappliedAmount     Amount `json:"unappliedAmount"`
	RefundAmount        Amount `json:"refundAmount"`
	Currency            string `json:"currency"`
	EffectiveDate       string `json:"effectiveDate"`
	PaymentMethodID     string `json:"paymentMethodId,omitempty"`
	GatewayState        string `json:"gatewayState,omitempty"`
	GatewayResponse     string `json:"gatewayResponse,omitempty"`
	GatewayResponseCode string `json:"gatewayResponseCode,omitempty"`
	Comment             string `json:"comment,omitempty"`
	ReferenceID         string `json:"referenceId,omitempty"`
	CreatedDate         string `json:"createdDate,omitempty"`
	UpdatedDate         string `json:"updatedDate,omitempty"`
}

// CreatePayment creates a payment (POST /v1/payments). A refusal (HTTP 200 with success:false, e.g. no usable
// payment method for an Electronic payment, an amount above an invoice's balance) is a *Error.
func (c *Client) CreatePayment(ctx context.Context, step string, req *PaymentCreateRequest) (*Payment, error) {
	var out Payment
	if err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/v1/payments", Body: req, Step: step}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetPayment fetches a payment by id or number (GET /v1/payments/{paymentKey}).
func (c *Client) GetPayment(ctx context.Context, key string) (*Payment, error) {
	var out Payment
	if err := c.Do(ctx, Request{Path: "/v1/payments/" + url.PathEscape(key)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PaymentFilter narrows ListPayments; empty fields do not filter.
type PaymentFilter struct {
	AccountID string
	Number    string
	Type      string
	Status    string
}

// paymentsPageSize is the largest page GET /v1/payments serves.
const paymentsPageSize = 40

type paymentPage struct {
	Payments []Payment `json:"payments"`
	NextPage string    `json:"nextPage"`
}

// ListPayments lists the payments matching f (GET /v1/payments), page by page; past maxListPages pages it is a
// *Error.
func (c *Client) ListPayments(ctx context.Context, f PaymentFilter) ([]Payment, error) {
	q := url.Values{"pageSize": {strconv.Itoa(paymentsPageSize)}}
	for k, v := range map[string]string{"accountId": f.AccountID, "number": f.Number, "type": f.Type, "status": f.Status} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var all []Payment
	for page := 1; page <= maxListPages; page++ {
		q.Set("page", strconv.Itoa(page))
		var p paymentPage
		if err := c.Do(ctx, Request{Path: "/v1/payments", Query: q}, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Payments...)
		if p.NextPage == "" || len(p.Payments) == 0 {
			return all, nil
		}
	}
	// A shorter list could miss the payment a lost answer made, and a retry would pay twice.
	return nil, tooManyPages("/v1/payments", maxListPages)
}

// InvoiceV1 is an invoice as GET /v1/invoices/{invoiceKey} returns it (without items).
type InvoiceV1 struct {
	ID               string `json:"id"`
	InvoiceNumber    string `json:"invoiceNumber"`
	AccountID        string `json:"accountId"`
	Status           string `json:"status"` // Draft, Posted, Canceled, Error
	Currency         string `json:"currency,omitempty"`
	Amount           Amount `json:"amount"`
	Balance          Amount `json:"balance"`
	PaymentAmount    Amount `json:"paymentAmount"`
	CreditMemoAmount Amount `json:"creditMemoAmount"`
	InvoiceDate      string `json:"invoiceDate,omitempty"`
	DueDate          string `json:"dueDate,omitempty"`
	PostedDate       string `json:"postedDate,omitempty"`
	TargetDate       string `json:"targetDate,omitempty"`
}

// GetInvoice fetches an invoice by id or number (GET /v1/invoices/{invoiceKey}).
func (c *Client) GetInvoice(ctx context.Context, key string) (*InvoiceV1, error) {
	var out InvoiceV1
	if err := c.Do(ctx, Request{Path: "/v1/invoices/" + url.PathEscape(key)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// InvoiceApplicationPart is one payment (PaymentID) or credit memo (CreditMemoID) applied to an invoice.
type InvoiceApplicationPart struct {
	AppliedAmount Amount `json:"appliedAmount"`
	PaymentID     string `json:"paymentId,omitempty"`
	CreditMemoID  string `json:"creditMemoId,omitempty"`
	CreatedDate   string `json:"createdDate,omitempty"`
}

// ListInvoiceApplicationParts lists the payments and credit memos applied to an invoice
// (GET /v1/invoices/{invoiceKey}/application-parts).
func (c *Client) ListInvoiceApplicationParts(ctx context.Context, key string) ([]InvoiceApplicationPart, error) {
	var out struct {
		ApplicationParts []InvoiceApplicationPart `json:"applicationParts"`
	}
	if err := c.Do(ctx, Request{Path: "/v1/invoices/" + url.PathEscape(key) + "/application-parts"}, &out); err != nil {
		return nil, err
	}
	return out.ApplicationParts, nil
}
