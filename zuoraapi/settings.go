package zuoraapi

import (
	"bytes"
	"context"
	"encoding/json"
)

// PaymentTerm is one entry of the Settings API's payment terms. GET /v1/settings/payment-terms is not in the
// OpenAPI specs; the shape follows Zuora's Settings API documentation ({"paymentTerms":[...]}), so fields the
// tenant does not send simply stay zero.
type PaymentTerm struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Active      bool   `json:"active"`
	Type        string `json:"type,omitempty"` // e.g. "DAYS" (net) or a prox variant
	DueDays     int    `json:"dueDays"`
	UseDefault  bool   `json:"useDefault,omitempty"`
}

// paymentTermsResponse accepts both shapes seen in Zuora's Settings API material: a bare array and an object
// wrapping it in "paymentTerms". Which one a tenant sends is not pinned down by a spec, so the reader is lenient.
type paymentTermsResponse struct {
	PaymentTerms []PaymentTerm `json:"paymentTerms"`
}

func (r *paymentTermsResponse) UnmarshalJSON(b []byte) error {
	if trimmed := bytes.TrimSpace(b); len(trimmed) > 0 && trimmed[0] == '[' {
		return json.Unmarshal(trimmed, &r.PaymentTerms)
	}
	type wrapped paymentTermsResponse
	return json.Unmarshal(b, (*wrapped)(r))
}

// ListPaymentTerms returns the tenant's payment terms (GET /v1/settings/payment-terms).
func (c *Client) ListPaymentTerms(ctx context.Context) ([]PaymentTerm, error) {
	var out paymentTermsResponse
	if err := c.Do(ctx, Request{Path: "/v1/settings/payment-terms"}, &out); err != nil {
		return nil, err
	}
	return out.PaymentTerms, nil
}
