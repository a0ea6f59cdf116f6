package zuorasim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The notification set-up of the tenant (custom object definitions, custom event triggers, callout templates,
// notification definitions) and the callout history, in the store like every other collection. Each resource has
// its file: custom_objects.go, notification_triggers.go, notification_templates.go, notification_definitions.go,
// callout_history.go; the delivery of callouts is callout_changes.go (what a state change fires) and
// callout_delivery.go (the HTTP sends, off the store lock).

type notificationStore struct {
	objects     []*customObjectDefinition // creation order
	triggers    []*eventTrigger
	templates   []*calloutTemplate
	definitions []*notificationDefinition
	history     []*calloutRecord
	historyByID map[string]*calloutRecord
}

func newNotificationStore() notificationStore {
	return notificationStore{historyByID: map[string]*calloutRecord{}}
}

// simUserUUID is the simulator's user in the notification APIs, whose createdBy/updatedBy are uuids.
const simUserUUID = "7a1c2e5d-0b9f-4d6e-8c3a-1b2c3d4e5f60"

func newUUID() string { return uuid.NewString() }

// notifTime renders a simulated time as the notification APIs' date-time.
func notifTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// errNotifInvalid is a 400 of the notification surface ({"reasons":[{"code":"InvalidValue",...}]}).
func errNotifInvalid(format string, args ...any) *apiError {
	e := errInvalid("", format, args...)
	e.status = http.StatusBadRequest
	return e
}

// withStatus sets the HTTP status of an error on every surface (V1 included, where refusals are 200 by default).
func (e *apiError) withStatus(status int) *apiError { e.status, e.v1Status = status, status; return e }

func errNotifMissing(field string) *apiError {
	e := errMissing(field)
	e.message = field + " is missing"
	return e
}

// decodeNotifBody reads a JSON object body; the notification APIs answer a malformed one with 400.
func decodeNotifBody(r *http.Request, v any) *apiError {
	body, err := readBody(r)
	if err != nil {
		return errMalformed(err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return errNotifInvalid("the request body is empty")
	}
	if e := decodeJSONLoose(body, v); e != nil {
		e.status = http.StatusBadRequest
		return e
	}
	return nil
}

// pageParams reads start/limit query parameters and returns the offset of the first row. start is the index of
// the first row counted from base: 0 for event triggers (the spec's default and minimum), 1 for callout templates
// and notification definitions (the spec's default; start=0 is read as the first row too) [inferred]. limit is
// bounded by maxLimit (0: unbounded).
func pageParams(r *http.Request, base, defLimit, maxLimit int) (offset, limit int, e *apiError) {
	q := r.URL.Query()
	start, limit := base, defLimit
	if v := q.Get("start"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, errNotifInvalid("start must be a non-negative integer")
		}
		start = max(n, base)
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || (maxLimit > 0 && n > maxLimit) {
			return 0, 0, errNotifInvalid("limit must be a positive integer (at most %d)", max(maxLimit, n))
		}
		limit = n
	}
	return start - base, limit, nil
}

// pageOf cuts one page out of rows and says where the next one starts ("" when this is the last).
func pageOf[T any](r *http.Request, rows []T, offset, limit, base int) ([]T, string) {
	if offset > len(rows) {
		offset = len(rows)
	}
	end := min(offset+limit, len(rows))
	next := ""
	if end < len(rows) {
		q := r.URL.Query()
		q.Set("start", strconv.Itoa(end+base))
		q.Set("limit", strconv.Itoa(limit))
		next = r.URL.Path + "?" + q.Encode()
	}
	out := make([]T, 0, end-offset)
	return append(out, rows[offset:end]...), next
}

// notifPage is the notification APIs' list shape.
type notifPage[T any] struct {
	Data []T    `json:"data"`
	Next string `json:"next,omitempty"`
}

// checkCalloutURL applies Zuora's rule for calloutBaseurl: at least 10 characters, https. The simulator also
// allows http://127.0.0.1… and http://localhost… (its documented allowance, so a local receiver works without a
// certificate). Merge fields may appear in the URL.
func checkCalloutURL(field, raw string) *apiError {
	if len(raw) < 10 {
		return errNotifInvalid("%s must be at least 10 characters", field)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errNotifInvalid("%s is not a valid URL: %q", field, raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && (strings.HasPrefix(raw, "http://127.0.0.1") || strings.HasPrefix(raw, "http://localhost")):
	default:
		return errNotifInvalid("%s must use https (the simulator also accepts http://127.0.0.1 and http://localhost): %q", field, raw)
	}
	return nil
}

var calloutMethods = map[string]bool{"POST": true, "GET": true, "PUT": true, "PATCH": true, "DELETE": true}

// What a callout template and a definition's inline callout share: prefix names the members in messages ("" for a
// template, "callout." for an inline callout).

// applyCalloutTarget validates and applies httpMethod and calloutBaseurl onto method and baseURL.
func applyCalloutTarget(prefix string, method, baseURL *string, inMethod, inBaseURL *string) *apiError {
	if inMethod != nil {
		if !calloutMethods[*inMethod] {
			return errNotifInvalid("%shttpMethod must be one of POST, GET, PUT, PATCH, DELETE", prefix)
		}
		*method = *inMethod
	}
	if inBaseURL != nil {
		if e := checkCalloutURL(prefix+"calloutBaseurl", *inBaseURL); e != nil {
			return e
		}
		*baseURL = *inBaseURL
	}
	return nil
}

// applyCalloutAuth applies calloutAuth onto auth (a masked password keeps the stored one, so a read-modify-write
// keeps the secret) and checks that requiredAuth has a username.
func applyCalloutAuth(prefix string, auth **CalloutAuth, in *CalloutAuth, required bool) *apiError {
	if in != nil {
		a := *in
		if a.Password == maskedSecret && *auth != nil {
			a.Password = (*auth).Password
		}
		*auth = &a
	}
	if required && (*auth == nil || (*auth).Username == "") {
		return errNotifInvalid("%srequiredAuth needs calloutAuth with a username and password", prefix)
	}
	return nil
}

// maskedAuth is a copy of a for answers, its password masked (Zuora does not echo secrets).
func maskedAuth(a *CalloutAuth) *CalloutAuth {
	if a == nil {
		return nil
	}
	c := *a
	if c.Password != "" {
		c.Password = maskedSecret
	}
	return &c
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}
