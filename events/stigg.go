package events

import "strings"

// Enumerations used by Stigg payloads. Values are Stigg's own spellings.
type (
	PackageType             string
	BillingPeriod           string
	BillingModel            string
	TiersMode               string
	PaymentCollectionMethod string
	ScheduleStrategy        string
	CancellationTime        string
	UpdateBehavior          string
	PaymentKind             string
)

const (
	PackageTypePlan  PackageType = "PLAN"
	PackageTypeAddon PackageType = "ADDON"

	BillingPeriodMonthly  BillingPeriod = "MONTHLY"
	BillingPeriodAnnually BillingPeriod = "ANNUALLY"

	BillingModelFlatFee    BillingModel = "FLAT_FEE"
	BillingModelPerUnit    BillingModel = "PER_UNIT"
	BillingModelUsageBased BillingModel = "USAGE_BASED"

	TiersModeGraduated TiersMode = "GRADUATED"
	TiersModeVolume    TiersMode = "VOLUME"

	PaymentCollectionCharge  PaymentCollectionMethod = "CHARGE"
	PaymentCollectionInvoice PaymentCollectionMethod = "INVOICE"
	PaymentCollectionNone    PaymentCollectionMethod = "NONE"

	ScheduleImmediate          ScheduleStrategy = "IMMEDIATE"
	ScheduleEndOfBillingPeriod ScheduleStrategy = "END_OF_BILLING_PERIOD"
	ScheduleEndOfBillingMonth  ScheduleStrategy = "END_OF_BILLING_MONTH"

	CancelImmediate          CancellationTime = "IMMEDIATE"
	CancelEndOfBillingPeriod CancellationTime = "END_OF_BILLING_PERIOD"
	CancelSpecificDate       CancellationTime = "SPECIFIC_DATE"

	UpdateDelta UpdateBehavior = "DELTA"
	UpdateSet   UpdateBehavior = "SET"

	PaymentExternal   PaymentKind = "EXTERNAL"
	PaymentElectronic PaymentKind = "ELECTRONIC"
)

// Address is a billing address (Zuora bill-to contact).
type Address struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postalCode,omitempty"`
	Country    string `json:"country,omitempty"`
}

// Customer is the data of io.stigg.customer.created and io.stigg.customer.updated.
type Customer struct {
	CustomerID          string            `json:"customerId"`
	Name                string            `json:"name,omitempty"`
	Email               string            `json:"email,omitempty"`
	Currency            string            `json:"currency,omitempty"`
	BillingAddress      *Address          `json:"billingAddress,omitempty"`
	InvoiceDaysUntilDue *int              `json:"invoiceDaysUntilDue,omitempty"` // → Zuora payment term
	BillingID           string            `json:"billingId,omitempty"`           // existing Zuora account to link
	EntityURL           string            `json:"entityUrl,omitempty"`
	Metadata            map[string]string `json:"metadata,omitempty"`
}

// maxDaysUntilDue: Zuora payment terms are day counts; anything past ten years is a typo.
const maxDaysUntilDue = 3650

func (c *Customer) Validate() error {
	var p problems
	p.id("customerId", c.CustomerID)
	p.text("name", c.Name)
	p.email("email", c.Email)
	p.currency("currency", c.Currency, false)
	if a := c.BillingAddress; a != nil {
		for _, f := range []struct{ path, v string }{
			{"line1", a.Line1}, {"line2", a.Line2}, {"city", a.City},
			{"state", a.State}, {"postalCode", a.PostalCode}, {"country", a.Country},
		} {
			p.text(at("billingAddress", f.path), f.v)
		}
	}
	if d := c.InvoiceDaysUntilDue; d != nil && (*d < 0 || *d > maxDaysUntilDue) {
		p.add("invoiceDaysUntilDue", "must be between 0 and %d (got %d)", maxDaysUntilDue, *d)
	}
	p.optID("billingId", c.BillingID)
	p.link("entityUrl", c.EntityURL)
	for k := range c.Metadata {
		if strings.TrimSpace(k) == "" {
			p.add("metadata", "has an empty key")
		}
	}
	return p.err()
}

// StripeRef identifies a Stripe payment method that Zuora should reference (cc_ref).
type StripeRef struct {
	CustomerID      string `json:"customerId"`
	PaymentMethodID string `json:"paymentMethodId"`
}

// Card describes the card behind a Stripe payment method.
type Card struct {
	Brand    string `json:"brand"`
	Last4    string `json:"last4"`
	ExpMonth int    `json:"expMonth"`
	ExpYear  int    `json:"expYear"`
}

// PaymentMethodAttached is the data of io.stigg.payment_method.attached: either a Zuora
// payment method created by the hosted page, or a Stripe reference plus its card.
type PaymentMethodAttached struct {
	CustomerID           string     `json:"customerId"`
	SetAsDefault         bool       `json:"setAsDefault,omitempty"`
	ZuoraPaymentMethodID string     `json:"zuoraPaymentMethodId,omitempty"`
	Stripe               *StripeRef `json:"stripe,omitempty"`
	Card                 *Card      `json:"card,omitempty"`
}

func (m *PaymentMethodAttached) Validate() error {
	var p problems
	p.id("customerId", m.CustomerID)
	switch {
	case m.ZuoraPaymentMethodID != "" && (m.Stripe != nil || m.Card != nil):
		p.add("zuoraPaymentMethodId", "give either zuoraPaymentMethodId or stripe and card, not both")
	case m.ZuoraPaymentMethodID != "":
		p.id("zuoraPaymentMethodId", m.ZuoraPaymentMethodID)
	case m.Stripe == nil && m.Card == nil:
		p.add("zuoraPaymentMethodId", "required unless stripe and card are given")
	default:
		if m.Stripe == nil {
			p.add("stripe", "required with card")
		} else {
			p.id("stripe.customerId", m.Stripe.CustomerID)
			p.id("stripe.paymentMethodId", m.Stripe.PaymentMethodID)
		}
		if m.Card == nil {
			p.add("card", "required with stripe")
		} else {
			m.Card.validate(&p, "card")
		}
	}
	return p.err()
}

func (c *Card) validate(p *problems, path string) {
	p.required(at(path, "brand"), c.Brand)
	if len(c.Last4) != 4 || strings.Trim(c.Last4, "0123456789") != "" {
		p.add(at(path, "last4"), "must be 4 digits (got %q)", c.Last4)
	}
	if c.ExpMonth < 1 || c.ExpMonth > 12 {
		p.add(at(path, "expMonth"), "must be 1-12 (got %d)", c.ExpMonth)
	}
	// Not compared with today: a replayed event must validate the same way forever.
	if c.ExpYear < 2000 || c.ExpYear > 2200 {
		p.add(at(path, "expYear"), "must be a 4-digit year (got %d)", c.ExpYear)
	}
}

// Tier is one price tier. UpTo is the inclusive upper bound; the last tier leaves it out.
type Tier struct {
	UpTo      *Decimal `json:"upTo,omitempty"`
	UnitPrice *Decimal `json:"unitPrice,omitempty"`
	FlatPrice *Decimal `json:"flatPrice,omitempty"`
}

// Price is one price of a package (one billing period, model and currency).
type Price struct {
	BillingPeriod   BillingPeriod `json:"billingPeriod"`
	BillingModel    BillingModel  `json:"billingModel"`
	Currency        string        `json:"currency"`
	Amount          *Decimal      `json:"amount,omitempty"` // unit or flat amount; absent for tiered prices
	FeatureID       string        `json:"featureId,omitempty"`
	UnitName        string        `json:"unitName,omitempty"`
	TiersMode       TiersMode     `json:"tiersMode,omitempty"`
	Tiers           []Tier        `json:"tiers,omitempty"`
	MinUnitQuantity *int64        `json:"minUnitQuantity,omitempty"`
	MaxUnitQuantity *int64        `json:"maxUnitQuantity,omitempty"`
	AccountingCode  string        `json:"accountingCode,omitempty"`
}

// PackagePublished is the data of io.stigg.package.published (a plan or an add-on version).
type PackagePublished struct {
	PackageID   string      `json:"packageId"`
	PackageType PackageType `json:"packageType"`
	Version     int         `json:"version"`
	DisplayName string      `json:"displayName"`
	Description string      `json:"description,omitempty"`
	ProductID   string      `json:"productId,omitempty"` // Stigg product the plan belongs to, when sent
	EntityURL   string      `json:"entityUrl,omitempty"`
	Prices      []Price     `json:"prices,omitempty"` // empty for a free package
}

func (pk *PackagePublished) Validate() error {
	var p problems
	p.id("packageId", pk.PackageID)
	p.enum("packageType", string(pk.PackageType), true, string(PackageTypePlan), string(PackageTypeAddon))
	if pk.Version < 1 {
		p.add("version", "must be 1 or more (got %d)", pk.Version)
	}
	p.required("displayName", pk.DisplayName)
	p.text("description", pk.Description)
	p.optID("productId", pk.ProductID)
	p.link("entityUrl", pk.EntityURL)
	for i := range pk.Prices {
		pk.Prices[i].validate(&p, idx("prices", i))
	}
	return p.err()
}

func (pr *Price) validate(p *problems, path string) {
	p.enum(at(path, "billingPeriod"), string(pr.BillingPeriod), true, string(BillingPeriodMonthly), string(BillingPeriodAnnually))
	p.enum(at(path, "billingModel"), string(pr.BillingModel), true,
		string(BillingModelFlatFee), string(BillingModelPerUnit), string(BillingModelUsageBased))
	p.currency(at(path, "currency"), pr.Currency, true)
	perUnit := pr.BillingModel == BillingModelPerUnit || pr.BillingModel == BillingModelUsageBased
	if perUnit {
		p.id(at(path, "featureId"), pr.FeatureID) // the unit being priced
	} else {
		p.optID(at(path, "featureId"), pr.FeatureID)
	}
	p.text(at(path, "unitName"), pr.UnitName)
	p.text(at(path, "accountingCode"), pr.AccountingCode)

	if len(pr.Tiers) == 0 {
		p.amount(at(path, "amount"), pr.Amount, true, nonNegative)
		if pr.TiersMode != "" {
			p.add(at(path, "tiers"), "required when tiersMode is set")
		}
	} else {
		p.amount(at(path, "amount"), pr.Amount, false, nonNegative)
		if pr.BillingModel == BillingModelFlatFee {
			p.add(at(path, "tiers"), "a FLAT_FEE price cannot be tiered")
		}
		p.enum(at(path, "tiersMode"), string(pr.TiersMode), true, string(TiersModeGraduated), string(TiersModeVolume))
		validateTiers(p, at(path, "tiers"), pr.Tiers)
	}
	if q := pr.MinUnitQuantity; q != nil && *q < 0 {
		p.add(at(path, "minUnitQuantity"), "must not be negative (got %d)", *q)
	}
	if q := pr.MaxUnitQuantity; q != nil && *q < 1 {
		p.add(at(path, "maxUnitQuantity"), "must be 1 or more (got %d)", *q)
	}
	if lo, hi := pr.MinUnitQuantity, pr.MaxUnitQuantity; lo != nil && hi != nil && *lo > *hi {
		p.add(at(path, "maxUnitQuantity"), "must not be below minUnitQuantity (%d > %d)", *lo, *hi)
	}
}

// validateTiers: every tier but the last has an increasing positive upTo; each tier has a
// unit or a flat price.
func validateTiers(p *problems, path string, tiers []Tier) {
	var prev *Decimal
	for i, t := range tiers {
		tp := idx(path, i)
		last := i == len(tiers)-1
		switch {
		case t.UpTo == nil && !last:
			p.add(at(tp, "upTo"), "required on every tier but the last")
		case t.UpTo != nil:
			p.amount(at(tp, "upTo"), t.UpTo, true, positive)
			if t.UpTo.Err() == nil && prev != nil && prev.Err() == nil && t.UpTo.Cmp(*prev) <= 0 {
				p.add(at(tp, "upTo"), "must be greater than the previous tier's upTo (%s <= %s)", t.UpTo, prev)
			}
			prev = t.UpTo
		}
		if t.UnitPrice == nil && t.FlatPrice == nil {
			p.add(at(tp, "unitPrice"), "unitPrice or flatPrice is required")
		}
		p.amount(at(tp, "unitPrice"), t.UnitPrice, false, nonNegative)
		p.amount(at(tp, "flatPrice"), t.FlatPrice, false, nonNegative)
	}
}

// AddonQuantity is an add-on on a subscription.
type AddonQuantity struct {
	AddonID  string `json:"addonId"`
	Quantity int64  `json:"quantity"`
}

// FeatureQuantity is a purchased unit count of a per-unit feature.
type FeatureQuantity struct {
	FeatureID string `json:"featureId"`
	Quantity  int64  `json:"quantity"`
}

// PriceOverride replaces the catalog price of a feature for one subscription. An empty
// FeatureID overrides the plan's flat fee.
type PriceOverride struct {
	FeatureID string   `json:"featureId,omitempty"`
	Amount    *Decimal `json:"amount"`
}

// Subscription is the state common to io.stigg.subscription.created and .updated.
type Subscription struct {
	SubscriptionID          string                  `json:"subscriptionId"`
	CustomerID              string                  `json:"customerId"`
	PayingCustomerID        string                  `json:"payingCustomerId,omitempty"` // bills another customer's account
	PlanID                  string                  `json:"planId"`
	BillingPeriod           BillingPeriod           `json:"billingPeriod"`
	Currency                string                  `json:"currency,omitempty"`
	StartDate               string                  `json:"startDate"`
	Addons                  []AddonQuantity         `json:"addons,omitempty"`
	Units                   []FeatureQuantity       `json:"units,omitempty"`
	PriceOverrides          []PriceOverride         `json:"priceOverrides,omitempty"`
	PaymentCollectionMethod PaymentCollectionMethod `json:"paymentCollectionMethod,omitempty"`
	ResourceID              string                  `json:"resourceId,omitempty"`
	EntityURL               string                  `json:"entityUrl,omitempty"`
}

// SubscriptionCreated is the data of io.stigg.subscription.created.
type SubscriptionCreated struct {
	Subscription
}

func (s *SubscriptionCreated) Validate() error {
	var p problems
	s.validate(&p)
	return p.err()
}

// SubscriptionUpdated is the data of io.stigg.subscription.updated: the new state, and when
// it takes effect (empty ScheduleStrategy = IMMEDIATE).
type SubscriptionUpdated struct {
	Subscription
	ScheduleStrategy ScheduleStrategy `json:"scheduleStrategy,omitempty"`
}

func (s *SubscriptionUpdated) Validate() error {
	var p problems
	s.validate(&p)
	p.enum("scheduleStrategy", string(s.ScheduleStrategy), false,
		string(ScheduleImmediate), string(ScheduleEndOfBillingPeriod), string(ScheduleEndOfBillingMonth))
	return p.err()
}

func (s *Subscription) validate(p *problems) {
	p.id("subscriptionId", s.SubscriptionID)
	p.id("customerId", s.CustomerID)
	p.optID("payingCustomerId", s.PayingCustomerID)
	p.id("planId", s.PlanID)
	p.enum("billingPeriod", string(s.BillingPeriod), true, string(BillingPeriodMonthly), string(BillingPeriodAnnually))
	p.currency("currency", s.Currency, false)
	p.date("startDate", s.StartDate, true)
	seen := map[string]bool{}
	for i, a := range s.Addons {
		path := idx("addons", i)
		p.id(at(path, "addonId"), a.AddonID)
		if a.Quantity < 1 {
			p.add(at(path, "quantity"), "must be 1 or more (got %d)", a.Quantity)
		}
		if a.AddonID != "" && seen[a.AddonID] {
			p.add(at(path, "addonId"), "%q appears twice", a.AddonID)
		}
		seen[a.AddonID] = true
	}
	seen = map[string]bool{}
	for i, u := range s.Units {
		path := idx("units", i)
		p.id(at(path, "featureId"), u.FeatureID)
		if u.Quantity < 0 {
			p.add(at(path, "quantity"), "must not be negative (got %d)", u.Quantity)
		}
		if u.FeatureID != "" && seen[u.FeatureID] {
			p.add(at(path, "featureId"), "%q appears twice", u.FeatureID)
		}
		seen[u.FeatureID] = true
	}
	seen = map[string]bool{}
	for i, o := range s.PriceOverrides {
		path := idx("priceOverrides", i)
		p.optID(at(path, "featureId"), o.FeatureID)
		p.amount(at(path, "amount"), o.Amount, true, nonNegative)
		if seen[o.FeatureID] {
			p.add(at(path, "featureId"), "%q is overridden twice", o.FeatureID)
		}
		seen[o.FeatureID] = true
	}
	p.enum("paymentCollectionMethod", string(s.PaymentCollectionMethod), false,
		string(PaymentCollectionCharge), string(PaymentCollectionInvoice), string(PaymentCollectionNone))
	p.optID("resourceId", s.ResourceID)
	p.link("entityUrl", s.EntityURL)
}

// SubscriptionCanceled is the data of io.stigg.subscription.canceled.
type SubscriptionCanceled struct {
	SubscriptionID      string           `json:"subscriptionId"`
	CustomerID          string           `json:"customerId"`
	CancellationTime    CancellationTime `json:"cancellationTime"`
	CancellationDate    string           `json:"cancellationDate,omitempty"` // required for SPECIFIC_DATE
	WriteOffOpenBalance bool             `json:"writeOffOpenBalance,omitempty"`
}

func (c *SubscriptionCanceled) Validate() error {
	var p problems
	p.id("subscriptionId", c.SubscriptionID)
	p.id("customerId", c.CustomerID)
	p.enum("cancellationTime", string(c.CancellationTime), true,
		string(CancelImmediate), string(CancelEndOfBillingPeriod), string(CancelSpecificDate))
	p.date("cancellationDate", c.CancellationDate, c.CancellationTime == CancelSpecificDate)
	return p.err()
}

// UsageReported is the data of io.stigg.usage.reported. Value is a delta (DELTA, the
// default when empty; may be negative) or the new total (SET, not negative).
type UsageReported struct {
	CustomerID     string         `json:"customerId"`
	SubscriptionID string         `json:"subscriptionId"`
	FeatureID      string         `json:"featureId"`
	Value          *Decimal       `json:"value"`
	UpdateBehavior UpdateBehavior `json:"updateBehavior,omitempty"`
	Timestamp      string         `json:"timestamp"`
	ResourceID     string         `json:"resourceId,omitempty"`
	IdempotencyKey string         `json:"idempotencyKey,omitempty"` // Stigg's, when the reporter gave one
}

func (u *UsageReported) Validate() error {
	var p problems
	p.id("customerId", u.CustomerID)
	p.id("subscriptionId", u.SubscriptionID)
	p.id("featureId", u.FeatureID)
	p.enum("updateBehavior", string(u.UpdateBehavior), false, string(UpdateDelta), string(UpdateSet))
	if u.UpdateBehavior == UpdateSet {
		p.amount("value", u.Value, true, nonNegative)
	} else {
		p.amount("value", u.Value, true, anySign)
	}
	p.date("timestamp", u.Timestamp, true)
	p.optID("resourceId", u.ResourceID)
	p.optID("idempotencyKey", u.IdempotencyKey)
	return p.err()
}

// Behavior returns the update behaviour with the default applied.
func (u *UsageReported) Behavior() UpdateBehavior {
	if u.UpdateBehavior == "" {
		return UpdateDelta
	}
	return u.UpdateBehavior
}

// PaymentRequested is the data of io.stigg.payment.requested: record a payment against an
// invoice, collected outside Zuora (EXTERNAL) or through the gateway (ELECTRONIC).
type PaymentRequested struct {
	CustomerID      string      `json:"customerId"`
	InvoiceNumber   string      `json:"invoiceNumber"`
	Amount          *Decimal    `json:"amount"`
	Currency        string      `json:"currency"`
	Kind            PaymentKind `json:"kind"`
	PaymentMethodID string      `json:"paymentMethodId,omitempty"` // required for ELECTRONIC
	Reference       string      `json:"reference,omitempty"`
}

func (r *PaymentRequested) Validate() error {
	var p problems
	p.id("customerId", r.CustomerID)
	p.id("invoiceNumber", r.InvoiceNumber)
	p.amount("amount", r.Amount, true, positive) // Zuora rejects a zero payment
	p.currency("currency", r.Currency, true)
	p.enum("kind", string(r.Kind), true, string(PaymentExternal), string(PaymentElectronic))
	if r.Kind == PaymentElectronic {
		p.id("paymentMethodId", r.PaymentMethodID)
	} else {
		p.optID("paymentMethodId", r.PaymentMethodID)
	}
	p.text("reference", r.Reference)
	return p.err()
}

// Integration is the data of io.stigg.integration.connected and .disconnected.
type Integration struct {
	IntegrationID string `json:"integrationId"`
}

func (i *Integration) Validate() error {
	var p problems
	p.id("integrationId", i.IntegrationID)
	return p.err()
}
