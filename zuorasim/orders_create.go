package zuorasim

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// POST /v1/orders: the order-level validation, the three ways an order is stored (Draft, Scheduled, applied at
// once) and the response.

// responseForm is how the create-order response is shaped.
type responseForm struct {
	returnIDs   bool
	newSubsForm bool // Zuora-Version >= 223.0
}

func formOf(r *http.Request) responseForm {
	v, _ := strconv.ParseFloat(strings.TrimSpace(r.Header.Get("Zuora-Version")), 64)
	return responseForm{returnIDs: r.URL.Query().Get("returnIds") == "true", newSubsForm: v >= 223}
}

func (s *Sim) createOrder(r *http.Request, st *store) (reply, *apiError) {
	s.runDueOrdersLocked(st)
	var in orderIn
	if e := decodeV1Body(r, &in); e != nil {
		return reply{}, e
	}
	resp, e := s.placeOrder(st, &in, formOf(r))
	if e != nil {
		return reply{}, e
	}
	return replyOK(resp), nil
}

// placeOrder validates and stores (and, unless Draft or Scheduled, applies) an order. Caller holds st.mu for
// writing.
func (s *Sim) placeOrder(st *store, in *orderIn, form responseForm) (map[string]any, *apiError) {
	today := s.today()
	a, e := st.validateOrderHead(in, today, false)
	if e != nil {
		return nil, e
	}
	status := in.Status
	if status == "" {
		status = orderCompleted
	}
	o := &order{ID: newID(), OrderDate: *in.OrderDate, AccountID: a.ID, AccountNumber: a.AccountNumber,
		Currency: a.Currency, Status: status, Description: in.Description, Category: in.Category,
		ReasonCode: in.ReasonCode, CustomFields: in.CustomFields, Scheduling: in.SchedulingOptions, in: in,
		created: s.Now(), updated: s.Now()}
	if o.Category == "" {
		o.Category = "NewSales"
	}
	sg := st.newStage(in, a, today, s.timestamp())
	if status == orderDraft {
		// Drafts are stored as given; Zuora validates them when they are activated.
		o.Number = sg.orderNumber()
		o.subs = sg.pendingRecords()
		sg.keepNumbers()
		st.ord.addOrder(o)
		return orderResponseBody(o, a, nil, form), nil
	}
	if status == orderScheduled {
		for _, sub := range in.Subscriptions {
			for _, act := range sub.OrderActions {
				if act.Type == "CreateSubscription" {
					return nil, errRule("status", "a Scheduled order cannot create a subscription")
				}
			}
		}
	}
	if e := sg.run(); e != nil {
		return nil, e
	}
	if e := sg.checkProcessing(); e != nil {
		return nil, e
	}
	if status == orderScheduled {
		o.Number = sg.orderNumber()
		sg.keepOrderNumber() // the dry run's other numbers are not used: only the order number is taken
		o.subs = sg.pendingRecords()
		st.ord.addOrder(o)
		st.notify(s.Now(), "order.scheduled", map[string]string{"OrderNumber": o.Number,
			"AccountNumber": a.AccountNumber, "ScheduledDate": in.SchedulingOptions.ScheduledDate})
		return orderResponseBody(o, a, nil, form), nil
	}
	o.Number = sg.orderNumber()
	res := sg.commit(o, s.Now())
	st.ord.addOrder(o)
	return orderResponseBody(o, a, res, form), nil
}

// validateOrderHead checks the order-level members and returns the invoice owner account (a stand-in account
// for a preview with previewAccountInfo). Caller holds st.mu.
func (st *store) validateOrderHead(in *orderIn, today string, preview bool) (*Account, *apiError) {
	if in.OrderDate == nil || *in.OrderDate == "" {
		return nil, errMissing("orderDate")
	}
	if !validDate(*in.OrderDate) {
		return nil, errInvalid("orderDate", "'orderDate' must be a date in the format YYYY-MM-DD")
	}
	if len(in.NewAccount) > 0 && string(in.NewAccount) != "null" {
		return nil, errInvalid("newAccount", "zuorasim does not simulate creating an account in an order; use existingAccountNumber")
	}
	if len(in.OrderLineItems) > 0 {
		return nil, errInvalid("orderLineItems", "zuorasim does not simulate order line items")
	}
	if in.Category != "" {
		if e := oneOf("category", in.Category, []string{"NewSales", "Return"}); e != nil {
			return nil, e
		}
	}
	var a *Account
	switch {
	case in.ExistingAccountNumber != "":
		if a = st.accountsByNum[in.ExistingAccountNumber]; a == nil {
			return nil, errReferenceNotFound("existingAccountNumber", in.ExistingAccountNumber)
		}
	case in.ExistingAccountID != "":
		if a = st.accountsByID[in.ExistingAccountID]; a == nil {
			return nil, errReferenceNotFound("existingAccountId", in.ExistingAccountID)
		}
	case preview && in.PreviewAccountInfo != nil:
		pa := in.PreviewAccountInfo
		if pa.Currency == "" {
			return nil, errMissing("previewAccountInfo.currency")
		}
		if pa.BillCycleDay == nil {
			return nil, errMissing("previewAccountInfo.billCycleDay")
		}
		if *pa.BillCycleDay < 0 || *pa.BillCycleDay > 31 {
			return nil, errInvalid("previewAccountInfo.billCycleDay", "'billCycleDay' must be between 0 and 31")
		}
		cur := strings.ToUpper(pa.Currency)
		if !st.currencyEnabled(cur) {
			return nil, errInvalid("previewAccountInfo.currency", "currency '%s' is not enabled in the tenant", pa.Currency)
		}
		a = &Account{Currency: cur, BillCycleDay: *pa.BillCycleDay, CustomFields: map[string]string{}}
	case preview:
		return nil, errMissing("existingAccountNumber")
	default:
		return nil, errMissing("existingAccountNumber")
	}
	if in.OrderNumber != "" {
		if len(in.OrderNumber) > 100 {
			return nil, errInvalid("orderNumber", "'orderNumber' must be at most 100 characters")
		}
		if !preview && st.ord.order(in.OrderNumber) != nil {
			return nil, errRule("orderNumber", "an order with number '%s' already exists", in.OrderNumber)
		}
	}
	if e := st.validateCustomFieldMap("Order", "customFields", in.CustomFields); e != nil {
		return nil, e
	}
	if len(in.Subscriptions) == 0 {
		return nil, errMissing("subscriptions")
	}
	if preview {
		return a, nil
	}
	switch in.Status {
	case "", orderCompleted, orderDraft:
	case orderScheduled:
		so := in.SchedulingOptions
		if so == nil || so.ScheduledDate == "" {
			return nil, errMissing("schedulingOptions.scheduledDate")
		}
		if !validDate(so.ScheduledDate) {
			return nil, errInvalid("schedulingOptions.scheduledDate", "'scheduledDate' must be a date in the format YYYY-MM-DD")
		}
		if so.ScheduledDatePolicy != "" && so.ScheduledDatePolicy != "SpecificDate" {
			return nil, errInvalid("schedulingOptions.scheduledDatePolicy", "'scheduledDatePolicy' must be SpecificDate")
		}
		if so.ScheduledDate <= today {
			return nil, errRule("schedulingOptions.scheduledDate", "'scheduledDate' must be after today (%s)", today)
		}
	case "Pending", "Executing", "Failed":
		return nil, errInvalid("status", "an order cannot be created with status %s", in.Status)
	default:
		return nil, errInvalid("status", "'status' must be one of Draft, Pending, Completed, Scheduled, Executing, Failed")
	}
	if in.SchedulingOptions != nil && in.Status != orderScheduled {
		return nil, errInvalid("schedulingOptions", "'schedulingOptions' is only valid with status Scheduled")
	}
	if p := in.ProcessingOptions; p != nil {
		if in.Status == orderDraft {
			return nil, errInvalid("processingOptions", "'processingOptions' is not supported on draft orders")
		}
		if isTrue(p.Refund) {
			return nil, errInvalid("processingOptions.refund", "zuorasim does not simulate refunds")
		}
		if isTrue(p.CollectPayment) && !isTrue(p.RunBilling) {
			return nil, errInvalid("processingOptions.collectPayment", "'collectPayment' can only be true when 'runBilling' is true")
		}
		if bo := p.BillingOptions; bo != nil && bo.TargetDate != "" && !validDate(bo.TargetDate) {
			return nil, errInvalid("processingOptions.billingOptions.targetDate", "'targetDate' must be a date in the format YYYY-MM-DD")
		}
	}
	return a, nil
}

func isTrue(b *bool) bool { return b != nil && *b }

// validateCustomFieldMap checks a V1 customFields container against the fields object defines. Values must be
// strings (or null).
func (st *store) validateCustomFieldMap(object, param string, m map[string]any) *apiError {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !st.customFieldDefined(object, k) {
			return errUnknownParam(param + "." + k)
		}
		switch v := m[k].(type) {
		case nil:
		case string:
			if len(v) > 255 {
				return errInvalid(param+"."+k, "'%s.%s' must be at most 255 characters", param, k)
			}
		default:
			return errInvalid(param+"."+k, "'%s.%s' must be a string", param, k)
		}
	}
	return nil
}

func mergeAnyCustomFields(dst map[string]string, src map[string]any) {
	for k, v := range src {
		if s, ok := v.(string); ok {
			dst[k] = s
		} else {
			delete(dst, k)
		}
	}
}

// orderResponseBody is the POST /v1/orders answer.
func orderResponseBody(o *order, a *Account, res *orderResult, form responseForm) map[string]any {
	m := map[string]any{"success": true, "orderNumber": o.Number, "accountNumber": a.AccountNumber, "status": o.Status}
	var numbers, ids []string
	var subs []map[string]any
	if res != nil {
		for _, v := range res.subs {
			numbers, ids = append(numbers, v.Number), append(ids, v.ID)
			s := map[string]any{"subscriptionNumber": v.Number, "status": v.Status}
			if form.returnIDs {
				s["subscriptionId"] = v.ID
			}
			subs = append(subs, s)
		}
	} else {
		for _, rec := range o.subs {
			if rec.Number != "" && !slices.Contains(numbers, rec.Number) {
				numbers = append(numbers, rec.Number)
				subs = append(subs, map[string]any{"subscriptionNumber": rec.Number})
			}
		}
	}
	if form.newSubsForm {
		if len(subs) > 0 {
			m["subscriptions"] = subs
		}
	} else if len(numbers) > 0 {
		m["subscriptionNumbers"] = numbers
	}
	if form.returnIDs {
		m["orderId"], m["accountId"] = o.ID, a.ID
		if len(ids) > 0 {
			m["subscriptionIds"] = ids
		}
	}
	if res == nil {
		return m
	}
	if len(res.invoices) > 0 {
		var nums, iids []string
		for _, inv := range res.invoices {
			nums, iids = append(nums, inv.Number), append(iids, inv.ID)
		}
		m["invoiceNumbers"] = nums
		if form.returnIDs {
			m["invoiceIds"] = iids
		}
	}
	if res.payment != nil {
		// The spec types paidAmount as a string of 9 to 22 characters: a decimal(22,9), as Zuora writes it.
		m["paymentNumber"], m["paidAmount"] = res.payment.Number, strconv.FormatFloat(res.payment.Amount, 'f', 9, 64)
		if form.returnIDs {
			m["paymentId"] = res.payment.ID
		}
	}
	if len(res.writeOff) > 0 {
		m["writeOff"] = res.writeOff
		var nums, mids []string
		for _, cm := range res.memos {
			nums, mids = append(nums, cm.Number), append(mids, cm.ID)
		}
		m["creditMemoNumbers"] = nums
		if form.returnIDs {
			m["creditMemoIds"] = mids
		}
	}
	return m
}
