package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
)

// validData holds one valid example payload per registered type.
var validData = map[string]string{
	TypeStiggCustomerCreated: `{"customerId":"cust-1","name":"Acme Inc","email":"billing@acme.test","currency":"USD",
		"billingAddress":{"line1":"1 Main St","line2":"Suite 2","city":"Springfield","state":"IL","postalCode":"62701","country":"US"},
		"invoiceDaysUntilDue":30,"billingId":"A00000001","entityUrl":"https://app.stigg.io/customers/cust-1","metadata":{"tier":"gold"}}`,
	TypeStiggCustomerUpdated:       `{"customerId":"cust-1","name":"Acme Corp","email":"ap@acme.test"}`,
	TypeStiggPaymentMethodAttached: `{"customerId":"cust-1","setAsDefault":true,"stripe":{"customerId":"cus_1","paymentMethodId":"pm_1"},"card":{"brand":"visa","last4":"4242","expMonth":12,"expYear":2030}}`,
	TypeStiggPackagePublished: `{"packageId":"plan-pro","packageType":"PLAN","version":3,"displayName":"Pro","description":"For teams",
		"entityUrl":"https://app.stigg.io/plans/plan-pro","prices":[
		{"billingPeriod":"MONTHLY","billingModel":"FLAT_FEE","currency":"USD","amount":49.99},
		{"billingPeriod":"ANNUALLY","billingModel":"PER_UNIT","currency":"USD","amount":"0.0001","featureId":"seats","unitName":"seat","minUnitQuantity":1,"maxUnitQuantity":100,"accountingCode":"4000"},
		{"billingPeriod":"MONTHLY","billingModel":"USAGE_BASED","currency":"EUR","featureId":"api-calls","tiersMode":"GRADUATED",
		 "tiers":[{"upTo":1000,"unitPrice":0},{"upTo":10000,"unitPrice":0.01,"flatPrice":5},{"unitPrice":0.005}]}]}`,
	TypeStiggSubscriptionCreated: `{"subscriptionId":"sub-1","customerId":"cust-1","payingCustomerId":"cust-0","planId":"plan-pro","billingPeriod":"MONTHLY",
		"currency":"USD","startDate":"2025-01-01T00:00:00Z","addons":[{"addonId":"addon-sso","quantity":1}],"units":[{"featureId":"seats","quantity":10}],
		"priceOverrides":[{"featureId":"seats","amount":8.5},{"amount":40}],"paymentCollectionMethod":"CHARGE","resourceId":"site-1",
		"entityUrl":"https://app.stigg.io/subscriptions/sub-1"}`,
	TypeStiggSubscriptionUpdated: `{"subscriptionId":"sub-1","customerId":"cust-1","planId":"plan-pro","billingPeriod":"ANNUALLY","startDate":"2025-01-01",
		"units":[{"featureId":"seats","quantity":12}],"scheduleStrategy":"END_OF_BILLING_PERIOD"}`,
	TypeStiggSubscriptionCanceled:    `{"subscriptionId":"sub-1","customerId":"cust-1","cancellationTime":"SPECIFIC_DATE","cancellationDate":"2025-06-30T00:00:00Z","writeOffOpenBalance":true}`,
	TypeStiggUsageReported:           `{"customerId":"cust-1","subscriptionId":"sub-1","featureId":"api-calls","value":-3,"updateBehavior":"DELTA","timestamp":"2025-02-01T10:00:00.123Z"}`,
	TypeStiggPaymentRequested:        `{"customerId":"cust-1","invoiceNumber":"INV-0001","amount":"120.00","currency":"usd","kind":"ELECTRONIC","paymentMethodId":"8a8a","reference":"stigg-123"}`,
	TypeStiggIntegrationConnected:    `{"integrationId":"int-zuora-1"}`,
	TypeStiggIntegrationDisconnected: `{"integrationId":"int-zuora-1"}`,

	TypeZuoraInvoicePaid:                 `{"accountId":"2c9","accountNumber":"A001","invoiceId":"8a1","invoiceNumber":"INV-1","amount":"100.00","balance":"0","status":"Posted"}`,
	TypeZuoraInvoicePosted:               `{"accountNumber":"A001","invoiceNumber":"INV-2","amount":""}`,
	TypeZuoraPaymentFailed:               `{"accountNumber":"A001","paymentNumber":"P-1","amount":"10","gatewayResponse":"declined"}`,
	TypeZuoraSubscriptionUpdated:         `{"accountNumber":"A001","subscriptionNumber":"S-1","version":"2"}`,
	TypeZuoraSubscriptionCanceled:        `{"subscriptionId":"8a2","status":"Cancelled","cancelledDate":"2025-03-01"}`,
	TypeZuoraOrderScheduledCompleted:     `{"orderNumber":"O-1","subscriptionNumber":"S-1"}`,
	TypeZuoraAccountCanceled:             `{"accountId":"2c9","stiggCustomerId":"cust-1"}`,
	TypeZuoraAccountPaymentMethodChanged: `{"accountNumber":"A001","defaultPaymentMethodId":"pm9","creditCardType":"Visa","maskNumber":"************4242","expirationMonth":"12","expirationYear":"2030"}`,
}

func mustEvent(t testing.TB, typ, data string) event.Event {
	t.Helper()
	ev, err := New(typ, "urn:test", "subj-1", "cust-1", json.RawMessage(data))
	if err != nil {
		t.Fatalf("New(%s): %v", typ, err)
	}
	return ev
}

// withField returns base (a JSON object) with the value at path replaced; path is dotted with
// numeric array indices ("prices.1.tiers.0.upTo"); v == deleteField removes the member.
type deleteMarker struct{}

var deleteField = deleteMarker{}

func withField(t testing.TB, base, path string, v any) []byte {
	t.Helper()
	var root any
	dec := json.NewDecoder(strings.NewReader(base))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		t.Fatalf("bad base JSON: %v", err)
	}
	parts := strings.Split(path, ".")
	cur := root
	for i, p := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				if _, del := v.(deleteMarker); del {
					delete(c, p)
				} else {
					c[p] = v
				}
				break
			}
			next, ok := c[p]
			if !ok {
				next = map[string]any{}
				c[p] = next
			}
			cur = next
		case []any:
			n, err := strconv.Atoi(p)
			if err != nil || n >= len(c) {
				t.Fatalf("bad path %q", path)
			}
			if last {
				c[n] = v
				break
			}
			cur = c[n]
		default:
			t.Fatalf("bad path %q", path)
		}
	}
	b, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// firstField returns the Field of the first *ValidationError in err.
func firstField(err error) (string, bool) {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return "", false
	}
	return ve.Field, true
}

// allFields lists the Fields of every ValidationError joined in err.
func allFields(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var ve *ValidationError
		if errors.As(e, &ve) {
			out = append(out, ve.Field)
		}
	}
	walk(err)
	return out
}

// sameEvent compares everything an event carries across the wire.
func sameEvent(a, b event.Event) (string, bool) {
	ca, cb := a.Context.AsV1(), b.Context.AsV1()
	switch {
	case ca.ID != cb.ID:
		return "id", false
	case ca.Source.String() != cb.Source.String():
		return "source", false
	case ca.Type != cb.Type:
		return "type", false
	case a.Subject() != b.Subject() || (ca.Subject == nil) != (cb.Subject == nil):
		return "subject", false
	case (ca.Time == nil) != (cb.Time == nil) || (ca.Time != nil && !ca.Time.Time.Equal(cb.Time.Time)):
		return "time", false
	case a.DataContentType() != b.DataContentType() || (ca.DataContentType == nil) != (cb.DataContentType == nil):
		return "datacontenttype", false
	case a.DataSchema() != b.DataSchema():
		return "dataschema", false
	case !bytes.Equal(a.Data(), b.Data()):
		return "data", false
	}
	if len(ca.Extensions) != len(cb.Extensions) {
		return "extensions", false
	}
	for k, v := range ca.Extensions {
		if w, ok := cb.Extensions[k]; !ok || v != w {
			return "extension " + k, false
		}
	}
	return "", true
}
