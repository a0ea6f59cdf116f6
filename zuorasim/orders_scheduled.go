package zuorasim

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Scheduled orders, run by the simulator clock, and PUT /v1/orders/{orderNumber}/cancel (a Draft or Scheduled
// order). The clock's other work, processing the usage records of ended billing periods (usage.go), runs here
// too, interleaved with the scheduled orders.

// runDueOrders does what the simulator clock has made due (see runDueOrdersLocked). Advance calls it after
// moving the clock; it takes the store lock itself.
func (s *Sim) runDueOrders() {
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	s.runDueOrdersLocked(st)
}

// runDueOrdersLocked is the one place where the simulator clock acts: it applies the Scheduled orders whose
// scheduled date the clock has reached, oldest date first (then in creation order), each as of its scheduled
// date, and processes the pending usage records whose billing period has ended (processDueUsage): before each
// order those of the periods ended by its scheduled date, at the end those of the periods ended by today. It
// runs inside Advance and at the start of the order, subscription and usage endpoints (which therefore hold the
// store for writing), so no background timer is needed. An order that no longer applies (e.g. its subscription
// was cancelled meanwhile) becomes Failed, as Zuora marks a scheduled order it cannot execute. Caller holds st.mu
// for writing.
func (s *Sim) runDueOrdersLocked(st *store) {
	for _, o := range st.ord.dueOrders(s.today()) {
		s.processDueUsage(st, o.Scheduling.ScheduledDate)
		s.executeScheduled(st, o)
	}
	s.processDueUsage(st, s.today())
}

func (s *Sim) executeScheduled(st *store, o *order) {
	at := s.Now()
	a := st.accountsByID[o.AccountID]
	sg := st.newStage(o.in, a, o.Scheduling.ScheduledDate, at.Format(time.RFC3339))
	e := sg.run()
	if e == nil {
		e = sg.checkProcessing()
	}
	o.updated = at
	if e != nil {
		o.Status = orderFailed
		o.activation = map[string]any{"success": false, "processId": newProcessID(),
			"reasons": []map[string]any{{"code": strconv.Itoa(e.v1Code()), "message": e.message}}}
		st.notify(at, "order.scheduled_failed", map[string]string{"OrderNumber": o.Number,
			"AccountNumber": o.AccountNumber, "Reason": e.message})
		return
	}
	res := sg.commit(o, at)
	o.Status = orderCompleted
	o.activation = orderResponseBody(o, a, res, responseForm{newSubsForm: true})
	var numbers []string
	for _, v := range res.subs {
		numbers = append(numbers, v.Number)
	}
	st.notify(at, "order.scheduled_completed", map[string]string{"OrderNumber": o.Number,
		"AccountNumber": o.AccountNumber, "ScheduledDate": o.Scheduling.ScheduledDate,
		"SubscriptionNumbers": strings.Join(numbers, ","), "Status": o.Status})
}

func (s *Sim) cancelOrder(r *http.Request, st *store) (reply, *apiError) {
	s.runDueOrdersLocked(st)
	var in struct {
		CancelReason string `json:"cancelReason"`
	}
	if e := decodeV1Body(r, &in); e != nil {
		return reply{}, e
	}
	o := st.ord.order(r.PathValue("order_number"))
	if o == nil {
		return reply{}, errNotFound("order", r.PathValue("order_number"))
	}
	if o.Status != orderDraft && o.Status != orderScheduled {
		return reply{}, errRule("orderNumber", "order %s is %s: only draft or scheduled orders can be cancelled", o.Number, o.Status)
	}
	o.Status, o.CancelReason, o.updated = orderCancelled, in.CancelReason, s.Now()
	st.notify(s.Now(), "order.cancelled", map[string]string{"OrderNumber": o.Number, "AccountNumber": o.AccountNumber})
	resp := map[string]any{"success": true, "orderNumber": o.Number, "accountNumber": o.AccountNumber,
		"status": orderCancelled}
	if in.CancelReason != "" {
		resp["cancelReason"] = in.CancelReason
	}
	return replyOK(resp), nil
}
