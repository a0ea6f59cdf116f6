package idmap

import (
	"maps"
	"strings"
)

// The typed records of the id map's kinds. Entries keep one stored form (Entry.Extra, flat string keys, as
// deployed first); only this file knows its keys, so handlers work with the types and the form can change in one
// place.

// ChargeRecord is one Zuora charge of a package: its id and, for pricing it in an order, its V1 charge model and
// charge type.
type ChargeRecord struct {
	ID    string
	Model string
	Type  string
}

// PackageRecord is the Zuora side of a Stigg package beyond its product: per billing period the product rate plan
// and, per charge key (FLAT_FEE, PER_UNIT.<feature>, …), its charge.
type PackageRecord struct {
	plans   map[string]string
	charges map[string]map[string]ChargeRecord
}

// Stored keys of a package entry's Extra.
const (
	extraPlan   = "plan."   // plan.<period> → product rate plan id
	extraCharge = "charge." // charge.<period>.<key> → charge id
	extraModel  = "model."  // model.<period>.<key> → "<model>|<type>"
)

// PackageOf decodes the package record of an entry (nil entry: empty record).
func PackageOf(e *Entry) *PackageRecord {
	r := &PackageRecord{plans: map[string]string{}, charges: map[string]map[string]ChargeRecord{}}
	if e == nil {
		return r
	}
	r.merge(e.Extra)
	return r
}

func (r *PackageRecord) merge(extra map[string]string) {
	for k, v := range extra {
		switch {
		case strings.HasPrefix(k, extraPlan):
			r.plans[strings.TrimPrefix(k, extraPlan)] = v
		case strings.HasPrefix(k, extraCharge):
			if period, key, ok := strings.Cut(strings.TrimPrefix(k, extraCharge), "."); ok {
				c := r.charge(period, key)
				c.ID = v
				r.SetCharge(period, key, c)
			}
		case strings.HasPrefix(k, extraModel):
			if period, key, ok := strings.Cut(strings.TrimPrefix(k, extraModel), "."); ok {
				c := r.charge(period, key)
				c.Model, c.Type, _ = strings.Cut(v, "|")
				r.SetCharge(period, key, c)
			}
		}
	}
}

// Merge adds what other records over what r has.
func (r *PackageRecord) Merge(other *PackageRecord) { r.merge(other.Extra()) }

// Extra is the stored form.
func (r *PackageRecord) Extra() map[string]string {
	out := map[string]string{}
	for period, id := range r.plans {
		out[extraPlan+period] = id
	}
	for period, charges := range r.charges {
		for key, c := range charges {
			if c.ID != "" {
				out[extraCharge+period+"."+key] = c.ID
			}
			if c.Model != "" || c.Type != "" {
				out[extraModel+period+"."+key] = c.Model + "|" + c.Type
			}
		}
	}
	return out
}

// Plan is the product rate plan of a billing period ("" when none is recorded).
func (r *PackageRecord) Plan(period string) string { return r.plans[period] }

// SetPlan records the product rate plan of a billing period.
func (r *PackageRecord) SetPlan(period, id string) { r.plans[period] = id }

func (r *PackageRecord) charge(period, key string) ChargeRecord { return r.charges[period][key] }

// Charge is a recorded charge of a billing period.
func (r *PackageRecord) Charge(period, key string) (ChargeRecord, bool) {
	c, ok := r.charges[period][key]
	return c, ok
}

// Charges are the recorded charges of a billing period, by charge key.
func (r *PackageRecord) Charges(period string) map[string]ChargeRecord {
	return maps.Clone(r.charges[period])
}

// SetCharge records a charge of a billing period.
func (r *PackageRecord) SetCharge(period, key string, c ChargeRecord) {
	if r.charges[period] == nil {
		r.charges[period] = map[string]ChargeRecord{}
	}
	r.charges[period][key] = c
}

// HasCharges tells whether any billing period has a charge (a package without charges is free).
func (r *PackageRecord) HasCharges() bool {
	for _, charges := range r.charges {
		for _, c := range charges {
			if c.ID != "" {
				return true
			}
		}
	}
	return false
}

// ClaimsPlan tells whether id is the plan of some billing period.
func (r *PackageRecord) ClaimsPlan(id string) bool {
	for _, p := range r.plans {
		if p == id {
			return true
		}
	}
	return false
}

// ClaimsCharge tells whether id is recorded for some charge key, including keys of prices no longer published.
func (r *PackageRecord) ClaimsCharge(id string) bool {
	for _, charges := range r.charges {
		for _, c := range charges {
			if c.ID == id {
				return true
			}
		}
	}
	return false
}

// SubscriptionRecord is what zuora-sync remembers of a subscription beyond its Zuora id and number.
type SubscriptionRecord struct {
	// ScheduledOrder is the pending scheduled order zuora-sync created last; ScheduledBy the event that made it.
	ScheduledOrder, ScheduledBy string
	// CancelledBy is the event whose cancellation was applied.
	CancelledBy string
	// Skipped says why the subscription is not in Zuora (a free plan); empty when it is.
	Skipped string
}

// Stored keys of a subscription entry's Extra.
const (
	extraScheduledOrder = "scheduledOrder"
	extraScheduledBy    = "scheduledBy"
	extraCancelledBy    = "cancelledBy"
	extraSkipped        = "skipped"
)

// SubscriptionOf decodes the subscription record of an entry (nil entry: empty record).
func SubscriptionOf(e *Entry) SubscriptionRecord {
	if e == nil {
		return SubscriptionRecord{}
	}
	return SubscriptionRecord{ScheduledOrder: e.Extra[extraScheduledOrder], ScheduledBy: e.Extra[extraScheduledBy],
		CancelledBy: e.Extra[extraCancelledBy], Skipped: e.Extra[extraSkipped]}
}

// Extra is the stored form.
func (r SubscriptionRecord) Extra() map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{extraScheduledOrder: r.ScheduledOrder, extraScheduledBy: r.ScheduledBy,
		extraCancelledBy: r.CancelledBy, extraSkipped: r.Skipped} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}
