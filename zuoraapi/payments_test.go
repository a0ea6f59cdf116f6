package zuoraapi_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// postedInvoice builds a one-charge catalog (flat 49 USD a month), subscribes a new account with runBilling and
// returns the account and the number of the invoice that posted.
func postedInvoice(t *testing.T, c *zuoraapi.Client) (*zuoraapi.Account, string) {
	t.Helper()
	ctx := evt("evt-setup")
	prod, err := c.CreateProduct(ctx, "product", &zuoraapi.ProductCreateRequest{Name: "Pro", SKU: "pro"})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := c.CreatePlan(ctx, "plan", &zuoraapi.PlanCreateRequest{ProductID: prod.ID, Name: "Pro monthly"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateCharge(ctx, "charge", &zuoraapi.ChargeCreateRequest{ProductRatePlanID: plan.ID, Name: "Base fee",
		ChargeModel: zuoraapi.ChargeModelFlatFee, ChargeType: zuoraapi.ChargeTypeRecurring,
		BillingPeriod: zuoraapi.BillingPeriodMonth, ProductRatePlanChargeTierData: zuoraapi.ChargeTierData{
			ProductRatePlanChargeTier: []zuoraapi.ChargeTier{{Currency: "USD", Price: zuoraapi.MustAmount("49")}}}}); err != nil {
		t.Fatal(err)
	}
	acct := newAccount(t, c, "Acme")
	today := time.Now().UTC().Format("2006-01-02")
	terms, err := zuoraapi.TermForBillingPeriod(zuoraapi.BillingPeriodMonth)
	if err != nil {
		t.Fatal(err)
	}
	run := true
	resp, err := c.CreateOrder(ctx, "order", &zuoraapi.OrderRequest{OrderDate: today, ExistingAccountNumber: acct.AccountNumber,
		ProcessingOptions: &zuoraapi.ProcessingOptions{RunBilling: &run},
		Subscriptions: []zuoraapi.OrderSubscription{{OrderActions: []zuoraapi.OrderAction{
			zuoraapi.NewCreateSubscriptionAction(today, &zuoraapi.OrderCreateSubscription{Terms: terms,
				SubscribeToRatePlans: []zuoraapi.OrderRatePlan{{ProductRatePlanID: plan.ID}}})}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.InvoiceNumbers) != 1 {
		t.Fatalf("order invoiced %v", resp.InvoiceNumbers)
	}
	return acct, resp.InvoiceNumbers[0]
}

func TestPaymentsAgainstSimulator(t *testing.T) {
	sim, c := simClient(t)
	acct, number := postedInvoice(t, c)
	ctx := evt("evt-pay-1")
	inv, err := c.GetInvoice(ctx, number)
	if err != nil || inv.Status != "Posted" || inv.Balance.String() != "49" || inv.AccountID != acct.ID {
		t.Fatalf("invoice %+v, %v", inv, err)
	}
	if _, err := c.GetInvoice(ctx, "INV-NOPE"); !zuoraapi.IsNotFound(err) {
		t.Fatalf("unknown invoice: %v", err)
	}

	// An External payment of part of the balance.
	req := &zuoraapi.PaymentCreateRequest{AccountID: acct.ID, Type: zuoraapi.PaymentTypeExternal,
		Amount: zuoraapi.MustAmount("20"), Currency: "USD", Comment: "wire", ReferenceID: "ref-1",
		Invoices: []zuoraapi.PaymentInvoice{{InvoiceID: inv.ID, Amount: zuoraapi.MustAmount("20")}}}
	p, err := c.CreatePayment(ctx, "external", req)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != zuoraapi.PaymentTypeExternal || p.Status != "Processed" || p.AppliedAmount.String() != "20" ||
		p.UnappliedAmount.String() != "0" || p.ReferenceID != "ref-1" || p.AccountNumber != acct.AccountNumber {
		t.Fatalf("payment %+v", p)
	}
	// The same event's step again: Zuora replays the stored answer.
	if again, err := c.CreatePayment(ctx, "external", req); err != nil || again.ID != p.ID || len(sim.Payments()) != 1 {
		t.Fatalf("replay: %+v, %v", again, err)
	}
	if inv, err = c.GetInvoice(ctx, inv.ID); err != nil || inv.Balance.String() != "29" || inv.PaymentAmount.String() != "20" {
		t.Fatalf("after 20: %+v, %v", inv, err)
	}
	parts, err := c.ListInvoiceApplicationParts(ctx, number)
	if err != nil || len(parts) != 1 || parts[0].PaymentID != p.ID || parts[0].AppliedAmount.String() != "20" {
		t.Fatalf("application parts %+v, %v", parts, err)
	}
	if got, err := c.GetPayment(ctx, p.Number); err != nil || got.ID != p.ID || got.Comment != "wire" {
		t.Fatalf("GetPayment %+v, %v", got, err)
	}

	// Electronic: refused without a payment method, then paid with the account's default.
	elec := &zuoraapi.PaymentCreateRequest{AccountNumber: acct.AccountNumber, Type: zuoraapi.PaymentTypeElectronic,
		Amount: zuoraapi.MustAmount("29"), Currency: "USD",
		Invoices: []zuoraapi.PaymentInvoice{{InvoiceID: inv.ID, Amount: zuoraapi.MustAmount("29")}}}
	_, err = c.CreatePayment(ctx, "electronic-1", elec)
	if e, ok := zuoraapi.AsError(err); !ok || e.Kind != zuoraapi.KindValidation || !e.Refused() || e.StatusCode != 200 {
		t.Fatalf("electronic without a payment method: %v", err)
	}
	pm, err := c.CreatePaymentMethod(ctx, "card", stripeCard(acct.ID, true))
	if err != nil {
		t.Fatal(err)
	}
	paid, err := c.CreatePayment(ctx, "electronic-2", elec)
	if err != nil || paid.PaymentMethodID != pm.ID || paid.Type != zuoraapi.PaymentTypeElectronic || paid.GatewayState != "Submitted" {
		t.Fatalf("electronic %+v, %v", paid, err)
	}
	if inv, err = c.GetInvoice(ctx, number); err != nil || !inv.Balance.IsZero() {
		t.Fatalf("settled invoice %+v, %v", inv, err)
	}
	list, err := c.ListPayments(ctx, zuoraapi.PaymentFilter{AccountID: acct.ID})
	if err != nil || len(list) != 2 || list[0].ID != p.ID || list[1].ID != paid.ID {
		t.Fatalf("ListPayments %+v, %v", list, err)
	}
	if list, err := c.ListPayments(ctx, zuoraapi.PaymentFilter{AccountID: acct.ID, Type: zuoraapi.PaymentTypeElectronic}); err != nil || len(list) != 1 {
		t.Fatalf("electronic payments %+v, %v", list, err)
	}
	if _, err := c.GetPayment(ctx, "P-NOPE"); !zuoraapi.IsNotFound(err) {
		t.Fatalf("unknown payment: %v", err)
	}
}

// ListPayments walks every page.
func TestListPaymentsPages(t *testing.T) {
	_, c := simClient(t)
	acct := newAccount(t, c, "Acme")
	for i := range 45 {
		if _, err := c.CreatePayment(evt("evt-many"), fmt.Sprintf("pay-%d", i),
			&zuoraapi.PaymentCreateRequest{AccountID: acct.ID, Type: zuoraapi.PaymentTypeExternal,
				Amount: zuoraapi.MustAmount("1"), Currency: "USD"}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := c.ListPayments(evt("evt-list"), zuoraapi.PaymentFilter{AccountID: acct.ID})
	if err != nil || len(list) != 45 || list[44].Number != "P-00000045" {
		t.Fatalf("%d payments, %v", len(list), err)
	}
}
