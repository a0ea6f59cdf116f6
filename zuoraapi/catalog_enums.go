package zuoraapi

import (
	"fmt"
	"math/big"
	"strings"
)

// Catalog vocabularies and the mapping from Stigg's pricing terms to Zuora's. The functions take plain strings
// so that this package does not depend on the event model; they are pure and return an error for a value they
// do not know rather than guessing.

// Stigg values (io.stigg.package.published, ../shared/CONTRACT.md).
const (
	StiggBillingPeriodMonthly  = "MONTHLY"
	StiggBillingPeriodAnnually = "ANNUALLY"

	StiggBillingModelFlatFee    = "FLAT_FEE"
	StiggBillingModelPerUnit    = "PER_UNIT"
	StiggBillingModelUsageBased = "USAGE_BASED"

	StiggTiersModeGraduated = "GRADUATED"
	StiggTiersModeVolume    = "VOLUME"
)

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

// V1BillingPeriod maps a Stigg billing period to the V1 charge BillingPeriod.
func V1BillingPeriod(stiggPeriod string) (string, error) {
	switch strings.ToUpper(strings.TrimSpace(stiggPeriod)) {
	case StiggBillingPeriodMonthly:
		return BillingPeriodMonth, nil
	case StiggBillingPeriodAnnually:
		return BillingPeriodAnnual, nil
	}
	return "", fmt.Errorf("zuoraapi: unknown Stigg billing period %q (want %s or %s)", stiggPeriod, StiggBillingPeriodMonthly, StiggBillingPeriodAnnually)
}

// QuickstartRecurring maps a Stigg billing period to a Quickstart price's recurring interval and count.
func QuickstartRecurring(stiggPeriod string) (interval string, count int, err error) {
	switch strings.ToUpper(strings.TrimSpace(stiggPeriod)) {
	case StiggBillingPeriodMonthly:
		return IntervalMonth, 1, nil
	case StiggBillingPeriodAnnually:
		return IntervalYear, 1, nil
	}
	return "", 0, fmt.Errorf("zuoraapi: unknown Stigg billing period %q (want %s or %s)", stiggPeriod, StiggBillingPeriodMonthly, StiggBillingPeriodAnnually)
}

// V1Charge maps a Stigg billing model and tiers mode ("" when the price has no tiers) to the V1 ChargeModel
// and ChargeType. Usage-based prices are Usage charges, the others Recurring; tiers decide between per-unit,
// tiered (graduated) and volume pricing. A flat fee cannot be tiered.
func V1Charge(billingModel, tiersMode string) (chargeModel, chargeType string, err error) {
	mode := strings.ToUpper(strings.TrimSpace(tiersMode))
	var tiered string
	switch mode {
	case "":
	case StiggTiersModeGraduated:
		tiered = ChargeModelTiered
	case StiggTiersModeVolume:
		tiered = ChargeModelVolume
	default:
		return "", "", fmt.Errorf("zuoraapi: unknown Stigg tiers mode %q (want %s or %s)", tiersMode, StiggTiersModeGraduated, StiggTiersModeVolume)
	}
	switch strings.ToUpper(strings.TrimSpace(billingModel)) {
	case StiggBillingModelFlatFee:
		if tiered != "" {
			return "", "", fmt.Errorf("zuoraapi: a %s price cannot have tiers (tiers mode %q)", StiggBillingModelFlatFee, tiersMode)
		}
		return ChargeModelFlatFee, ChargeTypeRecurring, nil
	case StiggBillingModelPerUnit:
		chargeType = ChargeTypeRecurring
	case StiggBillingModelUsageBased:
		chargeType = ChargeTypeUsage
	default:
		return "", "", fmt.Errorf("zuoraapi: unknown Stigg billing model %q (want %s, %s or %s)", billingModel,
			StiggBillingModelFlatFee, StiggBillingModelPerUnit, StiggBillingModelUsageBased)
	}
	if tiered != "" {
		return tiered, chargeType, nil
	}
	return ChargeModelPerUnit, chargeType, nil
}

// QuickstartTiersMode maps a Stigg tiers mode to the Quickstart price's tiers_mode ("" stays "").
func QuickstartTiersMode(stiggTiersMode string) (string, error) {
	switch strings.ToUpper(strings.TrimSpace(stiggTiersMode)) {
	case "":
		return "", nil
	case StiggTiersModeGraduated:
		return TiersModeGraduated, nil
	case StiggTiersModeVolume:
		return TiersModeVolume, nil
	}
	return "", fmt.Errorf("zuoraapi: unknown Stigg tiers mode %q (want %s or %s)", stiggTiersMode, StiggTiersModeGraduated, StiggTiersModeVolume)
}

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

// TierSpec is one Stigg tier in plain terms: UpTo nil = unbounded (only the last tier); UnitPrice and
// FlatPrice as published (either may be nil).
type TierSpec struct {
	UpTo      *Amount
	UnitPrice *Amount
	FlatPrice *Amount
}

// V1Tiers turns Stigg tiers into ProductRatePlanChargeTier entries for one currency. Tier n starts one unit of
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

// QuickstartTiers turns Stigg tiers into Quickstart price tiers for one currency: up_to as published
// (absent on the open last tier), unit_amounts for the unit price and amounts for the flat price.
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
