package zuorasim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOAuthToken(t *testing.T) {
	h := newHarness(t, Config{})
	post := func(form url.Values) result {
		t.Helper()
		h.token = ""
		defer func() { h.token = "" }()
		return h.do("POST", "/oauth/token", form.Encode(), "Content-Type: application/x-www-form-urlencoded")
	}
	good := url.Values{"client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}, "grant_type": {"client_credentials"}}

	r := post(good)
	expectStatus(t, r, 200)
	m := r.json(t)
	if m["token_type"] != "bearer" || m["expires_in"] != float64(3599) || m["access_token"] == "" || m["jti"] == "" || m["scope"] == "" {
		t.Fatalf("token response = %s", r.body)
	}
	if r.header.Get("X-RateLimit-Limit-minute") == "" || len(r.header.Get("Zuora-Request-Id")) != 36 {
		t.Fatalf("token headers = %v", r.header)
	}

	bad := url.Values{"client_id": {DefaultClientID}, "client_secret": {"wrong"}, "grant_type": {"client_credentials"}}
	if code := v1Err(t, post(bad), 401); code != 90000011 {
		t.Fatalf("bad credentials code = %v", code)
	}
	grant := url.Values{"client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}, "grant_type": {"password"}}
	v1Err(t, post(grant), 400)
	v1Err(t, post(url.Values{"grant_type": {"client_credentials"}}), 400)
}

func TestAuthFailures(t *testing.T) {
	h := newHarness(t, Config{})
	check401 := func(name string) {
		t.Helper()
		r := h.do("GET", "/v2/accounts", nil)
		qsErr(t, r, 401, "unauthorized")
		if string(r.body) != `{"type":"unauthorized","errors":[],"retryable":false}` {
			t.Errorf("%s: quickstart 401 body = %s", name, r.body)
		}
		if got := r.header.Get("WWW-Authenticate"); got != wwwAuthenticate {
			t.Errorf("%s: WWW-Authenticate = %q", name, got)
		}
		r = h.do("GET", "/v1/accounts/A00000001", nil)
		if code := v1Err(t, r, 401); code != 90000011 {
			t.Errorf("%s: v1 401 code = %v", name, code)
		}
		if r.header.Get("WWW-Authenticate") != wwwAuthenticate {
			t.Errorf("%s: v1 401 without WWW-Authenticate", name)
		}
	}

	valid := h.token
	expectStatus(t, h.do("GET", "/v2/accounts", nil), 200)

	h.token = ""
	check401("missing token")
	h.token = "not-a-token"
	check401("unknown token")

	// Expiry follows the simulated clock.
	h.token = valid
	h.sim.Advance(3598 * time.Second)
	expectStatus(t, h.do("GET", "/v2/accounts", nil), 200)
	h.sim.Advance(2 * time.Second)
	check401("expired token")

	// ExpireTokens (and its admin route) invalidates every token.
	h.token = h.newToken()
	expectStatus(t, h.do("GET", "/v2/accounts", nil), 200)
	resp, err := http.Post(h.srv.URL+"/_sim/tokens/expire", "", nil)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("expire tokens: %v %v", resp, err)
	}
	resp.Body.Close()
	check401("tokens expired by admin")
}

func TestEnvelopesBySurface(t *testing.T) {
	h := newHarness(t, Config{})

	e := qsErr(t, h.do("GET", "/v2/accounts/nope", nil), 404, "not_found")
	if e["code"] != "not_found" || e["message"] == "" {
		t.Fatalf("quickstart 404 error = %v", e)
	}
	if code := v1Err(t, h.do("GET", "/v1/accounts/nope", nil), 404); code != 50000040 {
		t.Fatalf("v1 404 code = %v", code)
	}

	r := h.do("GET", "/v1/object/invoice/123", nil)
	expectStatus(t, r, 404)
	var crud struct {
		Success *bool
		Errors  []struct{ Code, Message string }
	}
	if err := json.Unmarshal(r.body, &crud); err != nil || crud.Success == nil || *crud.Success || len(crud.Errors) != 1 || crud.Errors[0].Code != "INVALID_ID" {
		t.Fatalf("CRUD envelope = %s", r.body)
	}
	if !strings.Contains(string(r.body), `"Success":false`) || !strings.Contains(string(r.body), `"Errors":[{"Code":`) {
		t.Fatalf("CRUD envelope keys = %s", r.body)
	}

	r = h.do("GET", "/notifications/notification-definitions/xyz", nil)
	expectStatus(t, r, 404)
	var notif struct {
		Reasons []struct{ Code, Message string }
	}
	if err := json.Unmarshal(r.body, &notif); err != nil || len(notif.Reasons) != 1 || notif.Reasons[0].Code == "" {
		t.Fatalf("notification envelope = %s", r.body)
	}

	// Known path, wrong method.
	qsErr(t, h.do("DELETE", "/v2/accounts", nil), 405, "method_not_allowed")
	if code := v1Err(t, h.do("POST", "/v1/settings/payment-terms", "{}"), 405); code%100 != catUnsupported {
		t.Fatalf("v1 405 code = %v", code)
	}

	// Malformed JSON.
	e = qsErr(t, h.do("POST", "/v2/accounts", "{not json"), 400, "bad_request")
	if e["code"] != "invalid_request" {
		t.Fatalf("malformed body error = %v", e)
	}
}

func TestStringReasonCodes(t *testing.T) {
	h := newHarness(t, Config{StringReasonCodes: true})
	r := h.do("GET", "/v1/accounts/nope", nil)
	if !strings.Contains(string(r.body), `"code":"50000040"`) {
		t.Fatalf("body = %s", r.body)
	}
}

func TestCommonHeaders(t *testing.T) {
	h := newHarness(t, Config{})
	r := h.do("GET", "/v1/settings/payment-terms", nil, "Zuora-Track-Id: evt-123")
	expectStatus(t, r, 200)
	if got := r.header.Get("Zuora-Request-Id"); len(got) != 36 {
		t.Errorf("Zuora-Request-Id = %q", got)
	}
	if got := r.header.Get("Zuora-Track-Id"); got != "evt-123" {
		t.Errorf("Zuora-Track-Id = %q", got)
	}
	for _, k := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
		if r.header.Get(k) == "" {
			t.Errorf("%s missing", k)
		}
	}
	if r.header.Get("Concurrency-Limit-Type") != "Default" || r.header.Get("Concurrency-Limit-Limit") != "40" ||
		r.header.Get("Concurrency-Limit-Remaining") != "39" {
		t.Errorf("concurrency headers = %v", r.header)
	}

	r = h.do("GET", "/v2/accounts", nil)
	if r.header.Get("Zuora-Track-Id") != "" {
		t.Errorf("track id echoed although not sent")
	}
	if r.header.Get("Concurrency-Limit-Type") != "" {
		t.Errorf("concurrency headers on a /v2 response")
	}
	if r.header.Get("RateLimit-Remaining") == "" {
		t.Errorf("RateLimit-Remaining missing on /v2")
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		method, path string
		want         concurrencyClass
	}{
		{"POST", "/v2/accounts", classObjectQuery},
		{"GET", "/v2/usage_records", classObjectQuery},
		{"POST", "/v1/orders/preview", classHighVolume},
		{"POST", "/v1/rsa-signatures", classHighVolume},
		{"POST", "/v1/payments", classHighVolume},
		{"POST", "/v1/orders", classHighVolume},
		{"GET", "/v1/accounts/A1", classDefault},
		{"GET", "/v1/orders/O-1", classDefault},
	}
	for _, c := range cases {
		if got := classify(c.method, c.path); got != c.want {
			t.Errorf("classify(%s %s) = %v, want %v", c.method, c.path, got, c.want)
		}
	}
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, Config{})
	h.sim.SetLimits(Limits{RequestsPerMinute: 3})
	for i := range 3 {
		r := h.do("GET", "/v2/accounts", nil)
		expectStatus(t, r, 200)
		if got := r.header.Get("RateLimit-Remaining"); got != strconv.Itoa(2-i) {
			t.Fatalf("request %d: RateLimit-Remaining = %s", i, got)
		}
	}
	r := h.do("GET", "/v2/accounts", nil)
	qsErr(t, r, 429, "too_many_requests")
	if string(r.body) != `{"type":"too_many_requests","errors":[],"retryable":true}` {
		t.Fatalf("429 body = %s", r.body)
	}
	ra, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 60 {
		t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	if code := v1Err(t, h.do("GET", "/v1/accounts/x", nil), 429); code%100 != 70 {
		t.Fatalf("v1 429 code = %v, want category 70", code)
	}
	// Tokens are not limited by the API budget.
	h.newToken()
	// A new window opens when the simulated minute ends.
	h.sim.Advance(time.Duration(ra) * time.Second)
	expectStatus(t, h.do("GET", "/v2/accounts", nil), 200)
}

func TestConcurrencyLimit(t *testing.T) {
	h := newHarness(t, Config{})
	h.sim.SetLimits(Limits{Default: 1})
	h.sim.InjectFault(Fault{Method: "GET", PathPrefix: "/v1/settings/", Hang: true, Times: 1})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := h.send(ctx, "GET", "/v1/settings/payment-terms", nil)
		done <- err
	}()
	waitFor(t, func() bool {
		h.sim.limits.mu.Lock()
		defer h.sim.limits.mu.Unlock()
		return h.sim.limits.inflight[classDefault] == 1
	})

	r := h.do("GET", "/v1/accounts/A1", nil)
	if code := v1Err(t, r, 429); code%100 != 70 {
		t.Fatalf("code = %v", code)
	}
	if r.header.Get("Retry-After") == "" || r.header.Get("Concurrency-Limit-Remaining") != "0" {
		t.Fatalf("headers = %v", r.header)
	}
	// Other classes are not affected.
	expectStatus(t, h.do("GET", "/v2/accounts", nil), 200)

	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("hung request ended with %v", err)
	}
	waitFor(t, func() bool { // the hung request is logged once it has released its slot
		for _, rec := range h.sim.Requests() {
			if rec.Fault != "" {
				return true
			}
		}
		return false
	})
	expectStatus(t, h.do("GET", "/v1/settings/payment-terms", nil), 200)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestIdempotentReplay(t *testing.T) {
	h := newHarness(t, Config{})
	key := "Idempotency-Key: evt-1/create-account"
	r1 := h.do("POST", "/v2/accounts", validAccount("cust-1"), key)
	expectStatus(t, r1, 201)
	r2 := h.do("POST", "/v2/accounts", validAccount("cust-1"), "idempotency-key: evt-1/create-account", "Zuora-Track-Id: retry")
	expectStatus(t, r2, 201)
	if string(r1.body) != string(r2.body) {
		t.Fatalf("replayed body differs:\n%s\n%s", r1.body, r2.body)
	}
	if r1.header.Get("Zuora-Request-Id") != r2.header.Get("Zuora-Request-Id") {
		t.Errorf("replay has a different Zuora-Request-Id")
	}
	if r2.header.Get("Zuora-Track-Id") != "retry" {
		t.Errorf("replay did not echo the retry's track id")
	}
	if n := len(h.sim.State().Accounts); n != 1 {
		t.Fatalf("accounts = %d, want 1", n)
	}
	reqs := h.sim.Requests()
	last := reqs[len(reqs)-1]
	if !last.Replayed || last.IdempotencyKey != "evt-1/create-account" || last.TrackID != "retry" || last.Status != 201 {
		t.Fatalf("request log entry = %+v", last)
	}
	if reqs[len(reqs)-2].Replayed {
		t.Fatalf("first request marked as replayed")
	}

	// Same key, other path or method: 422.
	acct := r1.json(t)
	qsErr(t, h.do("PATCH", "/v2/accounts/"+acct["id"].(string), map[string]any{"name": "x"}, key), 422, "bad_request")
	// GET ignores the key.
	expectStatus(t, h.do("GET", "/v2/accounts/"+acct["id"].(string), nil, key), 200)

	// Failures are stored too: a different body with the same key still gets the stored 400.
	bad := validAccount("cust-2")
	delete(bad, "name")
	qsErr(t, h.do("POST", "/v2/accounts", bad, "Idempotency-Key: k-bad"), 400, "bad_request")
	r := h.do("POST", "/v2/accounts", validAccount("cust-2"), "Idempotency-Key: k-bad")
	qsErr(t, r, 400, "bad_request")

	// Keys longer than 255 characters are rejected.
	qsErr(t, h.do("POST", "/v2/accounts", validAccount("c3"), "Idempotency-Key: "+strings.Repeat("k", 256)), 400, "bad_request")
}

func TestIdempotencyExpiry(t *testing.T) {
	h := newHarness(t, Config{})
	key := "Idempotency-Key: k1"
	first := h.createAccount("c1", key)
	h.sim.Advance(23 * time.Hour)
	h.token = h.newToken()
	if again := h.createAccount("c1", key); again["id"] != first["id"] {
		t.Fatalf("replay within 24h created a new account")
	}
	h.sim.Advance(time.Hour + time.Second)
	h.token = h.newToken()
	if again := h.createAccount("c1", key); again["id"] == first["id"] {
		t.Fatalf("key still replayed after 24h")
	}
	if n := len(h.sim.State().Accounts); n != 2 {
		t.Fatalf("accounts = %d, want 2", n)
	}
}

func TestIdempotencyConflictWhileRunning(t *testing.T) {
	h := newHarness(t, Config{})
	h.sim.InjectFault(Fault{Method: "POST", PathPrefix: "/v2/accounts", Latency: 300 * time.Millisecond, Times: 1})
	key := "Idempotency-Key: slow"
	first := make(chan result, 1)
	go func() {
		res, _ := h.send(context.Background(), "POST", "/v2/accounts", validAccount("c1"), key)
		first <- res
	}()
	waitFor(t, func() bool {
		h.sim.idem.mu.Lock()
		defer h.sim.idem.mu.Unlock()
		return h.sim.idem.entries["slow"] != nil
	})
	qsErr(t, h.do("POST", "/v2/accounts", validAccount("c1"), key), 409, "conflict")
	expectStatus(t, <-first, 201)
	expectStatus(t, h.do("POST", "/v2/accounts", validAccount("c1"), key), 201)
	if n := len(h.sim.State().Accounts); n != 1 {
		t.Fatalf("accounts = %d", n)
	}
}

func TestFaults(t *testing.T) {
	h := newHarness(t, Config{})

	t.Run("next N with envelope", func(t *testing.T) {
		id := h.sim.InjectFault(Fault{Method: "GET", PathPrefix: "/v2/accounts", Status: 503, Times: 2, RetryAfter: 7})
		for range 2 {
			r := h.do("GET", "/v2/accounts", nil)
			qsErr(t, r, 503, "internal_server_error")
			if r.header.Get("Retry-After") != "7" {
				t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
			}
		}
		expectStatus(t, h.do("GET", "/v2/accounts", nil), 200)
		if f := h.sim.Faults(); len(f) != 1 || f[0].ID != id || f[0].Fired != 2 {
			t.Fatalf("faults = %+v", f)
		}
		h.sim.ClearFaults()
	})

	t.Run("regexp and v1 envelope", func(t *testing.T) {
		h.sim.InjectFault(Fault{PathRegexp: `^/v1/accounts/[^/]+$`, Status: 500, Probability: 1})
		if code := v1Err(t, h.do("GET", "/v1/accounts/A1", nil), 500); code%100 != catTemporary {
			t.Fatalf("code = %v", code)
		}
		expectStatus(t, h.do("GET", "/v1/settings/payment-terms", nil), 200)
		h.sim.ClearFaults()
		v1Err(t, h.do("GET", "/v1/accounts/A1", nil), 404)
	})

	t.Run("probability", func(t *testing.T) {
		h.sim.InjectFault(Fault{PathPrefix: "/v2/", Status: 502, Probability: 0.5})
		failed := 0
		for range 40 {
			if h.do("GET", "/v2/accounts", nil).status == 502 {
				failed++
			}
		}
		if failed == 0 || failed == 40 {
			t.Fatalf("probability 0.5 failed %d of 40", failed)
		}
		h.sim.ClearFaults()
	})

	t.Run("latency", func(t *testing.T) {
		h.sim.InjectFault(Fault{PathPrefix: "/v2/accounts", Latency: 150 * time.Millisecond, Times: 1})
		start := time.Now()
		expectStatus(t, h.do("GET", "/v2/accounts", nil), 200)
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Fatalf("latency fault took only %v", d)
		}
	})

	t.Run("hang until the client gives up", func(t *testing.T) {
		h.sim.InjectFault(Fault{PathPrefix: "/v2/accounts", Hang: true, Times: 1})
		h.sim.ResetRequests()
		start := time.Now() // before the deadline is set: the deadline is 200 ms from then at the latest
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := h.send(ctx, "GET", "/v2/accounts", nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("hung request returned %v", err)
		}
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Fatalf("returned after %v", d)
		}
		waitFor(t, func() bool { return len(h.sim.Requests()) == 1 })
		if rec := h.sim.Requests()[0]; rec.Status != 0 || rec.Fault == "" {
			t.Fatalf("log entry = %+v", rec)
		}
	})

	t.Run("after commit", func(t *testing.T) {
		h.sim.InjectFault(Fault{Method: "POST", PathPrefix: "/v2/accounts", Status: 504, AfterCommit: true, Times: 1})
		before := len(h.sim.State().Accounts)
		qsErr(t, h.do("POST", "/v2/accounts", validAccount("lost"), "Idempotency-Key: lost-1"), 504, "gateway_timeout")
		if got := len(h.sim.State().Accounts); got != before+1 {
			t.Fatalf("account not created behind the fault")
		}
		r := h.do("POST", "/v2/accounts", validAccount("lost"), "Idempotency-Key: lost-1")
		expectStatus(t, r, 201)
		if got := len(h.sim.State().Accounts); got != before+1 {
			t.Fatalf("retry created a second account")
		}
	})

	t.Run("admin HTTP", func(t *testing.T) {
		resp, err := http.Post(h.srv.URL+"/_sim/faults", "application/json",
			strings.NewReader(`{"method":"GET","pathPrefix":"/v1/settings","status":429,"times":1,"latency":"20ms"}`))
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("POST /_sim/faults: %v %v", resp, err)
		}
		var created struct{ ID string }
		_ = json.NewDecoder(resp.Body).Decode(&created)
		resp.Body.Close()
		if created.ID == "" {
			t.Fatal("no fault id")
		}
		r := h.do("GET", "/v1/settings/payment-terms", nil)
		v1Err(t, r, 429)
		if r.header.Get("Retry-After") != "1" {
			t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
		}
		resp, err = http.Post(h.srv.URL+"/_sim/faults", "application/json", strings.NewReader(`{"pathRegexp":"(","status":500}`))
		if err != nil || resp.StatusCode != 400 {
			t.Fatalf("invalid fault accepted: %v %v", resp, err)
		}
		resp.Body.Close()
		h.sim.InjectFault(Fault{Status: 500})
		req, _ := http.NewRequest("DELETE", h.srv.URL+"/_sim/faults", nil)
		resp, err = http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 204 {
			t.Fatalf("DELETE /_sim/faults: %v %v", resp, err)
		}
		resp.Body.Close()
		if len(h.sim.Faults()) != 0 {
			t.Fatal("faults not cleared")
		}
	})
}

func TestFaultJSON(t *testing.T) {
	var f Fault
	if err := json.Unmarshal([]byte(`{"latency":250,"hang":false,"status":500}`), &f); err != nil || f.Latency != 250*time.Millisecond {
		t.Fatalf("latency ms: %v %v", f.Latency, err)
	}
	b, err := json.Marshal(Fault{Latency: time.Second, Status: 500})
	if err != nil || !strings.Contains(string(b), `"latency":"1s"`) {
		t.Fatalf("marshal = %s %v", b, err)
	}
	if err := json.Unmarshal([]byte(`{"latency":"soon"}`), &f); err == nil {
		t.Fatal("bad latency accepted")
	}
}

func TestRequestLogAndAdmin(t *testing.T) {
	h := newHarness(t, Config{})
	h.sim.ResetRequests()
	h.createAccount("c1")
	h.do("GET", "/v2/accounts?page_size=5", nil)
	var reqs []RequestRecord
	getJSON(t, h.srv.URL+"/_sim/requests", &reqs)
	if len(reqs) != 2 || reqs[0].Method != "POST" || reqs[0].Path != "/v2/accounts" || reqs[0].Status != 201 ||
		reqs[1].Query != "page_size=5" {
		t.Fatalf("requests = %+v", reqs)
	}
	req, _ := http.NewRequest("DELETE", h.srv.URL+"/_sim/requests", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("DELETE requests: %v", err)
	}
	resp.Body.Close()
	if len(h.sim.Requests()) != 0 {
		t.Fatal("log not cleared")
	}

	var clock struct{ Now time.Time }
	before := h.sim.Now()
	postJSON(t, h.srv.URL+"/_sim/clock/advance", `{"seconds":3600}`, &clock)
	if d := clock.Now.Sub(before); d < time.Hour || d > time.Hour+time.Minute {
		t.Fatalf("clock advanced by %v", d)
	}

	postJSON(t, h.srv.URL+"/_sim/reset", "", nil)
	if len(h.sim.State().Accounts) != 0 || time.Until(h.sim.Now()) > time.Minute {
		t.Fatal("reset did not clear state and clock")
	}
	resp, err = http.Get(h.srv.URL + "/_sim/nope")
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("unknown admin route: %v %v", resp, err)
	}
	resp.Body.Close()
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func postJSON(t *testing.T, url, body string, v any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("POST %s: %d", url, resp.StatusCode)
	}
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("POST %s: %v", url, err)
		}
	}
}

func TestConcurrentCreates(t *testing.T) {
	h := newHarness(t, Config{})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			res, err := h.send(context.Background(), "POST", "/v2/accounts", validAccount(fmt.Sprint("c", i)))
			if err != nil || res.status != 201 {
				t.Errorf("create %d: %v %d", i, err, res.status)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, a := range h.sim.State().Accounts {
		if seen[a.AccountNumber] {
			t.Fatalf("duplicate account number %s", a.AccountNumber)
		}
		seen[a.AccountNumber] = true
	}
	if len(seen) != 20 {
		t.Fatalf("accounts = %d", len(seen))
	}
}
