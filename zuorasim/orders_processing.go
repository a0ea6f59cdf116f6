package zuorasim

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Committing an order: its staged versions become the subscriptions' new versions, then the processing options
// run (runBilling posts the invoice, collectPayment pays it, writeOff credits the cancelled subscriptions'
// open invoices), and the subscription notifications are recorded. The rating and the documents are billing.go's.

// checkProcessing validates the processing options against the account before anything is stored, so a
// failing payment fails the whole order.
func (sg *stage) checkProcessing() *apiError {
	p := sg.in.ProcessingOptions
	if p == nil || !isTrue(p.CollectPayment) {
		return nil
	}
	if _, e := sg.paymentMethod(); e != nil {
		return e
	}
	return nil
}

func (sg *stage) paymentMethod() (string, *apiError) {
	p := sg.in.ProcessingOptions
	// The payment method must be usable (payment_methods.go: it exists, belongs to the account, is active and its
	// card has not expired by the order's date).
	at := parseDate(sg.date)
	if epo := p.ElectronicPaymentOptions; epo != nil && epo.PaymentMethodID != "" {
		if _, e := sg.st.usablePaymentMethod(epo.PaymentMethodID, sg.account, "processingOptions.electronicPaymentOptions.paymentMethodId", at); e != nil {
			return "", e
		}
		return epo.PaymentMethodID, nil
	}
	if sg.account.DefaultPaymentMethodID == "" {
		return "", errRule("processingOptions.collectPayment", "account %s has no default payment method to collect the payment with", sg.account.AccountNumber)
	}
	if _, e := sg.st.usablePaymentMethod(sg.account.DefaultPaymentMethodID, sg.account, "processingOptions.collectPayment", at); e != nil {
		return "", e
	}
	return sg.account.DefaultPaymentMethodID, nil
}

// orderResult is what committing an order produced.
type orderResult struct {
	subs     []*subVersion
	invoices []*invoice
	payment  *payment
	writeOff []map[string]any
	memos    []*creditMemo
}

// commit stores the staged versions and runs the processing options. Caller holds st.mu for writing.
func (sg *stage) commit(o *order, at time.Time) *orderResult {
	st := sg.st
	res := &orderResult{}
	for _, number := range sg.touched {
		v := sg.working[number]
		v.ID = newID()
		v.Version = sg.base[number] + sg.steps[number]
		v.OrderNumber = o.Number
		v.UpdatedTime = sg.now
		if st.ord.addVersion(number, v) {
			v.CreatedTime = sg.now
		}
		res.subs = append(res.subs, v)
	}
	for i := range sg.records {
		rec := &sg.records[i]
		rec.Base, rec.New = sg.base[rec.Number], sg.working[rec.Number].Version
		osub := &sg.in.Subscriptions[i]
		for j := range osub.OrderActions {
			rec.Actions = append(rec.Actions, sg.renderAction(&osub.OrderActions[j], j+1))
		}
	}
	o.subs = sg.records
	if p := sg.in.ProcessingOptions; p != nil && isTrue(p.RunBilling) {
		target := sg.date
		draft := false
		if bo := p.BillingOptions; bo != nil {
			if bo.TargetDate != "" {
				target = bo.TargetDate
			}
			draft = isTrue(bo.GenerateDraftInvoice)
		}
		items := billSubscriptions(res.subs, billLimit{through: target})
		if len(items) > 0 {
			inv := st.newInvoice(&sg.seq, sg.account, items, target, sg.now, o.Number, draft)
			for _, b := range items {
				b.charge.ChargedThroughDate = b.chargedUntil
			}
			st.ord.addInvoice(inv)
			res.invoices = append(res.invoices, inv)
			if !draft {
				sg.account.RemainingInvoiceBalance = roundMoney(sg.account.RemainingInvoiceBalance + inv.Amount)
				st.notify(at, "invoice.posted", map[string]string{"InvoiceNumber": inv.Number, "InvoiceId": inv.ID,
					"AccountNumber": inv.AccountNumber, "AccountId": inv.AccountID, "Amount": money(inv.Amount),
					"Balance": money(inv.Balance), "Status": inv.Status, "Currency": inv.Currency})
				if isTrue(p.CollectPayment) && inv.Balance > 0 {
					res.payment = sg.collect(inv, at)
				}
			}
		}
	}
	if p := sg.in.ProcessingOptions; p != nil && isTrue(p.WriteOff) && len(sg.cancelled) > 0 {
		sg.writeOff(res)
	}
	for _, v := range res.subs {
		params := map[string]string{"SubscriptionNumber": v.Number, "SubscriptionId": v.ID,
			"SubscriptionVersion": strconv.Itoa(v.Version), "SubscriptionStatus": v.Status,
			"AccountNumber": v.AccountNumber, "AccountId": v.AccountID, "OrderNumber": o.Number,
			"StiggCustomerId": v.CustomFields["stiggCustomerId__c"]}
		event := "subscription.updated"
		switch {
		case sg.base[v.Number] == 0:
			event = "subscription.created"
		case sg.cancelled[v.Number]:
			event = "subscription.canceled"
			params["CancelledDate"] = v.CancelledDate
		}
		st.notify(at, event, params)
	}
	sg.keepNumbers()
	return res
}

func (sg *stage) collect(inv *invoice, at time.Time) *payment {
	st := sg.st
	pm, _ := sg.paymentMethod() // checked by checkProcessing
	sg.seq.payment++
	pay := &payment{ID: newID(), Number: fmt.Sprintf("P-%08d", sg.seq.payment), AccountID: inv.AccountID,
		AccountNumber: inv.AccountNumber, Amount: inv.Balance, Currency: inv.Currency, EffectiveDate: sg.date,
		PaymentMethodID: pm, InvoiceNumber: inv.Number, InvoiceID: inv.ID, CreatedTime: sg.now}
	inv.PaymentAmount = roundMoney(inv.PaymentAmount + pay.Amount)
	inv.Balance = 0
	sg.account.RemainingInvoiceBalance = roundMoney(sg.account.RemainingInvoiceBalance - pay.Amount)
	st.ord.addPayment(pay)
	st.notify(at, "invoice.paid", map[string]string{"InvoiceNumber": inv.Number, "InvoiceId": inv.ID,
		"AccountNumber": inv.AccountNumber, "PaymentNumber": pay.Number, "Amount": money(pay.Amount), "Balance": money(0)})
	return pay
}

// writeOff writes off the open balance of the posted invoices that bill a subscription the order cancels
// (including the one this order's runBilling has just posted, when it is still unpaid).
func (sg *stage) writeOff(res *orderResult) {
	st := sg.st
	for _, inv := range st.ord.invoices {
		if inv.AccountID != sg.account.ID || inv.Status != "Posted" || inv.Balance <= 0 {
			continue
		}
		if !slices.ContainsFunc(inv.Items, func(it invoiceItem) bool { return sg.cancelled[it.SubscriptionNumber] }) {
			continue
		}
		sg.seq.creditMemo++
		cm := &creditMemo{ID: newID(), Number: fmt.Sprintf("CM%08d", sg.seq.creditMemo), InvoiceNumber: inv.Number,
			Amount: inv.Balance}
		st.ord.addCreditMemo(cm)
		res.memos = append(res.memos, cm)
		res.writeOff = append(res.writeOff, map[string]any{"amount": cm.Amount, "invoiceNumber": inv.Number,
			"status": "Success", "writeOffCreditMemoNumber": cm.Number})
		inv.CreditMemoAmount = roundMoney(inv.CreditMemoAmount + cm.Amount)
		sg.account.RemainingInvoiceBalance = roundMoney(sg.account.RemainingInvoiceBalance - inv.Balance)
		inv.Balance = 0
	}
}
