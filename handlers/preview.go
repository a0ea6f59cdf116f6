package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/idmap"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// Previews answers "what would this cost" questions with Zuora's own rating, using the same catalog mapping as
// the subscription handler, so a preview and the order that follows price alike.
type Previews struct{ subs *subscriptions }

// NewPreviews builds the preview service.
func NewPreviews(d Deps) *Previews { return &Previews{subs: newSubscriptions(d.withDefaults())} }

// OrderPreviewRequest asks what a new subscription, or a change to an existing one, would invoice.
type OrderPreviewRequest struct {
	// Subscription is the proposed state; its subscriptionId names an existing subscription to preview a change
	// of, or a new one.
	Subscription events.Subscription `json:"subscription"`
	// Periods is how many billing periods to preview (default 1, at most 24).
	Periods int `json:"periods,omitempty"`
}

// Preview is the answer: one invoice per billing period, Zuora's amounts unchanged.
type Preview struct {
	Currency string           `json:"currency,omitempty"`
	Total    zuoraapi.Amount  `json:"total"`
	Invoices []PreviewInvoice `json:"invoices"`
}

// PreviewInvoice is one previewed invoice.
type PreviewInvoice struct {
	TargetDate       string          `json:"targetDate,omitempty"`
	Amount           zuoraapi.Amount `json:"amount"`
	AmountWithoutTax zuoraapi.Amount `json:"amountWithoutTax"`
	Tax              zuoraapi.Amount `json:"tax"`
	Lines            []PreviewLine   `json:"lines"`
}

// PreviewLine is one invoice line.
type PreviewLine struct {
	Charge       string           `json:"charge,omitempty"`
	Product      string           `json:"product,omitempty"`
	ServiceStart string           `json:"serviceStart,omitempty"`
	ServiceEnd   string           `json:"serviceEnd,omitempty"`
	Quantity     *zuoraapi.Amount `json:"quantity,omitempty"`
	UnitPrice    *zuoraapi.Amount `json:"unitPrice,omitempty"`
	Amount       zuoraapi.Amount  `json:"amount"`
	Tax          zuoraapi.Amount  `json:"tax"`
}

// ErrBadRequest marks preview requests that cannot be answered as asked (the caller's mistake).
var ErrBadRequest = errors.New("bad request")

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
}

// PreviewOrder previews the invoices of a proposed create or update.
func (p *Previews) PreviewOrder(ctx context.Context, req *OrderPreviewRequest) (*Preview, error) {
	s := &req.Subscription
	if err := (&events.SubscriptionCreated{Subscription: *s}).Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	periods := req.Periods
	if periods == 0 {
		periods = 1
	}
	if periods < 1 || periods > 24 {
		return nil, badRequest("periods must be 1..24 (got %d)", req.Periods)
	}
	h := p.subs
	want, skip, err := h.desired(ctx, s)
	if err != nil {
		return nil, err
	}
	if skip != "" {
		return &Preview{Currency: s.Currency, Invoices: []PreviewInvoice{}}, nil
	}
	preview := &zuoraapi.OrderPreviewRequest{
		PreviewOptions: zuoraapi.OrderPreviewOptions{PreviewThruType: zuoraapi.PreviewThruNumberOfPeriods,
			PreviewNumberOfPeriods: periods, PreviewTypes: []string{zuoraapi.PreviewTypeBillingDocs}},
	}
	account, err := h.accountNumberOf(ctx, s)
	standIn := dispatch.IsDeferred(err)
	if err != nil && !standIn {
		return nil, err // the id map is unavailable: say so rather than price against a stand-in account
	}
	number := subscriptionNumberFor(s.SubscriptionID)
	cur, err := h.current(ctx, number)
	if err != nil {
		return nil, err
	}
	currency := s.Currency
	var order *zuoraapi.OrderRequest
	switch {
	case cur != nil && standIn:
		// The handler would wait for the paying customer's account before changing the subscription.
		return nil, dispatch.Defer(fmt.Errorf("subscription %s is in Zuora, but its paying customer %s has no Zuora "+
			"account yet", number, cmp.Or(s.PayingCustomerID, s.CustomerID)))
	case cur != nil:
		today := zuoraapi.FormatDate(h.now())
		actions, err := diffActions(cur, want, today)
		if err != nil {
			return nil, err
		}
		if len(actions) == 0 {
			return &Preview{Currency: cur.Currency, Invoices: []PreviewInvoice{}}, nil
		}
		order, currency = changeOrder(account, number, today, actions), cur.Currency
	default:
		if order, err = createOrder(s, want, account, number); err != nil {
			return nil, err
		}
		if standIn {
			// A customer not in Zuora yet is previewed against a stand-in account; Zuora requires its currency.
			t, _ := events.ParseTime(s.StartDate)
			currency = cmp.Or(s.Currency, h.deps.DefaultCurrency)
			preview.PreviewAccountInfo = &zuoraapi.PreviewAccountInfo{BillCycleDay: t.Day(), Currency: currency}
		}
	}
	// The order the handler would send, minus what a preview does not take (processing options).
	preview.OrderDate, preview.ExistingAccountNumber, preview.Subscriptions = order.OrderDate, order.ExistingAccountNumber, order.Subscriptions
	resp, err := h.deps.Zuora.PreviewOrder(ctx, "order.preview", preview)
	if err != nil {
		return nil, describe(err, "preview the order")
	}
	out := &Preview{Currency: currency, Invoices: []PreviewInvoice{}}
	for _, inv := range resp.PreviewResult.Invoices {
		pi := PreviewInvoice{TargetDate: inv.TargetDate, Amount: inv.Amount, AmountWithoutTax: inv.AmountWithoutTax, Tax: inv.TaxAmount, Lines: []PreviewLine{}}
		for _, it := range inv.InvoiceItems {
			line := PreviewLine{Charge: it.ChargeName, Product: it.ProductName, ServiceStart: it.ServiceStartDate,
				ServiceEnd: it.ServiceEndDate, UnitPrice: it.UnitPrice, Amount: it.AmountWithoutTax, Tax: it.TaxAmount}
			if it.AdditionalInfo != nil {
				line.Quantity = it.AdditionalInfo.Quantity
			}
			pi.Lines = append(pi.Lines, line)
		}
		out.Total = out.Total.Add(inv.Amount)
		out.Invoices = append(out.Invoices, pi)
	}
	return out, nil
}

// NextInvoiceRequest asks for the next invoice of an existing subscription.
type NextInvoiceRequest struct {
	SubscriptionID string `json:"subscriptionId"`
}

// PreviewNextInvoice previews the next billing period's invoice of an existing subscription.
func (p *Previews) PreviewNextInvoice(ctx context.Context, req *NextInvoiceRequest) (*Preview, error) {
	if req.SubscriptionID == "" {
		return nil, badRequest("subscriptionId is required")
	}
	h := p.subs
	number := subscriptionNumberFor(req.SubscriptionID)
	if e, err := h.deps.IDs.Get(ctx, KindSubscription, req.SubscriptionID); err == nil && e.ZuoraNumber != "" {
		number = e.ZuoraNumber
	} else if err != nil && !errors.Is(err, idmap.ErrNotFound) {
		return nil, err
	}
	cur, err := h.current(ctx, number)
	if err != nil {
		return nil, err
	}
	if cur == nil {
		return nil, fmt.Errorf("%w: subscription %s is not in Zuora", ErrNotFound, req.SubscriptionID)
	}
	resp, err := h.deps.Zuora.PreviewSubscription(ctx, "subscription.preview", number, &zuoraapi.SubscriptionPreviewRequest{
		PreviewThroughDate: &zuoraapi.PreviewThroughDate{PreviewThruDatePolicy: "nextBillingPeriods", NextBillingPeriods: 1},
	})
	if err != nil {
		return nil, describe(err, "preview the next invoice of "+number)
	}
	out := &Preview{Currency: cur.Currency, Invoices: []PreviewInvoice{}}
	for _, inv := range resp.Invoices {
		pi := PreviewInvoice{TargetDate: inv.TargetDate, Amount: inv.Amount, AmountWithoutTax: inv.AmountWithoutTax, Tax: inv.TaxAmount, Lines: []PreviewLine{}}
		for _, it := range inv.InvoiceItems {
			pi.Lines = append(pi.Lines, PreviewLine{Charge: it.ChargeName, Product: it.ProductName, ServiceStart: it.ServiceStartDate,
				ServiceEnd: it.ServiceEndDate, Quantity: it.Quantity, UnitPrice: it.UnitPrice, Amount: it.AmountWithoutTax, Tax: it.TaxAmount})
		}
		out.Total = out.Total.Add(inv.Amount)
		out.Invoices = append(out.Invoices, pi)
	}
	return out, nil
}

// ErrNotFound marks previews of things Zuora does not have.
var ErrNotFound = errors.New("not found")
