package zuoraapi

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestReadSpellings(t *testing.T) {
	for _, m := range []string{ChargeModelFlatFee, ChargeModelPerUnit, ChargeModelTiered, ChargeModelVolume} {
		if ChargeModelRead(m) == "" {
			t.Errorf("no read spelling for %q", m)
		}
	}
	if ChargeModelRead(ChargeModelVolume) != "Volume" || ChargeModelRead("Delivery Pricing") != "" {
		t.Error("ChargeModelRead")
	}
	if BillingTimingRead(BillingTimingInArrears) != "IN_ARREARS" || BillingTimingRead("x") != "" {
		t.Error("BillingTimingRead")
	}
}

func tiersJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestV1Tiers(t *testing.T) {
	// Volume storage priced per GB with two decimals: the next tier starts 0.01 above the previous end, and a
	// flat-only tier becomes a Flat Fee tier.
	tiers, err := V1Tiers("EUR", []TierSpec{
		{UpTo: AmountPtr("10"), FlatPrice: AmountPtr("5")},
		{UpTo: AmountPtr("100.5"), UnitPrice: AmountPtr("0.25"), FlatPrice: AmountPtr("0")},
		{UnitPrice: AmountPtr("0.20")},
	}, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"Currency":"EUR","Price":5,"StartingUnit":0,"EndingUnit":10,"PriceFormat":"Flat Fee"},` +
		`{"Currency":"EUR","Price":0.25,"StartingUnit":10.01,"EndingUnit":100.5,"PriceFormat":"Per Unit"},` +
		`{"Currency":"EUR","Price":0.2,"StartingUnit":100.51,"PriceFormat":"Per Unit"}]`
	if got := tiersJSON(t, tiers); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}

	// A tier without any price is free per unit.
	free, err := V1Tiers("USD", []TierSpec{{UpTo: AmountPtr("5")}, {UnitPrice: AmountPtr("1")}}, 0)
	if err != nil || free[0].Price.String() != "0" || free[0].PriceFormat != PriceFormatPerUnit || free[1].StartingUnit.String() != "6" {
		t.Fatalf("free tier %+v %v", free, err)
	}

	bad := map[string][]TierSpec{
		"both prices":       {{UpTo: AmountPtr("1"), UnitPrice: AmountPtr("1"), FlatPrice: AmountPtr("2")}},
		"unbounded middle":  {{UnitPrice: AmountPtr("1")}, {UnitPrice: AmountPtr("2")}},
		"decreasing bounds": {{UpTo: AmountPtr("10")}, {UpTo: AmountPtr("5")}, {}},
		"none":              nil,
	}
	for name, ts := range bad {
		if _, err := V1Tiers("USD", ts, 0); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	if _, err := V1Tiers("USD", []TierSpec{{}}, 9); err == nil || !strings.Contains(err.Error(), "decimals") {
		t.Errorf("uom decimals out of range: %v", err)
	}
}

func TestQuickstartTiers(t *testing.T) {
	got := tiersJSON(t, QuickstartTiers("USD", []TierSpec{
		{UpTo: AmountPtr("1000"), FlatPrice: AmountPtr("10")},
		{UnitPrice: AmountPtr("0.005")},
	}))
	want := `[{"up_to":1000,"amounts":{"USD":10}},{"unit_amounts":{"USD":0.005}}]`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
