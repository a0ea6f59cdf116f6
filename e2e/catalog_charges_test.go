package e2e

import (
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// TestCatalogSameUnitChargesSurvive429Midway: two usage prices of different features share Stigg's unit name, so
// their Zuora charges agree on type, unit, model and period. A 429 after the first charge exists must not make
// the retry map both features onto it.
func TestCatalogSameUnitChargesSurvive429Midway(t *testing.T) {
	h := newHarness(t)
	const charges = "/v1/object/product-rate-plan-charge"
	h.sim.InjectFault(zuorasim.Fault{Method: "POST", PathPrefix: charges, Latency: time.Microsecond, Times: 1})
	h.sim.InjectFault(zuorasim.Fault{Method: "POST", PathPrefix: charges, Status: 429, Times: 1})
	h.startConsumer()
	usage := func(feature, amount string) events.Price {
		return events.Price{BillingPeriod: events.BillingPeriodMonthly, BillingModel: events.BillingModelUsageBased,
			Currency: "USD", Amount: events.DecimalPtr(amount), FeatureID: feature, UnitName: "Credit"}
	}
	pk := &events.PackagePublished{PackageID: "addon-credits", PackageType: events.PackageTypeAddon, Version: 1,
		DisplayName: "Credits", Prices: []events.Price{usage("feature-images", "0.05"), usage("feature-videos", "0.5")}}

	typ, out := h.waitOutcome(h.publishPackage(pk), 30*time.Second)
	if typ != events.TypeOutPackageSynced {
		t.Fatalf("outcome %s %+v", typ, out)
	}
	if f := h.sim.Faults(); f[1].Fired != 1 {
		t.Fatalf("the 429 fired %d times, want 1", f[1].Fired)
	}
	images, videos := out.Zuora["charge.MONTHLY.USAGE_BASED.feature-images"], out.Zuora["charge.MONTHLY.USAGE_BASED.feature-videos"]
	if images == "" || videos == "" || images == videos {
		t.Fatalf("features mapped to %q and %q, want two distinct charges: %v", images, videos, out.Zuora)
	}
	got := chargesOfProduct(h.sim.State(), out.Zuora[events.ZuoraProductID])
	if len(got) != 2 {
		t.Fatalf("%d charges in Zuora, want 2", len(got))
	}
	for id, want := range map[string]float64{images: 0.05, videos: 0.5} {
		c, ok := h.sim.Charge(id)
		if !ok || len(c.Tiers) != 1 || c.Tiers[0].Price != want {
			t.Errorf("charge %s: %+v, want USD %v", id, c.Tiers, want)
		}
	}
}
