package zuorasim

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Payments (V1): POST /v1/payments ("CreatePaymentType" → "GETARPaymentTypeWithPaymentOption"),
// GET /v1/payments/{paymentKey} ("GETARPaymentType"), GET /v1/payments ("PaymentCollectionResponseType"), and
// the invoice reads a payer looks at before it writes: GET /v1/invoices/{invoiceKey} ("GetInvoiceResponse":
// balance and status) and GET /v1/invoices/{invoiceKey}/application-parts
// ("GetInvoiceApplicationPartCollectionType": the payments, and write-off credit memos, applied to it).
//
// A payment is for one account (accountId or accountNumber), of type External (recorded, collected outside
// Zuora) or Electronic (collected through the gateway with paymentMethodId, else the account's default payment
// method, which must be usable: usablePaymentMethod). It may apply amounts to posted invoices of the account
// (invoices[{invoiceId, amount}]); what is not applied stays on the account as unapplied payment. The invoices'
// balances and the account's invoice balance go down by what is applied, the account's unapplied payment
// balance up by the rest; an invoice settled in full records invoice.paid, as an order's collectPayment does.
// The simulated gateway approves every payment with a usable payment method. Business failures answer HTTP 200
// with success:false, as Zuora does. Not simulated (refused): debit memos, invoice items, prepayments, payment
// schedules, custom FX rates.
//
// Rules not settled by Zuora's documentation [inferred]: amounts have at most two decimals; the currency must
// be the account's; the effective date defaults to today, may not lie in the future and must be today for an
// Electronic payment; every invoices[] entry needs an amount, at most the invoice's balance, and the applied
// amounts together at most the payment's amount. The spec types effectiveDate as date-time, so answers carry
// midnight UTC of the effective date. GET /v1/payments lists in creation order.

// paymentApplication is the part of a payment applied to one invoice.
type paymentApplication struct {
	InvoiceID, InvoiceNumber string
	Amount                   float64
}

// applications are the invoices the payment paid.
func (p *payment) applications() []paymentApplication {
	if p.Applied != nil || p.InvoiceID == "" {
		return p.Applied
	}
	return []paymentApplication{{InvoiceID: p.InvoiceID, InvoiceNumber: p.InvoiceNumber, Amount: p.Amount}}
}

func (p *payment) appliedAmount() float64 {
	total := 0.0
	for _, a := range p.applications() {
		total += a.Amount
	}
	return roundMoney(total)
}

func (p *payment) unappliedAmount() float64 { return roundMoney(p.Amount - p.appliedAmount()) }

func (p *payment) paymentType() string {
	switch {
	case p.Type != "":
		return p.Type
	case p.PaymentMethodID == "":
		return paymentExternal
	}
	return paymentElectronic
}

func (p *payment) gatewayState() string {
	if p.paymentType() == paymentExternal {
		return "NotSubmitted"
	}
	return "Submitted"
}

const (
	paymentExternal   = "External"
	paymentElectronic = "Electronic"
	paymentProcessed  = "Processed"
)

// ---- request body ----

type paymentInvoiceIn struct {
	InvoiceID *string  `json:"invoiceId"`
	Amount    *float64 `json:"amount"`
	Items     []any    `json:"items"`
}

// paymentIn is "CreatePaymentType" (members the simulator does not read are ignored, as V1 does).
type paymentIn struct {
	AccountID          *string            `json:"accountId"`
	AccountNumber      *string            `json:"accountNumber"`
	Amount             *float64           `json:"amount"`
	Currency           *string            `json:"currency"`
	Type               *string            `json:"type"`
	EffectiveDate      *string            `json:"effectiveDate"`
	PaymentMethodID    *string            `json:"paymentMethodId"`
	Invoices           []paymentInvoiceIn `json:"invoices"`
	DebitMemos         []any              `json:"debitMemos"`
	Comment            *string            `json:"comment"`
	ReferenceID        *string            `json:"referenceId"`
	Prepayment         *bool              `json:"prepayment"`
	PaymentScheduleKey *string            `json:"paymentScheduleKey"`
	CustomRates        []any              `json:"customRates"`
}

// cents is a money amount in whole cents, for exact comparisons.
func cents(v float64) int64 { return int64(math.Round(v * 100)) }

func validMoney(v float64) bool { return v > 0 && math.Abs(v*100-math.Round(v*100)) < 1e-6 }

// ---- endpoints ----

func (s *Sim) createPayment(r *http.Request, st *store) (reply, *apiError) {
	s.runDueOrdersLocked(st)
	var in paymentIn
	if e := decodeV1Body(r, &in); e != nil {
		return reply{}, e
	}
	now := s.Now()
	plan, e := st.validatePayment(&in, now)
	if e != nil {
		return reply{}, e
	}
	p := st.createPayment(plan, now)
	return replyOK(st.v1PaymentView(p, true)), nil
}

// paymentPlan is a validated payment, ready to store.
type paymentPlan struct {
	in        *paymentIn
	account   *Account
	typ       string
	amount    float64
	date      string
	pmID      string
	invoices  []*invoice
	amounts   []float64
	unapplied float64
}

func (st *store) validatePayment(in *paymentIn, now time.Time) (*paymentPlan, *apiError) {
	plan := &paymentPlan{in: in}
	switch {
	case len(in.DebitMemos) > 0:
		return nil, errInvalid("debitMemos", "zuorasim does not simulate debit memos")
	case len(in.CustomRates) > 0:
		return nil, errInvalid("customRates", "zuorasim does not simulate custom FX rates")
	case in.Prepayment != nil && *in.Prepayment:
		return nil, errInvalid("prepayment", "zuorasim does not simulate prepayments")
	case in.PaymentScheduleKey != nil && *in.PaymentScheduleKey != "":
		return nil, errInvalid("paymentScheduleKey", "zuorasim does not simulate payment schedules")
	}
	// The account.
	var a *Account
	switch {
	case in.AccountID != nil && *in.AccountID != "":
		if a = st.accountsByID[*in.AccountID]; a == nil {
			return nil, errReferenceNotFound("accountId", *in.AccountID)
		}
		if in.AccountNumber != nil && *in.AccountNumber != "" && *in.AccountNumber != a.AccountNumber {
			return nil, errInvalid("accountNumber", "'accountId' and 'accountNumber' name different accounts")
		}
	case in.AccountNumber != nil && *in.AccountNumber != "":
		if a = st.accountsByNum[*in.AccountNumber]; a == nil {
			return nil, errReferenceNotFound("accountNumber", *in.AccountNumber)
		}
	default:
		return nil, errMissing("accountId")
	}
	plan.account = a
	// Type, amount, currency, date.
	if in.Type == nil {
		return nil, errMissing("type")
	}
	if *in.Type != paymentExternal && *in.Type != paymentElectronic {
		return nil, errInvalid("type", "'type' must be one of External, Electronic")
	}
	plan.typ = *in.Type
	if in.Amount == nil {
		return nil, errMissing("amount")
	}
	if !validMoney(*in.Amount) {
		return nil, errInvalid("amount", "'amount' must be a positive amount with at most two decimals")
	}
	plan.amount = roundMoney(*in.Amount)
	if in.Currency == nil {
		return nil, errMissing("currency")
	}
	if !strings.EqualFold(*in.Currency, a.Currency) {
		return nil, errRule("currency", "'currency' must be the account's currency %s, not %s", a.Currency, *in.Currency)
	}
	today := fmtDate(now)
	plan.date = today
	if d := in.EffectiveDate; d != nil && *d != "" {
		switch {
		case !validDate(*d):
			return nil, errInvalid("effectiveDate", "'effectiveDate' must be a date (YYYY-MM-DD)")
		case *d > today:
			return nil, errRule("effectiveDate", "'effectiveDate' %s is in the future", *d)
		case plan.typ == paymentElectronic && *d != today:
			return nil, errRule("effectiveDate", "an Electronic payment takes effect today (%s), not on %s", today, *d)
		}
		plan.date = *d
	}
	if c := in.Comment; c != nil && len(*c) > 255 {
		return nil, errInvalid("comment", "'comment' must be at most 255 characters")
	}
	if ref := in.ReferenceID; ref != nil && len(*ref) > 100 {
		return nil, errInvalid("referenceId", "'referenceId' must be at most 100 characters")
	}
	// The invoices.
	applied := int64(0)
	for i, ii := range in.Invoices {
		param := fmt.Sprintf("invoices[%d]", i)
		switch {
		case ii.InvoiceID == nil || *ii.InvoiceID == "":
			return nil, errMissing(param + ".invoiceId")
		case len(ii.Items) > 0:
			return nil, errInvalid(param+".items", "zuorasim does not apply payments to invoice items; give the invoice's amount")
		case ii.Amount == nil:
			return nil, errMissing(param + ".amount")
		case !validMoney(*ii.Amount):
			return nil, errInvalid(param+".amount", "'%s.amount' must be a positive amount with at most two decimals", param)
		}
		inv := st.invoiceByID(*ii.InvoiceID)
		switch {
		case inv == nil:
			return nil, errReferenceNotFound(param+".invoiceId", *ii.InvoiceID)
		case inv.AccountID != a.ID:
			return nil, errRule(param+".invoiceId", "invoice %s belongs to another account", inv.Number)
		case inv.Status != "Posted":
			return nil, errRule(param+".invoiceId", "invoice %s is %s; only posted invoices can be paid", inv.Number, inv.Status)
		case cents(*ii.Amount) > cents(inv.Balance):
			return nil, errRule(param+".amount", "%s exceeds the balance %s of invoice %s", money(*ii.Amount), money(inv.Balance), inv.Number)
		}
		for _, seen := range plan.invoices {
			if seen == inv {
				return nil, errInvalid(param+".invoiceId", "invoice %s is listed twice", inv.Number)
			}
		}
		plan.invoices = append(plan.invoices, inv)
		plan.amounts = append(plan.amounts, roundMoney(*ii.Amount))
		applied += cents(*ii.Amount)
	}
	if applied > cents(plan.amount) {
		return nil, errRule("invoices", "the amounts applied to invoices (%s) exceed the payment amount (%s)",
			money(float64(applied)/100), money(plan.amount))
	}
	plan.unapplied = float64(cents(plan.amount)-applied) / 100
	// The payment method.
	id := ""
	if in.PaymentMethodID != nil {
		id = *in.PaymentMethodID
	}
	switch {
	case plan.typ == paymentElectronic && id == "":
		if a.DefaultPaymentMethodID == "" {
			return nil, errRule("paymentMethodId", "account %s has no default payment method; give paymentMethodId for an Electronic payment", a.AccountNumber)
		}
		if _, e := st.usablePaymentMethod(a.DefaultPaymentMethodID, a, "paymentMethodId", now); e != nil {
			return nil, e
		}
		id = a.DefaultPaymentMethodID
	case plan.typ == paymentElectronic:
		if _, e := st.usablePaymentMethod(id, a, "paymentMethodId", now); e != nil {
			return nil, e
		}
	case id != "":
		pm := st.paymentMethod(id)
		if pm == nil {
			return nil, errReferenceNotFound("paymentMethodId", id)
		}
		if pm.AccountID != a.ID {
			return nil, errRule("paymentMethodId", "payment method '%s' does not belong to account %s", id, a.AccountNumber)
		}
	}
	plan.pmID = id
	return plan, nil
}

// createPayment stores a validated payment and applies it. Caller holds st.mu for writing.
func (st *store) createPayment(plan *paymentPlan, now time.Time) *payment {
	a := plan.account
	stamp := now.Format(time.RFC3339)
	st.ord.seq.payment++
	p := &payment{ID: newID(), Number: fmt.Sprintf("P-%08d", st.ord.seq.payment), AccountID: a.ID,
		AccountNumber: a.AccountNumber, Amount: plan.amount, Currency: a.Currency, EffectiveDate: plan.date,
		PaymentMethodID: plan.pmID, CreatedTime: stamp, Type: plan.typ, Applied: []paymentApplication{}}
	if c := plan.in.Comment; c != nil {
		p.Comment = *c
	}
	if ref := plan.in.ReferenceID; ref != nil {
		p.ReferenceID = *ref
	}
	for i, inv := range plan.invoices {
		amt := plan.amounts[i]
		p.Applied = append(p.Applied, paymentApplication{InvoiceID: inv.ID, InvoiceNumber: inv.Number, Amount: amt})
		inv.Balance = roundMoney(inv.Balance - amt)
		inv.PaymentAmount = roundMoney(inv.PaymentAmount + amt)
		inv.UpdatedTime = stamp
		a.RemainingInvoiceBalance = roundMoney(a.RemainingInvoiceBalance - amt)
		if inv.Balance == 0 {
			st.notify(now, "invoice.paid", map[string]string{"InvoiceNumber": inv.Number, "InvoiceId": inv.ID,
				"AccountNumber": inv.AccountNumber, "PaymentNumber": p.Number, "Amount": money(amt), "Balance": money(0)})
		}
	}
	if len(p.Applied) > 0 {
		p.InvoiceID, p.InvoiceNumber = p.Applied[0].InvoiceID, p.Applied[0].InvoiceNumber
	}
	a.RemainingPaymentBalance = roundMoney(a.RemainingPaymentBalance + plan.unapplied)
	a.UpdatedTime = stamp
	st.ord.addPayment(p)
	return p
}

func (s *Sim) getPayment(r *http.Request, st *store) (reply, *apiError) {
	s.runDueOrdersLocked(st)
	p := st.lookupPayment(r.PathValue("payment_key"))
	if p == nil {
		return reply{}, errNotFound("payment", r.PathValue("payment_key"))
	}
	return replyOK(st.v1PaymentView(p, true)), nil
}

// v1PaymentsMaxPageSize and the default are GET /v1/payments' page size bounds (GLOBAL_REQUEST_pageSize).
const (
	v1PaymentsDefaultPageSize = 20
	v1PaymentsMaxPageSize     = 40
)

// paymentListFilters are the query filters GET /v1/payments reads (exact matches).
var paymentListFilters = []string{"accountId", "number", "status", "type", "currency"}

func (s *Sim) listPayments(r *http.Request, st *store) (reply, *apiError) {
	s.runDueOrdersLocked(st)
	pageNo, pageSize, e := v1Paging(r, v1PaymentsDefaultPageSize, v1PaymentsMaxPageSize)
	if e != nil {
		return reply{}, e
	}
	q := r.URL.Query()
	var rows []v1ARPayment
	for _, p := range st.ord.payments {
		v := st.v1PaymentView(p, false)
		got := map[string]string{"accountId": v.AccountID, "number": v.Number, "status": v.Status, "type": v.Type,
			"currency": v.Currency}
		keep := true
		for _, f := range paymentListFilters {
			if want := q.Get(f); want != "" && got[f] != want {
				keep = false
			}
		}
		if keep {
			rows = append(rows, v)
		}
	}
	resp := v1PaymentList{Success: true, Payments: []v1ARPayment{}}
	start := (pageNo - 1) * pageSize
	for i := start; i < len(rows) && i < start+pageSize; i++ {
		resp.Payments = append(resp.Payments, rows[i])
	}
	if start+pageSize < len(rows) {
		next := url.Values{}
		for _, f := range paymentListFilters {
			if v := q.Get(f); v != "" {
				next.Set(f, v)
			}
		}
		next.Set("page", strconv.Itoa(pageNo+1))
		next.Set("pageSize", strconv.Itoa(pageSize))
		resp.NextPage = "/v1/payments?" + next.Encode()
	}
	return replyOK(resp), nil
}

// v1InvoiceRead is GET /v1/invoices/{invoiceKey}: the invoice without its items (those are
// GET /v1/invoices/{invoiceKey}/items).
type v1InvoiceRead struct {
	V1Invoice
	InvoiceItems []V1InvoiceItem `json:"invoiceItems,omitempty"`
}

func (s *Sim) v1GetInvoice(r *http.Request, st *store) (reply, *apiError) {
	s.runDueOrdersLocked(st)
	inv := st.lookupInvoice(r.PathValue("invoice_key"))
	if inv == nil {
		return reply{}, errNotFound("invoice", r.PathValue("invoice_key"))
	}
	return replyOK(v1InvoiceRead{V1Invoice: inv.view()}), nil
}

type v1ApplicationPart struct {
	AppliedAmount float64 `json:"appliedAmount"`
	PaymentID     string  `json:"paymentId,omitempty"`
	CreditMemoID  string  `json:"creditMemoId,omitempty"`
	CreatedByID   string  `json:"createdById"`
	CreatedDate   string  `json:"createdDate,omitempty"`
	UpdatedByID   string  `json:"updatedById"`
	UpdatedDate   string  `json:"updatedDate,omitempty"`
}

type v1ApplicationParts struct {
	Success          bool                `json:"success"`
	ApplicationParts []v1ApplicationPart `json:"applicationParts"`
}

// invoiceApplicationParts lists what was applied to an invoice: its payments in creation order, then its
// write-off credit memos.
func (s *Sim) invoiceApplicationParts(r *http.Request, st *store) (reply, *apiError) {
	s.runDueOrdersLocked(st)
	inv := st.lookupInvoice(r.PathValue("invoice_key"))
	if inv == nil {
		return reply{}, errNotFound("invoice", r.PathValue("invoice_key"))
	}
	resp := v1ApplicationParts{Success: true, ApplicationParts: []v1ApplicationPart{}}
	for _, p := range st.ord.payments {
		for _, a := range p.applications() {
			if a.InvoiceID == inv.ID {
				resp.ApplicationParts = append(resp.ApplicationParts, v1ApplicationPart{AppliedAmount: a.Amount,
					PaymentID: p.ID, CreatedByID: simUserID, CreatedDate: p.CreatedTime, UpdatedByID: simUserID,
					UpdatedDate: p.CreatedTime})
			}
		}
	}
	for _, cm := range st.ord.creditMemos {
		if cm.InvoiceNumber == inv.Number {
			resp.ApplicationParts = append(resp.ApplicationParts, v1ApplicationPart{AppliedAmount: cm.Amount,
				CreditMemoID: cm.ID, CreatedByID: simUserID, UpdatedByID: simUserID})
		}
	}
	return replyOK(resp), nil
}

// ---- store access (caller holds st.mu) ----

// invoiceByID is the invoice with this id, or nil.
func (st *store) invoiceByID(id string) *invoice {
	for _, inv := range st.ord.invoices {
		if inv.ID == id {
			return inv
		}
	}
	return nil
}

// lookupInvoice finds an invoice by id or number.
func (st *store) lookupInvoice(key string) *invoice {
	for _, inv := range st.ord.invoices {
		if inv.ID == key || inv.Number == key {
			return inv
		}
	}
	return nil
}

// lookupPayment finds a payment by id or number.
func (st *store) lookupPayment(key string) *payment {
	for _, p := range st.ord.payments {
		if p.ID == key || p.Number == key {
			return p
		}
	}
	return nil
}

// ---- the V1 view ----

// v1ARPayment is "GETARPaymentType" (with success when read alone; a list's rows have none).
type v1ARPayment struct {
	Success             bool    `json:"success,omitempty"`
	ID                  string  `json:"id"`
	Number              string  `json:"number"`
	AccountID           string  `json:"accountId"`
	AccountNumber       string  `json:"accountNumber"`
	Amount              float64 `json:"amount"`
	AppliedAmount       float64 `json:"appliedAmount"`
	UnappliedAmount     float64 `json:"unappliedAmount"`
	RefundAmount        float64 `json:"refundAmount"`
	CreditBalanceAmount float64 `json:"creditBalanceAmount"`
	Currency            string  `json:"currency"`
	EffectiveDate       string  `json:"effectiveDate"`
	PaymentMethodID     string  `json:"paymentMethodId,omitempty"`
	Type                string  `json:"type"`
	Status              string  `json:"status"`
	GatewayState        string  `json:"gatewayState"`
	GatewayResponse     string  `json:"gatewayResponse,omitempty"`
	GatewayResponseCode string  `json:"gatewayResponseCode,omitempty"`
	SubmittedOn         string  `json:"submittedOn,omitempty"`
	Comment             string  `json:"comment,omitempty"`
	ReferenceID         string  `json:"referenceId,omitempty"`
	Prepayment          bool    `json:"prepayment"`
	Standalone          bool    `json:"standalone"`
	CreatedByID         string  `json:"createdById"`
	CreatedDate         string  `json:"createdDate"`
	UpdatedByID         string  `json:"updatedById"`
	UpdatedDate         string  `json:"updatedDate"`
}

type v1PaymentList struct {
	Success  bool          `json:"success"`
	Payments []v1ARPayment `json:"payments"`
	NextPage string        `json:"nextPage,omitempty"`
}

// v1PaymentView renders p in the V1 shape; alone adds success (single reads and the create answer).
func (st *store) v1PaymentView(p *payment, alone bool) v1ARPayment {
	v := v1ARPayment{Success: alone, ID: p.ID, Number: p.Number, AccountID: p.AccountID,
		AccountNumber: p.AccountNumber, Amount: p.Amount, AppliedAmount: p.appliedAmount(),
		UnappliedAmount: p.unappliedAmount(), Currency: p.Currency, EffectiveDate: p.EffectiveDate + "T00:00:00Z",
		PaymentMethodID: p.PaymentMethodID, Type: p.paymentType(), Status: p.status(),
		GatewayState: p.gatewayState(), Comment: p.Comment, ReferenceID: p.ReferenceID, CreatedByID: simUserID,
		CreatedDate: p.CreatedTime, UpdatedByID: simUserID, UpdatedDate: p.CreatedTime}
	if v.Type == paymentElectronic {
		v.GatewayResponse, v.GatewayResponseCode, v.SubmittedOn = "Approved", "approved", p.CreatedTime
	}
	if p.GatewayResponse != "" {
		v.GatewayResponse, v.GatewayResponseCode = p.GatewayResponse, p.GatewayResponseCode
	}
	return v
}
