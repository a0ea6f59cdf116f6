package handlers

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// annualPro is an annual Pro subscription: a year-long term, so the simulator's clock can pass a scheduled
// change's date (the first of next month) well inside the term.
func annualPro(id string) *events.Subscription {
	s := proSub(id, "cust-1")
	s.BillingPeriod, s.Addons, s.PriceOverrides = events.BillingPeriodAnnually, nil, nil
	return s
}

// scheduleDowngrade creates the subscription and schedules a downgrade to 3 seats for the first of next month.
func scheduleDowngrade(t *testing.T, e *subsEnv, sub *events.Subscription) string {
	t.Helper()
	e.syncCustomer("cust-1")
	if _, err := e.handle(events.TypeStiggSubscriptionCreated, &events.SubscriptionCreated{Subscription: *sub}, "cust-1"); err != nil {
		t.Fatal(err)
	}
	down := *sub
	down.Units = []events.FeatureQuantity{{FeatureID: "feature-seats", Quantity: 3}}
	out, err := e.handle(events.TypeStiggSubscriptionUpdated, &events.SubscriptionUpdated{Subscription: down,
		ScheduleStrategy: events.ScheduleEndOfBillingMonth}, "cust-1")
	if err != nil || out.Action != actionScheduled {
		t.Fatalf("scheduled downgrade: %+v %v", out, err)
	}
	return out.Zuora[events.ZuoraOrderNumber]
}

// runScheduledBeforeCancel makes Zuora's clock reach the scheduled date after the handler listed the pending
// orders and before its cancellation arrives: the order completes in between.
func runScheduledBeforeCancel(e *subsEnv) {
	var once sync.Once
	e.onRequest(func(w http.ResponseWriter, r *http.Request, sim http.Handler) {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/cancel") {
			once.Do(func() {
				now := e.sim.Now()
				next := time.Date(now.Year(), now.Month()+1, 1, 1, 0, 0, 0, time.UTC)
				e.sim.Advance(next.Sub(now))
			})
		}
		sim.ServeHTTP(w, r)
	})
}

func (e *subsEnv) orderStatus(number string) string {
	e.t.Helper()
	o, err := e.deps.Zuora.GetOrder(e.ctx(), number)
	if err != nil {
		e.t.Fatal(err)
	}
	return o.Status
}

func seats(s *zuoraapi.SubscriptionV1) string {
	for _, rp := range s.CurrentRatePlans() {
		for _, c := range rp.RatePlanCharges {
			if c.Quantity != nil {
				return c.Quantity.String()
			}
		}
	}
	return ""
}

// A scheduled order that executes between listing and cancelling it is no reason to dead-letter: the handler
// reads the subscription again, now with that change, and applies the newer one on top.
func TestImmediateChangeAfterScheduledOrderRanMeanwhile(t *testing.T) {
	e := newSubsEnv(t)
	sub := annualPro("sub-race")
	scheduled := scheduleDowngrade(t, e, sub)
	runScheduledBeforeCancel(e)
	up := *sub
	up.Units = []events.FeatureQuantity{{FeatureID: "feature-seats", Quantity: 7}}
	out, err := e.handle(events.TypeStiggSubscriptionUpdated, &events.SubscriptionUpdated{Subscription: up,
		ScheduleStrategy: events.ScheduleImmediate}, "cust-1")
	if err != nil || out.Action != actionUpdated {
		t.Fatalf("update: %+v %v; want it applied on top of the scheduled change that ran", out, err)
	}
	if st := e.orderStatus(scheduled); st != zuoraapi.OrderStatusCompleted {
		t.Fatalf("scheduled order %s is %s; the test wants it to have run", scheduled, st)
	}
	if q := seats(e.subscription("stigg-sub-race")); q != "7" {
		t.Fatalf("seats %s, want 7", q)
	}
}

// The same for a cancellation: it supersedes the change that ran, and the subscription is cancelled.
func TestCancellationAfterScheduledOrderRanMeanwhile(t *testing.T) {
	e := newSubsEnv(t)
	sub := annualPro("sub-race-cancel")
	scheduleDowngrade(t, e, sub)
	runScheduledBeforeCancel(e)
	out, err := e.handle(events.TypeStiggSubscriptionCanceled, &events.SubscriptionCanceled{SubscriptionID: sub.SubscriptionID,
		CustomerID: "cust-1", CancellationTime: events.CancelImmediate}, "cust-1")
	if err != nil || out.Action != actionCancelled {
		t.Fatalf("cancel: %+v %v", out, err)
	}
	if s := e.subscription("stigg-sub-race-cancel"); s.Status != zuoraapi.SubscriptionStatusCancelled {
		t.Fatalf("status %s", s.Status)
	}
}

// And for a newer scheduled change: it is scheduled on top of the one that ran, and is the only one pending.
func TestScheduledChangeAfterScheduledOrderRanMeanwhile(t *testing.T) {
	e := newSubsEnv(t)
	sub := annualPro("sub-race-again")
	first := scheduleDowngrade(t, e, sub)
	runScheduledBeforeCancel(e)
	later := *sub
	later.Units = []events.FeatureQuantity{{FeatureID: "feature-seats", Quantity: 2}}
	out, err := e.handle(events.TypeStiggSubscriptionUpdated, &events.SubscriptionUpdated{Subscription: later,
		ScheduleStrategy: events.ScheduleEndOfBillingMonth}, "cust-1")
	if err != nil || out.Action != actionScheduled {
		t.Fatalf("schedule: %+v %v", out, err)
	}
	if st := e.orderStatus(first); st != zuoraapi.OrderStatusCompleted {
		t.Fatalf("first scheduled order is %s, want Completed", st)
	}
	pending, _, err := e.subs.ordersByStatus(e.ctx(), "stigg-sub-race-again")
	if err != nil || len(pending) != 1 || pending[0] != out.Zuora[events.ZuoraOrderNumber] {
		t.Fatalf("pending %v %v, want only %s", pending, err, out.Zuora[events.ZuoraOrderNumber])
	}
	if q := seats(e.subscription("stigg-sub-race-again")); q != "3" {
		t.Fatalf("seats %s, want 3 (the change that ran) until the new date", q)
	}
}

// An order Zuora is still executing when the cancellation arrives has not settled: the event is retried shortly
// (transient, not dead-lettered), and the retry finds the change done and applies the newer one on top.
func TestChangeRetriedWhileScheduledOrderExecutes(t *testing.T) {
	e := newSubsEnv(t)
	sub := annualPro("sub-executing")
	scheduled := scheduleDowngrade(t, e, sub)
	runScheduledBeforeCancel(e)
	advance := e.intercept
	// Zuora reports the order it refused to cancel as Executing: caught mid-run.
	e.onRequest(func(w http.ResponseWriter, r *http.Request, sim http.Handler) {
		if r.Method != http.MethodGet || r.URL.Path != "/v1/orders/"+scheduled {
			advance(w, r, sim)
			return
		}
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, r)
		body := strings.Replace(rec.Body.String(), `"status":"Completed"`, `"status":"Executing"`, 1)
		maps.Copy(w.Header(), rec.Header())
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write([]byte(body))
	})
	up := *sub
	up.Units = []events.FeatureQuantity{{FeatureID: "feature-seats", Quantity: 7}}
	ev := &events.SubscriptionUpdated{Subscription: up, ScheduleStrategy: events.ScheduleImmediate}
	_, err := e.handle(events.TypeStiggSubscriptionUpdated, ev, "cust-1")
	if class, delay := dispatch.Classify(err); class != dispatch.ClassTransient || delay != settleDelay {
		t.Fatalf("while the order executes: %v (%s, %s), want a transient retry after %s", err, class, delay, settleDelay)
	}
	e.onRequest(nil)
	out, err := e.handle(events.TypeStiggSubscriptionUpdated, ev, "cust-1")
	if err != nil || out.Action != actionUpdated || seats(e.subscription("stigg-sub-executing")) != "7" {
		t.Fatalf("retry: %+v %v", out, err)
	}
}
