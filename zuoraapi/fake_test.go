package zuoraapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/ratelimit"
)

const (
	testClientID     = "0123456789abcdef0123456789abcdef0123" // 36 chars, like Zuora's
	testClientSecret = "s3cr3t"
)

// recorded is one request as the fake Zuora saw it.
type recorded struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// fakeZuora is a minimal Zuora: an OAuth token endpoint that checks the client-credentials form, bearer
// checks on every other path, and a per-test API handler.
type fakeZuora struct {
	t   *testing.T
	srv *httptest.Server

	mu          sync.Mutex
	tokenCalls  int
	tokenReqs   []recorded
	validTokens map[string]bool
	apiReqs     []recorded
	api         http.HandlerFunc
}

func newFake(t *testing.T, api http.HandlerFunc) *fakeZuora {
	t.Helper()
	f := &fakeZuora{t: t, validTokens: map[string]bool{}, api: api}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeZuora) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := recorded{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body}
	w.Header().Set("Zuora-Request-Id", fmt.Sprintf("req-%d", time.Now().UnixNano()))
	if r.URL.Path == "/oauth/token" {
		f.serveToken(w, r, rec)
		return
	}
	f.mu.Lock()
	f.apiReqs = append(f.apiReqs, rec)
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	ok := f.validTokens[tok]
	api := f.api
	f.mu.Unlock()
	if !ok {
		w.Header().Set("WWW-Authenticate", "Bearer realm=Zuora API")
		writeJSON(w, http.StatusUnauthorized, `{"type":"unauthorized","errors":[],"retryable":false}`)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if api == nil {
		writeJSON(w, 200, `{"id":"fake-id"}`) // every object Zuora answers with has an id
		return
	}
	api(w, r)
}

func (f *fakeZuora) serveToken(w http.ResponseWriter, r *http.Request, rec recorded) {
	f.mu.Lock()
	f.tokenCalls++
	n := f.tokenCalls
	f.tokenReqs = append(f.tokenReqs, rec)
	f.mu.Unlock()
	if r.Method != http.MethodPost || r.Header.Get("Authorization") != "" ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		writeJSON(w, 400, `{"message":"bad token request"}`)
		return
	}
	form, err := url.ParseQuery(string(rec.Body))
	if err != nil || form.Get("grant_type") != "client_credentials" ||
		form.Get("client_id") != testClientID || form.Get("client_secret") != testClientSecret {
		writeJSON(w, 401, `{"message":"Invalid client credentials"}`)
		return
	}
	tok := fmt.Sprintf("tok-%d", n)
	f.mu.Lock()
	f.validTokens[tok] = true
	f.mu.Unlock()
	writeJSON(w, 200, fmt.Sprintf(`{"access_token":%q,"token_type":"bearer","expires_in":3599,"scope":"tenant.1","jti":%q}`, tok, tok))
}

// revokeTokens makes every issued token invalid, as an early expiry would.
func (f *fakeZuora) revokeTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.validTokens)
}

func (f *fakeZuora) setAPI(h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.api = h
}

func (f *fakeZuora) tokens() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenCalls
}

func (f *fakeZuora) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.apiReqs...)
}

func (f *fakeZuora) client(t *testing.T, mod ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: f.srv.URL, ClientID: testClientID, ClientSecret: testClientSecret,
		Transport: f.srv.Client().Transport, RequestTimeout: 5 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func withLimiter(l *ratelimit.Limiter) func(*Config) { return func(c *Config) { c.Limiter = l } }

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func jsonBody(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return m
}

// syncBuffer collects log output from concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func bufferLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}
