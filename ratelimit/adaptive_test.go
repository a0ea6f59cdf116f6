package ratelimit

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/internal/natstest"
)

// waitFor polls cond for up to 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// A request that finds its class's slots taken waits in line instead of going out to be refused: the queued
// requests reach Zuora one by one in the order they queued, and one whose deadline passes in the queue leaves
// it with a *PausedError (unavailable, so the event does not lose an attempt) without reaching Zuora.
func TestQueueHoldsAndReleasesInOrder(t *testing.T) {
	hold := make(chan struct{})
	var mu sync.Mutex
	var order []string
	srv := newFakeZuora(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		order = append(order, r.URL.Path)
		mu.Unlock()
		if r.URL.Path == "/v1/accounts/first" {
			<-hold
		}
	})
	l := New(Config{Concurrency: map[Class]int{ClassDefault: 1}})
	c := &http.Client{Transport: l.Transport(srv.Client().Transport)}
	queued := func() int { return l.Stats().Classes[ClassDefault].Waiting }

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	send := func(path string) {
		wg.Go(func() {
			if code, err := do(t, c, context.Background(), "GET", srv.URL+path); err != nil || code != 200 {
				errs <- errors.Join(err, errors.New(path))
			}
		})
	}
	send("/v1/accounts/first")
	waitFor(t, "the first request to hold the slot", func() bool { return l.Stats().Classes[ClassDefault].InFlight == 1 })
	want := []string{"/v1/accounts/first"}
	for i, p := range []string{"/v1/accounts/a", "/v1/accounts/b", "/v1/accounts/c", "/v1/accounts/d"} {
		send(p)
		want = append(want, p)
		waitFor(t, p+" to queue", func() bool { return queued() == i+1 })
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := do(t, c, ctx, "GET", srv.URL+"/v1/accounts/late")
	var pe *PausedError
	if !errors.As(err, &pe) || pe.Class != ClassDefault || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a request whose deadline passed in the queue: %v, want a PausedError for the default class", err)
	}
	if waited := time.Since(start); waited < 90*time.Millisecond {
		t.Fatalf("it left the queue after %v, before its deadline", waited)
	}
	if queued() != 4 {
		t.Fatalf("%d waiting after the late request left, want 4", queued())
	}

	close(hold)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(order) != len(want) {
		t.Fatalf("Zuora saw %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("Zuora saw %v, want %v (queue order)", order, want)
		}
	}
	if st := l.Stats().Classes[ClassDefault]; st.InFlight != 0 || st.Waiting != 0 {
		t.Fatalf("slots leaked: %+v", st)
	}
}

// limitedZuora enforces limit concurrent Quickstart requests the way Zuora does there: a 429 with Retry-After
// and no Concurrency-Limit-* headers. Each request takes latency.
type limitedZuora struct {
	*fakeZuora
	limit              atomic.Int64
	inFlight, maxSeen  atomic.Int64
	served, refused429 atomic.Int64
}

func newLimitedZuora(t *testing.T, limit int, latency time.Duration) *limitedZuora {
	z := &limitedZuora{}
	z.limit.Store(int64(limit))
	z.fakeZuora = newFakeZuora(t, func(w http.ResponseWriter, r *http.Request) {
		n := z.inFlight.Add(1)
		if n > z.limit.Load() {
			z.inFlight.Add(-1)
			z.refused429.Add(1)
			w.Header().Set("RateLimit-Remaining", "49000")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		for m := z.maxSeen.Load(); n > m && !z.maxSeen.CompareAndSwap(m, n); m = z.maxSeen.Load() {
		}
		time.Sleep(latency)
		z.served.Add(1)
		z.inFlight.Add(-1) // before answering: the client never sees an answer of a request still counted
		w.WriteHeader(http.StatusOK)
	})
	return z
}

// burst sends n GETs to /v2/accounts from workers goroutines and fails on any error or non-200.
func burst(t *testing.T, c *http.Client, url string, n, workers int) {
	t.Helper()
	jobs := make(chan int, n)
	for i := range n {
		jobs <- i
	}
	close(jobs)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range workers {
		wg.Go(func() {
			for range jobs {
				if code, err := do(t, c, context.Background(), "GET", url+"/v2/accounts"); err != nil || code != 200 {
					failed.Add(1)
					t.Errorf("request: %d %v", code, err)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.FailNow()
	}
}

// Zuora enforces a concurrency limit on Quickstart requests without announcing it: the first 429 lowers the
// class to what was in flight before the refused request, the refused request is queued again (the caller sees
// only 200s), and the class stays there until a probe finds more room.
func TestLearnsConcurrencyLimitFrom429WithoutHeaders(t *testing.T) {
	z := newLimitedZuora(t, 3, 5*time.Millisecond)
	// A window of 8 from the start: the limit is found by the 429s, not by slow start.
	l := New(Config{RequestsPerMinute: 1 << 20, Burst: 1000, InitialConcurrency: 8, ProbeInterval: time.Hour})
	c := &http.Client{Transport: l.Transport(z.Client().Transport)}

	burst(t, c, z.URL, 200, 20)
	st := l.Stats().Classes[ClassObjectQuery]
	if st.Capacity != 3 || st.Learned != 3 {
		t.Fatalf("object-query class after the burst: %+v, want 3 learned slots", st)
	}
	if n := z.refused429.Load(); n == 0 || n > 8 {
		t.Fatalf("Zuora refused %d requests; want the few sent before the limit was learned (1..8)", n)
	}
	if z.served.Load() != 200 {
		t.Fatalf("Zuora served %d requests, want 200", z.served.Load())
	}
	before := z.refused429.Load()
	burst(t, c, z.URL, 100, 20)
	if n := z.refused429.Load() - before; n != 0 {
		t.Fatalf("%d 429s once the limit was learned", n)
	}
	if st := l.Stats().Classes[ClassDefault]; st.Learned != 0 || st.Window != 8 {
		t.Fatalf("the default class learned from another class's 429s: %+v", st)
	}
	if l.Stats().PausedUntil.After(time.Now()) || l.Stats().Classes[ClassObjectQuery].PausedUntil.After(time.Now()) {
		t.Fatal("a concurrency 429 the lower window explains paused requests")
	}
}

// After a 429 lowered the window, it grows by one probe per ProbeInterval, and only while full: when Zuora
// allows more, the class climbs back; a probe Zuora refuses costs one 429 and the window returns.
func TestLearnedLimitProbesBackUp(t *testing.T) {
	z := newLimitedZuora(t, 2, 5*time.Millisecond)
	l := New(Config{RequestsPerMinute: 1 << 20, Burst: 1000, InitialConcurrency: 6, ProbeInterval: 20 * time.Millisecond})
	c := &http.Client{Transport: l.Transport(z.Client().Transport)}
	burst(t, c, z.URL, 60, 10)
	if st := l.Stats().Classes[ClassObjectQuery]; st.Capacity > 3 {
		t.Fatalf("after the first burst: %+v, want at most 2 slots (3 while probing)", st)
	}
	z.limit.Store(5)
	deadline := time.Now().Add(5 * time.Second)
	for l.Stats().Classes[ClassObjectQuery].Capacity < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("the window never probed back up to 5: %+v", l.Stats().Classes[ClassObjectQuery])
		}
		burst(t, c, z.URL, 30, 10)
	}
	if m := z.maxSeen.Load(); m > 5 {
		t.Fatalf("Zuora served %d at once, above its limit", m)
	}
}

// A 429 when this instance had a single request out is someone else's doing: the window cannot explain it, so
// the request is not sent again and the class pauses for Retry-After, as before.
func TestLone429PausesTheClass(t *testing.T) {
	srv := newFakeZuora(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	l := New(Config{})
	c := &http.Client{Transport: l.Transport(srv.Client().Transport)}
	if code, err := do(t, c, context.Background(), "GET", srv.URL+"/v2/accounts"); err != nil || code != 429 {
		t.Fatalf("lone request: %d %v", code, err)
	}
	if n := srv.count("/v2/accounts"); n != 1 {
		t.Fatalf("Zuora saw %d requests, want 1 (not queued again)", n)
	}
	if st := l.Stats().Classes[ClassObjectQuery]; st.PausedUntil.Before(time.Now().Add(20 * time.Second)) {
		t.Fatalf("class not paused: %+v", st)
	}
}

func TestShareOf(t *testing.T) {
	for _, tc := range []struct{ total, n, rank, want int }{
		{40, 1, 0, 40}, {40, 3, 0, 14}, {40, 3, 1, 13}, {40, 3, 2, 13}, {3, 3, 2, 1}, {2, 3, 2, 1}, {0, 1, 0, 1},
	} {
		if got := shareOf(tc.total, tc.n, tc.rank); got != tc.want {
			t.Errorf("shareOf(%d, %d, %d) = %d, want %d", tc.total, tc.n, tc.rank, got, tc.want)
		}
	}
}

// Three instances sharing a tenant divide its requests-per-minute budget and each class's limit (configured or
// announced) among them, the remainder to the lowest ranks, so together they stay within the tenant's limit.
func TestDividesBudgetAmongInstances(t *testing.T) {
	srv := newFakeZuora(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Concurrency-Limit-Type", "High-volume transactions")
		w.Header().Set("Concurrency-Limit-Limit", "10")
		w.Header().Set("Concurrency-Limit-Remaining", "9")
	})
	sum := 0
	for rank := range 3 {
		l := New(Config{RequestsPerMinute: 3000, Burst: 30})
		l.SetShare(3, rank)
		if got := float64(l.api.Limit()) * 60; got < 999 || got > 1001 || l.api.Burst() != 10 {
			t.Fatalf("rank %d: %.0f requests per minute, burst %d; want 1000 and 10", rank, got, l.api.Burst())
		}
		c := &http.Client{Transport: l.Transport(srv.Client().Transport)}
		if _, err := do(t, c, context.Background(), "POST", srv.URL+"/v1/accounts"); err != nil {
			t.Fatal(err)
		}
		st := l.Stats()
		hv := st.Classes[ClassHighVolume]
		if st.Instances != 3 || st.Rank != rank || hv.Reported != 10 {
			t.Fatalf("rank %d: %+v", rank, st)
		}
		if want := []int{4, 3, 3}[rank]; hv.Capacity != want {
			t.Fatalf("rank %d: %d high-volume slots, want %d of the announced 10", rank, hv.Capacity, want)
		}
		sum += hv.Capacity
		// The configured limit of a class Zuora announced nothing for is divided too (once slow start opens it).
		l.mu.Lock()
		cs := l.classes[ClassDefault]
		cs.window = 100
		l.applyLocked(ClassDefault, cs, "test")
		l.mu.Unlock()
		if want := []int{14, 13, 13}[rank]; l.Stats().Classes[ClassDefault].Capacity != want {
			t.Fatalf("rank %d: default class %+v, want %d of 40", rank, l.Stats().Classes[ClassDefault], want)
		}
		// Alone again: the whole budget.
		l.SetShare(1, 0)
		if got := float64(l.api.Limit()) * 60; got < 2999 || got > 3001 {
			t.Fatalf("alone: %.0f requests per minute", got)
		}
	}
	if sum != 10 {
		t.Fatalf("the instances hold %d high-volume slots together, want the tenant's 10", sum)
	}
}

// The registry in a KV bucket: each instance that joins is counted by all, ranks are distinct, and one that
// leaves gives its share back at once.
func TestJoinSharesAmongLiveInstances(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "test-instances", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var ls []*Limiter
	var leaves []func()
	for i := range 3 {
		l := New(Config{RequestsPerMinute: 3000})
		leave, err := l.Join(ctx, kv, InstanceConfig{ID: []string{"a", "b", "c"}[i], Heartbeat: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer leave()
		ls, leaves = append(ls, l), append(leaves, leave)
	}
	if st := ls[2].Stats(); st.Instances != 3 || st.Rank != 2 {
		t.Fatalf("the last to join: %d instances, rank %d; want 3 and 2 right after Join", st.Instances, st.Rank)
	}
	waitFor(t, "every instance to count three", func() bool {
		return ls[0].Stats().Instances == 3 && ls[1].Stats().Instances == 3
	})
	for i, l := range ls {
		if st := l.Stats(); st.Rank != i {
			t.Fatalf("instance %d has rank %d", i, st.Rank)
		}
	}
	leaves[0]()
	waitFor(t, "the others to take the leaver's share back", func() bool {
		return ls[1].Stats().Instances == 2 && ls[2].Stats().Instances == 2
	})
	if r1, r2 := ls[1].Stats().Rank, ls[2].Stats().Rank; r1 != 0 || r2 != 1 {
		t.Fatalf("ranks after a leave: %d %d", r1, r2)
	}
	if got := float64(ls[1].api.Limit()) * 60; got < 1499 || got > 1501 {
		t.Fatalf("%.0f requests per minute with two instances, want 1500", got)
	}
}

// An instance that stops heartbeating (a crash: its key stays) stops being counted after three heartbeats.
func TestJoinForgetsSilentInstances(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "test-instances", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "crashed", []byte("x")); err != nil {
		t.Fatal(err)
	}
	l := New(Config{})
	leave, err := l.Join(ctx, kv, InstanceConfig{ID: "alive", Heartbeat: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer leave()
	if n := l.Stats().Instances; n != 2 {
		t.Fatalf("%d instances right after Join, want 2 (the crashed one's key is fresh)", n)
	}
	waitFor(t, "the silent instance to be forgotten", func() bool { return l.Stats().Instances == 1 })
}

// An instance with Zuora work while the others have none takes the whole budget; once another one is busy too,
// the busy ones divide it, and an idle one counts every live instance.
func TestBusyInstancesDivideAmongThemselves(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "test-instances", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var ls []*Limiter
	for i := range 3 {
		l := New(Config{})
		leave, err := l.Join(ctx, kv, InstanceConfig{ID: []string{"a", "b", "c"}[i], Heartbeat: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer leave()
		ls = append(ls, l)
	}
	waitFor(t, "three idle instances", func() bool { return ls[0].Stats().Instances == 3 })
	stop := make(chan struct{})
	defer close(stop)
	keepBusy := func(l *Limiter) {
		go func() {
			for {
				l.lastAdmit.Store(time.Now().UnixNano())
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
	}
	keepBusy(ls[1])
	waitFor(t, "the busy instance to take the whole budget", func() bool { return ls[1].Stats().Instances == 1 })
	if n := ls[0].Stats().Instances; n != 3 {
		t.Fatalf("an idle instance divides by %d, want every live one (3)", n)
	}
	keepBusy(ls[2])
	waitFor(t, "the two busy instances to divide the budget", func() bool {
		return ls[1].Stats().Instances == 2 && ls[2].Stats().Instances == 2
	})
	if r1, r2 := ls[1].Stats().Rank, ls[2].Stats().Rank; r1 == r2 {
		t.Fatalf("both busy instances have rank %d", r1)
	}
}
