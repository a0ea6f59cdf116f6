package zuorasim

import (
	"encoding/json"
	"maps"
	"net/http"
	"strings"
)

// Subscriptions: V1 GET /v1/subscriptions/{subscription-key} ("GETSubscriptionByKeyWithSuccess"), Quickstart
// GET /v2/subscriptions/{subscription_id} ("subscription", expandable subscription_plans and
// subscription_plans.subscription_items) and POST /v1/subscriptions/{subscription-key}/preview (billing.go).
// Subscriptions are created and changed only by orders (orders.go).
//
// Versions: every order action applied to a subscription adds one to its version (CreateSubscription makes
// version 1), and every order that changes it stores one new snapshot with a new subscription id, as Zuora gives
// each version its own id. A key that is a subscription number reads the latest version; an id reads the
// version it belongs to. Rate plan and charge ids stay the same across versions (a rate plan keeps its id until
// it is removed; an added one gets a new id), so an id read from any version addresses the same rate plan.
//
// Removed rate plans stay in the V1 read with lastChangeType "Remove" and their charges ending on the removal
// date, as Zuora shows them; the Quickstart read leaves them out once the removal date has passed (their items
// would be expired).

// subVersion is one version of a subscription. Dates are YYYY-MM-DD; an empty end date means open-ended.
type subVersion struct {
	ID, Number                  string
	Version                     int
	Status                      string // Active | Cancelled
	AccountID, AccountNumber    string
	AccountName                 string
	Currency                    string
	OrderNumber                 string // the order that made this version
	Notes                       string
	InvoiceSeparately           bool
	PaymentTerm                 string
	TermType                    string // TERMED | EVERGREEN
	InitialTerm                 int
	InitialTermPeriodType       string
	RenewalTerm                 int
	RenewalTermPeriodType       string
	AutoRenew                   bool
	RenewalSetting              string
	ContractEffectiveDate       string
	ServiceActivationDate       string
	CustomerAcceptanceDate      string
	SubscriptionStartDate       string
	SubscriptionEndDate         string
	TermStartDate, TermEndDate  string
	CancelledDate, CancelReason string
	CustomFields                map[string]string
	RatePlans                   []*subRatePlan
	CreatedTime, UpdatedTime    string // RFC 3339
}

// subRatePlan is a rate plan of a subscription.
type subRatePlan struct {
	ID, Number                         string // Number: subscriptionRatePlanNumber
	ProductID, ProductName, ProductSKU string
	ProductRatePlanID, Name            string
	LastChangeType                     string // "" | Add | Update | Remove
	CustomFields                       map[string]string
	Charges                            []*subCharge
}

// subCharge is a rate plan charge of a subscription, priced in the subscription's currency. Model, Type,
// BillingPeriod, BillingTiming and ListPriceBase use the catalog's CRUD vocabulary (charges.go).
type subCharge struct {
	ID, Number              string
	ProductRatePlanChargeID string
	Name, Description       string
	Type, Model             string
	UOM                     string
	BillingPeriod           string
	SpecificBillingPeriod   int
	BillingTiming           string
	ListPriceBase           string
	TriggerEvent            string
	Currency                string
	Quantity                *float64     // per unit, tiered, volume
	Price                   *float64     // flat fee, per unit
	Tiers                   []ChargeTier // tiered, volume (one currency)
	MinQuantity             *float64
	MaxQuantity             *float64
	AccountingCode          string
	EffectiveStartDate      string
	EffectiveEndDate        string // "" = open-ended
	ChargedThroughDate      string // exclusive; "" = never billed
	Segment                 int
	Version                 int
	CustomFields            map[string]string
}

func (v *subVersion) clone() *subVersion {
	out := *v
	out.CustomFields = maps.Clone(v.CustomFields)
	out.RatePlans = make([]*subRatePlan, len(v.RatePlans))
	for i, rp := range v.RatePlans {
		c := *rp
		c.CustomFields = maps.Clone(rp.CustomFields)
		c.Charges = make([]*subCharge, len(rp.Charges))
		for j, ch := range rp.Charges {
			cc := *ch
			cc.Quantity, cc.Price = clonePtr(ch.Quantity), clonePtr(ch.Price)
			cc.MinQuantity, cc.MaxQuantity = clonePtr(ch.MinQuantity), clonePtr(ch.MaxQuantity)
			cc.Tiers = (&Charge{Tiers: ch.Tiers}).clone().Tiers
			cc.CustomFields = maps.Clone(ch.CustomFields)
			c.Charges[j] = &cc
		}
		out.RatePlans[i] = &c
	}
	return &out
}

// cancelled reports whether the version is cancelled, whatever the effective date: the version a
// CancelSubscription makes is Cancelled at once and the service runs until its subscription end date [inferred
// from Zuora's amendment behaviour; future-dated cancellations by the integration use Scheduled orders anyway].
func (v *subVersion) cancelled() bool { return v.Status == subStatusCancelled }

const (
	subStatusActive    = "Active"
	subStatusCancelled = "Cancelled"
)

// subscription is every stored version of one subscription, the latest last.
type subscription struct {
	versions []*subVersion
}

func (s *subscription) latest() *subVersion { return s.versions[len(s.versions)-1] }

// lookupSubscription finds a subscription by number or by the id of any version, and that version (the latest
// for a number). Caller holds st.mu.
func (st *store) lookupSubscription(key string) (*subscription, *subVersion) {
	if s := st.ord.subscription(key); s != nil {
		return s, s.latest()
	}
	if s := st.ord.subsByVersionID[key]; s != nil {
		for _, v := range s.versions {
			if v.ID == key {
				return s, v
			}
		}
	}
	return nil, nil
}

// The subscription endpoints first run the scheduled orders that have come due (orders_scheduled.go), so they
// hold the store for writing.

func (s *Sim) v1GetSubscription(r *http.Request, st *store) (reply, *apiError) {
	s.runDueOrdersLocked(st)
	sub, v := st.lookupSubscription(r.PathValue("subscription_key"))
	if sub == nil {
		return reply{}, errNotFound("subscription", r.PathValue("subscription_key"))
	}
	return replyOK(st.v1SubscriptionView(v, v == sub.latest(), s.today())), nil
}

func (s *Sim) getSubscription(r *http.Request, st *store) (reply, *apiError) {
	s.runDueOrdersLocked(st)
	sub, v := st.lookupSubscription(r.PathValue("subscription_id"))
	if sub == nil {
		return reply{}, errNotFound("subscription", r.PathValue("subscription_id"))
	}
	exp := parseExpand(r)
	out := st.qsSubscriptionView(v, v == sub.latest(), exp, s.today())
	return replyOK(project(out, parseFields(r, "subscription"), exp)), nil
}

// ---- V1 view ----

// V1Subscription is "GETSubscriptionByKeyWithSuccess" for the fields the simulator keeps. Custom fields are
// inline members of the JSON object, as Zuora returns them.
type V1Subscription struct {
	Success                   bool                     `json:"success"`
	ID                        string                   `json:"id"`
	SubscriptionNumber        string                   `json:"subscriptionNumber"`
	Version                   int                      `json:"version"`
	IsLatestVersion           bool                     `json:"isLatestVersion"`
	Status                    string                   `json:"status"`
	AccountID                 string                   `json:"accountId"`
	AccountNumber             string                   `json:"accountNumber"`
	AccountName               string                   `json:"accountName"`
	InvoiceOwnerAccountID     string                   `json:"invoiceOwnerAccountId"`
	InvoiceOwnerAccountNumber string                   `json:"invoiceOwnerAccountNumber"`
	InvoiceOwnerAccountName   string                   `json:"invoiceOwnerAccountName"`
	Currency                  string                   `json:"currency"`
	OrderNumber               string                   `json:"orderNumber,omitempty"`
	Notes                     string                   `json:"notes,omitempty"`
	InvoiceSeparately         bool                     `json:"invoiceSeparately"`
	PaymentTerm               string                   `json:"paymentTerm,omitempty"`
	TermType                  string                   `json:"termType"`
	AutoRenew                 bool                     `json:"autoRenew"`
	InitialTerm               int                      `json:"initialTerm,omitempty"`
	InitialTermPeriodType     string                   `json:"initialTermPeriodType,omitempty"`
	CurrentTerm               int                      `json:"currentTerm,omitempty"`
	CurrentTermPeriodType     string                   `json:"currentTermPeriodType,omitempty"`
	RenewalTerm               int                      `json:"renewalTerm,omitempty"`
	RenewalTermPeriodType     string                   `json:"renewalTermPeriodType,omitempty"`
	RenewalSetting            string                   `json:"renewalSetting,omitempty"`
	ContractEffectiveDate     string                   `json:"contractEffectiveDate"`
	ServiceActivationDate     string                   `json:"serviceActivationDate"`
	CustomerAcceptanceDate    string                   `json:"customerAcceptanceDate"`
	SubscriptionStartDate     string                   `json:"subscriptionStartDate"`
	SubscriptionEndDate       string                   `json:"subscriptionEndDate,omitempty"`
	TermStartDate             string                   `json:"termStartDate"`
	TermEndDate               string                   `json:"termEndDate,omitempty"`
	CancelReason              string                   `json:"cancelReason,omitempty"`
	ContractedMrr             float64                  `json:"contractedMrr"`
	TotalContractedValue      float64                  `json:"totalContractedValue"`
	RatePlans                 []V1SubscriptionRatePlan `json:"ratePlans"`
	CustomFields              map[string]any           `json:"-"`
}

// MarshalJSON inlines the custom fields.
func (v V1Subscription) MarshalJSON() ([]byte, error) {
	type plain V1Subscription
	return marshalWithCustomFields(plain(v), v.CustomFields)
}

// V1SubscriptionRatePlan is "GETSubscriptionRatePlanType". SubscriptionRatePlanNumber is not in that schema
// but is the key UpdateProduct/RemoveProduct accept, so it is returned too (the schema allows extra members).
type V1SubscriptionRatePlan struct {
	ID                         string                 `json:"id"`
	SubscriptionRatePlanNumber string                 `json:"subscriptionRatePlanNumber"`
	ProductID                  string                 `json:"productId"`
	ProductName                string                 `json:"productName"`
	ProductSku                 string                 `json:"productSku"`
	ProductRatePlanID          string                 `json:"productRatePlanId"`
	RatePlanName               string                 `json:"ratePlanName"`
	LastChangeType             string                 `json:"lastChangeType,omitempty"`
	ContractedMrr              float64                `json:"contractedMrr"`
	RatePlanCharges            []V1SubscriptionCharge `json:"ratePlanCharges"`
	CustomFields               map[string]any         `json:"-"`
}

// MarshalJSON inlines the custom fields.
func (v V1SubscriptionRatePlan) MarshalJSON() ([]byte, error) {
	type plain V1SubscriptionRatePlan
	return marshalWithCustomFields(plain(v), v.CustomFields)
}

// V1SubscriptionCharge is "GETSubscriptionRatePlanChargesType". Enums use the REST spelling (Month,
// Semi_Annual, IN_ADVANCE, Per_Billing_Period); model is FlatFee/PerUnit/Tiered/Volume.
type V1SubscriptionCharge struct {
	ID                      string               `json:"id"`
	Number                  string               `json:"number"`
	OriginalChargeID        string               `json:"originalChargeId"`
	ProductRatePlanChargeID string               `json:"productRatePlanChargeId"`
	Name                    string               `json:"name"`
	Description             string               `json:"description,omitempty"`
	Type                    string               `json:"type"`
	Model                   string               `json:"model"`
	UOM                     string               `json:"uom,omitempty"`
	Quantity                *float64             `json:"quantity,omitempty"`
	Price                   *float64             `json:"price,omitempty"`
	Tiers                   []V1SubscriptionTier `json:"tiers,omitempty"`
	Currency                string               `json:"currency"`
	BillingDay              string               `json:"billingDay,omitempty"`
	BillingPeriod           string               `json:"billingPeriod,omitempty"`
	SpecificBillingPeriod   int                  `json:"specificBillingPeriod,omitempty"`
	BillingTiming           string               `json:"billingTiming,omitempty"`
	ListPriceBase           string               `json:"listPriceBase,omitempty"`
	EndDateCondition        string               `json:"endDateCondition"`
	TriggerEvent            string               `json:"triggerEvent"`
	TriggerDate             string               `json:"triggerDate,omitempty"`
	EffectiveStartDate      string               `json:"effectiveStartDate"`
	EffectiveEndDate        string               `json:"effectiveEndDate,omitempty"`
	ChargedThroughDate      string               `json:"chargedThroughDate,omitempty"`
	ProcessedThroughDate    string               `json:"processedThroughDate,omitempty"`
	PricingSummary          string               `json:"pricingSummary"`
	MRR                     float64              `json:"mrr"`
	TCV                     float64              `json:"tcv"`
	Segment                 int                  `json:"segment"`
	Version                 int                  `json:"version"`
	Done                    bool                 `json:"done"`
	CustomFields            map[string]any       `json:"-"`
}

// MarshalJSON inlines the custom fields.
func (v V1SubscriptionCharge) MarshalJSON() ([]byte, error) {
	type plain V1SubscriptionCharge
	return marshalWithCustomFields(plain(v), v.CustomFields)
}

// V1SubscriptionTier is "GETTierType"; priceFormat is spelled FlatFee/PerUnit as in order pricing.
type V1SubscriptionTier struct {
	Tier         int      `json:"tier"`
	StartingUnit float64  `json:"startingUnit"`
	EndingUnit   *float64 `json:"endingUnit,omitempty"`
	Price        float64  `json:"price"`
	PriceFormat  string   `json:"priceFormat"`
}

func marshalWithCustomFields(v any, custom map[string]any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(custom) == 0 {
		return b, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	maps.Copy(m, custom)
	return json.Marshal(m)
}

// v1CustomFields renders the defined custom fields of object: set ones with their value, the others null (as
// Zuora returns unset custom fields).
func (st *store) v1CustomFields(object string, values map[string]string) map[string]any {
	out := map[string]any{}
	for _, name := range st.customFieldNames(object) {
		if v, ok := values[name]; ok {
			out[name] = v
		} else {
			out[name] = nil
		}
	}
	return out
}

// orderPriceFormat spells a catalog tier price format the way orders and subscription reads do.
func orderPriceFormat(f string) string { return strings.ReplaceAll(f, " ", "") }

// v1SubscriptionView renders a version. Caller holds st.mu.
func (st *store) v1SubscriptionView(v *subVersion, latest bool, today string) V1Subscription {
	out := V1Subscription{Success: true, ID: v.ID, SubscriptionNumber: v.Number, Version: v.Version,
		IsLatestVersion: latest, Status: v.Status, AccountID: v.AccountID, AccountNumber: v.AccountNumber,
		AccountName: v.AccountName, InvoiceOwnerAccountID: v.AccountID, InvoiceOwnerAccountNumber: v.AccountNumber,
		InvoiceOwnerAccountName: v.AccountName, Currency: v.Currency, OrderNumber: v.OrderNumber, Notes: v.Notes,
		InvoiceSeparately: v.InvoiceSeparately, PaymentTerm: v.PaymentTerm, TermType: v.TermType,
		AutoRenew: v.AutoRenew, RenewalSetting: v.RenewalSetting, ContractEffectiveDate: v.ContractEffectiveDate,
		ServiceActivationDate: v.ServiceActivationDate, CustomerAcceptanceDate: v.CustomerAcceptanceDate,
		SubscriptionStartDate: v.SubscriptionStartDate, SubscriptionEndDate: v.SubscriptionEndDate,
		TermStartDate: v.TermStartDate, TermEndDate: v.TermEndDate, CancelReason: v.CancelReason,
		RatePlans: []V1SubscriptionRatePlan{}, CustomFields: st.v1CustomFields("Subscription", v.CustomFields)}
	if v.TermType == termTermed {
		out.InitialTerm, out.InitialTermPeriodType = v.InitialTerm, v.InitialTermPeriodType
		out.CurrentTerm, out.CurrentTermPeriodType = v.InitialTerm, v.InitialTermPeriodType
		out.RenewalTerm, out.RenewalTermPeriodType = v.RenewalTerm, v.RenewalTermPeriodType
	}
	for _, rp := range v.RatePlans {
		rv := V1SubscriptionRatePlan{ID: rp.ID, SubscriptionRatePlanNumber: rp.Number, ProductID: rp.ProductID,
			ProductName: rp.ProductName, ProductSku: rp.ProductSKU, ProductRatePlanID: rp.ProductRatePlanID,
			RatePlanName: rp.Name, LastChangeType: rp.LastChangeType, RatePlanCharges: []V1SubscriptionCharge{},
			CustomFields: anyMap(rp.CustomFields)}
		for _, c := range rp.Charges {
			cv := st.v1SubscriptionChargeView(v, c, today)
			rv.RatePlanCharges = append(rv.RatePlanCharges, cv)
			if c.activeOn(today) {
				rv.ContractedMrr = roundMoney(rv.ContractedMrr + cv.MRR)
			}
			out.TotalContractedValue = roundMoney(out.TotalContractedValue + cv.TCV)
		}
		out.ContractedMrr = roundMoney(out.ContractedMrr + rv.ContractedMrr)
		out.RatePlans = append(out.RatePlans, rv)
	}
	return out
}

func (st *store) v1SubscriptionChargeView(v *subVersion, c *subCharge, today string) V1SubscriptionCharge {
	cv := V1SubscriptionCharge{ID: c.ID, Number: c.Number, OriginalChargeID: c.ID,
		ProductRatePlanChargeID: c.ProductRatePlanChargeID, Name: c.Name, Description: c.Description, Type: c.Type,
		Model: v1ModelNames[c.Model], UOM: c.UOM, Quantity: clonePtr(c.Quantity), Price: clonePtr(c.Price),
		Currency: c.Currency, EndDateCondition: "Subscription_End", TriggerEvent: c.TriggerEvent,
		TriggerDate: c.EffectiveStartDate, EffectiveStartDate: c.EffectiveStartDate,
		EffectiveEndDate: c.effectiveEnd(v), ChargedThroughDate: c.ChargedThroughDate,
		ProcessedThroughDate: c.ChargedThroughDate, PricingSummary: c.pricingSummary(), Segment: c.Segment,
		Version: c.Version, CustomFields: anyMap(c.CustomFields)}
	cv.Done = cv.EffectiveEndDate != "" && cv.EffectiveEndDate <= today
	for _, t := range c.Tiers {
		cv.Tiers = append(cv.Tiers, V1SubscriptionTier{Tier: t.Tier, StartingUnit: t.StartingUnit,
			EndingUnit: clonePtr(t.EndingUnit), Price: t.Price, PriceFormat: orderPriceFormat(t.PriceFormat)})
	}
	if c.Type != typeOneTime {
		cv.BillingDay = "DefaultFromCustomer"
		cv.BillingPeriod = restEnum(c.BillingPeriod)
		cv.SpecificBillingPeriod = c.SpecificBillingPeriod
	}
	if c.Type == typeRecurring {
		cv.BillingTiming = strings.ToUpper(restEnum(c.BillingTiming))
		cv.ListPriceBase = restEnum(c.ListPriceBase)
		cv.MRR = c.mrr()
	}
	cv.TCV = c.tcv(v)
	return cv
}

// effectiveEnd is the charge's end as Zuora shows it: its own end (removal, cancellation), else the end of a
// termed subscription's current term.
func (c *subCharge) effectiveEnd(v *subVersion) string {
	if c.EffectiveEndDate != "" {
		return c.EffectiveEndDate
	}
	if v.TermType == termTermed {
		return v.TermEndDate
	}
	return ""
}

func (c *subCharge) activeOn(day string) bool {
	return c.EffectiveStartDate <= day && (c.EffectiveEndDate == "" || day < c.EffectiveEndDate)
}

// pricingSummary renders the charge's price like the catalog's pricing summary, in the subscription currency.
func (c *subCharge) pricingSummary() string {
	cat := &Charge{ChargeModel: c.Model, UOM: c.UOM, Tiers: c.Tiers}
	if !cat.tiered() && c.Price != nil {
		f := formatFlatFee
		if c.Model == modelPerUnit {
			f = formatPerUnit
		}
		cat.Tiers = []ChargeTier{{Currency: c.Currency, Tier: 1, Price: *c.Price, PriceFormat: f}}
	}
	if len(cat.Tiers) == 0 {
		return ""
	}
	return strings.Join(cat.pricingSummary(), "; ")
}

// ---- Quickstart view ----

// QSSubscription is the Quickstart "subscription" (additionalProperties false: only schema members).
type QSSubscription struct {
	ID                    string               `json:"id"`
	SubscriptionNumber    string               `json:"subscription_number"`
	State                 string               `json:"state"`
	Version               int                  `json:"version"`
	LatestVersion         bool                 `json:"latest_version"`
	AccountID             string               `json:"account_id"`
	InvoiceOwnerAccountID string               `json:"invoice_owner_account_id"`
	AutoRenew             bool                 `json:"auto_renew"`
	InitialTerm           *QSTerm              `json:"initial_term,omitempty"`
	CurrentTerm           *QSTerm              `json:"current_term,omitempty"`
	RenewalTerm           *QSTerm              `json:"renewal_term,omitempty"`
	StartDate             string               `json:"start_date"`
	EndDate               string               `json:"end_date,omitempty"`
	Description           string               `json:"description,omitempty"`
	ContractEffective     string               `json:"contract_effective"`
	ServiceActivation     string               `json:"service_activation"`
	CustomerAcceptance    string               `json:"customer_acceptance"`
	InvoiceSeparately     bool                 `json:"invoice_separately"`
	OrderNumber           string               `json:"order_number,omitempty"`
	ContractedMrr         string               `json:"contracted_mrr"`
	Currency              string               `json:"currency"`
	CancelReason          string               `json:"cancel_reason,omitempty"`
	PaymentTerms          *string              `json:"payment_terms"`
	SubscriptionPlans     *QSSubscriptionPlans `json:"subscription_plans,omitempty"`
	CustomFields          map[string]string    `json:"custom_fields"`
	CreatedByID           string               `json:"created_by_id"`
	CreatedTime           string               `json:"created_time"`
	UpdatedByID           string               `json:"updated_by_id"`
	UpdatedTime           string               `json:"updated_time"`
}

// QSTerm is the Quickstart "term".
type QSTerm struct {
	Type          string `json:"type"`
	Interval      string `json:"interval,omitempty"`
	IntervalCount int    `json:"interval_count,omitempty"`
	StartDate     string `json:"start_date,omitempty"`
	EndDate       string `json:"end_date,omitempty"`
}

// QSSubscriptionPlans is "subscriptionPlanListResponse".
type QSSubscriptionPlans struct {
	NextPage *string              `json:"next_page"`
	Data     []QSSubscriptionPlan `json:"data"`
}

// QSSubscriptionPlan is the Quickstart "subscriptionPlan".
type QSSubscriptionPlan struct {
	ID                     string               `json:"id"`
	SubscriptionPlanNumber string               `json:"subscription_plan_number"`
	Name                   string               `json:"name"`
	SubscriptionID         string               `json:"subscription_id"`
	ProductID              string               `json:"product_id"`
	PlanID                 string               `json:"plan_id"`
	SubscriptionItems      *QSSubscriptionItems `json:"subscription_items,omitempty"`
	CustomFields           map[string]string    `json:"custom_fields"`
	CreatedByID            string               `json:"created_by_id"`
	CreatedTime            string               `json:"created_time"`
	UpdatedByID            string               `json:"updated_by_id"`
	UpdatedTime            string               `json:"updated_time"`
}

// QSSubscriptionItems is "subscriptionItemListResponse".
type QSSubscriptionItems struct {
	NextPage *string              `json:"next_page"`
	Data     []QSSubscriptionItem `json:"data"`
}

// QSSubscriptionItem is the Quickstart "subscriptionItem".
type QSSubscriptionItem struct {
	ID                     string            `json:"id"`
	SubscriptionItemNumber string            `json:"subscription_item_number"`
	Name                   string            `json:"name"`
	Description            string            `json:"description,omitempty"`
	ProductID              string            `json:"product_id"`
	SubscriptionPlanID     string            `json:"subscription_plan_id"`
	PriceID                string            `json:"price_id"`
	ChargeModel            string            `json:"charge_model"`
	ChargeType             string            `json:"charge_type"`
	Recurring              *PriceRecurring   `json:"recurring,omitempty"`
	StartEvent             string            `json:"start_event"`
	Active                 bool              `json:"active"`
	State                  string            `json:"state"`
	UnitOfMeasure          string            `json:"unit_of_measure,omitempty"`
	Quantity               *float64          `json:"quantity,omitempty"`
	Amount                 *float64          `json:"amount,omitempty"`
	UnitAmount             *float64          `json:"unit_amount,omitempty"`
	TiersMode              string            `json:"tiers_mode,omitempty"`
	Tiers                  []QSItemTier      `json:"tiers,omitempty"`
	PriceBaseInterval      string            `json:"price_base_interval,omitempty"`
	StartDate              string            `json:"start_date"`
	EndDate                string            `json:"end_date,omitempty"`
	ChargedThroughDate     string            `json:"charged_through_date,omitempty"`
	ProcessedThroughDate   string            `json:"processed_through_date,omitempty"`
	CustomFields           map[string]string `json:"custom_fields"`
	CreatedByID            string            `json:"created_by_id"`
	CreatedTime            string            `json:"created_time"`
	UpdatedByID            string            `json:"updated_by_id"`
	UpdatedTime            string            `json:"updated_time"`
}

// QSItemTier is the Quickstart "itemTier".
type QSItemTier struct {
	UpTo       *float64 `json:"up_to,omitempty"`
	Amount     *float64 `json:"amount,omitempty"`
	UnitAmount *float64 `json:"unit_amount,omitempty"`
}

var qsPeriodType = map[string]string{"Month": "month", "Year": "year", "Day": "day", "Week": "week"}

func qsTerm(v *subVersion, period int, periodType, start, end string) *QSTerm {
	if v.TermType != termTermed {
		return &QSTerm{Type: "evergreen", StartDate: start}
	}
	return &QSTerm{Type: "termed", Interval: qsPeriodType[periodType], IntervalCount: period, StartDate: start, EndDate: end}
}

// qsSubscriptionView renders a version for Quickstart. Caller holds st.mu.
func (st *store) qsSubscriptionView(v *subVersion, latest bool, exp expandSet, today string) QSSubscription {
	state := "active"
	if v.cancelled() {
		state = "canceled"
	}
	v1 := st.v1SubscriptionView(v, latest, today)
	out := QSSubscription{ID: v.ID, SubscriptionNumber: v.Number, State: state, Version: v.Version,
		LatestVersion: latest, AccountID: v.AccountID, InvoiceOwnerAccountID: v.AccountID, AutoRenew: v.AutoRenew,
		InitialTerm: qsTerm(v, v.InitialTerm, v.InitialTermPeriodType, v.SubscriptionStartDate, v.TermEndDate),
		CurrentTerm: qsTerm(v, v.InitialTerm, v.InitialTermPeriodType, v.TermStartDate, v.TermEndDate),
		StartDate:   v.SubscriptionStartDate, EndDate: v.SubscriptionEndDate, Description: v.Notes,
		ContractEffective: v.ContractEffectiveDate, ServiceActivation: v.ServiceActivationDate,
		CustomerAcceptance: v.CustomerAcceptanceDate, InvoiceSeparately: v.InvoiceSeparately,
		OrderNumber: v.OrderNumber, ContractedMrr: money(v1.ContractedMrr), Currency: v.Currency,
		CancelReason: v.CancelReason, PaymentTerms: strPtr(v.PaymentTerm),
		CustomFields: maps.Clone(v.CustomFields), CreatedByID: simUserID, CreatedTime: v.CreatedTime,
		UpdatedByID: simUserID, UpdatedTime: v.UpdatedTime}
	if v.TermType == termTermed {
		out.RenewalTerm = &QSTerm{Type: "termed", Interval: qsPeriodType[v.RenewalTermPeriodType], IntervalCount: v.RenewalTerm}
	}
	if !exp["subscription_plans"] && !exp["subscription_plans.subscription_items"] {
		return out
	}
	out.SubscriptionPlans = &QSSubscriptionPlans{Data: []QSSubscriptionPlan{}}
	for _, rp := range v.RatePlans {
		if rp.LastChangeType == changeRemove && allEnded(rp, today) {
			continue
		}
		p := QSSubscriptionPlan{ID: rp.ID, SubscriptionPlanNumber: rp.Number, Name: rp.Name, SubscriptionID: v.ID,
			ProductID: rp.ProductID, PlanID: rp.ProductRatePlanID, CustomFields: maps.Clone(rp.CustomFields),
			CreatedByID: simUserID, CreatedTime: v.CreatedTime, UpdatedByID: simUserID, UpdatedTime: v.UpdatedTime}
		if p.CustomFields == nil {
			p.CustomFields = map[string]string{}
		}
		if exp["subscription_plans.subscription_items"] {
			p.SubscriptionItems = &QSSubscriptionItems{Data: []QSSubscriptionItem{}}
			for _, c := range rp.Charges {
				p.SubscriptionItems.Data = append(p.SubscriptionItems.Data, st.qsItemView(v, rp, c, today))
			}
		}
		out.SubscriptionPlans.Data = append(out.SubscriptionPlans.Data, p)
	}
	return out
}

func allEnded(rp *subRatePlan, today string) bool {
	for _, c := range rp.Charges {
		if c.EffectiveEndDate == "" || c.EffectiveEndDate > today {
			return false
		}
	}
	return true
}

func (st *store) qsItemView(v *subVersion, rp *subRatePlan, c *subCharge, today string) QSSubscriptionItem {
	it := QSSubscriptionItem{ID: c.ID, SubscriptionItemNumber: c.Number, Name: c.Name, Description: c.Description,
		ProductID: rp.ProductID, SubscriptionPlanID: rp.ID, PriceID: c.ProductRatePlanChargeID,
		ChargeModel: qsChargeModel[c.Model], ChargeType: qsChargeType[c.Type], StartEvent: qsStartEvent[c.TriggerEvent],
		UnitOfMeasure: c.UOM, Quantity: clonePtr(c.Quantity), TiersMode: qsTiersMode[c.Model],
		PriceBaseInterval: qsPriceBase[c.ListPriceBase], StartDate: c.EffectiveStartDate, EndDate: c.effectiveEnd(v),
		ChargedThroughDate: c.ChargedThroughDate, ProcessedThroughDate: c.ChargedThroughDate,
		CustomFields: maps.Clone(c.CustomFields), CreatedByID: simUserID, CreatedTime: v.CreatedTime,
		UpdatedByID: simUserID, UpdatedTime: v.UpdatedTime}
	if it.CustomFields == nil {
		it.CustomFields = map[string]string{}
	}
	switch {
	case today < c.EffectiveStartDate:
		it.State = "inactive"
	case it.EndDate != "" && it.EndDate <= today:
		it.State = "expired"
	default:
		it.State, it.Active = "active", true
	}
	if c.Type != typeOneTime {
		cat := &Charge{BillingPeriod: c.BillingPeriod, SpecificBillingPeriod: c.SpecificBillingPeriod}
		iv, n := cat.interval()
		it.Recurring = &PriceRecurring{Interval: iv, IntervalCount: n, Usage: c.Type == typeUsage,
			Timing: qsTiming[c.BillingTiming]}
	}
	switch c.Model {
	case modelFlatFee:
		it.Amount = clonePtr(c.Price)
	case modelPerUnit:
		it.UnitAmount = clonePtr(c.Price)
	default:
		for _, t := range c.Tiers {
			p := t.Price
			qt := QSItemTier{UpTo: clonePtr(t.EndingUnit)}
			if t.PriceFormat == formatFlatFee {
				qt.Amount = &p
			} else {
				qt.UnitAmount = &p
			}
			it.Tiers = append(it.Tiers, qt)
		}
	}
	return it
}

// ---- Go helpers ----

// Subscriptions returns the latest version of every subscription in the V1 shape, in creation order.
func (s *Sim) Subscriptions() []V1Subscription {
	st := s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make([]V1Subscription, 0, len(st.ord.subs))
	for _, sub := range st.ord.subs {
		out = append(out, st.v1SubscriptionView(sub.latest(), true, s.today()))
	}
	return out
}

// Subscription returns the latest version of a subscription by number or id.
func (s *Sim) Subscription(key string) (V1Subscription, bool) {
	st := s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	sub, v := st.lookupSubscription(key)
	if sub == nil {
		return V1Subscription{}, false
	}
	return st.v1SubscriptionView(v, v == sub.latest(), s.today()), true
}
