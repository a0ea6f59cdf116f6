package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	zuorasync "github.com/zuora-sync/zuora-sync"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

func sampleCatalog(t *testing.T) map[string]*events.PackagePublished {
	t.Helper()
	raw, err := zuorasync.Samples.ReadFile("testdata/catalog.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []*events.PackagePublished
	if err := json.Unmarshal(raw, &pkgs); err != nil {
		t.Fatal(err)
	}
	out := map[string]*events.PackagePublished{}
	for _, p := range pkgs {
		out[p.PackageID] = p
	}
	return out
}

func (h *harness) publishPackage(pk *events.PackagePublished) string {
	ev := h.newEvent(events.TypeStiggPackagePublished, pk.PackageID, pk.PackageID, pk)
	h.publish(ev)
	return ev.ID()
}

// zuoraCalls lists the Zuora requests since the last ResetRequests, OAuth left out.
func (h *harness) zuoraCalls() []string {
	var out []string
	for _, r := range h.sim.Requests() {
		if r.Path != "/oauth/token" {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

func chargesOfProduct(st zuorasim.State, productID string) []zuorasim.V1Charge {
	plans := map[string]bool{}
	for _, p := range st.Plans {
		if p.ProductID == productID {
			plans[p.ID] = true
		}
	}
	var out []zuorasim.V1Charge
	for _, c := range st.ProductRatePlanCharges {
		for _, pr := range st.Prices {
			if pr.ID == c.ID && plans[pr.PlanID] {
				out = append(out, c)
			}
		}
	}
	return out
}

func TestCatalogSyncCoversEveryBillingModel(t *testing.T) {
	h := newHarness(t)
	h.startConsumer()
	ids := map[string]string{}
	for id, pk := range sampleCatalog(t) {
		ids[id] = h.publishPackage(pk)
	}
	products := map[string]string{}
	outcomes := map[string]events.Outcome{}
	for pkg, id := range ids {
		typ, out := h.waitOutcome(id, 30*time.Second)
		if typ != events.TypeOutPackageSynced || out.Action != "created" {
			t.Fatalf("%s: outcome %s %+v", pkg, typ, out)
		}
		products[pkg] = out.Zuora[events.ZuoraProductID]
		outcomes[pkg] = out
	}
	st := h.sim.State()
	if len(st.Products) != 4 {
		t.Fatalf("%d products, want 4", len(st.Products))
	}
	for _, p := range st.Products {
		if !strings.HasPrefix(p.SKU, "stigg-") {
			t.Errorf("product %s has SKU %q, want the stigg-<package id> form", p.Name, p.SKU)
		}
	}
	if n := len(chargesOfProduct(st, products["plan-free"])); n != 0 {
		t.Errorf("the free plan has %d charges", n)
	}
	type want struct{ model, typ, period, uom string }
	expect := map[string][]want{
		"plan-pro": {
			{"FlatFee", "Recurring", "Month", ""}, {"PerUnit", "Recurring", "Month", "Seat"},
			{"FlatFee", "Recurring", "Annual", ""}, {"PerUnit", "Recurring", "Annual", "Seat"},
		},
		"addon-api-calls": {{"Tiered", "Usage", "Month", "API Call"}},
		"addon-storage":   {{"Volume", "Recurring", "Month", "GB"}},
	}
	for pkg, wants := range expect {
		got := chargesOfProduct(st, products[pkg])
		if len(got) != len(wants) {
			t.Fatalf("%s: %d charges, want %d", pkg, len(got), len(wants))
		}
		for _, w := range wants {
			found := false
			for _, c := range got {
				uom := ""
				if c.UOM != nil {
					uom = *c.UOM
				}
				if c.Model == w.model && c.Type == w.typ && c.BillingPeriod == w.period && uom == w.uom {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: no charge %+v among %d", pkg, w, len(got))
			}
		}
	}
	if n := len(st.UnitsOfMeasure); n != 3 {
		t.Errorf("%d units of measure, want 3 (Seat, API Call, GB; Seat shared by both periods)", n)
	}
	// The graduated tiers of the API-calls add-on, as Zuora reads them back.
	c, ok := h.sim.Charge(outcomes["addon-api-calls"].Zuora["charge.MONTHLY.USAGE_BASED.feature-api-calls"])
	if !ok {
		t.Fatalf("api-calls charge not in the outcome: %v", outcomes["addon-api-calls"].Zuora)
	}
	var got []string
	for _, tier := range c.Tiers {
		end := "∞"
		if tier.EndingUnit != nil {
			end = fmt.Sprint(*tier.EndingUnit)
		}
		got = append(got, fmt.Sprintf("%v-%s@%v", tier.StartingUnit, end, tier.Price))
	}
	if want := "0-10000@0 10001-100000@0.002 100001-∞@0.001"; strings.Join(got, " ") != want {
		t.Fatalf("api-calls tiers %q, want %q", strings.Join(got, " "), want)
	}
}

func TestCatalogRepublishUnchangedMakesTwoReads(t *testing.T) {
	h := newHarness(t)
	h.startConsumer()
	pro := sampleCatalog(t)["plan-pro"]
	h.waitOutcome(h.publishPackage(pro), 30*time.Second)
	created := h.zuoraCalls()
	h.sim.ResetRequests()

	_, out := h.waitOutcome(h.publishPackage(pro), 30*time.Second)
	calls := h.zuoraCalls()
	t.Logf("first publish: %d Zuora calls; unchanged re-publish: %d calls %v", len(created), len(calls), calls)
	if out.Action != "unchanged" {
		t.Fatalf("re-publish outcome %+v: want unchanged", out)
	}
	if len(calls) != 2 || !strings.HasPrefix(calls[0], "GET /v2/products/") || !strings.HasSuffix(calls[1], "/product-rate-plans") {
		t.Fatalf("an unchanged package must cost exactly two reads, got %v", calls)
	}
}

func TestCatalogNewVersionChangesOnlyWhatChanged(t *testing.T) {
	h := newHarness(t)
	h.startConsumer()
	pro := sampleCatalog(t)["plan-pro"]
	h.waitOutcome(h.publishPackage(pro), 30*time.Second)
	h.sim.ResetRequests()

	pro.Version = 4
	pro.Prices[2].Amount = events.DecimalPtr("14") // monthly per-seat USD 12.5 → 14
	_, out := h.waitOutcome(h.publishPackage(pro), 30*time.Second)
	calls := h.zuoraCalls()
	t.Logf("new version with one price changed: %d calls %v", len(calls), calls)
	if out.Action != "updated" {
		t.Fatalf("outcome %+v: want updated", out)
	}
	var writes []string
	for _, c := range calls {
		if !strings.HasPrefix(c, "GET ") {
			writes = append(writes, c)
		}
	}
	if len(writes) != 1 || !strings.HasPrefix(writes[0], "PATCH /v2/prices/") {
		t.Fatalf("want exactly one price PATCH, got writes %v", writes)
	}
	seatMonthly := out.Zuora["charge.MONTHLY.PER_UNIT.feature-seats"]
	c, ok := h.sim.Charge(seatMonthly)
	if !ok {
		t.Fatalf("charge %s missing", seatMonthly)
	}
	prices := map[string]float64{}
	for _, tier := range c.Tiers {
		prices[tier.Currency] = tier.Price
	}
	if prices["USD"] != 14 || prices["EUR"] != 11.5 {
		t.Fatalf("seat prices after the new version: %v; want USD 14 and EUR unchanged at 11.5", prices)
	}
}

func TestCatalogDriftIsRepairedOrReported(t *testing.T) {
	h := newHarness(t)
	h.startConsumer()
	storage := sampleCatalog(t)["addon-storage"]
	_, out := h.waitOutcome(h.publishPackage(storage), 30*time.Second)
	chargeID := out.Zuora["charge.MONTHLY.PER_UNIT.feature-storage-gb"]

	// Someone edits a tier price in Zuora's UI: lightweight drift, repaired through the v2 price.
	h.sim.MutateCharge(chargeID, func(c *zuorasim.Charge) { c.Tiers[1].Price = 0.45 })
	_, out = h.waitOutcome(h.publishPackage(storage), 30*time.Second)
	if out.Action != "updated" {
		t.Fatalf("repairable drift outcome %+v: want updated", out)
	}
	c, _ := h.sim.Charge(chargeID)
	if c.Tiers[1].Price != 0.4 {
		t.Fatalf("tier 2 price after repair = %v, want 0.4", c.Tiers[1].Price)
	}

	// Someone changes the unit of measure: Zuora cannot change that in place, so it is reported, not hidden.
	h.sim.MutateCharge(chargeID, func(c *zuorasim.Charge) { c.UOM = "API Call" })
	id := h.publishPackage(storage)
	typ, failed := h.waitOutcome(id, 30*time.Second)
	if typ != events.TypeOutPackageFailed || !strings.Contains(failed.Reason, "unit of measure") ||
		!strings.Contains(failed.Reason, `"API Call"`) || !strings.Contains(failed.Reason, "redrive") {
		t.Fatalf("unrepairable drift: outcome %s %q; want package.failed naming the field, both values and the fix", typ, failed.Reason)
	}
	h.eventually(5*time.Second, "the dead letter", func() bool { return len(h.dlq()) == 1 })
}

func TestCatalogZuoraValidationErrorIsDeadLettered(t *testing.T) {
	h := newHarness(t)
	h.startConsumer()
	pk := sampleCatalog(t)["addon-api-calls"]
	pk.Prices[0].Currency = "JPY" // not enabled in the tenant
	id := h.publishPackage(pk)
	typ, out := h.waitOutcome(id, 30*time.Second)
	if typ != events.TypeOutPackageFailed || !strings.Contains(out.Reason, "JPY") {
		t.Fatalf("outcome %s %q: want package.failed naming the currency", typ, out.Reason)
	}
	if dl := h.dlq(); len(dl) != 1 || dl[0].Class != "permanent" {
		t.Fatalf("dead letters %+v", dl)
	}
}

func TestCatalogOutageAndReplayCreateNothingTwice(t *testing.T) {
	h := newHarness(t)
	faults := []string{
		h.sim.InjectFault(zuorasim.Fault{Method: "POST", PathPrefix: "/v1/object/product-rate-plan-charge", Status: 503, Times: 3}),
		h.sim.InjectFault(zuorasim.Fault{PathPrefix: "/v2/plans", Status: 500, Times: 2}),
	}
	h.startConsumer()
	ids := map[string]string{}
	for pkg, pk := range sampleCatalog(t) {
		ids[pkg] = h.publishPackage(pk)
	}
	for _, id := range ids {
		if typ, out := h.waitOutcome(id, 40*time.Second); typ != events.TypeOutPackageSynced {
			t.Fatalf("outcome %s %+v", typ, out)
		}
	}
	// An unchanged re-publish of one package makes its first event an older one the replay must skip.
	olderPro := ids["plan-pro"]
	ids["plan-pro"] = h.publishPackage(sampleCatalog(t)["plan-pro"])
	if _, out := h.waitOutcome(ids["plan-pro"], 30*time.Second); out.Action != "unchanged" {
		t.Fatalf("re-publish: %+v", out)
	}
	for _, f := range faults {
		h.sim.RemoveFault(f) // the outage is over; the replay runs against a healthy Zuora
	}
	before := h.sim.State()

	// The replay re-applies each package's latest event, an unchanged re-publish: exactly the two catalog reads
	// each, and no write. A replay that reset nothing would read nothing.
	ctx, cancel := contextWithTimeout(10 * time.Second)
	defer cancel()
	h.waitIdle("STIGG", 10*time.Second)
	h.sim.ResetRequests()
	if _, _, err := replayAll(ctx, h); err != nil {
		t.Fatal(err)
	}
	reads := map[string]int{callProduct: 1, callRatePlans: 1}
	h.eventually(30*time.Second, "the replay to re-apply every package", func() bool {
		for _, id := range ids {
			if h.callsOf(id)[callRatePlans] == 0 {
				return false
			}
		}
		return true
	})
	h.waitIdle("STIGG", 30*time.Second)
	for pkg, id := range ids {
		h.wantCalls("replay of "+pkg, h.callsOf(id), reads)
	}
	if calls := h.callsOf(olderPro); len(calls) != 0 {
		t.Errorf("replay re-applied the superseded first publish of plan-pro: %v", calls)
	}
	if w := h.writeCalls(); len(w) != 0 {
		t.Errorf("the replay wrote to Zuora: %v", w)
	}
	after := h.sim.State()
	if len(after.Products) != len(before.Products) || len(after.Plans) != len(before.Plans) ||
		len(after.ProductRatePlanCharges) != len(before.ProductRatePlanCharges) || len(after.UnitsOfMeasure) != len(before.UnitsOfMeasure) {
		t.Fatalf("replay changed the catalog: products %d→%d plans %d→%d charges %d→%d uoms %d→%d",
			len(before.Products), len(after.Products), len(before.Plans), len(after.Plans),
			len(before.ProductRatePlanCharges), len(after.ProductRatePlanCharges), len(before.UnitsOfMeasure), len(after.UnitsOfMeasure))
	}
	if len(h.dlq()) != 0 {
		t.Fatalf("dead letters after an outage: %+v", h.dlq())
	}
}
