package zuoraapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// V1 invoice reads: the CRUD Invoice object (GET /v1/object/invoice/{id}; Zuora's "Older API" reference,
// "CRUD: Retrieve an invoice", fields PascalCase as the Invoice object's field descriptions name them) and the
// invoice's items (GET /v1/invoices/{invoiceKey}/items, "GETInvoiceItemsResponse").

// Invoice statuses (the CRUD object and the V1 reads spell them alike).
const (
	InvoiceStatusDraft    = "Draft"
	InvoiceStatusPosted   = "Posted"
	InvoiceStatusCanceled = "Canceled"
	InvoiceStatusError    = "Error"
)

// InvoiceObject is the CRUD Invoice object. Currency is sent by the WSDL versions that know multi-currency
// invoices; it may be empty.
type InvoiceObject struct {
	ID               string `json:"Id"`
	AccountID        string `json:"AccountId"`
	InvoiceNumber    string `json:"InvoiceNumber"`
	Currency         string `json:"Currency,omitempty"`
	Status           string `json:"Status"` // Draft, Posted, Canceled, Error
	Amount           Amount `json:"Amount"`
	Balance          Amount `json:"Balance"`
	PaymentAmount    Amount `json:"PaymentAmount"`
	CreditMemoAmount Amount `json:"CreditMemoAmount"`
	RefundAmount     Amount `json:"RefundAmount"`
	InvoiceDate      string `json:"InvoiceDate,omitempty"`
	DueDate          string `json:"DueDate,omitempty"`
	PostedDate       string `json:"PostedDate,omitempty"`
	UpdatedDate      string `json:"UpdatedDate,omitempty"`
}

// GetInvoiceObject fetches the CRUD Invoice object by the invoice's id (not its number: CRUD reads take ids).
// An unknown id is a *Error with Kind NotFound (CRUD answers 404, INVALID_ID or an empty query result).
func (c *Client) GetInvoiceObject(ctx context.Context, id string) (*InvoiceObject, error) {
	var out InvoiceObject
	if err := c.Do(ctx, Request{Path: "/v1/object/invoice/" + url.PathEscape(id)}, &out); err != nil {
		return nil, err
	}
	if out.ID == "" {
		return nil, &Error{Kind: KindUnknown, StatusCode: http.StatusOK, Method: http.MethodGet, Path: "/v1/object/invoice/" + id,
			Message: "the CRUD invoice read answered without an Id"}
	}
	return &out, nil
}

// InvoiceItem is one item of an invoice ("InvoiceItem"). SubscriptionName is the subscription's number.
type InvoiceItem struct {
	ID                      string `json:"id"`
	SubscriptionID          string `json:"subscriptionId,omitempty"`
	SubscriptionName        string `json:"subscriptionName,omitempty"`
	ChargeID                string `json:"chargeId,omitempty"`
	ChargeName              string `json:"chargeName,omitempty"`
	ChargeType              string `json:"chargeType,omitempty"` // OneTime, Recurring, Usage
	ChargeAmount            Amount `json:"chargeAmount"`
	Balance                 Amount `json:"balance"`
	TaxAmount               Amount `json:"taxAmount"`
	Quantity                Amount `json:"quantity"`
	UnitPrice               Amount `json:"unitPrice"`
	UnitOfMeasure           string `json:"unitOfMeasure,omitempty"`
	ProductName             string `json:"productName,omitempty"`
	ProductRatePlanChargeID string `json:"productRatePlanChargeId,omitempty"`
	ProcessingType          string `json:"processingType,omitempty"`
	ServiceStartDate        string `json:"serviceStartDate,omitempty"`
	ServiceEndDate          string `json:"serviceEndDate,omitempty"`
}

// invoiceItemsPageSize is the largest page the items list serves (GLOBAL_REQUEST_pageSize).
const invoiceItemsPageSize = 40

type invoiceItemsPage struct {
	InvoiceItems []InvoiceItem `json:"invoiceItems"`
	NextPage     string        `json:"nextPage"`
}

// ListInvoiceItems lists the items of an invoice by id or number (GET /v1/invoices/{invoiceKey}/items), all
// pages. More pages than a sane bound is an error rather than a silently short list.
func (c *Client) ListInvoiceItems(ctx context.Context, invoiceKey string) ([]InvoiceItem, error) {
	path := "/v1/invoices/" + url.PathEscape(invoiceKey) + "/items"
	var all []InvoiceItem
	for page := 1; page <= maxListPages; page++ {
		q := url.Values{"page": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(invoiceItemsPageSize)}}
		var out invoiceItemsPage
		if err := c.Do(ctx, Request{Path: path, Query: q}, &out); err != nil {
			return nil, err
		}
		all = append(all, out.InvoiceItems...)
		// nextPage is a URL; paging by number keeps requests on our own base URL.
		if out.NextPage == "" || len(out.InvoiceItems) == 0 {
			return all, nil
		}
	}
	return nil, tooManyPages(path, maxListPages)
}
