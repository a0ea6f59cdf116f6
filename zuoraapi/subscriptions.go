package zuoraapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// Subscriptions: V1 GET /v1/subscriptions/{subscription-key} (GETSubscriptionByKeyWithSuccess) and
// POST /v1/subscriptions/{subscription-key}/preview, Quickstart GET /v2/subscriptions/{subscription_id}.

// V1 subscription statuses.
const (
	SubscriptionStatusDraft             = "Draft"
	SubscriptionStatusPendingActivation = "Pending Activation"
	SubscriptionStatusPendingAcceptance = "Pending Acceptance"
	SubscriptionStatusActive            = "Active"
	SubscriptionStatusCancelled         = "Cancelled"
	SubscriptionStatusSuspended         = "Suspended"
	SubscriptionStatusExpired           = "Expired"
)

// RatePlanChangeRemove is a rate plan's lastChangeType once a RemoveProduct has applied to it. Removed rate
// plans stay in the V1 read (their charges end on the removal date), so comparisons must skip them.
const RatePlanChangeRemove = "Remove"

// SubscriptionV1 is the V1 view of a subscription. Custom fields (`*__c`) appear inline on the subscription,
// its rate plans and its charges, and are collected into the CustomFields maps.
type SubscriptionV1 struct {
	Success                   bool                     `json:"success"`
	ID                        string                   `json:"id"`
	SubscriptionNumber        string                   `json:"subscriptionNumber"`
	Status                    string                   `json:"status"`
	Version                   int                      `json:"version"`
	Revision                  string                   `json:"revision,omitempty"`
	IsLatestVersion           *bool                    `json:"isLatestVersion,omitempty"`
	AccountID                 string                   `json:"accountId"`
	AccountNumber             string                   `json:"accountNumber"`
	AccountName               string                   `json:"accountName,omitempty"`
	InvoiceOwnerAccountID     string                   `json:"invoiceOwnerAccountId,omitempty"`
	InvoiceOwnerAccountNumber string                   `json:"invoiceOwnerAccountNumber,omitempty"`
	Currency                  string                   `json:"currency,omitempty"`
	OrderNumber               string                   `json:"orderNumber,omitempty"`
	Notes                     string                   `json:"notes,omitempty"`
	TermType                  string                   `json:"termType"` // TERMED | EVERGREEN
	AutoRenew                 bool                     `json:"autoRenew"`
	InitialTerm               int                      `json:"initialTerm,omitempty"`
	InitialTermPeriodType     string                   `json:"initialTermPeriodType,omitempty"`
	CurrentTerm               int                      `json:"currentTerm,omitempty"`
	CurrentTermPeriodType     string                   `json:"currentTermPeriodType,omitempty"`
	RenewalTerm               int                      `json:"renewalTerm,omitempty"`
	RenewalTermPeriodType     string                   `json:"renewalTermPeriodType,omitempty"`
	RenewalSetting            string                   `json:"renewalSetting,omitempty"`
	ContractEffectiveDate     string                   `json:"contractEffectiveDate,omitempty"`
	ServiceActivationDate     string                   `json:"serviceActivationDate,omitempty"`
	CustomerAcceptanceDate    string                   `json:"customerAcceptanceDate,omitempty"`
	SubscriptionStartDate     string                   `json:"subscriptionStartDate,omitempty"`
	SubscriptionEndDate       string                   `json:"subscriptionEndDate,omitempty"`
	TermStartDate             string                   `json:"termStartDate,omitempty"`
	TermEndDate               string                   `json:"termEndDate,omitempty"`
	ScheduledCancelDate       string                   `json:"scheduledCancelDate,omitempty"`
	CancelReason              string                   `json:"cancelReason,omitempty"`
	ContractedMrr             *Amount                  `json:"contractedMrr,omitempty"`
	TotalContractedValue      *Amount                  `json:"totalContractedValue,omitempty"`
	RatePlans                 []SubscriptionRatePlanV1 `json:"ratePlans,omitempty"`
	CustomFields              map[string]any           `json:"-"`
}

// UnmarshalJSON decodes the named fields and gathers the inline custom fields.
func (s *SubscriptionV1) UnmarshalJSON(data []byte) error {
	type plain SubscriptionV1
	if err := json.Unmarshal(data, (*plain)(s)); err != nil {
		return err
	}
	return gatherCustomFields(data, &s.CustomFields)
}

// CurrentRatePlans returns the rate plans that have not been removed.
func (s *SubscriptionV1) CurrentRatePlans() []SubscriptionRatePlanV1 {
	var out []SubscriptionRatePlanV1
	for _, rp := range s.RatePlans {
		if !rp.Removed() {
			out = append(out, rp)
		}
	}
	return out
}

// SubscriptionRatePlanV1 is one rate plan of a V1 subscription (GETSubscriptionRatePlanType). ID changes with
// every subscription version; UpdateProduct and RemoveProduct need the one from the latest version.
type SubscriptionRatePlanV1 struct {
	ID                string                 `json:"id"`
	ProductID         string                 `json:"productId,omitempty"`
	ProductName       string                 `json:"productName,omitempty"`
	ProductSku        string                 `json:"productSku,omitempty"`
	ProductRatePlanID string                 `json:"productRatePlanId"`
	RatePlanName      string                 `json:"ratePlanName,omitempty"`
	LastChangeType    string                 `json:"lastChangeType,omitempty"` // Add | Update | Remove; empty when unchanged since creation
	RatePlanCharges   []SubscriptionChargeV1 `json:"ratePlanCharges,omitempty"`
	CustomFields      map[string]any         `json:"-"`
}

// UnmarshalJSON decodes the named fields and gathers the inline custom fields.
func (rp *SubscriptionRatePlanV1) UnmarshalJSON(data []byte) error {
	type plain SubscriptionRatePlanV1
	if err := json.Unmarshal(data, (*plain)(rp)); err != nil {
		return err
	}
	return gatherCustomFields(data, &rp.CustomFields)
}

// Removed reports whether a RemoveProduct has applied to the rate plan.
func (rp *SubscriptionRatePlanV1) Removed() bool { return rp.LastChangeType == RatePlanChangeRemove }

// SubscriptionChargeV1 is one rate plan charge of a V1 subscription (GETSubscriptionRatePlanChargesType).
// Quantity and Price are absent for models without them (a flat fee has no quantity; tiered charges price in
// Tiers), hence pointers.
type SubscriptionChargeV1 struct {
	ID                      string               `json:"id"`
	Number                  string               `json:"number"`
	OriginalChargeID        string               `json:"originalChargeId,omitempty"`
	ProductRatePlanChargeID string               `json:"productRatePlanChargeId"`
	Name                    string               `json:"name,omitempty"`
	Type                    string               `json:"type,omitempty"`  // Recurring | Usage | OneTime
	Model                   string               `json:"model,omitempty"` // FlatFee | PerUnit | Tiered | Volume | ...
	Quantity                *Amount              `json:"quantity,omitempty"`
	Price                   *Amount              `json:"price,omitempty"`
	Tiers                   []SubscriptionTierV1 `json:"tiers,omitempty"`
	Currency                string               `json:"currency,omitempty"`
	UOM                     string               `json:"uom,omitempty"`
	BillingPeriod           string               `json:"billingPeriod,omitempty"`
	BillingTiming           string               `json:"billingTiming,omitempty"`
	ListPriceBase           string               `json:"listPriceBase,omitempty"`
	TriggerEvent            string               `json:"triggerEvent,omitempty"`
	TriggerDate             string               `json:"triggerDate,omitempty"`
	ChargedThroughDate      string               `json:"chargedThroughDate,omitempty"`
	ProcessedThroughDate    string               `json:"processedThroughDate,omitempty"`
	EffectiveStartDate      string               `json:"effectiveStartDate,omitempty"`
	EffectiveEndDate        string               `json:"effectiveEndDate,omitempty"`
	MRR                     *Amount              `json:"mrr,omitempty"`
	TCV                     *Amount              `json:"tcv,omitempty"`
	Segment                 int                  `json:"segment,omitempty"`
	Version                 int                  `json:"version,omitempty"`
	PricingSummary          string               `json:"pricingSummary,omitempty"`
	CustomFields            map[string]any       `json:"-"`
}

// UnmarshalJSON decodes the named fields and gathers the inline custom fields.
func (ch *SubscriptionChargeV1) UnmarshalJSON(data []byte) error {
	type plain SubscriptionChargeV1
	if err := json.Unmarshal(data, (*plain)(ch)); err != nil {
		return err
	}
	return gatherCustomFields(data, &ch.CustomFields)
}

// SubscriptionTierV1 is one tier of a subscription charge (GETTierType).
type SubscriptionTierV1 struct {
	Tier         int     `json:"tier"`
	StartingUnit *Amount `json:"startingUnit,omitempty"`
	EndingUnit   *Amount `json:"endingUnit,omitempty"`
	Price        *Amount `json:"price,omitempty"`
	PriceFormat  string  `json:"priceFormat,omitempty"`
}

// GetSubscriptionV1 fetches the latest version of a subscription by number or id
// (GET /v1/subscriptions/{subscription-key}).
func (c *Client) GetSubscriptionV1(ctx context.Context, key string) (*SubscriptionV1, error) {
	var out SubscriptionV1
	if err := c.Do(ctx, Request{Path: "/v1/subscriptions/" + url.PathEscape(key)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ---- preview of an existing subscription ----

// Preview date policies (PreviewStartDatePolicy, PreviewThruDatePolicy).
const (
	PreviewStartStartOfTerm          = "startOfTerm"
	PreviewStartToday                = "today"
	PreviewStartSpecificDate         = "specificDate"
	PreviewThroughNextBillingPeriods = "nextBillingPeriods"
	PreviewThroughEndOfTerm          = "endOfTerm"
	PreviewThroughSpecificDate       = "specificDate"
)

// SubscriptionPreviewRequest is the body of POST /v1/subscriptions/{subscription-key}/preview
// (PreviewExistingSubscriptionRequest).
type SubscriptionPreviewRequest struct {
	PreviewStartDate        *PreviewStartDate     `json:"previewStartDate,omitempty"`
	PreviewThroughDate      *PreviewThroughDate   `json:"previewThroughDate,omitempty"`
	QuantityForUsageCharges []UsageChargeQuantity `json:"quantityForUsageCharges,omitempty"`
	SkipTax                 *bool                 `json:"skipTax,omitempty"`
}

// PreviewStartDate says where the preview starts; SpecificDate with the specificDate policy.
type PreviewStartDate struct {
	PreviewStartDatePolicy string `json:"previewStartDatePolicy,omitempty"`
	SpecificDate           string `json:"specificDate,omitempty"`
}

// PreviewThroughDate says where the preview ends: a number of billing periods, the term end or a date.
type PreviewThroughDate struct {
	PreviewThruDatePolicy string `json:"previewThruDatePolicy,omitempty"`
	NextBillingPeriods    int    `json:"nextBillingPeriods,omitempty"`
	SpecificDate          string `json:"specificDate,omitempty"`
}

// UsageChargeQuantity is an assumed usage quantity for one usage charge of the preview.
type UsageChargeQuantity struct {
	ChargeID string `json:"chargeId"`
	Quantity Amount `json:"quantity"`
}

// SubscriptionPreviewResponse is PreviewExistingSubscriptionResponse.
type SubscriptionPreviewResponse struct {
	Success     bool                     `json:"success"`
	Invoices    []SubscriptionPreviewDoc `json:"invoices,omitempty"`
	CreditMemos []SubscriptionPreviewDoc `json:"creditMemos,omitempty"`
}

// SubscriptionPreviewDoc is one previewed invoice or credit memo; the number is set only for a document that
// exists already (IsFromExistingInvoice / IsFromExistingCreditMemo).
type SubscriptionPreviewDoc struct {
	InvoiceNumber            string                    `json:"invoiceNumber,omitempty"`
	CreditMemoNumber         string                    `json:"creditMemoNumber,omitempty"`
	Amount                   Amount                    `json:"amount"`
	AmountWithoutTax         Amount                    `json:"amountWithoutTax"`
	TaxAmount                Amount                    `json:"taxAmount"`
	TargetDate               string                    `json:"targetDate,omitempty"`
	Status                   string                    `json:"status,omitempty"`
	IsFromExistingInvoice    bool                      `json:"isFromExistingInvoice,omitempty"`
	IsFromExistingCreditMemo bool                      `json:"isFromExistingCreditMemo,omitempty"`
	InvoiceItems             []SubscriptionPreviewItem `json:"invoiceItems,omitempty"`
	CreditMemoItems          []SubscriptionPreviewItem `json:"creditMemoItems,omitempty"`
}

// SubscriptionPreviewItem is one previewed item.
type SubscriptionPreviewItem struct {
	ServiceStartDate        string  `json:"serviceStartDate,omitempty"`
	ServiceEndDate          string  `json:"serviceEndDate,omitempty"`
	AmountWithoutTax        Amount  `json:"amountWithoutTax"`
	TaxAmount               Amount  `json:"taxAmount"`
	UnitPrice               *Amount `json:"unitPrice,omitempty"`
	Quantity                *Amount `json:"quantity,omitempty"`
	UnitOfMeasure           string  `json:"unitOfMeasure,omitempty"`
	ChargeName              string  `json:"chargeName,omitempty"`
	ChargeNumber            string  `json:"chargeNumber,omitempty"`
	ChargeDescription       string  `json:"chargeDescription,omitempty"`
	ProductName             string  `json:"productName,omitempty"`
	ProductRatePlanChargeID string  `json:"productRatePlanChargeId,omitempty"`
	ProcessingType          string  `json:"processingType,omitempty"` // Charge | Discount | Tax
}

// PreviewSubscription previews the billing documents of an existing subscription
// (POST /v1/subscriptions/{subscription-key}/preview), e.g. its next invoice.
func (c *Client) PreviewSubscription(ctx context.Context, step, key string, req *SubscriptionPreviewRequest) (*SubscriptionPreviewResponse, error) {
	if req == nil {
		req = &SubscriptionPreviewRequest{}
	}
	var out SubscriptionPreviewResponse
	err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/v1/subscriptions/" + url.PathEscape(key) + "/preview",
		Body: req, Step: step}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ---- Quickstart ----

// Subscription is a Quickstart subscription (`subscription` schema). SubscriptionPlans is present when asked
// for with expand "subscription_plans" (and its items with "subscription_plans.subscription_items").
type Subscription struct {
	ID                    string                `json:"id"`
	SubscriptionNumber    string                `json:"subscription_number"`
	State                 string                `json:"state"` // draft | pending_activation | pending_acceptance | active | expired | canceled | paused
	Version               int                   `json:"version,omitempty"`
	LatestVersion         *bool                 `json:"latest_version,omitempty"`
	AccountID             string                `json:"account_id"`
	InvoiceOwnerAccountID string                `json:"invoice_owner_account_id,omitempty"`
	Currency              string                `json:"currency,omitempty"`
	Description           string                `json:"description,omitempty"`
	OrderNumber           string                `json:"order_number,omitempty"`
	AutoRenew             bool                  `json:"auto_renew"`
	InitialTerm           *SubscriptionTerm     `json:"initial_term,omitempty"`
	CurrentTerm           *SubscriptionTerm     `json:"current_term,omitempty"`
	RenewalTerm           *SubscriptionTerm     `json:"renewal_term,omitempty"`
	StartDate             string                `json:"start_date,omitempty"`
	EndDate               string                `json:"end_date,omitempty"`
	ContractEffective     string                `json:"contract_effective,omitempty"`
	ServiceActivation     string                `json:"service_activation,omitempty"`
	CustomerAcceptance    string                `json:"customer_acceptance,omitempty"`
	InvoiceSeparately     bool                  `json:"invoice_separately,omitempty"`
	ContractedMrr         *Amount               `json:"contracted_mrr,omitempty"` // a string in the spec
	CancelReason          string                `json:"cancel_reason,omitempty"`
	PaymentTerms          string                `json:"payment_terms,omitempty"`
	BillToID              string                `json:"bill_to_id,omitempty"`
	SoldToID              string                `json:"sold_to_id,omitempty"`
	SubscriptionPlans     *SubscriptionPlanList `json:"subscription_plans,omitempty"`
	CustomFields          map[string]any        `json:"custom_fields,omitempty"`
	CreatedTime           string                `json:"created_time,omitempty"`
	UpdatedTime           string                `json:"updated_time,omitempty"`
}

// SubscriptionTerm is a Quickstart term.
type SubscriptionTerm struct {
	Type          string `json:"type,omitempty"`     // termed | evergreen
	Interval      string `json:"interval,omitempty"` // day | week | month | year
	IntervalCount int    `json:"interval_count,omitempty"`
	StartDate     string `json:"start_date,omitempty"`
	EndDate       string `json:"end_date,omitempty"`
}

// SubscriptionPlanList is an expanded subscription_plans list.
type SubscriptionPlanList struct {
	Data     []SubscriptionPlan `json:"data"`
	NextPage string             `json:"next_page,omitempty"`
}

// SubscriptionPlan is a Quickstart subscription plan (a V1 subscription rate plan).
type SubscriptionPlan struct {
	ID                     string                `json:"id"`
	SubscriptionPlanNumber string                `json:"subscription_plan_number,omitempty"`
	Name                   string                `json:"name,omitempty"`
	SubscriptionID         string                `json:"subscription_id,omitempty"`
	ProductID              string                `json:"product_id,omitempty"`
	PlanID                 string                `json:"plan_id,omitempty"`
	SubscriptionItems      *SubscriptionItemList `json:"subscription_items,omitempty"`
	CustomFields           map[string]any        `json:"custom_fields,omitempty"`
}

// SubscriptionItemList is an expanded subscription_items list.
type SubscriptionItemList struct {
	Data     []SubscriptionItem `json:"data"`
	NextPage string             `json:"next_page,omitempty"`
}

// SubscriptionItem is a Quickstart subscription item (a V1 rate plan charge).
type SubscriptionItem struct {
	ID                     string                 `json:"id"`
	SubscriptionItemNumber string                 `json:"subscription_item_number,omitempty"`
	Name                   string                 `json:"name,omitempty"`
	Description            string                 `json:"description,omitempty"`
	SubscriptionPlanID     string                 `json:"subscription_plan_id,omitempty"`
	ProductID              string                 `json:"product_id,omitempty"`
	PriceID                string                 `json:"price_id,omitempty"`
	State                  string                 `json:"state,omitempty"` // inactive | active | expired
	Active                 *bool                  `json:"active,omitempty"`
	ChargeModel            string                 `json:"charge_model,omitempty"`
	ChargeType             string                 `json:"charge_type,omitempty"`
	UnitOfMeasure          string                 `json:"unit_of_measure,omitempty"`
	Quantity               *Amount                `json:"quantity,omitempty"`
	Amount                 *Amount                `json:"amount,omitempty"`
	UnitAmount             *Amount                `json:"unit_amount,omitempty"`
	TiersMode              string                 `json:"tiers_mode,omitempty"`
	Tiers                  []SubscriptionItemTier `json:"tiers,omitempty"`
	Recurring              *SubscriptionRecurring `json:"recurring,omitempty"`
	StartEvent             string                 `json:"start_event,omitempty"`
	StartDate              string                 `json:"start_date,omitempty"`
	EndDate                string                 `json:"end_date,omitempty"`
	ChargedThroughDate     string                 `json:"charged_through_date,omitempty"`
	ProcessedThroughDate   string                 `json:"processed_through_date,omitempty"`
	CustomFields           map[string]any         `json:"custom_fields,omitempty"`
}

// SubscriptionItemTier is an item tier (ItemTier).
type SubscriptionItemTier struct {
	UpTo       *Amount `json:"up_to,omitempty"`
	Amount     *Amount `json:"amount,omitempty"`
	UnitAmount *Amount `json:"unit_amount,omitempty"`
}

// SubscriptionRecurring is an item's recurring settings.
type SubscriptionRecurring struct {
	Interval      string `json:"interval,omitempty"` // month | year | week | term | day
	IntervalCount int    `json:"interval_count,omitempty"`
	Usage         bool   `json:"usage,omitempty"`
	Timing        string `json:"timing,omitempty"` // in_advance | in_arrears
}

// Items returns the items of all expanded plans.
func (s *Subscription) Items() []SubscriptionItem {
	if s.SubscriptionPlans == nil {
		return nil
	}
	var out []SubscriptionItem
	for _, p := range s.SubscriptionPlans.Data {
		if p.SubscriptionItems != nil {
			out = append(out, p.SubscriptionItems.Data...)
		}
	}
	return out
}

// GetSubscription fetches a Quickstart subscription by id or number (GET /v2/subscriptions/{subscription_id});
// expand names related objects to include, e.g. "subscription_plans", "subscription_plans.subscription_items".
func (c *Client) GetSubscription(ctx context.Context, id string, expand ...string) (*Subscription, error) {
	var q url.Values
	if len(expand) > 0 {
		q = url.Values{"expand[]": expand}
	}
	var out Subscription
	if err := c.Do(ctx, Request{Path: "/v2/subscriptions/" + url.PathEscape(id), Query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
