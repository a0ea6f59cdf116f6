package ratelimit

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
)

// fakeZuora answers with whatever respond decides, counting requests per path.
type fakeZuora struct {
	*httptest.Server
	mu     sync.Mutex
	counts map[string]int
}

func newFakeZuora(t *testing.T, respond func(w http.ResponseWriter, r *http.Request)) *fakeZuora {
	t.Helper()
	f := &fakeZuora{counts: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.counts[r.URL.Path]++
		f.mu.Unlock()
		respond(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeZuora) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[path]
}

func do(t *testing.T, c *http.Client, ctx context.Context, method, url string) (int, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

func TestConcurrencyNeverExceedsClassSize(t *testing.T) {
	var inFlight, maxSeen atomic.Int64
	srv := newFakeZuora(t, func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			m := maxSeen.Load()
			if n <= m || maxSeen.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
		inFlight.Add(-1) // before writing, so the client never sees a response from a request still counted
		w.WriteHeader(http.StatusOK)
	})
	l := New(Config{RequestsPerMinute: 1 << 20, Burst: 1000, Concurrency: map[Class]int{ClassDefault: 3}})
	c := &http.Client{Transport: l.Transport(srv.Client().Transport)}

	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for range 30 {
		wg.Go(func() {
			if _, err := do(t, c, context.Background(), "GET", srv.URL+"/v1/accounts/A-1"); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := maxSeen.Load(); got > 3 {
		t.Fatalf("max in flight %d > 3", got)
	}
	if got := srv.count("/v1/accounts/A-1"); got != 30 {
		t.Fatalf("server saw %d requests", got)
	}
	if st := l.Stats().Classes[ClassDefault]; st.InFlight != 0 || st.Waiting != 0 {
		t.Fatalf("slots leaked: %+v", st)
	}
}

func TestRateWaitRespectsContext(t *testing.T) {
	srv := newFakeZuora(t, func(w http.ResponseWriter, r *http.Request) {})
	l := New(Config{RequestsPerMinute: 1, Burst: 1}) // one request, then a minute's wait
	c := &http.Client{Transport: l.Transport(srv.Client().Transport)}
	url := srv.URL + "/v1/accounts/A-1"

	if _, err := do(t, c, context.Background(), "GET", url); err != nil {
		t.Fatal(err)
	}

	// A deadline that cannot be met fails fast with a typed error.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, err := do(t, c, ctx, "GET", url)
	var pe *PausedError
	if !errors.As(err, &pe) || pe.RetryAfter() < 30*time.Second {
		t.Fatalf("want PausedError with ~60s, got %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("did not fail fast")
	}

	// No deadline: waits until cancelled.
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel2)
	if _, err := do(t, c, ctx2, "GET", url); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if got := srv.count("/v1/accounts/A-1"); got != 1 {
		t.Fatalf("server saw %d requests, want 1", got)
	}
}

func TestRetryAfterPausesClass(t *testing.T) {
	srv := newFakeZuora(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/accounts/A-1" {
			w.Header().Set("Concurrency-Limit-Type", "Default")
			w.Header().Set("Concurrency-Limit-Remaining", "0")
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	l := New(Config{RequestsPerMinute: 1 << 20, Burst: 1000})
	c := &http.Client{Transport: l.Transport(srv.Client().Transport)}

	if code, err := do(t, c, context.Background(), "GET", srv.URL+"/v1/accounts/A-1"); err != nil || code != 429 {
		t.Fatalf("first call: %d %v", code, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := do(t, c, ctx, "GET", srv.URL+"/v1/accounts/A-2")
	var pe *PausedError
	if !errors.As(err, &pe) || pe.Class != ClassDefault || pe.RetryAfter() < 20*time.Second {
		t.Fatalf("want Default paused ~30s, got %v", err)
	}
	if srv.count("/v1/accounts/A-2") != 0 {
		t.Fatal("paused request reached the server")
	}
	// Other classes keep flowing, and 429 does not count against the breaker.
	if code, err := do(t, c, ctx, "GET", srv.URL+"/v2/accounts"); err != nil || code != 200 {
		t.Fatalf("object-query call: %d %v", code, err)
	}
	if st := l.BreakerState("v1-accounts"); st != gobreaker.StateClosed {
		t.Fatalf("breaker %s after 429", st)
	}
}

func TestExhaustedRateLimitPausesEverything(t *testing.T) {
	srv := newFakeZuora(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("RateLimit-Limit", "2500, 2500;w=60")
		w.Header().Set("RateLimit-Remaining", "0")
		w.Header().Set("RateLimit-Reset", "40")
	})
	l := New(Config{})
	c := &http.Client{Transport: l.Transport(srv.Client().Transport)}
	if _, err := do(t, c, context.Background(), "GET", srv.URL+"/v1/accounts/A-1"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var pe *PausedError
	if _, err := do(t, c, ctx, "GET", srv.URL+"/v2/accounts"); !errors.As(err, &pe) || pe.RetryAfter() < 30*time.Second {
		t.Fatalf("want pause, got %v", err)
	}
	if l.Stats().PausedUntil.IsZero() {
		t.Fatal("Stats does not show the pause")
	}
	// The token endpoint has its own budget and is not held by API rate limits.
	if _, err := do(t, c, ctx, "POST", srv.URL+"/oauth/token"); err != nil {
		t.Fatalf("token request held: %v", err)
	}
}

func TestPauseEndsThenRequestProceeds(t *testing.T) {
	var n atomic.Int64
	srv := newFakeZuora(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	l := New(Config{})
	c := &http.Client{Transport: l.Transport(srv.Client().Transport)}
	if code, _ := do(t, c, context.Background(), "GET", srv.URL+"/v2/accounts"); code != 429 {
		t.Fatalf("first call %d", code)
	}
	start := time.Now()
	if code, err := do(t, c, context.Background(), "GET", srv.URL+"/v2/accounts"); err != nil || code != 200 {
		t.Fatalf("second call: %d %v", code, err)
	}
	if waited := time.Since(start); waited < 500*time.Millisecond {
		t.Fatalf("second call waited only %v", waited)
	}
}

func TestBreakerOpensPerSurface(t *testing.T) {
	srv := newFakeZuora(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/accounts/A-1":
			w.WriteHeader(http.StatusInternalServerError)
		case "/v1/catalog/products":
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	l := New(Config{BreakerConsecutiveFailures: 3, BreakerOpenTimeout: time.Minute})
	c := &http.Client{Transport: l.Transport(srv.Client().Transport)}
	ctx := context.Background()

	for range 10 { // 4xx never trips a breaker
		if code, err := do(t, c, ctx, "GET", srv.URL+"/v1/catalog/products"); err != nil || code != 400 {
			t.Fatalf("4xx call: %d %v", code, err)
		}
	}
	for range 3 {
		if code, err := do(t, c, ctx, "GET", srv.URL+"/v1/accounts/A-1"); err != nil || code != 500 {
			t.Fatalf("5xx call: %d %v", code, err)
		}
	}
	_, err := do(t, c, ctx, "GET", srv.URL+"/v1/accounts/A-1")
	var oe *OpenError
	if !errors.As(err, &oe) || oe.Surface != "v1-accounts" || !errors.Is(err, ErrBreakerOpen) {
		t.Fatalf("want OpenError for v1-accounts, got %v", err)
	}
	if got := srv.count("/v1/accounts/A-1"); got != 3 {
		t.Fatalf("server saw %d requests while open", got)
	}
	// Other surfaces keep working.
	if code, err := do(t, c, ctx, "GET", srv.URL+"/v1/orders/O-1"); err != nil || code != 200 {
		t.Fatalf("other surface: %d %v", code, err)
	}
	st := l.Stats()
	if st.Breakers["v1-accounts"] != gobreaker.StateOpen || st.Breakers["v1-catalog"] != gobreaker.StateClosed {
		t.Fatalf("breakers: %v", st.Breakers)
	}
}

func TestBreakerCountsTransportFailures(t *testing.T) {
	srv := newFakeZuora(t, func(w http.ResponseWriter, r *http.Request) {})
	url := srv.URL
	srv.Close() // connection refused from now on
	l := New(Config{BreakerConsecutiveFailures: 2})
	c := &http.Client{Transport: l.Transport(http.DefaultTransport)}
	for range 2 {
		if _, err := do(t, c, context.Background(), "GET", url+"/v1/accounts/A"); err == nil || errors.Is(err, ErrBreakerOpen) {
			t.Fatalf("want transport error, got %v", err)
		}
	}
	if _, err := do(t, c, context.Background(), "GET", url+"/v1/accounts/A"); !errors.Is(err, ErrBreakerOpen) {
		t.Fatalf("want open breaker, got %v", err)
	}
}

func TestConcurrencyLimitHeaderShrinksClass(t *testing.T) {
	srv := newFakeZuora(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/accounts/A-1":
			w.Header().Set("Concurrency-Limit-Type", "Default")
			w.Header().Set("Concurrency-Limit-Limit", "2")
		case "/v1/orders":
			w.Header().Set("Concurrency-Limit-Type", "High-volume transactions")
			w.Header().Set("Concurrency-Limit-Limit", "500") // above configured: stays at configured
		}
	})
	l := New(Config{})
	c := &http.Client{Transport: l.Transport(srv.Client().Transport)}
	_, _ = do(t, c, context.Background(), "GET", srv.URL+"/v1/accounts/A-1")
	_, _ = do(t, c, context.Background(), "POST", srv.URL+"/v1/orders")
	st := l.Stats()
	if got := st.Classes[ClassDefault]; got.Capacity != 2 || got.Configured != 40 {
		t.Fatalf("default class: %+v", got)
	}
	if got := st.Classes[ClassHighVolume]; got.Capacity != 200 {
		t.Fatalf("high-volume class: %+v", got)
	}
}

func TestTokenRequestsTakeNoAPISlot(t *testing.T) {
	hold := make(chan struct{})
	srv := newFakeZuora(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/accounts/A-1" {
			<-hold
		}
	})
	l := New(Config{Concurrency: map[Class]int{ClassDefault: 1}})
	c := &http.Client{Transport: l.Transport(srv.Client().Transport)}

	done := make(chan error, 1)
	go func() {
		_, err := do(t, c, context.Background(), "GET", srv.URL+"/v1/accounts/A-1")
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for l.Stats().Classes[ClassDefault].InFlight != 1 {
		if time.Now().After(deadline) {
			t.Fatal("first request never took its slot")
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if code, err := do(t, c, ctx, "POST", srv.URL+"/oauth/token"); err != nil || code != 200 {
		t.Fatalf("token request blocked: %d %v", code, err)
	}
	// The class is full: a second API request waits for the slot and gives up with its context.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := do(t, c, ctx2, "GET", srv.URL+"/v1/accounts/A-2"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline exceeded waiting for the slot, got %v", err)
	}
	close(hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestSemaphoreResizeAndCancel(t *testing.T) {
	s := newSemaphore(1)
	if _, err := s.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := s.acquire(ctx); errc <- err }()
	for _, _, w := s.stats(); w != 1; _, _, w = s.stats() {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	s.resize(2) // growing admits a new holder while the first still holds
	if n, err := s.acquire(context.Background()); err != nil || n != 2 {
		t.Fatal(err)
	}
	if size, inUse, waiting := s.stats(); size != 2 || inUse != 2 || waiting != 0 {
		t.Fatalf("stats %d %d %d", size, inUse, waiting)
	}
	s.release()
	s.release()
	if _, inUse, _ := s.stats(); inUse != 0 {
		t.Fatalf("inUse %d", inUse)
	}
}

func TestMetricsCollector(t *testing.T) {
	srv := newFakeZuora(t, func(w http.ResponseWriter, r *http.Request) {})
	reg := prometheus.NewRegistry()
	l := New(Config{Registerer: reg})
	c := &http.Client{Transport: l.Transport(srv.Client().Transport)}
	if _, err := do(t, c, context.Background(), "GET", srv.URL+"/v1/accounts/A"); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, f := range fams {
		got[f.GetName()] = len(f.GetMetric())
	}
	if got["zuorasync_zuora_concurrency_slots"] != 3 || got["zuorasync_zuora_breaker_state"] != 1 || got["zuorasync_zuora_pause_remaining_seconds"] != 5 {
		t.Fatalf("metrics %v", got)
	}
}
