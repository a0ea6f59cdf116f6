package zuoraapi

import (
	"fmt"
	"math/big"
)

// Zuora's catalog vocabularies: the values the V1 CRUD writes and the V1 reads return, the Quickstart
// price values, and the tier shapes of both.

// V1 values as written (ProxyCreateProductRatePlanCharge enums).
const (
	BillingPeriodMonth  = "Month"
	BillingPeriodAnnual = "Annual"

	ChargeModelFlatFee = "Flat Fee Pricing"
	ChargeModelPerUnit = "Per Unit Pricing"
	ChargeModelTiered  = "Tiered Pricing"
	ChargeModelVolume  = "Volume Pricing"

	ChargeTypeOneTime   = "OneTime"
	ChargeTypeRecurring = "Recurring"
	ChargeTypeUsage     = "Usage"

	PriceFormatFlatFee = "Flat Fee"
	PriceFormatPerUnit = "Per Unit"

	BillCycleTypeDefaultFromCustomer = "DefaultFromCustomer"
	TriggerEventContractEffective    = "ContractEffective"

	BillingTimingInAdvance = "In Advance"
	BillingTimingInArrears = "In Arrears"
)

// V1 values as read back: GET /v1/product-rate-plan-charges/{key} spells the same settings differently from
// the CRUD create (`model` FlatFee vs ChargeModel "Flat Fee Pricing", billingTiming IN_ADVANCE vs "In Advance").
const (
	ChargeModelReadFlatFee = "FlatFee"
	ChargeModelReadPerUnit = "PerUnit"
	ChargeModelReadTiered  = "Tiered"
	ChargeModelReadVolume  = "Volume"

	BillingTimingReadInAdvance = "IN_ADVANCE"
	BillingTimingReadInArrears = "IN_ARREARS"
)

// Quickstart values (price.recurring.interval, price.tiers_mode).
const (
	IntervalMonth = "month"
	IntervalYear  = "year"

	TiersModeGraduated = "graduated"
	TiersModeVolume    = "volume"
)

// ChargeModelRead returns how GET /v1/product-rate-plan-charges/{key} spells a ChargeModel written on create
// ("Flat Fee Pricing" → "FlatFee"), so drift checks compare like with like; "" for a model not listed here.
func ChargeModelRead(chargeModel string) string {
	switch chargeModel {
	case ChargeModelFlatFee:
		return ChargeModelReadFlatFee
	case ChargeModelPerUnit:
		return ChargeModelReadPerUnit
	case ChargeModelTiered:
		return ChargeModelReadTiered
	case ChargeModelVolume:
		return ChargeModelReadVolume
	}
	return ""
}

// BillingTimingRead returns how the V1 charge GET spells a BillingTiming written on create.
func BillingTimingRead(billingTiming string) string {
	switch billingTiming {
	case BillingTimingInAdvance:
		return BillingTimingReadInAdvance
	case BillingTimingInArrears:
		return BillingTimingReadInArrears
	}
	return ""
}

// TierSpec is one tier in up-to form, as Quickstart prices spell tiers: the tier ends at UpTo (nil =
// unbounded, only the last tier) and charges UnitPrice per unit and/or FlatPrice once (either may be nil).
type TierSpec struct {
	UpTo      *Amount
	UnitPrice *Amount
	FlatPrice *Amount
}

// V1Tiers turns up-to tiers into ProductRatePlanChargeTier entries for one currency. Tier n starts one unit of
// measure step (10^-uomDecimals) above the previous tier's end, as Zuora's tier bounds are inclusive; the first
// starts at 0, and the last may be open-ended. A V1 tier carries one price, so a tier is "Per Unit" when it has
// a unit price and "Flat Fee" when it only has a flat price; a tier with both (non-zero) cannot be expressed
// and is an error, as are bounds that do not increase.
func V1Tiers(currency string, tiers []TierSpec, uomDecimals int) ([]ChargeTier, error) {
	if len(tiers) == 0 {
		return nil, fmt.Errorf("zuoraapi: no tiers")
	}
	if uomDecimals < 0 || uomDecimals > 8 {
		return nil, fmt.Errorf("zuoraapi: unit of measure decimals %d out of range 0..8", uomDecimals)
	}
	step, _ := AmountFromRat(new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(uomDecimals)), nil)))
	out := make([]ChargeTier, 0, len(tiers))
	start := Amount{}
	for i, t := range tiers {
		ct := ChargeTier{Currency: currency, StartingUnit: new(start)}
		if t.UpTo != nil {
			if t.UpTo.Cmp(start) < 0 {
				return nil, fmt.Errorf("zuoraapi: tier %d: upTo %s is below its starting unit %s", i+1, t.UpTo, start)
			}
			ct.EndingUnit = new(*t.UpTo)
			start = t.UpTo.Add(step)
		} else if i != len(tiers)-1 {
			return nil, fmt.Errorf("zuoraapi: tier %d: only the last tier may be unbounded", i+1)
		}
		hasUnit := t.UnitPrice != nil && !t.UnitPrice.IsZero()
		hasFlat := t.FlatPrice != nil && !t.FlatPrice.IsZero()
		switch {
		case hasUnit && hasFlat:
			return nil, fmt.Errorf("zuoraapi: tier %d has both a unit price (%s) and a flat price (%s); a Zuora tier carries one price", i+1, t.UnitPrice, t.FlatPrice)
		case hasFlat:
			ct.Price, ct.PriceFormat = *t.FlatPrice, PriceFormatFlatFee
		default:
			if t.UnitPrice != nil {
				ct.Price = *t.UnitPrice
			}
			ct.PriceFormat = PriceFormatPerUnit
		}
		out = append(out, ct)
	}
	return out, nil
}

// QuickstartTiers turns up-to tiers into Quickstart price tiers for one currency: up_to as given (absent on
// the open last tier), unit_amounts for the unit price and amounts for the flat price.
func QuickstartTiers(currency string, tiers []TierSpec) []PriceTier {
	out := make([]PriceTier, 0, len(tiers))
	for _, t := range tiers {
		pt := PriceTier{}
		if t.UpTo != nil {
			pt.UpTo = new(*t.UpTo)
		}
		if t.UnitPrice != nil {
			pt.UnitAmounts = map[string]Amount{currency: *t.UnitPrice}
		}
		if t.FlatPrice != nil {
			pt.Amounts = map[string]Amount{currency: *t.FlatPrice}
		}
		out = append(out, pt)
	}
	return out
}
