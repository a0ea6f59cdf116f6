package zuorasim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// harness is a simulator behind a real HTTP server plus a small client.
type harness struct {
	t     *testing.T
	sim   *Sim
	srv   *httptest.Server
	token string
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	sim := New(cfg)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() {
		sim.Close()
		srv.Close()
	})
	h := &harness{t: t, sim: sim, srv: srv}
	h.token = h.newToken()
	return h
}

func (h *harness) newToken() string {
	h.t.Helper()
	form := url.Values{"client_id": {h.sim.cfg.ClientID}, "client_secret": {h.sim.cfg.ClientSecret},
		"grant_type": {"client_credentials"}}
	resp, err := http.PostForm(h.srv.URL+"/oauth/token", form)
	if err != nil {
		h.t.Fatalf("token: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("token: status %d", resp.StatusCode)
	}
	var tr tokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		h.t.Fatalf("token: %v", err)
	}
	return tr.AccessToken
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// do sends a request with the harness token; body may be nil, a string (sent raw) or a value (JSON-encoded).
// Extra headers come as "Name: value" strings.
func (h *harness) do(method, path string, body any, headers ...string) result {
	h.t.Helper()
	return h.doCtx(context.Background(), method, path, body, headers...)
}

func (h *harness) doCtx(ctx context.Context, method, path string, body any, headers ...string) result {
	h.t.Helper()
	res, err := h.send(ctx, method, path, body, headers...)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	return res
}

func (h *harness) send(ctx context.Context, method, path string, body any, headers ...string) (result, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			return result{}, err
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.srv.URL+path, rd)
	if err != nil {
		return result{}, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	for _, hd := range headers {
		k, v, _ := strings.Cut(hd, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{}, err
	}
	return result{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func expectStatus(t *testing.T, r result, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status = %d, want %d; body: %s", r.status, want, r.body)
	}
}

// validAccount is a minimal valid Quickstart create body.
func validAccount(customerID string) map[string]any {
	return map[string]any{
		"name":     "Acme " + customerID,
		"currency": "USD",
		"bill_to": map[string]any{
			"first_name": "Amy", "last_name": "Lawrence", "email": "amy@example.com",
			"address": map[string]any{"line1": "1 Main St", "city": "San Jose", "state": "CA", "country": "USA", "postal_code": "95100"},
		},
		"custom_fields": map[string]any{"stiggCustomerId__c": customerID, "stiggEntityUrl__c": "https://app.stigg.io/c/" + customerID},
	}
}

func (h *harness) createAccount(customerID string, headers ...string) map[string]any {
	h.t.Helper()
	r := h.do("POST", "/v2/accounts", validAccount(customerID), headers...)
	expectStatus(h.t, r, http.StatusCreated)
	return r.json(h.t)
}

// qsError asserts a Quickstart error envelope and returns its first error (if any).
func qsErr(t *testing.T, r result, status int, typ string) map[string]any {
	t.Helper()
	expectStatus(t, r, status)
	m := r.json(t)
	if m["type"] != typ {
		t.Fatalf("type = %v, want %s; body %s", m["type"], typ, r.body)
	}
	if _, ok := m["retryable"].(bool); !ok {
		t.Fatalf("retryable missing: %s", r.body)
	}
	errs, ok := m["errors"].([]any)
	if !ok {
		t.Fatalf("errors is not a list: %s", r.body)
	}
	if len(errs) == 0 {
		return nil
	}
	return errs[0].(map[string]any)
}

// v1Err asserts a V1 error envelope and returns its reason code.
func v1Err(t *testing.T, r result, status int) int {
	t.Helper()
	expectStatus(t, r, status)
	m := r.json(t)
	if m["success"] != false {
		t.Fatalf("success = %v, want false: %s", m["success"], r.body)
	}
	if pid, _ := m["processId"].(string); pid == "" {
		t.Fatalf("processId missing: %s", r.body)
	}
	if rid, _ := m["requestId"].(string); len(rid) != 36 {
		t.Fatalf("requestId = %q, want 36 chars", rid)
	}
	reasons, _ := m["reasons"].([]any)
	if len(reasons) != 1 {
		t.Fatalf("reasons = %v", m["reasons"])
	}
	reason := reasons[0].(map[string]any)
	code, ok := reason["code"].(float64)
	if !ok || code < 10000000 || code > 99999999 {
		t.Fatalf("reason code = %v, want an 8-digit number", reason["code"])
	}
	return int(code)
}
