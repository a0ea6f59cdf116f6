package zuoraapi

import (
	"context"
	"encoding/json"
	"net/url"
)

// Quickstart (v2) accounts: snake_case fields as in the Quickstart spec's `account`, `accountCreateRequest`
// and `accountPatchRequest` schemas.

// Address is a Quickstart contact address.
type Address struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	Country    string `json:"country,omitempty"`
	County     string `json:"county,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
}

// Contact is a Quickstart contact as returned (bill_to, sold_to) and as sent on create (first_name and
// last_name are required there).
type Contact struct {
	ID           string         `json:"id,omitempty"`
	FirstName    string         `json:"first_name,omitempty"`
	LastName     string         `json:"last_name,omitempty"`
	Nickname     string         `json:"nickname,omitempty"`
	Email        string         `json:"email,omitempty"`
	WorkEmail    string         `json:"work_email,omitempty"`
	WorkPhone    string         `json:"work_phone,omitempty"`
	MobilePhone  string         `json:"mobile_phone,omitempty"`
	HomePhone    string         `json:"home_phone,omitempty"`
	OtherPhone   string         `json:"other_phone,omitempty"`
	Fax          string         `json:"fax,omitempty"`
	TaxRegion    string         `json:"tax_region,omitempty"`
	Address      *Address       `json:"address,omitempty"`
	CustomFields map[string]any `json:"custom_fields,omitempty"`
}

// BillingDocumentSettings is an account's billing document settings.
type BillingDocumentSettings struct {
	EmailDocuments       *bool    `json:"email_documents,omitempty"`
	PrintDocuments       *bool    `json:"print_documents,omitempty"`
	InvoiceTemplateID    string   `json:"invoice_template_id,omitempty"`
	CreditMemoTemplateID string   `json:"credit_memo_template_id,omitempty"`
	DebitMemoTemplateID  string   `json:"debit_memo_template_id,omitempty"`
	AdditionalEmail      []string `json:"additional_email,omitempty"`
}

// Account is a Quickstart account.
type Account struct {
	ID                         string                   `json:"id"`
	AccountNumber              string                   `json:"account_number"`
	Name                       string                   `json:"name"`
	Description                string                   `json:"description,omitempty"`
	Currency                   string                   `json:"currency"`
	PaymentTerms               string                   `json:"payment_terms,omitempty"`
	BillCycleDay               int                      `json:"bill_cycle_day,omitempty"`
	AutoPay                    bool                     `json:"auto_pay"`
	Enabled                    *bool                    `json:"enabled,omitempty"`
	Batch                      string                   `json:"batch,omitempty"`
	CrmID                      string                   `json:"crm_id,omitempty"`
	SalesRep                   string                   `json:"sales_rep,omitempty"`
	ParentAccountID            string                   `json:"parent_account_id,omitempty"`
	CommunicationProfileID     string                   `json:"communication_profile_id,omitempty"`
	SequenceSetID              string                   `json:"sequence_set_id,omitempty"`
	PaymentGateway             string                   `json:"payment_gateway,omitempty"`
	DefaultPaymentMethodID     string                   `json:"default_payment_method_id,omitempty"`
	BillToID                   string                   `json:"bill_to_id,omitempty"`
	SoldToID                   string                   `json:"sold_to_id,omitempty"`
	BillTo                     *Contact                 `json:"bill_to,omitempty"`
	SoldTo                     *Contact                 `json:"sold_to,omitempty"`
	BillingDocumentSettings    *BillingDocumentSettings `json:"billing_document_settings,omitempty"`
	CustomFields               map[string]any           `json:"custom_fields,omitempty"`
	RemainingInvoiceBalance    float64                  `json:"remaining_invoice_balance,omitempty"`
	RemainingCreditMemoBalance float64                  `json:"remaining_credit_memo_balance,omitempty"`
	RemainingDebitMemoBalance  float64                  `json:"remaining_debit_memo_balance,omitempty"`
	RemainingPaymentBalance    float64                  `json:"remaining_payment_balance,omitempty"`
	CreatedTime                string                   `json:"created_time,omitempty"`
	UpdatedTime                string                   `json:"updated_time,omitempty"`
}

// AccountCreateRequest is the body of POST /v2/accounts; name, currency and bill_to are required.
type AccountCreateRequest struct {
	Name                    string                   `json:"name"`
	Currency                string                   `json:"currency"`
	BillTo                  *Contact                 `json:"bill_to"`
	SoldTo                  *Contact                 `json:"sold_to,omitempty"`
	AccountNumber           string                   `json:"account_number,omitempty"`
	Description             string                   `json:"description,omitempty"`
	PaymentTerms            string                   `json:"payment_terms,omitempty"`
	BillCycleDay            *int                     `json:"bill_cycle_day,omitempty"`
	AutoPay                 *bool                    `json:"auto_pay,omitempty"`
	Batch                   string                   `json:"batch,omitempty"`
	CrmID                   string                   `json:"crm_id,omitempty"`
	SalesRep                string                   `json:"sales_rep,omitempty"`
	ParentAccountID         string                   `json:"parent_account_id,omitempty"`
	CommunicationProfileID  string                   `json:"communication_profile_id,omitempty"`
	DefaultPaymentMethodID  string                   `json:"default_payment_method_id,omitempty"`
	BillingDocumentSettings *BillingDocumentSettings `json:"billing_document_settings,omitempty"`
	CustomFields            map[string]any           `json:"custom_fields,omitempty"`
}

// AddressPatch changes only the address lines that are set.
type AddressPatch struct {
	Line1      *string `json:"line1,omitempty"`
	Line2      *string `json:"line2,omitempty"`
	City       *string `json:"city,omitempty"`
	State      *string `json:"state,omitempty"`
	Country    *string `json:"country,omitempty"`
	County     *string `json:"county,omitempty"`
	PostalCode *string `json:"postal_code,omitempty"`
}

// ContactPatch changes only the contact fields that are set.
type ContactPatch struct {
	FirstName    *string        `json:"first_name,omitempty"`
	LastName     *string        `json:"last_name,omitempty"`
	Nickname     *string        `json:"nickname,omitempty"`
	Email        *string        `json:"email,omitempty"`
	WorkEmail    *string        `json:"work_email,omitempty"`
	WorkPhone    *string        `json:"work_phone,omitempty"`
	MobilePhone  *string        `json:"mobile_phone,omitempty"`
	TaxRegion    *string        `json:"tax_region,omitempty"`
	Address      *AddressPatch  `json:"address,omitempty"`
	CustomFields map[string]any `json:"custom_fields,omitempty"`
}

// AccountPatch is the body of PATCH /v2/accounts/{id}: nil fields are not sent, so only what changed is
// updated. CustomFields carries only the changed keys. Currency cannot change once set, so it is absent.
// Pointers to values are easy with Go 1.26: new("Net 30").
type AccountPatch struct {
	Name                    *string                  `json:"name,omitempty"`
	Description             *string                  `json:"description,omitempty"`
	PaymentTerms            *string                  `json:"payment_terms,omitempty"`
	BillCycleDay            *int                     `json:"bill_cycle_day,omitempty"`
	AutoPay                 *bool                    `json:"auto_pay,omitempty"`
	Batch                   *string                  `json:"batch,omitempty"`
	CrmID                   *string                  `json:"crm_id,omitempty"`
	SalesRep                *string                  `json:"sales_rep,omitempty"`
	ParentAccountID         *string                  `json:"parent_account_id,omitempty"`
	CommunicationProfileID  *string                  `json:"communication_profile_id,omitempty"`
	DefaultPaymentMethodID  *string                  `json:"default_payment_method_id,omitempty"`
	BillTo                  *ContactPatch            `json:"bill_to,omitempty"`
	SoldTo                  *ContactPatch            `json:"sold_to,omitempty"`
	BillingDocumentSettings *BillingDocumentSettings `json:"billing_document_settings,omitempty"`
	CustomFields            map[string]any           `json:"custom_fields,omitempty"`
}

// IsEmpty reports whether the patch would change nothing (callers then skip the call).
func (p *AccountPatch) IsEmpty() bool {
	if p == nil {
		return true
	}
	b, err := json.Marshal(p)
	return err == nil && string(b) == "{}"
}

// CreateAccount creates a Quickstart account (POST /v2/accounts).
func (c *Client) CreateAccount(ctx context.Context, step string, req *AccountCreateRequest) (*Account, error) {
	return qsCreate[Account](c, ctx, step, "/v2/accounts", req)
}

// GetAccount fetches an account by id or account number (GET /v2/accounts/{account_id}); expand names
// related objects to include, e.g. "bill_to".
func (c *Client) GetAccount(ctx context.Context, id string, expand ...string) (*Account, error) {
	return qsGet[Account](c, ctx, "/v2/accounts", id, expand)
}

// UpdateAccount sends only the fields set in patch (PATCH /v2/accounts/{account_id}).
func (c *Client) UpdateAccount(ctx context.Context, step, id string, patch *AccountPatch) (*Account, error) {
	return qsPatch[Account](c, ctx, step, "/v2/accounts", id, patch)
}

// FindAccounts lists the accounts matching all filters, Quickstart filter syntax, e.g.
// "customerId__c.EQ:cust-1" or "account_number.EQ:A-1". It follows next_page up to a bound.
func (c *Client) FindAccounts(ctx context.Context, filters ...string) ([]Account, error) {
	return qsFind[Account](c, ctx, "/v2/accounts", filters)
}

// V1 accounts (GET /v1/accounts/{account-key}): camelCase as in the V1 spec's GETAccountType.

// AccountV1 is the V1 view of an account.
type AccountV1 struct {
	Success           bool                       `json:"success"`
	BasicInfo         AccountV1BasicInfo         `json:"basicInfo"`
	BillingAndPayment AccountV1BillingPayment    `json:"billingAndPayment"`
	BillToContact     *ContactV1                 `json:"billToContact,omitempty"`
	SoldToContact     *ContactV1                 `json:"soldToContact,omitempty"`
	Metrics           map[string]json.RawMessage `json:"metrics,omitempty"` // decimals, sent as numbers or strings
}

// AccountV1BasicInfo is `basicInfo`. Custom fields (`*__c`) appear inline there and are collected into
// CustomFields.
type AccountV1BasicInfo struct {
	ID                string         `json:"id"`
	AccountNumber     string         `json:"accountNumber"`
	Name              string         `json:"name"`
	Status            string         `json:"status"` // Active, Draft, Canceled
	Batch             string         `json:"batch,omitempty"`
	CrmID             string         `json:"crmId,omitempty"`
	Notes             string         `json:"notes,omitempty"`
	ParentID          string         `json:"parentId,omitempty"`
	SalesRep          string         `json:"salesRep,omitempty"`
	Tags              string         `json:"tags,omitempty"`
	InvoiceTemplateID string         `json:"invoiceTemplateId,omitempty"`
	CustomFields      map[string]any `json:"-"`
}

// UnmarshalJSON decodes the named fields and gathers the inline custom fields.
func (b *AccountV1BasicInfo) UnmarshalJSON(data []byte) error {
	type plain AccountV1BasicInfo
	if err := json.Unmarshal(data, (*plain)(b)); err != nil {
		return err
	}
	return gatherCustomFields(data, &b.CustomFields)
}

// AccountV1BillingPayment is `billingAndPayment`.
type AccountV1BillingPayment struct {
	BillCycleDay              int      `json:"billCycleDay"`
	Currency                  string   `json:"currency"`
	PaymentTerm               string   `json:"paymentTerm"`
	PaymentGateway            string   `json:"paymentGateway,omitempty"`
	AutoPay                   bool     `json:"autoPay"`
	DefaultPaymentMethodID    string   `json:"defaultPaymentMethodId,omitempty"`
	InvoiceDeliveryPrefsEmail bool     `json:"invoiceDeliveryPrefsEmail"`
	InvoiceDeliveryPrefsPrint bool     `json:"invoiceDeliveryPrefsPrint"`
	AdditionalEmailAddresses  []string `json:"additionalEmailAddresses,omitempty"`
}

// ContactV1 is a V1 account contact.
type ContactV1 struct {
	ID            string `json:"id"`
	FirstName     string `json:"firstName"`
	LastName      string `json:"lastName"`
	WorkEmail     string `json:"workEmail,omitempty"`
	PersonalEmail string `json:"personalEmail,omitempty"`
	Address1      string `json:"address1,omitempty"`
	Address2      string `json:"address2,omitempty"`
	City          string `json:"city,omitempty"`
	State         string `json:"state,omitempty"`
	ZipCode       string `json:"zipCode,omitempty"`
	Country       string `json:"country,omitempty"`
	County        string `json:"county,omitempty"`
}

// GetAccountV1 fetches an account by id or number (GET /v1/accounts/{account-key}).
func (c *Client) GetAccountV1(ctx context.Context, key string) (*AccountV1, error) {
	var out AccountV1
	if err := c.Do(ctx, Request{Path: "/v1/accounts/" + url.PathEscape(key)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
