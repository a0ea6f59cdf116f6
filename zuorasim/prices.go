package zuorasim

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Quickstart prices: GET /v2/prices/{price_id}, PATCH /v2/prices/{price_id} and GET /v2/prices. A price is the
// same object as a V1 product rate plan charge (same id): priceView maps a Charge onto the Quickstart "price"
// schema and a PATCH changes the Charge, so every read sees it. POST /v2/prices is not simulated (the integration
// creates charges through the V1 CRUD API, which carries the whole configuration).
//
// Mapping (V1 CRUD → Quickstart): ChargeModel Flat Fee/Per Unit/Tiered/Volume Pricing → charge_model flat_fee/
// per_unit/tiered/volume, tiered → tiers_mode graduated, volume → volume; ChargeType → charge_type one_time/
// recurring/usage, usage also recurring.usage=true; BillingPeriod → recurring.interval + interval_count (Month →
// month×1, Quarter → month×3, Semi-Annual → month×6, Annual → year×1, Week → week×1, Subscription Term → term,
// Specific Months/Weeks/Days → month/week/day × SpecificBillingPeriod); BillCycleType → recurring.recurring_on;
// BillingTiming → recurring.timing; BillingPeriodAlignment → recurring.alignment_behavior; RatingGroup →
// recurring.rating_group; TriggerEvent → start_event; flat fee price → amounts{currency}; per unit price →
// unit_amounts{currency}; tier → {up_to: EndingUnit (absent on the last tier), amounts or unit_amounts by
// PriceFormat}; UOM → unit_of_measure; DefaultQuantity/MinQuantity/MaxQuantity → quantity/min_quantity/
// max_quantity; AccountingCode, RecognizedRevenueAccount, DeferredRevenueAccount → accounting_code,
// recognized_revenue_accounting_code, deferred_revenue_accounting_code; ListPriceBase → price_base_interval.
//
// What a PATCH cannot change, because Zuora does not change it on an existing charge (a new price is needed):
// the charge model (tiers_mode, or amounts/unit_amounts/tiers of another model), the charge type
// (recurring.usage, or recurring on a one-time price), the billing period (recurring.interval/interval_count) and
// the unit of measure. Such a PATCH fails with 400 bad_request / invalid_parameter naming the field.

// Price is a Quickstart price.
type Price struct {
	ID                              string             `json:"id"`
	Name                            string             `json:"name"`
	Description                     string             `json:"description,omitempty"`
	PlanID                          string             `json:"plan_id"`
	PlanNumber                      string             `json:"plan_number,omitempty"`
	ChargeModel                     string             `json:"charge_model"`
	ChargeType                      string             `json:"charge_type"`
	Recurring                       *PriceRecurring    `json:"recurring,omitempty"`
	StartEvent                      string             `json:"start_event"`
	UnitOfMeasure                   string             `json:"unit_of_measure,omitempty"`
	Quantity                        *float64           `json:"quantity,omitempty"`
	MinQuantity                     *float64           `json:"min_quantity,omitempty"`
	MaxQuantity                     *float64           `json:"max_quantity,omitempty"`
	Amounts                         map[string]float64 `json:"amounts,omitempty"`
	UnitAmounts                     map[string]float64 `json:"unit_amounts,omitempty"`
	TiersMode                       string             `json:"tiers_mode,omitempty"`
	Tiers                           []PriceTier        `json:"tiers,omitempty"`
	AccountingCode                  string             `json:"accounting_code,omitempty"`
	RecognizedRevenueAccountingCode string             `json:"recognized_revenue_accounting_code,omitempty"`
	DeferredRevenueAccountingCode   string             `json:"deferred_revenue_accounting_code,omitempty"`
	PriceBaseInterval               string             `json:"price_base_interval,omitempty"`
	RevenueRecognitionRule          string             `json:"revenue_recognition_rule,omitempty"`
	Taxable                         bool               `json:"taxable"`
	TaxCode                         string             `json:"tax_code,omitempty"`
	TaxInclusive                    bool               `json:"tax_inclusive"`
	Active                          bool               `json:"active"`
	CustomFields                    map[string]string  `json:"custom_fields"`
	CreatedByID                     string             `json:"created_by_id"`
	CreatedTime                     string             `json:"created_time"`
	UpdatedByID                     string             `json:"updated_by_id"`
	UpdatedTime                     string             `json:"updated_time"`
}

// PriceRecurring is the Quickstart "recurring" object.
type PriceRecurring struct {
	Interval          string `json:"interval,omitempty"`
	IntervalCount     int    `json:"interval_count,omitempty"`
	RecurringOn       string `json:"recurring_on,omitempty"`
	AlignmentBehavior string `json:"alignment_behavior,omitempty"`
	Timing            string `json:"timing,omitempty"`
	Usage             bool   `json:"usage"`
	RatingGroup       string `json:"rating_group,omitempty"`
}

// PriceTier is the Quickstart "tier" object.
type PriceTier struct {
	UpTo        *float64           `json:"up_to,omitempty"`
	Amounts     map[string]float64 `json:"amounts,omitempty"`
	UnitAmounts map[string]float64 `json:"unit_amounts,omitempty"`
}

// Vocabulary maps, V1 CRUD value → Quickstart value.
var (
	qsChargeModel = map[string]string{modelFlatFee: "flat_fee", modelPerUnit: "per_unit", modelTiered: "tiered", modelVolume: "volume"}
	qsChargeType  = map[string]string{typeOneTime: "one_time", typeRecurring: "recurring", typeUsage: "usage"}
	qsTiersMode   = map[string]string{modelTiered: "graduated", modelVolume: "volume"}
	qsStartEvent  = map[string]string{"ContractEffective": "contract_effective", "ServiceActivation": "service_activation",
		"CustomerAcceptance": "customer_acceptance"}
	qsTiming    = map[string]string{"In Advance": "in_advance", "In Arrears": "in_arrears"}
	qsAlignment = map[string]string{"AlignToCharge": "none", "AlignToSubscriptionStart": "subscription_start",
		"AlignToTermStart": "term_start", "AlignToTermEnd": "term_end"}
	qsRatingGroup = map[string]string{"ByBillingPeriod": "billing_period", "ByUsageStartDate": "usage_start_date",
		"ByUsageRecord": "usage_record", "ByUsageUpload": "usage_upload", "ByGroupId": "custom_group"}
	qsRecurringOn = map[string]string{"DefaultFromCustomer": "account_cycle_date", "SubscriptionStartDay": "subscription_start_day",
		"ChargeTriggerDay": "subscription_item_start_day", "TermEndDay": "term_end_day"}
	qsPriceBase = map[string]string{"Per Billing Period": "billing_period", "Per Month": "month", "Per Week": "week"}
	qsRevRec    = map[string]string{"Recognize upon invoicing": "on_invoice", "Recognize daily over time": "daily_over_time"}
)

// reverse finds the V1 value of a Quickstart value.
func reverse(m map[string]string, qs string) (string, bool) {
	for k, v := range m {
		if v == qs {
			return k, true
		}
	}
	return "", false
}

// interval maps a billing period onto recurring.interval and interval_count.
func (c *Charge) interval() (string, int) {
	switch c.BillingPeriod {
	case "Month":
		return "month", 1
	case "Quarter":
		return "month", 3
	case "Semi-Annual":
		return "month", 6
	case "Annual":
		return "year", 1
	case "Week":
		return "week", 1
	case "Subscription Term":
		return "term", 0
	case "Specific Months":
		return "month", c.SpecificBillingPeriod
	case "Specific Weeks":
		return "week", c.SpecificBillingPeriod
	case "Specific Days":
		return "day", c.SpecificBillingPeriod
	}
	return "", 0
}

func (c *Charge) recurringOn() string {
	switch c.BillCycleType {
	case "SpecificDayofMonth":
		return "_" + strconv.Itoa(c.BillCycleDay)
	case "SpecificDayofWeek":
		return strings.ToLower(c.WeeklyBillCycleDay)
	}
	return qsRecurringOn[c.BillCycleType] // TermStartDay has no Quickstart value: omitted
}

// priceView renders c as a Quickstart price. Caller holds st.mu.
func (st *store) priceView(c *Charge) Price {
	p := Price{ID: c.ID, Name: c.Name, Description: c.Description, PlanID: c.PlanID,
		ChargeModel: qsChargeModel[c.ChargeModel], ChargeType: qsChargeType[c.ChargeType],
		StartEvent: qsStartEvent[c.TriggerEvent], UnitOfMeasure: c.UOM, Quantity: clonePtr(c.DefaultQuantity),
		MinQuantity: clonePtr(c.MinQuantity), MaxQuantity: clonePtr(c.MaxQuantity), TiersMode: qsTiersMode[c.ChargeModel],
		AccountingCode: c.AccountingCode, RecognizedRevenueAccountingCode: c.RecognizedRevenueAccount,
		DeferredRevenueAccountingCode: c.DeferredRevenueAccount, PriceBaseInterval: qsPriceBase[c.ListPriceBase],
		RevenueRecognitionRule: qsRevRec[c.RevenueRecognitionRuleName], Taxable: c.Taxable, TaxCode: c.TaxCode,
		TaxInclusive: c.TaxMode == "TaxInclusive", Active: true, CustomFields: maps.Clone(c.CustomFields),
		CreatedByID: simUserID, CreatedTime: c.CreatedTime, UpdatedByID: simUserID, UpdatedTime: c.UpdatedTime}
	if p.CustomFields == nil {
		p.CustomFields = map[string]string{}
	}
	if pl := st.cat.plansByID[c.PlanID]; pl != nil {
		p.PlanNumber = pl.PlanNumber
	}
	if !c.OneTime() {
		iv, n := c.interval()
		p.Recurring = &PriceRecurring{Interval: iv, IntervalCount: n, RecurringOn: c.recurringOn(),
			AlignmentBehavior: qsAlignment[c.BillingPeriodAlignment], Timing: qsTiming[c.BillingTiming],
			Usage: c.ChargeType == typeUsage, RatingGroup: qsRatingGroup[c.RatingGroup]}
	}
	if !c.tiered() {
		for _, t := range c.Tiers {
			if t.PriceFormat == formatFlatFee {
				p.Amounts = addMoney(p.Amounts, t.Currency, t.Price)
			} else {
				p.UnitAmounts = addMoney(p.UnitAmounts, t.Currency, t.Price)
			}
		}
		return p
	}
	curs := c.currencies()
	for n := range c.tiersOf(curs[0]) {
		pt := PriceTier{UpTo: clonePtr(c.tiersOf(curs[0])[n].EndingUnit)}
		for _, cur := range curs {
			ts := c.tiersOf(cur)
			if n >= len(ts) { // only a drifted charge (MutateCharge) can have uneven tiers
				continue
			}
			if ts[n].PriceFormat == formatFlatFee {
				pt.Amounts = addMoney(pt.Amounts, cur, ts[n].Price)
			} else {
				pt.UnitAmounts = addMoney(pt.UnitAmounts, cur, ts[n].Price)
			}
		}
		p.Tiers = append(p.Tiers, pt)
	}
	return p
}

func addMoney(m map[string]float64, cur string, v float64) map[string]float64 {
	if m == nil {
		m = map[string]float64{}
	}
	m[cur] = v
	return m
}

func (s *Sim) getPrice(r *http.Request, st *store) (reply, *apiError) {
	c := st.cat.lookupCharge(r.PathValue("price_id"))
	if c == nil {
		return reply{}, errNotFound("price", r.PathValue("price_id"))
	}
	return replyOK(project(st.priceView(c), parseFields(r, "price"), nil)), nil
}

// priceFilters are the documented filterable fields of GET /v2/prices. charge_model and charge_type compare the
// Quickstart vocabulary (flat_fee, recurring, …), as priceView renders them.
var priceFilters = filterFields(catalogCustomPrice, "id", "plan_id", "name", "charge_model", "charge_type",
	"unit_of_measure", "accounting_code", "created_time", "updated_time")

func (s *Sim) listPrices(r *http.Request, st *store) (reply, *apiError) {
	p, e := parseListParams(r, "price")
	if e != nil {
		return reply{}, e
	}
	p.expand = nil // a price has no expandable relations: expand[] adds nothing to a fields[] projection
	return listOf(st, p, st.cat.allCharges(), priceFilters, func(c *Charge) any { return st.priceView(c) })
}

// ---- PATCH ----

type recurringInput struct {
	RecurringOn           *string         `json:"recurring_on"`
	On                    *string         `json:"on"`
	Usage                 *bool           `json:"usage"`
	Interval              *string         `json:"interval"`
	IntervalCount         *int            `json:"interval_count"`
	AlignmentBehavior     *string         `json:"alignment_behavior"`
	Timing                *string         `json:"timing"`
	Formula               ignored         `json:"formula"` // read-only
	DurationInterval      json.RawMessage `json:"duration_interval"`
	DurationIntervalCount json.RawMessage `json:"duration_interval_count"`
	RatingGroup           *string         `json:"rating_group"`
}

type tierInput struct {
	UpTo        *float64           `json:"up_to"`
	Amounts     map[string]float64 `json:"amounts"`
	UnitAmounts map[string]float64 `json:"unit_amounts"`
}

// pricePatchInput is "pricePatchRequest". json.RawMessage fields are schema fields the simulator does not model.
type pricePatchInput struct {
	quickstartInputBase
	Name                            *string             `json:"name"`
	Description                     *string             `json:"description"`
	RecognizedRevenueAccountingCode *string             `json:"recognized_revenue_accounting_code"`
	DeferredRevenueAccountingCode   *string             `json:"deferred_revenue_accounting_code"`
	Recurring                       *recurringInput     `json:"recurring"`
	StartEvent                      *string             `json:"start_event"`
	TiersMode                       *string             `json:"tiers_mode"`
	ApplyDiscountTo                 json.RawMessage     `json:"apply_discount_to"`
	Tiers                           *[]tierInput        `json:"tiers"`
	TaxCode                         *string             `json:"tax_code"`
	TaxInclusive                    *bool               `json:"tax_inclusive"`
	UnitOfMeasure                   *string             `json:"unit_of_measure"`
	Quantity                        *float64            `json:"quantity"`
	MinQuantity                     *float64            `json:"min_quantity"`
	MaxQuantity                     *float64            `json:"max_quantity"`
	DiscountLevel                   json.RawMessage     `json:"discount_level"`
	RevenueRecognitionRule          *string             `json:"revenue_recognition_rule"`
	StackedDiscount                 json.RawMessage     `json:"stacked_discount"`
	Amounts                         *map[string]float64 `json:"amounts"`
	UnitAmounts                     *map[string]float64 `json:"unit_amounts"`
	DiscountAmounts                 json.RawMessage     `json:"discount_amounts"`
	DiscountPercent                 json.RawMessage     `json:"discount_percent"`
	PriceBaseInterval               *string             `json:"price_base_interval"`
	Overage                         json.RawMessage     `json:"overage"`
	Revenue                         json.RawMessage     `json:"revenue"`
	AccountingCode                  *string             `json:"accounting_code"`
	Prepayment                      json.RawMessage     `json:"prepayment"`
	Drawdown                        json.RawMessage     `json:"drawdown"`
	Taxable                         *bool               `json:"taxable"`
	PriceChangePercentage           json.RawMessage     `json:"price_change_percentage"`
	PriceChangeOption               json.RawMessage     `json:"price_change_option"`
	PriceIncreaseOption             json.RawMessage     `json:"price_increase_option"`
}

// unsimulated refuses schema fields the simulator does not model, unless they carry their neutral value.
func (in *pricePatchInput) unsimulated() *apiError {
	neutral := func(raw json.RawMessage) bool {
		s := strings.TrimSpace(string(raw))
		return len(raw) == 0 || s == "null" || s == "false" || s == `"none"` || s == "[]" || s == "{}"
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"apply_discount_to", in.ApplyDiscountTo}, {"discount_level", in.DiscountLevel},
		{"stacked_discount", in.StackedDiscount}, {"discount_amounts", in.DiscountAmounts},
		{"discount_percent", in.DiscountPercent}, {"overage", in.Overage}, {"revenue", in.Revenue},
		{"prepayment", in.Prepayment}, {"drawdown", in.Drawdown}, {"price_change_percentage", in.PriceChangePercentage},
		{"price_change_option", in.PriceChangeOption}, {"price_increase_option", in.PriceIncreaseOption}} {
		if !neutral(f.raw) {
			return errInvalid(f.name, "zuorasim does not simulate '%s'", f.name)
		}
	}
	if rc := in.Recurring; rc != nil && (!neutral(rc.DurationInterval) || !neutral(rc.DurationIntervalCount)) {
		return errInvalid("recurring.duration_interval", "zuorasim does not simulate 'recurring.duration_interval'")
	}
	return nil
}

func errImmutable(param, what string) *apiError {
	return errInvalid(param, "'%s' cannot be changed: Zuora does not change the %s of an existing price; create a new price instead", param, what)
}

func (s *Sim) patchPrice(r *http.Request, st *store) (reply, *apiError) {
	var in pricePatchInput
	if e := decodeBody(r, &in); e != nil {
		return reply{}, e
	}
	if e := in.unsimulated(); e != nil {
		return reply{}, e
	}
	orig := st.cat.lookupCharge(r.PathValue("price_id"))
	if orig == nil {
		return reply{}, errNotFound("price", r.PathValue("price_id"))
	}
	if e := st.validateCustomFields(catalogCustomPrice, "custom_fields", in.CustomFields); e != nil {
		return reply{}, e
	}
	c := orig.clone()
	if e := st.applyPricePatch(c, &in); e != nil {
		return reply{}, e
	}
	if e := st.validateCharge(c); e != nil {
		return reply{}, qsParam(e)
	}
	c.UpdatedTime = s.timestamp()
	st.cat.replaceCharge(orig, c)
	return replyOK(project(st.priceView(orig), parseFields(r, "price"), nil)), nil
}

// qsParam renames the V1 field a shared validation names to its Quickstart parameter.
func qsParam(e *apiError) *apiError {
	names := map[string]string{"Name": "name", "Description": "description", "UOM": "unit_of_measure",
		"DefaultQuantity": "quantity", "MinQuantity": "min_quantity", "MaxQuantity": "max_quantity",
		"AccountingCode": "accounting_code", "DeferredRevenueAccount": "deferred_revenue_accounting_code",
		"RecognizedRevenueAccount": "recognized_revenue_accounting_code", "TaxCode": "tax_code",
		"BillCycleType": "recurring.recurring_on", "BillCycleDay": "recurring.recurring_on",
		"BillingTiming": "recurring.timing", "RatingGroup": "recurring.rating_group", "TriggerEvent": "start_event"}
	if q, ok := names[e.param]; ok {
		e.message = strings.ReplaceAll(e.message, "'"+e.param+"'", "'"+q+"'")
		e.param = q
	} else if strings.HasPrefix(e.param, "ProductRatePlanChargeTier") {
		e.param = "tiers"
	}
	return e
}

// applyPricePatch applies a pricePatchRequest to c (a copy), refusing what Zuora cannot change in place.
// Caller holds st.mu.
func (st *store) applyPricePatch(c *Charge, in *pricePatchInput) *apiError {
	if in.UnitOfMeasure != nil && *in.UnitOfMeasure != c.UOM {
		return errImmutable("unit_of_measure", "unit of measure")
	}
	if in.TiersMode != nil && *in.TiersMode != qsTiersMode[c.ChargeModel] {
		return errImmutable("tiers_mode", "charge model")
	}
	if rc := in.Recurring; rc != nil {
		if c.OneTime() {
			return errImmutable("recurring", "charge type")
		}
		if rc.Usage != nil && *rc.Usage != (c.ChargeType == typeUsage) {
			return errImmutable("recurring.usage", "charge type")
		}
		iv, n := c.interval()
		if rc.Interval != nil && *rc.Interval != iv {
			return errImmutable("recurring.interval", "billing period")
		}
		if rc.IntervalCount != nil && *rc.IntervalCount != n && !(iv == "term" && *rc.IntervalCount <= 1) {
			return errImmutable("recurring.interval_count", "billing period")
		}
		on := rc.RecurringOn
		if on == nil {
			on = rc.On
		}
		if on != nil {
			if e := setRecurringOn(c, *on); e != nil {
				return e
			}
		}
		if rc.AlignmentBehavior != nil {
			v, ok := reverse(qsAlignment, *rc.AlignmentBehavior)
			if !ok {
				return errInvalid("recurring.alignment_behavior", "'recurring.alignment_behavior' must be one of subscription_start, term_start, term_end, none")
			}
			c.BillingPeriodAlignment = v
		}
		if rc.Timing != nil {
			v, ok := reverse(qsTiming, *rc.Timing)
			if !ok || c.ChargeType != typeRecurring {
				return errInvalid("recurring.timing", "'recurring.timing' is in_advance or in_arrears and applies to recurring prices only")
			}
			c.BillingTiming = v
		}
		if rc.RatingGroup != nil {
			v, ok := reverse(qsRatingGroup, *rc.RatingGroup)
			if !ok || c.ChargeType != typeUsage {
				return errInvalid("recurring.rating_group", "'recurring.rating_group' is not valid for this price")
			}
			c.RatingGroup = v
		}
	}
	if in.StartEvent != nil {
		v, ok := reverse(qsStartEvent, *in.StartEvent)
		if !ok {
			return errInvalid("start_event", "'start_event' must be one of contract_effective, service_activation, customer_acceptance")
		}
		c.TriggerEvent = v
	}
	if in.RevenueRecognitionRule != nil {
		v, ok := reverse(qsRevRec, *in.RevenueRecognitionRule)
		if !ok {
			return errInvalid("revenue_recognition_rule", "'revenue_recognition_rule' must be on_invoice or daily_over_time")
		}
		c.RevenueRecognitionRuleName = v
	}
	if in.PriceBaseInterval != nil {
		v, ok := reverse(qsPriceBase, *in.PriceBaseInterval)
		if !ok || c.ChargeType != typeRecurring {
			return errInvalid("price_base_interval", "'price_base_interval' is month, billing_period or week and applies to recurring prices only")
		}
		c.ListPriceBase = v
	}
	setStr(&c.Name, in.Name)
	setStr(&c.Description, in.Description)
	setStr(&c.AccountingCode, in.AccountingCode)
	setStr(&c.RecognizedRevenueAccount, in.RecognizedRevenueAccountingCode)
	setStr(&c.DeferredRevenueAccount, in.DeferredRevenueAccountingCode)
	setStr(&c.TaxCode, in.TaxCode)
	if in.Taxable != nil {
		c.Taxable = *in.Taxable
	}
	if in.TaxInclusive != nil {
		c.TaxMode = "TaxExclusive"
		if *in.TaxInclusive {
			c.TaxMode = "TaxInclusive"
		}
	}
	if in.Quantity != nil {
		c.DefaultQuantity = clonePtr(in.Quantity)
	}
	if in.MinQuantity != nil {
		c.MinQuantity = clonePtr(in.MinQuantity)
	}
	if in.MaxQuantity != nil {
		c.MaxQuantity = clonePtr(in.MaxQuantity)
	}
	if e := patchAmounts(c, in); e != nil {
		return e
	}
	if in.Tiers != nil {
		if !c.tiered() {
			return errImmutable("tiers", "charge model")
		}
		step := 1.0
		if u := st.cat.uomsByName[c.UOM]; u != nil {
			step = math.Pow10(-u.DecimalPlaces)
		}
		tiers, e := tiersFromInput(*in.Tiers, step)
		if e != nil {
			return e
		}
		c.Tiers = tiers
	}
	mergeCustomFields(c.CustomFields, in.CustomFields)
	return nil
}

func setRecurringOn(c *Charge, on string) *apiError {
	if d, ok := strings.CutPrefix(on, "_"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 31 {
			return errInvalid("recurring.recurring_on", "'recurring.recurring_on' %q is not a day of the month", on)
		}
		c.BillCycleType, c.BillCycleDay = "SpecificDayofMonth", n
		return nil
	}
	for _, day := range weekdayEnum {
		if strings.ToLower(day) == on {
			c.BillCycleType, c.WeeklyBillCycleDay = "SpecificDayofWeek", day
			return nil
		}
	}
	v, ok := reverse(qsRecurringOn, on)
	if !ok {
		return errInvalid("recurring.recurring_on", "'recurring.recurring_on' %q is not valid", on)
	}
	c.BillCycleType = v
	return nil
}

// patchAmounts sets the prices of a flat fee (amounts) or per unit (unit_amounts) price per currency; other
// currencies keep their price. Sending the other model's field is an attempt to change the charge model.
func patchAmounts(c *Charge, in *pricePatchInput) *apiError {
	for _, f := range []struct {
		param  string
		m      *map[string]float64
		model  string
		format string
	}{{"amounts", in.Amounts, modelFlatFee, formatFlatFee}, {"unit_amounts", in.UnitAmounts, modelPerUnit, formatPerUnit}} {
		if f.m == nil {
			continue
		}
		if c.tiered() {
			return errInvalid(f.param, "'%s' does not apply to tiered prices; send 'tiers'", f.param)
		}
		if c.ChargeModel != f.model {
			return errImmutable(f.param, "charge model")
		}
		for _, cur := range slices.Sorted(maps.Keys(*f.m)) {
			v := (*f.m)[cur]
			code := strings.ToUpper(cur)
			i := slices.IndexFunc(c.Tiers, func(t ChargeTier) bool { return t.Currency == code })
			if i < 0 {
				c.Tiers = append(c.Tiers, ChargeTier{Currency: code, Tier: 1, PriceFormat: f.format, Price: v})
			} else {
				c.Tiers[i].Price = v
			}
		}
	}
	return nil
}

// tiersFromInput turns Quickstart tiers into charge tiers: tier n+1 starts one step after tier n's up_to, the
// first at 0; amounts make a flat fee tier, unit_amounts a per unit one; every tier prices the same currencies.
func tiersFromInput(in []tierInput, step float64) ([]ChargeTier, *apiError) {
	if len(in) == 0 {
		return nil, errInvalid("tiers", "'tiers' must not be empty")
	}
	var curs []string
	for _, t := range in {
		for _, m := range []map[string]float64{t.Amounts, t.UnitAmounts} {
			for _, cur := range slices.Sorted(maps.Keys(m)) {
				if cur = strings.ToUpper(cur); !slices.Contains(curs, cur) {
					curs = append(curs, cur)
				}
			}
		}
	}
	byCur := map[string][]ChargeTier{}
	start := 0.0
	for n, t := range in {
		if (len(t.Amounts) == 0) == (len(t.UnitAmounts) == 0) {
			return nil, errInvalid(fmt.Sprintf("tiers[%d]", n), "a tier has either 'amounts' or 'unit_amounts'")
		}
		format, m := formatPerUnit, t.UnitAmounts
		if len(t.Amounts) > 0 {
			format, m = formatFlatFee, t.Amounts
		}
		upper := map[string]float64{}
		for k, v := range m {
			upper[strings.ToUpper(k)] = v
		}
		for _, cur := range curs {
			v, ok := upper[cur]
			if !ok {
				return nil, errInvalid(fmt.Sprintf("tiers[%d]", n), "tier %d has no price in %s; every tier prices every currency", n+1, cur)
			}
			byCur[cur] = append(byCur[cur], ChargeTier{Currency: cur, Tier: n + 1, StartingUnit: start,
				EndingUnit: clonePtr(t.UpTo), Price: v, PriceFormat: format})
		}
		if t.UpTo != nil {
			start = *t.UpTo + step
		}
	}
	var out []ChargeTier
	for _, cur := range curs {
		out = append(out, byCur[cur]...)
	}
	return out, nil
}
