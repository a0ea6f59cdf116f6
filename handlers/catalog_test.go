package handlers

import (
	"strings"
	"testing"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

func price(period events.BillingPeriod, model events.BillingModel, currency, amount, feature string) events.Price {
	return events.Price{BillingPeriod: period, BillingModel: model, Currency: currency, Amount: events.DecimalPtr(amount), FeatureID: feature}
}

func TestDesiredCatalogGroupsPricesIntoPlansAndCharges(t *testing.T) {
	pk := &events.PackagePublished{PackageID: "p", DisplayName: "Pro", Prices: []events.Price{
		price(events.BillingPeriodMonthly, events.BillingModelFlatFee, "USD", "49", ""),
		price(events.BillingPeriodMonthly, events.BillingModelFlatFee, "EUR", "45", ""),
		price(events.BillingPeriodMonthly, events.BillingModelPerUnit, "USD", "10", "seats"),
		price(events.BillingPeriodAnnually, events.BillingModelPerUnit, "USD", "100", "seats"),
	}}
	plans, err := desiredCatalog(pk)
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != 2 || plans[0].name != "Pro (Annual)" || plans[1].name != "Pro (Monthly)" {
		t.Fatalf("plans %+v", plans)
	}
	monthly := plans[1]
	if len(monthly.charges) != 2 || len(monthly.charges[0].prices) != 2 {
		t.Fatalf("monthly: want a two-currency flat fee and a per-unit charge, got %+v", monthly.charges)
	}
	flat, seats := monthly.charges[0], monthly.charges[1]
	if flat.model != zuoraapi.ChargeModelFlatFee || flat.uom != "" || seats.model != zuoraapi.ChargeModelPerUnit || seats.uom != "seats" {
		t.Fatalf("flat %+v seats %+v", flat, seats)
	}
	tiers, err := flat.v1Tiers()
	if err != nil || len(tiers) != 2 || tiers[0].Currency != "USD" || tiers[1].Price.String() != "45" {
		t.Fatalf("flat fee tier data %+v %v", tiers, err)
	}
}

func TestDesiredCatalogRejectsWhatZuoraCannotHold(t *testing.T) {
	tiered := func(currency string, n int) events.Price {
		p := events.Price{BillingPeriod: events.BillingPeriodMonthly, BillingModel: events.BillingModelUsageBased,
			Currency: currency, FeatureID: "calls", TiersMode: events.TiersModeGraduated}
		for i := range n {
			t := events.Tier{UnitPrice: events.DecimalPtr("1")}
			if i < n-1 {
				t.UpTo = events.DecimalPtr(strings.Repeat("9", i+2))
			}
			p.Tiers = append(p.Tiers, t)
		}
		return p
	}
	for name, prices := range map[string][]events.Price{
		"tiers differ between currencies": {tiered("USD", 3), tiered("EUR", 2)},
		"two prices in one currency": {
			price(events.BillingPeriodMonthly, events.BillingModelFlatFee, "USD", "1", ""),
			price(events.BillingPeriodMonthly, events.BillingModelFlatFee, "usd", "2", ""),
		},
	} {
		if _, err := desiredCatalog(&events.PackagePublished{PackageID: "p", DisplayName: "P", Prices: prices}); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}
