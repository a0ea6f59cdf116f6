package zuoraapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

func TestCreateAndGetAccount(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "POST" && r.URL.Path == "/v2/accounts":
			writeJSON(w, 201, `{"id":"8ad0","account_number":"A-1","name":"Acme","currency":"USD","payment_terms":"Net 30",
				"bill_to_id":"c-1","custom_fields":{"stiggCustomerId__c":"cust-1"},"enabled":true,"remaining_invoice_balance":10.5}`)
		case r.Method == "GET" && r.URL.Path == "/v2/accounts/A 1":
			if r.URL.Query().Get("expand[]") != "bill_to" {
				writeJSON(w, 400, `{"type":"bad_request","errors":[]}`)
				return
			}
			writeJSON(w, 200, `{"id":"8ad0","account_number":"A 1","bill_to":{"id":"c-1","first_name":"Ada","last_name":"Lovelace","address":{"line1":"1 Main St","postal_code":"30305"}}}`)
		default:
			writeJSON(w, 404, `{"type":"not_found","errors":[]}`)
		}
	})
	c := f.client(t)
	ctx := WithEventID(context.Background(), "evt-1")
	acc, err := c.CreateAccount(ctx, "create-account", &AccountCreateRequest{
		Name: "Acme", Currency: "USD", PaymentTerms: "Net 30",
		BillTo:       &Contact{FirstName: "Ada", LastName: "Lovelace", WorkEmail: "ada@example.com", Address: &Address{Line1: "1 Main St", Country: "US"}},
		CustomFields: map[string]any{"stiggCustomerId__c": "cust-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if acc.ID != "8ad0" || acc.AccountNumber != "A-1" || acc.CustomFields["stiggCustomerId__c"] != "cust-1" || acc.Enabled == nil || !*acc.Enabled {
		t.Fatalf("decoded %+v", acc)
	}
	sent := jsonBody(t, f.requests()[0].Body)
	want := map[string]any{
		"name": "Acme", "currency": "USD", "payment_terms": "Net 30",
		"bill_to":       map[string]any{"first_name": "Ada", "last_name": "Lovelace", "work_email": "ada@example.com", "address": map[string]any{"line1": "1 Main St", "country": "US"}},
		"custom_fields": map[string]any{"stiggCustomerId__c": "cust-1"},
	}
	if !reflect.DeepEqual(sent, want) {
		t.Fatalf("sent %v\nwant %v", sent, want)
	}

	got, err := c.GetAccount(ctx, "A 1", "bill_to")
	if err != nil {
		t.Fatal(err)
	}
	if got.BillTo == nil || got.BillTo.FirstName != "Ada" || got.BillTo.Address.PostalCode != "30305" {
		t.Fatalf("bill_to %+v", got.BillTo)
	}
	if _, err := c.GetAccount(ctx, "missing"); !IsNotFound(err) {
		t.Fatalf("want not found, got %v", err)
	}
}

func TestUpdateAccountSendsOnlyChanges(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"id":"8ad0","name":"Acme"}`)
	})
	c := f.client(t)
	patch := &AccountPatch{
		PaymentTerms: new("Net 30"),
		AutoPay:      new(false), // an explicit false is a change and must be sent
		BillTo:       &ContactPatch{Address: &AddressPatch{City: new("Atlanta")}},
		CustomFields: map[string]any{"stiggEntityUrl__c": "https://app.stigg.io/c/1"},
	}
	if (&AccountPatch{}).IsEmpty() != true || patch.IsEmpty() {
		t.Fatal("IsEmpty")
	}
	if _, err := c.UpdateAccount(WithEventID(context.Background(), "e"), "update-account", "8ad0", patch); err != nil {
		t.Fatal(err)
	}
	r := f.requests()[0]
	if r.Method != "PATCH" || r.Path != "/v2/accounts/8ad0" {
		t.Fatalf("%s %s", r.Method, r.Path)
	}
	want := `{"payment_terms":"Net 30","auto_pay":false,"bill_to":{"address":{"city":"Atlanta"}},"custom_fields":{"stiggEntityUrl__c":"https://app.stigg.io/c/1"}}`
	if string(r.Body) != want {
		t.Fatalf("sent %s\nwant %s", r.Body, want)
	}
}

func TestFindAccountsFiltersAndPages(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if !reflect.DeepEqual(q["filter[]"], []string{"stiggCustomerId__c.EQ:cust-1", "currency.EQ:USD"}) {
			writeJSON(w, 400, `{"type":"bad_request","errors":[{"code":"invalid_parameter","parameter":"filter[]","message":"bad"}]}`)
			return
		}
		if q.Get("cursor") == "" {
			writeJSON(w, 200, `{"data":[{"id":"a1"}],"next_page":"CUR2"}`)
			return
		}
		writeJSON(w, 200, `{"data":[{"id":"a2"}],"next_page":null}`)
	})
	c := f.client(t)
	accs, err := c.FindAccounts(context.Background(), "stiggCustomerId__c.EQ:cust-1", "currency.EQ:USD")
	if err != nil {
		t.Fatal(err)
	}
	if len(accs) != 2 || accs[0].ID != "a1" || accs[1].ID != "a2" {
		t.Fatalf("got %+v", accs)
	}
	q, _ := url.ParseQuery(f.requests()[1].RawQuery)
	if q.Get("cursor") != "CUR2" {
		t.Fatalf("second page query %v", q)
	}
}

func TestGetAccountV1(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/accounts/A-1" {
			writeJSON(w, 200, `{"success":false,"reasons":[{"code":50000040,"message":"Cannot find entity by key"}]}`)
			return
		}
		writeJSON(w, 200, `{"success":true,
			"basicInfo":{"id":"8ad0","accountNumber":"A-1","name":"Acme","status":"Active","stiggCustomerId__c":"cust-1"},
			"billingAndPayment":{"billCycleDay":1,"currency":"USD","paymentTerm":"Net 30","autoPay":false},
			"billToContact":{"id":"c-1","firstName":"Ada","lastName":"Lovelace","country":"United States"},
			"metrics":{"balance":10.5,"contractedMrr":"0"}}`)
	})
	c := f.client(t)
	acc, err := c.GetAccountV1(context.Background(), "A-1")
	if err != nil {
		t.Fatal(err)
	}
	if acc.BasicInfo.ID != "8ad0" || acc.BasicInfo.Status != "Active" || acc.BillingAndPayment.PaymentTerm != "Net 30" ||
		acc.BasicInfo.CustomFields["stiggCustomerId__c"] != "cust-1" || acc.BillToContact.FirstName != "Ada" {
		t.Fatalf("decoded %+v", acc)
	}
	var bal float64
	if err := json.Unmarshal(acc.Metrics["balance"], &bal); err != nil || bal != 10.5 {
		t.Fatalf("metrics %v", acc.Metrics)
	}
	if _, err := c.GetAccountV1(context.Background(), "A-404"); !IsNotFound(err) {
		t.Fatalf("HTTP 200 success:false 50000040 should be not found, got %v", err)
	}
}

// ListPaymentTerms is checked against Zuora's Settings API documentation, not against a spec (the endpoint is
// not in the OpenAPI files).
func TestListPaymentTerms(t *testing.T) {
	const terms = `[
			{"id":"pt1","name":"Due Upon Receipt","active":true,"dueDays":0,"type":"DAYS","useDefault":true},
			{"id":"pt2","name":"Net 30","active":true,"dueDays":30,"type":"DAYS","description":"30 days"},
			{"id":"pt3","name":"Net 45","active":false,"dueDays":45}]`
	// Both response shapes found in Zuora's Settings API material are read the same way.
	for name, body := range map[string]string{"wrapped": `{"paymentTerms":` + terms + `}`, "bare array": terms} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/v1/settings/payment-terms" {
					writeJSON(w, 404, `{}`)
					return
				}
				writeJSON(w, 200, body)
			})
			c := f.client(t)
			terms, err := c.ListPaymentTerms(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(terms) != 3 || terms[1].Name != "Net 30" || terms[1].DueDays != 30 || !terms[1].Active || terms[2].Active || !terms[0].UseDefault {
				t.Fatalf("got %+v", terms)
			}
		})
	}
}
