package zuoraapi_test

import (
	"context"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/zuora-sync/zuora-sync/internal/conformance"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// These tests run the client against the simulator over HTTP, with every request and answer checked against
// Zuora's OpenAPI specs on the way.

// simClient is a simulator behind httptest and a client for it whose transport checks the traffic.
func simClient(t *testing.T) (*zuorasim.Sim, *zuoraapi.Client) {
	t.Helper()
	sim := zuorasim.New(zuorasim.Config{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() {
		sim.Close()
		srv.Close()
	})
	check := conformance.Load(t)
	c, err := zuoraapi.New(zuoraapi.Config{BaseURL: srv.URL, ClientID: zuorasim.DefaultClientID,
		ClientSecret: zuorasim.DefaultClientSecret, Transport: check.Transport(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

func evt(id string) context.Context { return zuoraapi.WithEventID(context.Background(), id) }

func newAccount(t *testing.T, c *zuoraapi.Client, name string) *zuoraapi.Account {
	t.Helper()
	a, err := c.CreateAccount(evt("create-"+name), "create-account", &zuoraapi.AccountCreateRequest{
		Name: name, Currency: "USD", BillTo: &zuoraapi.Contact{FirstName: "Ada", LastName: "Lovelace"}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func stripeCard(accountID string, isDefault bool) *zuoraapi.PaymentMethodCreateRequest {
	req := zuoraapi.NewCcRefPaymentMethod(accountID, "cus_Abc123", "pm_1Def456",
		&zuoraapi.CcRefCardRequest{Brand: "visa", ExpiryMonth: 11, ExpiryYear: 2099})
	req.IsDefault = &isDefault
	req.BillingDetails = &zuoraapi.BillingDetails{Name: "Ada Lovelace", Email: "ada@example.com",
		Address: &zuoraapi.BillingAddress{Line1: "1 Main St", PostalCode: "30305", Country: "USA"}}
	return req
}

func TestPaymentMethodsAgainstSimulator(t *testing.T) {
	sim, c := simClient(t)
	a1, a2 := newAccount(t, c, "Acme"), newAccount(t, c, "Beta")
	ctx := evt("evt-pm-1")
	pm, err := c.CreatePaymentMethod(ctx, "create-payment-method", stripeCard(a1.ID, true))
	if err != nil {
		t.Fatal(err)
	}
	card := pm.CcRef.Card
	if pm.Type != zuoraapi.PaymentMethodTypeCcRef || pm.AccountID != a1.ID || pm.State != "active" ||
		pm.CcRef.Token != "cus_Abc123" || pm.CcRef.SecondToken != "pm_1Def456" || card.Brand != "visa" ||
		card.ExpiryMonth != 11 || card.ExpiryYear != 2099 || len(card.Last4) != 4 || pm.BillingDetails.Address.PostalCode != "30305" {
		t.Fatalf("created %+v (card %+v)", pm, card)
	}
	// A redelivery of the same event's step gets the stored answer, not a second payment method.
	again, err := c.CreatePaymentMethod(ctx, "create-payment-method", stripeCard(a1.ID, true))
	if err != nil || again.ID != pm.ID || len(sim.PaymentMethods()) != 1 {
		t.Fatalf("replay: %v %+v (%d stored)", err, again, len(sim.PaymentMethods()))
	}
	if acct, err := c.GetAccount(ctx, a1.ID); err != nil || acct.DefaultPaymentMethodID != pm.ID {
		t.Fatalf("account default: %v %+v", err, acct)
	}
	got, err := c.GetPaymentMethod(ctx, pm.ID)
	if err != nil || !reflect.DeepEqual(got, pm) {
		t.Fatalf("read back %+v, %v; created %+v", got, err, pm)
	}
	if _, err := c.GetPaymentMethod(ctx, "nope"); !zuoraapi.IsNotFound(err) {
		t.Fatalf("unknown id: %v", err)
	}

	// The default cannot move; a second card can, and then becomes the other account's default.
	if _, err := c.UpdatePaymentMethod(ctx, "move-default", pm.ID, &zuoraapi.PaymentMethodPatch{AccountID: &a2.ID}); err == nil {
		t.Fatal("moving an account's default payment method succeeded")
	} else if e, ok := zuoraapi.AsError(err); !ok || e.Kind != zuoraapi.KindValidation || !e.Refused() {
		t.Fatalf("moving the default: %v", err)
	}
	spare, err := c.CreatePaymentMethod(ctx, "create-spare", stripeCard(a1.ID, false))
	if err != nil {
		t.Fatal(err)
	}
	second := "pm_9Xyz"
	moved, err := c.UpdatePaymentMethod(ctx, "move-spare", spare.ID, &zuoraapi.PaymentMethodPatch{
		AccountNumber: &a2.AccountNumber, CcRef: &zuoraapi.CcRefPatch{SecondToken: &second},
		BillingDetails: &zuoraapi.BillingDetails{Phone: "555-0100"}})
	if err != nil || moved.AccountID != a2.ID || moved.CcRef.SecondToken != second || moved.BillingDetails.Phone != "555-0100" ||
		moved.BillingDetails.Name != "Ada Lovelace" {
		t.Fatalf("moved %+v, %v", moved, err)
	}
	if _, err := c.UpdateAccount(ctx, "default-spare", a2.ID, &zuoraapi.AccountPatch{DefaultPaymentMethodID: &spare.ID}); err != nil {
		t.Fatal(err)
	}
	found, err := c.FindPaymentMethods(ctx, "account_id.EQ:"+a2.ID)
	if err != nil || len(found) != 1 || found[0].ID != spare.ID {
		t.Fatalf("find: %+v, %v", found, err)
	}
	if !(&zuoraapi.PaymentMethodPatch{}).IsEmpty() || (&zuoraapi.PaymentMethodPatch{AccountID: &a2.ID}).IsEmpty() {
		t.Fatal("IsEmpty")
	}
}

// No request type of the payment-method calls can carry a card number or security code.
func TestPaymentMethodRequestsCarryNoCardData(t *testing.T) {
	for _, v := range []any{zuoraapi.PaymentMethodCreateRequest{}, zuoraapi.PaymentMethodPatch{}} {
		checkNoCardFields(t, reflect.TypeOf(v), reflect.TypeOf(v).Name())
	}
}

func checkNoCardFields(t *testing.T, typ reflect.Type, path string) {
	t.Helper()
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
		typ = typ.Elem()
	}
	if typ.Kind() != reflect.Struct {
		return
	}
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "card_number", "security_code", "number", "cvv", "cvc":
			t.Errorf("%s.%s (%s) carries card data", path, f.Name, name)
		case "card":
			if path == reflect.TypeOf(zuoraapi.PaymentMethodCreateRequest{}).Name() || path == reflect.TypeOf(zuoraapi.PaymentMethodPatch{}).Name() {
				t.Errorf("%s.%s is the type-card hash, which carries card numbers", path, f.Name)
			}
		}
		checkNoCardFields(t, f.Type, path+"."+f.Name)
	}
}
