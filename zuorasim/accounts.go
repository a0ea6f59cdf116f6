package zuorasim

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Accounts: Quickstart POST/GET/PATCH /v2/accounts[/{account_id}], GET /v2/accounts (list), and V1
// GET /v1/accounts/{account-key}. Objects follow the Quickstart "account"/"contact" schemas and the V1
// "GETAccountType" schema of ../shared/zuora-openapi/.

// simUserID is the created_by_id/updated_by_id of everything the API creates (the OAuth client's user).
const simUserID = "7a1c2e5d0b9f4d6e8c3a1b2c3d4e5f60"

// Address is a Quickstart address.
type Address struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	Country    string `json:"country,omitempty"`
	County     string `json:"county,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
}

// Contact is a Quickstart contact (an account's bill_to / sold_to).
type Contact struct {
	ID             string            `json:"id"`
	AccountID      string            `json:"account_id,omitempty"`
	FirstName      string            `json:"first_name"`
	LastName       string            `json:"last_name"`
	Email          string            `json:"email,omitempty"`
	WorkEmail      string            `json:"work_email,omitempty"`
	WorkPhone      string            `json:"work_phone,omitempty"`
	HomePhone      string            `json:"home_phone,omitempty"`
	MobilePhone    string            `json:"mobile_phone,omitempty"`
	OtherPhone     string            `json:"other_phone,omitempty"`
	OtherPhoneType string            `json:"other_phone_type,omitempty"`
	Nickname       string            `json:"nickname,omitempty"`
	TaxRegion      string            `json:"tax_region,omitempty"`
	Fax            string            `json:"fax,omitempty"`
	Address        *Address          `json:"address,omitempty"`
	CustomFields   map[string]string `json:"custom_fields"`
	CreatedByID    string            `json:"created_by_id"`
	CreatedTime    string            `json:"created_time"`
	UpdatedByID    string            `json:"updated_by_id"`
	UpdatedTime    string            `json:"updated_time"`
}

// BillingDocumentSettings is the Quickstart billing_document_settings object.
type BillingDocumentSettings struct {
	CreditMemoTemplateID string   `json:"credit_memo_template_id,omitempty"`
	DebitMemoTemplateID  string   `json:"debit_memo_template_id,omitempty"`
	EmailDocuments       bool     `json:"email_documents"`
	PrintDocuments       bool     `json:"print_documents"`
	InvoiceTemplateID    string   `json:"invoice_template_id,omitempty"`
	AdditionalEmail      []string `json:"additional_email,omitempty"`
}

// TaxCertificate is the Quickstart tax_certificate object.
type TaxCertificate struct {
	CompanyCode         string `json:"company_code,omitempty"`
	ID                  string `json:"id,omitempty"`
	StartDate           string `json:"start_date,omitempty"`
	EntityUseCode       string `json:"entity_use_code,omitempty"`
	EndDate             string `json:"end_date,omitempty"`
	IssuingJurisdiction string `json:"issuing_jurisdiction,omitempty"`
	State               string `json:"state,omitempty"`
}

// TaxIdentifier is the Quickstart tax_identifier object.
type TaxIdentifier struct {
	ID string `json:"id,omitempty"`
}

// Account is a Quickstart account. BillTo/SoldTo are filled only when expanded.
type Account struct {
	ID                         string                   `json:"id"`
	AccountNumber              string                   `json:"account_number"`
	Name                       string                   `json:"name"`
	Currency                   string                   `json:"currency"`
	BillCycleDay               int                      `json:"bill_cycle_day"`
	AutoPay                    bool                     `json:"auto_pay"`
	Batch                      string                   `json:"batch,omitempty"`
	PaymentTerms               string                   `json:"payment_terms"`
	CrmID                      string                   `json:"crm_id,omitempty"`
	SalesRep                   string                   `json:"sales_rep,omitempty"`
	CommunicationProfileID     string                   `json:"communication_profile_id,omitempty"`
	ParentAccountID            string                   `json:"parent_account_id,omitempty"`
	DefaultPaymentMethodID     string                   `json:"default_payment_method_id,omitempty"`
	SequenceSetID              string                   `json:"sequence_set_id,omitempty"`
	PaymentGateway             string                   `json:"payment_gateway,omitempty"`
	BillingDocumentSettings    *BillingDocumentSettings `json:"billing_document_settings,omitempty"`
	TaxCertificate             *TaxCertificate          `json:"tax_certificate,omitempty"`
	TaxIdentifier              *TaxIdentifier           `json:"tax_identifier,omitempty"`
	Enabled                    bool                     `json:"enabled"`
	RemainingInvoiceBalance    float64                  `json:"remaining_invoice_balance"`
	RemainingCreditMemoBalance float64                  `json:"remaining_credit_memo_balance"`
	RemainingDebitMemoBalance  float64                  `json:"remaining_debit_memo_balance"`
	RemainingPaymentBalance    float64                  `json:"remaining_payment_balance"`
	BillToID                   string                   `json:"bill_to_id"`
	SoldToID                   string                   `json:"sold_to_id"`
	BillTo                     *Contact                 `json:"bill_to,omitempty"`
	SoldTo                     *Contact                 `json:"sold_to,omitempty"`
	CustomFields               map[string]string        `json:"custom_fields"`
	CreatedByID                string                   `json:"created_by_id"`
	CreatedTime                string                   `json:"created_time"`
	UpdatedByID                string                   `json:"updated_by_id"`
	UpdatedTime                string                   `json:"updated_time"`
}

// Request bodies. Pointers tell "absent" from "zero"; read-only fields of the request schemas are accepted and
// ignored. The create and patch schemas differ only in required fields and payment_method.

type ignored = *any

// quickstartInputBase is what every Quickstart write body shares: the read-only fields a client may echo back
// (accepted and ignored, as Zuora does) and the custom fields.
type quickstartInputBase struct {
	ID            ignored           `json:"id"`
	UpdatedByID   ignored           `json:"updated_by_id"`
	UpdatedTime   ignored           `json:"updated_time"`
	CreatedByID   ignored           `json:"created_by_id"`
	CreatedTime   ignored           `json:"created_time"`
	CustomObjects ignored           `json:"custom_objects"`
	CustomFields  customFieldValues `json:"custom_fields"`
}

type addressInput struct {
	Line1      *string `json:"line1"`
	Line2      *string `json:"line2"`
	City       *string `json:"city"`
	State      *string `json:"state"`
	Country    *string `json:"country"`
	County     *string `json:"county"`
	PostalCode *string `json:"postal_code"`
}

type contactInput struct {
	quickstartInputBase
	Address        *addressInput `json:"address"`
	FirstName      *string       `json:"first_name"`
	LastName       *string       `json:"last_name"`
	HomePhone      *string       `json:"home_phone"`
	MobilePhone    *string       `json:"mobile_phone"`
	Nickname       *string       `json:"nickname"`
	OtherPhone     *string       `json:"other_phone"`
	Email          *string       `json:"email"`
	TaxRegion      *string       `json:"tax_region"`
	WorkEmail      *string       `json:"work_email"`
	WorkPhone      *string       `json:"work_phone"`
	OtherPhoneType *string       `json:"other_phone_type"`
	Fax            *string       `json:"fax"`
}

type billingDocumentSettingsInput struct {
	CreditMemoTemplateID *string   `json:"credit_memo_template_id"`
	DebitMemoTemplateID  *string   `json:"debit_memo_template_id"`
	EmailDocuments       *bool     `json:"email_documents"`
	PrintDocuments       *bool     `json:"print_documents"`
	InvoiceTemplateID    *string   `json:"invoice_template_id"`
	AdditionalEmail      *[]string `json:"additional_email"`
}

type accountInput struct {
	quickstartInputBase
	AccountNumber           *string                       `json:"account_number"`
	BillingDocumentSettings *billingDocumentSettingsInput `json:"billing_document_settings"`
	Batch                   *string                       `json:"batch"`
	BillCycleDay            *int                          `json:"bill_cycle_day"`
	BillTo                  *contactInput                 `json:"bill_to"`
	SoldTo                  *contactInput                 `json:"sold_to"`
	CommunicationProfileID  *string                       `json:"communication_profile_id"`
	CrmID                   *string                       `json:"crm_id"`
	DefaultPaymentMethodID  *string                       `json:"default_payment_method_id"`
	Name                    *string                       `json:"name"`
	ParentAccountID         *string                       `json:"parent_account_id"`
	PaymentGateway          *string                       `json:"payment_gateway"`
	PaymentTerms            *string                       `json:"payment_terms"`
	SequenceSetID           *string                       `json:"sequence_set_id"`
	AutoPay                 *bool                         `json:"auto_pay"`
	TaxCertificate          *TaxCertificate               `json:"tax_certificate"`
	TaxIdentifier           *TaxIdentifier                `json:"tax_identifier"`
	Currency                *string                       `json:"currency"`
	SalesRep                *string                       `json:"sales_rep"`
	PaymentMethod           ignored                       `json:"payment_method"` // create only; rejected if set
}

// customFieldValues is a request's custom_fields: string values, null to clear. Its decoder names the offending
// key in type errors (custom_fields.<name>), which a plain map does not.
type customFieldValues map[string]*string

// UnmarshalJSON implements json.Unmarshaler.
func (c *customFieldValues) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		// Returned unwrapped: encoding/json only adds the field path to a bare *json.UnmarshalTypeError.
		return err
	}
	out := make(customFieldValues, len(raw))
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		v := raw[k]
		if string(v) == "null" {
			out[k] = nil
			continue
		}
		var str string
		if err := json.Unmarshal(v, &str); err != nil {
			return &json.UnmarshalTypeError{Value: "non-string", Type: reflect.TypeFor[string](), Field: k}
		}
		out[k] = &str
	}
	*c = out
	return nil
}

func (s *Sim) timestamp() string { return s.Now().Format(time.RFC3339) }

func (s *Sim) createAccount(r *http.Request, st *store) (reply, *apiError) {
	var in accountInput
	if e := decodeBody(r, &in); e != nil {
		return reply{}, e
	}
	if e := st.validateAccountInput(&in, nil); e != nil {
		return reply{}, e
	}
	a := st.createAccount(&in, s.timestamp())
	return replyCreated(project(st.renderAccount(a, parseExpand(r)), parseFields(r, "account"), parseExpand(r))), nil
}

func (s *Sim) getAccount(r *http.Request, st *store) (reply, *apiError) {
	a := st.lookupAccount(r.PathValue("account_id"))
	if a == nil {
		return reply{}, errNotFound("account", r.PathValue("account_id"))
	}
	return replyOK(project(st.renderAccount(a, parseExpand(r)), parseFields(r, "account"), parseExpand(r))), nil
}

func (s *Sim) patchAccount(r *http.Request, st *store) (reply, *apiError) {
	var in accountInput
	if e := decodeBody(r, &in); e != nil {
		return reply{}, e
	}
	if in.PaymentMethod != nil { // not part of the patch schema
		return reply{}, errUnknownParam("payment_method")
	}
	a := st.lookupAccount(r.PathValue("account_id"))
	if a == nil {
		return reply{}, errNotFound("account", r.PathValue("account_id"))
	}
	if e := st.validateAccountInput(&in, a); e != nil {
		return reply{}, e
	}
	prevPM := a.DefaultPaymentMethodID
	st.patchAccount(a, &in, s.timestamp())
	st.notifyDefaultPaymentMethod(a.UpdatedTime, a, prevPM)
	return replyOK(project(st.renderAccount(a, parseExpand(r)), parseFields(r, "account"), parseExpand(r))), nil
}

// accountFilters are the documented filterable fields of GET /v2/accounts.
var accountFilters = filterFields("Account", "id", "account_number", "name", "currency", "batch", "crm_id",
	"sales_rep", "payment_terms", "bill_cycle_day", "auto_pay", "enabled", "parent_account_id",
	"default_payment_method_id", "bill_to_id", "sold_to_id", "created_time", "updated_time")

func (s *Sim) listAccounts(r *http.Request, st *store) (reply, *apiError) {
	p, e := parseListParams(r, "account")
	if e != nil {
		return reply{}, e
	}
	return listOf(st, p, st.searchableAccounts(s, p), accountFilters,
		func(a *Account) any { return st.renderAccount(a, p.expand) })
}

// searchableAccounts are the accounts a list can see: with filters, only those Zuora's search has indexed
// (Config.SearchLag). Caller holds st.mu.
func (st *store) searchableAccounts(s *Sim, p listParams) []*Account {
	lag := s.cfg.SearchLag
	if lag <= 0 || len(p.filters) == 0 {
		return st.accounts
	}
	indexed := s.Now().Add(-lag)
	var rows []*Account
	for _, a := range st.accounts {
		if t, err := time.Parse(time.RFC3339, a.CreatedTime); err == nil && !t.After(indexed) {
			rows = append(rows, a)
		}
	}
	return rows
}

// lookupAccount finds an account by id or account number. Caller holds st.mu.
func (st *store) lookupAccount(key string) *Account {
	if a, ok := st.accountsByID[key]; ok {
		return a
	}
	return st.accountsByNum[key]
}

// renderAccount returns a deep copy of a, with bill_to/sold_to filled when expanded. Caller holds st.mu.
func (st *store) renderAccount(a *Account, exp expandSet) Account {
	out := *a
	out.CustomFields = maps.Clone(a.CustomFields)
	if a.BillingDocumentSettings != nil {
		bds := *a.BillingDocumentSettings
		bds.AdditionalEmail = slices.Clone(bds.AdditionalEmail)
		out.BillingDocumentSettings = &bds
	}
	if a.TaxCertificate != nil {
		tc := *a.TaxCertificate
		out.TaxCertificate = &tc
	}
	if a.TaxIdentifier != nil {
		ti := *a.TaxIdentifier
		out.TaxIdentifier = &ti
	}
	out.BillTo, out.SoldTo = nil, nil
	if exp["bill_to"] {
		out.BillTo = st.copyContact(a.BillToID)
	}
	if exp["sold_to"] {
		out.SoldTo = st.copyContact(a.SoldToID)
	}
	return out
}

func (st *store) copyContact(id string) *Contact {
	c, ok := st.contacts[id]
	if !ok {
		return nil
	}
	out := *c
	out.CustomFields = maps.Clone(c.CustomFields)
	if c.Address != nil {
		addr := *c.Address
		out.Address = &addr
	}
	return &out
}

// validateAccountInput checks a create (existing == nil) or patch body against the spec and the tenant's
// data. Caller holds st.mu.
func (st *store) validateAccountInput(in *accountInput, existing *Account) *apiError {
	create := existing == nil
	if create {
		switch {
		case in.Name == nil:
			return errMissing("name")
		case in.Currency == nil:
			return errMissing("currency")
		case in.BillTo == nil:
			return errMissing("bill_to")
		}
	}
	if in.Name != nil {
		if strings.TrimSpace(*in.Name) == "" {
			return errInvalid("name", "'name' must not be empty")
		}
		if len(*in.Name) > 255 {
			return errInvalid("name", "'name' must be at most 255 characters")
		}
	}
	if in.Currency != nil && !isCurrencyCode(*in.Currency) {
		return errInvalid("currency", "'currency' length must be between 3 and 3 and contain only letters")
	}
	if in.AccountNumber != nil {
		n := *in.AccountNumber
		switch {
		case strings.TrimSpace(n) == "":
			return errInvalid("account_number", "'account_number' must not be empty")
		case len(n) > 70:
			return errInvalid("account_number", "'account_number' must be at most 70 characters")
		}
		if other := st.accountsByNum[n]; other != nil && other != existing {
			return errInvalid("account_number", "an account with account number '%s' already exists", n)
		}
	}
	if in.BillCycleDay != nil && (*in.BillCycleDay < 0 || *in.BillCycleDay > 31) {
		return errInvalid("bill_cycle_day", "'bill_cycle_day' must be between 0 and 31")
	}
	if in.PaymentTerms != nil {
		t, ok := st.findPaymentTerm(*in.PaymentTerms)
		if !ok {
			return errInvalid("payment_terms", "'payment_terms' must name an existing payment term; '%s' does not exist", *in.PaymentTerms)
		}
		*in.PaymentTerms = t.Name // store the tenant's spelling
	}
	if e := st.validateCustomFields("Account", "custom_fields", in.CustomFields); e != nil {
		return e
	}
	if e := st.validateContact("bill_to", in.BillTo, create); e != nil {
		return e
	}
	if e := st.validateContact("sold_to", in.SoldTo, create); e != nil {
		return e
	}
	if in.ParentAccountID != nil && *in.ParentAccountID != "" {
		parent := st.lookupAccount(*in.ParentAccountID)
		if parent == nil {
			return errReferenceNotFound("parent_account_id", *in.ParentAccountID)
		}
		if parent == existing {
			return errInvalid("parent_account_id", "an account cannot be its own parent")
		}
	}
	if id := in.DefaultPaymentMethodID; id != nil && *id != "" {
		// The default must be a payment method of this account; a new account has none yet (create it, then
		// the payment method with is_default, or patch the account).
		pm := st.paymentMethod(*id)
		switch {
		case pm == nil:
			return errReferenceNotFound("default_payment_method_id", *id)
		case existing == nil || pm.AccountID != existing.ID:
			return errInvalid("default_payment_method_id", "payment method '%s' does not belong to this account", *id)
		case pm.State != paymentMethodActive:
			return errInvalid("default_payment_method_id", "payment method '%s' is %s", *id, pm.State)
		}
	}
	if in.PaymentMethod != nil {
		// Inline payment-method creation is not simulated yet; refuse rather than silently drop it.
		return errInvalid("payment_method", "zuorasim does not support creating a payment method inline; create it separately")
	}
	if in.AutoPay != nil && *in.AutoPay {
		pm := ""
		if existing != nil {
			pm = existing.DefaultPaymentMethodID
		}
		if in.DefaultPaymentMethodID != nil {
			pm = *in.DefaultPaymentMethodID
		}
		if pm == "" {
			return errInvalid("auto_pay", "'auto_pay' can only be true when the account has a default payment method")
		}
	}
	if tc := in.TaxCertificate; tc != nil && tc.State != "" && !slices.Contains([]string{"pending", "verified", "not_valid"}, tc.State) {
		return errInvalid("tax_certificate.state", "'tax_certificate.state' must be one of pending, verified, not_valid")
	}
	return nil
}

func isCurrencyCode(c string) bool {
	if len(c) != 3 {
		return false
	}
	for _, r := range c {
		if r > unicode.MaxASCII || !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}

// validateCustomFields rejects custom fields the tenant does not define on object.
func (st *store) validateCustomFields(object, param string, fields customFieldValues) *apiError {
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if !st.customFieldDefined(object, name) {
			return errUnknownParam(param + "." + name)
		}
		if v := fields[name]; v != nil && len(*v) > 255 {
			return errInvalid(param+"."+name, "'%s.%s' must be at most 255 characters", param, name)
		}
	}
	return nil
}

func (st *store) validateContact(param string, c *contactInput, create bool) *apiError {
	if c == nil {
		return nil
	}
	if create {
		if c.FirstName == nil {
			return errMissing(param + ".first_name")
		}
		if c.LastName == nil {
			return errMissing(param + ".last_name")
		}
	}
	type field struct {
		name string
		v    *string
	}
	for _, f := range []field{{"first_name", c.FirstName}, {"last_name", c.LastName}} {
		if f.v != nil && (strings.TrimSpace(*f.v) == "" || len(*f.v) > 100) {
			return errInvalid(param+"."+f.name, "'%s.%s' must be 1 to 100 characters", param, f.name)
		}
	}
	for _, f := range []field{{"email", c.Email}, {"work_email", c.WorkEmail}} {
		if f.v != nil && *f.v != "" && !looksLikeEmail(*f.v) {
			return errInvalid(param+"."+f.name, "'%s.%s' is not a valid email address", param, f.name)
		}
	}
	if c.OtherPhoneType != nil && !slices.Contains([]string{"work", "mobile", "home", "other"}, *c.OtherPhoneType) {
		return errInvalid(param+".other_phone_type", "'%s.other_phone_type' must be one of work, mobile, home, other", param)
	}
	return st.validateCustomFields("Contact", param+".custom_fields", c.CustomFields)
}

func looksLikeEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(s, " \t\r\n") && len(s) <= 80
}

// createAccount stores a validated create body. Caller holds st.mu for writing.
func (st *store) createAccount(in *accountInput, now string) *Account {
	st.accountSeq++
	number := fmt.Sprintf("A%08d", st.accountSeq)
	for st.accountsByNum[number] != nil { // skip numbers taken by explicit account_number values
		st.accountSeq++
		number = fmt.Sprintf("A%08d", st.accountSeq)
	}
	a := &Account{
		ID:                      newID(),
		AccountNumber:           number,
		Batch:                   "Batch1", // Zuora's default batch
		PaymentTerms:            st.defaultPaymentTerm(),
		Enabled:                 true,
		BillingDocumentSettings: &BillingDocumentSettings{EmailDocuments: true},
		CustomFields:            map[string]string{},
		CreatedByID:             simUserID,
		CreatedTime:             now,
		UpdatedByID:             simUserID,
		UpdatedTime:             now,
	}
	if in.AccountNumber != nil {
		a.AccountNumber = *in.AccountNumber
	}
	bill := st.newContact(a.ID, in.BillTo, now)
	a.BillToID, a.SoldToID = bill.ID, bill.ID // without sold_to, the bill-to contact is also the sold-to contact
	if in.SoldTo != nil {
		a.SoldToID = st.newContact(a.ID, in.SoldTo, now).ID
	}
	in.BillTo, in.SoldTo, in.AccountNumber = nil, nil, nil
	applyAccountFields(a, in)
	st.accounts = append(st.accounts, a)
	st.accountsByID[a.ID] = a
	st.accountsByNum[a.AccountNumber] = a
	return a
}

// patchAccount applies a validated patch body. Caller holds st.mu for writing.
func (st *store) patchAccount(a *Account, in *accountInput, now string) {
	if in.AccountNumber != nil && *in.AccountNumber != a.AccountNumber {
		delete(st.accountsByNum, a.AccountNumber)
		a.AccountNumber = *in.AccountNumber
		st.accountsByNum[a.AccountNumber] = a
	}
	if in.BillTo != nil {
		st.patchContact(a.BillToID, in.BillTo, now)
	}
	if in.SoldTo != nil {
		st.patchContact(a.SoldToID, in.SoldTo, now)
	}
	applyAccountFields(a, in)
	a.UpdatedTime, a.UpdatedByID = now, simUserID
}

// applyAccountFields copies the scalar fields present in in onto a.
func applyAccountFields(a *Account, in *accountInput) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&a.Name, in.Name)
	if in.Currency != nil {
		a.Currency = strings.ToUpper(*in.Currency)
	}
	set(&a.Batch, in.Batch)
	set(&a.CrmID, in.CrmID)
	set(&a.SalesRep, in.SalesRep)
	set(&a.CommunicationProfileID, in.CommunicationProfileID)
	set(&a.ParentAccountID, in.ParentAccountID)
	set(&a.DefaultPaymentMethodID, in.DefaultPaymentMethodID)
	set(&a.SequenceSetID, in.SequenceSetID)
	set(&a.PaymentGateway, in.PaymentGateway)
	set(&a.PaymentTerms, in.PaymentTerms)
	if in.BillCycleDay != nil {
		a.BillCycleDay = *in.BillCycleDay
	}
	if in.AutoPay != nil {
		a.AutoPay = *in.AutoPay
	}
	if in.TaxCertificate != nil {
		tc := *in.TaxCertificate
		a.TaxCertificate = &tc
	}
	if in.TaxIdentifier != nil {
		ti := *in.TaxIdentifier
		a.TaxIdentifier = &ti
	}
	if b := in.BillingDocumentSettings; b != nil {
		if a.BillingDocumentSettings == nil {
			a.BillingDocumentSettings = &BillingDocumentSettings{}
		}
		d := a.BillingDocumentSettings
		set(&d.CreditMemoTemplateID, b.CreditMemoTemplateID)
		set(&d.DebitMemoTemplateID, b.DebitMemoTemplateID)
		set(&d.InvoiceTemplateID, b.InvoiceTemplateID)
		if b.EmailDocuments != nil {
			d.EmailDocuments = *b.EmailDocuments
		}
		if b.PrintDocuments != nil {
			d.PrintDocuments = *b.PrintDocuments
		}
		if b.AdditionalEmail != nil {
			d.AdditionalEmail = slices.Clone(*b.AdditionalEmail)
		}
	}
	mergeCustomFields(a.CustomFields, in.CustomFields)
}

// mergeCustomFields sets the given values; a null value removes the field.
func mergeCustomFields(dst map[string]string, src customFieldValues) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
		} else {
			dst[k] = *v
		}
	}
}

func (st *store) newContact(accountID string, in *contactInput, now string) *Contact {
	c := &Contact{ID: newID(), AccountID: accountID, CustomFields: map[string]string{},
		CreatedByID: simUserID, CreatedTime: now, UpdatedByID: simUserID, UpdatedTime: now}
	applyContactFields(c, in)
	st.contacts[c.ID] = c
	return c
}

func (st *store) patchContact(id string, in *contactInput, now string) {
	c, ok := st.contacts[id]
	if !ok {
		return
	}
	applyContactFields(c, in)
	c.UpdatedTime, c.UpdatedByID = now, simUserID
}

func applyContactFields(c *Contact, in *contactInput) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&c.FirstName, in.FirstName)
	set(&c.LastName, in.LastName)
	set(&c.Email, in.Email)
	set(&c.WorkEmail, in.WorkEmail)
	set(&c.WorkPhone, in.WorkPhone)
	set(&c.HomePhone, in.HomePhone)
	set(&c.MobilePhone, in.MobilePhone)
	set(&c.OtherPhone, in.OtherPhone)
	set(&c.OtherPhoneType, in.OtherPhoneType)
	set(&c.Nickname, in.Nickname)
	set(&c.TaxRegion, in.TaxRegion)
	set(&c.Fax, in.Fax)
	if ad := in.Address; ad != nil {
		if c.Address == nil {
			c.Address = &Address{}
		}
		set(&c.Address.Line1, ad.Line1)
		set(&c.Address.Line2, ad.Line2)
		set(&c.Address.City, ad.City)
		set(&c.Address.State, ad.State)
		set(&c.Address.Country, ad.Country)
		set(&c.Address.County, ad.County)
		set(&c.Address.PostalCode, ad.PostalCode)
	}
	mergeCustomFields(c.CustomFields, in.CustomFields)
}
