package zuorasim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The admin surface is a contract (docs/CONTRACT.md): other services' tests call these routes with these bodies.
func TestAdminSurfaceContract(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	call := func(method, path, body string) (int, map[string]any, []any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var obj map[string]any
		var list []any
		if json.Unmarshal(b, &obj) != nil {
			_ = json.Unmarshal(b, &list)
		}
		return resp.StatusCode, obj, list
	}

	code, state, _ := call("GET", "/_sim/state", "")
	if code != 200 {
		t.Fatalf("state: %d", code)
	}
	for _, k := range []string{"accounts", "products", "plans", "prices", "productRatePlanCharges", "unitsOfMeasure",
		"subscriptions", "orders", "invoices", "payments", "paymentMethods", "usageRecords", "eventTriggers",
		"calloutTemplates", "notificationDefinitions", "customObjectDefinitions", "calloutHistory"} {
		if _, ok := state[k].([]any); !ok {
			t.Errorf("state has no list %q", k)
		}
	}
	code, fault, _ := call("POST", "/_sim/faults", `{"method":"POST","pathPrefix":"/v2/accounts","status":503,"times":2,"retryAfter":3,"latency":"5ms"}`)
	if code != 201 || fault["id"] == "" {
		t.Fatalf("add fault: %d %v", code, fault)
	}
	if code, _, list := call("GET", "/_sim/faults", ""); code != 200 || len(list) != 1 {
		t.Fatalf("list faults: %d %v", code, list)
	}
	if code, body, _ := call("POST", "/_sim/faults", `{"truncate":true,"status":500}`); code != 400 || body["error"] == nil {
		t.Fatalf("invalid fault: %d %v", code, body)
	}
	if code, _, _ := call("DELETE", "/_sim/faults/"+fault["id"].(string), ""); code != 204 {
		t.Fatalf("delete fault: %d", code)
	}
	if code, body, _ := call("DELETE", "/_sim/faults/nope", ""); code != 404 || body["error"] == nil {
		t.Fatalf("delete unknown fault: %d %v", code, body)
	}
	if code, _, _ := call("DELETE", "/_sim/faults", ""); code != 204 {
		t.Fatalf("clear faults: %d", code)
	}
	_, before, _ := call("GET", "/_sim/clock", "")
	if code, after, _ := call("POST", "/_sim/clock/advance", `{"seconds": 86400}`); code != 200 || after["now"] == before["now"] {
		t.Fatalf("advance: %d %v → %v", code, before, after)
	}
	if code, body, _ := call("POST", "/_sim/clock/advance", `{"seconds": -1}`); code != 400 || body["error"] == nil {
		t.Fatalf("negative advance: %d %v", code, body)
	}
	if code, lim, _ := call("PUT", "/_sim/limits", `{"requestsPerMinute":60}`); code != 200 || lim["requestsPerMinute"] != float64(60) {
		t.Fatalf("limits: %d %v", code, lim)
	}
	if code, _, _ := call("POST", "/_sim/custom-fields", `{"object":"Account","name":"region__c"}`); code != 204 {
		t.Fatalf("custom field: %d", code)
	}
	if code, term, _ := call("POST", "/_sim/payment-terms", `{"name":"Net 7","dueDays":7}`); code != 201 || term["name"] != "Net 7" {
		t.Fatalf("payment term: %d %v", code, term)
	}
	if code, _, _ := call("POST", "/_sim/tokens/expire", ""); code != 204 {
		t.Fatalf("expire tokens: %d", code)
	}
	if code, _, list := call("GET", "/_sim/requests", ""); code != 200 || list == nil {
		t.Fatalf("requests: %d", code)
	}
	if code, _, _ := call("DELETE", "/_sim/requests", ""); code != 204 {
		t.Fatalf("clear requests: %d", code)
	}
	if code, _, list := call("GET", "/_sim/notifications", ""); code != 200 || list == nil {
		t.Fatalf("notifications: %d", code)
	}
	if code, _, _ := call("POST", "/_sim/reset", ""); code != 204 {
		t.Fatalf("reset: %d", code)
	}
	if code, body, _ := call("GET", "/_sim/nope", ""); code != 404 || body["error"] == nil {
		t.Fatalf("unknown admin route: %d %v", code, body)
	}
	if code, body, _ := call("PUT", "/_sim/limits", `{"unknown":1}`); code != 400 || body["error"] == nil {
		t.Fatalf("unknown field: %d %v", code, body)
	}
}
