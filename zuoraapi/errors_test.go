package zuoraapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestErrorEnvelopes(t *testing.T) {
	cases := []struct {
		name      string
		method    string
		path      string
		status    int
		header    map[string]string
		body      string
		kind      Kind
		code      string
		param     string
		msg       string
		retry     time.Duration
		temporary bool
	}{
		{name: "v1 200 success false numeric code", method: "POST", path: "/v1/orders", status: 200,
			body: `{"success":false,"processId":"CBCFED6580B4E076","reasons":[{"code":53100320,"message":"'termType' value should be one of: TERMED, EVERGREEN"}]}`,
			kind: KindValidation, code: "53100320", msg: "termType"},
		{name: "v1 200 not found string code", path: "/v1/accounts/A-404", status: 200,
			body: `{"success":false,"reasons":[{"code":"50000040","message":"Cannot find entity by key: 'A-404'."}]}`,
			kind: KindNotFound, code: "50000040", msg: "Cannot find entity"},
		{name: "v1 404", path: "/v1/subscriptions/S-1", status: 404,
			body: `{"success":false,"reasons":[{"code":50000040,"message":"not found"}],"requestId":"11111111-2222-3333-4444-555555555555"}`,
			kind: KindNotFound, code: "50000040"},
		{name: "v1 category 70", method: "POST", path: "/v1/orders", status: 200, header: map[string]string{"Retry-After": "12"},
			body: `{"success":false,"reasons":[{"code":53000070,"message":"request exceeded limit"}]}`,
			kind: KindRateLimited, code: "53000070", retry: 12 * time.Second, temporary: true},
		{name: "v1 lock contention", method: "POST", path: "/v1/orders", status: 200,
			body: `{"success":false,"reasons":[{"code":53100050,"message":"lock competition"}]}`,
			kind: KindTransient, temporary: true},
		{name: "v1 integration error", method: "POST", path: "/v1/payments", status: 200,
			body: `{"success":false,"reasons":[{"code":"58730099","message":"gateway down"}]}`,
			kind: KindTransient, temporary: true},
		{name: "v1 500", path: "/v1/accounts/A", status: 500,
			body: `{"reasons":[{"code":"50000060","message":"internal error"}]}`, kind: KindTransient, temporary: true},
		{name: "v1 429 headers only", path: "/v1/accounts/A", status: 429,
			header: map[string]string{"RateLimit-Limit": "2250000, 50000;w=60", "RateLimit-Remaining": "0", "RateLimit-Reset": "600"},
			kind:   KindRateLimited, retry: 600 * time.Second, temporary: true},
		{name: "CRUD Success false", method: "POST", path: "/v1/object/unit-of-measure", status: 200,
			body: `{"Success":false,"Errors":[{"Code":"INVALID_VALUE","Message":"UOMName already exists"}]}`,
			kind: KindValidation, code: "INVALID_VALUE", msg: "UOMName"},
		{name: "Quickstart 400", method: "POST", path: "/v2/accounts", status: 400,
			body: `{"type":"bad_request","errors":[{"code":"invalid_parameter","parameter":"currency","message":"'currency' length must be between 3 and 3"}],"retryable":false}`,
			kind: KindValidation, code: "invalid_parameter", param: "currency", msg: "length must be"},
		{name: "Quickstart 404", path: "/v2/accounts/nope", status: 404,
			body: `{"type":"not_found","errors":[{"code":"resource_not_found","parameter":"id","message":"Resource nope could not be found"}],"retryable":false}`,
			kind: KindNotFound, code: "resource_not_found", param: "id"},
		{name: "Quickstart 429", path: "/v2/accounts", status: 429, header: map[string]string{"Retry-After": "7"},
			body: `{"type":"too_many_requests","errors":[]}`, kind: KindRateLimited, code: "too_many_requests", retry: 7 * time.Second, temporary: true},
		{name: "Quickstart 502", path: "/v2/accounts", status: 502, body: `{"type":"bad_gateway","errors":[]}`, kind: KindTransient, temporary: true},
		{name: "notifications 400", method: "POST", path: "/events/event-triggers", status: 400,
			body: `{"reasons":[{"code":"MissingRequiredField","message":"eventType is missing"}]}`,
			kind: KindValidation, code: "MissingRequiredField", msg: "eventType is missing"},
		{name: "notifications flat 404", path: "/notifications/notification-definitions/x", status: 404,
			body: `{"code":"404","message":"HTTP 404 Not Found"}`, kind: KindNotFound, code: "404", msg: "HTTP 404 Not Found"},
		{name: "409 idempotent request in progress", method: "POST", path: "/v2/accounts", status: 409,
			body: `{"type":"conflict","errors":[]}`, kind: KindConflict, temporary: true},
		{name: "403", path: "/v1/accounts/A", status: 403, body: `{"success":false,"reasons":[{"code":50000010,"message":"no permission"}]}`,
			kind: KindAuth, temporary: false}, // permission denied: only an administrator can fix it
		{name: "503 html", path: "/v1/accounts/A", status: 503, body: `<html>upstream down</html>`,
			kind: KindTransient, msg: "upstream down", temporary: true},
		{name: "422 idempotency mismatch", method: "POST", path: "/v1/orders", status: 422, body: `{}`, kind: KindValidation},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Zuora-Request-Id", "rid-1")
				if tc.body == "" {
					w.WriteHeader(tc.status)
					return
				}
				writeJSON(w, tc.status, tc.body)
			})
			c := f.client(t)
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			var out map[string]any
			err := c.Do(WithEventID(context.Background(), "evt-1"), Request{Method: method, Path: tc.path, Body: map[string]any{"x": 1}, Step: "s"}, &out)
			var ze *Error
			if !errors.As(err, &ze) {
				t.Fatalf("want *Error, got %v", err)
			}
			if ze.Kind != tc.kind {
				t.Errorf("kind %s, want %s (%v)", ze.Kind, tc.kind, err)
			}
			if tc.code != "" && ze.Code != tc.code {
				t.Errorf("code %q, want %q", ze.Code, tc.code)
			}
			if ze.Parameter != tc.param {
				t.Errorf("parameter %q, want %q", ze.Parameter, tc.param)
			}
			if !strings.Contains(ze.Message, tc.msg) {
				t.Errorf("message %q lacks %q", ze.Message, tc.msg)
			}
			if ze.RetryAfter != tc.retry {
				t.Errorf("retry after %v, want %v", ze.RetryAfter, tc.retry)
			}
			if ze.Temporary() != tc.temporary {
				t.Errorf("temporary %v", ze.Temporary())
			}
			if ze.StatusCode != tc.status || ze.RequestID != "rid-1" || ze.Method != method || ze.Path != tc.path {
				t.Errorf("metadata %+v", ze)
			}
			s := ze.Error()
			for _, want := range []string{method, tc.path, fmt.Sprintf("HTTP %d", tc.status), "rid-1", ze.Code} {
				if !strings.Contains(s, want) {
					t.Errorf("Error() %q lacks %q", s, want)
				}
			}
			if IsNotFound(err) != (tc.kind == KindNotFound) {
				t.Errorf("IsNotFound = %v", IsNotFound(err))
			}
		})
	}
}

func TestV1SuccessTrueDecodes(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"success":true,"orderNumber":"O-1","reasons":[]}`)
	})
	c := f.client(t)
	var out struct {
		OrderNumber string `json:"orderNumber"`
	}
	if err := c.Do(WithEventID(context.Background(), "e"), Request{Method: "POST", Path: "/v1/orders", Body: struct{}{}, Step: "order"}, &out); err != nil {
		t.Fatal(err)
	}
	if out.OrderNumber != "O-1" {
		t.Fatalf("decoded %+v", out)
	}
}

func TestFlexCodeAndJunkBodies(t *testing.T) {
	for _, body := range []string{`[]`, `"x"`, `{"reasons":"nope","errors":5,"success":"false"}`, `{"reasons":[{"code":{"a":1}}]}`, ``} {
		e := newResponseError("GET", "/v1/x", 400, http.Header{}, []byte(body))
		if e.Kind != KindValidation {
			t.Errorf("%q: kind %s", body, e.Kind)
		}
	}
	if reportsFailure([]byte(`{"success":"false"}`)) || !reportsFailure([]byte(`{"Success": false}`)) {
		t.Fatal("reportsFailure")
	}
}

func TestPermissionDeniedIsARejectionButBadCredentialsAreNot(t *testing.T) {
	if !IsRejection(&Error{Kind: KindAuth, StatusCode: 403}) {
		t.Error("403 permission denied must not be retried")
	}
	if !IsRejection(&Error{Kind: KindAuth, StatusCode: 200, Reasons: []Reason{{Code: "50000010"}}}) {
		t.Error("category 10 must not be retried")
	}
	if IsRejection(&Error{Kind: KindAuth, StatusCode: 401}) {
		t.Error("401 stays retryable: fixing the credentials fixes every event")
	}
	if IsRejection(&Error{Kind: KindTransient, StatusCode: 503}) || IsRejection(nil) {
		t.Error("outages are not rejections")
	}
}
