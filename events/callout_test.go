package events

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Every member a template is provisioned with reaches the payload: a body rendered from the params with values
// parses into a payload carrying each of them (a param with a name the payload does not have would be dropped).
func TestEveryCalloutParamReachesThePayload(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range CalloutSpecs() {
		if seen[s.Type] || seen[s.EventName] {
			t.Fatalf("%s: type or event name repeated", s.Type)
		}
		seen[s.Type], seen[s.EventName] = true, true
		if _, ok := NewPayload(s.Type); !ok {
			t.Fatalf("%s is not a registered type", s.Type)
		}
		if !strings.HasPrefix(s.EventName, CalloutEventPrefix) || s.Params[CalloutEventParam] != s.Name || s.BaseObject == "" || s.Condition == "" {
			t.Fatalf("incomplete spec %+v", s)
		}
		body := map[string]string{}
		for k, v := range s.Params {
			if k == CalloutEventParam {
				body[k] = v
				continue
			}
			if !strings.HasPrefix(v, "{{DataSource.") || !strings.HasSuffix(v, "}}") {
				t.Fatalf("%s.%s: %q is not a merge field", s.Type, k, v)
			}
			body[k] = "7" // a value every field type takes (ids, numbers, amounts, dates are strings)
		}
		raw, _ := json.Marshal(body)
		typ, p, err := ParseCallout(raw)
		if err != nil || typ != s.Type {
			t.Fatalf("%s: ParseCallout(%s) = %s, %v", s.Type, raw, typ, err)
		}
		out, _ := json.Marshal(p)
		var got map[string]any
		_ = json.Unmarshal(out, &got)
		for k := range s.Params {
			if _, ok := got[k]; !ok && k != CalloutEventParam {
				t.Errorf("%s: param %q is not a field of %T", s.Type, k, p)
			}
		}
	}
	if len(seen) != 2*8 {
		t.Fatalf("%d specs, want one per io.zuora.* type (8)", len(seen)/2)
	}
}

func TestParseCalloutRefusesWhatCannotBeUsed(t *testing.T) {
	for name, body := range map[string]string{
		"not an object":    `["invoice.paid"]`,
		"malformed":        `{"event":"invoice.paid",`,
		"no event":         `{"invoiceId":"8a1"}`,
		"unknown event":    `{"event":"invoice.exploded","invoiceId":"8a1"}`,
		"type not name":    `{"event":"io.zuora.invoice.paid","invoiceId":"8a1"}`,
		"no object id":     `{"event":"invoice.paid","accountId":"A1","invoiceId":"","invoiceNumber":""}`,
		"object member":    `{"event":"invoice.paid","invoiceId":{"id":"8a1"}}`,
		"oversized member": `{"event":"invoice.paid","invoiceId":"` + strings.Repeat("x", MaxCalloutMember+1) + `"}`,
	} {
		_, _, err := ParseCallout([]byte(body))
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: %v, want a *ValidationError", name, err)
		}
	}
}

func TestParseCalloutTakesZuorasRendering(t *testing.T) {
	// Unset merge fields come as "", numbers may come bare, extra params are ignored.
	typ, p, err := ParseCallout([]byte(`{"event":"invoice.paid","accountId":"A1","accountNumber":"","stiggCustomerId":"cust-1",
		"invoiceId":"8a1","invoiceNumber":"INV-7","amount":100.5,"balance":"0","dueDate":"","addedByOperator":"x"}`))
	if err != nil || typ != TypeZuoraInvoicePaid {
		t.Fatal(typ, err)
	}
	want := &ZuoraInvoice{AccountID: "A1", StiggCustomerID: "cust-1", InvoiceID: "8a1", InvoiceNumber: "INV-7",
		Amount: DecimalPtr("100.5"), Balance: DecimalPtr("0")}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("payload %+v, want %+v", p, want)
	}
}

func FuzzParseCallout(f *testing.F) {
	f.Add([]byte(`{"event":"invoice.paid","invoiceId":"8a1","amount":"1.5"}`))
	f.Add([]byte(`{"event":"payment.failed","paymentId":"P","amount":-3e400}`))
	f.Add([]byte(`{"event":"order.scheduled_completed","orderNumber":"O-1"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		typ, p, err := ParseCallout(body)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %v is not a *ValidationError", err)
			}
			return
		}
		if _, ok := CalloutSpecFor(typ); !ok || p.Validate() != nil {
			t.Fatalf("accepted %q as %s with an invalid payload", body, typ)
		}
	})
}
