package zuorasim

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// Pricing of the rate plans an order adds: the subscription charges made from a catalog plan, in the
// subscription's currency, with the order's chargeOverrides (and an UpdateProduct's chargeUpdates) applied and
// checked against the catalog's quantity bounds.

// newRatePlan builds a subscription rate plan from a catalog plan and its charge overrides.
func (sg *stage) newRatePlan(v *subVersion, in *ratePlanIn, p, ce, sa, ca string) (*subRatePlan, *apiError) {
	cat := sg.st.cat
	var pl *Plan
	switch {
	case in.ProductRatePlanID != "":
		if pl = cat.plansByID[in.ProductRatePlanID]; pl == nil {
			return nil, errReferenceNotFound(p+".productRatePlanId", in.ProductRatePlanID)
		}
	case in.ProductRatePlanNumber != "":
		if pl = cat.plansByNum[in.ProductRatePlanNumber]; pl == nil {
			return nil, errReferenceNotFound(p+".productRatePlanNumber", in.ProductRatePlanNumber)
		}
	default:
		return nil, errMissing(p + ".productRatePlanId")
	}
	if !activeOn(pl.StartDate, pl.EndDate, ce) {
		return nil, errRule(p+".productRatePlanId", "product rate plan '%s' is not effective on %s", pl.ID, ce)
	}
	if e := sg.st.validateCustomFieldMap("RatePlan", p+".customFields", in.CustomFields); e != nil {
		return nil, e
	}
	prod := cat.productsByID[pl.ProductID]
	rp := &subRatePlan{ID: newID(), ProductRatePlanID: pl.ID, Name: pl.Name, CustomFields: map[string]string{}}
	if prod != nil {
		rp.ProductID, rp.ProductName, rp.ProductSKU = prod.ID, prod.Name, prod.SKU
	}
	mergeAnyCustomFields(rp.CustomFields, in.CustomFields)
	if in.SubscriptionRatePlanNumber != "" {
		rp.Number = in.SubscriptionRatePlanNumber
	} else {
		sg.seq.ratePlan++
		rp.Number = fmt.Sprintf("SRP-%08d", sg.seq.ratePlan)
	}
	var catCharges []*Charge
	for _, c := range cat.charges {
		if c.PlanID == pl.ID {
			catCharges = append(catCharges, c)
		}
	}
	overrides := map[string]*chargeOverrideIn{}
	overrideIdx := map[string]int{}
	for i := range in.ChargeOverrides {
		co := &in.ChargeOverrides[i]
		op := fmt.Sprintf("%s.chargeOverrides[%d]", p, i)
		var c *Charge
		switch {
		case co.ProductRatePlanChargeID != "":
			c = cat.chargesByID[co.ProductRatePlanChargeID]
			if c == nil {
				return nil, errReferenceNotFound(op+".productRatePlanChargeId", co.ProductRatePlanChargeID)
			}
		case co.ProductRatePlanChargeNumber != "":
			c = cat.chargesByNum[co.ProductRatePlanChargeNumber]
			if c == nil {
				return nil, errReferenceNotFound(op+".productRatePlanChargeNumber", co.ProductRatePlanChargeNumber)
			}
		default:
			return nil, errMissing(op + ".productRatePlanChargeId")
		}
		if c.PlanID != pl.ID {
			return nil, errRule(op+".productRatePlanChargeId", "product rate plan charge '%s' is not part of product rate plan '%s'", c.ID, pl.ID)
		}
		if overrides[c.ID] != nil {
			return nil, errRule(op+".productRatePlanChargeId", "product rate plan charge '%s' is overridden twice", c.ID)
		}
		overrides[c.ID], overrideIdx[c.ID] = co, i
	}
	for _, c := range catCharges {
		op := p
		co := overrides[c.ID]
		if co != nil {
			op = fmt.Sprintf("%s.chargeOverrides[%d]", p, overrideIdx[c.ID])
		}
		sc, e := sg.newCharge(v, c, op, startFor(c.TriggerEvent, ce, sa, ca))
		if e != nil {
			return nil, e
		}
		if co != nil {
			if co.ChargeNumber != "" {
				sc.Number = co.ChargeNumber
			}
			if e := sg.st.validateCustomFieldMap("RatePlanCharge", op+".customFields", co.CustomFields); e != nil {
				return nil, e
			}
			mergeAnyCustomFields(sc.CustomFields, co.CustomFields)
			if e := applyPricing(sc, co.Pricing, op+".pricing"); e != nil {
				return nil, e
			}
		}
		if e := checkQuantity(sc, op); e != nil {
			return nil, e
		}
		rp.Charges = append(rp.Charges, sc)
	}
	if in.UniqueToken != "" {
		sg.tokens[in.UniqueToken] = rp
	}
	return rp, nil
}

// newCharge makes a subscription charge from a catalog charge, priced in the subscription's currency.
func (sg *stage) newCharge(v *subVersion, c *Charge, p, start string) (*subCharge, *apiError) {
	ts := c.tiersOf(v.Currency)
	if len(ts) == 0 {
		return nil, errRule(p, "product rate plan charge '%s' has no price in %s", c.ID, v.Currency)
	}
	sg.seq.charge++
	sc := &subCharge{ID: newID(), Number: fmt.Sprintf("C-%08d", sg.seq.charge), ProductRatePlanChargeID: c.ID,
		Name: c.Name, Description: c.Description, Type: c.ChargeType, Model: c.ChargeModel, UOM: c.UOM,
		BillingPeriod: c.BillingPeriod, SpecificBillingPeriod: c.SpecificBillingPeriod, BillingTiming: c.BillingTiming,
		ListPriceBase: c.ListPriceBase, TriggerEvent: c.TriggerEvent, Currency: v.Currency,
		MinQuantity: clonePtr(c.MinQuantity), MaxQuantity: clonePtr(c.MaxQuantity), AccountingCode: c.AccountingCode,
		EffectiveStartDate: start, Segment: 1, Version: 1, CustomFields: map[string]string{}}
	if c.tiered() {
		sc.Tiers = (&Charge{Tiers: ts}).clone().Tiers
	} else {
		price := ts[0].Price
		sc.Price = &price
	}
	if c.ChargeModel != modelFlatFee && c.ChargeType != typeUsage {
		q := 1.0
		if c.DefaultQuantity != nil {
			q = *c.DefaultQuantity
		}
		sc.Quantity = &q
	}
	return sc, nil
}

// pricingKey is the pricing member a charge takes: recurringPerUnit, usageTiered, oneTimeFlatFee, ...
func pricingKey(c *subCharge) string {
	prefix := map[string]string{typeRecurring: "recurring", typeUsage: "usage", typeOneTime: "oneTime"}[c.Type]
	return prefix + v1ModelNames[c.Model]
}

var listPriceBases = map[string]string{"Per_Billing_Period": "Per Billing Period", "Per_Month": "Per Month",
	"Per_Week": "Per Week", "Per_Year": "Per Year"}

// applyPricing applies an override or update pricing object to a charge.
func applyPricing(c *subCharge, pr pricingIn, p string) *apiError {
	if len(pr) == 0 {
		return nil
	}
	want := pricingKey(c)
	keys := slices.Sorted(maps.Keys(pr))
	if len(keys) != 1 || keys[0] != want {
		return errInvalid(p, "the pricing of charge %s (%s %s) must be given as '%s'", c.Number, c.Type, v1ModelNames[c.Model], want)
	}
	pi := pr[want]
	p += "." + want
	if pi == nil {
		return nil
	}
	if pi.ListPrice != nil {
		if c.Model != modelFlatFee && c.Model != modelPerUnit {
			return errInvalid(p+".listPrice", "'listPrice' does not apply to a %s charge; give tiers", v1ModelNames[c.Model])
		}
		if *pi.ListPrice < 0 || math.IsNaN(*pi.ListPrice) {
			return errInvalid(p+".listPrice", "'listPrice' must not be negative")
		}
		v := *pi.ListPrice
		c.Price = &v
	}
	if pi.Quantity != nil {
		if c.Model == modelFlatFee || c.Type == typeUsage {
			return errInvalid(p+".quantity", "'quantity' does not apply to a %s %s charge", c.Type, v1ModelNames[c.Model])
		}
		if *pi.Quantity < 0 || math.IsNaN(*pi.Quantity) {
			return errInvalid(p+".quantity", "'quantity' must not be negative")
		}
		q := *pi.Quantity
		c.Quantity = &q
	}
	if pi.ListPriceBase != "" {
		lpb, ok := listPriceBases[pi.ListPriceBase]
		if !ok || c.Type != typeRecurring {
			return errInvalid(p+".listPriceBase", "'listPriceBase' must be one of Per_Billing_Period, Per_Month, Per_Week, Per_Year on a recurring charge")
		}
		c.ListPriceBase = lpb
	}
	if len(pi.Tiers) > 0 {
		if c.Model != modelTiered && c.Model != modelVolume {
			return errInvalid(p+".tiers", "'tiers' only apply to tiered and volume charges")
		}
		ts, e := orderTiers(pi.Tiers, c.Currency, p+".tiers")
		if e != nil {
			return e
		}
		c.Tiers = ts
	}
	return nil
}

// orderTiers checks order tiers (numbered 1..n in order, first starting at 0, each starting after the previous
// one's end, only the last open-ended) and converts them to catalog tiers.
func orderTiers(in []tierIn, currency, p string) ([]ChargeTier, *apiError) {
	out := make([]ChargeTier, 0, len(in))
	for i, t := range in {
		tp := fmt.Sprintf("%s[%d]", p, i)
		switch {
		case t.Tier == nil:
			return nil, errMissing(tp + ".tier")
		case t.StartingUnit == nil:
			return nil, errMissing(tp + ".startingUnit")
		case t.Price == nil:
			return nil, errMissing(tp + ".price")
		case t.PriceFormat == "":
			return nil, errMissing(tp + ".priceFormat")
		case *t.Tier != i+1:
			return nil, errInvalid(tp+".tier", "tiers must be numbered 1, 2, ... in order")
		case *t.Price < 0:
			return nil, errInvalid(tp+".price", "'price' must not be negative")
		case i == 0 && *t.StartingUnit != 0:
			return nil, errInvalid(tp+".startingUnit", "the first tier must start at 0")
		case i == len(in)-1 && t.EndingUnit != nil:
			return nil, errInvalid(tp+".endingUnit", "the last tier must not have an 'endingUnit'")
		case i < len(in)-1 && t.EndingUnit == nil:
			return nil, errInvalid(tp+".endingUnit", "only the last tier may be open-ended")
		case t.EndingUnit != nil && *t.EndingUnit < *t.StartingUnit:
			return nil, errInvalid(tp+".endingUnit", "tier %d ends before it starts", i+1)
		case i > 0 && *t.StartingUnit <= *in[i-1].EndingUnit:
			return nil, errInvalid(tp+".startingUnit", "tier %d must start after the previous tier's 'endingUnit'", i+1)
		}
		var f string
		switch t.PriceFormat {
		case "FlatFee":
			f = formatFlatFee
		case "PerUnit":
			f = formatPerUnit
		default:
			return nil, errInvalid(tp+".priceFormat", "'priceFormat' must be one of FlatFee, PerUnit")
		}
		out = append(out, ChargeTier{Currency: currency, Tier: i + 1, StartingUnit: *t.StartingUnit,
			EndingUnit: clonePtr(t.EndingUnit), Price: *t.Price, PriceFormat: f})
	}
	return out, nil
}

// checkQuantity enforces the catalog charge's minimum and maximum quantity.
func checkQuantity(c *subCharge, p string) *apiError {
	if c.Quantity == nil {
		return nil
	}
	q := *c.Quantity
	if c.MinQuantity != nil && q < *c.MinQuantity {
		return errInvalid(p+".pricing", "quantity %s of charge %s is below its minimum quantity %s", num(q), c.Name, num(*c.MinQuantity))
	}
	if c.MaxQuantity != nil && q > *c.MaxQuantity {
		return errInvalid(p+".pricing", "quantity %s of charge %s is above its maximum quantity %s", num(q), c.Name, num(*c.MaxQuantity))
	}
	return nil
}
