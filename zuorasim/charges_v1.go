package zuorasim

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Read views of a charge: the V1 REST object (GET /v1/product-rate-plan-charges/{key}), its twin inside
// GET /v1/products/{key}/product-rate-plans, and the CRUD object (GET /v1/object/product-rate-plan-charge/{id}).
//
// The REST reads spell enums with underscores (Per_Billing_Period, IN_ADVANCE, Subscription_End in the spec);
// billingPeriod is typed as a plain string there, and the simulator spells it the same way (Semi_Annual,
// Specific_Months, ...) [inferred]. model is FlatFee/PerUnit/Tiered/Volume (the spec's enum).
//
// Spec quirk: GETProductRatePlanChargeResponse types pricing[].tiers as an array of GETRatePlanChargePricingTier,
// which is itself an array of tier objects, so the single-charge GET renders tiers as [[tier, ...]] (one inner
// list: the currency's tiers) to validate; a client should accept a flat list as well. The tier objects add
// "tier" and "priceFormat" (fields of Zuora's tier object; the list endpoint's tier schema has them) to the
// spec's currency/startingUnit/endingUnit/price. min/max quantity and AccountingCode are not part of the REST
// single-charge schema: read them from the CRUD GET, the rate-plan list or the Quickstart price.

// V1Charge is "GETProductRatePlanChargeResponse".
type V1Charge struct {
	Success                           bool              `json:"success"`
	ID                                string            `json:"id"`
	Name                              string            `json:"name"`
	Description                       string            `json:"description,omitempty"`
	Type                              string            `json:"type"`
	Model                             string            `json:"model"`
	UOM                               *string           `json:"uom"`
	PricingSummary                    []string          `json:"pricingSummary"`
	Pricing                           []v1ChargePricing `json:"pricing"`
	DefaultQuantity                   *float64          `json:"defaultQuantity"`
	ApplyDiscountTo                   *string           `json:"applyDiscountTo"`
	DiscountLevel                     *string           `json:"discountLevel"`
	DiscountClass                     *string           `json:"discountClass"`
	ProductDiscountApplyDetails       []any             `json:"productDiscountApplyDetails"`
	EndDateCondition                  string            `json:"endDateCondition"`
	UpToPeriods                       *float64          `json:"upToPeriods"`
	UpToPeriodsType                   *string           `json:"upToPeriodsType"`
	BillingDay                        string            `json:"billingDay,omitempty"`
	ListPriceBase                     string            `json:"listPriceBase,omitempty"`
	SpecificListPriceBase             *int              `json:"specificListPriceBase"`
	BillingTiming                     string            `json:"billingTiming,omitempty"`
	RatingGroup                       *string           `json:"ratingGroup"`
	BillingPeriod                     string            `json:"billingPeriod,omitempty"`
	BillingPeriodAlignment            string            `json:"billingPeriodAlignment,omitempty"`
	SpecificBillingPeriod             *float64          `json:"specificBillingPeriod"`
	SmoothingModel                    *string           `json:"smoothingModel"`
	NumberOfPeriods                   *int64            `json:"numberOfPeriods"`
	OverageCalculationOption          *string           `json:"overageCalculationOption"`
	OverageUnusedUnitsCreditOption    *string           `json:"overageUnusedUnitsCreditOption"`
	UsageRecordRatingOption           *string           `json:"usageRecordRatingOption"`
	PriceChangeOption                 *string           `json:"priceChangeOption"`
	PriceIncreasePercentage           *float64          `json:"priceIncreasePercentage"`
	UseTenantDefaultForPriceChange    bool              `json:"useTenantDefaultForPriceChange"`
	Taxable                           bool              `json:"taxable"`
	TaxCode                           string            `json:"taxCode"`
	TaxMode                           *string           `json:"taxMode"`
	TriggerEvent                      string            `json:"triggerEvent"`
	RevRecCode                        *string           `json:"revRecCode"`
	RevRecTriggerCondition            *string           `json:"revRecTriggerCondition"`
	RevenueRecognitionRuleName        string            `json:"revenueRecognitionRuleName"`
	UseDiscountSpecificAccountingCode *bool             `json:"useDiscountSpecificAccountingCode"`
	FinanceInformation                v1FinanceInfo     `json:"financeInformation"`
	ProductRatePlanChargeNumber       *string           `json:"productRatePlanChargeNumber"`
	IsStackedDiscount                 bool              `json:"isStackedDiscount"`
	CustomFields                      map[string]any    `json:"customFields"`
	ApplyToBillingPeriodPartially     bool              `json:"applyToBillingPeriodPartially"`
	ExcludeItemBillingFromRevenue     bool              `json:"excludeItemBillingFromRevenueAccounting"`
	ExcludeItemBookingFromRevenue     bool              `json:"excludeItemBookingFromRevenueAccounting"`
}

type v1ChargePricing struct {
	Currency           string           `json:"currency"`
	Price              *float64         `json:"price,omitempty"` // flat fee and per unit only
	Tiers              [][]v1ChargeTier `json:"tiers"`           // null unless tiered; see the spec quirk above
	IncludedUnits      *float64         `json:"includedUnits"`
	OveragePrice       *float64         `json:"overagePrice"`
	DiscountPercentage *float64         `json:"discountPercentage"`
	DiscountAmount     *float64         `json:"discountAmount"`
}

type v1ChargeTier struct {
	Tier         int      `json:"tier"`
	Currency     string   `json:"currency"`
	StartingUnit float64  `json:"startingUnit"`
	EndingUnit   *float64 `json:"endingUnit,omitempty"` // open-ended last tier: absent (the schema is not nullable)
	Price        float64  `json:"price"`
	PriceFormat  string   `json:"priceFormat"`
}

type v1FinanceInfo struct {
	DeferredRevenueAccountingCode   *string `json:"deferredRevenueAccountingCode,omitempty"`
	RecognizedRevenueAccountingCode *string `json:"recognizedRevenueAccountingCode,omitempty"`
}

var v1ModelNames = map[string]string{modelFlatFee: "FlatFee", modelPerUnit: "PerUnit", modelTiered: "Tiered", modelVolume: "Volume"}

// restEnum spells a CRUD enum value the REST way: "Per Billing Period" → "Per_Billing_Period".
func restEnum(v string) string { return strings.NewReplacer(" ", "_", "-", "_").Replace(v) }

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// billingDay renders the bill cycle setting as the REST reads do [inferred for the specific-day forms].
func (c *Charge) billingDay() string {
	switch c.BillCycleType {
	case "SpecificDayofMonth":
		return fmt.Sprintf("SpecificDayofMonth(%d)", c.BillCycleDay)
	case "SpecificDayofWeek":
		return fmt.Sprintf("SpecificDayofWeek(%s)", c.WeeklyBillCycleDay)
	}
	return c.BillCycleType
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// pricingSummary is one human-readable line per currency, as Zuora shows it ("USD60", "USD10/License",
// "0 to 100 API Call: USD0.01/API Call; 101 API Call or more: USD0.005/API Call").
func (c *Charge) pricingSummary() []string {
	out := []string{}
	for _, cur := range c.currencies() {
		ts := c.tiersOf(cur)
		if !c.tiered() {
			s := cur + num(ts[0].Price)
			if ts[0].PriceFormat == formatPerUnit {
				s += "/" + c.UOM
			}
			out = append(out, s)
			continue
		}
		parts := make([]string, 0, len(ts))
		for _, t := range ts {
			rng := num(t.StartingUnit) + " " + c.UOM + " or more"
			if t.EndingUnit != nil {
				rng = num(t.StartingUnit) + " to " + num(*t.EndingUnit) + " " + c.UOM
			}
			price := cur + num(t.Price)
			if t.PriceFormat == formatPerUnit {
				price += "/" + c.UOM
			} else {
				price += " flat fee"
			}
			parts = append(parts, rng+": "+price)
		}
		out = append(out, strings.Join(parts, "; "))
	}
	return out
}

// v1ChargeView renders c as "GETProductRatePlanChargeResponse". Caller holds st.mu.
func (st *store) v1ChargeView(c *Charge) V1Charge {
	v := V1Charge{
		Success: true, ID: c.ID, Name: c.Name, Description: c.Description, Type: c.ChargeType,
		Model: v1ModelNames[c.ChargeModel], UOM: strPtr(c.UOM), PricingSummary: c.pricingSummary(),
		DefaultQuantity: clonePtr(c.DefaultQuantity), ProductDiscountApplyDetails: []any{},
		EndDateCondition: restEnum(strings.Replace(c.EndDateCondition, "SubscriptionEnd", "Subscription End", 1)),
		Taxable:          c.Taxable, TaxCode: c.TaxCode, TaxMode: strPtr(c.TaxMode), TriggerEvent: c.TriggerEvent,
		RevenueRecognitionRuleName:  c.RevenueRecognitionRuleName,
		ProductRatePlanChargeNumber: strPtr(c.Number),
		FinanceInformation: v1FinanceInfo{DeferredRevenueAccountingCode: strPtr(c.DeferredRevenueAccount),
			RecognizedRevenueAccountingCode: strPtr(c.RecognizedRevenueAccount)},
		CustomFields: map[string]any{},
	}
	if c.EndDateCondition == "FixedPeriod" {
		v.EndDateCondition = "Fixed_Period"
	}
	if !c.OneTime() {
		v.BillingDay = c.billingDay()
		v.BillingPeriod = restEnum(c.BillingPeriod)
		v.BillingPeriodAlignment = c.BillingPeriodAlignment
		if c.SpecificBillingPeriod > 0 {
			sp := float64(c.SpecificBillingPeriod)
			v.SpecificBillingPeriod = &sp
		}
	}
	if c.ChargeType == typeRecurring {
		v.ListPriceBase = restEnum(c.ListPriceBase)
		v.BillingTiming = strings.ToUpper(restEnum(c.BillingTiming))
	}
	if c.ChargeType == typeUsage {
		v.RatingGroup = strPtr(c.RatingGroup)
		v.UsageRecordRatingOption = strPtr("EndOfBillingPeriod")
	}
	for _, name := range st.customFieldNames(catalogCustomPrice) {
		if val, ok := c.CustomFields[name]; ok {
			v.CustomFields[name] = val
		} else {
			v.CustomFields[name] = nil
		}
	}
	for _, cur := range c.currencies() {
		ts := c.tiersOf(cur)
		pr := v1ChargePricing{Currency: cur}
		if c.tiered() {
			inner := make([]v1ChargeTier, 0, len(ts))
			for _, t := range ts {
				inner = append(inner, v1ChargeTier{Tier: t.Tier, Currency: cur, StartingUnit: t.StartingUnit,
					EndingUnit: clonePtr(t.EndingUnit), Price: t.Price, PriceFormat: t.PriceFormat})
			}
			pr.Tiers = [][]v1ChargeTier{inner}
		} else {
			price := ts[0].Price
			pr.Price = &price
		}
		v.Pricing = append(v.Pricing, pr)
	}
	return v
}

func (s *Sim) v1GetCharge(r *http.Request, st *store) (reply, *apiError) {
	c := st.cat.lookupCharge(r.PathValue("charge_key"))
	if c == nil {
		// The operation documents only 200: Zuora answers a missing charge with success:false (code 50000040).
		e := errNotFound("product rate plan charge", r.PathValue("charge_key"))
		e.v1Status = http.StatusOK
		return reply{}, e
	}
	return replyOK(st.v1ChargeView(c)), nil
}

// ---- GET /v1/products/{product-key}/product-rate-plans ----

// v1ListCharge is "GETProductRatePlanChargeType": the list form types quantities and prices as decimal strings.
type v1ListCharge struct {
	ID                          string            `json:"id"`
	Name                        string            `json:"name"`
	Description                 string            `json:"description,omitempty"`
	Type                        string            `json:"type"`
	Model                       string            `json:"model"`
	UOM                         *string           `json:"uom,omitempty"`
	PricingSummary              []string          `json:"pricingSummary"`
	Pricing                     []v1ListPricing   `json:"pricing"`
	DefaultQuantity             *string           `json:"defaultQuantity,omitempty"`
	MinQuantity                 string            `json:"minQuantity,omitempty"`
	MaxQuantity                 string            `json:"maxQuantity,omitempty"`
	BillingDay                  string            `json:"billingDay,omitempty"`
	BillingPeriod               string            `json:"billingPeriod,omitempty"`
	BillingPeriodAlignment      string            `json:"billingPeriodAlignment,omitempty"`
	BillingTiming               string            `json:"billingTiming,omitempty"`
	ListPriceBase               string            `json:"listPriceBase,omitempty"`
	SpecificBillingPeriod       *int64            `json:"specificBillingPeriod,omitempty"`
	RatingGroup                 *string           `json:"ratingGroup,omitempty"`
	UsageRecordRatingOption     *string           `json:"usageRecordRatingOption,omitempty"`
	EndDateCondition            string            `json:"endDateCondition"`
	TriggerEvent                string            `json:"triggerEvent"`
	Taxable                     bool              `json:"taxable"`
	TaxCode                     string            `json:"taxCode"`
	TaxMode                     *string           `json:"taxMode,omitempty"`
	RevenueRecognitionRuleName  string            `json:"revenueRecognitionRuleName"`
	ProductRatePlanChargeNumber string            `json:"productRatePlanChargeNumber"`
	FinanceInformation          v1ListFinanceInfo `json:"financeInformation"`
	ProductDiscountApplyDetails []any             `json:"productDiscountApplyDetails"`
}

type v1ListPricing struct {
	Currency string       `json:"currency"`
	Price    string       `json:"price,omitempty"`
	Tiers    []v1ListTier `json:"tiers,omitempty"`
}

type v1ListTier struct {
	Tier         int    `json:"tier"`
	StartingUnit string `json:"startingUnit"`
	EndingUnit   string `json:"endingUnit,omitempty"`
	Price        string `json:"price"`
	PriceFormat  string `json:"priceFormat"`
}

type v1ListFinanceInfo struct {
	DeferredRevenueAccountingCode   string `json:"deferredRevenueAccountingCode,omitempty"`
	RecognizedRevenueAccountingCode string `json:"recognizedRevenueAccountingCode,omitempty"`
}

func decimal(p *float64) string {
	if p == nil {
		return ""
	}
	return num(*p)
}

// anyMap converts custom field values for a JSON object map. The list endpoint's schemas combine their parts
// with allOf, where the validator accepts no null, so unset custom fields and null fields are left out.
func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// v1ListChargeView renders c for the rate-plan list, custom fields at the top level. Caller holds st.mu.
func (st *store) v1ListChargeView(c *Charge) map[string]any {
	one := st.v1ChargeView(c)
	v := v1ListCharge{ID: c.ID, Name: c.Name, Description: c.Description, Type: c.ChargeType, Model: one.Model,
		UOM: one.UOM, PricingSummary: one.PricingSummary, MinQuantity: decimal(c.MinQuantity),
		MaxQuantity: decimal(c.MaxQuantity), BillingDay: one.BillingDay, BillingPeriod: one.BillingPeriod,
		BillingPeriodAlignment: one.BillingPeriodAlignment, BillingTiming: one.BillingTiming,
		ListPriceBase: one.ListPriceBase, RatingGroup: one.RatingGroup, UsageRecordRatingOption: one.UsageRecordRatingOption,
		EndDateCondition: one.EndDateCondition, TriggerEvent: c.TriggerEvent, Taxable: c.Taxable, TaxCode: c.TaxCode,
		TaxMode: one.TaxMode, RevenueRecognitionRuleName: c.RevenueRecognitionRuleName,
		ProductRatePlanChargeNumber: c.Number, ProductDiscountApplyDetails: []any{},
		FinanceInformation: v1ListFinanceInfo{DeferredRevenueAccountingCode: c.DeferredRevenueAccount,
			RecognizedRevenueAccountingCode: c.RecognizedRevenueAccount}}
	if c.DefaultQuantity != nil {
		d := num(*c.DefaultQuantity)
		v.DefaultQuantity = &d
	}
	if c.SpecificBillingPeriod > 0 && !c.OneTime() {
		sp := int64(c.SpecificBillingPeriod)
		v.SpecificBillingPeriod = &sp
	}
	for _, cur := range c.currencies() {
		ts := c.tiersOf(cur)
		pr := v1ListPricing{Currency: cur}
		if c.tiered() {
			for _, t := range ts {
				pr.Tiers = append(pr.Tiers, v1ListTier{Tier: t.Tier, StartingUnit: num(t.StartingUnit),
					EndingUnit: decimal(t.EndingUnit), Price: num(t.Price), PriceFormat: t.PriceFormat})
			}
		} else {
			pr.Price = num(ts[0].Price)
		}
		v.Pricing = append(v.Pricing, pr)
	}
	m := toMap(v)
	maps.Copy(m, anyMap(c.CustomFields))
	return m
}

// toMap turns a view struct into a JSON object map so that custom fields can sit beside the fields.
func toMap(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // view structs always marshal
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return m
}

type v1RatePlansResponse struct {
	Success          bool             `json:"success"`
	ProductRatePlans []map[string]any `json:"productRatePlans"`
	NextPage         string           `json:"nextPage,omitempty"`
}

// v1Paging reads the page (1-based) and pageSize parameters of a V1 list, with the operation's default and
// maximum page size.
func v1Paging(r *http.Request, defaultSize, maxSize int) (pageNo, pageSize int, e *apiError) {
	q := r.URL.Query()
	pageNo, pageSize = 1, defaultSize
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, invalidQuery("page", "'page' must be a positive integer")
		}
		pageNo = n
	}
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxSize {
			return 0, 0, invalidQuery("pageSize", fmt.Sprintf("'pageSize' must be an integer between 1 and %d", maxSize))
		}
		pageSize = n
	}
	return pageNo, pageSize, nil
}

// v1 list paging: pageSize defaults to 20 and may not exceed 40 (the operation's parameters).
const (
	v1RatePlansDefaultPageSize = 20
	v1RatePlansMaxPageSize     = 40
)

func (s *Sim) v1ListRatePlans(r *http.Request, st *store) (reply, *apiError) {
	pageNo, pageSize, e := v1Paging(r, v1RatePlansDefaultPageSize, v1RatePlansMaxPageSize)
	if e != nil {
		return reply{}, e
	}
	key := r.PathValue("product_key")
	prod := st.cat.lookupProduct(key)
	if prod == nil {
		e := errNotFound("product", key)
		e.v1Status = http.StatusOK // the operation documents only 200
		return reply{}, e
	}
	today := s.today()
	plans := st.cat.plansOf(prod.ID)
	resp := v1RatePlansResponse{Success: true, ProductRatePlans: []map[string]any{}}
	start := (pageNo - 1) * pageSize
	for i := start; i < len(plans) && i < start+pageSize; i++ {
		resp.ProductRatePlans = append(resp.ProductRatePlans, st.v1RatePlanView(plans[i], today))
	}
	if start+pageSize < len(plans) {
		resp.NextPage = fmt.Sprintf("/v1/products/%s/product-rate-plans?page=%d&pageSize=%d", url.PathEscape(key), pageNo+1, pageSize)
	}
	return replyOK(resp), nil
}

func invalidQuery(param, msg string) *apiError {
	e := errInvalid(param, "%s", msg)
	e.category = catInvalidQuery
	return e
}

// v1RatePlanView renders a plan as "GETProductRatePlanType", custom fields at the top level. Caller holds st.mu.
func (st *store) v1RatePlanView(pl *Plan, today string) map[string]any {
	status := "Active"
	switch {
	case today < pl.StartDate:
		status = "NotStarted"
	case today >= pl.EndDate:
		status = "Expired"
	}
	charges := []map[string]any{}
	for _, c := range st.cat.chargesOf(pl.ID) {
		charges = append(charges, st.v1ListChargeView(c))
	}
	m := map[string]any{"id": pl.ID, "name": pl.Name, "effectiveStartDate": pl.StartDate,
		"effectiveEndDate": pl.EndDate, "productRatePlanNumber": pl.PlanNumber, "status": status,
		"productRatePlanCharges": charges}
	putIf(m, "description", pl.Description)
	maps.Copy(m, anyMap(pl.CustomFields))
	return m
}

// ---- CRUD GET /v1/object/product-rate-plan-charge/{id} ----

// CRUDCharge is "ProxyGetProductRatePlanCharge" (tiers are separate CRUD objects and not part of it).
type CRUDCharge struct {
	ID                         string   `json:"Id"`
	ProductRatePlanID          string   `json:"ProductRatePlanId"`
	Name                       string   `json:"Name"`
	Description                string   `json:"Description,omitempty"`
	ChargeModel                string   `json:"ChargeModel"`
	ChargeType                 string   `json:"ChargeType"`
	BillingPeriod              string   `json:"BillingPeriod,omitempty"`
	SpecificBillingPeriod      *int64   `json:"SpecificBillingPeriod,omitempty"`
	BillCycleType              string   `json:"BillCycleType,omitempty"`
	BillCycleDay               int      `json:"BillCycleDay,omitempty"`
	WeeklyBillCycleDay         string   `json:"WeeklyBillCycleDay,omitempty"`
	BillingTiming              string   `json:"BillingTiming,omitempty"`
	BillingPeriodAlignment     string   `json:"BillingPeriodAlignment,omitempty"`
	TriggerEvent               string   `json:"TriggerEvent"`
	UOM                        *string  `json:"UOM"`
	DefaultQuantity            *float64 `json:"DefaultQuantity,omitempty"`
	MinQuantity                *float64 `json:"MinQuantity,omitempty"`
	MaxQuantity                *float64 `json:"MaxQuantity,omitempty"`
	AccountingCode             string   `json:"AccountingCode,omitempty"`
	DeferredRevenueAccount     string   `json:"DeferredRevenueAccount,omitempty"`
	RecognizedRevenueAccount   string   `json:"RecognizedRevenueAccount,omitempty"`
	ListPriceBase              string   `json:"ListPriceBase,omitempty"`
	RatingGroup                *string  `json:"RatingGroup,omitempty"`
	Taxable                    bool     `json:"Taxable"`
	TaxCode                    string   `json:"TaxCode,omitempty"`
	TaxMode                    *string  `json:"TaxMode,omitempty"`
	EndDateCondition           string   `json:"EndDateCondition"`
	RevenueRecognitionRuleName string   `json:"RevenueRecognitionRuleName"`
	CreatedByID                string   `json:"CreatedById"`
	CreatedDate                string   `json:"CreatedDate"`
	UpdatedByID                string   `json:"UpdatedById"`
	UpdatedDate                string   `json:"UpdatedDate"`
}

func (st *store) crudChargeView(c *Charge) map[string]any {
	v := CRUDCharge{ID: c.ID, ProductRatePlanID: c.PlanID, Name: c.Name, Description: c.Description,
		ChargeModel: c.ChargeModel, ChargeType: c.ChargeType, BillingPeriod: c.BillingPeriod,
		BillCycleType: c.BillCycleType, WeeklyBillCycleDay: c.WeeklyBillCycleDay, BillingTiming: c.BillingTiming,
		BillingPeriodAlignment: c.BillingPeriodAlignment, TriggerEvent: c.TriggerEvent, UOM: strPtr(c.UOM),
		DefaultQuantity: clonePtr(c.DefaultQuantity), MinQuantity: clonePtr(c.MinQuantity),
		MaxQuantity: clonePtr(c.MaxQuantity), AccountingCode: c.AccountingCode,
		DeferredRevenueAccount: c.DeferredRevenueAccount, RecognizedRevenueAccount: c.RecognizedRevenueAccount,
		ListPriceBase: c.ListPriceBase, RatingGroup: strPtr(c.RatingGroup), Taxable: c.Taxable, TaxCode: c.TaxCode,
		TaxMode: strPtr(c.TaxMode), EndDateCondition: c.EndDateCondition,
		RevenueRecognitionRuleName: c.RevenueRecognitionRuleName,
		CreatedByID:                simUserID, CreatedDate: c.CreatedTime, UpdatedByID: simUserID, UpdatedDate: c.UpdatedTime}
	if c.BillCycleType == "SpecificDayofMonth" {
		v.BillCycleDay = c.BillCycleDay
	}
	if c.SpecificBillingPeriod > 0 {
		sp := int64(c.SpecificBillingPeriod)
		v.SpecificBillingPeriod = &sp
	}
	m := toMap(v)
	maps.Copy(m, anyMap(c.CustomFields))
	return m
}

func (s *Sim) crudGetCharge(r *http.Request, st *store) (reply, *apiError) {
	c := st.cat.chargeByID(r.PathValue("id"))
	if c == nil {
		return crudNoData(), nil
	}
	return replyOK(st.crudChargeView(c)), nil
}
