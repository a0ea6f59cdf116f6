package events

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"
)

// errDecoderPanic marks an error made from a recovered panic (fuzz tests look for it).
var errDecoderPanic = errors.New("decoder panic")

const (
	headerPrefix      = "ce-"
	headerContentType = "content-type"
)

// ToMsg encodes ev in binary mode for publishing on natsSubject ("" = SubjectFor(ev)):
// every attribute as a lower-case "ce-<name>" header (values percent-encoded per the NATS
// binding), datacontenttype also as "content-type", the data as the body, and Nats-Msg-Id =
// the event id so JetStream drops re-publications of the same event.
func ToMsg(natsSubject string, ev event.Event) (*nats.Msg, error) {
	subj, err := publishSubject(natsSubject, ev)
	if err != nil {
		return nil, err
	}
	ctx := ev.Context.AsV1()
	h := nats.Header{}
	put := func(name, val string) { h.Set(headerPrefix+name, encodeHeaderValue(val)) }
	put("specversion", event.CloudEventsVersionV1)
	put("id", ctx.ID)
	put("source", ctx.Source.String())
	put("type", ctx.Type)
	if ctx.Subject != nil {
		put("subject", *ctx.Subject)
	}
	if ctx.Time != nil {
		put("time", types.FormatTime(ctx.Time.Time))
	}
	if ctx.DataSchema != nil {
		put("dataschema", ctx.DataSchema.String())
	}
	if ctx.DataContentType != nil {
		// The NATS binding (1.0.3) names ce-datacontenttype; content-type is what the
		// contract and most NATS tooling read. Both carry the same value.
		put("datacontenttype", *ctx.DataContentType)
		h.Set(headerContentType, *ctx.DataContentType)
	}
	for name, v := range ctx.Extensions {
		s, _ := types.Format(v) // checkEvent has verified it formats
		put(name, s)
	}
	h.Set(nats.MsgIdHdr, encodeHeaderValue(ctx.ID))
	var data []byte
	if len(ev.DataEncoded) > 0 {
		data = append([]byte(nil), ev.DataEncoded...)
	}
	return &nats.Msg{Subject: subj, Header: h, Data: data}, nil
}

// ToStructuredMsg encodes ev in structured mode: content-type application/cloudevents+json
// and the JSON event format (written by the SDK) as the body. JSON data is embedded as a JSON
// value (white space around it is not kept); any other data as data_base64, so the bytes
// survive exactly.
func ToStructuredMsg(natsSubject string, ev event.Event) (*nats.Msg, error) {
	subj, err := publishSubject(natsSubject, ev)
	if err != nil {
		return nil, err
	}
	out := ev.Clone()
	if len(out.DataEncoded) == 0 {
		out.DataEncoded, out.DataBase64 = nil, false // the SDK would write `"data":` with no value
	} else if mt := mediaType(out); !sdkWritesRawJSON(mt) {
		out.DataBase64 = true
	} else if !out.DataBase64 && !json.Valid(out.DataEncoded) {
		return nil, &ValidationError{Scope: ScopeData, Problem: fmt.Sprintf("datacontenttype %q but data is not valid JSON", mt)}
	}
	// The SDK's writer, called directly: json.Marshal would compact it and so rewrite the
	// data bytes. The output is still checked, as the writer assumes a valid event.
	body, err := out.MarshalJSON()
	if err == nil && !json.Valid(body) {
		err = errors.New("writer produced invalid JSON")
	}
	if err != nil {
		return nil, attrErr("specversion", "cannot write structured event: %v", err)
	}
	h := nats.Header{}
	h.Set(headerContentType, ContentTypeStructured)
	h.Set(nats.MsgIdHdr, encodeHeaderValue(ev.ID()))
	return &nats.Msg{Subject: subj, Header: h, Data: body}, nil
}

func publishSubject(natsSubject string, ev event.Event) (string, error) {
	if err := checkEvent(ev); err != nil {
		return "", err
	}
	if natsSubject == "" {
		s, err := SubjectFor(ev)
		if err != nil {
			return "", err
		}
		natsSubject = s
	}
	return natsSubject, checkPublishSubject(natsSubject)
}

// FromMsg decodes a NATS message (a jetstream.Msg's Headers() and Data()) into an event.
// A content-type of application/cloudevents(+json) means structured mode; anything else is
// binary mode and needs a ce-specversion header. Header names are matched case-insensitively.
// The result has passed the SDK's Validate and the package's attribute rules; extension values
// are strings (the only form binary mode can carry). Every failure is a *ValidationError.
func FromMsg(h nats.Header, data []byte) (ev event.Event, err error) {
	// A poison message must become a dead letter with a reason, never a consumer crash loop
	// that stalls its partition; fuzzing guards the code, this guards the process.
	defer func() {
		if r := recover(); r != nil {
			ve := attrErr("specversion", "undecodable message: %v", r)
			ve.Err = errDecoderPanic
			ev, err = event.Event{}, ve
		}
	}()
	hs, err := lowerHeaders(h)
	if err != nil {
		return event.Event{}, err
	}
	if ct, ok := hs[headerContentType]; ok {
		mt, _, perr := mime.ParseMediaType(ct)
		switch {
		case perr != nil && strings.HasPrefix(strings.ToLower(ct), "application/cloudevents"):
			return event.Event{}, attrErr("datacontenttype", "bad content-type %q: %v", ct, perr)
		case mt == "application/cloudevents" || mt == ContentTypeStructured:
			return fromStructured(data)
		case strings.HasPrefix(mt, "application/cloudevents"):
			return event.Event{}, attrErr("datacontenttype", "content-type %q: only the JSON event format is supported (no batch)", mt)
		}
	}
	return fromBinary(hs, data)
}

// lowerHeaders folds header names to lower case; one name with two different values (in any
// spelling) is ambiguous and refused.
func lowerHeaders(h nats.Header) (map[string]string, error) {
	out := make(map[string]string, len(h))
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lk := strings.ToLower(k)
		for _, v := range h[k] {
			v = strings.Trim(v, " \t")
			if prev, ok := out[lk]; ok && prev != v {
				return nil, attrErr(strings.TrimPrefix(lk, headerPrefix), "header %q has conflicting values", lk)
			}
			out[lk] = v
		}
	}
	return out, nil
}

func fromBinary(hs map[string]string, data []byte) (event.Event, error) {
	attrs := map[string]string{}
	for k, raw := range hs {
		name, ok := strings.CutPrefix(k, headerPrefix)
		if !ok {
			continue
		}
		if !validAttrName(name) || name == "data" {
			return event.Event{}, attrErr(name, "header %q does not name a CloudEvents attribute", k)
		}
		v, err := decodeHeaderValue(raw)
		if err != nil {
			if name == ExtTraceparent || name == ExtTracestate {
				// Trace context is advisory (W3C tracestate may legally hold a bare '%'): a garbled one is
				// dropped, never a reason to dead-letter the event.
				continue
			}
			return event.Event{}, attrErr(name, "%v", err)
		}
		attrs[name] = v
	}
	if _, ok := attrs["specversion"]; !ok {
		return event.Event{}, attrErr("specversion", "missing: neither a ce-specversion header nor a structured content-type")
	}
	if _, ok := attrs["datacontenttype"]; !ok {
		if ct, ok := hs[headerContentType]; ok {
			attrs["datacontenttype"] = ct
		}
	}
	var body []byte
	if len(data) > 0 {
		body = append([]byte(nil), data...)
	}
	return buildEvent(attrs, body, false)
}

// buildEvent turns decoded attribute strings into an event and applies checkEvent. Fields are
// set directly rather than through the SDK setters, which trim white space and would make
// the two content modes disagree about the same event.
func buildEvent(attrs map[string]string, data []byte, base64Data bool) (event.Event, error) {
	if v := attrs["specversion"]; v != event.CloudEventsVersionV1 {
		return event.Event{}, attrErr("specversion", "%q is not supported, want 1.0", v)
	}
	ctx := &event.EventContextV1{}
	for _, req := range []string{"id", "source", "type"} {
		if strings.TrimSpace(attrs[req]) == "" {
			return event.Event{}, attrErr(req, "missing")
		}
	}
	names := make([]string, 0, len(attrs))
	for k := range attrs {
		names = append(names, k)
	}
	sort.Strings(names) // deterministic choice of which error to report
	for _, name := range names {
		v := attrs[name]
		if err := checkString(name, v); err != nil {
			return event.Event{}, err
		}
		switch name {
		case "specversion":
		case "id":
			ctx.ID = v
		case "type":
			ctx.Type = v
		case "source":
			if err := checkURI("source", v, false); err != nil {
				return event.Event{}, err
			}
			ctx.Source = *types.ParseURIRef(v)
		case "subject":
			s := v
			ctx.Subject = &s
		case "time":
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return event.Event{}, attrErr("time", "not RFC 3339: %q", v)
			}
			ctx.Time = &types.Timestamp{Time: t.UTC()}
		case "dataschema":
			if err := checkURI("dataschema", v, true); err != nil {
				return event.Event{}, err
			}
			ctx.DataSchema = types.ParseURI(v)
		case "datacontenttype":
			s := v
			ctx.DataContentType = &s
		default:
			if ctx.Extensions == nil {
				ctx.Extensions = map[string]any{}
			}
			ctx.Extensions[name] = v
		}
	}
	ev := event.Event{Context: ctx, DataEncoded: data, DataBase64: base64Data}
	if err := checkEvent(ev); err != nil {
		return event.Event{}, err
	}
	return ev, nil
}

// fromStructured parses the JSON event format with encoding/json into the same attribute
// map the binary path builds, so one set of rules decides both modes. (The SDK's reader is
// not used for input: it panics on some malformed bodies, e.g. a non-string data_base64.)
func fromStructured(body []byte) (event.Event, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return event.Event{}, attrErr("specversion", "structured body is not a JSON object")
	}
	members := map[string]json.RawMessage{}
	var order []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return event.Event{}, attrErr("specversion", "malformed structured body at byte %d: %v", dec.InputOffset(), err)
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return event.Event{}, attrErr(jsonKeyField(key), "malformed value at byte %d: %v", dec.InputOffset(), err)
		}
		if _, dup := members[key]; dup {
			return event.Event{}, attrErr(jsonKeyField(key), "member appears twice")
		}
		members[key] = raw
		order = append(order, key)
	}
	if _, err := dec.Token(); err != nil {
		return event.Event{}, attrErr("specversion", "malformed structured body at byte %d: %v", dec.InputOffset(), err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return event.Event{}, attrErr("specversion", "trailing data after the structured event")
	}

	attrs := map[string]string{}
	for _, key := range order {
		raw := members[key]
		if key == "data" || key == "data_base64" {
			continue
		}
		if !validAttrName(key) {
			return event.Event{}, attrErr(jsonKeyField(key), "member %q does not name a CloudEvents attribute", key)
		}
		if string(raw) == "null" {
			continue // a null attribute is an absent one
		}
		switch key {
		case "specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema":
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return event.Event{}, attrErr(key, "must be a JSON string")
			}
			attrs[key] = s
		default:
			s, err := extensionJSONValue(raw)
			if err != nil {
				return event.Event{}, attrErr(key, "%v", err)
			}
			attrs[key] = s
		}
	}
	if _, ok := attrs["specversion"]; !ok {
		return event.Event{}, attrErr("specversion", "missing from structured event")
	}

	rawData, hasData := members["data"]
	rawB64, hasB64 := members["data_base64"]
	if hasData && string(rawData) == "null" {
		hasData = false
	}
	if hasB64 && string(rawB64) == "null" {
		hasB64 = false
	}
	var data []byte
	switch {
	case hasData && hasB64:
		return event.Event{}, attrErr("data", "both data and data_base64 are present")
	case hasB64:
		var s string
		if err := json.Unmarshal(rawB64, &s); err != nil {
			return event.Event{}, attrErr("data", "data_base64 must be a JSON string")
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return event.Event{}, attrErr("data", "data_base64 is not base64: %v", err)
		}
		if len(b) > 0 {
			data = b
		}
		return buildEvent(attrs, data, true)
	case hasData:
		mt := ""
		if ct, ok := attrs["datacontenttype"]; ok {
			m, _, err := mime.ParseMediaType(ct)
			if err != nil {
				return event.Event{}, attrErr("datacontenttype", "not a media type: %v", err)
			}
			mt = m
		}
		if isJSONMedia(mt) {
			data = []byte(rawData)
		} else {
			var s string
			if err := json.Unmarshal(rawData, &s); err != nil {
				return event.Event{}, attrErr("data", "datacontenttype %q is not JSON, so data must be a JSON string", mt)
			}
			if s != "" {
				data = []byte(s)
			}
		}
	}
	return buildEvent(attrs, data, false)
}

// jsonKeyField makes a member name safe to show as a Field (it may be arbitrary text).
func jsonKeyField(key string) string {
	if validAttrName(key) {
		return key
	}
	return strconv.Quote(key)
}

// extensionJSONValue returns the canonical string of a JSON extension value: strings as is,
// integers (CloudEvents Integer, 32 bits) in decimal, booleans as true/false.
func extensionJSONValue(raw json.RawMessage) (string, error) {
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return s, nil
	case 't', 'f':
		return string(raw), nil
	case '{', '[':
		return "", errors.New("extension values must be strings, integers or booleans")
	default:
		n, err := strconv.ParseInt(string(raw), 10, 32)
		if err != nil {
			return "", fmt.Errorf("number %s is not a 32-bit integer", raw)
		}
		return strconv.FormatInt(n, 10), nil
	}
}

// encodeHeaderValue percent-encodes per the CloudEvents NATS binding: space, '"', '%' and
// every byte outside printable ASCII (so also all UTF-8 multi-byte sequences) as %XX.
func encodeHeaderValue(s string) string { return percentEncode(s, headerByteEscaped) }

func headerByteEscaped(c byte) bool { return c <= 0x20 || c >= 0x7f || c == '"' || c == '%' }

// decodeHeaderValue undoes RFC 7230 quoting (older senders) and then one round of
// percent-decoding (either hex case); the result must be valid UTF-8.
func decodeHeaderValue(v string) (string, error) {
	if strings.HasPrefix(v, `"`) {
		u, err := unquoteHTTP(v)
		if err != nil {
			return "", err
		}
		v = u
	}
	if strings.Contains(v, "%") {
		out := make([]byte, 0, len(v))
		for i := 0; i < len(v); i++ {
			if v[i] != '%' {
				out = append(out, v[i])
				continue
			}
			if i+2 >= len(v) {
				return "", fmt.Errorf("truncated percent-escape at byte %d", i)
			}
			hi, ok1 := anyHexVal(v[i+1])
			lo, ok2 := anyHexVal(v[i+2])
			if !ok1 || !ok2 {
				return "", fmt.Errorf("bad percent-escape %q at byte %d", v[i:i+3], i)
			}
			out = append(out, hi<<4|lo)
			i += 2
		}
		v = string(out)
	}
	if !utf8.ValidString(v) {
		return "", errors.New("header value is not valid UTF-8 after percent-decoding")
	}
	return v, nil
}

func anyHexVal(c byte) (byte, bool) {
	switch {
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	default:
		return upperHexVal(c)
	}
}

// unquoteHTTP decodes an RFC 7230 quoted-string that must span the whole value.
func unquoteHTTP(v string) (string, error) {
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			if i+1 >= len(v) {
				return "", errors.New("unterminated quoted-string")
			}
			i++
			b.WriteByte(v[i])
		case '"':
			if i != len(v)-1 {
				return "", errors.New("text after the closing quote")
			}
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", errors.New("unterminated quoted-string")
}
