package handlers

import (
	"strings"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// The bucket does not grow for ever: an entry whose period ended more than usageRetention ago is deleted once
// Zuora has its total — not while it is dirty, and not when a report changed it since it was seen clean — and
// Zuora's records are left as they are.
func TestUsageFlusherPrunesEntriesPastRetention(t *testing.T) {
	e := newUsageEnv(t)
	e.apiCallsSubscription("sub-clean", "cust-a")
	e.apiCallsSubscription("sub-refused", "cust-b")
	f := e.flusher()
	e.reportN("a", "sub-clean", 3, e.sim.Now(), "2")
	if st := e.flush(f); st.Written != 1 || st.Pruned != 0 {
		t.Fatalf("first round: %+v", st)
	}
	e.reportN("b", "sub-refused", 2, e.sim.Now(), "1")
	// Zuora keeps refusing it, also when the flusher tries again past FailureRetry.
	e.sim.InjectFault(zuorasim.Fault{Method: "POST", PathPrefix: "/v2/usage_records", Status: 400, StoreFailure: true,
		Probability: 1, Message: "refused for the test"})
	if st := e.flush(f); st.Failed != 1 {
		t.Fatalf("refused round: %+v", st)
	}
	writes := e.usageWrites()

	f.now = func() time.Time { return time.Now().Add(usageRetention + 40*24*time.Hour) }
	st := e.flush(f)
	if st.Pruned != 1 {
		t.Fatalf("round past retention: %+v, want the clean entry pruned", st)
	}
	left := e.entries()
	if len(left) != 1 {
		t.Fatalf("%d entries left, want the dirty one only", len(left))
	}
	for _, en := range left {
		if en.SubscriptionID != "sub-refused" || !en.dirty() {
			t.Fatalf("kept %+v, want the refused entry", en)
		}
	}
	if recs := e.records("stigg-sub-clean"); len(recs) != 1 || recs[0].Quantity != "6" {
		t.Fatalf("Zuora's records changed: %+v", recs)
	}
	if n := e.usageWrites(); n != writes+1 {
		t.Fatalf("%d usage writes in the pruning round, want only the refused entry's retry", n-writes)
	}
}

// A report for a period that ended longer ago than the retention is refused with the reason, as permanent: its
// entry may be gone, and counting it into a fresh one could write Zuora a smaller total.
func TestUsageHandlerRefusesAPeriodPastRetention(t *testing.T) {
	e := newUsageEnv(t)
	e.apiCallsSubscription("sub-u", "cust-u")
	at := e.sim.Now()
	if _, err := e.report("in-time", "sub-u", apiCalls, at, events.UpdateDelta, "1"); err != nil {
		t.Fatal(err)
	}
	e.usage.now = func() time.Time { return time.Now().Add(usageRetention + 40*24*time.Hour) }
	_, err := e.report("too-late", "sub-u", apiCalls, at.Add(time.Second), events.UpdateDelta, "1")
	if c, _ := dispatch.Classify(err); c != dispatch.ClassPermanent || !strings.Contains(err.Error(), "ended more than 90 days ago") {
		t.Fatalf("a report for an expired period: %v (%v), want a permanent refusal naming the retention", c, err)
	}
}
