package handlers

import (
	"reflect"
	"testing"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

func TestBillingPeriods(t *testing.T) {
	for in, want := range map[events.BillingPeriod]string{"MONTHLY": "Month", "ANNUALLY": "Annual", " monthly ": "Month"} {
		if got, err := v1BillingPeriod(in); err != nil || got != want {
			t.Errorf("v1BillingPeriod(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := v1BillingPeriod("QUARTERLY"); err == nil {
		t.Error("unknown period must fail")
	}
	for in, want := range map[events.BillingPeriod]string{"MONTHLY": "month", "ANNUALLY": "year"} {
		if got, n, err := quickstartRecurring(in); err != nil || got != want || n != 1 {
			t.Errorf("quickstartRecurring(%q) = %q, %d, %v", in, got, n, err)
		}
	}
	if _, _, err := quickstartRecurring(""); err == nil {
		t.Error("empty period must fail")
	}
}

func TestV1Charge(t *testing.T) {
	cases := []struct {
		model               events.BillingModel
		tiers               events.TiersMode
		wantModel, wantType string
	}{
		{"FLAT_FEE", "", "Flat Fee Pricing", "Recurring"},
		{"PER_UNIT", "", "Per Unit Pricing", "Recurring"},
		{"PER_UNIT", "GRADUATED", "Tiered Pricing", "Recurring"},
		{"PER_UNIT", "VOLUME", "Volume Pricing", "Recurring"},
		{"USAGE_BASED", "", "Per Unit Pricing", "Usage"},
		{"USAGE_BASED", "GRADUATED", "Tiered Pricing", "Usage"},
		{"usage_based", "volume", "Volume Pricing", "Usage"},
	}
	for _, tc := range cases {
		m, typ, err := v1Charge(tc.model, tc.tiers)
		if err != nil || m != tc.wantModel || typ != tc.wantType {
			t.Errorf("v1Charge(%q, %q) = %q, %q, %v; want %q, %q", tc.model, tc.tiers, m, typ, err, tc.wantModel, tc.wantType)
		}
		if zuoraapi.ChargeModelRead(m) == "" {
			t.Errorf("no read spelling for %q", m)
		}
	}
	for _, bad := range []struct {
		model events.BillingModel
		tiers events.TiersMode
	}{{"FLAT_FEE", "GRADUATED"}, {"CREDITS", ""}, {"PER_UNIT", "STAIRSTEP"}, {"", ""}} {
		if _, _, err := v1Charge(bad.model, bad.tiers); err == nil {
			t.Errorf("v1Charge(%q, %q) should fail", bad.model, bad.tiers)
		}
	}
	for in, want := range map[events.TiersMode]string{"": "", "GRADUATED": "graduated", "VOLUME": "volume"} {
		if got, err := quickstartTiersMode(in); err != nil || got != want {
			t.Errorf("quickstartTiersMode(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := quickstartTiersMode("X"); err == nil {
		t.Error("unknown tiers mode must fail")
	}
}

func TestTermFromBillingPeriod(t *testing.T) {
	for period, months := range map[events.BillingPeriod]int{"MONTHLY": 1, "ANNUALLY": 12, " monthly ": 1} {
		terms, err := termFromBillingPeriod(period)
		if err != nil {
			t.Fatal(err)
		}
		want := &zuoraapi.OrderTerms{InitialTerm: zuoraapi.OrderTerm{TermType: zuoraapi.TermTypeTermed, Period: months, PeriodType: zuoraapi.PeriodTypeMonth},
			AutoRenew: new(true), RenewalSetting: zuoraapi.RenewWithSpecificTerm,
			RenewalTerms: []zuoraapi.OrderRenewalTerm{{Period: months, PeriodType: zuoraapi.PeriodTypeMonth}}}
		if !reflect.DeepEqual(terms, want) {
			t.Fatalf("%s: %+v", period, terms)
		}
	}
	if _, err := termFromBillingPeriod("WEEKLY"); err == nil {
		t.Fatal("unknown period must fail")
	}
}
