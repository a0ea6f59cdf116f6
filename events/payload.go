package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Payload is the typed data of an event.
type Payload interface {
	// Validate reports every bad field as a *ValidationError (ScopeData) whose Field is the
	// field's JSON path; several are joined with errors.Join.
	Validate() error
}

// registry maps each event type to a constructor of its payload.
var registry = map[string]func() Payload{
	TypeStiggCustomerCreated:         func() Payload { return new(Customer) },
	TypeStiggCustomerUpdated:         func() Payload { return new(Customer) },
	TypeStiggPaymentMethodAttached:   func() Payload { return new(PaymentMethodAttached) },
	TypeStiggPackagePublished:        func() Payload { return new(PackagePublished) },
	TypeStiggSubscriptionCreated:     func() Payload { return new(SubscriptionCreated) },
	TypeStiggSubscriptionUpdated:     func() Payload { return new(SubscriptionUpdated) },
	TypeStiggSubscriptionCanceled:    func() Payload { return new(SubscriptionCanceled) },
	TypeStiggUsageReported:           func() Payload { return new(UsageReported) },
	TypeStiggPaymentRequested:        func() Payload { return new(PaymentRequested) },
	TypeStiggIntegrationConnected:    func() Payload { return new(Integration) },
	TypeStiggIntegrationDisconnected: func() Payload { return new(Integration) },

	TypeZuoraInvoicePaid:                 func() Payload { return new(ZuoraInvoice) },
	TypeZuoraInvoicePosted:               func() Payload { return new(ZuoraInvoice) },
	TypeZuoraPaymentFailed:               func() Payload { return new(ZuoraPayment) },
	TypeZuoraSubscriptionUpdated:         func() Payload { return new(ZuoraSubscription) },
	TypeZuoraSubscriptionCanceled:        func() Payload { return new(ZuoraSubscription) },
	TypeZuoraOrderScheduledCompleted:     func() Payload { return new(ZuoraOrder) },
	TypeZuoraAccountCanceled:             func() Payload { return new(ZuoraAccount) },
	TypeZuoraAccountPaymentMethodChanged: func() Payload { return new(ZuoraPaymentMethodChanged) },
}

// NewPayload returns an empty payload for eventType: the registered one, an *Outcome for
// io.zuorasync.<entity>.<result>, a *FailedOutcome when result is "failed".
func NewPayload(eventType string) (Payload, bool) {
	if f, ok := registry[eventType]; ok {
		return f(), true
	}
	if ns, _, result, ok := splitType(eventType); ok && ns == NamespaceZuoraSync {
		if result == ResultFailed {
			return new(FailedOutcome), true
		}
		return new(Outcome), true
	}
	return nil, false
}

// KnownTypes lists the registered Stigg and Zuora event types, sorted.
func KnownTypes() []string {
	out := make([]string, 0, len(registry))
	for t := range registry {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// DecodeData decodes and validates ev's data into the payload registered for its type.
// Errors: ErrUnknownType (wrapped) for an unregistered type; *CardDataError for payment data carrying a raw card
// number or security code; otherwise *ValidationError —
// Field "datacontenttype" for non-JSON data, "" (the root) for missing or malformed JSON
// (the problem names the byte offset), the JSON path for a wrongly typed or invalid field.
// Unknown JSON members are ignored, so Stigg may add fields without breaking the consumer.
func DecodeData(ev event.Event) (Payload, error) {
	p, ok := NewPayload(ev.Type())
	if !ok {
		return nil, fmt.Errorf("events: %w %q", ErrUnknownType, ev.Type())
	}
	if mt := mediaType(ev); !isJSONMedia(mt) {
		return nil, attrErr("datacontenttype", "%q: data must be JSON", ev.DataContentType())
	}
	if ev.Type() == TypeStiggPaymentMethodAttached || ev.Type() == TypeStiggPaymentRequested {
		if path := findCardData(ev.Data()); path != "" {
			return nil, &CardDataError{Path: path}
		}
	}
	if err := unmarshalPayload(ev.Data(), p); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// unmarshalPayload decodes a JSON object into p, turning encoding/json's errors into
// ValidationErrors that name the field by its full JSON path (with array indices).
func unmarshalPayload(data []byte, p Payload) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return &ValidationError{Scope: ScopeData, Problem: "missing: the event has no data"}
	}
	if data[0] != '{' {
		return &ValidationError{Scope: ScopeData, Problem: "data must be a JSON object"}
	}
	err := json.Unmarshal(data, p)
	if err == nil {
		return nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &ValidationError{Scope: ScopeData, Problem: fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, syn), Err: err}
	case errors.As(err, &typ):
		field := jsonPathAt(data, typ.Offset)
		if field == "" {
			field = typ.Field
		}
		return &ValidationError{Scope: ScopeData, Field: field, Problem: fmt.Sprintf("JSON %s cannot be %s", typ.Value, describeType(typ)), Err: err}
	default:
		return &ValidationError{Scope: ScopeData, Problem: err.Error(), Err: err}
	}
}

func describeType(e *json.UnmarshalTypeError) string {
	if e.Type == nil {
		return "decoded"
	}
	switch k := e.Type.Kind().String(); k {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "decoded as an integer (" + k + ")"
	case "slice", "array":
		return "decoded as an array"
	case "map", "struct":
		return "decoded as an object"
	default:
		return "decoded as a " + k
	}
}

// jsonPathAt returns the JSON path (a.b[2].c) of the value that ends at or after byte offset
// off — encoding/json reports type errors by offset but names fields without array indices.
func jsonPathAt(data []byte, off int64) string {
	type frame struct {
		array   bool
		index   int
		key     string
		wantKey bool
	}
	var stack []frame
	render := func() string {
		var b bytes.Buffer
		for _, f := range stack {
			if f.array {
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.key)
		}
		return b.String()
	}
	afterValue := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].array {
				stack[n-1].index++
			} else {
				stack[n-1].wantKey = true
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF || err != nil {
			return ""
		}
		d, isDelim := tok.(json.Delim)
		if isDelim && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			afterValue()
			continue
		}
		if n := len(stack); n > 0 && !stack[n-1].array && stack[n-1].wantKey {
			stack[n-1].key, _ = tok.(string)
			stack[n-1].wantKey = false
			continue
		}
		// tok starts a value (a scalar, or the opening of an object/array).
		if dec.InputOffset() >= off {
			return render()
		}
		switch {
		case isDelim && d == '{':
			stack = append(stack, frame{wantKey: true})
		case isDelim && d == '[':
			stack = append(stack, frame{array: true})
		default:
			afterValue()
		}
	}
}
