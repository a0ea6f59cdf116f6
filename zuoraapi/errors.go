package zuoraapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/zuora-sync/zuora-sync/ratelimit"
)

// Kind says what a caller can do about an error.
type Kind int

const (
	KindUnknown     Kind = iota
	KindValidation       // the request is wrong; retrying the same request fails again
	KindNotFound         // the object does not exist
	KindRateLimited      // Zuora's rate or concurrency limit; wait RetryAfter
	KindTransient        // 5xx, lock contention, timeouts, network errors, open breaker
	KindAuth             // credentials rejected (after one re-authentication)
	KindConflict         // 409/423: the same idempotency key or object is busy; retry later with the same key
)

func (k Kind) String() string {
	switch k {
	case KindValidation:
		return "validation"
	case KindNotFound:
		return "not_found"
	case KindRateLimited:
		return "rate_limited"
	case KindTransient:
		return "transient"
	case KindAuth:
		return "auth"
	case KindConflict:
		return "conflict"
	}
	return "unknown"
}

// Reason is one entry of an error envelope (V1 reasons, CRUD Errors, Quickstart errors).
type Reason struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Parameter string `json:"parameter,omitempty"`
}

// Error is every failure of a Zuora call: an HTTP error status, a V1/CRUD body with success:false (also on
// HTTP 200), or a transport failure before any response (StatusCode 0, Kind Transient unless the limiter
// asked us to wait, wrapping the cause).
type Error struct {
	Kind       Kind
	StatusCode int    // HTTP status; 0 when no response arrived
	Code       string // first reason's code (V1 numeric codes as decimal text), or the Quickstart type
	Message    string // all reasons' messages, "; "-joined
	Parameter  string // Quickstart: the offending parameter
	Reasons    []Reason
	Type       string // Quickstart error type, e.g. "bad_request"
	ProcessID  string // V1 processId
	RequestID  string // Zuora-Request-Id: quote it to Zuora support
	RetryAfter time.Duration
	Method     string
	Path       string
	err        error
	// refused: Zuora read the request and answered that it did not do it (see Refused).
	refused bool
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "zuora %s %s: %s", e.Method, e.Path, e.Kind)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " code %s", e.Code)
	}
	if e.Parameter != "" {
		fmt.Fprintf(&b, " parameter %s", e.Parameter)
	}
	switch {
	case e.Message != "":
		fmt.Fprintf(&b, ": %s", e.Message)
	case e.err != nil:
		fmt.Fprintf(&b, ": %v", e.err)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [request id %s]", e.RequestID)
	}
	return b.String()
}

// Unwrap returns the cause of a transport-level failure (context errors, *ratelimit.OpenError, ...).
func (e *Error) Unwrap() error { return e.err }

// Temporary reports whether the same request may succeed later; it is the opposite of Permanent.
func (e *Error) Temporary() bool { return !e.Permanent() }

// Permanent reports whether retrying the same request cannot succeed: Zuora understood it and refused it
// (validation, not found, permission denied), or the client refused to send it (a programming error).
func (e *Error) Permanent() bool { return IsRejection(e) }

// RetryDelay is the least time Zuora asked the caller to wait (Retry-After); 0 when it did not say.
func (e *Error) RetryDelay() time.Duration { return e.RetryAfter }

// Unavailable reports that Zuora could not be asked: it answered with its rate or concurrency limit, the limiter
// held the request back for it, or the surface's circuit breaker is open. Nothing about the request itself failed.
func (e *Error) Unavailable() bool {
	return e.Kind == KindRateLimited || errors.Is(e.err, ratelimit.ErrBreakerOpen)
}

// Refused reports whether Zuora answered a write that carries an idempotency key (POST, PATCH) by saying it did
// not do it: a 4xx other than 401, 408, 409, 423 and 429, or a V1 body with success:false. The key then holds that
// refusal. Every other failure — a 5xx, a timeout, a reset connection, a 2xx whose body could not be read or
// decoded — leaves the outcome unknown: Zuora may have committed the write, so only the same key may repeat it.
// (A 401 is refused before any processing and is not stored; a new key would change nothing.)
func (e *Error) Refused() bool {
	write := e.Method == http.MethodPost || e.Method == http.MethodPatch
	return write && e.refused
}

// AsError finds a *Error in err's chain.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsRejection tells whether Zuora understood the request and refused it (validation, not found): retrying the
// same request cannot succeed. Every other failure may pass on a later try.
func IsRejection(e *Error) bool {
	if e == nil {
		return false
	}
	// 403 / category 10 is "permission denied": the API user lacks a permission, which only an administrator
	// can grant; 401 (credentials) stays retryable, since fixing the secret fixes every event at once.
	permission := e.Kind == KindAuth && (e.StatusCode == http.StatusForbidden || v1Category(e.Reasons) == "10")
	return e.Kind == KindValidation || e.Kind == KindNotFound || permission
}

// IsNotFound reports whether err is a Zuora "not found".
func IsNotFound(err error) bool {
	e, ok := AsError(err)
	return ok && e.Kind == KindNotFound
}

// IsTemporary reports whether err is a *Error that may succeed on a later attempt.
func IsTemporary(err error) bool {
	e, ok := AsError(err)
	return ok && e.Temporary()
}

// flexCode accepts a JSON number or string: V1 documents numeric codes, some V1 schemas and the other
// envelopes use strings.
type flexCode string

func (c *flexCode) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = flexCode(s)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*c = flexCode(n.String())
	return nil
}

type rawReason struct {
	Code      flexCode `json:"code"`
	Message   string   `json:"message"`
	Parameter string   `json:"parameter"`
	Field     string   `json:"field"`
}

// envelope covers all of Zuora's error bodies. encoding/json matches names case-insensitively, so
// "success"/"Success" and "errors"/"Errors" (CRUD) land in the same fields.
type envelope struct {
	Success   *bool       `json:"success"`
	ProcessID string      `json:"processId"`
	RequestID string      `json:"requestId"`
	Reasons   []rawReason `json:"reasons"`
	Errors    []rawReason `json:"errors"`
	Type      string      `json:"type"`
	Retryable *bool       `json:"retryable"`
	Code      flexCode    `json:"code"` // flat {"code":"404","message":...} seen on notification APIs
	Message   string      `json:"message"`
}

// decodeEnvelope decodes field by field so that one odd field (say, "errors" as a string) does not lose the rest.
func decodeEnvelope(data []byte) envelope {
	var raw map[string]json.RawMessage
	if json.Unmarshal(data, &raw) != nil {
		return envelope{}
	}
	var env envelope
	for k, v := range raw {
		switch strings.ToLower(k) {
		case "success":
			var b bool
			if json.Unmarshal(v, &b) == nil {
				env.Success = &b
			}
		case "processid":
			_ = json.Unmarshal(v, &env.ProcessID)
		case "requestid":
			_ = json.Unmarshal(v, &env.RequestID)
		case "reasons":
			_ = json.Unmarshal(v, &env.Reasons)
		case "errors":
			_ = json.Unmarshal(v, &env.Errors)
		case "type":
			_ = json.Unmarshal(v, &env.Type)
		case "retryable":
			var b bool
			if json.Unmarshal(v, &b) == nil {
				env.Retryable = &b
			}
		case "code":
			_ = json.Unmarshal(v, &env.Code)
		case "message":
			_ = json.Unmarshal(v, &env.Message)
		}
	}
	return env
}

// reportsFailure reports whether a 2xx body says success:false (V1 and CRUD trap business errors this way).
func reportsFailure(data []byte) bool {
	var probe struct {
		Success json.RawMessage `json:"success"`
	}
	if json.Unmarshal(data, &probe) != nil {
		return false
	}
	return string(bytes.TrimSpace(probe.Success)) == "false"
}

// newResponseError builds the *Error for a failed response.
func newResponseError(method, path string, status int, h http.Header, data []byte) *Error {
	env := decodeEnvelope(data)
	e := &Error{
		StatusCode: status,
		Type:       env.Type,
		ProcessID:  env.ProcessID,
		RequestID:  h.Get("Zuora-Request-Id"),
		Method:     method,
		Path:       path,
	}
	if e.RequestID == "" {
		e.RequestID = env.RequestID
	}
	var msgs []string
	for _, r := range append(env.Reasons, env.Errors...) {
		param := r.Parameter
		if param == "" {
			param = r.Field
		}
		e.Reasons = append(e.Reasons, Reason{Code: string(r.Code), Message: r.Message, Parameter: param})
		if r.Message != "" {
			msgs = append(msgs, r.Message)
		}
	}
	if len(e.Reasons) > 0 {
		e.Code, e.Parameter = e.Reasons[0].Code, e.Reasons[0].Parameter
	} else if env.Code != "" {
		e.Code = string(env.Code)
	} else {
		e.Code = env.Type
	}
	if len(msgs) == 0 && env.Message != "" {
		msgs = append(msgs, env.Message)
	}
	e.Message = strings.Join(msgs, "; ")
	if e.Message == "" && status >= 400 {
		e.Message = http.StatusText(status)
		if snippet := bodySnippet(data); snippet != "" && env.Type == "" {
			e.Message += ": " + snippet
		}
	}
	e.RetryAfter = retryAfter(h)
	e.Kind = classify(status, e, env)
	switch {
	case status < 300: // success:false in the body
		e.refused = true
	case status >= 400 && status < 500:
		// 408, 409, 423 and 429 say "not now", not "no": the write may still be in flight or run on retry;
		// 401 is answered before anything is processed or stored.
		e.refused = status != http.StatusUnauthorized && status != http.StatusRequestTimeout &&
			status != http.StatusConflict && status != http.StatusLocked && status != http.StatusTooManyRequests
	}
	return e
}

func bodySnippet(data []byte) string {
	s := strings.TrimSpace(string(data))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func retryAfter(h http.Header) time.Duration {
	if d, ok := ratelimit.ParseRetryAfter(h.Get("Retry-After"), time.Now()); ok {
		return d
	}
	if rl := ratelimit.ParseRateLimit(h); rl.HasRemaining && rl.Remaining == 0 && rl.HasReset {
		return rl.Reset
	}
	return 0
}

// v1Category extracts the two-digit category of the first 8-digit V1 error code (6-digit resource + category).
func v1Category(reasons []Reason) string {
	for _, r := range reasons {
		c := r.Code
		if len(c) < 8 {
			continue
		}
		if _, err := strconv.ParseUint(c, 10, 64); err != nil {
			continue
		}
		return c[len(c)-2:]
	}
	return ""
}

func classify(status int, e *Error, env envelope) Kind {
	cat := v1Category(e.Reasons)
	switch {
	case status == http.StatusTooManyRequests || cat == "70":
		return KindRateLimited
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return KindAuth
	case status >= 500:
		return KindTransient
	}
	switch cat {
	case "50", "60", "61", "99": // lock contention, internal, temporary, integration (gateway/tax)
		return KindTransient
	case "40":
		return KindNotFound
	case "10", "11":
		return KindAuth
	case "20", "21", "22", "23", "27", "30", "45", "90":
		return KindValidation
	}
	if k, ok := quickstartKinds[env.Type]; ok {
		return k
	}
	if len(e.Reasons) > 0 {
		if k, ok := crudKinds[strings.ToUpper(e.Reasons[0].Code)]; ok {
			return k
		}
	}
	switch status {
	case http.StatusNotFound:
		return KindNotFound
	case http.StatusConflict, http.StatusLocked:
		return KindConflict
	case http.StatusRequestTimeout:
		return KindTransient
	case http.StatusBadRequest, http.StatusPaymentRequired, http.StatusMethodNotAllowed,
		http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		return KindValidation
	}
	if env.Retryable != nil && *env.Retryable {
		return KindTransient
	}
	return KindUnknown
}

// quickstartKinds maps Quickstart error types (QS spec / Zuora's error-code guide).
var quickstartKinds = map[string]Kind{
	"bad_request":                 KindValidation,
	"method_not_allowed":          KindValidation,
	"request_failed":              KindValidation, // 402, e.g. card declined
	"not_found":                   KindNotFound,
	"unauthorized":                KindAuth,
	"forbidden":                   KindAuth,
	"conflict":                    KindConflict,
	"locked":                      KindConflict,
	"too_many_requests":           KindRateLimited,
	"internal_server_error":       KindTransient,
	"bad_gateway":                 KindTransient,
	"service_unavailable":         KindTransient,
	"request_timeout":             KindTransient,
	"gateway_timeout":             KindTransient,
	"payment_gateway_timeout":     KindTransient,
	"payment_gateway_unavailable": KindTransient,
	"payment_gateway_error":       KindTransient,
}

// crudKinds maps the symbolic codes of the CRUD (/v1/object, /v1/action) envelope, which mirror SOAP fault codes.
var crudKinds = map[string]Kind{
	"INVALID_VALUE":          KindValidation,
	"INVALID_FIELD":          KindValidation,
	"INVALID_TYPE":           KindValidation,
	"MISSING_REQUIRED_VALUE": KindValidation,
	"DUPLICATE_VALUE":        KindValidation,
	"MALFORMED_QUERY":        KindValidation,
	"INVALID_ID":             KindNotFound,
	"LOCK_COMPETITION":       KindTransient,
	"TEMPORARY_ERROR":        KindTransient,
	"SERVER_UNAVAILABLE":     KindTransient,
	"UNKNOWN_ERROR":          KindTransient,
	"REQUEST_EXCEEDED_LIMIT": KindRateLimited,
	"REQUEST_EXCEEDED_RATE":  KindRateLimited,
	"INVALID_SESSION":        KindAuth,
}

// newTransportError wraps a failure that produced no response.
func newTransportError(method, path string, err error) *Error {
	e := &Error{Kind: KindTransient, Method: method, Path: path, err: err}
	var pe *ratelimit.PausedError
	var inner *Error
	switch {
	case errors.As(err, &pe):
		e.Kind, e.RetryAfter = KindRateLimited, pe.RetryAfter()
	case errors.As(err, &inner): // the token fetch failed: keep its classification
		e.Kind, e.StatusCode, e.Code, e.RequestID, e.RetryAfter = inner.Kind, inner.StatusCode, inner.Code, inner.RequestID, inner.RetryAfter
		e.Message = "fetching OAuth token (POST /oauth/token): " + inner.Message
	}
	return e
}

// invalidRequest is a request the client refuses to send: a programming error, the same on every attempt, so it
// is permanent (Kind Validation, StatusCode 0) and never counts as Zuora's refusal.
func invalidRequest(method, path, msg string) *Error {
	return &Error{Kind: KindValidation, Method: method, Path: path, Message: "not sent: " + msg}
}

// NewTestRefusal builds the error the client returns when Zuora answers a write with status (a 4xx), for tests
// of code that reacts to refusals.
func NewTestRefusal(method, path string, status int) *Error {
	return newResponseError(method, path, status, http.Header{}, []byte(`{"reasons":[{"code":"invalid","message":"refused"}]}`))
}
