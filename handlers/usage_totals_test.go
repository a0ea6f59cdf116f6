package handlers

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

var usageT0 = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

func delta(id string, sec int, v string) usageEvent {
	return usageEvent{hash: usageEventHash(id), at: usageT0.Add(time.Duration(sec) * time.Second).UnixNano(), value: zuoraapi.MustAmount(v)}
}

func set(id string, sec int, v string) usageEvent {
	ev := delta(id, sec, v)
	ev.set = true
	return ev
}

func newTestEntry() *usageEntry {
	return &usageEntry{SubscriptionID: "sub-1", FeatureID: "feature-api-calls", PeriodStart: "2026-05-01", PeriodEnd: "2026-06-01"}
}

// countAll counts evs in order, checking that every step survives the stored form.
func countAll(t *testing.T, e *usageEntry, evs ...usageEvent) []usageCounted {
	t.Helper()
	var out []usageCounted
	for _, ev := range evs {
		c, err := e.count(ev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
		if err := e.pack(); err != nil {
			t.Fatal(err)
		}
		back := &usageEntry{PeriodStart: e.PeriodStart, Packed: e.Packed}
		if err := back.unpack(); err != nil {
			t.Fatal(err)
		}
		if got := usageTotal(back.events); !got.Equal(e.Total) {
			t.Fatalf("total %s after a round trip of the stored form, want %s", got, e.Total)
		}
	}
	return out
}

func TestUsageTotalsDuplicateIsCountedOnce(t *testing.T) {
	e := newTestEntry()
	got := countAll(t, e, delta("a", 1, "2.5"), delta("b", 2, "0.1"), delta("a", 1, "2.5"), delta("c", 3, "0.2"), delta("b", 2, "0.1"))
	want := []usageCounted{usageAdded, usageAdded, usageDuplicate, usageAdded, usageDuplicate}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("counted %v, want %v", got, want)
	}
	if e.Total.String() != "2.8" { // exact: 2.5 + 0.1 + 0.2, no float drift
		t.Fatalf("total %s, want 2.8", e.Total)
	}
}

func TestUsageTotalsSetAndDeltaMix(t *testing.T) {
	e := newTestEntry()
	steps := []struct {
		ev    usageEvent
		want  usageCounted
		total string
	}{
		{delta("d1", 10, "5"), usageAdded, "5"},
		{set("s1", 20, "100"), usageAdded, "100"},      // replaces what came before
		{delta("d2", 30, "3"), usageAdded, "103"},      // after the SET: adds
		{delta("d0", 15, "7"), usageSuperseded, "103"}, // late, but before the SET: changes nothing
		{delta("dTie", 20, "1"), usageAdded, "104"},    // at the SET's instant: adds to it
		{set("s0", 5, "1"), usageSuperseded, "104"},    // an older SET
		{delta("neg", 40, "-4.5"), usageAdded, "99.5"},
		{set("s2", 35, "10"), usageAdded, "5.5"},       // a later SET drops d2 and dTie but keeps the DELTA after it
		{delta("d2", 30, "3"), usageSuperseded, "5.5"}, // its redelivery, dropped by s2: still nothing
		{delta("neg", 40, "-4.5"), usageDuplicate, "5.5"},
	}
	for i, s := range steps {
		got := countAll(t, e, s.ev)[0]
		if got != s.want || e.Total.String() != s.total {
			t.Fatalf("step %d: counted %v total %s, want %v %s", i, got, e.Total, s.want, s.total)
		}
	}
	if len(e.events) != 2 { // s2 and neg
		t.Fatalf("kept %d events, want 2 (the SET and the DELTA after it)", len(e.events))
	}
}

// The total depends on the set of events only, not on the order they arrive in or on repeats.
func TestUsageTotalsOutOfOrderAndRepeated(t *testing.T) {
	var evs []usageEvent
	for i := range 300 {
		id, sec := fmt.Sprintf("e%d", i), rand.IntN(1000)
		switch {
		case i%37 == 0:
			evs = append(evs, set(id, sec, fmt.Sprintf("%d.%02d", rand.IntN(500), rand.IntN(100))))
		default:
			evs = append(evs, delta(id, sec, fmt.Sprintf("%d.%03d", rand.IntN(20)-5, rand.IntN(1000))))
		}
	}
	evs = append(evs, set("tieA", 500, "42"), set("tieB", 500, "43")) // a SET tie, decided by the id hash
	want := referenceTotal(evs)
	for round := range 20 {
		shuffled := append([]usageEvent(nil), evs...)
		for range 60 { // redeliveries
			shuffled = append(shuffled, evs[rand.IntN(len(evs))])
		}
		rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		e := newTestEntry()
		for _, ev := range shuffled {
			if _, err := e.count(ev); err != nil {
				t.Fatal(err)
			}
		}
		if !e.Total.Equal(want) {
			t.Fatalf("round %d: total %s, want %s", round, e.Total, want)
		}
	}
}

// referenceTotal computes the rule another way than usageTotal: replay the events in time order — at one
// instant SETs first, in hash order, then DELTAs — with a SET replacing the running total and a DELTA adding to it.
func referenceTotal(evs []usageEvent) zuoraapi.Amount {
	order := slices.Clone(evs)
	slices.SortStableFunc(order, func(a, b usageEvent) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		if a.set != b.set {
			if a.set {
				return -1
			}
			return 1
		}
		return strings.Compare(string(a.hash[:]), string(b.hash[:]))
	})
	var total zuoraapi.Amount
	for _, ev := range order {
		if ev.set {
			total = ev.value
		} else {
			total = total.Add(ev.value)
		}
	}
	return total
}

func TestUsageTotalsAreBoundedPerPeriod(t *testing.T) {
	e := newTestEntry()
	for i := range maxUsageEvents - 1 { // filled directly: counting one by one is quadratic, and slow under -race
		e.events = append(e.events, delta(fmt.Sprint(i), i, "1.25"))
	}
	e.Total = usageTotal(e.events)
	if c, err := e.count(delta("last", 1, "1.25")); err != nil || c != usageAdded {
		t.Fatalf("the last event within the bound: %v %v", c, err)
	}
	if err := e.pack(); err != nil {
		t.Fatalf("a full period must still fit its bucket entry: %v", err)
	}
	t.Logf("%d events pack into %d bytes", e.Count, len(e.Packed))
	if _, err := e.count(delta("one-too-many", 1, "1")); !errors.Is(err, errUsageFull) {
		t.Fatalf("event beyond the bound: %v, want errUsageFull", err)
	}
	if e.Total.String() != "25000" {
		t.Fatalf("a refused event changed the total to %s", e.Total)
	}
	// A SET replaces everything before it, which frees the period.
	if c, err := e.count(set("reset", maxUsageEvents+1, "7")); err != nil || c != usageAdded || len(e.events) != 1 {
		t.Fatalf("SET after a full period: %v %v, %d events kept", c, err, len(e.events))
	}
}

func TestUsageStoreCompareAndSet(t *testing.T) {
	_, js := natstest.Start(t).Connect(t)
	ctx := t.Context()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "usage-cas"})
	if err != nil {
		t.Fatal(err)
	}
	st := usageStore{kv: kv}
	// Writers racing on one entry (instances, the flusher) each count once; a redelivery counts nothing.
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 40 {
				ev := delta(fmt.Sprintf("w%d-%d", w, i%30), i, "0.5") // i%30: ten redeliveries per writer
				for {
					_, _, err := st.modify(ctx, "k", func(cur *usageEntry) (*usageEntry, bool, error) {
						if cur == nil {
							cur = newTestEntry()
						}
						c, err := cur.count(ev)
						return cur, c == usageAdded, err
					})
					if errors.Is(err, errUsageConflict) {
						continue // the runtime retries the event
					}
					if err != nil {
						t.Error(err)
					}
					break
				}
			}
		})
	}
	wg.Wait()
	e, _, err := st.get(ctx, "k")
	if err != nil || e == nil {
		t.Fatalf("read back: %v", err)
	}
	if e.Total.String() != "60" || e.Count != 120 {
		t.Fatalf("total %s from %d events, want 60 from 120", e.Total, e.Count)
	}
	if _, err := st.put(ctx, "k", e, 1); !errors.Is(err, errUsageConflict) {
		t.Fatalf("write over a stale revision: %v", err)
	}
}
