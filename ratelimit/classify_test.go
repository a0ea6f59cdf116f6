package ratelimit

import (
	"net/http/httptest"
	"testing"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		method, path string
		class        Class
		surface      Surface
	}{
		{"POST", "/oauth/token", ClassAuth, "oauth"},
		{"GET", "/v2/accounts?filter[]=x", ClassObjectQuery, "v2-accounts"},
		{"PATCH", "/v2/accounts/abc", ClassObjectQuery, "v2-accounts"},
		{"POST", "/v2/usage_records", ClassObjectQuery, "v2-usage_records"},
		{"GET", "/v1/accounts/A-1", ClassDefault, "v1-accounts"},
		{"POST", "/v1/accounts", ClassHighVolume, "v1-accounts"},
		{"POST", "/v1/orders", ClassHighVolume, "v1-orders"},
		{"POST", "/v1/orders/preview", ClassHighVolume, "v1-orders"},
		{"PUT", "/v1/orders/O-1/cancel", ClassDefault, "v1-orders"},
		{"GET", "/v1/orders/subscription/S-1", ClassDefault, "v1-orders"},
		{"POST", "/v1/rsa-signatures", ClassHighVolume, "v1-rsa-signatures"},
		{"POST", "/v1/payments", ClassHighVolume, "v1-payments"},
		{"POST", "/v1/subscriptions/S-1/preview", ClassHighVolume, "v1-subscriptions"},
		{"GET", "/v1/subscriptions/S-1", ClassDefault, "v1-subscriptions"},
		{"GET", "/v1/settings/payment-terms", ClassDefault, "v1-settings"},
		{"POST", "/v1/object/unit-of-measure", ClassDefault, "v1-object"},
		{"POST", "/notifications/callout-templates", ClassDefault, "notifications"},
		{"POST", "/events/event-triggers", ClassDefault, "events"},
		{"GET", "/", ClassDefault, "other"},
		{"GET", "/v1/%E2%9C%93", ClassDefault, "v1-other"},
	}
	for _, c := range cases {
		req := httptest.NewRequest(c.method, "http://zuora.test"+c.path, nil)
		cl, s := Classify(req)
		if cl != c.class || s != c.surface {
			t.Errorf("%s %s = %s %s, want %s %s", c.method, c.path, cl, s, c.class, c.surface)
		}
	}
}
