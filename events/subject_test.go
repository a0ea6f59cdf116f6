package events

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestEncodeKey(t *testing.T) {
	cases := map[string]string{
		"cust_123":                             "cust_123",
		"8f14e45f-ceea-467f-a0e6-0d3c1b2e7a11": "8f14e45f-ceea-467f-a0e6-0d3c1b2e7a11",
		"cust.1":                               "cust%2E1",
		"a*b>c%d":                              "a%2Ab%3Ec%25d",
		"two words\tand\nlines":                "two%20words%09and%0Alines",
		"\x00\x7f":                             "%00%7F",
		"café":                                 "caf%C3%A9",
		"nbsp\u00a0":                           "nbsp%C2%A0",
		"user@example.com":                     "user@example%2Ecom",
		"$JS:#~!":                              "$JS:#~!",
	}
	for in, want := range cases {
		if got := EncodeKey(in); got != want {
			t.Errorf("EncodeKey(%q) = %q, want %q", in, got, want)
		}
		back, err := DecodeKey(want)
		if err != nil || back != in {
			t.Errorf("DecodeKey(%q) = %q, %v; want %q", want, back, err, in)
		}
	}
}

func TestDecodeKeyIsStrict(t *testing.T) {
	for _, bad := range []string{"a.b", "a b", "a*", "a%2e", "a%41", "a%", "a%2", "a%G0", "caf\xc3\xa9"} {
		if k, err := DecodeKey(bad); err == nil {
			t.Errorf("DecodeKey(%q) = %q, want error", bad, k)
		}
	}
	_, err := DecodeKey("")
	if !errors.Is(err, ErrEmptyKey) {
		t.Errorf("empty key: %v", err)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "key" {
		t.Errorf("empty key error should name the key: %v", err)
	}
}

func assertTokenSafe(t testing.TB, tok string) {
	t.Helper()
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c <= 0x20 || c >= 0x7f || c == '.' || c == '*' || c == '>' {
			t.Fatalf("token %q has unsafe byte 0x%02X", tok, c)
		}
	}
}

func TestSubjectBuilders(t *testing.T) {
	if got := Subject(PrefixStigg, EntityCustomer, "created", "cust.1"); got != "stigg.customer.created.cust%2E1" {
		t.Error(got)
	}
	if got := Subject(PrefixStigg, EntityCustomer, "created", ""); got != "stigg.customer.created" {
		t.Error(got)
	}
	if got := OutcomeSubject(EntitySubscription, ResultFailed, "cust 1"); got != "zuorasync.out.subscription.failed.cust%201" {
		t.Error(got)
	}
	for typ, want := range map[string]string{
		TypeStiggPaymentMethodAttached:   "stigg.payment_method.attached.k%2E1",
		TypeZuoraOrderScheduledCompleted: "zuora.order.scheduled_completed.k%2E1",
		TypeOutCustomerSynced:            "zuorasync.out.customer.synced.k%2E1",
	} {
		ev, err := New(typ, "urn:t", "", "k.1", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := SubjectFor(ev); err != nil || got != want {
			t.Errorf("SubjectFor(%s) = %q, %v; want %q", typ, got, err, want)
		}
	}
}

func TestParseSubject(t *testing.T) {
	cases := []struct {
		in   string
		want ParsedSubject
	}{
		{"stigg.customer.created.cust%2E1", ParsedSubject{"stigg", "customer", "created", "cust.1", -1}},
		{"stigg.customer.created.cust%2E1.7", ParsedSubject{"stigg", "customer", "created", "cust.1", 7}},
		{"zuora.account.payment_method_changed.A001.0", ParsedSubject{"zuora", "account", "payment_method_changed", "A001", 0}},
		{"zuorasync.out.invoice.paid.cust-9", ParsedSubject{"zuorasync.out", "invoice", "paid", "cust-9", -1}},
	}
	for _, c := range cases {
		got, err := ParseSubject(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseSubject(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
			continue
		}
		if got.String() != c.in {
			t.Errorf("String() = %q, want %q", got.String(), c.in)
		}
	}
	got, _ := ParseSubject("stigg.payment_method.attached.x.3")
	if got.EventType() != TypeStiggPaymentMethodAttached {
		t.Errorf("EventType %q", got.EventType())
	}

	_, err := ParseSubject("stigg.customer.created")
	if !errors.Is(err, ErrEmptyKey) {
		t.Errorf("key-less subject: want ErrEmptyKey, got %v", err)
	}
	for _, bad := range []string{"", "stigg", "stigg.customer", "stigg..created.k", "stigg.customer.created.k.x",
		"stigg.customer.created.k.01", "stigg.customer.created.k.1.2", "stigg.customer.created.a%2e", "stigg.*.created.k",
		"stigg.customer.created.k.99999999999999999999"} {
		if _, err := ParseSubject(bad); err == nil {
			t.Errorf("ParseSubject(%q) accepted", bad)
		}
	}
}

func TestPartitionKeyFallback(t *testing.T) {
	cases := []struct{ typ, data, want string }{
		{TypeStiggCustomerUpdated, `{"customerId":"c1"}`, "c1"},
		{TypeStiggPackagePublished, `{"packageId":"p1","customerId":"ignored"}`, "p1"},
		{TypeStiggIntegrationDisconnected, `{"integrationId":"i1"}`, "i1"},
		{TypeZuoraInvoicePaid, `{"accountNumber":"A1","stiggCustomerId":"c2"}`, "c2"},
		{TypeZuoraInvoicePaid, `{"accountNumber":"A1","accountId":"x"}`, "A1"},
	}
	for _, c := range cases {
		ev := mustEvent(t, c.typ, c.data)
		ev.SetExtension(ExtPartitionKey, nil)
		if got, err := PartitionKey(ev); err != nil || got != c.want {
			t.Errorf("%s %s: got %q, %v; want %q", c.typ, c.data, got, err, c.want)
		}
	}
	ev := mustEvent(t, TypeStiggCustomerUpdated, `{"customerId":"c1"}`)
	if got, _ := PartitionKey(ev); got != "cust-1" {
		t.Errorf("the extension wins: got %q", got)
	}
	ev.SetExtension(ExtPartitionKey, nil)
	ev.DataEncoded = json.RawMessage(`{"name":"x"}`)
	if _, err := PartitionKey(ev); !errors.Is(err, ErrEmptyKey) {
		t.Errorf("want ErrEmptyKey, got %v", err)
	}
}

func TestEntityAction(t *testing.T) {
	cases := map[string][2]string{
		TypeStiggPaymentMethodAttached:       {"payment_method", "attached"},
		TypeZuoraAccountPaymentMethodChanged: {"account", "payment_method_changed"},
		TypeOutInvoicePaid:                   {"invoice", "paid"},
		"io.stigg.customer":                  {"", ""},
		"com.example.customer.created":       {"", ""},
		"io.stigg.Customer.created":          {"", ""},
	}
	for typ, want := range cases {
		if Entity(typ) != want[0] || Action(typ) != want[1] {
			t.Errorf("%q → %q/%q, want %v", typ, Entity(typ), Action(typ), want)
		}
	}
	if OutcomeType(EntityUsage, ResultSynced) != TypeOutUsageSynced {
		t.Error("OutcomeType")
	}
	// Every constant is well formed and maps to a subject prefix.
	for _, typ := range append(KnownTypes(), TypeOutCustomerFailed, TypeOutAccountPaymentMethodChanged) {
		ns, e, a, ok := splitType(typ)
		if _, pok := subjectPrefixFor(ns); !ok || !pok || strings.Contains(e+a, ".") {
			t.Errorf("type %q malformed", typ)
		}
	}
}
