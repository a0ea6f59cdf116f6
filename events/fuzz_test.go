package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
)

// headerText renders headers one "name:value" per line, the fuzzer's header representation.
func headerText(h nats.Header) string {
	var lines []string
	for k, vs := range h {
		for _, v := range vs {
			lines = append(lines, k+":"+v)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func parseHeaderText(s string) nats.Header {
	h := nats.Header{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			h.Add(k, v)
		}
	}
	return h
}

func FuzzFromMsg(f *testing.F) {
	ev := mustEvent(f, TypeStiggSubscriptionCreated, validData[TypeStiggSubscriptionCreated])
	_ = SetTraceparent(&ev, testTraceparent)
	ev.SetExtension("tenant", "t 1/ü\"%")
	bin, _ := ToMsg("a.b", ev)
	str, _ := ToStructuredMsg("a.b", ev)
	f.Add(headerText(bin.Header), bin.Data)
	f.Add(headerText(str.Header), str.Data)
	f.Add(strings.ToUpper(headerText(bin.Header)), bin.Data)
	f.Add("content-type:application/cloudevents+json", []byte(`{"specversion":"1.0","id":"1","source":"u","type":"t","datacontenttype":"text/plain","data":"hi","n":5,"b":true}`))
	f.Add("content-type:application/cloudevents+json", []byte(`{"specversion":"1.0","id":"1","source":"u","type":"t","data_base64":"AAEC"}`))
	f.Add("content-type:application/cloudevents+json", []byte(`{"data_base64":1,"specversion":"1.0","id":"1","source":"u","type":"t"}`))
	f.Add("content-type:application/cloudevents+json", []byte(`{"specversion":"1.0","id":"1","source":"u","type":"t","data":null,"subject":null}`))
	f.Add("ce-specversion:1.0\nce-id:\"x\\\"y\"\nce-source:HTTP://Example.com/a%2Fb\nce-type:t\nce-time:2024-02-29T23:59:59.123456789+05:00", []byte("body"))
	f.Add("ce-specversion:1.0\nce-id:1\nce-source:u\nce-type:t\ncontent-type:text/plain\nce-datacontenttype:application/xml", []byte("<a/>"))
	f.Add("ce-specversion:1.0\nce-id:1\nce-source:u\nce-type:t\nce-time:9999-12-31T23:59:59-23:59", []byte(nil))
	f.Add("ce-specversion:1.0\nce-id:%C0%A0\nce-source:u\nce-type:t", []byte(nil))
	f.Add("", []byte(`{}`))
	f.Add("content-type:application/cloudevents-batch+json", []byte(`[]`))

	f.Fuzz(func(t *testing.T, hdr string, body []byte) {
		h := parseHeaderText(hdr)
		got, err := FromMsg(h, body)
		if err != nil {
			if errors.Is(err, errDecoderPanic) {
				t.Fatalf("decoder panicked: %v", err)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error is not a *ValidationError: %T %v", err, err)
			}
			return
		}
		if err := got.Validate(); err != nil {
			t.Fatalf("decoded event fails the SDK's Validate: %v", err)
		}
		m2, err := ToMsg("re.encode", got)
		if err != nil {
			t.Fatalf("decoded event does not re-encode: %v", err)
		}
		again, err := FromMsg(m2.Header, m2.Data)
		if err != nil {
			t.Fatalf("re-encoded event does not decode: %v\n%v", err, m2.Header)
		}
		if field, ok := sameEvent(got, again); !ok {
			t.Fatalf("binary round trip changed %s:\n%v\n%v", field, got, again)
		}
		s2, err := ToStructuredMsg("re.encode", got)
		if err != nil {
			// Only refused when JSON-typed data is not JSON (binary mode carries any bytes).
			if sdkWritesRawJSON(mediaType(got)) && !json.Valid(got.Data()) {
				return
			}
			t.Fatalf("structured encoding failed: %v", err)
		}
		again, err = FromMsg(s2.Header, s2.Data)
		if err != nil {
			t.Fatalf("structured re-encoding does not decode: %v\n%s", err, s2.Data)
		}
		// Embedded as a JSON value, JSON data loses only its surrounding white space.
		want := got.Clone()
		if sdkWritesRawJSON(mediaType(got)) && !got.DataBase64 {
			want.DataEncoded = bytes.TrimSpace(want.DataEncoded)
		}
		if field, ok := sameEvent(want, again); !ok {
			t.Fatalf("structured round trip changed %s:\n%s", field, s2.Data)
		}
	})
}

func FuzzKeyRoundTrip(f *testing.F) {
	for _, s := range []string{"", "cust_1", "cust.1", "a b", "%", "%2E", "%2e", "ü", "\x00\xff", "*>", "a%41", "\t\n", "user@example.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := EncodeKey(s)
		if s == "" {
			if enc != "" {
				t.Fatalf("EncodeKey(\"\") = %q", enc)
			}
		} else {
			assertTokenSafe(t, enc)
			back, err := DecodeKey(enc)
			if err != nil || back != s {
				t.Fatalf("DecodeKey(EncodeKey(%q)) = %q, %v", s, back, err)
			}
			ps, err := ParseSubject(Subject(PrefixStigg, EntityCustomer, "created", s) + ".5")
			if err != nil || ps.Key != s || ps.Partition != 5 {
				t.Fatalf("ParseSubject round trip: %+v %v", ps, err)
			}
		}
		// Read as a token: only the canonical encoding decodes, so key ⇄ token is one-to-one.
		if k, err := DecodeKey(s); err == nil && EncodeKey(k) != s {
			t.Fatalf("DecodeKey(%q) = %q, which encodes as %q", s, k, EncodeKey(k))
		}
	})
}

func fuzzTypes() []string {
	return append(KnownTypes(), TypeOutCustomerSynced, TypeOutPaymentFailed, "io.stigg.unknown.thing")
}

func FuzzDecodeData(f *testing.F) {
	types := fuzzTypes()
	for i, typ := range types {
		if d, ok := validData[typ]; ok {
			f.Add(uint8(i), []byte(d))
		}
	}
	f.Add(uint8(0), []byte(`{"prices":[{"tiers":[{"upTo":"1e99999"}]}]}`))
	f.Add(uint8(3), []byte(`{"amount":1e-64,"value":"-0.0"}`))
	f.Add(uint8(5), []byte(`{"customerId":"c","metadata":{}}`))
	f.Add(uint8(1), []byte(`{"sourceEventId":"e","zuora":{"accountId":""}}`))
	f.Add(uint8(2), []byte(`[`))

	f.Fuzz(func(t *testing.T, ti uint8, data []byte) {
		typ := types[int(ti)%len(types)]
		ev := rawEvent(typ, data)
		p, err := DecodeData(ev)
		if err != nil {
			var ve *ValidationError
			if !errors.Is(err, ErrUnknownType) && !errors.As(err, &ve) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("decoded payload fails Validate: %v", err)
		}
		first, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("payload does not marshal: %v", err)
		}
		p2, err := DecodeData(rawEvent(typ, first))
		if err != nil {
			t.Fatalf("re-encoded payload does not decode: %v\n%s", err, first)
		}
		second, _ := json.Marshal(p2)
		if !bytes.Equal(first, second) {
			t.Fatalf("payload not stable:\n%s\n%s", first, second)
		}
	})
}

func rawEvent(typ string, data []byte) event.Event {
	ev := event.New()
	ev.SetID("id")
	ev.SetSource("urn:fuzz")
	ev.SetType(typ)
	ev.SetDataContentType(ContentTypeJSON)
	ev.DataEncoded = data
	return ev
}
