package zuoraapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The product catalog. Products, plans and prices go through Quickstart (v2, snake_case as in the Quickstart
// spec's `product`, `plan`, `price` and their create/patch schemas). Charges are created through the V1 CRUD
// API (PascalCase, ProxyCreateProductRatePlanCharge) because only the V1 charge carries the whole
// configuration, and read back through V1 REST (camelCase). A Quickstart price is the same Zuora object as a
// V1 charge and has the same id.
//
// Money and quantities are Amount: exact decimal text written as JSON numbers (see amount.go).

// ---- Quickstart products ----

// Product is a Quickstart product.
type Product struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	SKU          string            `json:"sku,omitempty"`
	Description  string            `json:"description,omitempty"`
	Type         string            `json:"type,omitempty"` // base, add_on, other
	StartDate    string            `json:"start_date,omitempty"`
	EndDate      string            `json:"end_date,omitempty"`
	Active       bool              `json:"active"`
	CustomFields map[string]string `json:"custom_fields,omitempty"`
	Plans        *PlanList         `json:"plans,omitempty"` // only with expand[]=plans
	CreatedTime  string            `json:"created_time,omitempty"`
	UpdatedTime  string            `json:"updated_time,omitempty"`
}

// Quickstart product types.
const (
	ProductTypeBase  = "base"
	ProductTypeAddOn = "add_on"
	ProductTypeOther = "other"
)

// ProductCreateRequest is the body of POST /v2/products; name is required. The spec calls the effective dates
// start_date/end_date (YYYY-MM-DD). Custom field values are strings in the Quickstart spec.
type ProductCreateRequest struct {
	Name         string            `json:"name"`
	SKU          string            `json:"sku,omitempty"`
	Description  string            `json:"description,omitempty"`
	Type         string            `json:"type,omitempty"`
	StartDate    string            `json:"start_date,omitempty"`
	EndDate      string            `json:"end_date,omitempty"`
	CustomFields map[string]string `json:"custom_fields,omitempty"`
}

// ProductPatch is the body of PATCH /v2/products/{id}: nil fields are not sent; CustomFields carries only
// the changed keys.
type ProductPatch struct {
	Name         *string           `json:"name,omitempty"`
	SKU          *string           `json:"sku,omitempty"`
	Description  *string           `json:"description,omitempty"`
	Type         *string           `json:"type,omitempty"`
	StartDate    *string           `json:"start_date,omitempty"`
	EndDate      *string           `json:"end_date,omitempty"`
	CustomFields map[string]string `json:"custom_fields,omitempty"`
}

// IsEmpty reports whether the patch would change nothing (callers then skip the call).
func (p *ProductPatch) IsEmpty() bool { return p == nil || emptyJSON(p) }

// CreateProduct creates a product (POST /v2/products).
func (c *Client) CreateProduct(ctx context.Context, step string, req *ProductCreateRequest) (*Product, error) {
	return qsCreate[Product](c, ctx, step, "/v2/products", req)
}

// GetProduct fetches a product by id (GET /v2/products/{product_id}); expand may name "plans" or
// "plans.prices". To find a product by SKU, use FindProducts("sku.EQ:...").
func (c *Client) GetProduct(ctx context.Context, id string, expand ...string) (*Product, error) {
	return qsGet[Product](c, ctx, "/v2/products", id, expand)
}

// UpdateProduct sends only the fields set in patch (PATCH /v2/products/{product_id}).
func (c *Client) UpdateProduct(ctx context.Context, step, id string, patch *ProductPatch) (*Product, error) {
	return qsPatch[Product](c, ctx, step, "/v2/products", id, patch)
}

// FindProducts lists the products matching all filters (Quickstart filter syntax, e.g. "sku.EQ:SKU-PRO"
// or "planCode__c.EQ:pro"), following next_page up to a bound.
func (c *Client) FindProducts(ctx context.Context, filters ...string) ([]Product, error) {
	return qsFind[Product](c, ctx, "/v2/products", filters)
}

// ---- Quickstart plans ----

// Plan is a Quickstart plan (a V1 product rate plan).
type Plan struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	PlanNumber       string            `json:"plan_number,omitempty"`
	Description      string            `json:"description,omitempty"`
	ProductID        string            `json:"product_id,omitempty"`
	StartDate        string            `json:"start_date,omitempty"`
	EndDate          string            `json:"end_date,omitempty"`
	ActiveCurrencies []string          `json:"active_currencies,omitempty"`
	Active           bool              `json:"active"`
	CustomFields     map[string]string `json:"custom_fields,omitempty"`
	Prices           *PriceList        `json:"prices,omitempty"` // only with expand[]=prices
	CreatedTime      string            `json:"created_time,omitempty"`
	UpdatedTime      string            `json:"updated_time,omitempty"`
}

// PlanCreateRequest is the body of POST /v2/plans; product_id and name are required.
type PlanCreateRequest struct {
	ProductID        string            `json:"product_id"`
	Name             string            `json:"name"`
	PlanNumber       string            `json:"plan_number,omitempty"`
	Description      string            `json:"description,omitempty"`
	ActiveCurrencies []string          `json:"active_currencies,omitempty"`
	StartDate        string            `json:"start_date,omitempty"`
	EndDate          string            `json:"end_date,omitempty"`
	CustomFields     map[string]string `json:"custom_fields,omitempty"`
}

// PlanPatch is the body of PATCH /v2/plans/{plan_id}: nil fields are not sent. ActiveCurrencies, when non-nil,
// replaces the list.
type PlanPatch struct {
	Name             *string           `json:"name,omitempty"`
	PlanNumber       *string           `json:"plan_number,omitempty"`
	Description      *string           `json:"description,omitempty"`
	ActiveCurrencies []string          `json:"active_currencies,omitempty"`
	StartDate        *string           `json:"start_date,omitempty"`
	EndDate          *string           `json:"end_date,omitempty"`
	CustomFields     map[string]string `json:"custom_fields,omitempty"`
}

// IsEmpty reports whether the patch would change nothing.
func (p *PlanPatch) IsEmpty() bool { return p == nil || emptyJSON(p) }

// PlanList is one page of GET /v2/plans (also a product's expanded `plans`).
type PlanList struct {
	Data     []Plan `json:"data"`
	NextPage string `json:"next_page"`
}

// CreatePlan creates a plan under a product (POST /v2/plans).
func (c *Client) CreatePlan(ctx context.Context, step string, req *PlanCreateRequest) (*Plan, error) {
	return qsCreate[Plan](c, ctx, step, "/v2/plans", req)
}

// GetPlan fetches a plan by id (GET /v2/plans/{plan_id}); expand may name "prices" or "product".
func (c *Client) GetPlan(ctx context.Context, id string, expand ...string) (*Plan, error) {
	return qsGet[Plan](c, ctx, "/v2/plans", id, expand)
}

// UpdatePlan sends only the fields set in patch (PATCH /v2/plans/{plan_id}).
func (c *Client) UpdatePlan(ctx context.Context, step, id string, patch *PlanPatch) (*Plan, error) {
	return qsPatch[Plan](c, ctx, step, "/v2/plans", id, patch)
}

// FindPlans lists the plans matching all filters, e.g. "product_id.EQ:<id>", following next_page up to a bound.
func (c *Client) FindPlans(ctx context.Context, filters ...string) ([]Plan, error) {
	return qsFind[Plan](c, ctx, "/v2/plans", filters)
}

// ---- Quickstart prices ----

// PriceTier is one tier of a Quickstart price: UpTo nil = open-ended; Amounts are flat prices for the tier
// and UnitAmounts per-unit prices, both by currency.
type PriceTier struct {
	UpTo        *Amount           `json:"up_to,omitempty"`
	Amounts     map[string]Amount `json:"amounts,omitempty"`
	UnitAmounts map[string]Amount `json:"unit_amounts,omitempty"`
}

// PriceRecurring is a price's `recurring` object (billing interval and timing). Readers should use RecurringOn;
// On is its deprecated spelling, which some responses still carry.
type PriceRecurring struct {
	RecurringOn           string `json:"recurring_on,omitempty"`
	On                    string `json:"on,omitempty"`
	Usage                 *bool  `json:"usage,omitempty"`
	Interval              string `json:"interval,omitempty"` // month, year, week, term, day
	IntervalCount         *int   `json:"interval_count,omitempty"`
	AlignmentBehavior     string `json:"alignment_behavior,omitempty"`
	Timing                string `json:"timing,omitempty"` // in_advance, in_arrears
	DurationInterval      string `json:"duration_interval,omitempty"`
	DurationIntervalCount *int   `json:"duration_interval_count,omitempty"`
	RatingGroup           string `json:"rating_group,omitempty"`
}

// Price is a Quickstart price (the same Zuora object as a V1 product rate plan charge).
type Price struct {
	ID                              string            `json:"id"`
	Name                            string            `json:"name"`
	Description                     string            `json:"description,omitempty"`
	PlanID                          string            `json:"plan_id,omitempty"`
	ChargeType                      string            `json:"charge_type,omitempty"`  // one_time, recurring, usage
	ChargeModel                     string            `json:"charge_model,omitempty"` // e.g. flat_fee, per_unit, tiered, volume
	Recurring                       *PriceRecurring   `json:"recurring,omitempty"`
	StartEvent                      string            `json:"start_event,omitempty"`
	TiersMode                       string            `json:"tiers_mode,omitempty"`
	Tiers                           []PriceTier       `json:"tiers,omitempty"`
	UnitOfMeasure                   string            `json:"unit_of_measure,omitempty"`
	Quantity                        *Amount           `json:"quantity,omitempty"`
	MinQuantity                     *Amount           `json:"min_quantity,omitempty"`
	MaxQuantity                     *Amount           `json:"max_quantity,omitempty"`
	Amounts                         map[string]Amount `json:"amounts,omitempty"`
	UnitAmounts                     map[string]Amount `json:"unit_amounts,omitempty"`
	DiscountAmounts                 map[string]Amount `json:"discount_amounts,omitempty"`
	DiscountPercent                 *Amount           `json:"discount_percent,omitempty"`
	PriceBaseInterval               string            `json:"price_base_interval,omitempty"`
	AccountingCode                  string            `json:"accounting_code,omitempty"`
	RecognizedRevenueAccountingCode string            `json:"recognized_revenue_accounting_code,omitempty"`
	DeferredRevenueAccountingCode   string            `json:"deferred_revenue_accounting_code,omitempty"`
	RevenueRecognitionRule          string            `json:"revenue_recognition_rule,omitempty"`
	TaxCode                         string            `json:"tax_code,omitempty"`
	TaxInclusive                    *bool             `json:"tax_inclusive,omitempty"`
	Taxable                         *bool             `json:"taxable,omitempty"`
	CustomFields                    map[string]string `json:"custom_fields,omitempty"`
	CreatedTime                     string            `json:"created_time,omitempty"`
	UpdatedTime                     string            `json:"updated_time,omitempty"`
}

// PricePatch is the body of PATCH /v2/prices/{price_id} (pricePatchRequest): nil fields are not sent. Maps
// (Amounts, UnitAmounts, DiscountAmounts) carry only the currencies to change; Tiers, when non-nil, replaces
// all tiers and, per the spec, needs TiersMode alongside. Charge model and charge type are not patchable: a
// price whose model changed has to be replaced, not patched. Prepayment, drawdown, overage and discount
// settings are left out because the integration does not manage them.
type PricePatch struct {
	Name                            *string           `json:"name,omitempty"`
	Description                     *string           `json:"description,omitempty"`
	AccountingCode                  *string           `json:"accounting_code,omitempty"`
	RecognizedRevenueAccountingCode *string           `json:"recognized_revenue_accounting_code,omitempty"`
	DeferredRevenueAccountingCode   *string           `json:"deferred_revenue_accounting_code,omitempty"`
	Recurring                       *PriceRecurring   `json:"recurring,omitempty"`
	StartEvent                      *string           `json:"start_event,omitempty"`
	TiersMode                       *string           `json:"tiers_mode,omitempty"`
	Tiers                           []PriceTier       `json:"tiers,omitempty"`
	UnitOfMeasure                   *string           `json:"unit_of_measure,omitempty"`
	Quantity                        *Amount           `json:"quantity,omitempty"`
	MinQuantity                     *Amount           `json:"min_quantity,omitempty"`
	MaxQuantity                     *Amount           `json:"max_quantity,omitempty"`
	Amounts                         map[string]Amount `json:"amounts,omitempty"`
	UnitAmounts                     map[string]Amount `json:"unit_amounts,omitempty"`
	DiscountAmounts                 map[string]Amount `json:"discount_amounts,omitempty"`
	DiscountPercent                 *Amount           `json:"discount_percent,omitempty"`
	PriceBaseInterval               *string           `json:"price_base_interval,omitempty"`
	RevenueRecognitionRule          *string           `json:"revenue_recognition_rule,omitempty"`
	TaxCode                         *string           `json:"tax_code,omitempty"`
	TaxInclusive                    *bool             `json:"tax_inclusive,omitempty"`
	Taxable                         *bool             `json:"taxable,omitempty"`
	PriceChangeOption               *string           `json:"price_change_option,omitempty"`
	PriceChangePercentage           *Amount           `json:"price_change_percentage,omitempty"`
	PriceIncreaseOption             *bool             `json:"price_increase_option,omitempty"`
	CustomFields                    map[string]string `json:"custom_fields,omitempty"`
}

// IsEmpty reports whether the patch would change nothing.
func (p *PricePatch) IsEmpty() bool { return p == nil || emptyJSON(p) }

// PriceList is one page of GET /v2/prices (also a plan's expanded `prices`).
type PriceList struct {
	Data     []Price `json:"data"`
	NextPage string  `json:"next_page"`
}

// GetPrice fetches a price by id (GET /v2/prices/{price_id}); the id is the V1 charge id.
func (c *Client) GetPrice(ctx context.Context, id string) (*Price, error) {
	return qsGet[Price](c, ctx, "/v2/prices", id, nil)
}

// UpdatePrice sends only the fields set in patch (PATCH /v2/prices/{price_id}).
func (c *Client) UpdatePrice(ctx context.Context, step, id string, patch *PricePatch) (*Price, error) {
	return qsPatch[Price](c, ctx, step, "/v2/prices", id, patch)
}

// FindPrices lists the prices matching all filters, e.g. "plan_id.EQ:<id>", following next_page up to a bound.
func (c *Client) FindPrices(ctx context.Context, filters ...string) ([]Price, error) {
	return qsFind[Price](c, ctx, "/v2/prices", filters)
}

// ---- V1 charges (CRUD create, REST read) ----

// ChargeTier is one ProductRatePlanChargeTier of a CRUD create: Price is the tier's price, per unit or flat
// according to PriceFormat. The spec's tier has no tier number; Zuora orders tiers as listed.
type ChargeTier struct {
	Currency       string  `json:"Currency"`
	Price          Amount  `json:"Price"`
	StartingUnit   *Amount `json:"StartingUnit,omitempty"`
	EndingUnit     *Amount `json:"EndingUnit,omitempty"`
	PriceFormat    string  `json:"PriceFormat,omitempty"` // "Flat Fee" | "Per Unit"; tiered and volume models only
	IsOveragePrice *bool   `json:"IsOveragePrice,omitempty"`
}

// ChargeTierData wraps the tiers as the CRUD body nests them. Non-tiered models still send one entry per
// currency holding the price.
type ChargeTierData struct {
	ProductRatePlanChargeTier []ChargeTier `json:"ProductRatePlanChargeTier"`
}

// ChargeCreateRequest is the body of POST /v1/object/product-rate-plan-charge (ProxyCreateProductRatePlanCharge).
// Required by the spec: ProductRatePlanID, Name, ChargeModel, ChargeType, BillingPeriod, BillCycleType,
// TriggerEvent, ProductRatePlanChargeTierData and UseDiscountSpecificAccountingCode (always sent; it only
// matters for discount charges). CreateCharge fills BillCycleType (DefaultFromCustomer) and TriggerEvent
// (ContractEffective) when empty. CustomFields (`*__c`) are sent inline, as CRUD bodies carry them.
type ChargeCreateRequest struct {
	ProductRatePlanID                 string         `json:"ProductRatePlanId"`
	Name                              string         `json:"Name"`
	ChargeModel                       string         `json:"ChargeModel"`
	ChargeType                        string         `json:"ChargeType"`
	BillingPeriod                     string         `json:"BillingPeriod"`
	BillCycleType                     string         `json:"BillCycleType"`
	TriggerEvent                      string         `json:"TriggerEvent"`
	UseDiscountSpecificAccountingCode bool           `json:"UseDiscountSpecificAccountingCode"`
	ProductRatePlanChargeTierData     ChargeTierData `json:"ProductRatePlanChargeTierData"`

	Description                 string  `json:"Description,omitempty"`
	ProductRatePlanChargeNumber string  `json:"ProductRatePlanChargeNumber,omitempty"`
	AccountingCode              string  `json:"AccountingCode,omitempty"`
	DeferredRevenueAccount      string  `json:"DeferredRevenueAccount,omitempty"`
	RecognizedRevenueAccount    string  `json:"RecognizedRevenueAccount,omitempty"`
	BillingTiming               string  `json:"BillingTiming,omitempty"` // "In Advance" | "In Arrears"
	BillingPeriodAlignment      string  `json:"BillingPeriodAlignment,omitempty"`
	ListPriceBase               string  `json:"ListPriceBase,omitempty"`
	UOM                         string  `json:"UOM,omitempty"`
	DefaultQuantity             *Amount `json:"DefaultQuantity,omitempty"`
	MinQuantity                 *Amount `json:"MinQuantity,omitempty"`
	MaxQuantity                 *Amount `json:"MaxQuantity,omitempty"`
	IncludedUnits               *Amount `json:"IncludedUnits,omitempty"`
	RatingGroup                 string  `json:"RatingGroup,omitempty"`
	UsageRecordRatingOption     string  `json:"UsageRecordRatingOption,omitempty"`
	EndDateCondition            string  `json:"EndDateCondition,omitempty"`
	RevenueRecognitionRuleName  string  `json:"RevenueRecognitionRuleName,omitempty"`
	TaxCode                     string  `json:"TaxCode,omitempty"`
	TaxMode                     string  `json:"TaxMode,omitempty"`
	Taxable                     *bool   `json:"Taxable,omitempty"`

	CustomFields map[string]any `json:"-"`
}

// MarshalJSON writes the named fields and the custom fields side by side.
func (r ChargeCreateRequest) MarshalJSON() ([]byte, error) {
	type plain ChargeCreateRequest
	b, err := json.Marshal(plain(r))
	if err != nil || len(r.CustomFields) == 0 {
		return b, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	for k, v := range r.CustomFields {
		if _, clash := all[k]; clash {
			continue // a named field wins over a custom field that reuses its name
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		all[k] = raw
	}
	return json.Marshal(all)
}

// crudCreateResponse is ProxyCreateOrModifyResponse. Failures ({Success:false, Errors:[...]}) never get here:
// Do turns them into *Error.
type crudCreateResponse struct {
	Success bool   `json:"Success"`
	ID      string `json:"Id"`
}

// CreateCharge creates a product rate plan charge (POST /v1/object/product-rate-plan-charge) and returns its id.
// A CRUD failure is a *Error with Kind Validation and the CRUD code (e.g. INVALID_VALUE) in Code.
func (c *Client) CreateCharge(ctx context.Context, step string, req *ChargeCreateRequest) (string, error) {
	body := *req
	if body.BillCycleType == "" {
		body.BillCycleType = BillCycleTypeDefaultFromCustomer
	}
	if body.TriggerEvent == "" {
		body.TriggerEvent = TriggerEventContractEffective
	}
	return c.crudCreate(ctx, step, "/v1/object/product-rate-plan-charge", body)
}

func (c *Client) crudCreate(ctx context.Context, step, path string, body any) (string, error) {
	var out crudCreateResponse
	if err := c.Do(ctx, Request{Method: http.MethodPost, Path: path, Body: body, Step: step}, &out); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", &Error{Kind: KindUnknown, StatusCode: http.StatusOK, Method: http.MethodPost, Path: path,
			Message: "CRUD create answered without an Id"}
	}
	return out.ID, nil
}

// ChargePricingTier is one tier of a charge as read back.
type ChargePricingTier struct {
	Tier         int     `json:"tier,omitempty"`
	Currency     string  `json:"currency,omitempty"`
	StartingUnit *Amount `json:"startingUnit,omitempty"`
	EndingUnit   *Amount `json:"endingUnit,omitempty"`
	Price        *Amount `json:"price,omitempty"`
	PriceFormat  string  `json:"priceFormat,omitempty"`
}

// ChargePricingTiers decodes a tier list leniently: GETRatePlanChargePricing in the V1 spec types `tiers` as
// an array of arrays of tiers (GETRatePlanChargePricingTier is itself an array), while the list endpoint's
// GETProductRatePlanChargePricingTierType, and Zuora's documentation, show a flat array of tier objects.
// Both shapes, and null, are accepted; nested arrays are flattened in order.
type ChargePricingTiers []ChargePricingTier

// UnmarshalJSON accepts [tier...], [[tier...]...] and null.
func (t *ChargePricingTiers) UnmarshalJSON(b []byte) error {
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		return err
	}
	if items == nil {
		return nil
	}
	out := ChargePricingTiers{}
	for _, it := range items {
		if trimmed := strings.TrimSpace(string(it)); strings.HasPrefix(trimmed, "[") {
			var inner []ChargePricingTier
			if err := json.Unmarshal(it, &inner); err != nil {
				return err
			}
			out = append(out, inner...)
			continue
		}
		var one ChargePricingTier
		if err := json.Unmarshal(it, &one); err != nil {
			return err
		}
		out = append(out, one)
	}
	*t = out
	return nil
}

// ChargePricing is a charge's price in one currency. Price is set for flat-fee and per-unit models; tiered
// and volume models carry Tiers instead.
type ChargePricing struct {
	Currency           string             `json:"currency"`
	Price              *Amount            `json:"price,omitempty"`
	Tiers              ChargePricingTiers `json:"tiers,omitempty"`
	IncludedUnits      *Amount            `json:"includedUnits,omitempty"`
	OveragePrice       *Amount            `json:"overagePrice,omitempty"`
	DiscountAmount     *Amount            `json:"discountAmount,omitempty"`
	DiscountPercentage *Amount            `json:"discountPercentage,omitempty"`
}

// ChargeFinanceInformation holds the accounting codes of a charge as read back.
type ChargeFinanceInformation struct {
	DeferredRevenueAccountingCode    string `json:"deferredRevenueAccountingCode,omitempty"`
	RecognizedRevenueAccountingCode  string `json:"recognizedRevenueAccountingCode,omitempty"`
	AccountsReceivableAccountingCode string `json:"accountsReceivableAccountingCode,omitempty"`
}

// Charge is a product rate plan charge as V1 REST reads it: GET /v1/product-rate-plan-charges/{key}
// (GETProductRatePlanChargeResponse) and the charges inside GET /v1/products/{key}/product-rate-plans
// (GETProductRatePlanChargeType). The two schemas overlap; fields only one of them has are noted. Enum
// spellings differ from the CRUD create (see ChargeModelRead, BillingTimingRead). Neither read returns the
// CRUD AccountingCode; use the Quickstart price's accounting_code for that.
type Charge struct {
	ID                          string                    `json:"id"`
	Name                        string                    `json:"name"`
	Type                        string                    `json:"type"`  // OneTime, Recurring, Usage
	Model                       string                    `json:"model"` // FlatFee, PerUnit, Tiered, Volume, ...
	UOM                         string                    `json:"uom,omitempty"`
	BillingPeriod               string                    `json:"billingPeriod,omitempty"`
	BillingDay                  string                    `json:"billingDay,omitempty"`
	BillingTiming               string                    `json:"billingTiming,omitempty"` // IN_ADVANCE, IN_ARREARS
	BillingPeriodAlignment      string                    `json:"billingPeriodAlignment,omitempty"`
	ListPriceBase               string                    `json:"listPriceBase,omitempty"`
	TriggerEvent                string                    `json:"triggerEvent,omitempty"`
	EndDateCondition            string                    `json:"endDateCondition,omitempty"`
	DefaultQuantity             *Amount                   `json:"defaultQuantity,omitempty"`
	MinQuantity                 *Amount                   `json:"minQuantity,omitempty"`   // list endpoint only
	MaxQuantity                 *Amount                   `json:"maxQuantity,omitempty"`   // list endpoint only
	IncludedUnits               *Amount                   `json:"includedUnits,omitempty"` // list endpoint only
	Pricing                     []ChargePricing           `json:"pricing,omitempty"`
	PricingSummary              []string                  `json:"pricingSummary,omitempty"`
	ProductRatePlanChargeNumber string                    `json:"productRatePlanChargeNumber,omitempty"`
	RatingGroup                 string                    `json:"ratingGroup,omitempty"`
	UsageRecordRatingOption     string                    `json:"usageRecordRatingOption,omitempty"`
	RecognizedRevenueAccount    string                    `json:"recognizedRevenueAccount,omitempty"` // GET only
	RevenueRecognitionRuleName  string                    `json:"revenueRecognitionRuleName,omitempty"`
	FinanceInformation          *ChargeFinanceInformation `json:"financeInformation,omitempty"`
	TaxCode                     string                    `json:"taxCode,omitempty"`
	TaxMode                     string                    `json:"taxMode,omitempty"`
	Taxable                     bool                      `json:"taxable"`
	// CustomFields merges the GET's `customFields` object and the `*__c` fields the list carries inline.
	CustomFields map[string]any `json:"customFields,omitempty"`
}

// UnmarshalJSON decodes the named fields and gathers inline custom fields.
func (ch *Charge) UnmarshalJSON(data []byte) error {
	type plain Charge
	if err := json.Unmarshal(data, (*plain)(ch)); err != nil {
		return err
	}
	return gatherCustomFields(data, &ch.CustomFields)
}

// PricingFor returns the pricing entry for currency (case-insensitive), or nil.
func (ch *Charge) PricingFor(currency string) *ChargePricing {
	for i := range ch.Pricing {
		if strings.EqualFold(ch.Pricing[i].Currency, currency) {
			return &ch.Pricing[i]
		}
	}
	return nil
}

// GetCharge reads a product rate plan charge by id or number (GET /v1/product-rate-plan-charges/{key}).
func (c *Client) GetCharge(ctx context.Context, key string) (*Charge, error) {
	var out Charge
	if err := c.Do(ctx, Request{Path: "/v1/product-rate-plan-charges/" + url.PathEscape(key)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ProductRatePlanV1 is one entry of GET /v1/products/{product-key}/product-rate-plans (GETProductRatePlanType).
type ProductRatePlanV1 struct {
	ID                    string         `json:"id"`
	Name                  string         `json:"name"`
	Status                string         `json:"status,omitempty"` // Active, Expired, NotStarted
	ProductRatePlanNumber string         `json:"productRatePlanNumber,omitempty"`
	EffectiveStartDate    string         `json:"effectiveStartDate,omitempty"`
	EffectiveEndDate      string         `json:"effectiveEndDate,omitempty"`
	Charges               []Charge       `json:"productRatePlanCharges,omitempty"`
	CustomFields          map[string]any `json:"-"` // inline `*__c` fields
}

// UnmarshalJSON decodes the named fields and gathers inline custom fields.
func (p *ProductRatePlanV1) UnmarshalJSON(data []byte) error {
	type plain ProductRatePlanV1
	if err := json.Unmarshal(data, (*plain)(p)); err != nil {
		return err
	}
	return gatherCustomFields(data, &p.CustomFields)
}

type productRatePlansPage struct {
	ProductRatePlans []ProductRatePlanV1 `json:"productRatePlans"`
	NextPage         string              `json:"nextPage"`
}

// v1CatalogPageSize is GLOBAL_REQUEST_pageSize's maximum in the V1 spec.
const v1CatalogPageSize = 40

// ListProductRatePlans returns all rate plans of a product, with their charges
// (GET /v1/products/{product-key}/product-rate-plans). It pages with page/pageSize while the response carries
// a nextPage URL (taking the page number from that URL when it has one); past maxListPages pages it is a *Error.
func (c *Client) ListProductRatePlans(ctx context.Context, productKey string) ([]ProductRatePlanV1, error) {
	var all []ProductRatePlanV1
	path := "/v1/products/" + url.PathEscape(productKey) + "/product-rate-plans"
	page := 1
	for range maxListPages {
		q := url.Values{"page": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(v1CatalogPageSize)}}
		var out productRatePlansPage
		if err := c.Do(ctx, Request{Path: path, Query: q}, &out); err != nil {
			return nil, err
		}
		all = append(all, out.ProductRatePlans...)
		if out.NextPage == "" {
			return all, nil
		}
		next := page + 1
		if u, err := url.Parse(out.NextPage); err == nil {
			if n, err := strconv.Atoi(u.Query().Get("page")); err == nil && n > page {
				next = n
			}
		}
		page = next
	}
	// A shorter list would make the catalog sync create rate plans that exist on a later page.
	return nil, tooManyPages(path, maxListPages)
}

// gatherCustomFields adds the top-level `*__c` members of data to *dst.
func gatherCustomFields(data []byte, dst *map[string]any) error {
	var all map[string]any
	if err := json.Unmarshal(data, &all); err != nil {
		return err
	}
	for k, v := range all {
		if strings.HasSuffix(k, "__c") {
			if *dst == nil {
				*dst = map[string]any{}
			}
			(*dst)[k] = v
		}
	}
	return nil
}

// ---- V1 CRUD units of measure ----

// UnitOfMeasure is the body of POST /v1/object/unit-of-measure. The endpoint is in neither OpenAPI file; the
// fields follow Zuora's CRUD / UnitOfMeasure object documentation: UomName (required, ≤ 50 chars), DisplayedAs
// (≤ 50, defaults to UomName), DecimalPlaces (required, 0–8; 0 = whole units; cannot change once used),
// RoundingMode ("Up" default, or "Down"), Active (default true). The response is the CRUD
// {Success, Id} / {Success:false, Errors:[{Code, Message}]} envelope.
type UnitOfMeasure struct {
	UomName       string `json:"UomName"`
	DisplayedAs   string `json:"DisplayedAs,omitempty"`
	DecimalPlaces int    `json:"DecimalPlaces"`
	RoundingMode  string `json:"RoundingMode,omitempty"`
	Active        *bool  `json:"Active,omitempty"`
}

// Rounding modes of a unit of measure.
const (
	RoundingModeUp   = "Up"
	RoundingModeDown = "Down"
)

// CreateUnitOfMeasure creates a unit of measure and returns its id. Units are unique by name: a second create
// fails, and IsDuplicate(err) tells that case apart so the caller can treat it as "already there".
func (c *Client) CreateUnitOfMeasure(ctx context.Context, step string, uom *UnitOfMeasure) (string, error) {
	return c.crudCreate(ctx, step, "/v1/object/unit-of-measure", uom)
}

// IsDuplicate reports whether err is Zuora refusing to create an object that already exists. CRUD has a
// DUPLICATE_VALUE code for this; Zuora's documentation does not pin down which code a duplicate unit-of-measure
// name gets, so a validation failure whose message says the value is a duplicate or already exists counts too.
// Consult it only right after creating a uniquely named object: a message match is too broad for other calls.
func IsDuplicate(err error) bool {
	e, ok := AsError(err)
	if !ok || e.Kind != KindValidation {
		return false
	}
	for _, r := range e.Reasons {
		if strings.EqualFold(r.Code, "DUPLICATE_VALUE") || mentionsDuplicate(r.Message) {
			return true
		}
	}
	return strings.EqualFold(e.Code, "DUPLICATE_VALUE") || mentionsDuplicate(e.Message)
}

func mentionsDuplicate(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "duplicate") || strings.Contains(m, "already exist")
}
