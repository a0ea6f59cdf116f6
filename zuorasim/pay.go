package zuorasim

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Paying an invoice as a customer would (the admin route POST /_sim/invoices/{invoiceNumber}/pay): a payment of
// the open balance with the account's default payment method (or none: an external payment), the invoice and
// account balances settled, and the invoice.paid notification a callout would carry.

var (
	errNoSuchInvoice = errors.New("no such invoice")
	errNothingToPay  = errors.New("the invoice has no open balance")
)

// PayInvoice pays the open balance of a posted invoice and returns the payment.
func (s *Sim) PayInvoice(number string) (V1Payment, error) {
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	inv, err := st.payableInvoice(number)
	if err != nil {
		return V1Payment{}, err
	}
	now := s.Now()
	acct := st.lookupAccount(inv.AccountID)
	pay := s.balancePayment(st, inv, now)
	pay.InvoiceNumber, pay.InvoiceID = inv.Number, inv.ID
	if acct != nil {
		pay.PaymentMethodID = acct.DefaultPaymentMethodID
		acct.RemainingInvoiceBalance = roundMoney(acct.RemainingInvoiceBalance - pay.Amount)
	}
	inv.PaymentAmount = roundMoney(inv.PaymentAmount + pay.Amount)
	inv.Balance = 0
	st.ord.addPayment(pay)
	st.notify(now, "invoice.paid", map[string]string{"InvoiceNumber": inv.Number, "InvoiceId": inv.ID,
		"AccountNumber": inv.AccountNumber, "PaymentNumber": pay.Number, "Amount": money(pay.Amount), "Balance": money(0)})
	return pay.view(), nil
}

// payableInvoice is the posted invoice numbered number with an open balance: what a payment, or a declined one,
// is for (errNoSuchInvoice, errNothingToPay otherwise). Caller holds st.mu.
func (st *store) payableInvoice(number string) (*invoice, error) {
	var inv *invoice
	for _, i := range st.ord.invoices {
		if i.Number == number {
			inv = i
		}
	}
	switch {
	case inv == nil:
		return nil, fmt.Errorf("%w: %s", errNoSuchInvoice, number)
	case inv.Status != "Posted" || inv.Balance <= 0:
		return nil, fmt.Errorf("%w: %s is %s with balance %s", errNothingToPay, number, inv.Status, money(inv.Balance))
	}
	return inv, nil
}

// balancePayment is a new payment of the invoice's open balance dated now, with the next payment number; the
// caller completes and stores it. Caller holds st.mu for writing.
func (s *Sim) balancePayment(st *store, inv *invoice, now time.Time) *payment {
	st.ord.seq.payment++
	return &payment{ID: newID(), Number: fmt.Sprintf("P-%08d", st.ord.seq.payment), AccountID: inv.AccountID,
		AccountNumber: inv.AccountNumber, Amount: inv.Balance, Currency: inv.Currency,
		EffectiveDate: now.Format(dateLayout), CreatedTime: s.timestamp()}
}

func (s *Sim) adminPayInvoice(r *http.Request) (reply, *apiError) {
	return adminPaymentReply(s.PayInvoice(r.PathValue("invoiceNumber")))
}

// adminPaymentReply answers an admin payment route: the payment, 404 for an unknown invoice, 409 for one that
// cannot be paid.
func adminPaymentReply(pay V1Payment, err error) (reply, *apiError) {
	switch {
	case errors.Is(err, errNoSuchInvoice):
		return reply{}, adminError(http.StatusNotFound, err)
	case err != nil:
		return reply{}, adminError(http.StatusConflict, err)
	}
	return replyOK(pay), nil
}
