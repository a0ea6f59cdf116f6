package conformance

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// Violation is one way a request or response departs from the spec.
type Violation struct {
	// Spec is the document the request was routed to (the V1 spec for unknown non-/v2 paths).
	Spec Spec
	// Method and Path are the request's, as sent.
	Method, Path string
	// Operation is the spec's method and path template, empty when the endpoint is unknown.
	Operation string
	// Phase is "request" or "response".
	Phase string
	// Status is the response status (Phase "response" only).
	Status int
	// Message is the validator's message.
	Message string
}

func (v *Violation) Error() string {
	op := string(v.Spec) + " spec"
	if v.Operation != "" {
		op += ": " + v.Operation
	}
	phase := v.Phase
	if v.Status != 0 {
		phase = fmt.Sprintf("%s %d", phase, v.Status)
	}
	return fmt.Sprintf("conformance: %s %s (%s): %s: %s", v.Method, v.Path, op, phase, v.Message)
}

// key identifies a violation for de-duplication: the same defect on another id in the path is not new.
func (v *Violation) key() string {
	where := v.Operation
	if where == "" {
		where = v.Method + " " + v.Path
	}
	return fmt.Sprintf("%s|%s|%s|%d|%s", v.Spec, where, v.Phase, v.Status, v.Message)
}

// Violations is the error returned by CheckRequest and CheckResponse: one entry per defect found.
type Violations []*Violation

func (vs Violations) Error() string {
	msgs := make([]string, len(vs))
	for i, v := range vs {
		msgs[i] = v.Error()
	}
	return strings.Join(msgs, "\n")
}

func options() *openapi3filter.Options {
	return &openapi3filter.Options{
		// Auth is the simulator's business and tested elsewhere; the specs require bearer tokens everywhere.
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		// A body sent to an operation that takes none is a client bug.
		RejectWhenRequestBodyNotSpecified: true,
		// Statuses must be listed (exactly, as a 4XX-style range, or via default).
		IncludeResponseStatus: true,
		// Report every defect of a body at once rather than the first one.
		MultiError: true,
		// We check traffic; we never rewrite it with defaults.
		SkipSettingDefaults: true,
		// Keep messages to one line: field path and reason, without dumping schema and value.
		SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
	}
}

// CheckRequest validates a request against the spec operation it maps to (see find for the mapping). body is
// the request body (req.Body is not read); a gzip Content-Encoding is undone first. The result is nil or
// Violations. Requests to /_sim/ and to DocumentedOnly endpoints pass; unknown endpoints are a violation.
func (c *Checker) CheckRequest(req *http.Request, body []byte) error {
	m := c.find(req)
	switch m.kind {
	case matchSkip:
		c.count(func(s *Stats) { s.Skipped++ })
		return nil
	case matchDocumented:
		c.count(func(s *Stats) { s.DocumentedOnly[m.documented.key()]++ })
		return nil
	case matchUnknown:
		c.count(func(s *Stats) { s.Unknown++ })
		return Violations{{Spec: m.spec.name, Method: req.Method, Path: req.URL.Path, Phase: "request", Message: m.reason}}
	}
	c.count(func(s *Stats) { s.Validated[m.spec.name]++ })

	in := requestInput(m, body)
	err := openapi3filter.ValidateRequest(context.Background(), in)
	return violations(m, req, "request", 0, err)
}

// CheckResponse validates a response to req: the status must be documented for the operation, documented
// headers must match, and a body must match the schema of its content type. Unknown endpoints are reported by
// CheckRequest, so CheckResponse passes them, as it does /_sim/ and DocumentedOnly endpoints, and answers a
// simulator fault spoiled on purpose (header Zuorasim-Fault).
func (c *Checker) CheckResponse(req *http.Request, status int, header http.Header, body []byte) error {
	if header.Get("Zuorasim-Fault") != "" {
		return nil // spoiled on purpose by a fault (truncated, garbled): not a claim about Zuora's answers
	}
	m := c.find(req)
	if m.kind != matchSpec {
		return nil
	}
	body, err := decoded(header, body)
	if err != nil {
		return violations(m, req, "response", status, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: requestInput(m, nil),
		Status:                 status,
		Header:                 header,
		Options:                options(),
	}
	in.SetBodyBytes(body)
	err = openapi3filter.ValidateResponse(context.Background(), in)
	return violations(m, req, "response", status, err)
}

func requestInput(m match, body []byte) *openapi3filter.RequestValidationInput {
	r := new(http.Request)
	*r = *m.routed
	plain, err := decoded(r.Header, body)
	if err == nil {
		body = plain
	}
	// The validator consumes and replaces Body; give it its own reader so the caller's request is untouched.
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = nil
	r.ContentLength = int64(len(body))
	return &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: m.params,
		Route:      m.route,
		Options:    options(),
	}
}

// decoded undoes a gzip Content-Encoding (Zuora supports it both ways); other encodings are left as they are.
func decoded(h http.Header, body []byte) ([]byte, error) {
	if len(body) == 0 || !strings.EqualFold(strings.TrimSpace(h.Get("Content-Encoding")), "gzip") {
		return body, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("body says Content-Encoding gzip but is not: %w", err)
	}
	defer zr.Close()
	return io.ReadAll(zr)
}

func violations(m match, req *http.Request, phase string, status int, err error) error {
	if err == nil {
		return nil
	}
	var out Violations
	for _, msg := range flatten(err) {
		out = append(out, &Violation{
			Spec:      m.spec.name,
			Method:    req.Method,
			Path:      req.URL.Path,
			Operation: m.route.Method + " " + m.route.Path,
			Phase:     phase,
			Status:    status,
			Message:   msg,
		})
	}
	return out
}

// flatten turns the validator's nested errors into one line per defect, each with its context (which parameter,
// the body, the response) so that de-duplication works per field.
func flatten(err error) []string {
	if me, ok := err.(openapi3.MultiError); ok {
		var out []string
		for _, e := range me {
			out = append(out, flatten(e)...)
		}
		return out
	}
	if reqErr, ok := err.(*openapi3filter.RequestError); ok {
		ctx := "request"
		switch {
		case reqErr.Parameter != nil:
			ctx = fmt.Sprintf("parameter %q in %s", reqErr.Parameter.Name, reqErr.Parameter.In)
		case reqErr.RequestBody != nil:
			ctx = "request body"
		}
		return withContext(ctx, reqErr.Reason, reqErr.Err)
	}
	if respErr, ok := err.(*openapi3filter.ResponseError); ok {
		return withContext("response", respErr.Reason, respErr.Err)
	}
	// A failed allOf wraps the defects of its parts, which carry their full paths: report them one by one.
	// (oneOf and anyOf failures stay whole: their parts are alternatives, meaningful only together.)
	if se, ok := err.(*openapi3.SchemaError); ok && se.SchemaField == "allOf" && se.Origin != nil {
		var parts openapi3.MultiError
		if errors.As(se.Origin, &parts) {
			return flatten(parts)
		}
	}
	return []string{oneLine(err.Error())}
}

func withContext(ctx, reason string, inner error) []string {
	prefix := ctx
	if reason != "" {
		prefix += ": " + reason
	}
	if inner == nil {
		return []string{oneLine(prefix)}
	}
	subs := flatten(inner)
	out := make([]string, len(subs))
	for i, s := range subs {
		if s == reason {
			out[i] = oneLine(prefix)
		} else {
			out[i] = oneLine(prefix + ": " + s)
		}
	}
	return out
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
