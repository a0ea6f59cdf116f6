package zuorasim

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Order reads: GET /v1/orders/{orderNumber} and GET /v1/orders/subscription/{subscriptionNumber}.

// V1Order is an order as GET /v1/orders/{orderNumber} returns it ("Order"; createdDate/updatedDate are
// "YYYY-MM-DD HH:MM:SS" as in Zuora's examples).
type V1Order struct {
	OrderNumber                      string                `json:"orderNumber"`
	OrderDate                        string                `json:"orderDate"`
	Status                           string                `json:"status"`
	Description                      string                `json:"description,omitempty"`
	Category                         string                `json:"category"`
	ReasonCode                       string                `json:"reasonCode,omitempty"`
	Currency                         string                `json:"currency"`
	ExistingAccountNumber            string                `json:"existingAccountNumber"`
	CreatedBy                        string                `json:"createdBy"`
	CreatedDate                      string                `json:"createdDate"`
	UpdatedBy                        string                `json:"updatedBy"`
	UpdatedDate                      string                `json:"updatedDate"`
	CustomFields                     map[string]any        `json:"customFields"`
	SchedulingOptions                *schedulingIn         `json:"schedulingOptions,omitempty"`
	ScheduledOrderActivationResponse map[string]any        `json:"scheduledOrderActivationResponse,omitempty"`
	CancelReason                     string                `json:"cancelReason,omitempty"`
	Subscriptions                    []V1OrderSubscription `json:"subscriptions"`
}

// V1OrderSubscription is one subscriptions[] entry of an order read.
type V1OrderSubscription struct {
	SubscriptionNumber string           `json:"subscriptionNumber"`
	BaseVersion        *int             `json:"baseVersion,omitempty"`
	NewVersion         *int             `json:"newVersion,omitempty"`
	Sequence           int              `json:"sequence"`
	CustomFields       map[string]any   `json:"customFields"`
	Notes              string           `json:"notes,omitempty"`
	OrderActions       []map[string]any `json:"orderActions"`
}

const orderTimeLayout = "2006-01-02 15:04:05"

func (o *order) view() V1Order {
	out := V1Order{OrderNumber: o.Number, OrderDate: o.OrderDate, Status: o.Status, Description: o.Description,
		Category: o.Category, ReasonCode: o.ReasonCode, Currency: o.Currency, ExistingAccountNumber: o.AccountNumber,
		CreatedBy: simUserID, CreatedDate: o.created.Format(orderTimeLayout), UpdatedBy: simUserID,
		UpdatedDate: o.updated.Format(orderTimeLayout), CustomFields: maps.Clone(o.CustomFields),
		SchedulingOptions: o.Scheduling, ScheduledOrderActivationResponse: o.activation, CancelReason: o.CancelReason,
		Subscriptions: []V1OrderSubscription{}}
	if out.CustomFields == nil {
		out.CustomFields = map[string]any{}
	}
	if out.SchedulingOptions != nil && out.SchedulingOptions.ScheduledDatePolicy == "" {
		so := *out.SchedulingOptions
		so.ScheduledDatePolicy = "SpecificDate"
		out.SchedulingOptions = &so
	}
	for i, rec := range o.subs {
		vs := V1OrderSubscription{SubscriptionNumber: rec.Number, Sequence: i + 1, CustomFields: maps.Clone(rec.CustomFields),
			Notes: rec.Notes, OrderActions: rec.Actions}
		if vs.CustomFields == nil {
			vs.CustomFields = map[string]any{}
		}
		if vs.OrderActions == nil {
			vs.OrderActions = []map[string]any{}
		}
		if rec.New > 0 {
			b, n := rec.Base, rec.New
			vs.BaseVersion, vs.NewVersion = &b, &n
		} else if rec.Base > 0 {
			b := rec.Base
			vs.BaseVersion = &b
		}
		out.Subscriptions = append(out.Subscriptions, vs)
	}
	return out
}

func (s *Sim) getOrder(r *http.Request, st *store) (reply, *apiError) {
	s.runDueOrdersLocked(st)
	o := st.ord.order(r.PathValue("order_number"))
	if o == nil {
		return reply{}, errNotFound("order", r.PathValue("order_number"))
	}
	return replyOK(map[string]any{"success": true, "order": o.view()}), nil
}

// order list paging: pageSize defaults to 20 and may not exceed 40 (the operation's parameters).
const (
	ordersDefaultPageSize = 20
	ordersMaxPageSize     = 40
)

var orderStatusFilter = map[string]string{"cancelled": orderCancelled, "completed": orderCompleted, "draft": orderDraft,
	"executing": "Executing", "failed": orderFailed, "pending": "Pending", "scheduled": orderScheduled}

func (s *Sim) listSubscriptionOrders(r *http.Request, st *store) (reply, *apiError) {
	s.runDueOrdersLocked(st)
	q := r.URL.Query()
	pageNo, pageSize, e := v1Paging(r, ordersDefaultPageSize, ordersMaxPageSize)
	if e != nil {
		return reply{}, e
	}
	status := ""
	if v := strings.ToLower(q.Get("status")); v != "" && v != "all" {
		want, ok := orderStatusFilter[v]
		if !ok {
			return reply{}, invalidQuery("status", "'status' must be one of all, cancelled, completed, draft, executing, failed, pending, scheduled")
		}
		status = want
	}
	dateField := q.Get("dateFilterOption")
	if dateField != "" && dateField != "orderDate" && dateField != "updatedDate" {
		return reply{}, invalidQuery("dateFilterOption", "'dateFilterOption' must be orderDate or updatedDate")
	}
	start, end := q.Get("startDate"), q.Get("endDate")
	for _, d := range []struct{ name, v string }{{"startDate", start}, {"endDate", end}} {
		if d.v != "" && !validDate(d.v) {
			return reply{}, invalidQuery(d.name, fmt.Sprintf("'%s' must be a date in the format YYYY-MM-DD", d.name))
		}
	}
	number := r.PathValue("subscription_number")
	if st.ord.subscription(number) == nil {
		return reply{}, errNotFound("subscription", number)
	}
	var matched []*order
	for _, o := range st.ord.ordersOf(number) {
		if status != "" && o.Status != status {
			continue
		}
		day := o.OrderDate
		if dateField == "updatedDate" {
			day = o.updated.Format(dateLayout)
		}
		if (start != "" && day < start) || (end != "" && day > end) {
			continue
		}
		matched = append(matched, o)
	}
	resp := map[string]any{"success": true}
	orders := []V1Order{}
	from := (pageNo - 1) * pageSize
	for i := from; i < len(matched) && i < from+pageSize; i++ {
		orders = append(orders, matched[i].view())
	}
	resp["orders"] = orders
	if from+pageSize < len(matched) {
		next := url.Values{"page": {strconv.Itoa(pageNo + 1)}, "pageSize": {strconv.Itoa(pageSize)}}
		for _, k := range []string{"status", "dateFilterOption", "startDate", "endDate"} {
			if v := q.Get(k); v != "" {
				next.Set(k, v)
			}
		}
		resp["nextPage"] = "/v1/orders/subscription/" + url.PathEscape(number) + "?" + next.Encode()
	}
	return replyOK(resp), nil
}
