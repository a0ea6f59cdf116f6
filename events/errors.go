package events

import (
	"errors"
	"fmt"
)

// Scope says which part of an event a ValidationError is about.
type Scope string

const (
	// ScopeAttribute: a CloudEvents context attribute (id, source, time, an extension, …) or the
	// NATS message that carries it (header syntax, body of a structured message).
	ScopeAttribute Scope = "attribute"
	// ScopeData: a field of the event's data; Field is its JSON path, e.g. prices[1].tiers[0].upTo.
	ScopeData Scope = "data"
	// ScopeSubject: a NATS subject or an ordering key.
	ScopeSubject Scope = "subject"
)

// ValidationError names what is wrong with an event. The same type serves the envelope
// (FromMsg, ToMsg, New) and the payload (DecodeData, Payload.Validate) so a caller needs one
// errors.As to tell "this message can never succeed" from a transient failure.
// When several fields are wrong, the error returned is an errors.Join of ValidationErrors in
// field order; errors.As yields the first.
type ValidationError struct {
	Scope   Scope
	Field   string // attribute name, JSON path into data, or "key"/"subject"
	Problem string // what is wrong, for a person
	Err     error  // optional cause (e.g. ErrEmptyKey), reachable with errors.Is
}

// DecodeError is the name the envelope decoder's errors go by; it is the same type.
type DecodeError = ValidationError

func (e *ValidationError) Error() string {
	switch e.Scope {
	case ScopeData:
		return fmt.Sprintf("events: data field %s: %s", orRoot(e.Field), e.Problem)
	case ScopeSubject:
		return fmt.Sprintf("events: %s: %s", e.Field, e.Problem)
	default:
		return fmt.Sprintf("events: attribute %s: %s", e.Field, e.Problem)
	}
}

func (e *ValidationError) Unwrap() error { return e.Err }

// Permanent reports that the event itself is wrong: no retry of it can succeed, so the runtime dead-letters it.
func (e *ValidationError) Permanent() bool { return true }

// permanentSentinel is a sentinel error that says no retry can fix it.
type permanentSentinel string

func (e permanentSentinel) Error() string   { return string(e) }
func (e permanentSentinel) Permanent() bool { return true }

func orRoot(f string) string {
	if f == "" {
		return "(root)"
	}
	return f
}

var (
	// ErrUnknownType is wrapped by DecodeData when no payload type is registered for the
	// event's type. It is permanent: the same event can never be decoded.
	ErrUnknownType error = permanentSentinel("unknown event type")
	// ErrEmptyKey is wrapped when an ordering key is required but empty or absent.
	ErrEmptyKey = errors.New("empty ordering key")
)

func attrErr(field, format string, args ...any) *ValidationError {
	return &ValidationError{Scope: ScopeAttribute, Field: field, Problem: fmt.Sprintf(format, args...)}
}

func subjectErr(field string, cause error, format string, args ...any) *ValidationError {
	return &ValidationError{Scope: ScopeSubject, Field: field, Problem: fmt.Sprintf(format, args...), Err: cause}
}

// problems collects data-field errors so Validate reports all of them at once.
type problems struct{ errs []error }

func (p *problems) add(field, format string, args ...any) {
	p.errs = append(p.errs, &ValidationError{Scope: ScopeData, Field: field, Problem: fmt.Sprintf(format, args...)})
}

func (p *problems) err() error {
	switch len(p.errs) {
	case 0:
		return nil
	case 1:
		return p.errs[0]
	default:
		return errors.Join(p.errs...)
	}
}
