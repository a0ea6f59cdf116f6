package handlers

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/idmap"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// Kinds of catalog id-map entries.
const (
	KindPackage = events.EntityPackage
	KindUOM     = "uom"
	// KindPackageProgress holds the ids a package sync has created so far, written after every create, so a
	// retry after a failure midway (429, crash) finds them instead of guessing. It is not the package entry
	// itself: subscriptions read that one, and a partial entry would make a paid package look free (no
	// charges) or lack a billing period, where a missing entry makes them wait.
	KindPackageProgress = "package-progress"
)

// packages turns io.stigg.package.published into a Zuora product, one plan (product rate plan) per billing
// period, and one charge per (billing model, feature) in each plan, priced in every currency Stigg publishes.
//
// It works by comparing what Stigg published with what Zuora has, so the first publish, a new version and a
// replay all run the same code: missing objects are created, lightweight differences (names, prices, tiers,
// quantities) are repaired through the v2 price, and differences Zuora cannot change in place (charge model,
// charge type, billing period, unit of measure) are reported, not papered over.
//
// Zuora calls for a re-publish of an unchanged package: GET /v2/products/{id} (product fields) and
// GET /v1/products/{id}/product-rate-plans (every plan and charge with its pricing) — two reads prove there is
// no drift, whatever the size of the package.
type packages struct{ deps Deps }

// charge identity inside a plan: at most one flat fee, and one charge per (model, feature).
func chargeKey(p *events.Price) string {
	if p.BillingModel == events.BillingModelFlatFee {
		return string(p.BillingModel)
	}
	return string(p.BillingModel) + "." + p.FeatureID
}

// desiredCharge is one Zuora charge as Stigg's prices describe it.
type desiredCharge struct {
	key, name, feature       string
	period                   events.BillingPeriod
	model, chargeType, v1Per string // V1 create vocabulary
	uom                      string
	tiersMode                events.TiersMode
	prices                   []events.Price // one per currency, all of the same shape
	min, max                 *zuoraapi.Amount
	accountingCode           string
}

type desiredPlan struct {
	period  events.BillingPeriod
	name    string
	charges []*desiredCharge
}

// desiredCatalog groups a package's prices into plans and charges.
func desiredCatalog(pk *events.PackagePublished) ([]*desiredPlan, error) {
	plans := map[events.BillingPeriod]*desiredPlan{}
	charges := map[string]*desiredCharge{}
	for i := range pk.Prices {
		p := pk.Prices[i]
		plan := plans[p.BillingPeriod]
		if plan == nil {
			plan = &desiredPlan{period: p.BillingPeriod, name: planName(pk.DisplayName, p.BillingPeriod)}
			plans[p.BillingPeriod] = plan
		}
		id := string(p.BillingPeriod) + "." + chargeKey(&p)
		ch := charges[id]
		if ch == nil {
			model, ctype, err := v1Charge(p.BillingModel, p.TiersMode)
			if err != nil {
				return nil, fmt.Errorf("prices[%d]: %w", i, err)
			}
			period, err := v1BillingPeriod(p.BillingPeriod)
			if err != nil {
				return nil, fmt.Errorf("prices[%d]: %w", i, err)
			}
			ch = &desiredCharge{key: chargeKey(&p), name: chargeName(&p), feature: p.FeatureID, period: p.BillingPeriod,
				model: model, chargeType: ctype, v1Per: period, tiersMode: p.TiersMode, accountingCode: p.AccountingCode}
			if p.BillingModel != events.BillingModelFlatFee {
				ch.uom = cmp.Or(p.UnitName, p.FeatureID)
			}
			if p.MinUnitQuantity != nil {
				ch.min = new(zuoraapi.QuantityAmount(*p.MinUnitQuantity))
			}
			if p.MaxUnitQuantity != nil {
				ch.max = new(zuoraapi.QuantityAmount(*p.MaxUnitQuantity))
			}
			charges[id] = ch
			plan.charges = append(plan.charges, ch)
		} else if ch.tiersMode != p.TiersMode || len(ch.prices[0].Tiers) != len(p.Tiers) {
			return nil, fmt.Errorf("prices[%d]: the %s prices of %s differ in shape between currencies; Zuora "+
				"needs one tier structure per charge", i, p.BillingPeriod, ch.key)
		}
		if slices.ContainsFunc(ch.prices, func(q events.Price) bool { return strings.EqualFold(q.Currency, p.Currency) }) {
			return nil, fmt.Errorf("prices[%d]: two %s prices for %s in %s", i, p.BillingPeriod, ch.key, p.Currency)
		}
		ch.prices = append(ch.prices, p)
	}
	out := make([]*desiredPlan, 0, len(plans))
	for _, p := range plans {
		// Zuora refuses two charges of the same name in a plan; features sharing a unit name would collide.
		names := map[string]int{}
		for _, ch := range p.charges {
			names[ch.name]++
		}
		for _, ch := range p.charges {
			if names[ch.name] > 1 {
				ch.qualifyName()
			}
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *desiredPlan) int { return strings.Compare(string(a.period), string(b.period)) })
	return out, nil
}

func planName(displayName string, period events.BillingPeriod) string {
	if period == events.BillingPeriodAnnually {
		return displayName + " (Annual)"
	}
	return displayName + " (Monthly)"
}

// chargeName is what invoices show; identity is chargeKey, so a renamed unit does not create a second charge.
func chargeName(p *events.Price) string {
	unit := cmp.Or(p.UnitName, p.FeatureID)
	switch p.BillingModel {
	case events.BillingModelFlatFee:
		return "Base price"
	case events.BillingModelUsageBased:
		return unit + " usage"
	}
	return unit
}

// qualifyName makes the name unique in its plan by adding the feature (a flat fee has none, and is alone).
func (d *desiredCharge) qualifyName() {
	if q := " (" + d.feature + ")"; d.feature != "" && !strings.HasSuffix(d.name, q) {
		d.name += q
	}
}

func amountOf(d *events.Decimal) *zuoraapi.Amount {
	if d == nil {
		return nil
	}
	a, err := zuoraapi.ParseAmount(d.String())
	if err != nil {
		return nil // validated decimals always parse
	}
	return &a
}

func tierSpecs(p *events.Price) []zuoraapi.TierSpec {
	out := make([]zuoraapi.TierSpec, len(p.Tiers))
	for i, t := range p.Tiers {
		out[i] = zuoraapi.TierSpec{UpTo: amountOf(t.UpTo), UnitPrice: amountOf(t.UnitPrice), FlatPrice: amountOf(t.FlatPrice)}
	}
	return out
}

// v1Tiers is the charge's tier data for every currency, as the V1 create takes it and the V1 read returns it.
func (d *desiredCharge) v1Tiers() ([]zuoraapi.ChargeTier, error) {
	var out []zuoraapi.ChargeTier
	for i := range d.prices {
		p := &d.prices[i]
		cur := strings.ToUpper(p.Currency)
		if len(p.Tiers) > 0 {
			tiers, err := zuoraapi.V1Tiers(cur, tierSpecs(p), 0)
			if err != nil {
				return nil, fmt.Errorf("%s %s tiers: %w", d.key, cur, err)
			}
			out = append(out, tiers...)
			continue
		}
		t := zuoraapi.ChargeTier{Currency: cur}
		if a := amountOf(p.Amount); a != nil {
			t.Price = *a
		}
		out = append(out, t)
	}
	return out, nil
}

func (h *packages) Handle(ctx context.Context, in *dispatch.Input) (*dispatch.Result, error) {
	pk, ok := in.Payload.(*events.PackagePublished)
	if !ok {
		return nil, dispatch.Permanent(fmt.Errorf("package handler got %T", in.Payload))
	}
	plans, err := desiredCatalog(pk)
	if err != nil {
		return nil, dispatch.Permanent(fmt.Errorf("package %s v%d cannot be expressed in Zuora: %w", pk.PackageID, pk.Version, err))
	}
	s := &catalogSync{h: h, pk: pk, in: in, action: actionUnchanged}
	if err := s.product(ctx); err != nil {
		return nil, err
	}
	for _, plan := range plans {
		if err := s.plan(ctx, plan); err != nil {
			return nil, err
		}
	}
	if err := h.deps.IDs.Put(ctx, KindPackage, &idmap.Entry{StiggID: pk.PackageID, ZuoraID: s.productID,
		ZuoraNumber: s.sku, Extra: s.rec.Extra(), SourceEventID: in.Event.ID(), Revision: s.mappedRev}); err != nil {
		return nil, err
	}
	// The outcome names the objects of the published prices, in the outcome's own vocabulary.
	zuoraIDs := map[string]string{events.ZuoraProductID: s.productID}
	for _, plan := range plans {
		period := string(plan.period)
		if id := s.rec.Plan(period); id != "" {
			zuoraIDs[events.ZuoraPlanOf(period)] = id
		}
		for _, d := range plan.charges {
			if id := s.chargeID(d); id != "" {
				zuoraIDs[events.ZuoraChargeOf(period, d.key)] = id
			}
		}
	}
	if len(s.unrepairable) > 0 {
		return nil, dispatch.Permanent(fmt.Errorf("package %s v%d: Zuora differs from Stigg in ways that cannot be "+
			"changed in place: %s. Create a new rate plan charge in Zuora (or archive the product and let zuora-sync "+
			"recreate it), update the id map entry %s, then redrive this event",
			pk.PackageID, pk.Version, strings.Join(s.unrepairable, "; "), idmap.Key(KindPackage, pk.PackageID)))
	}
	in.Logger.Info("package synced", "action", s.action, "product_id", s.productID, "notes", s.notes)
	return &dispatch.Result{Outcomes: []dispatch.Outcome{{
		Entity: events.EntityPackage, Result: events.ResultSynced,
		Data: events.Outcome{StiggID: pk.PackageID, Action: s.action, Zuora: zuoraIDs,
			Reason: strings.Join(s.notes, "; ")},
	}}}, nil
}

// catalogSync is the state of one package's sync.
type catalogSync struct {
	h  *packages
	pk *events.PackagePublished
	in *dispatch.Input

	productID, sku string
	rec            *idmap.PackageRecord // plans and charges known so far
	// Revisions of the package and progress entries, for compare-and-set writes.
	mappedRev, progressRev uint64
	existing               []zuoraapi.ProductRatePlanV1
	action                 string
	unrepairable           []string
	notes                  []string
}

func (s *catalogSync) changed(what string) {
	if s.action == actionUnchanged {
		s.action = actionUpdated
	}
	s.in.Logger.Info("catalog change", "what", what)
}

// productSKU makes the Stigg package id a Zuora SKU: unique per tenant, so it finds the product again even when
// the id map is lost.
// Zuora's SKU holds 50 characters, and the SKU is found again through a `sku.EQ:` filter, so a long id or one
// with filter or white-space characters is hashed (such SKUs could never be created, so none is deployed).
func productSKU(packageID string) string {
	sku := "stigg-" + packageID
	if len(sku) <= 50 && !strings.ContainsAny(sku, " ,:;\t\n") {
		return sku
	}
	sum := sha256.Sum256([]byte(packageID))
	return "stigg-" + hex.EncodeToString(sum[:16])
}

func (s *catalogSync) product(ctx context.Context) error {
	z := s.h.deps.Zuora
	s.rec = idmap.PackageOf(nil)
	s.sku = productSKU(s.pk.PackageID)
	mapped, err := s.h.deps.IDs.Get(ctx, KindPackage, s.pk.PackageID)
	if err != nil && !errors.Is(err, idmap.ErrNotFound) {
		return err
	}
	progress, err := s.h.deps.IDs.Get(ctx, KindPackageProgress, s.pk.PackageID)
	if err != nil && !errors.Is(err, idmap.ErrNotFound) {
		return err
	}
	// Writes compare and set on the revisions read here.
	if mapped != nil {
		s.mappedRev = mapped.Revision
	}
	if progress != nil {
		s.progressRev = progress.Revision
	}
	// Progress newer than the package entry is an unfinished sync that started from that entry: it knows more.
	if progress != nil && mapped != nil && (progress.ZuoraID != mapped.ZuoraID || !progress.UpdatedAt.After(mapped.UpdatedAt)) {
		progress = nil
	}
	var prod *zuoraapi.Product
	if mapped != nil {
		s.rec = idmap.PackageOf(mapped)
		if progress != nil {
			s.rec.Merge(idmap.PackageOf(progress))
		}
		prod, err = z.GetProduct(ctx, mapped.ZuoraID)
		if zuoraapi.IsNotFound(err) {
			return dispatch.Permanent(fmt.Errorf("package %s is mapped to Zuora product %s, which no longer exists; "+
				"delete the mapping (nats kv del zuorasync-ids %s) and redrive", s.pk.PackageID,
				mapped.ZuoraID, idmap.Key(KindPackage, s.pk.PackageID)))
		}
		if err != nil {
			return describe(err, "read Zuora product "+mapped.ZuoraID)
		}
	} else {
		found, err := z.FindProducts(ctx, "sku.EQ:"+s.sku)
		if err != nil {
			return describe(err, "search Zuora products by SKU "+s.sku)
		}
		if len(found) > 0 {
			prod = &found[0]
			// Without a package entry, progress counts only for the product the SKU finds (the entry may have
			// been deleted because its product was).
			if progress != nil && progress.ZuoraID == prod.ID {
				s.rec.Merge(idmap.PackageOf(progress))
			}
		}
	}
	productType := zuoraapi.ProductTypeBase
	if s.pk.PackageType == events.PackageTypeAddon {
		productType = zuoraapi.ProductTypeAddOn
	}
	fields := map[string]string{}
	if s.pk.EntityURL != "" {
		fields[FieldStiggEntityURL] = s.pk.EntityURL
	}
	if prod == nil {
		prod, err = z.CreateProduct(ctx, "product.create", &zuoraapi.ProductCreateRequest{
			Name: s.pk.DisplayName, SKU: s.sku, Description: s.pk.Description, Type: productType, CustomFields: fields,
		})
		if err != nil {
			return describe(err, "create the Zuora product for package "+s.pk.PackageID)
		}
		// A new product has no plans yet, so there is nothing to read back.
		s.productID, s.action = prod.ID, actionCreated
		return s.record(ctx)
	}
	s.productID = prod.ID
	patch := &zuoraapi.ProductPatch{}
	if prod.Name != s.pk.DisplayName {
		patch.Name = new(s.pk.DisplayName)
	}
	if s.pk.Description != "" && prod.Description != s.pk.Description {
		patch.Description = new(s.pk.Description)
	}
	for k, v := range fields {
		if prod.CustomFields[k] != v {
			if patch.CustomFields == nil {
				patch.CustomFields = map[string]string{}
			}
			patch.CustomFields[k] = v
		}
	}
	if !patch.IsEmpty() {
		if _, err := z.UpdateProduct(ctx, "product.update", prod.ID, patch); err != nil {
			return describe(err, "update Zuora product "+prod.ID)
		}
		s.changed("product fields")
	}
	// One read gives every plan and charge with its pricing: the drift check of the whole package.
	if s.existing, err = z.ListProductRatePlans(ctx, prod.ID); err != nil {
		return describe(err, "read the rate plans of Zuora product "+prod.ID)
	}
	return nil
}

func (s *catalogSync) plan(ctx context.Context, dp *desiredPlan) error {
	z := s.h.deps.Zuora
	period := string(dp.period)
	var have *zuoraapi.ProductRatePlanV1
	for i := range s.existing {
		p := &s.existing[i]
		if p.ID == s.rec.Plan(period) || (s.rec.Plan(period) == "" && p.Name == dp.name && !s.rec.ClaimsPlan(p.ID)) {
			have = p
			break
		}
	}
	if have == nil {
		var currencies []string
		for _, ch := range dp.charges {
			for _, p := range ch.prices {
				if !slices.Contains(currencies, strings.ToUpper(p.Currency)) {
					currencies = append(currencies, strings.ToUpper(p.Currency))
				}
			}
		}
		plan, err := z.CreatePlan(ctx, "plan.create."+string(dp.period), &zuoraapi.PlanCreateRequest{
			ProductID: s.productID, Name: dp.name, Description: s.pk.Description, ActiveCurrencies: currencies,
		})
		if err != nil {
			return describe(err, "create Zuora plan "+dp.name)
		}
		s.rec.SetPlan(period, plan.ID)
		s.changed("plan " + dp.name + " created")
		if err := s.record(ctx); err != nil {
			return err
		}
		have = &zuoraapi.ProductRatePlanV1{ID: plan.ID, Name: plan.Name}
	} else {
		s.rec.SetPlan(period, have.ID)
		if have.Name != dp.name {
			if _, err := z.UpdatePlan(ctx, "plan.update."+string(dp.period), have.ID, &zuoraapi.PlanPatch{Name: new(dp.name)}); err != nil {
				return describe(err, "rename Zuora plan "+have.ID)
			}
			s.changed("plan renamed to " + dp.name)
		}
	}
	// Every charge's match is decided before any is touched, so no order of prices lets one charge take
	// another's Zuora charge.
	matched := s.matchCharges(have, dp.charges)
	taken := map[string]bool{}
	for i := range have.Charges {
		if !slices.ContainsFunc(dp.charges, func(d *desiredCharge) bool { return matched[d] == &have.Charges[i] }) {
			taken[have.Charges[i].Name] = true // left as it is (e.g. a price Stigg removed): its name stays taken
		}
	}
	for _, d := range dp.charges {
		// Subscriptions need each charge's model to price it in an order; the id map keeps it next to the id.
		rc, _ := s.rec.Charge(period, d.key)
		rc.Model, rc.Type = d.model, d.chargeType
		if c := matched[d]; c != nil {
			rc.ID = c.ID
		}
		s.rec.SetCharge(period, d.key, rc)
		if taken[d.name] {
			d.qualifyName()
		}
	}
	// Repairs (renames included) go before creates, so a new charge never needs a name a repair frees.
	for _, d := range dp.charges {
		if c := matched[d]; c != nil {
			if err := s.reconcileCharge(ctx, have, c, d); err != nil {
				return err
			}
		}
	}
	for _, d := range dp.charges {
		if matched[d] == nil {
			if err := s.createCharge(ctx, have.ID, d); err != nil {
				return err
			}
		}
	}
	for _, c := range have.Charges {
		if !slices.ContainsFunc(dp.charges, func(d *desiredCharge) bool { return s.chargeID(d) == c.ID }) {
			s.notes = append(s.notes, fmt.Sprintf("charge %q (%s) of plan %q is no longer published by Stigg and was "+
				"left in Zuora, where subscriptions may still use it", c.Name, c.ID, have.Name))
		}
	}
	return nil
}

// chargeID is the Zuora charge recorded for d ("" when none is).
func (s *catalogSync) chargeID(d *desiredCharge) string {
	c, _ := s.rec.Charge(string(d.period), d.key)
	return c.ID
}

// matches tells whether an existing charge can be the one d describes, when the id map does not say: the same
// charge type, unit of measure (a flat fee has none), charge model and billing period.
func (d *desiredCharge) matches(c *zuoraapi.Charge) bool {
	return c.Type == d.chargeType && c.UOM == d.uom && c.Model == zuoraapi.ChargeModelRead(d.model) &&
		c.BillingPeriod == d.v1Per
}

// matchCharges pairs desired charges with existing ones, one to one. The id map decides first. The others may
// only take a charge nobody claimed, in passes from strict to loose: same identity (matches) plus same name and
// pricing, plus same name, plus same pricing, identity alone; so a charge that fits one desired charge exactly is
// not taken by a sibling that would have to reprice it. Desired charges go in key order, not event order. A
// charge with no match (nil) is created.
func (s *catalogSync) matchCharges(plan *zuoraapi.ProductRatePlanV1, desired []*desiredCharge) map[*desiredCharge]*zuoraapi.Charge {
	out := map[*desiredCharge]*zuoraapi.Charge{}
	used := map[string]bool{}
	var open []*desiredCharge
	for _, d := range desired {
		if id := s.chargeID(d); id != "" {
			// A recorded charge missing from the plan is recreated, not replaced by a guess.
			if i := slices.IndexFunc(plan.Charges, func(c zuoraapi.Charge) bool { return c.ID == id }); i >= 0 {
				out[d], used[id] = &plan.Charges[i], true
			}
			continue
		}
		open = append(open, d)
	}
	slices.SortFunc(open, func(a, b *desiredCharge) int { return strings.Compare(a.key, b.key) })
	samePrice := func(d *desiredCharge, c *zuoraapi.Charge) bool {
		want, err := d.v1Tiers()
		return err == nil && samePricing(want, c, len(d.prices[0].Tiers) > 0)
	}
	for _, pass := range []func(d *desiredCharge, c *zuoraapi.Charge) bool{
		func(d *desiredCharge, c *zuoraapi.Charge) bool { return c.Name == d.name && samePrice(d, c) },
		func(d *desiredCharge, c *zuoraapi.Charge) bool { return c.Name == d.name },
		samePrice,
		func(*desiredCharge, *zuoraapi.Charge) bool { return true },
	} {
		for _, d := range open {
			if out[d] != nil {
				continue
			}
			for i := range plan.Charges {
				c := &plan.Charges[i]
				// A charge recorded for any price, even one no longer published, may still bill subscriptions:
				// it is not repriced for another feature.
				if !used[c.ID] && !s.rec.ClaimsCharge(c.ID) && d.matches(c) && pass(d, c) {
					out[d], used[c.ID] = c, true
					break
				}
			}
		}
	}
	return out
}

func (s *catalogSync) createCharge(ctx context.Context, planID string, d *desiredCharge) error {
	z := s.h.deps.Zuora
	if d.uom != "" {
		if err := s.ensureUOM(ctx, d.uom); err != nil {
			return err
		}
	}
	tiers, err := d.v1Tiers()
	if err != nil {
		return dispatch.Permanent(err)
	}
	req := &zuoraapi.ChargeCreateRequest{
		ProductRatePlanID: planID, Name: d.name, ChargeModel: d.model, ChargeType: d.chargeType,
		BillingPeriod: d.v1Per, UOM: d.uom, MinQuantity: d.min, MaxQuantity: d.max, AccountingCode: d.accountingCode,
		ProductRatePlanChargeTierData: zuoraapi.ChargeTierData{ProductRatePlanChargeTier: tiers},
	}
	if d.chargeType == zuoraapi.ChargeTypeUsage {
		req.BillingTiming = zuoraapi.BillingTimingInArrears
	}
	id, err := z.CreateCharge(ctx, "charge.create."+string(d.period)+"."+d.key, req)
	if err != nil {
		return describe(err, fmt.Sprintf("create Zuora charge %q in plan %s", d.name, planID))
	}
	rc, _ := s.rec.Charge(string(d.period), d.key)
	rc.ID = id
	s.rec.SetCharge(string(d.period), d.key, rc)
	s.changed("charge " + d.name + " created")
	return s.record(ctx)
}

// record writes what this sync knows so far (see KindPackageProgress); Handle writes the package entry at the end.
func (s *catalogSync) record(ctx context.Context) error {
	e := &idmap.Entry{StiggID: s.pk.PackageID, ZuoraID: s.productID, ZuoraNumber: s.sku, Extra: s.rec.Extra(),
		SourceEventID: s.in.Event.ID(), Revision: s.progressRev}
	if err := s.h.deps.IDs.Put(ctx, KindPackageProgress, e); err != nil {
		return err
	}
	s.progressRev = e.Revision
	return nil
}

// ensureUOM creates a unit of measure once per tenant; Zuora's duplicate-name answer means it exists already.
func (s *catalogSync) ensureUOM(ctx context.Context, name string) error {
	if _, err := s.h.deps.IDs.Get(ctx, KindUOM, name); err == nil {
		return nil
	} else if !errors.Is(err, idmap.ErrNotFound) {
		return err
	}
	id, err := s.h.deps.Zuora.CreateUnitOfMeasure(ctx, "uom.create."+name, &zuoraapi.UnitOfMeasure{
		UomName: name, DisplayedAs: name, DecimalPlaces: 0, RoundingMode: zuoraapi.RoundingModeUp, Active: new(true),
	})
	switch {
	case zuoraapi.IsDuplicate(err):
		id = "existing:" + name
	case err != nil:
		return describe(err, "create Zuora unit of measure "+name)
	}
	return s.h.deps.IDs.Put(ctx, KindUOM, &idmap.Entry{StiggID: name, ZuoraID: id})
}

// reconcileCharge compares an existing charge with Stigg's prices: what Zuora cannot change in place is
// reported; prices, tiers and quantities are repaired through the v2 price (the same object as the charge).
func (s *catalogSync) reconcileCharge(ctx context.Context, plan *zuoraapi.ProductRatePlanV1, have *zuoraapi.Charge, d *desiredCharge) error {
	where := fmt.Sprintf("charge %q (%s) of plan %q", have.Name, have.ID, plan.Name)
	fixed := func(field, want, got string) {
		if want != got {
			s.unrepairable = append(s.unrepairable, fmt.Sprintf("%s: %s is %q in Zuora, Stigg publishes %q", where, field, got, want))
		}
	}
	fixed("charge model", zuoraapi.ChargeModelRead(d.model), have.Model)
	fixed("charge type", d.chargeType, have.Type)
	fixed("billing period", d.v1Per, have.BillingPeriod)
	fixed("unit of measure", d.uom, have.UOM)

	patch := &zuoraapi.PricePatch{}
	if have.Name != d.name {
		patch.Name = new(d.name)
	}
	if !sameAmount(d.min, have.MinQuantity) && d.min != nil {
		patch.MinQuantity = d.min
	}
	if !sameAmount(d.max, have.MaxQuantity) && d.max != nil {
		patch.MaxQuantity = d.max
	}
	want, err := d.v1Tiers()
	if err != nil {
		return dispatch.Permanent(err)
	}
	if !samePricing(want, have, len(d.prices[0].Tiers) > 0) {
		if len(d.prices[0].Tiers) > 0 {
			mode, _ := quickstartTiersMode(d.tiersMode)
			patch.TiersMode = new(mode)
			for i := range d.prices {
				patch.Tiers = append(patch.Tiers, zuoraapi.QuickstartTiers(strings.ToUpper(d.prices[i].Currency), tierSpecs(&d.prices[i]))...)
			}
			patch.Tiers = mergeTiers(patch.Tiers)
		} else {
			amounts := map[string]zuoraapi.Amount{}
			for i := range d.prices {
				if a := amountOf(d.prices[i].Amount); a != nil {
					amounts[strings.ToUpper(d.prices[i].Currency)] = *a
				}
			}
			if d.model == zuoraapi.ChargeModelFlatFee {
				patch.Amounts = amounts
			} else {
				patch.UnitAmounts = amounts
			}
		}
	}
	if patch.IsEmpty() || len(s.unrepairable) > 0 && (patch.Tiers != nil || patch.TiersMode != nil) {
		// A price whose model differs cannot take the other model's tiers; the report above says what to do.
		return nil
	}
	if _, err := s.h.deps.Zuora.UpdatePrice(ctx, "price.update."+string(d.period)+"."+d.key, have.ID, patch); err != nil {
		return describe(err, "repair "+where)
	}
	s.changed(where + " repaired")
	return nil
}

// mergeTiers folds per-currency Quickstart tiers with the same bounds into one tier carrying every currency.
func mergeTiers(in []zuoraapi.PriceTier) []zuoraapi.PriceTier {
	var out []zuoraapi.PriceTier
	for _, t := range in {
		i := slices.IndexFunc(out, func(o zuoraapi.PriceTier) bool { return sameAmount(o.UpTo, t.UpTo) })
		if i < 0 {
			out = append(out, zuoraapi.PriceTier{UpTo: t.UpTo, Amounts: map[string]zuoraapi.Amount{}, UnitAmounts: map[string]zuoraapi.Amount{}})
			i = len(out) - 1
		}
		for c, a := range t.Amounts {
			out[i].Amounts[c] = a
		}
		for c, a := range t.UnitAmounts {
			out[i].UnitAmounts[c] = a
		}
	}
	for i := range out {
		if len(out[i].Amounts) == 0 {
			out[i].Amounts = nil
		}
		if len(out[i].UnitAmounts) == 0 {
			out[i].UnitAmounts = nil
		}
	}
	return out
}

func sameAmount(a, b *zuoraapi.Amount) bool {
	switch {
	case a == nil && b == nil:
		return true
	case a == nil || b == nil:
		return false
	}
	return a.Equal(*b)
}

// samePricing compares the tiers Stigg implies with the pricing Zuora reports, currency by currency.
func samePricing(want []zuoraapi.ChargeTier, have *zuoraapi.Charge, tiered bool) bool {
	byCurrency := map[string][]zuoraapi.ChargeTier{}
	for _, t := range want {
		byCurrency[t.Currency] = append(byCurrency[t.Currency], t)
	}
	if len(byCurrency) != len(have.Pricing) {
		return false
	}
	for cur, tiers := range byCurrency {
		p := have.PricingFor(cur)
		if p == nil {
			return false
		}
		if !tiered {
			if p.Price == nil || !p.Price.Equal(tiers[0].Price) {
				return false
			}
			continue
		}
		if len(p.Tiers) != len(tiers) {
			return false
		}
		for i, t := range tiers {
			got := p.Tiers[i]
			if got.Price == nil || !got.Price.Equal(t.Price) || !sameAmount(got.StartingUnit, t.StartingUnit) ||
				!sameAmount(got.EndingUnit, t.EndingUnit) || !samePriceFormat(got.PriceFormat, t.PriceFormat) {
				return false
			}
		}
	}
	return true
}

// samePriceFormat compares "Per Unit" (create) with "PerUnit"/"PER_UNIT" (read) spellings alike.
func samePriceFormat(a, b string) bool {
	norm := func(s string) string { return strings.ToLower(strings.NewReplacer(" ", "", "_", "").Replace(s)) }
	return norm(a) == norm(b)
}

var _ dispatch.Handler = (*packages)(nil)
