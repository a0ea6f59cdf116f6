package e2e

import (
	"maps"
	"regexp"
	"strings"

	"github.com/zuora-sync/zuora-sync/zuoraapi"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// Zuora calls are counted by method and path class (the path with its subscription or order number left out),
// so a test can hold an operation to the exact calls docs/ARCHITECTURE.md promises for it.
const (
	callRead        = "GET /v1/subscriptions/{number}"
	callListOrders  = "GET /v1/orders/subscription/{number}"
	callCancelOrder = "PUT /v1/orders/{order}/cancel"
	callOrder       = "POST /v1/orders"
	callPreview     = "POST /v1/orders/preview"
	callPreviewNext = "POST /v1/subscriptions/{number}/preview"
	callProduct     = "GET /v2/products/{id}"
	callRatePlans   = "GET /v1/products/{id}/product-rate-plans"
)

var pathClasses = []struct {
	re    *regexp.Regexp
	class string
}{
	{regexp.MustCompile(`^/v1/subscriptions/[^/]+$`), "/v1/subscriptions/{number}"},
	{regexp.MustCompile(`^/v1/subscriptions/[^/]+/preview$`), "/v1/subscriptions/{number}/preview"},
	{regexp.MustCompile(`^/v1/orders/subscription/[^/]+$`), "/v1/orders/subscription/{number}"},
	{regexp.MustCompile(`^/v1/orders/[^/]+/cancel$`), "/v1/orders/{order}/cancel"},
	{regexp.MustCompile(`^/v2/products/[^/]+$`), "/v2/products/{id}"},
	{regexp.MustCompile(`^/v1/products/[^/]+/product-rate-plans$`), "/v1/products/{id}/product-rate-plans"},
}

// callClass names a request by method and path class; a path of no known class stays as it is, so an
// unexpected call is counted under its own name and breaks an exact comparison.
func callClass(r zuorasim.RequestRecord) string {
	for _, c := range pathClasses {
		if c.re.MatchString(r.Path) {
			return r.Method + " " + c.class
		}
	}
	return r.Method + " " + r.Path
}

// callsWhere counts the Zuora requests that match by class, OAuth left out (token renewals are incidental).
func (h *harness) callsWhere(match func(zuorasim.RequestRecord) bool) map[string]int {
	out := map[string]int{}
	for _, r := range h.sim.Requests() {
		if r.Path != "/oauth/token" && match(r) {
			out[callClass(r)]++
		}
	}
	return out
}

// callsOf counts the Zuora requests made while handling one event: they carry its id as Zuora-Track-Id, which
// leaves out the test's own reads and every other event's calls.
func (h *harness) callsOf(eventID string) map[string]int {
	track := zuoraapi.TrackID(eventID)
	return h.callsWhere(func(r zuorasim.RequestRecord) bool { return r.TrackID == track })
}

// rpcCalls counts the Zuora requests made for request/reply previews (track ids "rpc-<uuid>").
func (h *harness) rpcCalls() map[string]int {
	return h.callsWhere(func(r zuorasim.RequestRecord) bool { return strings.HasPrefix(r.TrackID, "rpc-") })
}

// writeCalls counts every request that is not a read.
func (h *harness) writeCalls() map[string]int {
	return h.callsWhere(func(r zuorasim.RequestRecord) bool { return r.Method != "GET" })
}

// wantCalls fails the test unless the calls are exactly want: one call more or less is a regression.
func (h *harness) wantCalls(what string, got, want map[string]int) {
	h.t.Helper()
	if !maps.Equal(got, want) {
		h.t.Errorf("%s: Zuora calls %v, want exactly %v", what, got, want)
	}
}
