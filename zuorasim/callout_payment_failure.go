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
	inv, err := st.payableInvoice(invoiceNumber)
	if err != nil {
		return V1Payment{}, err
	}
	acct := st.lookupAccount(inv.AccountID)
	if acct == nil || acct.DefaultPaymentMethodID == "" {
		return V1Payment{}, fmt.Errorf("%w: %s", errNoPaymentMethod, inv.AccountNumber)
	}
	if reason == "" {
		reason = declinedGatewayResponse
	}
	now := s.Now()
	pay := s.balancePayment(st, inv, now)
	pay.PaymentMethodID, pay.Type, pay.Applied = acct.DefaultPaymentMethodID, paymentElectronic, []paymentApplication{}
	pay.Status, pay.GatewayResponse, pay.GatewayResponseCode = paymentError, reason, declinedGatewayCode
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
	return adminPaymentReply(s.DeclinePayment(r.PathValue("invoiceNumber"), body.Reason))
}
