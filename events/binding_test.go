package events

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
)

const testTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func sampleEvent(t *testing.T) event.Event {
	t.Helper()
	ev := mustEvent(t, TypeStiggCustomerCreated, validData[TypeStiggCustomerCreated])
	if err := SetTraceparent(&ev, testTraceparent); err != nil {
		t.Fatal(err)
	}
	ev.SetExtension("tenant", "t 1/ü") // needs percent-encoding
	return ev
}

func TestNewSetsEnvelope(t *testing.T) {
	ev := mustEvent(t, TypeStiggCustomerCreated, validData[TypeStiggCustomerCreated])
	if ev.SpecVersion() != "1.0" || ev.DataContentType() != ContentTypeJSON || ev.Subject() != "subj-1" {
		t.Fatalf("envelope: %v", ev)
	}
	if len(ev.ID()) != 36 {
		t.Errorf("id %q is not a UUID", ev.ID())
	}
	if ev.Time().Location() != time.UTC || time.Since(ev.Time()) > time.Minute {
		t.Errorf("time %v: want now, UTC", ev.Time())
	}
	if k, _ := ExtensionString(ev, ExtPartitionKey); k != "cust-1" {
		t.Errorf("partitionkey = %q", k)
	}
	other := mustEvent(t, TypeStiggCustomerCreated, validData[TypeStiggCustomerCreated])
	if other.ID() == ev.ID() {
		t.Error("ids repeat")
	}
}

func TestNewValidatesAndDerivesKey(t *testing.T) {
	// Key derived from the payload when not given.
	ev, err := New(TypeStiggPackagePublished, "urn:test", "plan-pro", "", json.RawMessage(validData[TypeStiggPackagePublished]))
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := PartitionKey(ev); k != "plan-pro" {
		t.Errorf("derived key %q, want plan-pro", k)
	}
	// A Payload is validated before it is sent.
	_, err = New(TypeStiggCustomerCreated, "urn:test", "c", "c", &Customer{Email: "x"})
	if f, _ := firstField(err); f != "customerId" {
		t.Errorf("invalid payload: got %v", err)
	}
	// No key anywhere.
	_, err = New(TypeStiggIntegrationConnected, "urn:test", "", "", map[string]string{})
	if !errors.Is(err, ErrEmptyKey) {
		t.Errorf("want ErrEmptyKey, got %v", err)
	}
	for _, bad := range []struct{ typ, source string }{{"customer.created", "urn:x"}, {TypeStiggUsageReported, ""}} {
		if _, err := New(bad.typ, bad.source, "", "k", nil); err == nil {
			t.Errorf("New(%q, %q) accepted", bad.typ, bad.source)
		}
	}
}

func TestBinaryHeaders(t *testing.T) {
	ev := sampleEvent(t)
	msg, err := ToMsg("", ev)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Subject != "stigg.customer.created.cust-1" {
		t.Errorf("subject %q", msg.Subject)
	}
	want := map[string]string{
		"ce-id":           ev.ID(),
		"ce-source":       "urn:test",
		"ce-type":         TypeStiggCustomerCreated,
		"ce-specversion":  "1.0",
		"ce-subject":      "subj-1",
		"ce-time":         ev.Time().Format(time.RFC3339Nano),
		"ce-partitionkey": "cust-1",
		"ce-traceparent":  testTraceparent,
		"ce-tenant":       "t%201/%C3%BC",
		"content-type":    "application/json",
		"Nats-Msg-Id":     ev.ID(),
	}
	for k, v := range want {
		if got := msg.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	for k := range msg.Header {
		if k != nats.MsgIdHdr && k != strings.ToLower(k) {
			t.Errorf("header %q is not lower case", k)
		}
	}
	if string(msg.Data) != string(ev.Data()) {
		t.Error("body is not the data")
	}
}

func TestRoundTripBothModes(t *testing.T) {
	ev := sampleEvent(t)
	for name, enc := range map[string]func(string, event.Event) (*nats.Msg, error){"binary": ToMsg, "structured": ToStructuredMsg} {
		t.Run(name, func(t *testing.T) {
			msg, err := enc("stigg.customer.created.cust-1", ev)
			if err != nil {
				t.Fatal(err)
			}
			got, err := FromMsg(msg.Header, msg.Data)
			if err != nil {
				t.Fatal(err)
			}
			if f, ok := sameEvent(ev, got); !ok {
				t.Fatalf("%s differs:\n%v\n%v", f, ev, got)
			}
			if Traceparent(got) != testTraceparent {
				t.Error("traceparent lost")
			}
			p, err := DecodeData(got)
			if err != nil {
				t.Fatal(err)
			}
			if p.(*Customer).BillingAddress.City != "Springfield" {
				t.Error("payload lost")
			}
		})
	}
}

func TestStructuredHeadersAndNonJSONData(t *testing.T) {
	ev := sampleEvent(t)
	ev.SetDataContentType("text/plain; charset=utf-8")
	ev.DataEncoded = []byte("line1\nline2 \xff")
	msg, err := ToStructuredMsg("x.y", ev)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("content-type") != ContentTypeStructured || msg.Header.Get(nats.MsgIdHdr) != ev.ID() {
		t.Errorf("headers %v", msg.Header)
	}
	if !strings.Contains(string(msg.Data), `"data_base64"`) {
		t.Errorf("non-JSON data should travel as data_base64: %s", msg.Data)
	}
	got, err := FromMsg(msg.Header, msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := sameEvent(ev, got); !ok {
		t.Fatalf("%s differs", f)
	}
	// JSON media type but data that is not JSON cannot be embedded.
	ev.SetDataContentType("application/json")
	if _, err := ToStructuredMsg("x.y", ev); err == nil {
		t.Error("invalid JSON data accepted in structured mode")
	}
}

func TestHeaderNamesCaseInsensitive(t *testing.T) {
	h := nats.Header{}
	h["CE-SpecVersion"] = []string{"1.0"}
	h["Ce-Id"] = []string{"abc"}
	h["CE-SOURCE"] = []string{"urn:x"}
	h["ce-Type"] = []string{TypeStiggIntegrationConnected}
	h["Ce-PartitionKey"] = []string{"int%2E1"}
	h["Content-Type"] = []string{"application/json"}
	ev, err := FromMsg(h, []byte(`{"integrationId":"int.1"}`))
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID() != "abc" || ev.Type() != TypeStiggIntegrationConnected || ev.DataContentType() != "application/json" {
		t.Errorf("decoded %v", ev)
	}
	if k, _ := PartitionKey(ev); k != "int.1" {
		t.Errorf("partitionkey %q (percent-decoding)", k)
	}
	// Structured detection is case-insensitive too.
	sm, _ := ToStructuredMsg("a.b", ev)
	h2 := nats.Header{"CONTENT-TYPE": {"Application/CloudEvents+JSON; charset=utf-8"}}
	if _, err := FromMsg(h2, sm.Data); err != nil {
		t.Errorf("structured with odd casing: %v", err)
	}
}

func TestFromMsgErrorsNameTheAttribute(t *testing.T) {
	good := func() nats.Header {
		return nats.Header{
			"ce-specversion": {"1.0"}, "ce-id": {"1"}, "ce-source": {"urn:x"},
			"ce-type": {TypeStiggUsageReported}, "content-type": {"application/json"},
		}
	}
	cases := []struct {
		name  string
		edit  func(h nats.Header)
		body  string
		field string
	}{
		{"no specversion, not structured", func(h nats.Header) { delete(h, "ce-specversion") }, "{}", "specversion"},
		{"old specversion", func(h nats.Header) { h["ce-specversion"] = []string{"0.3"} }, "{}", "specversion"},
		{"missing id", func(h nats.Header) { delete(h, "ce-id") }, "{}", "id"},
		{"blank type", func(h nats.Header) { h["ce-type"] = []string{"%20"} }, "{}", "type"},
		{"bad time", func(h nats.Header) { h["ce-time"] = []string{"yesterday"} }, "{}", "time"},
		{"bad source", func(h nats.Header) { h["ce-source"] = []string{"%3A%2F%2Fx"} }, "{}", "source"},
		{"relative dataschema", func(h nats.Header) { h["ce-dataschema"] = []string{"/x"} }, "{}", "dataschema"},
		{"bad escape", func(h nats.Header) { h["ce-subject"] = []string{"a%zz"} }, "{}", "subject"},
		{"invalid utf-8", func(h nats.Header) { h["ce-subject"] = []string{"%C0%A0"} }, "{}", "subject"},
		{"control char", func(h nats.Header) { h["ce-partitionkey"] = []string{"a%0Ab"} }, "{}", "partitionkey"},
		{"bad extension name", func(h nats.Header) { h["ce-foo_bar"] = []string{"x"} }, "{}", "foo_bar"},
		{"data as header", func(h nats.Header) { h["ce-data"] = []string{"x"} }, "{}", "data"},
		{"conflicting", func(h nats.Header) { h["CE-ID"] = []string{"2"} }, "{}", "id"},
		{"bad content type", func(h nats.Header) { h["content-type"] = []string{"json;;"} }, "{}", "datacontenttype"},
		{"batch", func(h nats.Header) { h["content-type"] = []string{"application/cloudevents-batch+json"} }, "[]", "datacontenttype"},
		{"structured not object", func(h nats.Header) { h["content-type"] = []string{ContentTypeStructured} }, "[1]", "specversion"},
		{"structured no specversion", func(h nats.Header) { h["content-type"] = []string{ContentTypeStructured} }, `{"id":"1","source":"urn:x","type":"t"}`, "specversion"},
		{"structured number id", func(h nats.Header) { h["content-type"] = []string{ContentTypeStructured} }, `{"specversion":"1.0","id":1,"source":"urn:x","type":"t"}`, "id"},
		{"structured duplicate", func(h nats.Header) { h["content-type"] = []string{ContentTypeStructured} }, `{"specversion":"1.0","id":"1","id":"2","source":"u","type":"t"}`, "id"},
		{"structured float ext", func(h nats.Header) { h["content-type"] = []string{ContentTypeStructured} }, `{"specversion":"1.0","id":"1","source":"u","type":"t","n":1.5}`, "n"},
		{"structured data twice", func(h nats.Header) { h["content-type"] = []string{ContentTypeStructured} }, `{"specversion":"1.0","id":"1","source":"u","type":"t","data":{},"data_base64":"AA=="}`, "data"},
		// The SDK's own reader panics on this one (slice bounds); FromMsg must not.
		{"structured numeric data_base64", func(h nats.Header) { h["content-type"] = []string{ContentTypeStructured} }, `{"data_base64":1,"specversion":"1.0","id":"1","source":"u","type":"t"}`, "data"},
		{"structured text data not string", func(h nats.Header) { h["content-type"] = []string{ContentTypeStructured} }, `{"specversion":"1.0","id":"1","source":"u","type":"t","datacontenttype":"text/plain","data":{}}`, "data"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := good()
			c.edit(h)
			_, err := FromMsg(h, []byte(c.body))
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("want *DecodeError, got %v", err)
			}
			if de.Field != c.field {
				t.Errorf("field %q, want %q (%v)", de.Field, c.field, err)
			}
		})
	}
}

func TestFromMsgQuotedAndLowerHexHeaders(t *testing.T) {
	h := nats.Header{
		"ce-specversion": {`"1.0"`}, "ce-id": {`"a \"b\""`}, "ce-source": {"urn:x"},
		"ce-type": {"io.stigg.customer.created"}, "ce-subject": {"caf%c3%a9"},
	}
	ev, err := FromMsg(h, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID() != `a "b"` || ev.Subject() != "café" {
		t.Errorf("id %q subject %q", ev.ID(), ev.Subject())
	}
}

func TestToMsgRejectsBadEvents(t *testing.T) {
	ev := sampleEvent(t)
	for _, subj := range []string{"a..b", "a.*", "a b", "stigg.>"} {
		if _, err := ToMsg(subj, ev); err == nil {
			t.Errorf("subject %q accepted", subj)
		}
	}
	bad := ev.Clone()
	bad.SetExtension("note", "line\nbreak") // would inject a header line
	if _, err := ToMsg("a.b", bad); err == nil {
		t.Error("control character in an extension accepted")
	}
	noKey := ev.Clone()
	noKey.SetExtension(ExtPartitionKey, nil)
	noKey.DataEncoded = []byte(`{}`)
	if _, err := ToMsg("", noKey); !errors.Is(err, ErrEmptyKey) {
		t.Errorf("want ErrEmptyKey, got %v", err)
	}
}

func TestTraceHelpers(t *testing.T) {
	src := sampleEvent(t)
	src.SetExtension(ExtTracestate, "vendor=1")
	dst := mustEvent(t, TypeStiggUsageReported, validData[TypeStiggUsageReported])
	PropagateTrace(&dst, src)
	if Traceparent(dst) != testTraceparent {
		t.Error("traceparent not propagated")
	}
	if ts, _ := ExtensionString(dst, ExtTracestate); ts != "vendor=1" {
		t.Error("tracestate not propagated")
	}
	for _, bad := range []string{"00-00000000000000000000000000000000-00f067aa0ba902b7-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "junk"} {
		if err := SetTraceparent(&dst, bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	dst.SetExtension(ExtTraceparent, "junk")
	if Traceparent(dst) != "" {
		t.Error("malformed traceparent returned")
	}
	if err := SetTraceparent(&dst, ""); err != nil || func() bool { _, ok := ExtensionString(dst, ExtTraceparent); return ok }() {
		t.Error("empty traceparent should remove it")
	}
}

func TestGarbledTraceContextIsDroppedNotFatal(t *testing.T) {
	ev, err := New(TypeStiggCustomerCreated, "/test", "c1", "c1", &Customer{CustomerID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := ToMsg("", ev)
	if err != nil {
		t.Fatal(err)
	}
	msg.Header.Set("ce-tracestate", "vendor=50%off")
	got, err := FromMsg(msg.Header, msg.Data)
	if err != nil {
		t.Fatalf("a tracestate with a bare %% must not reject the event: %v", err)
	}
	if _, ok := got.Extensions()[ExtTracestate]; ok {
		t.Fatal("the garbled tracestate should have been dropped")
	}
	msg.Header.Set("ce-source", "/bad%zz")
	if _, err := FromMsg(msg.Header, msg.Data); err == nil {
		t.Fatal("a garbled required attribute must still be an error")
	}
}
