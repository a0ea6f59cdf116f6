package events

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/google/uuid"
)

// Extension attribute names used by the project.
const (
	ExtPartitionKey = "partitionkey" // ordering key (customer id; package id for catalog events)
	ExtTraceparent  = "traceparent"  // W3C trace context, propagated when present
	ExtTracestate   = "tracestate"   // W3C trace context vendor state, travels with traceparent
)

// ContentTypeJSON is the datacontenttype of every event the project publishes.
const ContentTypeJSON = "application/json"

// ContentTypeStructured marks a structured-mode message (the whole event JSON in the body).
const ContentTypeStructured = "application/cloudevents+json"

// New builds a CloudEvent: a fresh id (UUIDv7, so ids sort by creation time), specversion
// 1.0, time now in UTC, datacontenttype application/json, the given subject (the Stigg entity
// id; "" leaves it unset) and the partitionkey extension.
//
// data may be a Payload (validated first), json.RawMessage or []byte holding JSON, any other
// value encoding/json can marshal, or nil for no data. An empty partitionKey is derived from
// data by the PartitionKey rule; if that yields nothing New fails with ErrEmptyKey.
//
// Publishers that need a deterministic id (the bridge derives it from the callout content)
// call SetID on the result.
func New(eventType, source, subject, partitionKey string, data any) (event.Event, error) {
	if _, _, _, ok := splitType(eventType); !ok {
		return event.Event{}, attrErr("type", "%q is not io.<vendor>.<entity>.<action>", eventType)
	}
	raw, err := marshalData(data)
	if err != nil {
		return event.Event{}, err
	}
	ev := event.New(event.CloudEventsVersionV1)
	ev.SetID(newID())
	ev.SetType(eventType)
	ev.SetSource(source)
	ev.SetSubject(subject)
	ev.SetTime(time.Now().UTC())
	ev.SetDataContentType(ContentTypeJSON)
	ev.DataEncoded = raw
	if partitionKey == "" {
		partitionKey = keyFromData(eventType, raw)
		if partitionKey == "" {
			return event.Event{}, subjectErr("key", ErrEmptyKey, "no partition key given and none found in data for %s", eventType)
		}
	}
	ev.SetExtension(ExtPartitionKey, partitionKey)
	if err := checkEvent(ev); err != nil {
		return event.Event{}, err
	}
	return ev, nil
}

func newID() string {
	if id, err := uuid.NewV7(); err == nil {
		return id.String()
	}
	return uuid.NewString()
}

func marshalData(data any) ([]byte, error) {
	switch d := data.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return validJSON(d)
	case []byte:
		return validJSON(d)
	case Payload:
		if v := reflect.ValueOf(d); v.Kind() == reflect.Pointer && v.IsNil() {
			return nil, &ValidationError{Scope: ScopeData, Problem: fmt.Sprintf("nil %T", d)}
		}
		if err := d.Validate(); err != nil {
			return nil, err
		}
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, &ValidationError{Scope: ScopeData, Problem: "cannot encode data as JSON: " + err.Error(), Err: err}
	}
	return raw, nil
}

func validJSON(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if !json.Valid(b) {
		return nil, &ValidationError{Scope: ScopeData, Problem: "data is not valid JSON"}
	}
	return append([]byte(nil), b...), nil
}

// ExtensionString returns an extension's value in its canonical string form.
func ExtensionString(ev event.Event, name string) (string, bool) {
	if ev.Context == nil {
		return "", false
	}
	v, ok := ev.Extensions()[strings.ToLower(name)]
	if !ok {
		return "", false
	}
	s, err := types.Format(v)
	if err != nil {
		return "", false
	}
	return s, true
}

// SetPartitionKey sets the partitionkey extension; an empty key is refused.
func SetPartitionKey(ev *event.Event, key string) error {
	if key == "" {
		return subjectErr("key", ErrEmptyKey, "partition key is empty")
	}
	if err := checkString(ExtPartitionKey, key); err != nil {
		return err
	}
	ev.SetExtension(ExtPartitionKey, key)
	return nil
}

// Traceparent returns the event's W3C traceparent, or "" when absent or malformed (a bad
// trace header must not make a business event fail, so it is ignored rather than rejected).
func Traceparent(ev event.Event) string {
	tp, _ := ExtensionString(ev, ExtTraceparent)
	if !validTraceparent(tp) {
		return ""
	}
	return tp
}

// SetTraceparent sets the traceparent extension; "" removes it (and tracestate).
func SetTraceparent(ev *event.Event, traceparent string) error {
	if traceparent == "" {
		ev.SetExtension(ExtTraceparent, nil)
		ev.SetExtension(ExtTracestate, nil)
		return nil
	}
	if !validTraceparent(traceparent) {
		return attrErr(ExtTraceparent, "%q is not a W3C traceparent", traceparent)
	}
	ev.SetExtension(ExtTraceparent, traceparent)
	return nil
}

// PropagateTrace copies traceparent and tracestate from src to dst (an outcome, a DLQ record,
// a follow-up event), so one trace spans the whole chain.
func PropagateTrace(dst *event.Event, src event.Event) {
	tp := Traceparent(src)
	if tp == "" {
		return
	}
	dst.SetExtension(ExtTraceparent, tp)
	if ts, ok := ExtensionString(src, ExtTracestate); ok && checkString(ExtTracestate, ts) == nil {
		dst.SetExtension(ExtTracestate, ts)
	}
}

// validTraceparent checks version-traceid-parentid-flags (W3C Trace Context). Versions after
// 00 may append fields, which are accepted as the spec asks.
func validTraceparent(s string) bool {
	if len(s) < 55 || (len(s) > 55 && (s[:2] == "00" || s[55] != '-')) {
		return false
	}
	if s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return false
	}
	ver, trace, parent, flags := s[0:2], s[3:35], s[36:52], s[53:55]
	for _, part := range []string{ver, trace, parent, flags} {
		for i := 0; i < len(part); i++ {
			if c := part[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return ver != "ff" && strings.Trim(trace, "0") != "" && strings.Trim(parent, "0") != ""
}

// PartitionKey returns the ordering key of ev: the partitionkey extension when present;
// otherwise, for events whose publisher did not set it, a field of the data —
//
//	io.stigg.package.*      packageId
//	io.stigg.integration.*  integrationId
//	io.stigg.*              customerId
//	io.zuora.*              stiggCustomerId, else accountNumber, else accountId
//
// (the bridge always sets the extension; the Zuora fallback exists for hand-made events).
// No key is an error wrapping ErrEmptyKey.
func PartitionKey(ev event.Event) (string, error) {
	if k, ok := ExtensionString(ev, ExtPartitionKey); ok && k != "" {
		return k, nil
	}
	if k := keyFromData(ev.Type(), ev.Data()); k != "" {
		return k, nil
	}
	return "", subjectErr("key", ErrEmptyKey, "event %q (%s) has no partitionkey and no key field in its data", ev.ID(), ev.Type())
}

func keyFromData(eventType string, data []byte) string {
	ns, entity, _, ok := splitType(eventType)
	if !ok || len(data) == 0 {
		return ""
	}
	var f struct {
		CustomerID      string `json:"customerId"`
		PackageID       string `json:"packageId"`
		IntegrationID   string `json:"integrationId"`
		StiggCustomerID string `json:"stiggCustomerId"`
		AccountNumber   string `json:"accountNumber"`
		AccountID       string `json:"accountId"`
	}
	if json.Unmarshal(data, &f) != nil {
		return ""
	}
	switch ns {
	case NamespaceStigg:
		switch entity {
		case EntityPackage:
			return f.PackageID
		case EntityIntegration:
			return f.IntegrationID
		default:
			return f.CustomerID
		}
	case NamespaceZuora:
		for _, k := range []string{f.StiggCustomerID, f.AccountNumber, f.AccountID} {
			if k != "" {
				return k
			}
		}
	}
	return ""
}

// checkEvent is the one rule set every event passes on the way in (FromMsg) and out
// (New, ToMsg, ToStructuredMsg), so whatever decodes also re-encodes, and vice versa.
// MaxIDLength bounds every identifier an event carries (its id, subject, partition key and the ids in its data).
// Ids become NATS subjects, KV keys and Zuora fields; Zuora's text fields hold 255 characters, and an id of
// kilobytes is a bug upstream, refused here with a clear reason rather than carried into every system.
const MaxIDLength = 255

func checkIDLength(name, v string) error {
	if len(v) > MaxIDLength {
		return attrErr(name, "is %d bytes long; ids may be at most %d", len(v), MaxIDLength)
	}
	return nil
}

func checkEvent(ev event.Event) error {
	if ev.Context == nil {
		return attrErr("specversion", "missing")
	}
	if v := ev.SpecVersion(); v != event.CloudEventsVersionV1 {
		return attrErr("specversion", "%q is not supported, want 1.0", v)
	}
	if len(ev.FieldErrors) > 0 || ev.Context.Validate() != nil {
		return sdkValidationError(ev.Validate())
	}
	ctx := ev.Context.AsV1()
	for _, a := range []struct{ name, val string }{{"id", ctx.ID}, {"type", ctx.Type}} {
		if err := checkString(a.name, a.val); err != nil {
			return err
		}
	}
	if err := checkIDLength("id", ctx.ID); err != nil {
		return err
	}
	if ctx.Subject != nil {
		if err := checkIDLength("subject", *ctx.Subject); err != nil {
			return err
		}
	}
	if k, ok := ExtensionString(ev, ExtPartitionKey); ok {
		if err := checkIDLength(ExtPartitionKey, k); err != nil {
			return err
		}
	}
	if err := checkURI("source", ctx.Source.String(), false); err != nil {
		return err
	}
	if ctx.Subject != nil {
		if err := checkString("subject", *ctx.Subject); err != nil {
			return err
		}
	}
	if ctx.DataSchema != nil {
		if err := checkURI("dataschema", ctx.DataSchema.String(), true); err != nil {
			return err
		}
	}
	if ctx.Time != nil {
		if y := ctx.Time.UTC().Year(); y < 0 || y > 9999 {
			return attrErr("time", "year %d is outside RFC 3339's range", y)
		}
	}
	if ctx.DataContentType != nil {
		if err := checkContentType(*ctx.DataContentType); err != nil {
			return err
		}
	}
	for name, v := range ctx.Extensions {
		if !validAttrName(name) || name == "data" {
			return attrErr(name, "invalid extension name (want lower-case letters and digits)")
		}
		s, err := types.Format(v)
		if err != nil {
			return attrErr(name, "unsupported extension value: %v", err)
		}
		if err := checkString(name, s); err != nil {
			return err
		}
	}
	return nil
}

func sdkValidationError(err error) error {
	ve, ok := err.(event.ValidationError)
	if !ok || len(ve) == 0 {
		return attrErr("specversion", "invalid event: %v", err)
	}
	// Report the alphabetically first attribute, so the error is deterministic.
	first := ""
	for k := range ve {
		if first == "" || k < first {
			first = k
		}
	}
	return attrErr(strings.TrimPrefix(first, "extension:"), "%v", ve[first])
}

// checkString applies the CloudEvents String rules: valid UTF-8, no control characters
// (U+0000-U+001F, U+007F-U+009F), no Unicode noncharacters.
func checkString(field, s string) error {
	if !utf8.ValidString(s) {
		return attrErr(field, "not valid UTF-8")
	}
	for i, r := range s {
		switch {
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return attrErr(field, "control character U+%04X at byte %d", r, i)
		case (r >= 0xFDD0 && r <= 0xFDEF) || r&0xFFFE == 0xFFFE:
			return attrErr(field, "Unicode noncharacter U+%04X at byte %d", r, i)
		}
	}
	return nil
}

// checkURI requires a parseable URI(-reference) whose re-serialisation is stable, so the
// value survives any number of encode/decode rounds unchanged.
func checkURI(field, s string, absolute bool) error {
	if strings.TrimSpace(s) == "" {
		return attrErr(field, "missing")
	}
	if err := checkString(field, s); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil {
		return attrErr(field, "not a URI reference: %v", err)
	}
	if absolute && !u.IsAbs() {
		return attrErr(field, "must be an absolute URI")
	}
	again, err := url.Parse(u.String())
	if err != nil || again.String() != u.String() {
		return attrErr(field, "URI %q does not have a stable form", s)
	}
	return nil
}

func checkContentType(ct string) error {
	if err := checkString("datacontenttype", ct); err != nil {
		return err
	}
	if ct != strings.TrimSpace(ct) {
		return attrErr("datacontenttype", "has surrounding white space")
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return attrErr("datacontenttype", "not a media type: %v", err)
	}
	if strings.HasPrefix(mt, "application/cloudevents") {
		return attrErr("datacontenttype", "%q: a CloudEvent cannot carry a CloudEvents envelope as data", mt)
	}
	return nil
}

// validAttrName: CloudEvents attribute names are lower-case ASCII letters and digits.
func validAttrName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// mediaType returns the lower-case media type of ev's datacontenttype ("" when unset).
func mediaType(ev event.Event) string {
	ct := ev.DataContentType()
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(ct)
	}
	return mt
}

// isJSONMedia: data of these types is JSON text (the JSON event format embeds it as a value).
func isJSONMedia(mt string) bool {
	return mt == "" || mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

// sdkWritesRawJSON mirrors the media types the SDK's JSON writer embeds as raw JSON; for the
// others ToStructuredMsg uses data_base64 so the bytes survive exactly.
func sdkWritesRawJSON(mt string) bool {
	return mt == "" || mt == "application/json" || mt == "text/json"
}
