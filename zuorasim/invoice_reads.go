package zuorasim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The invoice reads the consumer makes for Zuora's own events: CRUD GET /v1/object/invoice/{id} (the Invoice
// object: balance, status, currency, the account) and GET /v1/invoices/{invoiceKey}/items
// ("GETInvoiceItemsResponse": the subscription of each item). Both read the invoices the bill runs and orders of
// billing.go made; neither writes. Like the other invoice reads (payments.go), each first does what the clock has
// made due, which may post an invoice, so both hold the store for writing.
//
// The CRUD read is in neither OpenAPI file (conformance.DocumentedOnly): implemented from Zuora's "Older API"
// reference ("CRUD: Retrieve an invoice") and the Invoice object's field descriptions, PascalCase as CRUD answers.
// An unknown id is CRUD's error envelope, 404 with INVALID_ID (the answer core_test.go pins for this very path);
// a key that is an invoice number is unknown too, since CRUD reads take ids only. Currency is on the object in the
// WSDL versions that know multi-currency invoices [inferred]; the simulator always sends it. The `fields` query
// parameter (a comma-separated subset) is honoured for the fields the simulator renders.
//
// The items list pages as the spec's GLOBAL_REQUEST_pageSize/page say (default 20, at most 40) and says where the
// next page is in nextPage. unitPrice is a number there (the item schema types it double), quantity and the
// amounts strings (format decimal). An unknown invoice key (id or number) answers as GET /v1/invoices/{key} does.

// crudInvoice is the CRUD Invoice object.
type crudInvoice struct {
	ID                string  `json:"Id"`
	AccountID         string  `json:"AccountId"`
	InvoiceNumber     string  `json:"InvoiceNumber"`
	Currency          string  `json:"Currency,omitempty"`
	Status            string  `json:"Status"`
	Amount            float64 `json:"Amount"`
	AmountWithoutTax  float64 `json:"AmountWithoutTax"`
	TaxAmount         float64 `json:"TaxAmount"`
	Balance           float64 `json:"Balance"`
	PaymentAmount     float64 `json:"PaymentAmount"`
	CreditMemoAmount  float64 `json:"CreditMemoAmount"`
	RefundAmount      float64 `json:"RefundAmount"`
	AdjustmentAmount  float64 `json:"AdjustmentAmount"`
	InvoiceDate       string  `json:"InvoiceDate"`
	DueDate           string  `json:"DueDate"`
	TargetDate        string  `json:"TargetDate,omitempty"`
	PostedDate        string  `json:"PostedDate,omitempty"`
	PostedBy          string  `json:"PostedBy,omitempty"`
	IncludesOneTime   bool    `json:"IncludesOneTime"`
	IncludesRecurring bool    `json:"IncludesRecurring"`
	IncludesUsage     bool    `json:"IncludesUsage"`
	Source            string  `json:"Source,omitempty"`
	SourceID          string  `json:"SourceId,omitempty"`
	CreatedByID       string  `json:"CreatedById"`
	CreatedDate       string  `json:"CreatedDate"`
	UpdatedByID       string  `json:"UpdatedById"`
	UpdatedDate       string  `json:"UpdatedDate"`
}

func (inv *invoice) crudView() crudInvoice {
	v := inv.view()
	return crudInvoice{ID: v.ID, AccountID: v.AccountID, InvoiceNumber: v.InvoiceNumber, Currency: v.Currency,
		Status: v.Status, Amount: v.Amount, AmountWithoutTax: v.AmountWithoutTax, TaxAmount: v.TaxAmount,
		Balance: v.Balance, PaymentAmount: v.PaymentAmount, CreditMemoAmount: v.CreditMemoAmount,
		RefundAmount: v.RefundAmount, InvoiceDate: v.InvoiceDate, DueDate: v.DueDate, TargetDate: v.TargetDate,
		PostedDate: v.PostedDate, PostedBy: v.PostedBy, IncludesOneTime: v.IncludesOneTime,
		IncludesRecurring: v.IncludesRecurring, IncludesUsage: v.IncludesUsage, Source: v.Source,
		SourceID: v.SourceID, CreatedByID: v.CreatedByID, CreatedDate: v.CreatedDate, UpdatedByID: v.UpdatedByID,
		UpdatedDate: v.UpdatedDate}
}

// crudGetInvoice is GET /v1/object/invoice/{id}.
func (s *Sim) crudGetInvoice(r *http.Request, st *store) (reply, *apiError) {
	s.runDueOrdersLocked(st)
	inv := st.invoiceByID(r.PathValue("id"))
	if inv == nil {
		return reply{}, errNotFound("invoice", r.PathValue("id"))
	}
	view := inv.crudView()
	fields := r.URL.Query().Get("fields")
	if fields == "" {
		return replyOK(view), nil
	}
	return replyOK(onlyFields(view, fields)), nil
}

// v1InvoiceItemRow is "InvoiceItem" as the items list renders it: V1InvoiceItem with unitPrice as a number.
type v1InvoiceItemRow struct {
	V1InvoiceItem
	UnitPrice *float64 `json:"unitPrice,omitempty"`
}

type v1InvoiceItemsPage struct {
	Success      bool               `json:"success"`
	InvoiceItems []v1InvoiceItemRow `json:"invoiceItems"`
	NextPage     string             `json:"nextPage,omitempty"`
}

// v1 invoice items paging: the operation's GLOBAL_REQUEST_pageSize.
const (
	v1InvoiceItemsDefaultPageSize = 20
	v1InvoiceItemsMaxPageSize     = 40
)

// v1InvoiceItems is GET /v1/invoices/{invoiceKey}/items.
func (s *Sim) v1InvoiceItems(r *http.Request, st *store) (reply, *apiError) {
	s.runDueOrdersLocked(st)
	pageNo, pageSize, e := v1Paging(r, v1InvoiceItemsDefaultPageSize, v1InvoiceItemsMaxPageSize)
	if e != nil {
		return reply{}, e
	}
	key := r.PathValue("invoice_key")
	inv := st.lookupInvoice(key)
	if inv == nil {
		return reply{}, errNotFound("invoice", key)
	}
	items := inv.view().InvoiceItems
	resp := v1InvoiceItemsPage{Success: true, InvoiceItems: []v1InvoiceItemRow{}}
	start := (pageNo - 1) * pageSize
	for i := start; i < len(items) && i < start+pageSize; i++ {
		row := v1InvoiceItemRow{V1InvoiceItem: items[i]} // the row's unitPrice hides the embedded text one
		if p := inv.Items[i].UnitPrice; p != nil {
			row.UnitPrice = new(*p)
		}
		resp.InvoiceItems = append(resp.InvoiceItems, row)
	}
	if start+pageSize < len(items) {
		next := url.Values{"page": {strconv.Itoa(pageNo + 1)}, "pageSize": {strconv.Itoa(pageSize)}}
		resp.NextPage = "/v1/invoices/" + url.PathEscape(key) + "/items?" + next.Encode()
	}
	return replyOK(resp), nil
}

// onlyFields keeps the members of a CRUD object named in fields (comma-separated, case-insensitive, as CRUD
// field names are), and always the Id.
func onlyFields(object any, fields string) map[string]any {
	raw, _ := json.Marshal(object)
	var all map[string]any
	_ = json.Unmarshal(raw, &all)
	want := map[string]bool{"id": true}
	for f := range strings.SplitSeq(fields, ",") {
		want[strings.ToLower(strings.TrimSpace(f))] = true
	}
	out := map[string]any{}
	for k, v := range all {
		if want[strings.ToLower(k)] {
			out[k] = v
		}
	}
	return out
}
