package zuoraapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
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

// The notification set-up lists end: before, an answer whose every page linked to a next one made
// ListEventTriggers (and the template and definition lists) loop for as long as the caller's context allowed.
func TestNotificationListsEnd(t *testing.T) {
	page := `{"data":[{"id":"t1","active":true,"condition":"true","eventType":{"name":"e","displayName":"e"}}],"next":"/events/event-triggers?start=50"}`
	c, n := answered(t, http.StatusOK, "application/json", page)
	ctx, cancel := context.WithTimeout(eventCtx("evt-list"), 5*time.Second) // a loop runs into it
	defer cancel()
	_, err := c.ListEventTriggers(ctx, "")
	wantUnknown(t, "a list whose pages all link to the same next page", err)
	if n.Load() != 2 {
		t.Fatalf("%d requests, want 2", n.Load())
	}

	// A server that follows start but never runs out stops at the bound.
	var calls atomic.Int64
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		start, _ := strconv.Atoi(r.URL.Query().Get("start"))
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"data":[{"id":"d%d","name":"n","active":true,"calloutActive":true}],`+
			`"next":"/notifications/notification-definitions?start=%d"}`, start, start+pageLimit))
	})
	_, err = f.client(t).ListNotificationDefinitions(ctx)
	wantUnknown(t, "a list without end", err)
	if calls.Load() != maxNotificationPages {
		t.Fatalf("%d requests, want %d", calls.Load(), maxNotificationPages)
	}
}

// Lists that must be complete report their page bound as a *Error: before, it was a plain error, against the
// package's promise that every failed call returns one.
func TestPageBoundIsAZuoraError(t *testing.T) {
	c, _ := answered(t, http.StatusOK, "application/json",
		`{"success":true,"orders":[{"orderNumber":"O-1","status":"Scheduled"}],"invoiceItems":[{"id":"i1"}],"nextPage":"x"}`)
	_, err := c.ListSubscriptionOrders(eventCtx("evt-pages"), "A-S00000001", OrderStatusScheduled)
	wantUnknown(t, "orders", err)
	_, err = c.ListInvoiceItems(eventCtx("evt-pages"), "INV00000001")
	wantUnknown(t, "invoice items", err)
	// Before, these two stopped quietly at the bound: a catalog sync would then create a rate plan that exists on
	// a later page, and a payment's retry could miss the payment its lost answer made.
	c, _ = answered(t, http.StatusOK, "application/json",
		`{"success":true,"productRatePlans":[{"id":"rp1"}],"payments":[{"id":"p1"}],"nextPage":"/v1/x?page=1"}`)
	_, err = c.ListProductRatePlans(eventCtx("evt-pages"), "P-1")
	wantUnknown(t, "product rate plans", err)
	_, err = c.ListPayments(eventCtx("evt-pages"), PaymentFilter{AccountID: "a1"})
	wantUnknown(t, "payments", err)
}

// A callout history page that links to itself ends the list: before, the client read it 1000 times and returned
// 1000 copies of its entries.
func TestCalloutHistorySelfLinkEnds(t *testing.T) {
	c, n := answered(t, http.StatusOK, "application/json",
		`{"calloutHistories":[{"id":"h1","attemptedNum":"3"}],"nextPage":"/v1/notification-history/callout?page=2"}`)
	hs, err := c.ListCalloutHistory(eventCtx("evt-history"), CalloutHistoryQuery{})
	if err != nil || len(hs) != 2 || n.Load() != 2 {
		t.Fatalf("got %d entries, %v, after %d requests; want page 1 and the page that links to itself, once each", len(hs), err, n.Load())
	}
}

// DescribeFields wants an object description: before, a proxy's well-formed HTML page read as an object
// without fields, so every required custom field seemed to be missing.
func TestDescribeFieldsRefusesAnotherDocument(t *testing.T) {
	c, _ := answered(t, http.StatusOK, "text/html", "<html><head><title>Gateway</title></head><body><h1>Sign in</h1></body></html>")
	fs, err := c.DescribeFields(eventCtx("evt-describe"), "Account")
	if fs != nil {
		t.Fatalf("got fields %v", fs)
	}
	wantUnknown(t, "an HTML page", err)
}

// A Quickstart answer without the object's id ({} or {"success":true} in a 2xx) is an error: a create that
// handed back an empty id would be recorded as the Zuora object of the Stigg one.
func TestQuickstartAnswerWithoutIDIsAnError(t *testing.T) {
	for _, body := range []string{`{}`, `{"success":true}`, `{"name":"Pro"}`} {
		c, _ := answered(t, http.StatusOK, "application/json", body)
		ctx := eventCtx("evt-noid")
		p, err := c.CreateProduct(ctx, "product.create", &ProductCreateRequest{Name: "Pro"})
		if p != nil {
			t.Fatalf("create %s: got product %+v", body, p)
		}
		wantUnknown(t, "create "+body, err)
		a, err := c.GetAccount(ctx, "A-1")
		if a != nil {
			t.Fatalf("get %s: got account %+v", body, a)
		}
		wantUnknown(t, "get "+body, err)
		pr, err := c.UpdatePrice(ctx, "price.update", "p-1", &PricePatch{})
		if pr != nil {
			t.Fatalf("patch %s: got price %+v", body, pr)
		}
		wantUnknown(t, "patch "+body, err)
	}
	c, _ := answered(t, http.StatusOK, "application/json", `{"id":"8ad0","name":"Pro"}`)
	if p, err := c.CreateProduct(eventCtx("evt-id"), "product.create", &ProductCreateRequest{Name: "Pro"}); err != nil || p.ID != "8ad0" {
		t.Fatalf("an answer with its id: %+v %v", p, err)
	}
}
