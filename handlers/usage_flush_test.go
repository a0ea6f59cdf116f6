package handlers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

func (e *usageEnv) flusher() *UsageFlusher {
	return NewUsageFlusher(e.deps, UsageFlushConfig{Interval: 50 * time.Millisecond})
}

// flush runs one round and fails the test on a round-level error.
func (e *usageEnv) flush(f *UsageFlusher) UsageFlushStats {
	e.t.Helper()
	st, err := f.Flush(e.ctx())
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// usageWrites counts the usage writes Zuora received (creates, patches, deletes).
func (e *usageEnv) usageWrites() int {
	n := 0
	for _, r := range e.sim.Requests() {
		if r.Method != "GET" && strings.HasPrefix(r.Path, "/v2/usage_records") {
			n++
		}
	}
	return n
}

// records are the usage records of a subscription, oldest first.
func (e *usageEnv) records(number string) []zuorasim.UsageRecord {
	var out []zuorasim.UsageRecord
	for _, r := range e.sim.UsageRecords() {
		if r.SubscriptionNumber == number {
			out = append(out, r)
		}
	}
	return out
}

func (e *usageEnv) reportN(prefix, subID string, n int, at time.Time, value string) {
	e.t.Helper()
	for i := range n {
		if _, err := e.report(fmt.Sprintf("%s-%d", prefix, i), subID, apiCalls, at.Add(time.Duration(i)*time.Millisecond), events.UpdateDelta, value); err != nil {
			e.t.Fatal(err)
		}
	}
}

func TestUsageFlusherCoalescesWrites(t *testing.T) {
	e := newUsageEnv(t)
	e.apiCallsSubscription("sub-u", "cust-u")
	f := e.flusher()
	now := e.sim.Now()
	e.reportN("a", "sub-u", 50, now, "1.5")
	if st := e.flush(f); st.Writes != 1 || st.Written != 1 {
		t.Fatalf("first round: %+v, want one create", st)
	}
	e.reportN("b", "sub-u", 50, now.Add(time.Minute), "0.25")
	if st := e.flush(f); st.Writes != 1 {
		t.Fatalf("second round: %+v, want one patch", st)
	}
	if st := e.flush(f); st.Writes != 0 || st.Examined != 0 {
		t.Fatalf("a round with nothing new: %+v, want no reads and no writes", st)
	}
	recs := e.records("stigg-sub-u")
	if len(recs) != 1 || recs[0].Quantity != "87.5" || recs[0].State != "pending" || e.usageWrites() != 2 {
		t.Fatalf("records %+v after %d writes, want one pending record of 87.5 after 2", recs, e.usageWrites())
	}
	en := e.entries()[usageKey("sub-u", apiCalls, zuoraapi.FormatDate(now))]
	if en.Written == nil || en.Written.String() != "87.5" || en.RecordID != recs[0].ID || en.Claim != nil {
		t.Fatalf("entry after the flush: written %v record %s claim %+v", en.Written, en.RecordID, en.Claim)
	}
	// A SET lower than what Zuora has is written as the new absolute quantity.
	e.report("s", "sub-u", apiCalls, now.Add(2*time.Minute), events.UpdateSet, "3")
	e.flush(f)
	if recs = e.records("stigg-sub-u"); len(recs) != 1 || recs[0].Quantity != "3" {
		t.Fatalf("after a SET: %+v", recs)
	}
}

// A period Zuora processed is never changed: usage counted for it afterwards goes to a record of the open period,
// and usage of the new period to its own entry and record.
func TestUsageFlusherLeavesAProcessedPeriodAlone(t *testing.T) {
	e := newUsageEnv(t)
	number := e.yearSubscription("sub-y", "cust-u")
	f := e.flusher()
	t0 := e.sim.Now()
	e.reportN("p1", "sub-y", 4, t0, "2.5")
	e.flush(f)
	e.sim.Advance(32 * 24 * time.Hour) // past the end of the first month: Zuora processes its usage
	recs := e.records(number)
	if len(recs) != 1 || recs[0].State != "processed" || recs[0].Quantity != "10" {
		t.Fatalf("after the period ended: %+v", recs)
	}
	processed := recs[0]
	e.reportN("late", "sub-y", 2, t0.Add(time.Hour), "1") // reported late, for the processed period
	e.reportN("p2", "sub-y", 3, e.sim.Now(), "4")         // the new period
	e.flush(f)
	recs = e.records(number)
	if len(recs) != 3 {
		t.Fatalf("records %+v, want the processed one and two new", recs)
	}
	if r := recs[0]; r.ID != processed.ID || r.Quantity != processed.Quantity || r.State != processed.State ||
		r.StartTime != processed.StartTime || r.UpdatedTime != processed.UpdatedTime {
		t.Fatalf("the processed record changed: %+v → %+v", processed, recs[0])
	}
	p2 := addCalendarMonths(t0, 1).Format(time.DateOnly) + "T00:00:00Z"
	got := map[string]string{}
	for _, r := range recs[1:] {
		if r.State != "pending" || r.StartTime != p2 {
			t.Fatalf("new record %+v, want pending from %s", r, p2)
		}
		got[r.Description] = r.Quantity.String()
	}
	late := usageDescription(usageKey("sub-y", apiCalls, zuoraapi.FormatDate(t0)), zuoraapi.FormatDate(t0))
	if got[late] != "2" || len(got) != 2 {
		t.Fatalf("new records %v: want the late 2 under %q and the new period's 12", got, late)
	}
	for _, en := range e.entries() {
		if en.dirty() {
			t.Fatalf("entry of %s still dirty: total %s written %v", en.PeriodStart, en.Total, en.Written)
		}
	}
}

// Two flushers (two instances) racing over the same entries make one record per entry.
func TestUsageFlushersRacingMakeOneRecord(t *testing.T) {
	e := newUsageEnv(t)
	e.apiCallsSubscription("sub-u", "cust-u")
	a, b := e.flusher(), e.flusher()
	now := e.sim.Now()
	for round := range 5 {
		e.reportN(fmt.Sprintf("r%d", round), "sub-u", 10, now.Add(time.Duration(round)*time.Minute), "1")
		var wg sync.WaitGroup
		for _, f := range []*UsageFlusher{a, b} {
			wg.Go(func() {
				if _, err := f.Flush(context.Background()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	e.flush(a) // whichever lost a claim race above writes now
	if recs := e.records("stigg-sub-u"); len(recs) != 1 || recs[0].Quantity != "50" {
		t.Fatalf("records %+v, want one of 50", recs)
	}
}

// A create whose answer was lost (Zuora committed it) is found by the next round: no second record.
func TestUsageFlusherLostAnswerMakesNoSecondRecord(t *testing.T) {
	e := newUsageEnv(t)
	e.apiCallsSubscription("sub-u", "cust-u")
	f := e.flusher()
	e.reportN("a", "sub-u", 3, e.sim.Now(), "1")
	e.sim.InjectFault(zuorasim.Fault{Method: "POST", PathPrefix: "/v2/usage_records", AfterCommit: true, Truncate: true, Times: 1})
	if st := e.flush(f); st.Failed != 1 {
		t.Fatalf("round with the lost answer: %+v", st)
	}
	e.reportN("b", "sub-u", 2, e.sim.Now().Add(time.Second), "1")
	if st := e.flush(f); st.Failed != 0 {
		t.Fatalf("next round: %+v", st)
	}
	if recs := e.records("stigg-sub-u"); len(recs) != 1 || recs[0].Quantity != "5" {
		t.Fatalf("records %+v, want one of 5", recs)
	}
}

// A refused write is recorded and not repeated until the total changes; the retry uses a fresh idempotency key,
// since Zuora keeps the refusal under the old one.
func TestUsageFlusherRefusalWaitsForAChange(t *testing.T) {
	e := newUsageEnv(t)
	e.apiCallsSubscription("sub-u", "cust-u")
	f := e.flusher()
	e.reportN("a", "sub-u", 3, e.sim.Now(), "1")
	e.sim.InjectFault(zuorasim.Fault{Method: "POST", PathPrefix: "/v2/usage_records", Status: 400, StoreFailure: true, Times: 1,
		Message: "refused for the test"})
	if st := e.flush(f); st.Failed != 1 {
		t.Fatalf("refused round: %+v", st)
	}
	key := usageKey("sub-u", apiCalls, zuoraapi.FormatDate(e.sim.Now()))
	en := e.entries()[key]
	if en.Failure == nil || !strings.Contains(en.Failure.Reason, "refused for the test") || en.KeyGen != 1 || en.Claim != nil {
		t.Fatalf("entry after a refusal: %+v", en)
	}
	if st := e.flush(f); st.Writes != 0 {
		t.Fatalf("the refused write was repeated with nothing changed: %+v", st)
	}
	e.reportN("b", "sub-u", 1, e.sim.Now().Add(time.Second), "1")
	if st := e.flush(f); st.Writes != 1 || st.Failed != 0 {
		t.Fatalf("after a change: %+v", st)
	}
	if recs := e.records("stigg-sub-u"); len(recs) != 1 || recs[0].Quantity != "4" {
		t.Fatalf("records %+v, want one of 4", recs)
	}
	if en := e.entries()[key]; en.Failure != nil || en.dirty() {
		t.Fatalf("entry after the retry: %+v", en)
	}
}

// A record deleted in Zuora is written again, under a new idempotency key (the old one would replay the deleted
// record's creation).
func TestUsageFlusherRewritesARecordDeletedInZuora(t *testing.T) {
	e := newUsageEnv(t)
	e.apiCallsSubscription("sub-u", "cust-u")
	f := e.flusher()
	e.reportN("a", "sub-u", 3, e.sim.Now(), "1")
	e.flush(f)
	recs := e.records("stigg-sub-u")
	if len(recs) != 1 {
		t.Fatalf("records %+v", recs)
	}
	if err := e.deps.Zuora.DeleteUsageRecord(e.ctx(), recs[0].ID); err != nil {
		t.Fatal(err)
	}
	e.reportN("b", "sub-u", 2, e.sim.Now().Add(time.Second), "1")
	if st := e.flush(f); st.Failed != 0 || st.Writes != 1 {
		t.Fatalf("round after the deletion: %+v", st)
	}
	if recs = e.records("stigg-sub-u"); len(recs) != 1 || recs[0].Quantity != "5" {
		t.Fatalf("records %+v, want one of 5", recs)
	}
	if st := e.flush(f); st.Writes != 0 {
		t.Fatalf("a clean entry was written again: %+v", st)
	}
}

// Run writes what was counted before it started (a restart), keeps flushing, and ends with its context.
func TestUsageFlusherRunFlushesAtStartAndStops(t *testing.T) {
	e := newUsageEnv(t)
	e.apiCallsSubscription("sub-u", "cust-u")
	e.reportN("before", "sub-u", 3, e.sim.Now(), "2")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.flusher().Run(ctx) }()
	waitFor(t, func() bool { r := e.records("stigg-sub-u"); return len(r) == 1 && r[0].Quantity == "6" })
	e.reportN("during", "sub-u", 2, e.sim.Now().Add(time.Second), "2")
	waitFor(t, func() bool { r := e.records("stigg-sub-u"); return len(r) == 1 && r[0].Quantity == "10" })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not end with its context")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
