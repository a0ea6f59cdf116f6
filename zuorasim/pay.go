package zuorasim

import (
	"errors"
	"fmt"
	"net/http"
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
	var inv *invoice
	for _, i := range st.ord.invoices {
		if i.Number == number {
			inv = i
		}
	}
	switch {
	case inv == nil:
		return V1Payment{}, fmt.Errorf("%w: %s", errNoSuchInvoice, number)
	case inv.Status != "Posted" || inv.Balance <= 0:
		return V1Payment{}, fmt.Errorf("%w: %s is %s with balance %s", errNothingToPay, number, inv.Status, money(inv.Balance))
	}
	now := s.Now()
	acct := st.lookupAccount(inv.AccountID)
	st.ord.seq.payment++
	pay := &payment{ID: newID(), Number: fmt.Sprintf("P-%08d", st.ord.seq.payment), AccountID: inv.AccountID,
		AccountNumber: inv.AccountNumber, Amount: inv.Balance, Currency: inv.Currency,
		EffectiveDate: now.Format("2006-01-02"), InvoiceNumber: inv.Number, InvoiceID: inv.ID,
		CreatedTime: s.timestamp()}
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

func (s *Sim) adminPayInvoice(r *http.Request) (reply, *apiError) {
	pay, err := s.PayInvoice(r.PathValue("invoiceNumber"))
	switch {
	case errors.Is(err, errNoSuchInvoice):
		return reply{}, adminError(http.StatusNotFound, err)
	case err != nil:
		return reply{}, adminError(http.StatusConflict, err)
	}
	return replyOK(pay), nil
}
