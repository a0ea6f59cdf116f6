package zuoraapi

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
)

// Regression tests: 2xx answers that passed for successes, and lists that never ended.
// answered is a fake Zuora that gives every API request the same answer, and counts them.
func answered(t *testing.T, status int, ctype, body string) (*Client, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
	return f.client(t), &n
}

// wantUnknown asserts err is a *Error of Kind Unknown that does not count as Zuora's refusal.
func wantUnknown(t *testing.T, what string, err error) {
	t.Helper()
	e, ok := AsError(err)
	if !ok || e.Kind != KindUnknown || e.Refused() || e.Permanent() {
		t.Fatalf("%s: got %T %v, want a *Error of kind unknown that is neither refused nor permanent", what, err, err)
	}
}

// An answer without a body is not an object: before, CreateProduct answered 201 with nothing returned a
// Product whose ID was "", which the catalog handler would have recorded as the Zuora product.
func TestAnswerWithoutBodyIsAnError(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
	}{{http.StatusCreated, ""}, {http.StatusOK, "null"}, {http.StatusOK, " \n"}, {http.StatusNoContent, ""}} {
		c, _ := answered(t, tc.status, "application/json", tc.body)
		p, err := c.CreateProduct(eventCtx("evt-empty"), "product.create", &ProductCreateRequest{Name: "Pro"})
		if p != nil {
			t.Fatalf("%d %q: got product %+v", tc.status, tc.body, p)
		}
		wantUnknown(t, fmt.Sprintf("%d %q", tc.status, tc.body), err)
	}
	// A call that expects nothing still takes nothing.
	c, _ := answered(t, http.StatusNoContent, "application/json", "")
	if err := c.DeleteUsageRecord(eventCtx("evt-empty"), "8ad0"); err != nil {
		t.Fatalf("DELETE answered 204: %v", err)
	}
}

// A body that is not JSON is an error even when the caller discards it: before, CancelOrder took a cut-off
// success:false, or a proxy's page, for a cancelled order.
func TestAnswerThatIsNotJSONIsAnError(t *testing.T) {
	for _, body := range []string{
		`{"success":false,"processId":"3F7EA3FD706C7E7C","reasons":[{"code":5`,
		"<html><body>Sign in</body></html>",
	} {
		c, _ := answered(t, http.StatusOK, "text/html", body)
		wantUnknown(t, body, c.CancelOrder(eventCtx("evt-cancel"), "O-00000001", "replaced"))
	}
	c, _ := answered(t, http.StatusOK, "application/json", `{"success":true,"orderNumber":"O-00000001","status":"Cancelled"}`)
	if err := c.CancelOrder(eventCtx("evt-cancel"), "O-00000001", "replaced"); err != nil {
		t.Fatalf("a cancellation Zuora confirmed: %v", err)
	}
}
