package handlers

import (
	"fmt"
	"strings"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// Stigg's pricing vocabulary (billing period, billing model, tiers mode) in Zuora's terms. zuoraapi speaks only
// Zuora; the mapping is a business decision and lives here. The functions are pure, accept the values in any
// case and with surrounding space, and return an error for a value they do not know rather than guessing
// (events validation has refused such values before a handler runs).

// normal is v as the events enums spell it: upper case, no surrounding space.
func normal[T ~string](v T) T { return T(strings.ToUpper(strings.TrimSpace(string(v)))) }

func unknownBillingPeriod(p events.BillingPeriod) error {
	return fmt.Errorf("unknown Stigg billing period %q (want %s or %s)", p,
		events.BillingPeriodMonthly, events.BillingPeriodAnnually)
}

func unknownTiersMode(m events.TiersMode) error {
	return fmt.Errorf("unknown Stigg tiers mode %q (want %s or %s)", m, events.TiersModeGraduated, events.TiersModeVolume)
}

// v1BillingPeriod is the V1 charge BillingPeriod of a Stigg billing period.
func v1BillingPeriod(p events.BillingPeriod) (string, error) {
	switch normal(p) {
	case events.BillingPeriodMonthly:
		return zuoraapi.BillingPeriodMonth, nil
	case events.BillingPeriodAnnually:
		return zuoraapi.BillingPeriodAnnual, nil
	}
	return "", unknownBillingPeriod(p)
}

// quickstartRecurring is a Quickstart price's recurring interval and count for a Stigg billing period.
func quickstartRecurring(p events.BillingPeriod) (interval string, count int, err error) {
	switch normal(p) {
	case events.BillingPeriodMonthly:
		return zuoraapi.IntervalMonth, 1, nil
	case events.BillingPeriodAnnually:
		return zuoraapi.IntervalYear, 1, nil
	}
	return "", 0, unknownBillingPeriod(p)
}

// v1Charge is the V1 ChargeModel and ChargeType of a Stigg billing model and tiers mode ("" when the price has
// no tiers). Usage-based prices are Usage charges, the others Recurring; tiers decide between per-unit,
// tiered (graduated) and volume pricing. A flat fee cannot be tiered.
func v1Charge(model events.BillingModel, tiers events.TiersMode) (chargeModel, chargeType string, err error) {
	var tiered string
	switch normal(tiers) {
	case "":
	case events.TiersModeGraduated:
		tiered = zuoraapi.ChargeModelTiered
	case events.TiersModeVolume:
		tiered = zuoraapi.ChargeModelVolume
	default:
		return "", "", unknownTiersMode(tiers)
	}
	switch normal(model) {
	case events.BillingModelFlatFee:
		if tiered != "" {
			return "", "", fmt.Errorf("a %s price cannot have tiers (tiers mode %q)", events.BillingModelFlatFee, tiers)
		}
		return zuoraapi.ChargeModelFlatFee, zuoraapi.ChargeTypeRecurring, nil
	case events.BillingModelPerUnit:
		chargeType = zuoraapi.ChargeTypeRecurring
	case events.BillingModelUsageBased:
		chargeType = zuoraapi.ChargeTypeUsage
	default:
		return "", "", fmt.Errorf("unknown Stigg billing model %q (want %s, %s or %s)", model,
			events.BillingModelFlatFee, events.BillingModelPerUnit, events.BillingModelUsageBased)
	}
	if tiered != "" {
		return tiered, chargeType, nil
	}
	return zuoraapi.ChargeModelPerUnit, chargeType, nil
}

// quickstartTiersMode is the Quickstart price's tiers_mode for a Stigg tiers mode ("" stays "").
func quickstartTiersMode(m events.TiersMode) (string, error) {
	switch normal(m) {
	case "":
		return "", nil
	case events.TiersModeGraduated:
		return zuoraapi.TiersModeGraduated, nil
	case events.TiersModeVolume:
		return zuoraapi.TiersModeVolume, nil
	}
	return "", unknownTiersMode(m)
}

// termFromBillingPeriod is the terms of a new subscription for a Stigg billing period: TERMED, one billing period
// long (1 Month or 12 Month), auto-renewing with the same term.
//
// Why termed and not evergreen: Stigg's own Zuora integration creates termed subscriptions; a term equal to the
// billing period makes the current term end where Stigg's billing period ends, so END_OF_BILLING_PERIOD maps to
// EndOfCurrentTerm (or EndOfLastInvoicePeriod) and order previews may run through TermEnd (which Zuora rejects
// for evergreen subscriptions); auto-renewal keeps it running until cancelled, as Stigg's subscription does.
func termFromBillingPeriod(p events.BillingPeriod) (*zuoraapi.OrderTerms, error) {
	period, err := v1BillingPeriod(p)
	if err != nil {
		return nil, err
	}
	return zuoraapi.TermForBillingPeriod(period)
}
