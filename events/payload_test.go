package events

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestValidExamplesDecode(t *testing.T) {
	for _, typ := range KnownTypes() {
		data, ok := validData[typ]
		if !ok {
			t.Errorf("no example for %s", typ)
			continue
		}
		ev := mustEvent(t, typ, data)
		p, err := DecodeData(ev)
		if err != nil {
			t.Errorf("%s: %v", typ, err)
			continue
		}
		want, _ := NewPayload(typ)
		if reflect.TypeOf(p) != reflect.TypeOf(want) {
			t.Errorf("%s decoded to %T", typ, p)
		}
		// Re-encoding the payload gives an event that decodes to the same payload.
		ev2, err := New(typ, "urn:test", "", "k", p)
		if err != nil {
			t.Errorf("%s: re-encode: %v", typ, err)
			continue
		}
		p2, err := DecodeData(ev2)
		if err != nil || !reflect.DeepEqual(p, p2) {
			t.Errorf("%s: payload round trip: %v\n%#v\n%#v", typ, err, p, p2)
		}
	}
}

func TestTypedFieldsDecoded(t *testing.T) {
	p, err := DecodeData(mustEvent(t, TypeStiggPackagePublished, validData[TypeStiggPackagePublished]))
	if err != nil {
		t.Fatal(err)
	}
	pk := p.(*PackagePublished)
	if pk.PackageType != PackageTypePlan || pk.Prices[0].Amount.String() != "49.99" || pk.Prices[1].Amount.String() != "0.0001" {
		t.Errorf("decoded %+v", pk)
	}
	if tiers := pk.Prices[2].Tiers; tiers[2].UpTo != nil || tiers[1].FlatPrice.String() != "5" {
		t.Errorf("tiers %+v", tiers)
	}
	u, _ := DecodeData(mustEvent(t, TypeStiggUsageReported, `{"customerId":"c","subscriptionId":"s","featureId":"f","value":2.5,"timestamp":"2025-01-01"}`))
	if u.(*UsageReported).Behavior() != UpdateDelta {
		t.Error("empty updateBehavior should mean DELTA")
	}
}

// Each rule, broken on its own, is reported with the right JSON path.
func TestValidationRulesNameTheField(t *testing.T) {
	cases := []struct {
		typ, path string
		value     any
		field     string
	}{
		{TypeStiggCustomerCreated, "customerId", deleteField, "customerId"},
		{TypeStiggCustomerCreated, "customerId", "  ", "customerId"},
		{TypeStiggCustomerCreated, "email", "not-an-email", "email"},
		{TypeStiggCustomerCreated, "email", "Bob <bob@x.test>", "email"},
		{TypeStiggCustomerCreated, "currency", "US", "currency"},
		{TypeStiggCustomerCreated, "currency", "U5D", "currency"},
		{TypeStiggCustomerCreated, "invoiceDaysUntilDue", -1, "invoiceDaysUntilDue"},
		{TypeStiggCustomerCreated, "invoiceDaysUntilDue", "30", "invoiceDaysUntilDue"},
		{TypeStiggCustomerCreated, "billingAddress.city", "a\x00b", "billingAddress.city"},
		{TypeStiggCustomerCreated, "entityUrl", "app.stigg.io/x", "entityUrl"},
		{TypeStiggCustomerCreated, "metadata", map[string]any{"n": 1}, "metadata.n"},

		{TypeStiggPaymentMethodAttached, "customerId", deleteField, "customerId"},
		{TypeStiggPaymentMethodAttached, "stripe", deleteField, "stripe"},
		{TypeStiggPaymentMethodAttached, "card", deleteField, "card"},
		{TypeStiggPaymentMethodAttached, "zuoraPaymentMethodId", "8a8a", "zuoraPaymentMethodId"},
		{TypeStiggPaymentMethodAttached, "stripe.paymentMethodId", "", "stripe.paymentMethodId"},
		{TypeStiggPaymentMethodAttached, "card.last4", "42", "card.last4"},
		{TypeStiggPaymentMethodAttached, "card.expMonth", 13, "card.expMonth"},
		{TypeStiggPaymentMethodAttached, "card.expYear", 30, "card.expYear"},
		{TypeStiggPaymentMethodAttached, "card.brand", "", "card.brand"},

		{TypeStiggPackagePublished, "packageId", deleteField, "packageId"},
		{TypeStiggPackagePublished, "packageType", "BUNDLE", "packageType"},
		{TypeStiggPackagePublished, "version", 0, "version"},
		{TypeStiggPackagePublished, "displayName", "", "displayName"},
		{TypeStiggPackagePublished, "prices.0.billingPeriod", "WEEKLY", "prices[0].billingPeriod"},
		{TypeStiggPackagePublished, "prices.0.billingModel", "FREE", "prices[0].billingModel"},
		{TypeStiggPackagePublished, "prices.0.currency", "dollars", "prices[0].currency"},
		{TypeStiggPackagePublished, "prices.0.amount", -1, "prices[0].amount"},
		{TypeStiggPackagePublished, "prices.0.amount", "1,5", "prices[0].amount"},
		{TypeStiggPackagePublished, "prices.0.amount", true, "prices[0].amount"},
		{TypeStiggPackagePublished, "prices.0.amount", deleteField, "prices[0].amount"},
		{TypeStiggPackagePublished, "prices.1.featureId", deleteField, "prices[1].featureId"},
		{TypeStiggPackagePublished, "prices.1.minUnitQuantity", 200, "prices[1].maxUnitQuantity"},
		{TypeStiggPackagePublished, "prices.1.minUnitQuantity", 1.5, "prices[1].minUnitQuantity"},
		{TypeStiggPackagePublished, "prices.1.tiersMode", "GRADUATED", "prices[1].tiers"},
		{TypeStiggPackagePublished, "prices.2.tiersMode", "STAIRSTEP", "prices[2].tiersMode"},
		{TypeStiggPackagePublished, "prices.2.tiers.0.upTo", 0, "prices[2].tiers[0].upTo"},
		{TypeStiggPackagePublished, "prices.2.tiers.1.upTo", 500, "prices[2].tiers[1].upTo"},
		{TypeStiggPackagePublished, "prices.2.tiers.1.upTo", nil, "prices[2].tiers[1].upTo"},
		{TypeStiggPackagePublished, "prices.2.tiers.1.upTo", "ten", "prices[2].tiers[1].upTo"},
		{TypeStiggPackagePublished, "prices.2.tiers.1.flatPrice", -5, "prices[2].tiers[1].flatPrice"},
		{TypeStiggPackagePublished, "prices.2.tiers.2", map[string]any{}, "prices[2].tiers[2].unitPrice"},
		{TypeStiggPackagePublished, "prices.2.tiers.0", "x", "prices[2].tiers[0]"},
		{TypeStiggPackagePublished, "prices.0.tiers", []any{map[string]any{"unitPrice": 1}}, "prices[0].tiers"},

		{TypeStiggSubscriptionCreated, "subscriptionId", deleteField, "subscriptionId"},
		{TypeStiggSubscriptionCreated, "planId", "", "planId"},
		{TypeStiggSubscriptionCreated, "billingPeriod", "DAILY", "billingPeriod"},
		{TypeStiggSubscriptionCreated, "startDate", "01/02/2025", "startDate"},
		{TypeStiggSubscriptionCreated, "startDate", deleteField, "startDate"},
		{TypeStiggSubscriptionCreated, "addons.0.quantity", 0, "addons[0].quantity"},
		{TypeStiggSubscriptionCreated, "addons.0.addonId", "", "addons[0].addonId"},
		{TypeStiggSubscriptionCreated, "units.0.quantity", -2, "units[0].quantity"},
		{TypeStiggSubscriptionCreated, "units.0.quantity", "10", "units[0].quantity"},
		{TypeStiggSubscriptionCreated, "priceOverrides.1.amount", deleteField, "priceOverrides[1].amount"},
		{TypeStiggSubscriptionCreated, "priceOverrides.1.featureId", "seats", "priceOverrides[1].featureId"},
		{TypeStiggSubscriptionCreated, "paymentCollectionMethod", "CASH", "paymentCollectionMethod"},
		{TypeStiggSubscriptionCreated, "currency", "EURO", "currency"},
		{TypeStiggSubscriptionUpdated, "scheduleStrategy", "LATER", "scheduleStrategy"},
		{TypeStiggSubscriptionUpdated, "customerId", deleteField, "customerId"},

		{TypeStiggSubscriptionCanceled, "cancellationTime", "NOW", "cancellationTime"},
		{TypeStiggSubscriptionCanceled, "cancellationTime", deleteField, "cancellationTime"},
		{TypeStiggSubscriptionCanceled, "cancellationDate", deleteField, "cancellationDate"},
		{TypeStiggSubscriptionCanceled, "cancellationDate", "2025-13-01", "cancellationDate"},
		{TypeStiggSubscriptionCanceled, "writeOffOpenBalance", "yes", "writeOffOpenBalance"},

		{TypeStiggUsageReported, "featureId", deleteField, "featureId"},
		{TypeStiggUsageReported, "subscriptionId", deleteField, "subscriptionId"},
		{TypeStiggUsageReported, "value", deleteField, "value"},
		{TypeStiggUsageReported, "updateBehavior", "SET", "value"}, // SET with a negative value
		{TypeStiggUsageReported, "updateBehavior", "ADD", "updateBehavior"},
		{TypeStiggUsageReported, "timestamp", "soon", "timestamp"},

		{TypeStiggPaymentRequested, "invoiceNumber", deleteField, "invoiceNumber"},
		{TypeStiggPaymentRequested, "amount", 0, "amount"},
		{TypeStiggPaymentRequested, "amount", "-1", "amount"},
		{TypeStiggPaymentRequested, "currency", deleteField, "currency"},
		{TypeStiggPaymentRequested, "kind", "CASH", "kind"},
		{TypeStiggPaymentRequested, "paymentMethodId", deleteField, "paymentMethodId"},

		{TypeStiggIntegrationConnected, "integrationId", deleteField, "integrationId"},
		{TypeStiggIntegrationDisconnected, "integrationId", 7, "integrationId"},

		{TypeZuoraInvoicePaid, "invoiceId", deleteField, "invoiceId"}, // base is {"invoiceId":…} only
		{TypeZuoraPaymentFailed, "paymentNumber", deleteField, "paymentId"},
		{TypeZuoraSubscriptionUpdated, "subscriptionNumber", deleteField, "subscriptionNumber"},
		{TypeZuoraOrderScheduledCompleted, "orderNumber", "", "orderNumber"},
		{TypeZuoraAccountCanceled, "accountId", deleteField, "accountId"},
		{TypeZuoraAccountPaymentMethodChanged, "accountNumber", deleteField, "accountId"},
	}
	for _, c := range cases {
		base := validData[c.typ]
		if c.typ == TypeZuoraInvoicePaid {
			base = `{"invoiceId":"8a1"}`
		}
		data := withField(t, base, c.path, c.value)
		_, err := DecodeData(mustEvent(t, c.typ, string(data)))
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s %s=%v: want *ValidationError, got %v", c.typ, c.path, c.value, err)
			continue
		}
		if !slices.Contains(allFields(err), c.field) {
			t.Errorf("%s %s=%v: fields %v, want %q (%v)", c.typ, c.path, c.value, allFields(err), c.field, err)
		}
		if ve.Scope != ScopeData {
			t.Errorf("%s: scope %q", c.typ, ve.Scope)
		}
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	err := (&PackagePublished{Prices: []Price{{BillingModel: "X"}}}).Validate()
	got := allFields(err)
	for _, want := range []string{"packageId", "packageType", "version", "displayName", "prices[0].billingPeriod", "prices[0].billingModel", "prices[0].currency", "prices[0].amount"} {
		if !slices.Contains(got, want) {
			t.Errorf("missing %q in %v", want, got)
		}
	}
	if f, _ := firstField(err); f != "packageId" {
		t.Errorf("errors.As should yield the first problem, got %q", f)
	}
	if !strings.Contains(err.Error(), "prices[0].currency") {
		t.Errorf("message should list every field: %v", err)
	}
}

func TestDecodeDataErrors(t *testing.T) {
	ev := mustEvent(t, "io.stigg.customer.deleted", `{"customerId":"c"}`)
	if _, err := DecodeData(ev); !errors.Is(err, ErrUnknownType) {
		t.Errorf("unknown type: %v", err)
	}
	for _, c := range []struct{ data, field, problem string }{
		{`{"customerId": "c",}`, "", "byte 20"},
		{`[1,2]`, "", "JSON object"},
		{`{"customerId": {"a": 1}}`, "customerId", "object"},
	} {
		ev := mustEvent(t, TypeStiggCustomerCreated, `{}`)
		ev.DataEncoded = []byte(c.data)
		_, err := DecodeData(ev)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != c.field || !strings.Contains(err.Error(), c.problem) {
			t.Errorf("%s: got %v (field %q)", c.data, err, ve.Field)
		}
	}
	ev = mustEvent(t, TypeStiggCustomerCreated, `{}`)
	ev.DataEncoded = nil
	if _, err := DecodeData(ev); err == nil {
		t.Error("missing data accepted")
	}
	ev = mustEvent(t, TypeStiggCustomerCreated, validData[TypeStiggCustomerCreated])
	ev.SetDataContentType("text/csv")
	if f, _ := firstField(func() error { _, err := DecodeData(ev); return err }()); f != "datacontenttype" {
		t.Errorf("non-JSON data: field %q", f)
	}
}

func TestJSONPathAt(t *testing.T) {
	data := []byte(`{"a":[{"b":1},{"b":[true,{"c":"x"}]}],"d":{"e":null}}`)
	for _, c := range []struct {
		needle, want string
	}{{`1`, "a[0].b"}, {`true`, "a[1].b[0]"}, {`"x"`, "a[1].b[1].c"}, {`null`, "d.e"}} {
		off := int64(strings.Index(string(data), c.needle) + len(c.needle))
		if got := jsonPathAt(data, off); got != c.want {
			t.Errorf("%s: %q, want %q", c.needle, got, c.want)
		}
	}
}

func TestOutcome(t *testing.T) {
	src := mustEvent(t, TypeStiggSubscriptionCreated, validData[TypeStiggSubscriptionCreated])
	_ = SetTraceparent(&src, testTraceparent)
	ev, err := NewOutcome("urn:zuora-sync", src, EntitySubscription, ResultSynced, Outcome{
		StiggID: "sub-1", Action: "created",
		Zuora: map[string]string{ZuoraSubscriptionNumber: "A-S0001", ZuoraOrderNumber: "O-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type() != TypeOutSubscriptionSynced || ev.Subject() != "sub-1" || Traceparent(ev) != testTraceparent {
		t.Errorf("outcome envelope %v", ev)
	}
	if s, _ := SubjectFor(ev); s != OutcomeSubject(EntitySubscription, ResultSynced, "cust-1") {
		t.Errorf("subject %q", s)
	}
	p, err := DecodeData(ev)
	if err != nil {
		t.Fatal(err)
	}
	if o := p.(*Outcome); o.SourceEventID != src.ID() || o.Zuora[ZuoraOrderNumber] != "O-1" {
		t.Errorf("outcome %+v", o)
	}
	// A failure needs a reason.
	_, err = NewOutcome("urn:zuora-sync", src, EntitySubscription, ResultFailed, Outcome{StiggID: "sub-1"})
	if f, _ := firstField(err); f != "reason" {
		t.Errorf("failed outcome without reason: %v", err)
	}
	ev, err = NewOutcome("urn:zuora-sync", src, EntitySubscription, ResultFailed, Outcome{StiggID: "sub-1", Reason: "plan plan-pro is not in Zuora yet"})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := DecodeData(ev); err != nil || p.(*FailedOutcome).Reason == "" {
		t.Errorf("failed outcome: %v %+v", err, p)
	}
}
