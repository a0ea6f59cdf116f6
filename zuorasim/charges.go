package zuorasim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Product rate plan charges: CRUD POST /v1/object/product-rate-plan-charge ("ProxyCreateProductRatePlanCharge"
// → "ProxyCreateOrModifyResponse"), CRUD GET /v1/object/product-rate-plan-charge/{id}
// ("ProxyGetProductRatePlanCharge"), V1 GET /v1/product-rate-plan-charges/{key} ("GETProductRatePlanChargeResponse")
// and V1 GET /v1/products/{product-key}/product-rate-plans ("GETProductRatePlansResponse"). The same Charge is the
// Quickstart price (prices.go).
//
// Simulated charge models: Flat Fee Pricing, Per Unit Pricing, Tiered Pricing, Volume Pricing (V1 CRUD names);
// charge types OneTime, Recurring, Usage. Other models of the enum are refused as not simulated rather than
// stored half-understood.
//
// Tier convention (Zuora's; the Quickstart tier schema says "the lower bound of a tier is the upper bound of the
// previous tier plus one or some fraction of one, depending on the precision of the unit of measure"): the first
// tier starts at 0 [inferred: the catalog UI proposes 0 for the first tier; the simulator is strict so that one
// convention is exercised], tier n+1 starts at tier n's EndingUnit plus one step, step = 10^-DecimalPlaces of
// the charge's unit of measure (1 for whole units), and the last tier has no EndingUnit (open-ended). Every
// currency has the same tier bounds and price formats; only prices differ. Tiers are numbered from 1.

// Charge is the product rate plan charge behind a V1 charge and a Quickstart price, in the V1 CRUD vocabulary.
// Tests may change one directly with (*Sim).MutateCharge to simulate an edit made in Zuora's UI.
type Charge struct {
	ID                         string
	Number                     string // ProductRatePlanChargeNumber, "PRPC-%08d" unless given
	PlanID                     string
	Name                       string
	Description                string
	ChargeModel                string // "Flat Fee Pricing", "Per Unit Pricing", "Tiered Pricing", "Volume Pricing"
	ChargeType                 string // "OneTime", "Recurring", "Usage"
	BillingPeriod              string // "Month", "Annual", ...; empty for OneTime
	SpecificBillingPeriod      int    // for "Specific Months/Weeks/Days"
	BillCycleType              string
	BillCycleDay               int    // SpecificDayofMonth
	WeeklyBillCycleDay         string // SpecificDayofWeek
	BillingTiming              string // "In Advance" / "In Arrears"; Recurring only
	BillingPeriodAlignment     string
	TriggerEvent               string
	UOM                        string
	DefaultQuantity            *float64
	MinQuantity                *float64
	MaxQuantity                *float64
	AccountingCode             string
	DeferredRevenueAccount     string
	RecognizedRevenueAccount   string
	ListPriceBase              string // Recurring only
	RatingGroup                string // Usage only
	Taxable                    bool
	TaxCode                    string
	TaxMode                    string
	EndDateCondition           string
	RevenueRecognitionRuleName string
	Tiers                      []ChargeTier // grouped by currency (first-seen order), each group in tier order
	CustomFields               map[string]string
	CreatedTime                string // RFC 3339
	UpdatedTime                string
}

// ChargeTier is one price point: for Flat Fee and Per Unit charges the single tier of a currency.
type ChargeTier struct {
	Currency     string
	Tier         int
	StartingUnit float64
	EndingUnit   *float64 // nil: open-ended (the last tier)
	Price        float64
	PriceFormat  string // "Flat Fee" or "Per Unit"
}

const (
	modelFlatFee = "Flat Fee Pricing"
	modelPerUnit = "Per Unit Pricing"
	modelTiered  = "Tiered Pricing"
	modelVolume  = "Volume Pricing"

	typeOneTime   = "OneTime"
	typeRecurring = "Recurring"
	typeUsage     = "Usage"

	formatFlatFee = "Flat Fee"
	formatPerUnit = "Per Unit"
)

var (
	chargeModelEnum = []string{"Discount-Fixed Amount", "Discount-Percentage", modelFlatFee, modelPerUnit,
		"Overage Pricing", modelTiered, "Tiered with Overage Pricing", modelVolume, "Delivery Pricing",
		"MultiAttributePricing", "PreratedPerUnit", "PreratedPricing", "HighWatermarkVolumePricing",
		"HighWatermarkTieredPricing"}
	simulatedModels   = []string{modelFlatFee, modelPerUnit, modelTiered, modelVolume}
	chargeTypeEnum    = []string{typeOneTime, typeRecurring, typeUsage}
	billingPeriodEnum = []string{"Month", "Quarter", "Annual", "Semi-Annual", "Specific Months", "Subscription Term",
		"Week", "Specific Weeks", "Specific Days"}
	billCycleTypeEnum = []string{"DefaultFromCustomer", "SpecificDayofMonth", "SubscriptionStartDay",
		"ChargeTriggerDay", "SpecificDayofWeek", "TermStartDay", "TermEndDay"}
	billingTimingEnum   = []string{"In Advance", "In Arrears"}
	alignmentEnum       = []string{"AlignToCharge", "AlignToSubscriptionStart", "AlignToTermStart", "AlignToTermEnd"}
	triggerEventEnum    = []string{"ContractEffective", "ServiceActivation", "CustomerAcceptance"}
	listPriceBaseEnum   = []string{"Per Billing Period", "Per Month", "Per Week", "Per Year"}
	ratingGroupEnum     = []string{"ByBillingPeriod", "ByUsageStartDate", "ByUsageRecord", "ByUsageUpload", "ByGroupId"}
	taxModeEnum         = []string{"TaxExclusive", "TaxInclusive"}
	endDateConditionEnm = []string{"SubscriptionEnd", "FixedPeriod"}
	revRecRuleEnum      = []string{"Recognize upon invoicing", "Recognize daily over time"}
	weekdayEnum         = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	priceFormatEnum     = []string{formatFlatFee, formatPerUnit}
)

// needsUOM: Zuora requires a unit of measure for per-unit and tiered models and for every usage charge.
func (c *Charge) needsUOM() bool {
	return c.ChargeModel != modelFlatFee || c.ChargeType == typeUsage
}

func (c *Charge) tiered() bool { return c.ChargeModel == modelTiered || c.ChargeModel == modelVolume }

// currencies lists the charge's currencies in first-seen order.
func (c *Charge) currencies() []string {
	var out []string
	for _, t := range c.Tiers {
		if !slices.Contains(out, t.Currency) {
			out = append(out, t.Currency)
		}
	}
	return out
}

func (c *Charge) tiersOf(currency string) []ChargeTier {
	var out []ChargeTier
	for _, t := range c.Tiers {
		if t.Currency == currency {
			out = append(out, t)
		}
	}
	return out
}

// clone is a deep copy.
func (c *Charge) clone() *Charge {
	out := *c
	out.Tiers = slices.Clone(c.Tiers)
	for i := range out.Tiers {
		if e := c.Tiers[i].EndingUnit; e != nil {
			v := *e
			out.Tiers[i].EndingUnit = &v
		}
	}
	out.DefaultQuantity = clonePtr(c.DefaultQuantity)
	out.MinQuantity = clonePtr(c.MinQuantity)
	out.MaxQuantity = clonePtr(c.MaxQuantity)
	out.CustomFields = maps.Clone(c.CustomFields)
	return &out
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// MutateCharge applies f to the stored charge (= price) with the given id, bypassing validation, as a person
// editing the catalog in Zuora's UI would (drift). It reports whether the charge exists.
func (s *Sim) MutateCharge(id string, f func(*Charge)) bool {
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	c := st.cat.chargeByID(id)
	if c == nil {
		return false
	}
	f(c)
	c.UpdatedTime = s.timestamp()
	return true
}

// Charge returns a copy of the charge (= price) with the given id.
func (s *Sim) Charge(id string) (Charge, bool) {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	c := s.store.cat.chargeByID(id)
	if c == nil {
		return Charge{}, false
	}
	return *c.clone(), true
}

// ---- CRUD create ----

type chargeTierInput struct {
	Currency     *string  `json:"Currency"`
	Price        *float64 `json:"Price"`
	StartingUnit *float64 `json:"StartingUnit"`
	EndingUnit   *float64 `json:"EndingUnit"`
	PriceFormat  *string  `json:"PriceFormat"`
	Tier         *int     `json:"Tier"` // not in the request schema, but a field of Zuora's tier object
}

type chargeInput struct {
	ProductRatePlanID                 *string  `json:"ProductRatePlanId"`
	Name                              *string  `json:"Name"`
	Description                       *string  `json:"Description"`
	ChargeModel                       *string  `json:"ChargeModel"`
	ChargeType                        *string  `json:"ChargeType"`
	BillingPeriod                     *string  `json:"BillingPeriod"`
	SpecificBillingPeriod             *int     `json:"SpecificBillingPeriod"`
	BillCycleType                     *string  `json:"BillCycleType"`
	BillCycleDay                      *int     `json:"BillCycleDay"`
	WeeklyBillCycleDay                *string  `json:"WeeklyBillCycleDay"`
	BillingTiming                     *string  `json:"BillingTiming"`
	BillingPeriodAlignment            *string  `json:"BillingPeriodAlignment"`
	TriggerEvent                      *string  `json:"TriggerEvent"`
	UOM                               *string  `json:"UOM"`
	DefaultQuantity                   *float64 `json:"DefaultQuantity"`
	MinQuantity                       *float64 `json:"MinQuantity"`
	MaxQuantity                       *float64 `json:"MaxQuantity"`
	AccountingCode                    *string  `json:"AccountingCode"`
	DeferredRevenueAccount            *string  `json:"DeferredRevenueAccount"`
	RecognizedRevenueAccount          *string  `json:"RecognizedRevenueAccount"`
	ListPriceBase                     *string  `json:"ListPriceBase"`
	RatingGroup                       *string  `json:"RatingGroup"`
	Taxable                           *bool    `json:"Taxable"`
	TaxCode                           *string  `json:"TaxCode"`
	TaxMode                           *string  `json:"TaxMode"`
	EndDateCondition                  *string  `json:"EndDateCondition"`
	RevenueRecognitionRuleName        *string  `json:"RevenueRecognitionRuleName"`
	ProductRatePlanChargeNumber       *string  `json:"ProductRatePlanChargeNumber"`
	UseDiscountSpecificAccountingCode *bool    `json:"UseDiscountSpecificAccountingCode"` // discounts only; accepted
	ProductRatePlanChargeTierData     *struct {
		ProductRatePlanChargeTier []chargeTierInput `json:"ProductRatePlanChargeTier"`
	} `json:"ProductRatePlanChargeTierData"`
}

// unsimulatedChargeFields are request fields that change what a charge bills but that the simulator does not
// model; a non-empty value is refused instead of being dropped.
var unsimulatedChargeFields = []string{"IncludedUnits", "OverageCalculationOption", "OverageUnusedUnitsCreditOption",
	"SmoothingModel", "NumberOfPeriod", "IsPrepaid", "PrepaidQuantity", "PrepaidTotalQuantity", "PrepaidUom",
	"PrepaidOperationType", "DrawdownRate", "DrawdownUom", "CommitmentType", "CreditOption", "IsRollover",
	"RolloverApply", "RolloverPeriods", "RolloverPeriodLength", "ValidityPeriodType", "UpToPeriods", "UpToPeriodsType",
	"DiscountLevel", "ApplyDiscountTo", "IsStackedDiscount", "Formula", "ChargeModelConfiguration", "DeliverySchedule",
	"PriceIncreasePercentage", "SpecificListPriceBase"}

// acceptedChargeFields are request fields of the schema the simulator accepts and ignores: they only matter to
// revenue, tax or finance integrations, which are not simulated.
var acceptedChargeFields = []string{"ApplyToBillingPeriodPartially", "ChargeFunction", "ExcludeItemBillingFromRevenueAccounting",
	"ExcludeItemBookingFromRevenueAccounting", "IsAllocationEligible", "IsUnbilled", "LegacyRevenueReporting",
	"PriceChangeOption", "PriceIncreaseOption", "ProductCategory", "ProductClass", "ProductFamily", "ProductLine",
	"ProrationOption", "ReflectDiscountInNetAmount", "RevRecCode", "RevRecTriggerCondition",
	"RevenueRecognitionTiming", "RevenueAmortizationMethod", "UsageRecordRatingOption", "UseTenantDefaultForPriceChange"}

var chargeInputFields = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[chargeInput]()
	for i := range t.NumField() {
		m[strings.Split(t.Field(i).Tag.Get("json"), ",")[0]] = true
	}
	for _, f := range append(slices.Clone(unsimulatedChargeFields), acceptedChargeFields...) {
		m[f] = true
	}
	return m
}()

// errUnrecognisedFields is not an envelope: rejectUnknownFields=true makes Zuora answer 400 with exactly this body
// (CRUD reference, "rejectUnknownFields" query parameter).
var errUnrecognisedFields = errors.New("Error - unrecognised fields")

// decodeChargeInput parses a CRUD create body. CRUD ignores unknown fields unless rejectUnknownFields=true;
// custom fields (…__c) must be defined on ProductRatePlanCharge; NetSuite fields (…__NS) are accepted.
func (st *store) decodeChargeInput(body []byte, rejectUnknown bool) (*chargeInput, map[string]string, *apiError, error) {
	var raw map[string]json.RawMessage
	if e := decodeJSONLoose(body, &raw); e != nil {
		return nil, nil, e, nil
	}
	custom := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		v := raw[k]
		switch {
		case strings.HasSuffix(k, "__c"):
			if !st.customFieldDefined(catalogCustomPrice, k) {
				return nil, nil, errUnknownParam(k), nil
			}
			var sv *string
			if json.Unmarshal(v, &sv) != nil {
				return nil, nil, errInvalid(k, "'%s' must be a string", k), nil
			}
			if sv != nil {
				custom[k] = *sv
			}
		case strings.HasSuffix(k, "__NS"):
		case !chargeInputFields[k]:
			if rejectUnknown {
				return nil, nil, nil, errUnrecognisedFields
			}
		case slices.Contains(unsimulatedChargeFields, k):
			if s := strings.TrimSpace(string(v)); s != "null" && s != "false" && s != `""` {
				return nil, nil, errInvalid(k, "zuorasim does not simulate '%s'", k), nil
			}
		}
	}
	var in chargeInput
	if e := decodeJSONLoose(body, &in); e != nil {
		return nil, nil, e, nil
	}
	return &in, custom, nil, nil
}

// decodeJSONLoose is decodeJSON without the unknown-field check (the CRUD API ignores unknown fields).
func decodeJSONLoose(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return errInvalid(typeErr.Field, "'%s' must be of type %s", typeErr.Field, jsonTypeName(typeErr.Type.String()))
		}
		return errMalformed(err)
	}
	return nil
}

// proxyCreateResponse is "ProxyCreateOrModifyResponse".
type proxyCreateResponse struct {
	Success bool   `json:"Success"`
	ID      string `json:"Id"`
}

func (s *Sim) createCharge(r *http.Request, st *store) (reply, *apiError) {
	body, err := readBody(r)
	if err != nil {
		return reply{}, errMalformed(err)
	}
	in, custom, e, rerr := st.decodeChargeInput(body, r.URL.Query().Get("rejectUnknownFields") == "true")
	if rerr != nil {
		return replyWith(http.StatusBadRequest, map[string]string{"message": rerr.Error()}), nil
	}
	if e != nil {
		return reply{}, e
	}
	c, e := st.newChargeFromInput(in, custom)
	if e != nil {
		return reply{}, e
	}
	if e := st.validateCharge(c); e != nil {
		return reply{}, e
	}
	now := s.timestamp()
	c.ID, c.CreatedTime, c.UpdatedTime = newID(), now, now
	st.cat.addCharge(c)
	return replyOK(proxyCreateResponse{Success: true, ID: c.ID}), nil
}

// addCharge records a new, validated charge: it gets the next free "PRPC-%08d" number unless it has one, and
// its plan activates the currencies it uses. Caller holds st.mu for writing.
func (c *catalogStore) addCharge(ch *Charge) {
	for ch.Number == "" {
		c.chargeSeq++
		if n := fmt.Sprintf("PRPC-%08d", c.chargeSeq); c.chargesByNum[n] == nil {
			ch.Number = n
		}
	}
	c.charges = append(c.charges, ch)
	c.chargesByID[ch.ID] = ch
	c.chargesByNum[ch.Number] = ch
	c.plansByID[ch.PlanID].activateCurrencies(ch.currencies())
}

// replaceCharge stores a validated new version of a charge in place (same id and number), and its plan
// activates the currencies it uses. Caller holds st.mu for writing.
func (c *catalogStore) replaceCharge(orig, next *Charge) {
	*orig = *next
	c.plansByID[orig.PlanID].activateCurrencies(orig.currencies())
}

// newChargeFromInput builds an unvalidated charge from a create body, applying Zuora's defaults: BillCycleType
// DefaultFromCustomer, TriggerEvent ContractEffective, BillingTiming In Advance and ListPriceBase Per Billing
// Period for recurring charges, BillingPeriod Month and RatingGroup ByBillingPeriod for usage charges.
func (st *store) newChargeFromInput(in *chargeInput, custom map[string]string) (*Charge, *apiError) {
	switch {
	case in.Name == nil:
		return nil, errMissing("Name")
	case in.ProductRatePlanID == nil:
		return nil, errMissing("ProductRatePlanId")
	case in.ChargeModel == nil:
		return nil, errMissing("ChargeModel")
	case in.ChargeType == nil:
		return nil, errMissing("ChargeType")
	case in.ProductRatePlanChargeTierData == nil || len(in.ProductRatePlanChargeTierData.ProductRatePlanChargeTier) == 0:
		return nil, errMissing("ProductRatePlanChargeTierData")
	}
	pl := st.cat.plansByID[*in.ProductRatePlanID]
	if pl == nil {
		return nil, errReferenceNotFound("ProductRatePlanId", *in.ProductRatePlanID)
	}
	c := &Charge{PlanID: pl.ID, Name: *in.Name, ChargeModel: *in.ChargeModel, ChargeType: *in.ChargeType,
		BillCycleType: "DefaultFromCustomer", TriggerEvent: "ContractEffective", BillingPeriodAlignment: "AlignToCharge",
		EndDateCondition: "SubscriptionEnd", RevenueRecognitionRuleName: "Recognize upon invoicing", CustomFields: custom}
	switch c.ChargeType {
	case typeRecurring:
		c.BillingTiming, c.ListPriceBase = "In Advance", "Per Billing Period"
	case typeUsage:
		c.BillingPeriod, c.RatingGroup = "Month", "ByBillingPeriod"
	}
	setStr(&c.Description, in.Description)
	setStr(&c.BillingPeriod, in.BillingPeriod)
	setStr(&c.BillCycleType, in.BillCycleType)
	setStr(&c.WeeklyBillCycleDay, in.WeeklyBillCycleDay)
	setStr(&c.BillingTiming, in.BillingTiming)
	setStr(&c.BillingPeriodAlignment, in.BillingPeriodAlignment)
	setStr(&c.TriggerEvent, in.TriggerEvent)
	setStr(&c.UOM, in.UOM)
	setStr(&c.AccountingCode, in.AccountingCode)
	setStr(&c.DeferredRevenueAccount, in.DeferredRevenueAccount)
	setStr(&c.RecognizedRevenueAccount, in.RecognizedRevenueAccount)
	setStr(&c.ListPriceBase, in.ListPriceBase)
	setStr(&c.RatingGroup, in.RatingGroup)
	setStr(&c.TaxCode, in.TaxCode)
	setStr(&c.TaxMode, in.TaxMode)
	setStr(&c.EndDateCondition, in.EndDateCondition)
	setStr(&c.RevenueRecognitionRuleName, in.RevenueRecognitionRuleName)
	setStr(&c.Number, in.ProductRatePlanChargeNumber)
	if in.SpecificBillingPeriod != nil {
		c.SpecificBillingPeriod = *in.SpecificBillingPeriod
	}
	if in.BillCycleDay != nil {
		c.BillCycleDay = *in.BillCycleDay
	}
	if in.Taxable != nil {
		c.Taxable = *in.Taxable
	}
	if c.OneTime() {
		// One-time charges have no billing period, timing or list price base; Zuora ignores them.
		c.BillingPeriod, c.BillingTiming, c.ListPriceBase, c.RatingGroup = "", "", "", ""
	}
	c.DefaultQuantity, c.MinQuantity, c.MaxQuantity = in.DefaultQuantity, in.MinQuantity, in.MaxQuantity
	for i, t := range in.ProductRatePlanChargeTierData.ProductRatePlanChargeTier {
		p := fmt.Sprintf("ProductRatePlanChargeTier[%d]", i)
		switch {
		case t.Currency == nil:
			return nil, errMissing(p + ".Currency")
		case t.Price == nil:
			return nil, errMissing(p + ".Price")
		}
		ct := ChargeTier{Currency: strings.ToUpper(*t.Currency), Price: *t.Price, EndingUnit: t.EndingUnit}
		if t.StartingUnit != nil {
			ct.StartingUnit = *t.StartingUnit
		} else if c.tiered() {
			return nil, errMissing(p + ".StartingUnit")
		}
		if t.Tier != nil {
			ct.Tier = *t.Tier
		}
		switch {
		case c.ChargeModel == modelFlatFee:
			ct.PriceFormat, ct.EndingUnit = formatFlatFee, nil
		case c.ChargeModel == modelPerUnit:
			ct.PriceFormat, ct.EndingUnit = formatPerUnit, nil
		case t.PriceFormat != nil:
			ct.PriceFormat = *t.PriceFormat
		default:
			ct.PriceFormat = formatPerUnit
		}
		c.Tiers = append(c.Tiers, ct)
	}
	// Group by currency (first-seen order), keeping the given order (or the Tier numbers) within a currency.
	var grouped []ChargeTier
	for _, cur := range c.currencies() {
		ts := c.tiersOf(cur)
		slices.SortStableFunc(ts, func(a, b ChargeTier) int { return a.Tier - b.Tier })
		for i := range ts {
			ts[i].Tier = i + 1
		}
		grouped = append(grouped, ts...)
	}
	c.Tiers = grouped
	return c, nil
}

// OneTime reports whether the charge is a one-time charge.
func (c *Charge) OneTime() bool { return c.ChargeType == typeOneTime }

func oneOf(param, v string, allowed []string) *apiError {
	if !slices.Contains(allowed, v) {
		return errInvalid(param, "'%s' must be one of: %s", param, strings.Join(allowed, ", "))
	}
	return nil
}

const epsilon = 1e-9

// validateCharge checks a whole charge (a create, or a price after a patch) against Zuora's catalog rules.
// Caller holds st.mu.
func (st *store) validateCharge(c *Charge) *apiError {
	pl := st.cat.plansByID[c.PlanID]
	if pl == nil {
		return errReferenceNotFound("ProductRatePlanId", c.PlanID)
	}
	if strings.TrimSpace(c.Name) == "" || len(c.Name) > 100 {
		return errInvalid("Name", "'Name' must be 1 to 100 characters")
	}
	for _, other := range st.cat.charges {
		// Charge names are unique within a product rate plan.
		if other.PlanID == c.PlanID && other.ID != c.ID && other.Name == c.Name {
			e := errInvalid("Name", "a charge named '%s' already exists in product rate plan '%s'", c.Name, pl.Name)
			e.crudCode = "DUPLICATE_VALUE"
			return e
		}
	}
	if c.Number != "" {
		if other := st.cat.chargesByNum[c.Number]; other != nil && other.ID != c.ID {
			e := errInvalid("ProductRatePlanChargeNumber", "charge number '%s' is already used", c.Number)
			e.crudCode = "DUPLICATE_VALUE"
			return e
		}
	}
	if len(c.Description) > maxDescriptionLen {
		return errInvalid("Description", "'Description' must be at most %d characters", maxDescriptionLen)
	}
	if e := oneOf("ChargeModel", c.ChargeModel, chargeModelEnum); e != nil {
		return e
	}
	if !slices.Contains(simulatedModels, c.ChargeModel) {
		return errInvalid("ChargeModel", "zuorasim does not simulate the charge model '%s'", c.ChargeModel)
	}
	if e := oneOf("ChargeType", c.ChargeType, chargeTypeEnum); e != nil {
		return e
	}
	if !c.OneTime() {
		if c.BillingPeriod == "" {
			return errMissing("BillingPeriod")
		}
		if e := oneOf("BillingPeriod", c.BillingPeriod, billingPeriodEnum); e != nil {
			return e
		}
		if strings.HasPrefix(c.BillingPeriod, "Specific ") && c.SpecificBillingPeriod < 1 {
			return errInvalid("SpecificBillingPeriod", "'SpecificBillingPeriod' is required for billing period '%s'", c.BillingPeriod)
		}
		if e := oneOf("BillCycleType", c.BillCycleType, billCycleTypeEnum); e != nil {
			return e
		}
		if c.BillCycleType == "SpecificDayofMonth" && (c.BillCycleDay < 1 || c.BillCycleDay > 31) {
			return errInvalid("BillCycleDay", "'BillCycleDay' must be between 1 and 31 when 'BillCycleType' is SpecificDayofMonth")
		}
		if c.BillCycleType == "SpecificDayofWeek" {
			if e := oneOf("WeeklyBillCycleDay", c.WeeklyBillCycleDay, weekdayEnum); e != nil {
				return e
			}
		}
		if e := oneOf("BillingPeriodAlignment", c.BillingPeriodAlignment, alignmentEnum); e != nil {
			return e
		}
	}
	if c.ChargeType == typeRecurring {
		if e := oneOf("BillingTiming", c.BillingTiming, billingTimingEnum); e != nil {
			return e
		}
		if e := oneOf("ListPriceBase", c.ListPriceBase, listPriceBaseEnum); e != nil {
			return e
		}
	}
	if c.ChargeType == typeUsage {
		if e := oneOf("RatingGroup", c.RatingGroup, ratingGroupEnum); e != nil {
			return e
		}
	}
	if e := oneOf("TriggerEvent", c.TriggerEvent, triggerEventEnum); e != nil {
		return e
	}
	if e := oneOf("EndDateCondition", c.EndDateCondition, endDateConditionEnm); e != nil {
		return e
	}
	if e := oneOf("RevenueRecognitionRuleName", c.RevenueRecognitionRuleName, revRecRuleEnum); e != nil {
		return e
	}
	if c.TaxMode != "" {
		if e := oneOf("TaxMode", c.TaxMode, taxModeEnum); e != nil {
			return e
		}
	}
	for _, f := range []struct {
		name string
		v    string
		max  int
	}{{"AccountingCode", c.AccountingCode, 100}, {"DeferredRevenueAccount", c.DeferredRevenueAccount, 100},
		{"RecognizedRevenueAccount", c.RecognizedRevenueAccount, 100}, {"TaxCode", c.TaxCode, 64}, {"UOM", c.UOM, 25}} {
		if len(f.v) > f.max {
			return errInvalid(f.name, "'%s' must be at most %d characters", f.name, f.max)
		}
	}
	step := 1.0
	if c.needsUOM() {
		if c.UOM == "" {
			return errInvalid("UOM", "'UOM' is required for %s %s charges", c.ChargeType, c.ChargeModel)
		}
	}
	if c.UOM != "" {
		u := st.cat.uomsByName[c.UOM]
		if u == nil || !u.Active {
			return errInvalid("UOM", "'%s' is not an active unit of measure", c.UOM)
		}
		step = math.Pow10(-u.DecimalPlaces)
	}
	if e := validateQuantities(c); e != nil {
		return e
	}
	return st.validateTiers(c, step)
}

func validateQuantities(c *Charge) *apiError {
	if c.ChargeModel == modelFlatFee && (c.MinQuantity != nil || c.MaxQuantity != nil) {
		return errInvalid("MinQuantity", "'MinQuantity' and 'MaxQuantity' apply to per-unit, tiered and volume charges only")
	}
	for _, q := range []struct {
		name string
		v    *float64
	}{{"DefaultQuantity", c.DefaultQuantity}, {"MinQuantity", c.MinQuantity}, {"MaxQuantity", c.MaxQuantity}} {
		if q.v != nil && (*q.v < 0 || math.IsNaN(*q.v) || math.IsInf(*q.v, 0)) {
			return errInvalid(q.name, "'%s' must not be negative", q.name)
		}
	}
	if c.MinQuantity != nil && c.MaxQuantity != nil && *c.MinQuantity > *c.MaxQuantity {
		return errInvalid("MaxQuantity", "'MaxQuantity' must not be less than 'MinQuantity'")
	}
	if d := c.DefaultQuantity; d != nil {
		if (c.MinQuantity != nil && *d < *c.MinQuantity) || (c.MaxQuantity != nil && *d > *c.MaxQuantity) {
			return errInvalid("DefaultQuantity", "'DefaultQuantity' must be between 'MinQuantity' and 'MaxQuantity'")
		}
	}
	return nil
}

// validateTiers checks currencies and the tier convention described at the top of this file.
func (st *store) validateTiers(c *Charge, step float64) *apiError {
	const p = "ProductRatePlanChargeTier"
	if len(c.Tiers) == 0 {
		return errMissing("ProductRatePlanChargeTierData")
	}
	var first []ChargeTier
	for i, cur := range c.currencies() {
		if !isCurrencyCode(cur) || !st.currencyEnabled(cur) {
			return errInvalid(p+".Currency", "currency '%s' is not enabled in the tenant", cur)
		}
		ts := c.tiersOf(cur)
		for _, t := range ts {
			if t.Price < 0 || math.IsNaN(t.Price) || math.IsInf(t.Price, 0) {
				return errInvalid(p+".Price", "'Price' must be a non-negative number")
			}
			if e := oneOf(p+".PriceFormat", t.PriceFormat, priceFormatEnum); e != nil {
				return e
			}
		}
		if !c.tiered() {
			if len(ts) != 1 {
				return errInvalid(p, "a %s charge has exactly one price per currency; %s has %d", c.ChargeModel, cur, len(ts))
			}
			continue
		}
		for n, t := range ts {
			last := n == len(ts)-1
			switch {
			case n == 0 && t.StartingUnit != 0:
				return errInvalid(p+".StartingUnit", "the first tier must start at 0")
			case last && t.EndingUnit != nil:
				return errInvalid(p+".EndingUnit", "the last tier must not have an 'EndingUnit'")
			case !last && t.EndingUnit == nil:
				return errInvalid(p+".EndingUnit", "tier %d needs an 'EndingUnit': only the last tier is open-ended", n+1)
			case !last && *t.EndingUnit < t.StartingUnit:
				return errInvalid(p+".EndingUnit", "tier %d ends before it starts", n+1)
			case n > 0 && math.Abs(t.StartingUnit-(*ts[n-1].EndingUnit+step)) > epsilon:
				return errInvalid(p+".StartingUnit", "tier %d must start at %s, one unit after the previous tier's EndingUnit",
					n+1, strconv.FormatFloat(*ts[n-1].EndingUnit+step, 'f', -1, 64))
			}
		}
		if i == 0 {
			first = ts
			continue
		}
		// Every currency shares the tier bounds and formats of the first one.
		if len(ts) != len(first) {
			return errInvalid(p, "currency %s has %d tiers but %s has %d; every currency needs the same tiers", cur, len(ts), first[0].Currency, len(first))
		}
		for n := range ts {
			a, b := ts[n], first[n]
			if a.StartingUnit != b.StartingUnit || !equalPtr(a.EndingUnit, b.EndingUnit) || a.PriceFormat != b.PriceFormat {
				return errInvalid(p, "tier %d of %s differs from tier %d of %s in its bounds or price format", n+1, cur, n+1, b.Currency)
			}
		}
	}
	return nil
}

func equalPtr(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// chargeCurrencies lists the currencies the plan's charges use. Caller holds st.mu.
func (st *store) chargeCurrencies(planID string) []string {
	var out []string
	for _, c := range st.cat.chargesOf(planID) {
		for _, cur := range c.currencies() {
			if !slices.Contains(out, cur) {
				out = append(out, cur)
			}
		}
	}
	return out
}

// lookupCharge finds a charge by id or charge number. Caller holds st.mu.
func (c *catalogStore) lookupCharge(key string) *Charge {
	if ch, ok := c.chargesByID[key]; ok {
		return ch
	}
	return c.chargesByNum[key]
}

// chargeByID finds a charge by id only (the CRUD API addresses records by id). Caller holds st.mu.
func (c *catalogStore) chargeByID(id string) *Charge { return c.chargesByID[id] }

// allCharges lists the charges (= prices) in creation order. Caller holds st.mu.
func (c *catalogStore) allCharges() []*Charge { return c.charges }

// chargesOf lists the charges of a plan in creation order. Caller holds st.mu.
func (c *catalogStore) chargesOf(planID string) []*Charge {
	var out []*Charge
	for _, ch := range c.charges {
		if ch.PlanID == planID {
			out = append(out, ch)
		}
	}
	return out
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return b, nil
}
