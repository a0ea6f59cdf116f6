package zuorasim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The order engine: a stage applies an order's actions to copies of the subscriptions it touches (new ones are
// built from scratch), so that a failing action leaves the store as it was. commit (orders_processing.go) stores
// the copies; a preview only rates them; a Draft or Scheduled order only records its actions.

// stage is one order being applied to copies. Caller holds st.mu for the stage's whole life.
type stage struct {
	st        *store
	seq       seqs
	in        *orderIn
	account   *Account
	date      string // execution date: today, or the scheduled date
	now       string // RFC 3339 timestamp of the change
	working   map[string]*subVersion
	base      map[string]int // subscription number -> base version (0: created by this order)
	steps     map[string]int // actions applied per subscription
	touched   []string       // subscription numbers in first-touch order
	cancelled map[string]bool
	tokens    map[string]*subRatePlan // rate plan uniqueToken -> rate plan
	records   []orderSubRecord
	newIDs    map[*actionIn]string  // rate plan id an AddProduct/UpdateProduct produced
	added     map[*subRatePlan]bool // rate plans this order adds
}

func (st *store) newStage(in *orderIn, a *Account, date, now string) *stage {
	return &stage{st: st, seq: st.ord.seq, in: in, account: a, date: date, now: now,
		working: map[string]*subVersion{}, base: map[string]int{}, steps: map[string]int{},
		cancelled: map[string]bool{}, tokens: map[string]*subRatePlan{}, newIDs: map[*actionIn]string{},
		added: map[*subRatePlan]bool{}}
}

// keepNumbers stores the counters the stage advanced, so that the numbers it handed out are not given again.
func (sg *stage) keepNumbers() { sg.st.ord.seq = sg.seq }

// keepOrderNumber stores only the order counter: the other numbers of a dry run (a Scheduled order validated
// now and run later) are not used.
func (sg *stage) keepOrderNumber() { sg.st.ord.seq.order = sg.seq.order }

func (sg *stage) orderNumber() string {
	if sg.in.OrderNumber != "" {
		return sg.in.OrderNumber
	}
	for {
		sg.seq.order++
		n := fmt.Sprintf("O-%08d", sg.seq.order)
		if sg.st.ord.order(n) == nil {
			return n
		}
	}
}

// triggerDates resolves an action's three trigger dates (defaults: order date, then each other).
func (sg *stage) triggerDates(act *actionIn, param string) (ce, sa, ca string, e *apiError) {
	ce = *sg.in.OrderDate
	for i, td := range act.TriggerDates {
		p := fmt.Sprintf("%s.triggerDates[%d]", param, i)
		if !validDate(td.TriggerDate) {
			return "", "", "", errInvalid(p+".triggerDate", "'triggerDate' must be a date in the format YYYY-MM-DD")
		}
		switch td.Name {
		case "ContractEffective":
			ce = td.TriggerDate
		case "ServiceActivation":
			sa = td.TriggerDate
		case "CustomerAcceptance":
			ca = td.TriggerDate
		default:
			return "", "", "", errInvalid(p+".name", "'name' must be one of ContractEffective, ServiceActivation, CustomerAcceptance")
		}
	}
	if sa == "" {
		sa = ce
	}
	if ca == "" {
		ca = sa
	}
	return ce, sa, ca, nil
}

// resolvedTriggerDates renders the trigger dates an action ran with, for order reads.
func (sg *stage) resolvedTriggerDates(act *actionIn) []triggerDateIn {
	ce, sa, ca, e := sg.triggerDates(act, "")
	if e != nil {
		return act.TriggerDates
	}
	return []triggerDateIn{{"ContractEffective", ce}, {"ServiceActivation", sa}, {"CustomerAcceptance", ca}}
}

// startFor picks the trigger date a catalog trigger event names.
func startFor(event, ce, sa, ca string) string {
	switch event {
	case "ServiceActivation":
		return sa
	case "CustomerAcceptance":
		return ca
	}
	return ce
}

// run applies every action to copies. Caller holds st.mu.
func (sg *stage) run() *apiError {
	for i := range sg.in.Subscriptions {
		osub := &sg.in.Subscriptions[i]
		p := fmt.Sprintf("subscriptions[%d]", i)
		if len(osub.OrderActions) == 0 {
			return errMissing(p + ".orderActions")
		}
		if e := sg.st.validateCustomFieldMap("Subscription", p+".customFields", osub.CustomFields); e != nil {
			return e
		}
		number := osub.SubscriptionNumber
		rec := orderSubRecord{CustomFields: osub.CustomFields, Notes: osub.Notes}
		for j := range osub.OrderActions {
			act := &osub.OrderActions[j]
			ap := fmt.Sprintf("%s.orderActions[%d]", p, j)
			if e := checkActionShape(act, ap); e != nil {
				return e
			}
			if act.Type == "CreateSubscription" {
				if j != 0 {
					return errRule(ap+".type", "CreateSubscription must be the first action of its subscription")
				}
				n, e := sg.createSubscription(act, number, osub, ap)
				if e != nil {
					return e
				}
				number = n
			} else {
				if number == "" {
					return errMissing(p + ".subscriptionNumber")
				}
				v, e := sg.workingCopy(number, p+".subscriptionNumber")
				if e != nil {
					return e
				}
				if v.cancelled() {
					return errRule(ap, "subscription '%s' is cancelled and cannot be changed", number)
				}
				if e := sg.apply(v, act, ap); e != nil {
					return e
				}
				if j == 0 && len(osub.CustomFields) > 0 {
					mergeAnyCustomFields(v.CustomFields, osub.CustomFields)
				}
				if osub.Notes != "" {
					v.Notes = osub.Notes
				}
			}
			sg.steps[number]++
		}
		rec.Number = number
		sg.records = append(sg.records, rec)
	}
	return nil
}

// checkActionShape checks that an action carries exactly the object of its type.
func checkActionShape(act *actionIn, p string) *apiError {
	objects := map[string]bool{
		"createSubscription": act.CreateSubscription != nil, "addProduct": act.AddProduct != nil,
		"updateProduct": act.UpdateProduct != nil, "removeProduct": act.RemoveProduct != nil,
		"cancelSubscription": act.CancelSubscription != nil, "termsAndConditions": len(act.TermsAndConditions) > 0,
		"renewSubscription": len(act.RenewSubscription) > 0, "ownerTransfer": len(act.OwnerTransfer) > 0,
		"suspend": len(act.Suspend) > 0, "resume": len(act.Resume) > 0, "changePlan": len(act.ChangePlan) > 0,
	}
	want := map[string]string{"CreateSubscription": "createSubscription", "AddProduct": "addProduct",
		"UpdateProduct": "updateProduct", "RemoveProduct": "removeProduct", "CancelSubscription": "cancelSubscription"}
	switch act.Type {
	case "":
		return errMissing(p + ".type")
	case "TermsAndConditions", "RenewSubscription", "OwnerTransfer", "Suspend", "Resume", "ChangePlan":
		return errInvalid(p+".type", "zuorasim does not simulate the order action %s", act.Type)
	}
	obj, ok := want[act.Type]
	if !ok {
		return errInvalid(p+".type", "'type' must be one of CreateSubscription, TermsAndConditions, AddProduct, UpdateProduct, RemoveProduct, RenewSubscription, CancelSubscription, OwnerTransfer, Suspend, Resume, ChangePlan")
	}
	if !objects[obj] {
		return errMissing(p + "." + obj)
	}
	for _, name := range slices.Sorted(maps.Keys(objects)) {
		if objects[name] && name != obj {
			return errInvalid(p+"."+name, "'%s' does not belong to an order action of type %s", name, act.Type)
		}
	}
	return nil
}

// workingCopy returns the copy of an existing subscription this order changes, making it on first use.
func (sg *stage) workingCopy(number, param string) (*subVersion, *apiError) {
	if v := sg.working[number]; v != nil {
		return v, nil
	}
	sub := sg.st.ord.subscription(number)
	if sub == nil {
		return nil, errReferenceNotFound(param, number)
	}
	v := sub.latest().clone()
	sg.working[number] = v
	sg.base[number] = v.Version
	sg.touched = append(sg.touched, number)
	return v, nil
}

func (sg *stage) apply(v *subVersion, act *actionIn, p string) *apiError {
	ce, sa, ca, e := sg.triggerDates(act, p)
	if e != nil {
		return e
	}
	switch act.Type {
	case "AddProduct":
		rp, e := sg.newRatePlan(v, act.AddProduct, p+".addProduct", ce, sa, ca)
		if e != nil {
			return e
		}
		rp.LastChangeType = changeAdd
		sg.added[rp] = true
		v.RatePlans = append(v.RatePlans, rp)
		sg.newIDs[act] = rp.ID
	case "UpdateProduct":
		return sg.updateProduct(v, act, p+".updateProduct", ce, sa, ca)
	case "RemoveProduct":
		rm := act.RemoveProduct
		rp, e := sg.findRatePlan(v, rm.RatePlanID, rm.SubscriptionRatePlanNumber, rm.ProductRatePlanNumber, rm.UniqueToken, p+".removeProduct")
		if e != nil {
			return e
		}
		rp.LastChangeType = changeRemove
		for _, c := range rp.Charges {
			if c.EffectiveEndDate == "" || ce < c.EffectiveEndDate {
				c.EffectiveEndDate = max(ce, c.EffectiveStartDate)
			}
		}
	case "CancelSubscription":
		return sg.cancel(v, act.CancelSubscription, p+".cancelSubscription", ce)
	}
	return nil
}

// createSubscription builds a new subscription (version 1 plus any further actions of the same order).
func (sg *stage) createSubscription(act *actionIn, number string, osub *orderSubIn, p string) (string, *apiError) {
	cs := act.CreateSubscription
	p += ".createSubscription"
	ce, sa, ca, e := sg.triggerDates(act, strings.TrimSuffix(p, ".createSubscription"))
	if e != nil {
		return "", e
	}
	if sg.account.ID == "" && sg.account.AccountNumber == "" && cs.SubscriptionOwnerAccountNumber != "" {
		return "", errInvalid(p+".subscriptionOwnerAccountNumber", "a preview without an account cannot name a subscription owner")
	}
	owner := sg.account
	if n := cs.SubscriptionOwnerAccountNumber; n != "" {
		if owner = sg.st.accountsByNum[n]; owner == nil {
			return "", errReferenceNotFound(p+".subscriptionOwnerAccountNumber", n)
		}
	}
	if n := cs.InvoiceOwnerAccountNumber; n != "" && n != sg.account.AccountNumber {
		return "", errInvalid(p+".invoiceOwnerAccountNumber", "zuorasim does not simulate an invoice owner other than the order's account")
	}
	if cs.SubscriptionNumber != "" {
		number = cs.SubscriptionNumber
	}
	if number != "" {
		if sg.st.ord.subscription(number) != nil || sg.working[number] != nil {
			return "", errRule(p+".subscriptionNumber", "a subscription with number '%s' already exists", number)
		}
		if len(number) > 100 {
			return "", errInvalid(p+".subscriptionNumber", "'subscriptionNumber' must be at most 100 characters")
		}
	} else {
		for {
			sg.seq.sub++
			number = fmt.Sprintf("A-S%08d", sg.seq.sub)
			if sg.st.ord.subscription(number) == nil && sg.working[number] == nil {
				break
			}
		}
	}
	currency := owner.Currency
	if cs.Currency != "" {
		currency = strings.ToUpper(cs.Currency)
		if !sg.st.currencyEnabled(currency) {
			return "", errInvalid(p+".currency", "currency '%s' is not enabled in the tenant", cs.Currency)
		}
	}
	if currency == "" {
		return "", errMissing(p + ".currency")
	}
	v := &subVersion{Number: number, Status: subStatusActive, AccountID: owner.ID, AccountNumber: owner.AccountNumber,
		AccountName: owner.Name, Currency: currency, Notes: cs.Notes, PaymentTerm: cs.PaymentTerm,
		ContractEffectiveDate: ce, ServiceActivationDate: sa, CustomerAcceptanceDate: ca,
		CustomFields: map[string]string{}}
	if v.PaymentTerm == "" {
		v.PaymentTerm = owner.PaymentTerms
	}
	if cs.InvoiceSeparately != nil {
		v.InvoiceSeparately = *cs.InvoiceSeparately
	}
	if e := sg.applyTerms(v, cs.Terms, p+".terms", ce); e != nil {
		return "", e
	}
	mergeAnyCustomFields(v.CustomFields, osub.CustomFields)
	plans := append(slices.Clone(cs.SubscribeToRatePlans), cs.SubscribeToProducts...)
	for i := range plans {
		rp, e := sg.newRatePlan(v, &plans[i], fmt.Sprintf("%s.subscribeToRatePlans[%d]", p, i), ce, sa, ca)
		if e != nil {
			return "", e
		}
		v.RatePlans = append(v.RatePlans, rp)
	}
	cs.SubscriptionNumber = number // order reads show the number the action created
	sg.working[number] = v
	sg.base[number] = 0
	sg.touched = append(sg.touched, number)
	return number, nil
}

var termPeriodTypes = []string{"Month", "Year", "Day", "Week"}

func (sg *stage) applyTerms(v *subVersion, t *termsIn, p, ce string) *apiError {
	if t == nil {
		return errMissing(p)
	}
	if t.InitialTerm == nil {
		return errMissing(p + ".initialTerm")
	}
	it := t.InitialTerm
	switch it.TermType {
	case "":
		return errMissing(p + ".initialTerm.termType")
	case termTermed, termEvergreen:
	default:
		return errInvalid(p+".initialTerm.termType", "'termType' value should be one of: TERMED, EVERGREEN").forResource(resourceTermType)
	}
	start := ce
	if it.StartDate != "" {
		if !validDate(it.StartDate) {
			return errInvalid(p+".initialTerm.startDate", "'startDate' must be a date in the format YYYY-MM-DD")
		}
		start = it.StartDate
	}
	v.TermType, v.SubscriptionStartDate, v.TermStartDate = it.TermType, start, start
	v.AutoRenew = isTrue(t.AutoRenew)
	if it.TermType == termEvergreen {
		v.RenewalSetting = ""
		return nil
	}
	if it.Period == nil || *it.Period < 1 {
		return errInvalid(p+".initialTerm.period", "'period' must be a positive integer for a TERMED subscription")
	}
	v.InitialTerm, v.InitialTermPeriodType = *it.Period, it.PeriodType
	if v.InitialTermPeriodType == "" {
		v.InitialTermPeriodType = "Month"
	}
	if e := oneOf(p+".initialTerm.periodType", v.InitialTermPeriodType, termPeriodTypes); e != nil {
		return e
	}
	v.RenewalSetting = t.RenewalSetting
	if v.RenewalSetting == "" {
		v.RenewalSetting = "RENEW_WITH_SPECIFIC_TERM"
	}
	if e := oneOf(p+".renewalSetting", v.RenewalSetting, []string{"RENEW_WITH_SPECIFIC_TERM", "RENEW_TO_EVERGREEN"}); e != nil {
		return e
	}
	v.RenewalTerm, v.RenewalTermPeriodType = v.InitialTerm, v.InitialTermPeriodType
	if len(t.RenewalTerms) > 0 {
		rt := t.RenewalTerms[0]
		if rt.Period != nil {
			if *rt.Period < 1 {
				return errInvalid(p+".renewalTerms[0].period", "'period' must be a positive integer")
			}
			v.RenewalTerm = *rt.Period
		}
		if rt.PeriodType != "" {
			if e := oneOf(p+".renewalTerms[0].periodType", rt.PeriodType, termPeriodTypes); e != nil {
				return e
			}
			v.RenewalTermPeriodType = rt.PeriodType
		}
	}
	v.TermEndDate = addTerm(start, v.InitialTerm, v.InitialTermPeriodType)
	v.SubscriptionEndDate = v.TermEndDate
	return nil
}

// findRatePlan finds the rate plan an UpdateProduct/RemoveProduct names. Removed rate plans cannot be changed.
func (sg *stage) findRatePlan(v *subVersion, id, number, prpNumber, token, p string) (*subRatePlan, *apiError) {
	var rp *subRatePlan
	switch {
	case id != "":
		i := slices.IndexFunc(v.RatePlans, func(x *subRatePlan) bool { return x.ID == id })
		if i < 0 {
			return nil, errReferenceNotFound(p+".ratePlanId", id)
		}
		rp = v.RatePlans[i]
	case number != "":
		i := slices.IndexFunc(v.RatePlans, func(x *subRatePlan) bool { return x.Number == number })
		if i < 0 {
			return nil, errReferenceNotFound(p+".subscriptionRatePlanNumber", number)
		}
		rp = v.RatePlans[i]
	case prpNumber != "":
		pl := sg.st.cat.plansByNum[prpNumber]
		var hits []*subRatePlan
		for _, x := range v.RatePlans {
			if pl != nil && x.ProductRatePlanID == pl.ID && x.LastChangeType != changeRemove {
				hits = append(hits, x)
			}
		}
		switch len(hits) {
		case 0:
			return nil, errReferenceNotFound(p+".productRatePlanNumber", prpNumber)
		case 1:
			rp = hits[0]
		default:
			return nil, errRule(p+".productRatePlanNumber", "the subscription has %d rate plans of product rate plan '%s'; name one by ratePlanId", len(hits), prpNumber)
		}
	case token != "":
		rp = sg.tokens[token]
		if rp == nil || !slices.Contains(v.RatePlans, rp) {
			return nil, errReferenceNotFound(p+".uniqueToken", token)
		}
	default:
		return nil, errMissing(p + ".ratePlanId")
	}
	if rp.LastChangeType == changeRemove {
		return nil, errRule(p, "rate plan '%s' has been removed from subscription %s", rp.ID, v.Number)
	}
	return rp, nil
}

func (sg *stage) updateProduct(v *subVersion, act *actionIn, p, ce, sa, ca string) *apiError {
	u := act.UpdateProduct
	rp, e := sg.findRatePlan(v, u.RatePlanID, u.SubscriptionRatePlanNumber, u.ProductRatePlanNumber, u.UniqueToken, p)
	if e != nil {
		return e
	}
	if u.SpecificUpdateDate != "" && !validDate(u.SpecificUpdateDate) {
		return errInvalid(p+".specificUpdateDate", "'specificUpdateDate' must be a date in the format YYYY-MM-DD")
	}
	if len(u.ChargeUpdates) == 0 && len(u.CustomFields) == 0 {
		return errMissing(p + ".chargeUpdates")
	}
	if e := sg.st.validateCustomFieldMap("RatePlan", p+".customFields", u.CustomFields); e != nil {
		return e
	}
	mergeAnyCustomFields(rp.CustomFields, u.CustomFields)
	for i := range u.ChargeUpdates {
		cu := &u.ChargeUpdates[i]
		cp := fmt.Sprintf("%s.chargeUpdates[%d]", p, i)
		var c *subCharge
		for _, x := range rp.Charges {
			if (cu.ChargeNumber != "" && x.Number == cu.ChargeNumber) ||
				(cu.ChargeNumber == "" && cu.ProductRatePlanChargeID != "" && x.ProductRatePlanChargeID == cu.ProductRatePlanChargeID) {
				c = x
				break
			}
		}
		if c == nil {
			switch {
			case cu.ChargeNumber != "":
				return errReferenceNotFound(cp+".chargeNumber", cu.ChargeNumber)
			case cu.ProductRatePlanChargeID != "":
				return errReferenceNotFound(cp+".productRatePlanChargeId", cu.ProductRatePlanChargeID)
			}
			return errMissing(cp + ".chargeNumber")
		}
		if ed := cu.EffectiveDate; ed != nil && ed.TriggerEvent == "SpecificDate" && !validDate(ed.SpecificTriggerDate) {
			return errInvalid(cp+".effectiveDate.specificTriggerDate", "'specificTriggerDate' must be a date in the format YYYY-MM-DD")
		}
		if e := sg.st.validateCustomFieldMap("RatePlanCharge", cp+".customFields", cu.CustomFields); e != nil {
			return e
		}
		mergeAnyCustomFields(c.CustomFields, cu.CustomFields)
		if e := applyPricing(c, cu.Pricing, cp+".pricing"); e != nil {
			return e
		}
		if e := checkQuantity(c, cp); e != nil {
			return e
		}
		c.Segment++
		c.Version++
	}
	if !sg.added[rp] {
		rp.LastChangeType = changeUpdate
	}
	sg.newIDs[act] = rp.ID
	return nil
}

func (sg *stage) cancel(v *subVersion, cs *cancelIn, p, ce string) *apiError {
	var date string
	switch cs.CancellationPolicy {
	case "":
		return errMissing(p + ".cancellationPolicy")
	case "EndOfCurrentTerm":
		if v.TermType != termTermed {
			return errRule(p+".cancellationPolicy", "EndOfCurrentTerm is not valid for the evergreen subscription %s", v.Number)
		}
		date = v.TermEndDate
	case "EndOfLastInvoicePeriod":
		date = ce
		billed := ""
		for _, rp := range v.RatePlans {
			for _, c := range rp.Charges {
				billed = max(billed, c.ChargedThroughDate)
			}
		}
		if billed != "" {
			date = billed
		}
	case "SpecificDate":
		if cs.CancellationEffectiveDate == "" {
			return errMissing(p + ".cancellationEffectiveDate")
		}
		if !validDate(cs.CancellationEffectiveDate) {
			return errInvalid(p+".cancellationEffectiveDate", "'cancellationEffectiveDate' must be a date in the format YYYY-MM-DD")
		}
		date = cs.CancellationEffectiveDate
	default:
		return errInvalid(p+".cancellationPolicy", "'cancellationPolicy' must be one of EndOfCurrentTerm, EndOfLastInvoicePeriod, SpecificDate")
	}
	if date < v.ContractEffectiveDate {
		return errRule(p+".cancellationEffectiveDate", "the cancellation date %s is before the subscription's start %s", date, v.ContractEffectiveDate)
	}
	v.Status, v.CancelledDate, v.SubscriptionEndDate = subStatusCancelled, date, date
	for _, rp := range v.RatePlans {
		for _, c := range rp.Charges {
			if c.EffectiveEndDate == "" || date < c.EffectiveEndDate {
				c.EffectiveEndDate = max(date, c.EffectiveStartDate)
			}
		}
	}
	sg.cancelled[v.Number] = true
	return nil
}

// pendingRecords are the subscriptions[] of an order that has not run (Draft, Scheduled).
func (sg *stage) pendingRecords() []orderSubRecord {
	clear(sg.newIDs) // a dry run's rate plans are not the ones the order will make
	var out []orderSubRecord
	for i := range sg.in.Subscriptions {
		osub := &sg.in.Subscriptions[i]
		rec := orderSubRecord{Number: osub.SubscriptionNumber, CustomFields: osub.CustomFields, Notes: osub.Notes}
		if sub := sg.st.ord.subscription(osub.SubscriptionNumber); sub != nil {
			rec.Base = sub.latest().Version
		}
		for j := range osub.OrderActions {
			rec.Actions = append(rec.Actions, sg.renderAction(&osub.OrderActions[j], j+1))
		}
		out = append(out, rec)
	}
	return out
}

// renderAction is an order action as order reads show it (OrderAction): the request's action object, its
// resolved trigger dates, an id and its sequence; newRatePlanId on AddProduct/UpdateProduct.
func (sg *stage) renderAction(act *actionIn, sequence int) map[string]any {
	m := toMap(act)
	m["id"] = newID()
	m["sequence"] = sequence
	if act.Type != "CancelSubscription" {
		m["triggerDates"] = toMapList(sg.resolvedTriggerDates(act))
	}
	if id := sg.newIDs[act]; id != "" {
		if obj, ok := m[map[string]string{"AddProduct": "addProduct", "UpdateProduct": "updateProduct"}[act.Type]].(map[string]any); ok {
			obj["newRatePlanId"] = id
		}
	}
	fixRatePlanOverrides := func(rp any) {
		obj, _ := rp.(map[string]any)
		cos, _ := obj["chargeOverrides"].([]any)
		for _, co := range cos {
			if com, ok := co.(map[string]any); ok {
				// The spec's read schema (ChargeOverride) requires the member spelt "productRateplanChargeId";
				// both spellings are sent so that readers of either find it.
				com["productRateplanChargeId"] = com["productRatePlanChargeId"]
			}
		}
	}
	if cs, ok := m["createSubscription"].(map[string]any); ok {
		rps, _ := cs["subscribeToRatePlans"].([]any)
		if extra, ok := cs["subscribeToProducts"].([]any); ok {
			rps = append(rps, extra...)
			delete(cs, "subscribeToProducts")
			cs["subscribeToRatePlans"] = rps
		}
		for _, rp := range rps {
			fixRatePlanOverrides(rp)
		}
		if terms, ok := cs["terms"].(map[string]any); ok && terms["renewalTerms"] == nil {
			terms["renewalTerms"] = []any{} // required by the read schema
		}
	}
	fixRatePlanOverrides(m["addProduct"])
	if rm, ok := m["removeProduct"].(map[string]any); ok {
		delete(rm, "customFields") // the read schema types its values as objects
	}
	return m
}

func toMapList[T any](xs []T) []any {
	out := make([]any, 0, len(xs))
	for _, x := range xs {
		out = append(out, toMap(x))
	}
	return out
}
