package zuorasim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// surface is a Zuora API family; each has its own error envelope.
type surface int

const (
	surfaceV1            surface = iota // /v1/..., /oauth, /settings, /objects: {success, processId, requestId, reasons}
	surfaceQuickstart                   // /v2/...: {type, errors[], retryable}
	surfaceCRUD                         // /v1/object/..., /v1/action/...: {Success, Errors[{Code, Message}]}
	surfaceNotifications                // /notifications/..., /events/...: {reasons[{code, message}]}
	surfaceAdmin                        // /_sim/...
)

func surfaceOf(path string) surface {
	switch {
	case strings.HasPrefix(path, "/_sim/"):
		return surfaceAdmin
	case strings.HasPrefix(path, "/v2/"):
		return surfaceQuickstart
	case strings.HasPrefix(path, "/v1/object/"), strings.HasPrefix(path, "/v1/action/"):
		return surfaceCRUD
	case strings.HasPrefix(path, "/notifications/"), strings.HasPrefix(path, "/events/"),
		strings.HasPrefix(path, "/v1/notifications/"), strings.HasPrefix(path, "/v1/events/"):
		return surfaceNotifications
	default:
		return surfaceV1
	}
}

// V1 error categories: the last two digits of an 8-digit V1 reason code (Zuora "error codes" guide).
const (
	catPermission     = 10
	catAuthentication = 11
	catInvalidValue   = 20
	catUnknownField   = 21
	catMissingField   = 22
	catMissingParam   = 23
	catInvalidQuery   = 27
	catRule           = 30
	catNotFound       = 40
	catUnsupported    = 45
	catLocking        = 50
	catInternal       = 60
	catTemporary      = 61
	catLimit          = 70
	catMalformed      = 90
)

// resourceGeneric is the V1 resource code Zuora uses when no object/field applies (GET/DELETE without a body).
const resourceGeneric = 500000

// apiError is a surface-independent failure. Handlers build one with the constructors below and call
// (*Sim).fail; the writer of the request's surface renders it.
type apiError struct {
	status    int    // HTTP status on surfaces with real statuses (Quickstart, notifications, admin)
	v1Status  int    // HTTP status on /v1: 200 for business-logic failures, as Zuora does
	qsType    string // Quickstart "type": bad_request, not_found, ...
	code      string // Quickstart/notification error code: invalid_parameter, not_found, ...
	category  int    // V1 category (two digits)
	resource  int    // V1 resource code (six digits); 0 = resourceGeneric
	param     string // offending parameter, if any
	message   string
	retryable bool
	crudCode  string // CRUD Errors[].Code when the category does not say it (e.g. DUPLICATE_VALUE)
	// retryAfter, when positive, is sent as Retry-After (seconds); challenge sends WWW-Authenticate (401s of
	// the auth checks).
	retryAfter int
	challenge  bool
}

// after sets the Retry-After of the answer.
func (e *apiError) after(seconds int) *apiError { e.retryAfter = seconds; return e }

func (e *apiError) Error() string { return e.message }

// forResource sets the V1 resource code (e.g. a code specific to account fields).
func (e *apiError) forResource(code int) *apiError { e.resource = code; return e }

func (e *apiError) v1Code() int {
	r := e.resource
	if r == 0 {
		r = resourceGeneric
	}
	return r*100 + e.category
}

// errInvalid: a parameter has a wrong value or type.
func errInvalid(param, format string, args ...any) *apiError {
	return &apiError{status: 400, v1Status: 200, qsType: "bad_request", code: "invalid_parameter",
		category: catInvalidValue, param: param, message: fmt.Sprintf(format, args...)}
}

// errMissing: a required parameter is absent.
func errMissing(param string) *apiError {
	return &apiError{status: 400, v1Status: 200, qsType: "bad_request", code: "missing_parameter",
		category: catMissingField, param: param, message: fmt.Sprintf("'%s' is required", param)}
}

// errUnknownParam: the body names a field the object does not have.
func errUnknownParam(param string) *apiError {
	return &apiError{status: 400, v1Status: 200, qsType: "bad_request", code: "unknown_parameter",
		category: catUnknownField, param: param, message: fmt.Sprintf("'%s' is not a valid parameter", param)}
}

// errReferenceNotFound: the body refers to an object that does not exist (Quickstart: bad_request/resource_not_found).
func errReferenceNotFound(param, value string) *apiError {
	return &apiError{status: 400, v1Status: 200, qsType: "bad_request", code: "resource_not_found",
		category: catNotFound, param: param, message: fmt.Sprintf("'%s' refers to '%s', which does not exist", param, value)}
}

// errMalformed: the body is not valid JSON.
func errMalformed(err error) *apiError {
	return &apiError{status: 400, v1Status: 200, qsType: "bad_request", code: "invalid_request",
		category: catMalformed, message: "malformed request body: " + err.Error()}
}

// errNotFound: the object addressed by the URL does not exist. V1 answers 404 where the spec lists 4XX/404 for
// the operation (GET /v1/accounts/{key} does); Zuora's V1 code for it is 50000040.
func errNotFound(what, key string) *apiError {
	return &apiError{status: 404, v1Status: 404, qsType: "not_found", code: "not_found", category: catNotFound,
		message: fmt.Sprintf("%s '%s' not found", what, key)}
}

func errRouteNotFound(path string) *apiError {
	return &apiError{status: 404, v1Status: 404, qsType: "not_found", code: "not_found", category: catNotFound,
		message: fmt.Sprintf("no such resource: %s", path)}
}

func errMethodNotAllowed(method string) *apiError {
	return &apiError{status: 405, v1Status: 405, qsType: "method_not_allowed", code: "invalid_request",
		category: catUnsupported, message: fmt.Sprintf("method %s is not supported on this resource", method)}
}

func errUnauthorized(msg string) *apiError {
	return &apiError{status: 401, v1Status: 401, qsType: "unauthorized", category: catAuthentication,
		resource: 900000, message: msg}
}

func errTooManyRequests(msg string) *apiError {
	return &apiError{status: 429, v1Status: 429, qsType: "too_many_requests", category: catLimit, message: msg,
		retryable: true}
}

func errConflict(msg string) *apiError {
	return &apiError{status: 409, v1Status: 409, qsType: "conflict", code: "invalid_request", category: catLocking,
		message: msg, retryable: true}
}

func errUnprocessable(msg string) *apiError {
	return &apiError{status: 422, v1Status: 422, qsType: "bad_request", code: "invalid_request",
		category: catInvalidValue, message: msg}
}

// errStatus renders an arbitrary HTTP status (fault injection) with the matching type/category.
func errStatus(status int, msg string) *apiError {
	e := &apiError{status: status, v1Status: status, message: msg, code: "invalid_request"}
	switch {
	case status == 401:
		return errUnauthorized(msg)
	case status == 404:
		e.qsType, e.code, e.category = "not_found", "not_found", catNotFound
	case status == 409:
		return errConflict(msg)
	case status == 429:
		return errTooManyRequests(msg)
	case status == 408:
		e.qsType, e.category, e.retryable = "request_timeout", catTemporary, true
	case status == 504:
		e.qsType, e.category, e.retryable = "gateway_timeout", catTemporary, true
	case status >= 500:
		e.qsType, e.category, e.retryable = "internal_server_error", catTemporary, true
		e.code = ""
	case status == 403:
		e.qsType, e.category = "forbidden", catPermission
	default:
		e.qsType, e.category = "bad_request", catInvalidValue
	}
	if msg == "" {
		e.message = http.StatusText(status)
	}
	return e
}

// fail writes e in the envelope of the request's surface, with its Retry-After and WWW-Authenticate headers. It is
// the one writer of error answers: endpoints and middleware stages return an *apiError instead.
func (s *Sim) fail(w http.ResponseWriter, r *http.Request, e *apiError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	if e.challenge {
		w.Header().Set("WWW-Authenticate", wwwAuthenticate)
	}
	switch surfaceOf(r.URL.Path) {
	case surfaceQuickstart:
		writeQuickstartError(w, e)
	case surfaceCRUD:
		writeCRUDError(w, e)
	case surfaceNotifications:
		writeNotificationError(w, e)
	case surfaceAdmin:
		writeJSON(w, e.status, map[string]string{"error": e.message})
	default:
		s.writeV1Error(w, e)
	}
}

// Quickstart: {"type":"bad_request","errors":[{"code","parameter","message"}],"retryable":false}. 401 and 429
// carry an empty errors list, as in the spec's examples.
type qsError struct {
	Code      string `json:"code,omitempty"`
	Parameter string `json:"parameter,omitempty"`
	Message   string `json:"message,omitempty"`
}

type qsErrorBody struct {
	Type      string    `json:"type"`
	Errors    []qsError `json:"errors"`
	Retryable bool      `json:"retryable"`
}

func writeQuickstartError(w http.ResponseWriter, e *apiError) {
	body := qsErrorBody{Type: e.qsType, Errors: []qsError{}, Retryable: e.retryable}
	if e.status != 401 && e.status != 429 {
		body.Errors = append(body.Errors, qsError{Code: e.code, Parameter: e.param, Message: e.message})
	}
	writeJSON(w, e.status, body)
}

// V1: {"success":false,"processId":"...","requestId":"...","reasons":[{"code":50000040,"message":"..."}]}.
type v1Reason struct {
	Code    any    `json:"code"`
	Message string `json:"message"`
}

type v1ErrorBody struct {
	Success   bool       `json:"success"`
	ProcessID string     `json:"processId"`
	RequestID string     `json:"requestId"`
	Reasons   []v1Reason `json:"reasons"`
}

func (s *Sim) writeV1Error(w http.ResponseWriter, e *apiError) {
	var code any = e.v1Code()
	if s.cfg.StringReasonCodes {
		code = strconv.Itoa(e.v1Code())
	}
	writeJSON(w, e.v1Status, v1ErrorBody{
		ProcessID: newProcessID(),
		RequestID: w.Header().Get(hdrRequestID),
		Reasons:   []v1Reason{{Code: code, Message: e.message}},
	})
}

// CRUD: {"Success":false,"Errors":[{"Code":"INVALID_VALUE","Message":"..."}]}, HTTP 200 for business failures.
type crudErrorBody struct {
	Success bool        `json:"Success"`
	Errors  []crudError `json:"Errors"`
}

type crudError struct {
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

func writeCRUDError(w http.ResponseWriter, e *apiError) {
	code := "INVALID_VALUE"
	switch e.category {
	case catMissingField, catMissingParam:
		code = "MISSING_REQUIRED_VALUE"
	case catUnknownField:
		code = "INVALID_FIELD"
	case catNotFound:
		code = "INVALID_ID"
	case catAuthentication, catPermission:
		code = "INVALID_SESSION"
	case catLimit:
		code = "REQUEST_EXCEEDED_LIMIT"
	case catLocking:
		code = "LOCK_COMPETITION"
	case catInternal, catTemporary:
		code = "UNKNOWN_ERROR"
	}
	if e.crudCode != "" {
		code = e.crudCode
	}
	writeJSON(w, e.v1Status, crudErrorBody{Errors: []crudError{{Code: code, Message: e.message}}})
}

// Notifications / event triggers: {"reasons":[{"code":"MissingRequiredField","message":"..."}]} with real statuses.
type notificationErrorBody struct {
	Reasons []notificationReason `json:"reasons"`
}

type notificationReason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeNotificationError(w http.ResponseWriter, e *apiError) {
	code := "InvalidValue"
	switch e.category {
	case catMissingField, catMissingParam:
		code = "MissingRequiredField"
	case catUnknownField:
		code = "UnknownField"
	case catNotFound:
		code = "ObjectNotFound"
	case catAuthentication:
		code = "Unauthorized"
	case catLimit:
		code = "TooManyRequests"
	case catLocking:
		code = "Conflict"
	case catInternal, catTemporary:
		code = "InternalServerError"
	case catMalformed:
		code = "MalformedRequest"
	}
	writeJSON(w, e.status, notificationErrorBody{Reasons: []notificationReason{{Code: code, Message: e.message}}})
}

// writeJSON writes v as the JSON body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only programming errors get here (unsupported types); answer like Zuora's 500.
		http.Error(w, `{"reasons":[{"code":"50000060","message":"internal error"}]}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
