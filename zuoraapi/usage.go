package zuoraapi

import (
	"context"
	"net/http"
	"net/url"
)

// Quickstart (v2) usage records: GET/POST /v2/usage_records and GET/PATCH/DELETE /v2/usage_records/{id}, snake_case
// fields as in the Quickstart spec's `usage`, `usageCreateRequest` and `usagePatchRequest` schemas.
//
// A usage record belongs to an account, a subscription and one of its usage charges, which Quickstart calls a
// subscription item (SubscriptionItem.ID; SubscriptionItem.PriceID is the product rate plan charge). Zuora
// rates the pending records of a billing period once the period has been billed, and they become processed;
// only pending records can be updated or deleted. Quantities are exact decimals (Amount). Times are RFC 3339
// date-times, e.g. "2024-05-01T00:00:00Z".

// Usage record states.
const (
	UsageStatePending   = "pending"
	UsageStateProcessed = "processed"
)

// UsageRecord is a Quickstart usage record (`usage`).
type UsageRecord struct {
	ID                     string         `json:"id"`
	AccountID              string         `json:"account_id,omitempty"`
	AccountNumber          string         `json:"account_number,omitempty"`
	SubscriptionID         string         `json:"subscription_id,omitempty"`
	SubscriptionNumber     string         `json:"subscription_number,omitempty"`
	SubscriptionItemID     string         `json:"subscription_item_id,omitempty"`
	SubscriptionItemNumber string         `json:"subscription_item_number,omitempty"`
	Quantity               Amount         `json:"quantity"`
	StartTime              string         `json:"start_time,omitempty"`
	EndTime                string         `json:"end_time,omitempty"`
	UnitOfMeasure          string         `json:"unit_of_measure,omitempty"`
	Description            string         `json:"description,omitempty"`
	State                  string         `json:"state,omitempty"` // pending | processed
	CustomFields           map[string]any `json:"custom_fields,omitempty"`
	CreatedTime            string         `json:"created_time,omitempty"`
	UpdatedTime            string         `json:"updated_time,omitempty"`
}

// Pending reports whether Zuora has not processed (rated) the record yet, so it can still change.
func (u *UsageRecord) Pending() bool { return u.State == UsageStatePending }

// UsageRecordCreateRequest is the body of POST /v2/usage_records: Quantity, StartTime and UnitOfMeasure are
// required, and AccountID or AccountNumber. The subscription is named by SubscriptionID or SubscriptionNumber
// and the usage charge by SubscriptionItemID or SubscriptionItemNumber; Zuora matches a record without a
// subscription item to the subscription's usage charge in its unit of measure.
type UsageRecordCreateRequest struct {
	AccountID              string         `json:"account_id,omitempty"`
	AccountNumber          string         `json:"account_number,omitempty"`
	SubscriptionID         string         `json:"subscription_id,omitempty"`
	SubscriptionNumber     string         `json:"subscription_number,omitempty"`
	SubscriptionItemID     string         `json:"subscription_item_id,omitempty"`
	SubscriptionItemNumber string         `json:"subscription_item_number,omitempty"`
	Quantity               Amount         `json:"quantity"`
	StartTime              string         `json:"start_time"`
	EndTime                string         `json:"end_time,omitempty"`
	UnitOfMeasure          string         `json:"unit_of_measure"`
	Description            string         `json:"description,omitempty"`
	CustomFields           map[string]any `json:"custom_fields,omitempty"`
}

// UsageRecordPatch is the body of PATCH /v2/usage_records/{id}: nil fields are not sent, so only what changed
// is updated. CustomFields carries only the changed keys. The account, subscription and item cannot change.
type UsageRecordPatch struct {
	Quantity      *Amount        `json:"quantity,omitempty"`
	StartTime     *string        `json:"start_time,omitempty"`
	EndTime       *string        `json:"end_time,omitempty"`
	UnitOfMeasure *string        `json:"unit_of_measure,omitempty"`
	CustomFields  map[string]any `json:"custom_fields,omitempty"`
}

// IsEmpty reports whether the patch would change nothing (callers then skip the call).
func (p *UsageRecordPatch) IsEmpty() bool { return p == nil || emptyJSON(p) }

// CreateUsageRecord creates a usage record (POST /v2/usage_records); it starts pending.
func (c *Client) CreateUsageRecord(ctx context.Context, step string, req *UsageRecordCreateRequest) (*UsageRecord, error) {
	return qsCreate[UsageRecord](c, ctx, step, "/v2/usage_records", req)
}

// GetUsageRecord fetches a usage record by id (GET /v2/usage_records/{id}); expand names related objects to
// include ("account", "subscription", "subscription_item"), which UsageRecord does not decode.
func (c *Client) GetUsageRecord(ctx context.Context, id string, expand ...string) (*UsageRecord, error) {
	return qsGet[UsageRecord](c, ctx, "/v2/usage_records", id, expand)
}

// UpdateUsageRecord sends only the fields set in patch (PATCH /v2/usage_records/{id}). Zuora refuses to change
// a processed record (a validation error).
func (c *Client) UpdateUsageRecord(ctx context.Context, step, id string, patch *UsageRecordPatch) (*UsageRecord, error) {
	return qsPatch[UsageRecord](c, ctx, step, "/v2/usage_records", id, patch)
}

// DeleteUsageRecord deletes a pending usage record (DELETE /v2/usage_records/{id}). A delete sends no
// Idempotency-Key (it is idempotent by nature): repeated after a lost answer it fails with not found
// (IsNotFound), which the caller can take as done.
func (c *Client) DeleteUsageRecord(ctx context.Context, id string) error {
	return c.Do(ctx, Request{Method: http.MethodDelete, Path: "/v2/usage_records/" + url.PathEscape(id)}, nil)
}

// ListUsageRecords lists the usage records matching all filters, in Quickstart filter syntax, e.g.
// "subscription_number.EQ:A-S00000001", "subscription_item_id.EQ:8ad0…", "state.EQ:pending" or
// "start_time.GE:2024-05-01T00:00:00Z". It follows next_page up to a bound, so filters should be narrow.
func (c *Client) ListUsageRecords(ctx context.Context, filters ...string) ([]UsageRecord, error) {
	return qsFind[UsageRecord](c, ctx, "/v2/usage_records", filters)
}
