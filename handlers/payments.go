package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/idmap"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// KindPaymentMethod is the id-map kind of payment methods zuora-sync created from a Stripe token (keyed by the
// Stripe payment method id).
const KindPaymentMethod = events.EntityPaymentMethod

// payments turns io.stigg.payment.requested into one Zuora payment applied to the invoice. Each request is its
// own event (a dispatch.Each route): the payment carries a reference derived from the event id, and the account's
// payments are looked at before writing, so redeliveries and replays — also after Zuora forgot the idempotency
// key — make no second payment.
type payments struct{ deps Deps }

// paymentReference is the Zuora referenceId that marks the payment of one request (at most 100 characters).
// Deployed payments are found by it: it must never change.
func paymentReference(eventID string) string {
	sum := sha256.Sum256([]byte(eventID))
	return "zs-" + hex.EncodeToString(sum[:16])
}

func (h *payments) Handle(ctx context.Context, in *dispatch.Input) (*dispatch.Result, error) {
	p, ok := in.Payload.(*events.PaymentRequested)
	if !ok {
		return nil, dispatch.Permanent(fmt.Errorf("payment handler got %T", in.Payload))
	}
	acct, err := h.deps.IDs.Get(ctx, KindCustomer, p.CustomerID)
	if errors.Is(err, idmap.ErrNotFound) {
		return nil, dispatch.Defer(fmt.Errorf("customer %s has no Zuora account yet", p.CustomerID))
	}
	if err != nil {
		return nil, err
	}
	inv, err := h.deps.Zuora.GetInvoice(ctx, p.InvoiceNumber)
	if zuoraapi.IsNotFound(err) {
		return nil, dispatch.Permanent(fmt.Errorf("no invoice %s in Zuora", p.InvoiceNumber))
	}
	if err != nil {
		return nil, describe(err, "read Zuora invoice "+p.InvoiceNumber)
	}
	if inv.AccountID != acct.ZuoraID {
		return nil, dispatch.Permanent(fmt.Errorf("invoice %s belongs to another Zuora account than customer %s's (%s)",
			p.InvoiceNumber, p.CustomerID, acct.ZuoraNumber))
	}
	ids := map[string]string{events.ZuoraInvoiceNumber: p.InvoiceNumber, events.ZuoraAccountNumber: acct.ZuoraNumber}
	ref := paymentReference(in.Event.ID())
	done, err := h.deps.Zuora.ListPayments(ctx, zuoraapi.PaymentFilter{AccountID: acct.ZuoraID})
	if err != nil {
		return nil, describe(err, "list the payments of account "+acct.ZuoraNumber)
	}
	for _, pay := range done {
		if pay.ReferenceID == ref {
			ids[events.ZuoraPaymentID], ids[events.ZuoraPaymentNumber] = pay.ID, pay.Number
			return dispatch.Synced(events.EntityPayment, events.Outcome{StiggID: in.Event.Subject(), Action: actionUnchanged, Zuora: ids}), nil
		}
	}
	amount, err := zuoraapi.ParseAmount(p.Amount.String())
	if err != nil {
		return nil, dispatch.Permanent(fmt.Errorf("amount: %w", err))
	}
	if inv.Balance.Cmp(amount) < 0 {
		return nil, dispatch.Permanent(fmt.Errorf("invoice %s has an open balance of %s %s, less than the %s requested; "+
			"nothing was paid", p.InvoiceNumber, inv.Balance, inv.Currency, amount))
	}
	req := &zuoraapi.PaymentCreateRequest{AccountID: acct.ZuoraID, Type: zuoraapi.PaymentTypeExternal, Amount: amount,
		Currency: p.Currency, Invoices: []zuoraapi.PaymentInvoice{{InvoiceID: inv.ID, Amount: amount}}, ReferenceID: ref}
	if p.Kind == events.PaymentElectronic {
		req.Type, req.PaymentMethodID = zuoraapi.PaymentTypeElectronic, p.PaymentMethodID
	}
	if p.Reference != "" {
		req.Comment = truncateText("Stigg reference "+p.Reference, 255)
	}
	pay, err := h.deps.Zuora.CreatePayment(ctx, "payment.create", req)
	if err != nil {
		return nil, describe(err, "pay Zuora invoice "+p.InvoiceNumber)
	}
	ids[events.ZuoraPaymentID], ids[events.ZuoraPaymentNumber] = pay.ID, pay.Number
	in.Logger.Info("payment created", "payment_number", pay.Number, "invoice", p.InvoiceNumber, "type", req.Type)
	return dispatch.Synced(events.EntityPayment, events.Outcome{StiggID: in.Event.Subject(), Action: actionCreated, Zuora: ids}), nil
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// paymentMethods turns io.stigg.payment_method.attached into the customer's Zuora payment method: one collected by
// Zuora's hosted page is moved to the customer's account when it sits on another, a card tokenised by Stripe
// becomes a cc_ref payment method; either becomes the account's default when Stigg says so.
type paymentMethods struct{ deps Deps }

func (h *paymentMethods) Handle(ctx context.Context, in *dispatch.Input) (*dispatch.Result, error) {
	m, ok := in.Payload.(*events.PaymentMethodAttached)
	if !ok {
		return nil, dispatch.Permanent(fmt.Errorf("payment method handler got %T", in.Payload))
	}
	acctEntry, err := h.deps.IDs.Get(ctx, KindCustomer, m.CustomerID)
	if errors.Is(err, idmap.ErrNotFound) {
		return nil, dispatch.Defer(fmt.Errorf("customer %s has no Zuora account yet", m.CustomerID))
	}
	if err != nil {
		return nil, err
	}
	accountID := acctEntry.ZuoraID
	action := actionUnchanged
	var pmID string
	if m.ZuoraPaymentMethodID != "" {
		pm, err := h.deps.Zuora.GetPaymentMethod(ctx, m.ZuoraPaymentMethodID)
		if zuoraapi.IsNotFound(err) {
			return nil, dispatch.Permanent(fmt.Errorf("no payment method %s in Zuora", m.ZuoraPaymentMethodID))
		}
		if err != nil {
			return nil, describe(err, "read Zuora payment method "+m.ZuoraPaymentMethodID)
		}
		pmID = pm.ID
		if pm.AccountID != accountID {
			// Collected by the hosted page under another account (or none): it belongs to this customer.
			if _, err := h.deps.Zuora.UpdatePaymentMethod(ctx, "payment_method.transfer", pm.ID,
				&zuoraapi.PaymentMethodPatch{AccountID: &accountID}); err != nil {
				return nil, describe(err, "move Zuora payment method "+pm.ID+" to account "+acctEntry.ZuoraNumber)
			}
			action = actionUpdated
		}
	} else {
		if pmID, action, err = h.stripeCard(ctx, in, m, accountID); err != nil {
			return nil, err
		}
	}
	if m.SetAsDefault {
		acct, err := h.deps.Zuora.GetAccount(ctx, accountID)
		if err != nil {
			return nil, describe(err, "read Zuora account "+acctEntry.ZuoraNumber)
		}
		if acct.DefaultPaymentMethodID != pmID {
			if _, err := h.deps.Zuora.UpdateAccount(ctx, "account.default_payment_method", accountID,
				&zuoraapi.AccountPatch{DefaultPaymentMethodID: &pmID}); err != nil {
				return nil, describe(err, "make "+pmID+" the default payment method of "+acctEntry.ZuoraNumber)
			}
			if action == actionUnchanged {
				action = actionUpdated
			}
		}
	}
	in.Logger.Info("payment method synced", "action", action, "payment_method_id", pmID)
	return dispatch.Synced(events.EntityPaymentMethod, events.Outcome{StiggID: in.Event.Subject(), Action: action,
		Zuora: map[string]string{events.ZuoraPaymentMethodID: pmID, events.ZuoraAccountID: accountID}}), nil
}

// stripeCard finds or creates the cc_ref payment method of a Stripe-tokenised card: the Stripe customer is the
// token, the Stripe payment method the second token; brand and expiry are display data (no card number).
func (h *paymentMethods) stripeCard(ctx context.Context, in *dispatch.Input, m *events.PaymentMethodAttached, accountID string) (string, string, error) {
	mapped, err := h.deps.IDs.Get(ctx, KindPaymentMethod, m.Stripe.PaymentMethodID)
	switch {
	case err == nil:
		return mapped.ZuoraID, actionUnchanged, nil
	case !errors.Is(err, idmap.ErrNotFound):
		return "", "", err
	}
	req := zuoraapi.NewCcRefPaymentMethod(accountID, m.Stripe.CustomerID, m.Stripe.PaymentMethodID,
		&zuoraapi.CcRefCardRequest{Brand: cardBrand(m.Card.Brand), ExpiryMonth: m.Card.ExpMonth, ExpiryYear: m.Card.ExpYear})
	pm, err := h.deps.Zuora.CreatePaymentMethod(ctx, "payment_method.create", req)
	if err != nil {
		return "", "", describe(err, "create the cc_ref payment method of customer "+m.CustomerID)
	}
	if err := h.deps.IDs.Put(ctx, KindPaymentMethod, &idmap.Entry{StiggID: m.Stripe.PaymentMethodID, ZuoraID: pm.ID,
		SourceEventID: in.Event.ID()}); err != nil {
		return "", "", err
	}
	return pm.ID, actionCreated, nil
}

// cardBrand spells a Stripe card brand the way Zuora's cc_ref card takes it (visa, mastercard, american_express,
// discover, jcb, diners); other brands go as they are and Zuora's answer says what it accepts.
func cardBrand(stripe string) string {
	b := strings.ToLower(strings.TrimSpace(stripe))
	switch b {
	case "amex", "american express":
		return "american_express"
	case "diners club", "diners_club", "dinersclub":
		return "diners"
	case "master card", "master_card":
		return "mastercard"
	}
	return b
}
