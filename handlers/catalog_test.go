package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/idmap"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
	"github.com/zuora-sync/zuora-sync/zuorasim"
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

// catalogEnv runs the package handler against the simulator over HTTP and an id map in an embedded JetStream.
type catalogEnv struct {
	t   *testing.T
	sim *zuorasim.Sim
	ids *idmap.Store
	h   *packages
	js  jetstream.JetStream
}

func newCatalogEnv(t *testing.T) *catalogEnv {
	t.Helper()
	sim := zuorasim.New(zuorasim.Config{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { srv.Close(); sim.Close() })
	z, err := zuoraapi.New(zuoraapi.Config{BaseURL: srv.URL, ClientID: zuorasim.DefaultClientID,
		ClientSecret: zuorasim.DefaultClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	_, js := natstest.Start(t).Connect(t)
	e := &catalogEnv{t: t, sim: sim, js: js}
	e.loseIDMap()
	e.h = &packages{deps: Deps{Zuora: z, IDs: e.ids, Logger: slog.New(slog.DiscardHandler)}}
	return e
}

// loseIDMap replaces the id map with an empty one, as a lost or recreated KV bucket would.
func (e *catalogEnv) loseIDMap() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kv, err := e.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: fmt.Sprintf("ids-%d", time.Now().UnixNano())})
	if err != nil {
		e.t.Fatal(err)
	}
	e.ids = idmap.New(kv)
	if e.h != nil {
		e.h.deps.IDs = e.ids
	}
}

func (e *catalogEnv) input(pk *events.PackagePublished) *dispatch.Input {
	e.t.Helper()
	ev, err := events.New(events.TypeStiggPackagePublished, "/test", pk.PackageID, pk.PackageID, pk)
	if err != nil {
		e.t.Fatal(err)
	}
	return &dispatch.Input{Event: ev, Payload: pk, Key: pk.PackageID, Attempt: 1, Logger: slog.New(slog.DiscardHandler)}
}

func (e *catalogEnv) handle(in *dispatch.Input) (events.Outcome, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := e.h.Handle(ctx, in)
	if err != nil {
		return events.Outcome{}, err
	}
	return res.Outcomes[0].Data, nil
}

// unitPrices maps each charge of the product to its USD price.
func (e *catalogEnv) unitPrices(productID string) map[string]float64 {
	e.t.Helper()
	st := e.sim.State()
	out := map[string]float64{}
	for _, pl := range st.Plans {
		if pl.ProductID != productID {
			continue
		}
		for _, pr := range st.Prices {
			if pr.PlanID != pl.ID {
				continue
			}
			c, _ := e.sim.Charge(pr.ID)
			for _, tier := range c.Tiers {
				if tier.Currency == "USD" {
					out[c.ID] = tier.Price
				}
			}
		}
	}
	return out
}

// twoFeaturesOneUnit is a plan pricing two features that Stigg shows with the same unit name: two charges in
// Zuora that only their prices (and the id map) tell apart.
func twoFeaturesOneUnit(model events.BillingModel) *events.PackagePublished {
	p := func(feature, amount string) events.Price {
		pr := price(events.BillingPeriodMonthly, model, "USD", amount, feature)
		pr.UnitName = "Credit"
		return pr
	}
	return &events.PackagePublished{PackageID: "plan-credits", PackageType: events.PackageTypePlan, Version: 1,
		DisplayName: "Credits", Prices: []events.Price{
			price(events.BillingPeriodMonthly, events.BillingModelFlatFee, "USD", "5", ""),
			p("feature-a", "10"), p("feature-b", "20"),
		}}
}

func TestCatalogLostIDMapMatchesSameUnitChargesOneToOne(t *testing.T) {
	e := newCatalogEnv(t)
	pk := twoFeaturesOneUnit(events.BillingModelPerUnit)
	first, err := e.handle(e.input(pk))
	if err != nil {
		t.Fatal(err)
	}
	keyA, keyB := "charge.MONTHLY.PER_UNIT.feature-a", "charge.MONTHLY.PER_UNIT.feature-b"
	if first.Zuora[keyA] == "" || first.Zuora[keyA] == first.Zuora[keyB] {
		t.Fatalf("first sync: %v", first.Zuora)
	}

	// The id map is gone; Zuora still has both charges. The prices come in the other order this time.
	e.loseIDMap()
	slices.Reverse(pk.Prices)
	pk.Version = 2
	again, err := e.handle(e.input(pk))
	if err != nil {
		t.Fatal(err)
	}
	if again.Action != actionUnchanged {
		t.Errorf("action %q, want unchanged: each charge matches the one already priced for it", again.Action)
	}
	for _, k := range []string{keyA, keyB} {
		if again.Zuora[k] != first.Zuora[k] {
			t.Errorf("%s mapped to %s, want %s: %v", k, again.Zuora[k], first.Zuora[k], again.Zuora)
		}
	}
	prices := e.unitPrices(first.Zuora[events.ZuoraProductID])
	if len(prices) != 3 || prices[first.Zuora[keyA]] != 10 || prices[first.Zuora[keyB]] != 20 {
		t.Fatalf("Zuora charges and USD prices %v; want three charges, feature-a at 10 and feature-b at 20", prices)
	}
}

func TestCatalogRetryAfter429UsesRecordedProgress(t *testing.T) {
	e := newCatalogEnv(t)
	pk := twoFeaturesOneUnit(events.BillingModelUsageBased)
	pk.Prices[2].Amount = events.DecimalPtr("10") // the two charges are now identical but for their feature
	// The flat fee and the first usage charge are created; the second one hits Zuora's rate limit.
	const charges = "/v1/object/product-rate-plan-charge"
	e.sim.InjectFault(zuorasim.Fault{Method: "POST", PathPrefix: charges, Latency: time.Microsecond, Times: 2})
	e.sim.InjectFault(zuorasim.Fault{Method: "POST", PathPrefix: charges, Status: 429, Times: 1})
	in := e.input(pk)
	_, err := e.handle(in)
	var zerr *zuoraapi.Error
	if !errors.As(err, &zerr) || zerr.Kind != zuoraapi.KindRateLimited {
		t.Fatalf("first attempt: %v, want Zuora's 429", err)
	}
	ctx := t.Context()
	progress, err := e.ids.Get(ctx, KindPackageProgress, pk.PackageID)
	if err != nil {
		t.Fatalf("no progress recorded before the 429: %v", err)
	}
	firstA := progress.Extra["charge.MONTHLY.USAGE_BASED.feature-a"]
	if progress.ZuoraID == "" || progress.Extra["plan.MONTHLY"] == "" || firstA == "" {
		t.Fatalf("progress %+v: want the product, the plan and feature-a's charge", progress)
	}
	if _, err := e.ids.Get(ctx, KindPackage, pk.PackageID); !errors.Is(err, idmap.ErrNotFound) {
		t.Fatalf("package entry before the sync finished: %v; subscriptions must keep waiting for it", err)
	}

	in.Attempt = 2
	out, err := e.handle(in)
	if err != nil {
		t.Fatal(err)
	}
	a, b := out.Zuora["charge.MONTHLY.USAGE_BASED.feature-a"], out.Zuora["charge.MONTHLY.USAGE_BASED.feature-b"]
	if a != firstA || b == "" || b == a {
		t.Fatalf("retry mapped feature-a → %s, feature-b → %s; want %s and a new charge", a, b, firstA)
	}
	prices := e.unitPrices(out.Zuora[events.ZuoraProductID])
	if len(prices) != 3 || prices[a] != 10 || prices[b] != 10 {
		t.Fatalf("Zuora charges and USD prices %v; want three charges, both usage charges at 10", prices)
	}
	entry, err := e.ids.Get(ctx, KindPackage, pk.PackageID)
	if err != nil || entry.Extra["charge.MONTHLY.USAGE_BASED.feature-b"] != b {
		t.Fatalf("package entry %+v %v", entry, err)
	}
}

func TestCatalogNewFeatureDoesNotTakeARemovedFeaturesCharge(t *testing.T) {
	e := newCatalogEnv(t)
	pk := twoFeaturesOneUnit(events.BillingModelPerUnit)
	pk.Prices = pk.Prices[:2] // flat fee + feature-a
	first, err := e.handle(e.input(pk))
	if err != nil {
		t.Fatal(err)
	}
	// Stigg replaces feature-a by feature-b, same unit: a's charge may still bill subscriptions, so b gets its
	// own, and a name Zuora accepts next to a's "Credit".
	pk.Version, pk.Prices[1].FeatureID, pk.Prices[1].Amount = 2, "feature-b", events.DecimalPtr("20")
	out, err := e.handle(e.input(pk))
	if err != nil {
		t.Fatal(err)
	}
	a, b := first.Zuora["charge.MONTHLY.PER_UNIT.feature-a"], out.Zuora["charge.MONTHLY.PER_UNIT.feature-b"]
	if b == "" || b == a || !strings.Contains(out.Reason, a) {
		t.Fatalf("feature-b → %q (feature-a had %q), notes %q", b, a, out.Reason)
	}
	ca, _ := e.sim.Charge(a)
	cb, _ := e.sim.Charge(b)
	if ca.Name != "Credit" || ca.Tiers[0].Price != 10 || cb.Name != "Credit (feature-b)" || cb.Tiers[0].Price != 20 {
		t.Fatalf("charges %q@%v and %q@%v", ca.Name, ca.Tiers[0].Price, cb.Name, cb.Tiers[0].Price)
	}
}

func TestMatchChargesNeverSharesACharge(t *testing.T) {
	pk := twoFeaturesOneUnit(events.BillingModelPerUnit)
	plans, err := desiredCatalog(pk)
	if err != nil {
		t.Fatal(err)
	}
	dp := plans[0]
	flat, a, b := dp.charges[0], dp.charges[1], dp.charges[2]
	existing := func(id, name string, usd string) zuoraapi.Charge {
		return zuoraapi.Charge{ID: id, Name: name, Type: a.chargeType, Model: zuoraapi.ChargeModelReadPerUnit,
			UOM: "Credit", BillingPeriod: a.v1Per, Pricing: []zuoraapi.ChargePricing{{Currency: "USD", Price: amt(usd)}}}
	}
	for name, tc := range map[string]struct {
		ids     map[string]string
		charges []zuoraapi.Charge
		want    map[*desiredCharge]string // "" = create
	}{
		"one charge left: only one feature gets it": {
			charges: []zuoraapi.Charge{existing("c1", "Credit", "20")},
			want:    map[*desiredCharge]string{flat: "", a: "", b: "c1"},
		},
		"the id map claims a charge for its own feature": {
			ids:     map[string]string{"charge.MONTHLY." + b.key: "c1"},
			charges: []zuoraapi.Charge{existing("c1", "Credit", "10"), existing("c2", "Credit", "20")},
			want:    map[*desiredCharge]string{flat: "", a: "c2", b: "c1"},
		},
		"a charge recorded for a price Stigg removed is not reused": {
			ids:     map[string]string{"charge.MONTHLY.PER_UNIT.feature-old": "c1"},
			charges: []zuoraapi.Charge{existing("c1", "Credit", "10")},
			want:    map[*desiredCharge]string{flat: "", a: "", b: ""},
		},
		"name breaks the tie before pricing": {
			charges: []zuoraapi.Charge{existing("c1", "Credit (feature-a)", "20"), existing("c2", "Renamed", "10")},
			want:    map[*desiredCharge]string{flat: "", a: "c1", b: "c2"},
		},
		"another billing period or model is another charge": {
			charges: []zuoraapi.Charge{
				func() zuoraapi.Charge { c := existing("c1", "Credit", "10"); c.BillingPeriod = "Annual"; return c }(),
				func() zuoraapi.Charge {
					c := existing("c2", "Credit", "10")
					c.Model = zuoraapi.ChargeModelReadVolume
					return c
				}(),
			},
			want: map[*desiredCharge]string{flat: "", a: "", b: ""},
		},
	} {
		s := &catalogSync{rec: idmap.PackageOf(&idmap.Entry{Extra: tc.ids})}
		got := s.matchCharges(&zuoraapi.ProductRatePlanV1{Charges: tc.charges}, dp.charges)
		for d, want := range tc.want {
			id := ""
			if got[d] != nil {
				id = got[d].ID
			}
			if id != want {
				t.Errorf("%s: %s matched %q, want %q", name, d.key, id, want)
			}
		}
	}
}
