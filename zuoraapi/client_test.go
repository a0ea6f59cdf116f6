package zuoraapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zuora-sync/zuora-sync/ratelimit"
)

func TestNewValidatesConfig(t *testing.T) {
	ok := Config{BaseURL: "https://rest.apisandbox.zuora.com", ClientID: "id", ClientSecret: "secret"}
	if _, err := New(ok); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	cases := map[string]func(*Config){
		"BaseURL is required":        func(c *Config) { c.BaseURL = "" },
		"absolute http(s) URL":       func(c *Config) { c.BaseURL = "rest.zuora.com" },
		"bare host":                  func(c *Config) { c.BaseURL = "https://rest.zuora.com/v1/" },
		"ClientID is required":       func(c *Config) { c.ClientID = " " },
		"ClientSecret is required":   func(c *Config) { c.ClientSecret = "" },
		"RequestTimeout must not be": func(c *Config) { c.RequestTimeout = -time.Second },
	}
	for want, mod := range cases {
		cfg := ok
		mod(&cfg)
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
	}
}

func TestTokenFetchedOnceAndReused(t *testing.T) {
	f := newFake(t, nil)
	c := f.client(t)
	ctx := WithEventID(context.Background(), "evt-1")
	for range 3 {
		if err := c.Do(ctx, Request{Path: "/v1/accounts/A-1"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if err := c.Do(ctx, Request{Path: "/v2/accounts"}, nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := f.tokens(); n != 1 {
		t.Fatalf("token endpoint called %d times, want 1", n)
	}
	tr := f.tokenReqs[0]
	form := string(tr.Body)
	for _, want := range []string{"grant_type=client_credentials", "client_id=" + testClientID, "client_secret=" + testClientSecret} {
		if !strings.Contains(form, want) {
			t.Errorf("token form %q lacks %q", form, want)
		}
	}
	if got := tr.Header.Get("Zuora-Track-Id"); got != "evt-1" {
		t.Errorf("token request track id %q", got)
	}
	for _, r := range f.requests() {
		if r.Header.Get("Authorization") != "Bearer tok-1" {
			t.Fatalf("request without the cached token: %v", r.Header)
		}
	}
}

func TestReauthenticatesOnceOn401AndReplaysBody(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 201, `{"id":"acc-1","account_number":"A-1","name":"Acme","currency":"USD"}`)
	})
	c := f.client(t)
	ctx := WithEventID(context.Background(), "evt-7")
	if err := c.Do(ctx, Request{Path: "/v1/accounts/A-1"}, nil); err != nil {
		t.Fatal(err)
	}
	f.revokeTokens()
	acc, err := c.CreateAccount(ctx, "create-account", &AccountCreateRequest{Name: "Acme", Currency: "USD",
		BillTo: &Contact{FirstName: "Ada", LastName: "Lovelace"}})
	if err != nil {
		t.Fatal(err)
	}
	if acc.ID != "acc-1" {
		t.Fatalf("decoded %+v", acc)
	}
	if n := f.tokens(); n != 2 {
		t.Fatalf("token calls %d, want 2", n)
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("API requests %d, want 3", len(reqs))
	}
	first, retry := reqs[1], reqs[2]
	if !bytes.Equal(first.Body, retry.Body) || len(retry.Body) == 0 {
		t.Fatalf("body not replayed: %q vs %q", first.Body, retry.Body)
	}
	if first.Header.Get("Idempotency-Key") != retry.Header.Get("Idempotency-Key") {
		t.Fatal("retry changed the idempotency key")
	}
	if retry.Header.Get("Authorization") != "Bearer tok-2" {
		t.Fatalf("retry used %q", retry.Header.Get("Authorization"))
	}
}

func TestPersistent401IsAuthError(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 401, `{"success":false,"reasons":[{"code":90000011,"message":"invalid credential"}]}`)
	})
	c := f.client(t)
	err := c.Do(context.Background(), Request{Path: "/v1/accounts/A-1"}, nil)
	ze, ok := AsError(err)
	if !ok || ze.Kind != KindAuth || ze.StatusCode != 401 || !ze.Temporary() {
		t.Fatalf("want Auth 401, got %#v", err)
	}
	if n, m := f.tokens(), len(f.requests()); n != 2 || m != 2 {
		t.Fatalf("token calls %d, API calls %d; want 2 and 2", n, m)
	}
}

func TestRejectedCredentialsAreAuthErrors(t *testing.T) {
	f := newFake(t, nil)
	c := f.client(t, func(c *Config) { c.ClientSecret = "wrong" })
	err := c.Do(context.Background(), Request{Path: "/v2/accounts"}, nil)
	ze, ok := AsError(err)
	if !ok || ze.Kind != KindAuth || ze.StatusCode != 401 {
		t.Fatalf("want Auth error, got %v", err)
	}
	if !strings.Contains(err.Error(), "/oauth/token") || !strings.Contains(err.Error(), "/v2/accounts") {
		t.Fatalf("error should name the call and the token endpoint: %v", err)
	}
	if len(f.requests()) != 0 {
		t.Fatal("API called without a token")
	}
}

var idemKeyRE = regexp.MustCompile(`^zs-[0-9a-f]{40}$`)

func TestIdempotencyKeys(t *testing.T) {
	f := newFake(t, nil)
	log, buf := bufferLogger()
	c := f.client(t, func(c *Config) { c.Logger = log })
	ctx := WithEventID(context.Background(), "evt-42")

	patch := &AccountPatch{Name: new("Acme")}
	for range 2 {
		if _, err := c.UpdateAccount(ctx, "update-account", "acc-1", patch); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.UpdateAccount(ctx, "other-step", "acc-1", patch); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetAccount(ctx, "acc-1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, Request{Method: http.MethodPut, Path: "/v1/orders/O-1/cancel", Body: map[string]string{}}, nil); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	k1, k2, k3 := reqs[0].Header.Get("Idempotency-Key"), reqs[1].Header.Get("Idempotency-Key"), reqs[2].Header.Get("Idempotency-Key")
	if k1 != k2 || k1 != IdempotencyKey("evt-42", "update-account") || !idemKeyRE.MatchString(k1) {
		t.Fatalf("keys %q %q", k1, k2)
	}
	if k3 == k1 {
		t.Fatal("different steps share a key")
	}
	for _, r := range reqs[3:] {
		if v, ok := r.Header["Idempotency-Key"]; ok {
			t.Fatalf("%s %s carries Idempotency-Key %v", r.Method, r.Path, v)
		}
	}

	// No event id: a random key and a warning.
	if _, err := c.UpdateAccount(context.Background(), "update-account", "acc-1", patch); err != nil {
		t.Fatal(err)
	}
	reqs = f.requests()
	if k := reqs[len(reqs)-1].Header.Get("Idempotency-Key"); !strings.HasPrefix(k, "zs-r-") {
		t.Fatalf("random key %q", k)
	}
	if !strings.Contains(buf.String(), "level=WARN") {
		t.Fatal("no warning logged for a write without an event id")
	}

	// A write without a step is a programming error.
	if err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/v2/accounts", Body: map[string]string{}}, nil); err == nil {
		t.Fatal("POST without Step accepted")
	}
}

func TestTrackIDHeader(t *testing.T) {
	long := strings.Repeat("e", 65)
	for _, id := range []string{"evt-1", "3f2c9a7e-0d1b-4c55-9e3a-8f1d2b3c4d5e", long, "a:b", `quote"d`, "semi;colon", "it's", "ünïcode", "tab\there", "sp ace"} {
		want := TrackID(id)
		if len(want) > 64 || strings.ContainsAny(want, `:;"' `) || !validTrackID(want) {
			t.Errorf("TrackID(%q) = %q is not a valid track id", id, want)
		}
		if validTrackID(id) != (want == id) {
			t.Errorf("TrackID(%q) = %q: valid ids must pass unchanged, others hashed", id, want)
		}
		if TrackID(id) != want {
			t.Errorf("TrackID(%q) not stable", id)
		}
	}
	if TrackID("evt-1") != "evt-1" || TrackID(long) == TrackID(long+"x") {
		t.Fatal("track ids collide or were altered")
	}

	f := newFake(t, nil)
	c := f.client(t)
	if err := c.Do(WithEventID(context.Background(), long), Request{Path: "/v1/accounts/A"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(context.Background(), Request{Path: "/v1/accounts/A"}, nil); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if got := reqs[0].Header.Get("Zuora-Track-Id"); got != TrackID(long) {
		t.Fatalf("sent track id %q", got)
	}
	if _, ok := reqs[1].Header["Zuora-Track-Id"]; ok {
		t.Fatal("track id sent without an event id")
	}
	if reqs[0].Header.Get("Zuora-Version") != DefaultZuoraVersion {
		t.Fatalf("Zuora-Version %q on /v1", reqs[0].Header.Get("Zuora-Version"))
	}
}

func TestTimeoutIsTransientAndWrapsDeadline(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	c := f.client(t, func(c *Config) { c.RequestTimeout = 100 * time.Millisecond })
	start := time.Now()
	err := c.Do(context.Background(), Request{Path: "/v1/accounts/A-1"}, nil)
	ze, ok := AsError(err)
	if !ok || ze.Kind != KindTransient || ze.StatusCode != 0 || !ze.Temporary() {
		t.Fatalf("want Transient, got %#v", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("errors.Is(DeadlineExceeded) false for %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatal("timeout not applied")
	}

	// The caller's deadline counts too.
	c2 := f.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c2.Do(ctx, Request{Path: "/v1/accounts/A-1"}, nil); !errors.Is(err, context.DeadlineExceeded) || !IsTemporary(err) {
		t.Fatalf("caller deadline: %v", err)
	}
}

func TestNetworkErrorIsTransient(t *testing.T) {
	f := newFake(t, nil)
	c := f.client(t)
	f.srv.Close()
	err := c.Do(context.Background(), Request{Path: "/v1/accounts/A-1"}, nil)
	if ze, ok := AsError(err); !ok || ze.Kind != KindTransient {
		t.Fatalf("want Transient, got %v", err)
	}
}

// An open breaker means Zuora is not asked at all: the failure is not the request's (Unavailable), while the 500s
// that opened it are ordinary transient failures.
func TestOpenBreakerIsTransientAndUnavailable(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 500, `{"reasons":[{"code":"50000060","message":"internal error"}]}`)
	})
	lim := ratelimit.New(ratelimit.Config{BreakerConsecutiveFailures: 2})
	c := f.client(t, withLimiter(lim))
	for range 2 {
		err := c.Do(context.Background(), Request{Path: "/v1/accounts/A"}, nil)
		if ze, ok := AsError(err); !ok || ze.Unavailable() {
			t.Fatalf("a 500 is the request's failure, not unavailability: %v", err)
		}
	}
	err := c.Do(context.Background(), Request{Path: "/v1/accounts/A"}, nil)
	var oe *ratelimit.OpenError
	ze, ok := AsError(err)
	if !ok || ze.Kind != KindTransient || !errors.As(err, &oe) || !errors.Is(err, ratelimit.ErrBreakerOpen) || !ze.Unavailable() {
		t.Fatalf("want an unavailable Transient wrapping OpenError, got %v", err)
	}
	// The token surface and other surfaces are unaffected.
	f.setAPI(nil)
	if err := c.Do(context.Background(), Request{Path: "/v2/accounts"}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestLimiterPauseIsRateLimited(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		writeJSON(w, 429, `{"type":"too_many_requests","errors":[]}`)
	})
	lim := ratelimit.New(ratelimit.Config{})
	c := f.client(t, withLimiter(lim), func(c *Config) { c.RequestTimeout = time.Second })
	err := c.Do(context.Background(), Request{Path: "/v2/accounts"}, nil)
	if ze, ok := AsError(err); !ok || ze.Kind != KindRateLimited || ze.RetryAfter != 30*time.Second {
		t.Fatalf("first: %v", err)
	}
	n := len(f.requests())
	err = c.Do(context.Background(), Request{Path: "/v2/accounts"}, nil)
	ze, ok := AsError(err)
	if !ok || ze.Kind != KindRateLimited || ze.RetryAfter < 20*time.Second {
		t.Fatalf("second: %v", err)
	}
	if len(f.requests()) != n {
		t.Fatal("paused request reached Zuora")
	}
}

func TestDebugLogLinePerCall(t *testing.T) {
	f := newFake(t, nil)
	log, buf := bufferLogger()
	c := f.client(t, func(c *Config) { c.Logger = log })
	if err := c.Do(WithEventID(context.Background(), "evt-9"), Request{Path: "/v1/accounts/A"}, nil); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{`msg="zuora call"`, "method=GET", "path=/v1/accounts/A", "status=200", "zuora_request_id=req-", "track_id=evt-9", "duration="} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestMetrics(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/accounts/missing" {
			writeJSON(w, 404, `{"type":"not_found","errors":[]}`)
			return
		}
		writeJSON(w, 200, `{}`)
	})
	reg := prometheus.NewRegistry()
	c := f.client(t, func(c *Config) { c.Registerer = reg })
	_, _ = c.GetAccount(context.Background(), "acc-1")
	_, _ = c.GetAccount(context.Background(), "missing")
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]float64{}
	for _, fam := range fams {
		if fam.GetName() != "zuorasync_zuora_calls_total" {
			continue
		}
		for _, m := range fam.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["surface"] != "v2-accounts" || labels["method"] != "GET" {
				t.Errorf("labels %v", labels)
			}
			outcomes[labels["outcome"]] += m.GetCounter().GetValue()
		}
	}
	if outcomes["ok"] != 1 || outcomes["not_found"] != 1 {
		t.Fatalf("outcomes %v", outcomes)
	}
	if _, err := New(Config{BaseURL: f.srv.URL, ClientID: "a", ClientSecret: "b", Registerer: reg}); err == nil {
		t.Fatal("second client on the same registry should fail clearly")
	}
}

// A request the client refuses to build is a programming error: permanent (retrying the same call fails the same
// way), sent nowhere (not even to the token endpoint), and not Zuora's refusal (Zuora never saw it, so no
// idempotency key holds anything and the runtime must not move the event to a new key generation).
func TestInvalidRequestsArePermanentUnsentAndNotRefused(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		writeJSON(w, 500, `{}`)
	}))
	t.Cleanup(srv.Close)
	c, err := New(Config{BaseURL: srv.URL, ClientID: testClientID, ClientSecret: testClientSecret,
		Transport: srv.Client().Transport, RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]string{"name": "Acme"}
	cases := map[string]Request{
		"POST without Step":              {Method: http.MethodPost, Path: "/v2/accounts", Body: body},
		"PATCH without Step":             {Method: http.MethodPatch, Path: "/v2/accounts/acc-1", Body: body},
		"POST v1 without Step":           {Method: http.MethodPost, Path: "/v1/orders", Body: body},
		"GET without leading slash":      {Path: "v1/accounts/A-1"},
		"POST without leading slash":     {Method: http.MethodPost, Path: "v2/accounts", Body: body, Step: "account.create"},
		"PATCH without leading slash":    {Method: http.MethodPatch, Path: "v2/accounts/acc-1", Body: body, Step: "account.update"},
		"PUT with empty path":            {Method: http.MethodPut, Path: "", Body: body},
		"POST, empty path and no Step":   {Method: http.MethodPost, Path: ""},
		"absolute URL instead of a path": {Method: http.MethodPost, Path: "https://evil.example/v2/accounts", Step: "s"},
	}
	for name, req := range cases {
		for _, withEvent := range []bool{true, false} {
			ctx := context.Background()
			if withEvent {
				ctx = WithEventID(ctx, "evt-1")
			}
			err := c.Do(ctx, req, nil)
			var ze *Error
			if !errors.As(err, &ze) {
				t.Errorf("%s (event %v): want *Error, got %T %v", name, withEvent, err, err)
				continue
			}
			if !ze.Permanent() || ze.Temporary() {
				t.Errorf("%s (event %v): not permanent: %v", name, withEvent, ze)
			}
			if ze.Refused() {
				t.Errorf("%s (event %v): counted as Zuora's refusal: %v", name, withEvent, ze)
			}
			if ze.StatusCode != 0 || ze.Kind != KindValidation || !strings.Contains(ze.Error(), "not sent") {
				t.Errorf("%s (event %v): %+v", name, withEvent, ze)
			}
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the server received %d requests for calls the client must refuse to send", n)
	}
}

// Refused is Zuora saying "I did not do this write": only then may the runtime give the event fresh idempotency
// keys. Any unknown outcome must not count, or a write Zuora committed would be repeated under a new key.
func TestRefusedOnlyForZuorasRefusalOfAWrite(t *testing.T) {
	type answer struct {
		status int
		body   string
	}
	const v1Failure = `{"success":false,"processId":"P1","reasons":[{"code":53100320,"message":"'termType' is invalid"}]}`
	cases := []struct {
		name    string
		method  string
		path    string
		answer  answer
		refused bool
	}{
		// Zuora read the write and said no.
		{"POST 400", "POST", "/v2/accounts", answer{400, `{"type":"bad_request","errors":[{"code":"invalid_parameter","message":"x"}]}`}, true},
		{"PATCH 400", "PATCH", "/v2/accounts/acc-1", answer{400, `{"type":"bad_request","errors":[]}`}, true},
		// PUT carries no idempotency key: there is no stored refusal to leave behind.
		{"PUT 400", "PUT", "/v1/subscriptions/S-1/cancel", answer{400, `{"success":false,"reasons":[{"code":53000020,"message":"x"}]}`}, false},
		// A 401 is answered before anything is processed or stored.
		{"POST 401 after re-auth", "POST", "/v2/accounts", answer{401, `{"type":"unauthorized","errors":[]}`}, false},
		{"POST 402", "POST", "/v2/payments", answer{402, `{"type":"request_failed","errors":[]}`}, true},
		{"POST 403", "POST", "/v1/orders", answer{403, `{"success":false,"reasons":[{"code":50000010,"message":"no permission"}]}`}, true},
		{"POST 404", "POST", "/v1/subscriptions/S-404/renew", answer{404, `{"success":false,"reasons":[{"code":50000040,"message":"nope"}]}`}, true},
		{"PATCH 404", "PATCH", "/v2/accounts/nope", answer{404, `{"type":"not_found","errors":[]}`}, true},
		{"POST 405", "POST", "/v2/accounts", answer{405, ``}, true},
		{"POST 413", "POST", "/v1/orders", answer{413, ``}, true},
		{"POST 415", "POST", "/v1/orders", answer{415, ``}, true},
		{"POST 422", "POST", "/v1/orders", answer{422, `{}`}, true},
		{"POST 451", "POST", "/v1/orders", answer{451, ``}, true},
		{"POST v1 200 success:false", "POST", "/v1/orders", answer{200, v1Failure}, true},
		{"PATCH v1 200 success:false", "PATCH", "/v1/object/account/A-1", answer{200, `{"Success":false,"Errors":[{"Code":"INVALID_VALUE","Message":"x"}]}`}, true},
		{"POST v1 200 success:false, lock contention", "POST", "/v1/orders", answer{200, `{"success":false,"reasons":[{"code":53100050,"message":"lock competition"}]}`}, true},

		// "Not now", not "no": the write may be in flight or run on retry.
		{"POST 408", "POST", "/v1/orders", answer{408, ``}, false},
		{"POST 409", "POST", "/v2/accounts", answer{409, `{"type":"conflict","errors":[]}`}, false},
		{"POST 423", "POST", "/v1/orders", answer{423, `{"type":"locked","errors":[]}`}, false},
		{"POST 429", "POST", "/v1/orders", answer{429, `{"type":"too_many_requests","errors":[]}`}, false},
		{"PATCH 429", "PATCH", "/v2/accounts/acc-1", answer{429, ``}, false},

		// The outcome is unknown: Zuora may have committed the write.
		{"POST 500", "POST", "/v1/orders", answer{500, `{"reasons":[{"code":"50000060","message":"internal error"}]}`}, false},
		{"POST 502", "POST", "/v2/accounts", answer{502, `{"type":"bad_gateway","errors":[]}`}, false},
		{"POST 503 html", "POST", "/v1/orders", answer{503, `<html>upstream down</html>`}, false},
		{"PATCH 504", "PATCH", "/v2/accounts/acc-1", answer{504, ``}, false},
		{"POST 201 body cut off", "POST", "/v2/accounts", answer{201, `{"id":"acc-1","account_number":"A-`}, false},
		{"POST 201 not JSON", "POST", "/v2/accounts", answer{201, `<html>created</html>`}, false},
		{"POST v1 200 not JSON", "POST", "/v1/orders", answer{200, `success=false`}, false},
		{"POST 302", "POST", "/v1/orders", answer{302, ``}, false},

		// Reads are never refusals: there is no write, so no key to move away from.
		{"GET 400", "GET", "/v1/accounts/A-1", answer{400, `{"success":false,"reasons":[{"code":50000020,"message":"x"}]}`}, false},
		{"GET 404", "GET", "/v2/accounts/nope", answer{404, `{"type":"not_found","errors":[]}`}, false},
		{"GET 422", "GET", "/v1/accounts/A-1", answer{422, `{}`}, false},
		{"GET v1 200 success:false", "GET", "/v1/accounts/A-404", answer{200, `{"success":false,"reasons":[{"code":"50000040","message":"Cannot find entity"}]}`}, false},
		{"GET 500", "GET", "/v1/accounts/A-1", answer{500, ``}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.answer.body == "" {
					w.WriteHeader(tc.answer.status)
					return
				}
				writeJSON(w, tc.answer.status, tc.answer.body)
			})
			c := f.client(t)
			var body any
			if tc.method != "GET" {
				body = map[string]string{"name": "Acme"}
			}
			var out map[string]any
			err := c.Do(WithEventID(context.Background(), "evt-1"), Request{Method: tc.method, Path: tc.path, Body: body, Step: "s"}, &out)
			var ze *Error
			if !errors.As(err, &ze) {
				t.Fatalf("want *Error, got %T %v", err, err)
			}
			if ze.Refused() != tc.refused {
				t.Fatalf("Refused() = %v, want %v (%v)", ze.Refused(), tc.refused, ze)
			}
			if len(f.requests()) == 0 {
				t.Fatal("nothing reached the server")
			}
		})
	}
}

// A 201 whose body stops short of its Content-Length, and a connection that drops before any answer: the write
// may have been committed, so neither is a refusal.
func TestRefusedFalseWhenTheAnswerIsLost(t *testing.T) {
	cases := map[string]func(w http.ResponseWriter){
		"201 shorter than its Content-Length": func(w http.ResponseWriter) {
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				panic(err)
			}
			fmt.Fprint(buf, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"id\":\"acc-1\"")
			_ = buf.Flush()
			_ = conn.Close()
		},
		"connection closed before any answer": func(w http.ResponseWriter) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				panic(err)
			}
			_ = conn.Close()
		},
	}
	for name, answer := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) { answer(w) })
			c := f.client(t)
			var out map[string]any
			err := c.Do(WithEventID(context.Background(), "evt-1"),
				Request{Method: http.MethodPost, Path: "/v2/accounts", Body: map[string]string{"name": "Acme"}, Step: "account.create"}, &out)
			ze, ok := AsError(err)
			if !ok {
				t.Fatalf("want *Error, got %T %v", err, err)
			}
			t.Logf("%v", ze)
			if ze.Refused() || ze.Permanent() {
				t.Fatalf("a lost answer must be retryable and not a refusal: %v (refused %v, permanent %v)", ze, ze.Refused(), ze.Permanent())
			}
		})
	}
}
