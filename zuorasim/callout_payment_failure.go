package zuorasim

import (
	"errors"
	"fmt"
	"net/http"
)

// A declined payment (the admin route POST /_sim/invoices/{invoiceNumber}/decline, Sim.DeclinePayment): the
// simulated gateway approves every payment it is asked for, so a failed one is made on purpose. It is an
// Electronic payment of the invoice's open balance with the account's default payment method that the gateway
// declined: stored with Status Error and the gateway's answer, applied to nothing (the invoice stays open), and
// recorded as payment.failed (a Payment INSERT with Status Error for event triggers).

const (
	paymentError            = "Error"
	declinedGatewayResponse = "Card declined by the simulated gateway"
	declinedGatewayCode     = "declined"
)

// status is the payment's V1 status: Processed unless the gateway declined it.
func (p *payment) status() string {
	if p.Status != "" {
		return p.Status
	}
	return paymentProcessed
}

var errNoPaymentMethod = errors.New("the account has no default payment method")

// DeclinePayment records a payment of the invoice's open balance that the gateway declined; reason is the
// gateway response ("" → a default).
func (s *Sim) DeclinePayment(invoiceNumber, reason string) (V1Payment, error) {
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	var inv *invoice
	for _, i := range st.ord.invoices {
		if i.Number == invoiceNumber {
			inv = i
		}
	}
	switch {
	case inv == nil:
		return V1Payment{}, fmt.Errorf("%w: %s", errNoSuchInvoice, invoiceNumber)
	case inv.Status != "Posted" || inv.Balance <= 0:
		return V1Payment{}, fmt.Errorf("%w: %s is %s with balance %s", errNothingToPay, invoiceNumber, inv.Status, money(inv.Balance))
	}
	acct := st.lookupAccount(inv.AccountID)
	if acct == nil || acct.DefaultPaymentMethodID == "" {
		return V1Payment{}, fmt.Errorf("%w: %s", errNoPaymentMethod, inv.AccountNumber)
	}
	if reason == "" {
		reason = declinedGatewayResponse
	}
	now := s.Now()
	st.ord.seq.payment++
	pay := &payment{ID: newID(), Number: fmt.Sprintf("P-%08d", st.ord.seq.payment), AccountID: inv.AccountID,
		AccountNumber: inv.AccountNumber, Amount: inv.Balance, Currency: inv.Currency,
		EffectiveDate: now.Format(dateLayout), PaymentMethodID: acct.DefaultPaymentMethodID, CreatedTime: s.timestamp(),
		Type: paymentElectronic, Applied: []paymentApplication{}, Status: paymentError,
		GatewayResponse: reason, GatewayResponseCode: declinedGatewayCode}
	st.ord.addPayment(pay)
	st.notify(now, "payment.failed", map[string]string{"PaymentId": pay.ID, "PaymentNumber": pay.Number,
		"InvoiceNumber": inv.Number, "AccountNumber": inv.AccountNumber, "AccountId": inv.AccountID,
		"Amount": money(pay.Amount), "GatewayResponse": reason})
	return pay.view(), nil
}

func (s *Sim) adminDeclinePayment(r *http.Request) (reply, *apiError) {
	var body struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 {
		if e := decodeAdmin(r, &body); e != nil {
			return reply{}, e
		}
	}
	pay, err := s.DeclinePayment(r.PathValue("invoiceNumber"), body.Reason)
	switch {
	case errors.Is(err, errNoSuchInvoice):
		return reply{}, adminError(http.StatusNotFound, err)
	case err != nil:
		return reply{}, adminError(http.StatusConflict, err)
	}
	return replyOK(pay), nil
}
