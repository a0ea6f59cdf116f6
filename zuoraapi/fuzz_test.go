package zuoraapi

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Every answer Zuora (or a proxy in between) may send decodes into a classified *Error without panicking: any
// body — one of the four envelopes, HTML, cut off, binary — any status, any Retry-After.
func FuzzResponseError(f *testing.F) {
	f.Add(400, `{"success":false,"reasons":[{"code":53100020,"message":"bad"}]}`, "")
	f.Add(429, `{"message":"slow down"}`, "7")
	f.Add(404, `{"type":"not_found","errors":[{"code":"resource_not_found","message":"no","field":"id"}]}`, "")
	f.Add(200, `{"Success":false,"Errors":[{"Code":"INVALID_VALUE","Message":"x"}]}`, "")
	f.Add(503, `<html><body>Service Unavailable</body></html>`, "Tue, 01 Dec 2026 18:00:00 GMT")
	f.Add(500, `{"reasons":[{"code":{"nested":true}}]`, "-3")
	f.Fuzz(func(t *testing.T, status int, body, retryAfter string) {
		status = 200 + abs(status)%400
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		e := newResponseError(http.MethodPost, "/v2/accounts", status, h, []byte(body))
		if e == nil || e.StatusCode != status || e.Error() == "" || !strings.Contains(e.Error(), "/v2/accounts") {
			t.Fatalf("error %#v for %d %q", e, status, body)
		}
		// The header parser's bound (a week); the limiter caps the pause it takes from it further (MaxPause).
		if e.RetryAfter < 0 || e.RetryAfter > 7*24*time.Hour {
			t.Fatalf("Retry-After %q became %s", retryAfter, e.RetryAfter)
		}
		if e.Kind < KindUnknown || e.Kind > KindConflict || e.Kind.String() == "" {
			t.Fatalf("kind %d", e.Kind)
		}
		_ = e.Permanent()
		_ = e.Refused()
		_ = e.Unavailable()
	})
}

func abs(n int) int {
	if n < 0 {
		if n == -n { // the smallest int
			return 0
		}
		return -n
	}
	return n
}
