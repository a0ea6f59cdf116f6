package zuorasim

import (
	"encoding/json"
	"maps"
	"math/big"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/zuora-sync/zuora-sync/internal/decimaltext"
)

// Usage records: Quickstart POST/GET /v2/usage_records and GET/PATCH/DELETE /v2/usage_records/{id} ("usage",
// "usageCreateRequest", "usagePatchRequest" and "listUsageResponse" of ../shared/zuora-openapi/; BEHAVIOUR.md
// §7), and their processing by the simulator clock.
//
// A record belongs to an account, one of its subscriptions and a usage charge of that subscription: the
// Quickstart subscription item (subscription_item_id is the rate plan charge's id, which stays the same across
// subscription versions; subscription_item_number is its charge number). subscription_id is the subscription's
// original id, its first version's [inferred: Zuora's Usage object refers to "the original ID of the
// subscription"], so it does not change when an order makes a new version; subscription_number is the stable key.
//
// Create: quantity, start_time and unit_of_measure are required (the spec's required list), and account_id or
// account_number (both must then name the same account). The subscription is named by subscription_id or
// subscription_number, or follows from subscription_item_id/_number; it must belong to the account. Without a
// subscription item the record goes to the subscription's one usage charge with the record's unit of measure, as
// Zuora matches usage to charges by unit of measure (none or several such charges: 400). [Simulator: Zuora can
// leave the subscription to be matched at bill time; the simulator needs it named.] The charge must be a usage
// charge of the subscription, and unit_of_measure its unit of measure (exact spelling). quantity is a JSON number
// kept as exact decimal text, at least 0. start_time's date (in UTC, the simulator's time zone) must lie in the
// subscription's current term ([term start, term end) for a termed subscription) and while the charge is active
// (from its start to its end: removal, cancellation, or the end of a term that does not renew). end_time, when
// given, is not before start_time. Times are stored and returned in UTC, to the second. Custom fields are the
// tenant's "Usage" custom fields. Every record starts pending.
//
// PATCH takes quantity, start_time, end_time, unit_of_measure and custom_fields (the patch schema), checked as
// on create; DELETE removes the record (204). Both only while the record is pending: a processed record answers
// 400 bad_request on the parameter "state".
//
// Processing (processDueUsage): the billing periods of a usage charge are those of billing.go (aligned to the
// charge's start, of the charge's billing period; the last one cut at the charge's end). When the simulator
// clock reaches the end of the period that holds a pending record's start date, the period's pending records of
// that charge become processed and their total quantity is rated once for the period (Zuora's default rating
// group ByBillingPeriod; the charge's rating group is not consulted [simplification]): flat fee = the price, per
// unit = price × quantity, tiered and volume by billing.go's tier rules, in exact decimal arithmetic (rateExact),
// rounded half away from zero to cents. The items of one account whose periods end on the same date go on one
// Posted invoice (source BillRun, source type Subscription) dated that end, due after the account's payment
// term, recorded as invoice.posted. Payments are not collected (no payment run is simulated). Every usage
// charge's charged-through (= processed-through) date moves to the end of its last ended period, with or without
// usage in it, so it is always where the charge's open period starts. Records of a period not yet ended stay
// pending, and so do records whose start date lies outside the charge by the time it is processed (e.g. after a
// backdated removal): Zuora would not bill them either. A record created for a period that has already ended is
// processed at the next run, on an invoice of its own. Runs happen inside Sim.Advance and at the start of every
// order, subscription and usage endpoint (orders_scheduled.go, runDueOrdersLocked): before each scheduled order
// that comes due, the usage of the periods ended by its scheduled date, so a price change by a scheduled order
// does not re-rate a period that ended before it; then the usage of the periods ended by today.

const (
	usageCustomObject = "Usage"
	usagePending      = "pending"
	usageProcessed    = "processed"
)

// usageRecord is a stored usage record.
type usageRecord struct {
	ID                       string
	AccountID, AccountNumber string
	SubscriptionID           string // the subscription's original id
	SubscriptionNumber       string
	ItemID, ItemNumber       string // the usage charge (subscription item)
	Quantity                 string // canonical decimal text
	StartTime, EndTime       string // RFC 3339, UTC; EndTime "" = not given
	UOM                      string
	Description              string
	State                    string
	CustomFields             map[string]string
	InvoiceNumber            string // the invoice that rated it, once processed
	CreatedTime, UpdatedTime string
}

// day is the date of the record's start time.
func (u *usageRecord) day() string { return u.StartTime[:len(dateLayout)] }

// usageStore holds the usage records. Caller holds store.mu for every access.
type usageStore struct {
	records []*usageRecord // creation order
	byID    map[string]*usageRecord
}

func newUsageStore() usageStore { return usageStore{byID: map[string]*usageRecord{}} }

func (us *usageStore) add(u *usageRecord) {
	us.records = append(us.records, u)
	us.byID[u.ID] = u
}

func (us *usageStore) remove(u *usageRecord) {
	us.records = slices.DeleteFunc(us.records, func(x *usageRecord) bool { return x == u })
	delete(us.byID, u.ID)
}

// UsageRecord is the Quickstart "usage" (additionalProperties false: only schema members). Account,
// Subscription and SubscriptionItem are filled only when expanded.
type UsageRecord struct {
	ID                     string              `json:"id"`
	AccountID              string              `json:"account_id"`
	AccountNumber          string              `json:"account_number"`
	SubscriptionID         string              `json:"subscription_id"`
	SubscriptionNumber     string              `json:"subscription_number"`
	SubscriptionItemID     string              `json:"subscription_item_id"`
	SubscriptionItemNumber string              `json:"subscription_item_number"`
	Quantity               json.Number         `json:"quantity"`
	StartTime              string              `json:"start_time"`
	EndTime                string              `json:"end_time,omitempty"`
	UnitOfMeasure          string              `json:"unit_of_measure"`
	Description            string              `json:"description,omitempty"`
	State                  string              `json:"state"`
	Account                *Account            `json:"account,omitempty"`
	Subscription           *QSSubscription     `json:"subscription,omitempty"`
	SubscriptionItem       *QSSubscriptionItem `json:"subscription_item,omitempty"`
	CustomFields           map[string]string   `json:"custom_fields"`
	CreatedByID            string              `json:"created_by_id"`
	CreatedTime            string              `json:"created_time"`
	UpdatedByID            string              `json:"updated_by_id"`
	UpdatedTime            string              `json:"updated_time"`
}

// renderUsage returns u as the API shows it, with the expanded relations (account, subscription,
// subscription_item). Caller holds st.mu.
func (st *store) renderUsage(u *usageRecord, exp expandSet, today string) UsageRecord {
	out := UsageRecord{ID: u.ID, AccountID: u.AccountID, AccountNumber: u.AccountNumber,
		SubscriptionID: u.SubscriptionID, SubscriptionNumber: u.SubscriptionNumber, SubscriptionItemID: u.ItemID,
		SubscriptionItemNumber: u.ItemNumber, Quantity: json.Number(u.Quantity), StartTime: u.StartTime,
		EndTime: u.EndTime, UnitOfMeasure: u.UOM, Description: u.Description, State: u.State,
		CustomFields: maps.Clone(u.CustomFields), CreatedByID: simUserID, CreatedTime: u.CreatedTime,
		UpdatedByID: simUserID, UpdatedTime: u.UpdatedTime}
	if exp["account"] {
		if a := st.accountsByID[u.AccountID]; a != nil {
			av := st.renderAccount(a, nil)
			out.Account = &av
		}
	}
	if sub := st.ord.subscription(u.SubscriptionNumber); sub != nil && (exp["subscription"] || exp["subscription_item"]) {
		v := sub.latest()
		if exp["subscription"] {
			sv := st.qsSubscriptionView(v, true, nil, today)
			out.Subscription = &sv
		}
		if rp, c := v.item(u.ItemID); c != nil && exp["subscription_item"] {
			it := st.qsItemView(v, rp, c, today)
			out.SubscriptionItem = &it
		}
	}
	return out
}

// item finds a rate plan charge (a Quickstart subscription item) of the version by id or charge number.
func (v *subVersion) item(key string) (*subRatePlan, *subCharge) {
	for _, rp := range v.RatePlans {
		for _, c := range rp.Charges {
			if c.ID == key || c.Number == key {
				return rp, c
			}
		}
	}
	return nil, nil
}

// ---- request bodies ----

// usageQuantity is a request's quantity: a JSON number, kept as exact decimal text in canonical spelling. A
// string, even one holding a number, is a type error: the spec types quantity as a number.
type usageQuantity string

// UnmarshalJSON implements json.Unmarshaler.
func (q *usageQuantity) UnmarshalJSON(b []byte) error {
	c, err := decimaltext.Canonical(string(b), decimaltext.JSON)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "non-number", Type: reflect.TypeFor[float64]()}
	}
	*q = usageQuantity(c)
	return nil
}

// usageCreateInput is "usageCreateRequest".
type usageCreateInput struct {
	AccountID              *string           `json:"account_id"`
	AccountNumber          *string           `json:"account_number"`
	SubscriptionID         *string           `json:"subscription_id"`
	SubscriptionNumber     *string           `json:"subscription_number"`
	SubscriptionItemID     *string           `json:"subscription_item_id"`
	SubscriptionItemNumber *string           `json:"subscription_item_number"`
	Description            *string           `json:"description"`
	Quantity               *usageQuantity    `json:"quantity"`
	StartTime              *string           `json:"start_time"`
	EndTime                *string           `json:"end_time"`
	UnitOfMeasure          *string           `json:"unit_of_measure"`
	CustomFields           customFieldValues `json:"custom_fields"`
}

// usagePatchInput is "usagePatchRequest".
type usagePatchInput struct {
	Quantity      *usageQuantity    `json:"quantity"`
	StartTime     *string           `json:"start_time"`
	EndTime       *string           `json:"end_time"`
	UnitOfMeasure *string           `json:"unit_of_measure"`
	CustomFields  customFieldValues `json:"custom_fields"`
}

// usageChange is what a create or a patch sets on a record.
type usageChange struct {
	quantity        *usageQuantity
	start, end, uom *string
	custom          customFieldValues
}

// ---- endpoints (each first runs what the clock has made due, so they hold the store for writing) ----

func (s *Sim) createUsageRecord(r *http.Request, st *store) (reply, *apiError) {
	s.runDueOrdersLocked(st)
	var in usageCreateInput
	if e := decodeBody(r, &in); e != nil {
		return reply{}, e
	}
	u, e := st.newUsageRecord(&in, s.timestamp())
	if e != nil {
		return reply{}, e
	}
	st.usage.add(u)
	exp := parseExpand(r)
	return replyCreated(project(st.renderUsage(u, exp, s.today()), parseFields(r, "usage_record"), exp)), nil
}

func (s *Sim) getUsageRecord(r *http.Request, st *store) (reply, *apiError) {
	s.runDueOrdersLocked(st)
	u := st.usage.byID[r.PathValue("usage_record_id")]
	if u == nil {
		return reply{}, errNotFound("usage record", r.PathValue("usage_record_id"))
	}
	exp := parseExpand(r)
	return replyOK(project(st.renderUsage(u, exp, s.today()), parseFields(r, "usage_record"), exp)), nil
}

func (s *Sim) patchUsageRecord(r *http.Request, st *store) (reply, *apiError) {
	s.runDueOrdersLocked(st)
	var in usagePatchInput
	if e := decodeBody(r, &in); e != nil {
		return reply{}, e
	}
	u := st.usage.byID[r.PathValue("usage_record_id")]
	if u == nil {
		return reply{}, errNotFound("usage record", r.PathValue("usage_record_id"))
	}
	if u.State != usagePending {
		return reply{}, errUsageProcessed(u)
	}
	sub := st.ord.subscription(u.SubscriptionNumber)
	if sub == nil {
		return reply{}, errNotFound("subscription", u.SubscriptionNumber)
	}
	v := sub.latest()
	_, c := v.item(u.ItemID)
	if c == nil {
		return reply{}, errNotFound("subscription item", u.ItemID)
	}
	next := *u
	next.CustomFields = maps.Clone(u.CustomFields)
	ch := usageChange{quantity: in.Quantity, start: in.StartTime, end: in.EndTime, uom: in.UnitOfMeasure, custom: in.CustomFields}
	if e := st.applyUsageChange(&next, v, c, ch); e != nil {
		return reply{}, e
	}
	next.UpdatedTime = s.timestamp()
	*u = next
	exp := parseExpand(r)
	return replyOK(project(st.renderUsage(u, exp, s.today()), parseFields(r, "usage_record"), exp)), nil
}

func (s *Sim) deleteUsageRecord(r *http.Request, st *store) (reply, *apiError) {
	s.runDueOrdersLocked(st)
	u := st.usage.byID[r.PathValue("usage_record_id")]
	if u == nil {
		return reply{}, errNotFound("usage record", r.PathValue("usage_record_id"))
	}
	if u.State != usagePending {
		return reply{}, errUsageProcessed(u)
	}
	st.usage.remove(u)
	return reply{status: http.StatusNoContent}, nil
}

// usageFilters are the filterable fields of GET /v2/usage_records: the members of "usage" the spec lists as
// accepted fields[] values (it documents no separate filter list) other than custom_fields, whose members are
// filtered by name like every custom field.
var usageFilters = filterFields(usageCustomObject, "id", "account_id", "account_number", "subscription_id",
	"subscription_number", "subscription_item_id", "subscription_item_number", "unit_of_measure", "description",
	"start_time", "end_time", "state", "quantity", "created_by_id", "created_time", "updated_by_id", "updated_time")

func (s *Sim) listUsageRecords(r *http.Request, st *store) (reply, *apiError) {
	s.runDueOrdersLocked(st)
	p, e := parseListParams(r, "usage_record")
	if e != nil {
		return reply{}, e
	}
	today := s.today()
	return listOf(st, p, st.usage.records, usageFilters,
		func(u *usageRecord) any { return st.renderUsage(u, p.expand, today) })
}

// errUsageProcessed is the answer to a change of a processed record.
func errUsageProcessed(u *usageRecord) *apiError {
	return errInvalid("state", "usage record %s has been processed (invoice %s) and can no longer be changed or deleted",
		u.ID, u.InvoiceNumber).withCategory(catRule)
}

// ---- validation ----

// newUsageRecord validates a create body and builds the record (not stored). Caller holds st.mu.
func (st *store) newUsageRecord(in *usageCreateInput, now string) (*usageRecord, *apiError) {
	switch {
	case in.Quantity == nil:
		return nil, errMissing("quantity")
	case in.StartTime == nil:
		return nil, errMissing("start_time")
	case in.UnitOfMeasure == nil:
		return nil, errMissing("unit_of_measure")
	}
	a, e := st.usageAccount(in)
	if e != nil {
		return nil, e
	}
	sub, e := st.usageSubscription(in, a)
	if e != nil {
		return nil, e
	}
	v := sub.latest()
	_, c, e := usageCharge(st, v, in, *in.UnitOfMeasure)
	if e != nil {
		return nil, e
	}
	u := &usageRecord{ID: newID(), AccountID: a.ID, AccountNumber: a.AccountNumber, SubscriptionID: sub.versions[0].ID,
		SubscriptionNumber: v.Number, ItemID: c.ID, ItemNumber: c.Number, State: usagePending,
		CustomFields: map[string]string{}, CreatedTime: now, UpdatedTime: now}
	setStr(&u.Description, in.Description)
	ch := usageChange{quantity: in.Quantity, start: in.StartTime, end: in.EndTime, uom: in.UnitOfMeasure, custom: in.CustomFields}
	if e := st.applyUsageChange(u, v, c, ch); e != nil {
		return nil, e
	}
	return u, nil
}

func (st *store) usageAccount(in *usageCreateInput) (*Account, *apiError) {
	var a *Account
	if in.AccountID != nil {
		if a = st.accountsByID[*in.AccountID]; a == nil {
			return nil, errReferenceNotFound("account_id", *in.AccountID)
		}
	}
	if in.AccountNumber != nil {
		byNum := st.accountsByNum[*in.AccountNumber]
		switch {
		case byNum == nil:
			return nil, errReferenceNotFound("account_number", *in.AccountNumber)
		case a != nil && a != byNum:
			return nil, errInvalid("account_number", "'account_number' and 'account_id' name different accounts")
		}
		a = byNum
	}
	if a == nil {
		return nil, errMissing("account_id")
	}
	return a, nil
}

// usageSubscription finds the subscription a create body names (directly or through its subscription item) and
// checks that it belongs to the account.
func (st *store) usageSubscription(in *usageCreateInput, a *Account) (*subscription, *apiError) {
	var sub *subscription
	param := "subscription_id"
	if in.SubscriptionID != nil {
		if sub, _ = st.lookupSubscription(*in.SubscriptionID); sub == nil {
			return nil, errReferenceNotFound("subscription_id", *in.SubscriptionID)
		}
	}
	if in.SubscriptionNumber != nil {
		byNum := st.ord.subscription(*in.SubscriptionNumber)
		switch {
		case byNum == nil:
			return nil, errReferenceNotFound("subscription_number", *in.SubscriptionNumber)
		case sub != nil && sub != byNum:
			return nil, errInvalid("subscription_number", "'subscription_number' and 'subscription_id' name different subscriptions")
		}
		sub, param = byNum, "subscription_number"
	}
	if sub == nil {
		itemParam, key := itemKey(in)
		if key == "" {
			return nil, errMissing("subscription_number")
		}
		if sub = st.subscriptionWithItem(key); sub == nil {
			return nil, errReferenceNotFound(itemParam, key)
		}
		param = itemParam
	}
	if v := sub.latest(); v.AccountID != a.ID {
		return nil, errInvalid(param, "subscription %s does not belong to account %s", v.Number, a.AccountNumber)
	}
	return sub, nil
}

// itemKey is the subscription item a create body names, and the parameter that names it.
func itemKey(in *usageCreateInput) (param, key string) {
	switch {
	case in.SubscriptionItemID != nil:
		return "subscription_item_id", *in.SubscriptionItemID
	case in.SubscriptionItemNumber != nil:
		return "subscription_item_number", *in.SubscriptionItemNumber
	}
	return "", ""
}

// subscriptionWithItem is the subscription whose latest version has the rate plan charge key, or nil.
func (st *store) subscriptionWithItem(key string) *subscription {
	for _, sub := range st.ord.subs {
		if _, c := sub.latest().item(key); c != nil {
			return sub
		}
	}
	return nil
}

// usageCharge is the usage charge of v a create body names, or, without one, v's one usage charge in the unit of
// measure.
func usageCharge(st *store, v *subVersion, in *usageCreateInput, uom string) (*subRatePlan, *subCharge, *apiError) {
	param, key := itemKey(in)
	if key == "" {
		var rps []*subRatePlan
		var cs []*subCharge
		for _, rp := range v.RatePlans {
			for _, c := range rp.Charges {
				if rp.LastChangeType != changeRemove && c.Type == typeUsage && c.UOM == uom {
					rps, cs = append(rps, rp), append(cs, c)
				}
			}
		}
		switch len(cs) {
		case 0:
			return nil, nil, errInvalid("subscription_item_id", "subscription %s has no usage charge in the unit of measure '%s'", v.Number, uom)
		case 1:
			return rps[0], cs[0], nil
		}
		return nil, nil, errInvalid("subscription_item_id", "subscription %s has %d usage charges in the unit of measure '%s'; name one with 'subscription_item_id'", v.Number, len(cs), uom)
	}
	rp, c := v.item(key)
	switch {
	case c == nil && st.subscriptionWithItem(key) != nil:
		return nil, nil, errInvalid(param, "'%s' %s is not an item of subscription %s", param, key, v.Number)
	case c == nil:
		return nil, nil, errReferenceNotFound(param, key)
	case in.SubscriptionItemID != nil && in.SubscriptionItemNumber != nil && c.Number != *in.SubscriptionItemNumber:
		return nil, nil, errInvalid("subscription_item_number", "'subscription_item_number' and 'subscription_item_id' name different subscription items")
	case c.Type != typeUsage:
		return nil, nil, errInvalid(param, "'%s' must name a usage charge; %s (%s) is a %s charge", param, c.Number, c.Name, c.Type)
	}
	return rp, c, nil
}

// applyUsageChange validates the fields of a create or a patch against the record's charge c of version v and
// sets them on u. Caller holds st.mu.
func (st *store) applyUsageChange(u *usageRecord, v *subVersion, c *subCharge, ch usageChange) *apiError {
	if ch.quantity != nil {
		if decimaltext.Sign(string(*ch.quantity)) < 0 {
			return errInvalid("quantity", "'quantity' must not be negative")
		}
		u.Quantity = string(*ch.quantity)
	}
	if ch.uom != nil {
		if *ch.uom != c.UOM {
			return errInvalid("unit_of_measure", "'unit_of_measure' must be '%s', the unit of measure of charge %s", c.UOM, c.Number)
		}
		u.UOM = *ch.uom
	}
	if ch.start != nil {
		t, ok := usageTime(*ch.start)
		if !ok {
			return errInvalid("start_time", "'start_time' must be a date-time (RFC 3339)")
		}
		day := t[:len(dateLayout)]
		if day < v.TermStartDate || (v.TermType == termTermed && v.TermEndDate != "" && day >= v.TermEndDate) {
			return errInvalid("start_time", "'start_time' %s is outside the current term of subscription %s (%s to %s)",
				t, v.Number, v.TermStartDate, v.TermEndDate)
		}
		if until := c.billedUntil(v); day < c.EffectiveStartDate || (until != "" && day >= until) {
			return errInvalid("start_time", "'start_time' %s is outside charge %s, which runs from %s to %s",
				t, c.Number, c.EffectiveStartDate, until)
		}
		u.StartTime = t
	}
	if ch.end != nil {
		t, ok := usageTime(*ch.end)
		if !ok {
			return errInvalid("end_time", "'end_time' must be a date-time (RFC 3339)")
		}
		u.EndTime = t
	}
	if u.EndTime != "" && u.EndTime < u.StartTime { // one layout, in UTC: the strings order as the times
		return errInvalid("end_time", "'end_time' must not be before 'start_time'")
	}
	if e := st.validateCustomFields(usageCustomObject, "custom_fields", ch.custom); e != nil {
		return e
	}
	mergeCustomFields(u.CustomFields, ch.custom)
	return nil
}

// usageTime parses an RFC 3339 date-time into the stored form: UTC, to the second.
func usageTime(v string) (string, bool) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return "", false
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339), true
}

// ---- processing ----

// usagePeriod is the billing period of usage charge c of version v that holds day, [start, end), the end cut at
// the end of the charge; ok is false when day lies outside the charge.
func usagePeriod(v *subVersion, c *subCharge, day string) (start, end string, ok bool) {
	until := c.billedUntil(v)
	if day < c.EffectiveStartDate || (until != "" && day >= until) {
		return "", "", false
	}
	anchor := parseDate(c.EffectiveStartDate)
	for k := range maxBillPeriods * 4 {
		ps, pe := fmtDate(c.periodStart(anchor, k)), fmtDate(c.periodStart(anchor, k+1))
		if day < pe {
			if until != "" && until < pe {
				pe = until
			}
			return ps, pe, true
		}
	}
	return "", "", false
}

// usageGroup is the pending records of one charge and one billing period: one invoice item.
type usageGroup struct {
	v          *subVersion
	rp         *subRatePlan
	c          *subCharge
	start, end string
	quantity   *big.Rat
	records    []*usageRecord
}

// usageKey names the group of a subscription's charge and period start.
func usageKey(subNumber, chargeID, start string) string {
	return subNumber + "/" + chargeID + "/" + start
}

// processDueUsage rates and invoices the pending usage records whose billing period ended on or before asOf, and
// closes the ended periods of every usage charge (see the rules at the top of the file). Caller holds st.mu for
// writing.
func (s *Sim) processDueUsage(st *store, asOf string) {
	s.rateDueUsage(st, asOf)
	st.closeUsagePeriods(asOf)
}

// closeUsagePeriods moves the charged-through (= processed-through) date of every usage charge to the end of its
// last billing period ended by asOf, whether the period had usage or not, as Zuora's bill runs process a usage
// charge's periods as they end: the date is where the charge's open period starts. Caller holds st.mu for
// writing.
func (st *store) closeUsagePeriods(asOf string) {
	for _, sub := range st.ord.subs {
		v := sub.latest()
		for _, rp := range v.RatePlans {
			for _, c := range rp.Charges {
				if c.Type != typeUsage || c.EffectiveStartDate > asOf {
					continue
				}
				if end := usageClosedThrough(v, c, asOf); end > c.ChargedThroughDate {
					c.ChargedThroughDate = end
				}
			}
		}
	}
}

// usageClosedThrough is the end of the last billing period of usage charge c that ended on or before asOf ("" =
// none has).
func usageClosedThrough(v *subVersion, c *subCharge, asOf string) string {
	until := c.billedUntil(v)
	anchor := parseDate(c.EffectiveStartDate)
	closed := ""
	for k := range maxBillPeriods * 4 {
		pe := fmtDate(c.periodStart(anchor, k+1))
		if until != "" && until < pe {
			pe = until
		}
		if pe > asOf {
			break
		}
		closed = pe
		if pe == until {
			break
		}
	}
	return closed
}

// rateDueUsage rates and invoices the pending usage records whose billing period ended on or before asOf.
func (s *Sim) rateDueUsage(st *store, asOf string) {
	groups := map[string]*usageGroup{}
	var order []*usageGroup // in the order of the records that opened them, so every run bills alike
	for _, u := range st.usage.records {
		if u.State != usagePending {
			continue
		}
		sub := st.ord.subscription(u.SubscriptionNumber)
		if sub == nil {
			continue
		}
		v := sub.latest()
		rp, c := v.item(u.ItemID)
		if c == nil {
			continue
		}
		start, end, ok := usagePeriod(v, c, u.day())
		if !ok || end > asOf {
			continue
		}
		k := usageKey(v.Number, c.ID, start)
		g := groups[k]
		if g == nil {
			g = &usageGroup{v: v, rp: rp, c: c, start: start, end: end, quantity: new(big.Rat)}
			groups[k] = g
			order = append(order, g)
		}
		g.quantity.Add(g.quantity, decimaltext.Rat(u.Quantity))
		g.records = append(g.records, u)
	}
	if len(order) == 0 {
		return
	}
	var accounts []string // account ids in first-seen order
	items := map[string][]billItem{}
	for _, g := range order {
		if _, ok := items[g.v.AccountID]; !ok {
			accounts = append(accounts, g.v.AccountID)
		}
		items[g.v.AccountID] = append(items[g.v.AccountID], g.billItem())
	}
	at := s.Now()
	now := at.Format(time.RFC3339)
	for _, id := range accounts {
		a := st.accountsByID[id]
		for _, doc := range groupByBillDate(items[id]) {
			inv := st.newInvoice(&st.ord.seq, a, doc.items, doc.date, now, "", false)
			inv.Source, inv.SourceType = "BillRun", "Subscription"
			st.ord.addInvoice(inv)
			a.RemainingInvoiceBalance = roundMoney(a.RemainingInvoiceBalance + inv.Amount)
			st.notify(at, "invoice.posted", map[string]string{"InvoiceNumber": inv.Number, "InvoiceId": inv.ID,
				"AccountNumber": inv.AccountNumber, "AccountId": inv.AccountID, "Amount": money(inv.Amount),
				"Balance": money(inv.Balance), "Status": inv.Status, "Currency": inv.Currency})
			for _, b := range doc.items {
				g := groups[usageKey(b.sub.Number, b.charge.ID, b.start)]
				for _, u := range g.records {
					u.State, u.InvoiceNumber, u.UpdatedTime = usageProcessed, inv.Number, now
				}
			}
		}
	}
}

// billItem rates the group's total quantity for its period.
func (g *usageGroup) billItem() billItem {
	amount, _ := roundCents(rateExact(g.c.Model, g.c.Price, g.c.Tiers, g.quantity)).Float64()
	q, _ := g.quantity.Float64()
	var unit *float64
	if g.c.Model == modelPerUnit {
		unit = clonePtr(g.c.Price)
	}
	return billItem{sub: g.v, ratePlan: g.rp, charge: g.c, start: g.start, end: g.end, billDate: g.end,
		amount: amount, unitPrice: unit, quantity: &q, chargedUntil: g.end}
}

// rateExact is rate (billing.go) in exact decimal arithmetic: the same models and tier rules, each price taken
// as the decimal it was given as (its shortest spelling).
func rateExact(model string, price *float64, tiers []ChargeTier, q *big.Rat) *big.Rat {
	dec := func(f float64) *big.Rat {
		r, _ := new(big.Rat).SetString(strconv.FormatFloat(f, 'f', -1, 64))
		return r
	}
	mul := func(a, b *big.Rat) *big.Rat { return new(big.Rat).Mul(a, b) }
	total := new(big.Rat)
	switch model {
	case modelFlatFee:
		if price != nil {
			return dec(*price)
		}
	case modelPerUnit:
		if price != nil {
			return mul(dec(*price), q)
		}
	case modelTiered:
		prevEnd := new(big.Rat)
		for i, t := range tiers {
			if i > 0 && q.Cmp(prevEnd) <= 0 {
				break
			}
			upper := q
			if t.EndingUnit != nil && dec(*t.EndingUnit).Cmp(q) < 0 {
				upper = dec(*t.EndingUnit)
			}
			units := new(big.Rat).Sub(upper, prevEnd)
			if units.Sign() > 0 || (i == 0 && q.Sign() > 0) {
				if t.PriceFormat == formatFlatFee {
					total.Add(total, dec(t.Price))
				} else if units.Sign() > 0 {
					total.Add(total, mul(dec(t.Price), units))
				}
			}
			if t.EndingUnit != nil {
				prevEnd = dec(*t.EndingUnit)
			}
		}
	case modelVolume:
		for _, t := range tiers {
			if t.EndingUnit == nil || q.Cmp(dec(*t.EndingUnit)) <= 0 {
				if t.PriceFormat == formatFlatFee {
					return dec(t.Price)
				}
				return mul(dec(t.Price), q)
			}
		}
	}
	return total
}

// roundCents rounds r half away from zero to 2 decimals.
func roundCents(r *big.Rat) *big.Rat {
	x := new(big.Rat).Mul(r, big.NewRat(100, 1))
	q, m := new(big.Int).QuoRem(new(big.Int).Abs(x.Num()), x.Denom(), new(big.Int))
	if new(big.Int).Lsh(m, 1).Cmp(x.Denom()) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if x.Sign() < 0 {
		q.Neg(q)
	}
	return new(big.Rat).SetFrac(q, big.NewInt(100))
}

// ---- Go helpers ----

// UsageRecords returns every usage record as GET /v2/usage_records shows it, in creation order.
func (s *Sim) UsageRecords() []UsageRecord {
	st := s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.usageState(s.today())
}

// usageState is the usage records of a State snapshot. Caller holds st.mu.
func (st *store) usageState(today string) []UsageRecord {
	out := make([]UsageRecord, 0, len(st.usage.records))
	for _, u := range st.usage.records {
		out = append(out, st.renderUsage(u, nil, today))
	}
	return out
}
