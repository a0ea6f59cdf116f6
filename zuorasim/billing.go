package zuorasim

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"
)

// Billing: rating of subscription charges, the invoices an order's runBilling posts, payments (collectPayment),
// write-offs on cancellation (processingOptions.writeOff), and the previews (POST /v1/orders/preview in
// orders_preview.go, POST /v1/subscriptions/{key}/preview here). Previews and invoices use the same functions.
//
// The simulator's billing rules (simpler than Zuora's, and the same everywhere):
//   - Billing periods align to each charge's own start date (AlignToCharge): period k of a charge runs from
//     start + k×period to start + (k+1)×period. Months are added calendar-wise, clamped to the month's last day
//     (Jan 31 + 1 month = Feb 28/29). The account's bill cycle day is not used.
//   - No proration: every period is billed in full. A charge added mid-period starts its own full period; a
//     charge that ends (removal, cancellation) is not billed for periods starting on or after its end, and
//     nothing already billed is credited back. An UpdateProduct change applies from the next unbilled period:
//     periods already billed are not re-rated.
//   - In-advance recurring charges bill a period once the target date reaches its start, in-arrears ones once
//     it reaches its end; one-time charges bill once on their start date. Usage charges add no items to an
//     order's invoice: their usage records are rated by the clock when their billing period ends, on invoices of
//     their own (usage.go, processDueUsage).
//   - Amounts: flat fee = the price; per unit = price × quantity; tiered (graduated) = the sum over the tiers
//     the quantity reaches (per-unit tiers: units in the tier × price, flat-fee tiers: the price); volume = the
//     one tier containing the quantity (per unit: price × quantity, flat fee: the price). A list price base of
//     Per Month/Per Week/Per Year scales the price to the billing period. Amounts are rounded half away from
//     zero to 2 decimals per item. Tax is always 0.
//   - Invoices are Posted (or Draft with billingOptions.generateDraftInvoice), numbered INV00000001…, due after
//     the account's payment term. An order bills only the subscriptions it touches, into one invoice.

func roundMoney(v float64) float64 { return math.Round(v*100) / 100 }

func parseDate(d string) time.Time {
	t, _ := time.Parse(dateLayout, d)
	return t
}

func fmtDate(t time.Time) string { return t.Format(dateLayout) }

// addMonths adds n calendar months to t, clamping the day to the target month's length.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).AddDate(0, n, 0)
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(d, last), 0, 0, 0, 0, time.UTC)
}

// addTerm adds n units of a term period type (Month, Year, Day, Week) to a date.
func addTerm(date string, n int, periodType string) string {
	t := parseDate(date)
	switch periodType {
	case "Year":
		return fmtDate(addMonths(t, 12*n))
	case "Day":
		return fmtDate(t.AddDate(0, 0, n))
	case "Week":
		return fmtDate(t.AddDate(0, 0, 7*n))
	default:
		return fmtDate(addMonths(t, n))
	}
}

// periodLength is a billing period as months or days.
func periodLength(billingPeriod string, specific int) (months, days int) {
	switch billingPeriod {
	case "Month":
		return 1, 0
	case "Quarter":
		return 3, 0
	case "Semi-Annual":
		return 6, 0
	case "Annual":
		return 12, 0
	case "Eighteen Months":
		return 18, 0
	case "Two Years":
		return 24, 0
	case "Three Years":
		return 36, 0
	case "Five Years":
		return 60, 0
	case "Week":
		return 0, 7
	case "Specific Months":
		return max(specific, 1), 0
	case "Specific Weeks":
		return 0, 7 * max(specific, 1)
	case "Specific Days":
		return 0, max(specific, 1)
	}
	return 1, 0 // "Subscription Term" and anything unexpected: monthly [inferred simplification]
}

// periodStart is the start of period k of a charge that started on anchor.
func (c *subCharge) periodStart(anchor time.Time, k int) time.Time {
	months, days := periodLength(c.BillingPeriod, c.SpecificBillingPeriod)
	if months > 0 {
		return addMonths(anchor, months*k)
	}
	return anchor.AddDate(0, 0, days*k)
}

// priceFactor scales a list price given per month/week/year to the charge's billing period.
func (c *subCharge) priceFactor() float64 {
	months, days := periodLength(c.BillingPeriod, c.SpecificBillingPeriod)
	switch c.ListPriceBase {
	case "Per Month":
		if months > 0 {
			return float64(months)
		}
		return float64(days) / 30
	case "Per Week":
		if days > 0 {
			return float64(days) / 7
		}
		return float64(months) * 52 / 12
	case "Per Year":
		if months > 0 {
			return float64(months) / 12
		}
		return float64(days) / 365
	}
	return 1
}

// quantity is the charge's quantity (1 when a quantity-based charge has none).
func (c *subCharge) quantity() float64 {
	if c.Quantity != nil {
		return *c.Quantity
	}
	return 1
}

// periodAmount is what one billing period of the charge costs, rounded to cents.
func (c *subCharge) periodAmount() float64 {
	return roundMoney(rate(c.Model, c.Price, c.Tiers, c.quantity()) * c.priceFactor())
}

// rate prices a quantity under a charge model (see the rules at the top of the file).
func rate(model string, price *float64, tiers []ChargeTier, q float64) float64 {
	switch model {
	case modelFlatFee:
		if price == nil {
			return 0
		}
		return *price
	case modelPerUnit:
		if price == nil {
			return 0
		}
		return *price * q
	case modelTiered:
		total, prevEnd := 0.0, 0.0
		for i, t := range tiers {
			if i > 0 && q <= prevEnd {
				break
			}
			upper := q
			if t.EndingUnit != nil {
				upper = math.Min(q, *t.EndingUnit)
			}
			units := upper - prevEnd
			if units > 0 || (i == 0 && q > 0) {
				if t.PriceFormat == formatFlatFee {
					total += t.Price
				} else {
					total += t.Price * math.Max(units, 0)
				}
			}
			if t.EndingUnit != nil {
				prevEnd = *t.EndingUnit
			}
		}
		return total
	case modelVolume:
		for _, t := range tiers {
			if t.EndingUnit == nil || q <= *t.EndingUnit {
				if t.PriceFormat == formatFlatFee {
					return t.Price
				}
				return t.Price * q
			}
		}
	}
	return 0
}

// mrr is the monthly recurring revenue of a recurring charge.
func (c *subCharge) mrr() float64 {
	months, days := periodLength(c.BillingPeriod, c.SpecificBillingPeriod)
	amt := c.periodAmount()
	if months > 0 {
		return roundMoney(amt / float64(months))
	}
	return roundMoney(amt * 30 / float64(days))
}

// tcv is the charge's total contract value: its periods inside the current term (termed), or 12 months
// (evergreen) [inferred simplification of Zuora's TCV].
func (c *subCharge) tcv(v *subVersion) float64 {
	switch c.Type {
	case typeOneTime:
		return c.periodAmount()
	case typeUsage:
		return 0
	}
	end := c.EffectiveEndDate
	if end == "" || (v.TermType == termTermed && v.TermEndDate < end) {
		end = v.TermEndDate
	}
	if end == "" {
		return roundMoney(c.mrr() * 12)
	}
	anchor := parseDate(c.EffectiveStartDate)
	total := 0.0
	for k := 0; k < 1200; k++ {
		if fmtDate(c.periodStart(anchor, k)) >= end {
			break
		}
		total += c.periodAmount()
	}
	return roundMoney(total)
}

// billedUntil is where billing of the charge stops ("" = open-ended): its own end, or the end of a termed
// subscription's term that does not renew (such a term ends the charge).
func (c *subCharge) billedUntil(v *subVersion) string {
	end := c.EffectiveEndDate
	if v.TermType == termTermed && !v.AutoRenew && v.TermEndDate != "" && (end == "" || v.TermEndDate < end) {
		end = v.TermEndDate
	}
	return end
}

// billItem is one billed period of one charge.
type billItem struct {
	sub          *subVersion
	ratePlan     *subRatePlan
	charge       *subCharge
	start, end   string // end exclusive
	billDate     string
	amount       float64
	unitPrice    *float64
	quantity     *float64
	chargedUntil string // the charge's chargedThroughDate after this item
}

// billLimit bounds how far periods are generated: up to a target date, or a number of periods per charge.
type billLimit struct {
	through string // bill periods whose bill date is on or before this date ("" = no date bound)
	periods int    // at most this many periods per charge (0 = no count bound)
}

// maxBillPeriods keeps a runaway preview (e.g. weekly through 2099) bounded.
const maxBillPeriods = 500

// billCharge lists the unbilled periods of one charge within the limit.
func billCharge(v *subVersion, rp *subRatePlan, c *subCharge, lim billLimit) []billItem {
	if c.Type == typeUsage {
		return nil
	}
	end := c.billedUntil(v)
	var unit *float64
	switch c.Model {
	case modelPerUnit:
		unit = clonePtr(c.Price)
	}
	var qty *float64
	if c.Model != modelFlatFee {
		q := c.quantity()
		qty = &q
	}
	if c.Type == typeOneTime {
		if c.ChargedThroughDate != "" || (lim.through != "" && c.EffectiveStartDate > lim.through) ||
			(end != "" && c.EffectiveStartDate >= end) {
			return nil
		}
		next := fmtDate(parseDate(c.EffectiveStartDate).AddDate(0, 0, 1))
		return []billItem{{sub: v, ratePlan: rp, charge: c, start: c.EffectiveStartDate, end: next,
			billDate: c.EffectiveStartDate, amount: c.periodAmount(), unitPrice: unit, quantity: qty, chargedUntil: next}}
	}
	anchor := parseDate(c.EffectiveStartDate)
	var out []billItem
	for k := 0; k < maxBillPeriods*4 && len(out) < maxBillPeriods; k++ {
		ps, pe := fmtDate(c.periodStart(anchor, k)), fmtDate(c.periodStart(anchor, k+1))
		if c.ChargedThroughDate != "" && ps < c.ChargedThroughDate {
			continue
		}
		if end != "" && ps >= end {
			break
		}
		bill := ps
		if c.BillingTiming == "In Arrears" {
			bill = pe
		}
		if lim.through != "" && bill > lim.through {
			break
		}
		if lim.periods > 0 && len(out) >= lim.periods {
			break
		}
		out = append(out, billItem{sub: v, ratePlan: rp, charge: c, start: ps, end: pe, billDate: bill,
			amount: c.periodAmount(), unitPrice: unit, quantity: qty, chargedUntil: pe})
	}
	return out
}

// billSubscriptions lists the unbilled periods of every charge of the given versions within the limit, in
// subscription, rate plan and charge order, then by period.
func billSubscriptions(vs []*subVersion, lim billLimit) []billItem {
	var out []billItem
	for _, v := range vs {
		for _, rp := range v.RatePlans {
			for _, c := range rp.Charges {
				out = append(out, billCharge(v, rp, c, lim)...)
			}
		}
	}
	return out
}

// ---- invoices ----

type invoice struct {
	ID, Number               string
	AccountID, AccountNumber string
	Currency                 string
	InvoiceDate, TargetDate  string
	DueDate, PostedDate      string
	Status                   string // Posted | Draft
	Amount, Balance          float64
	PaymentAmount            float64
	CreditMemoAmount         float64
	SourceID                 string // the order number
	Source, SourceType       string // API/Order (an order's runBilling) | BillRun/Subscription (usage, by the clock)
	Items                    []invoiceItem
	CreatedTime, UpdatedTime string
}

type invoiceItem struct {
	ID                      string
	SubscriptionID          string
	SubscriptionNumber      string
	ChargeID, ChargeNumber  string
	ChargeName, ChargeDesc  string
	ChargeType              string
	ProductName             string
	RatePlanName            string
	ProductRatePlanChargeID string
	UOM                     string
	AccountingCode          string
	ServiceStartDate        string
	ServiceEndDate          string // inclusive
	Quantity                *float64
	UnitPrice               *float64
	Amount                  float64
}

// V1Invoice is an invoice as GET /v1/invoices/{invoiceKey} returns it ("GetInvoiceResponse"), with its items
// as GET /v1/invoices/{invoiceKey}/items returns them.
type V1Invoice struct {
	Success           bool            `json:"success"`
	ID                string          `json:"id"`
	InvoiceNumber     string          `json:"invoiceNumber"`
	AccountID         string          `json:"accountId"`
	AccountNumber     string          `json:"accountNumber"`
	Currency          string          `json:"currency"`
	InvoiceDate       string          `json:"invoiceDate"`
	TargetDate        string          `json:"targetDate"`
	DueDate           string          `json:"dueDate"`
	PostedDate        string          `json:"postedDate,omitempty"`
	PostedBy          string          `json:"postedBy,omitempty"`
	Status            string          `json:"status"`
	Amount            float64         `json:"amount"`
	AmountWithoutTax  float64         `json:"amountWithoutTax"`
	TaxAmount         float64         `json:"taxAmount"`
	Balance           float64         `json:"balance"`
	PaymentAmount     float64         `json:"paymentAmount"`
	CreditMemoAmount  float64         `json:"creditMemoAmount"`
	RefundAmount      float64         `json:"refundAmount"`
	Source            string          `json:"source"`
	SourceID          string          `json:"sourceId"`
	SourceType        string          `json:"sourceType"`
	IncludesOneTime   bool            `json:"includesOneTime"`
	IncludesRecurring bool            `json:"includesRecurring"`
	IncludesUsage     bool            `json:"includesUsage"`
	CreatedByID       string          `json:"createdById"`
	CreatedDate       string          `json:"createdDate"`
	UpdatedByID       string          `json:"updatedById"`
	UpdatedDate       string          `json:"updatedDate"`
	InvoiceItems      []V1InvoiceItem `json:"invoiceItems"`
}

// V1InvoiceItem is "InvoiceItem" (decimals as strings, as that schema types them).
type V1InvoiceItem struct {
	ID                      string `json:"id"`
	SubscriptionID          string `json:"subscriptionId"`
	SubscriptionName        string `json:"subscriptionName"`
	ChargeID                string `json:"chargeId"`
	ChargeName              string `json:"chargeName"`
	ChargeDescription       string `json:"chargeDescription,omitempty"`
	ChargeType              string `json:"chargeType"`
	ChargeAmount            string `json:"chargeAmount"`
	Balance                 string `json:"balance"`
	TaxAmount               string `json:"taxAmount"`
	Quantity                string `json:"quantity,omitempty"`
	UnitPrice               string `json:"unitPrice,omitempty"`
	UnitOfMeasure           string `json:"unitOfMeasure,omitempty"`
	ProductName             string `json:"productName"`
	RatePlanName            string `json:"ratePlanName"`
	ProductRatePlanChargeID string `json:"productRatePlanChargeId"`
	AccountingCode          string `json:"accountingCode,omitempty"`
	ProcessingType          string `json:"processingType"`
	ServiceStartDate        string `json:"serviceStartDate"`
	ServiceEndDate          string `json:"serviceEndDate"`
	SourceItemType          string `json:"sourceItemType"`
}

func (inv *invoice) view() V1Invoice {
	out := V1Invoice{Success: true, ID: inv.ID, InvoiceNumber: inv.Number, AccountID: inv.AccountID,
		AccountNumber: inv.AccountNumber, Currency: inv.Currency, InvoiceDate: inv.InvoiceDate,
		TargetDate: inv.TargetDate, DueDate: inv.DueDate, PostedDate: inv.PostedDate, Status: inv.Status,
		Amount: inv.Amount, AmountWithoutTax: inv.Amount, Balance: inv.Balance, PaymentAmount: inv.PaymentAmount,
		CreditMemoAmount: inv.CreditMemoAmount, Source: inv.Source, SourceID: inv.SourceID, SourceType: inv.SourceType,
		CreatedByID: simUserID, CreatedDate: inv.CreatedTime, UpdatedByID: simUserID, UpdatedDate: inv.UpdatedTime,
		InvoiceItems: []V1InvoiceItem{}}
	if inv.PostedDate != "" {
		out.PostedBy = simUserID
	}
	bal := 0.0
	if inv.Amount != 0 {
		bal = inv.Balance / inv.Amount
	}
	for _, it := range inv.Items {
		switch it.ChargeType {
		case typeOneTime:
			out.IncludesOneTime = true
		case typeRecurring:
			out.IncludesRecurring = true
		case typeUsage:
			out.IncludesUsage = true
		}
		vi := V1InvoiceItem{ID: it.ID, SubscriptionID: it.SubscriptionID, SubscriptionName: it.SubscriptionNumber,
			ChargeID: it.ChargeID, ChargeName: it.ChargeName, ChargeDescription: it.ChargeDesc,
			ChargeType: it.ChargeType, ChargeAmount: money(it.Amount), Balance: money(roundMoney(it.Amount * bal)),
			TaxAmount: money(0), UnitOfMeasure: it.UOM, ProductName: it.ProductName, RatePlanName: it.RatePlanName,
			ProductRatePlanChargeID: it.ProductRatePlanChargeID, AccountingCode: it.AccountingCode,
			ProcessingType: "Charge", ServiceStartDate: it.ServiceStartDate, ServiceEndDate: it.ServiceEndDate,
			SourceItemType: "SubscriptionComponent"}
		if it.Quantity != nil {
			vi.Quantity = num(*it.Quantity)
		}
		if it.UnitPrice != nil {
			vi.UnitPrice = num(*it.UnitPrice)
		}
		out.InvoiceItems = append(out.InvoiceItems, vi)
	}
	return out
}

// inclusiveEnd turns an exclusive period end into Zuora's inclusive service end date.
func inclusiveEnd(end string) string { return fmtDate(parseDate(end).AddDate(0, 0, -1)) }

// dueDays is the due period of an account's payment term (0 when unknown). Caller holds st.mu.
func (st *store) dueDays(term string) int {
	for _, t := range st.paymentTerms {
		if t.Name == term {
			return t.DueDays
		}
	}
	return 0
}

// newInvoice builds (but does not store) an invoice of the items for an account. It takes the numbers from
// seq so that a failed order leaves no gap. Caller holds st.mu.
func (st *store) newInvoice(seq *seqs, a *Account, items []billItem, targetDate, now, orderNumber string, draft bool) *invoice {
	seq.invoice++
	inv := &invoice{ID: newID(), Number: fmt.Sprintf("INV%08d", seq.invoice), AccountID: a.ID,
		AccountNumber: a.AccountNumber, Currency: a.Currency, InvoiceDate: targetDate, TargetDate: targetDate,
		DueDate: addTerm(targetDate, st.dueDays(a.PaymentTerms), "Day"), Status: "Posted",
		Source: "API", SourceID: orderNumber, SourceType: "Order", CreatedTime: now, UpdatedTime: now}
	if draft {
		inv.Status = "Draft"
	} else {
		inv.PostedDate = targetDate
	}
	for _, b := range items {
		if inv.Currency == "" {
			inv.Currency = b.charge.Currency
		}
		inv.Items = append(inv.Items, invoiceItem{ID: newID(), SubscriptionID: b.sub.ID,
			SubscriptionNumber: b.sub.Number, ChargeID: b.charge.ID, ChargeNumber: b.charge.Number,
			ChargeName: b.charge.Name, ChargeDesc: b.charge.Description, ChargeType: b.charge.Type,
			ProductName: b.ratePlan.ProductName, RatePlanName: b.ratePlan.Name,
			ProductRatePlanChargeID: b.charge.ProductRatePlanChargeID, UOM: b.charge.UOM,
			AccountingCode: b.charge.AccountingCode, ServiceStartDate: b.start, ServiceEndDate: inclusiveEnd(b.end),
			Quantity: clonePtr(b.quantity), UnitPrice: clonePtr(b.unitPrice), Amount: b.amount})
		inv.Amount = roundMoney(inv.Amount + b.amount)
	}
	inv.Balance = inv.Amount
	return inv
}

// ---- payments and credit memos ----

type payment struct {
	ID, Number               string
	AccountID, AccountNumber string
	Amount                   float64
	Currency                 string
	EffectiveDate            string
	PaymentMethodID          string
	InvoiceNumber, InvoiceID string
	CreatedTime              string
	// Set by POST /v1/payments (payments.go); an order's or the admin route's payment leaves them empty: the
	// whole Amount paid to InvoiceID, Electronic with PaymentMethodID (External without one).
	Type                 string               // External | Electronic ("" = by PaymentMethodID)
	Comment, ReferenceID string               // as given
	Applied              []paymentApplication // the invoices paid; nil = InvoiceID/InvoiceNumber, the whole Amount
	// A payment the gateway declined (callout_payment_failure.go): Status Error and the gateway's answer; ""
	// for an approved one (Processed).
	Status, GatewayResponse, GatewayResponseCode string
}

// V1Payment is a payment as GET /v1/payments/{paymentKey} returns it.
type V1Payment struct {
	Success         bool               `json:"success"`
	ID              string             `json:"id"`
	Number          string             `json:"number"`
	AccountID       string             `json:"accountId"`
	AccountNumber   string             `json:"accountNumber"`
	Amount          float64            `json:"amount"`
	AppliedAmount   float64            `json:"appliedAmount"`
	UnappliedAmount float64            `json:"unappliedAmount"`
	Currency        string             `json:"currency"`
	EffectiveDate   string             `json:"effectiveDate"`
	PaymentMethodID string             `json:"paymentMethodId"`
	Status          string             `json:"status"`
	Type            string             `json:"type"`
	GatewayState    string             `json:"gatewayState"`
	PaidInvoices    []V1PaymentInvoice `json:"paidInvoices"`
	CreatedDate     string             `json:"createdDate"`
}

// V1PaymentInvoice is one invoice a payment paid.
type V1PaymentInvoice struct {
	InvoiceID     string  `json:"invoiceId"`
	InvoiceNumber string  `json:"invoiceNumber"`
	AppliedAmount float64 `json:"appliedPaymentAmount"`
}

func (p *payment) view() V1Payment {
	out := V1Payment{Success: true, ID: p.ID, Number: p.Number, AccountID: p.AccountID,
		AccountNumber: p.AccountNumber, Amount: p.Amount, AppliedAmount: p.appliedAmount(),
		UnappliedAmount: p.unappliedAmount(), Currency: p.Currency, EffectiveDate: p.EffectiveDate,
		PaymentMethodID: p.PaymentMethodID, Status: p.status(), Type: p.paymentType(),
		GatewayState: p.gatewayState(), CreatedDate: p.CreatedTime, PaidInvoices: []V1PaymentInvoice{}}
	for _, a := range p.applications() {
		out.PaidInvoices = append(out.PaidInvoices, V1PaymentInvoice{InvoiceID: a.InvoiceID,
			InvoiceNumber: a.InvoiceNumber, AppliedAmount: a.Amount})
	}
	return out
}

// creditMemo records a write-off (the only kind of credit memo the simulator makes).
type creditMemo struct {
	ID, Number    string
	InvoiceNumber string
	Amount        float64
}

// ---- preview of an existing subscription ----

// subPreviewIn is "PreviewExistingSubscriptionRequest".
type subPreviewIn struct {
	PreviewStartDate *struct {
		PreviewStartDatePolicy string `json:"previewStartDatePolicy"`
		SpecificDate           string `json:"specificDate"`
	} `json:"previewStartDate"`
	PreviewThroughDate *struct {
		PreviewThruDatePolicy string   `json:"previewThruDatePolicy"`
		NextBillingPeriods    *float64 `json:"nextBillingPeriods"`
		SpecificDate          string   `json:"specificDate"`
	} `json:"previewThroughDate"`
	QuantityForUsageCharges []any `json:"quantityForUsageCharges"`
	SkipTax                 *bool `json:"skipTax"`
}

type subPreviewItem struct {
	ServiceStartDate        string   `json:"serviceStartDate"`
	ServiceEndDate          string   `json:"serviceEndDate"`
	AmountWithoutTax        float64  `json:"amountWithoutTax"`
	TaxAmount               float64  `json:"taxAmount"`
	ChargeDescription       string   `json:"chargeDescription"`
	ChargeName              string   `json:"chargeName"`
	ChargeNumber            string   `json:"chargeNumber"`
	ProductName             string   `json:"productName"`
	ProductRatePlanChargeID string   `json:"productRatePlanChargeId"`
	ProcessingType          string   `json:"processingType"`
	UnitPrice               *float64 `json:"unitPrice,omitempty"`
	Quantity                *float64 `json:"quantity,omitempty"`
	UnitOfMeasure           *string  `json:"unitOfMeasure"`
}

type subPreviewInvoice struct {
	Amount                float64          `json:"amount"`
	AmountWithoutTax      float64          `json:"amountWithoutTax"`
	TaxAmount             float64          `json:"taxAmount"`
	TargetDate            string           `json:"targetDate"`
	Status                *string          `json:"status"`
	IsFromExistingInvoice bool             `json:"isFromExistingInvoice"`
	InvoiceItems          []subPreviewItem `json:"invoiceItems"`
}

type subPreviewResponse struct {
	Success     bool                `json:"success"`
	Invoices    []subPreviewInvoice `json:"invoices"`
	CreditMemos []any               `json:"creditMemos"`
}

// previewSubscription previews the invoices of the subscription's unbilled periods: by default (no
// previewThroughDate) the next billing period, i.e. the next invoice. previewStartDate only drops invoices
// dated before it; the preview never re-rates billed periods (see the billing rules).
func (s *Sim) previewSubscription(r *http.Request, st *store) (reply, *apiError) {
	s.runDueOrdersLocked(st)
	var in subPreviewIn
	if e := decodeV1Body(r, &in); e != nil {
		return reply{}, e
	}
	today := s.today()
	sub, _ := st.lookupSubscription(r.PathValue("subscription_key"))
	if sub == nil {
		return reply{}, errNotFound("subscription", r.PathValue("subscription_key"))
	}
	v := sub.latest()
	from := ""
	if ps := in.PreviewStartDate; ps != nil {
		switch ps.PreviewStartDatePolicy {
		case "", "startOfTerm":
		case "today":
			from = today
		case "specificDate":
			if !validDate(ps.SpecificDate) {
				return reply{}, errInvalid("previewStartDate.specificDate", "'previewStartDate.specificDate' must be a date (YYYY-MM-DD)")
			}
			from = ps.SpecificDate
		default:
			return reply{}, errInvalid("previewStartDate.previewStartDatePolicy", "'previewStartDatePolicy' must be one of startOfTerm, today, specificDate")
		}
	}
	lim := billLimit{periods: 1}
	if pt := in.PreviewThroughDate; pt != nil {
		switch pt.PreviewThruDatePolicy {
		case "", "nextBillingPeriods":
			if pt.NextBillingPeriods != nil {
				n := int(*pt.NextBillingPeriods)
				if n < 1 || float64(n) != *pt.NextBillingPeriods {
					return reply{}, errInvalid("previewThroughDate.nextBillingPeriods", "'nextBillingPeriods' must be a positive whole number")
				}
				lim.periods = n
			}
		case "endOfTerm":
			if v.TermType != termTermed {
				return reply{}, errInvalid("previewThroughDate.previewThruDatePolicy", "endOfTerm is not valid for an evergreen subscription").withCategory(catRule)
			}
			lim = billLimit{through: fmtDate(parseDate(v.TermEndDate).AddDate(0, 0, -1))}
		case "specificDate":
			if !validDate(pt.SpecificDate) {
				return reply{}, errInvalid("previewThroughDate.specificDate", "'previewThroughDate.specificDate' must be a date (YYYY-MM-DD)")
			}
			lim = billLimit{through: pt.SpecificDate}
		default:
			return reply{}, errInvalid("previewThroughDate.previewThruDatePolicy", "'previewThruDatePolicy' must be one of nextBillingPeriods, endOfTerm, specificDate")
		}
	}
	resp := subPreviewResponse{Success: true, Invoices: []subPreviewInvoice{}, CreditMemos: []any{}}
	for _, doc := range groupByBillDate(billSubscriptions([]*subVersion{v}, lim)) {
		if from != "" && doc.date < from {
			continue
		}
		pi := subPreviewInvoice{TargetDate: doc.date, InvoiceItems: []subPreviewItem{}}
		for _, b := range doc.items {
			pi.InvoiceItems = append(pi.InvoiceItems, subPreviewItem{ServiceStartDate: b.start,
				ServiceEndDate: inclusiveEnd(b.end), AmountWithoutTax: b.amount, ChargeDescription: b.charge.Description,
				ChargeName: b.charge.Name, ChargeNumber: b.charge.Number, ProductName: b.ratePlan.ProductName,
				ProductRatePlanChargeID: b.charge.ProductRatePlanChargeID, ProcessingType: "Charge",
				UnitPrice: b.unitPrice, Quantity: b.quantity, UnitOfMeasure: strPtr(b.charge.UOM)})
			pi.Amount = roundMoney(pi.Amount + b.amount)
		}
		pi.AmountWithoutTax = pi.Amount
		resp.Invoices = append(resp.Invoices, pi)
	}
	return replyOK(resp), nil
}

// billDoc is the items billed on one date: one previewed invoice.
type billDoc struct {
	date  string
	items []billItem
}

// groupByBillDate puts items into one document per bill date, in date order.
func groupByBillDate(items []billItem) []billDoc {
	var docs []billDoc
	for _, it := range items {
		i := slices.IndexFunc(docs, func(d billDoc) bool { return d.date == it.billDate })
		if i < 0 {
			docs = append(docs, billDoc{date: it.billDate})
			i = len(docs) - 1
		}
		docs[i].items = append(docs[i].items, it)
	}
	slices.SortStableFunc(docs, func(a, b billDoc) int {
		switch {
		case a.date < b.date:
			return -1
		case a.date > b.date:
			return 1
		}
		return 0
	})
	return docs
}

// ---- Go helpers ----

// Invoices returns every invoice, in creation order.
func (s *Sim) Invoices() []V1Invoice {
	st := s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make([]V1Invoice, 0, len(st.ord.invoices))
	for _, inv := range st.ord.invoices {
		out = append(out, inv.view())
	}
	return out
}

// Payments returns every payment, in creation order.
func (s *Sim) Payments() []V1Payment {
	st := s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make([]V1Payment, 0, len(st.ord.payments))
	for _, p := range st.ord.payments {
		out = append(out, p.view())
	}
	return out
}
