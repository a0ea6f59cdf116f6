package zuoraapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// FuzzAnswers drives the client's real methods (answerCalls) against a server that answers with the fuzzed 2xx
// status, Content-Type, transfer and body. For every input:
//   - nothing panics and the call ends well before its deadline, after a bounded number of requests;
//   - every error is, or wraps, a *Error;
//   - a V1/CRUD answer saying success:false is an error;
//   - a method that returns what it decoded fails on an answer without a body (empty, null, 204);
//   - a transfer that is cut off, or does not decode, is an error, and so is a body in another format (HTML from
//     a proxy in place of JSON or of the describe XML);
//   - a strict prefix of the valid answer (a truncated body) is an error;
//   - the valid answer decodes without error into the values it holds.
//
// Run it with a short minimisation, e.g.
//
//	go test -run '^$' -fuzz '^FuzzAnswers$' -fuzztime 60s -fuzzminimizetime 5s -parallel 2 ./zuoraapi/
//
// An exec is an HTTP exchange (about 0.3 ms), and minimising an input costs up to the square of its length in
// execs: with the default minute per new input, most of a short run goes into minimising. (With Go 1.26 a run
// can end in a bare "context deadline exceeded" and no input written: the coordinator's own race at the end of
// -fuzztime, go.dev/issue/75804, fixed in Go 1.27. It is not a finding.)
func FuzzAnswers(f *testing.F) {
	srv := newAnswerServer(f)
	// The corpus is each call's valid answer and, in turn, one of the edge cases; TestAnswerEdges runs all of
	// them on every call (here they would only slow down the fuzzer's start).
	for i, c := range answerCalls {
		all := answerSeeds(c)
		for _, s := range []answerSeed{all[0], all[1+i%(len(all)-1)]} {
			f.Add(uint8(i), uint8(s.status-200), s.variant, []byte(s.body))
		}
	}
	f.Fuzz(func(t *testing.T, which, status, variant uint8, body []byte) {
		call := answerCalls[int(which)%len(answerCalls)]
		a := &answer{status: 200 + int(status)%100, ctype: answerTypes[int(variant)%len(answerTypes)],
			mode: transferMode(int(variant) / len(answerTypes) % int(numModes)), body: body, token: call.token}
		runAnswer(t, srv, call, a)
	})
}

// TestAnswerEdges puts every call through every edge case of answerSeeds: the valid answer in each transfer,
// cut short, paged without end, and the answers no call should take for a success.
func TestAnswerEdges(t *testing.T) {
	srv := newAnswerServer(t)
	for _, call := range answerCalls {
		t.Run(call.name, func(t *testing.T) {
			for _, s := range answerSeeds(call) {
				a := &answer{status: s.status, ctype: answerTypes[int(s.variant)%len(answerTypes)],
					mode: transferMode(int(s.variant) / len(answerTypes)), body: []byte(s.body), token: call.token}
				runAnswer(t, srv, call, a)
			}
		})
	}
}

// runAnswer makes call against a and checks what came of it.
func runAnswer(t *testing.T, srv *answerServer, call answerCall, a *answer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(srv.expect(t, a), answerTimeout)
	defer cancel()
	// A transfer that breaks off loses its connection; it gets one of its own, so that the next inputs run the
	// same code (connection set-up included) whatever came before them: the fuzzer's coverage stays stable.
	rt, c := srv.keep, srv.shared
	if !a.mode.complete() {
		rt, c = srv.once, srv.sharedOnce
	}
	if call.token {
		c = srv.client(t, rt) // a client without a token yet
	}
	start := time.Now()
	got, err := call.call(ctx, c)
	took := time.Since(start)
	srv.quiesce()
	checkAnswer(t, call, a, got, err, took)
}

const (
	// answerTimeout bounds one call; the server answers at once, so only a loop in the client comes near it.
	answerTimeout = 3 * time.Second
	// maxAnswerRequests bounds the requests one call may send when every page is the same answer: the page
	// bound of the V1 lists plus the second call of EnsureOrderCancelled.
	maxAnswerRequests = maxListPages + 1
)

// answerTypes are the Content-Types an answer is sent with ("-" = no Content-Type header at all).
var answerTypes = []string{"application/json", "application/json; charset=utf-8", "-", "text/html; charset=utf-8",
	"text/plain", "text/xml; charset=utf-8", "application/x-www-form-urlencoded", "application/problem+json"}

// transferMode is how the body travels.
type transferMode int

const (
	modePlain     transferMode = iota // Content-Length
	modeChunked                       // chunked, flushed half-way
	modeGzip                          // gzip-encoded
	modeCut                           // Content-Length promises more than is sent; the connection then closes
	modeFalseGzip                     // says gzip, is not
	numModes
)

// complete reports whether the client receives the body as it is.
func (m transferMode) complete() bool { return m == modePlain || m == modeChunked || m == modeGzip }

func variantOf(ctype string, m transferMode) uint8 {
	i := slices.Index(answerTypes, ctype)
	if i < 0 {
		i = 0
	}
	return uint8(int(m)*len(answerTypes) + i)
}

// answer is what the server sends for one fuzz input, and what it saw.
type answer struct {
	status int
	ctype  string
	mode   transferMode
	body   []byte
	token  bool // the body answers POST /oauth/token

	mu       sync.Mutex
	requests int      // API requests (not token requests)
	auth     []string // their Authorization headers
}

func (a *answer) seen() (int, []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests, slices.Clone(a.auth)
}

// received is the body the client gets: none for a 204, and what a cut-off transfer got through.
func (a *answer) received() []byte {
	if a.status == http.StatusNoContent {
		return nil
	}
	return a.body
}

// answerServer is one Zuora for all inputs: each input's answer is found by the Zuora-Track-Id its call sends.
type answerServer struct {
	srv  *httptest.Server
	next atomic.Uint64
	// keep is a transport that keeps its connection, once one that dials for every request; shared and
	// sharedOnce are clients on them.
	keep, once         http.RoundTripper
	shared, sharedOnce *Client

	mu      sync.Mutex
	answers map[string]*answer

	// served counts the requests the server took, settled those whose connection has since gone idle or closed:
	// a call is over when both agree, so no server work of one input runs into the next one's coverage.
	served, settled atomic.Int64
	connMu          sync.Mutex
	serving         map[net.Conn]bool
}

type connKey struct{}

func newAnswerServer(tb testing.TB) *answerServer {
	s := &answerServer{answers: map[string]*answer{}, serving: map[net.Conn]bool{}}
	s.srv = httptest.NewUnstartedServer(s)
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the cut-off transfers are meant
	s.srv.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, c)
	}
	s.srv.Config.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateIdle || st == http.StateClosed || st == http.StateHijacked {
			s.connMu.Lock()
			if s.serving[c] {
				delete(s.serving, c)
				s.settled.Add(1)
			}
			s.connMu.Unlock()
		}
	}
	s.srv.Start()
	tb.Cleanup(s.srv.Close)
	s.keep = s.srv.Client().Transport
	once := s.keep.(*http.Transport).Clone()
	once.DisableKeepAlives = true
	s.once = once
	s.shared, s.sharedOnce = s.client(tb, s.keep), s.client(tb, s.once)
	return s
}

func (s *answerServer) client(tb testing.TB, rt http.RoundTripper) *Client {
	tb.Helper()
	c, err := New(Config{BaseURL: s.srv.URL, ClientID: testClientID, ClientSecret: testClientSecret,
		Transport: rt, RequestTimeout: answerTimeout})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// expect registers a for the calls made with the returned context.
func (s *answerServer) expect(t *testing.T, a *answer) context.Context {
	id := "fz-" + strconv.FormatUint(s.next.Add(1), 10)
	s.mu.Lock()
	s.answers[id] = a
	s.mu.Unlock()
	t.Cleanup(func() {
		s.mu.Lock()
		delete(s.answers, id)
		s.mu.Unlock()
	})
	return WithEventID(context.Background(), id)
}

// quiesce waits (a little) until the server has finished with every request it took.
func (s *answerServer) quiesce() {
	for deadline := time.Now().Add(time.Second); s.settled.Load() < s.served.Load() && time.Now().Before(deadline); {
		runtime.Gosched()
	}
}

func (s *answerServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c, ok := r.Context().Value(connKey{}).(net.Conn); ok {
		s.connMu.Lock()
		s.serving[c] = true
		s.connMu.Unlock()
		s.served.Add(1)
	}
	_, _ = io.Copy(io.Discard, r.Body)
	s.mu.Lock()
	a := s.answers[r.Header.Get("Zuora-Track-Id")]
	s.mu.Unlock()
	if a == nil {
		http.Error(w, "no answer registered for this track id", http.StatusTeapot)
		return
	}
	if r.URL.Path == "/oauth/token" {
		if a.token {
			a.write(w)
			return
		}
		writeJSON(w, http.StatusOK, `{"access_token":"tok-fuzz","token_type":"bearer","expires_in":3599}`)
		return
	}
	a.mu.Lock()
	a.requests++
	a.auth = append(a.auth, r.Header.Get("Authorization"))
	a.mu.Unlock()
	if a.token {
		writeJSON(w, http.StatusOK, tokenAPIAnswer)
		return
	}
	a.write(w)
}

func (a *answer) write(w http.ResponseWriter) {
	h := w.Header()
	if a.ctype == "-" {
		h["Content-Type"] = nil // no sniffing either
	} else {
		h.Set("Content-Type", a.ctype)
	}
	body := a.body
	switch a.mode {
	case modeGzip:
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(body)
		_ = zw.Close()
		body = b.Bytes()
		h.Set("Content-Encoding", "gzip")
	case modeFalseGzip:
		h.Set("Content-Encoding", "gzip")
	}
	switch a.mode {
	case modeChunked:
		w.WriteHeader(a.status)
		half := len(body) / 2
		_, _ = w.Write(body[:half])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		_, _ = w.Write(body[half:])
		return
	case modeCut:
		h.Set("Content-Length", strconv.Itoa(len(body)+7))
	default:
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(body)
}

// checkAnswer asserts the properties listed on FuzzAnswers.
func checkAnswer(t *testing.T, call answerCall, a *answer, got []string, err error, took time.Duration) {
	t.Helper()
	body := a.received()
	trimmed := bytes.TrimSpace(body)
	desc := fmt.Sprintf("%s answered %d %q (%s) with %q", call.name, a.status, a.ctype, modeName(a.mode), abbreviate(body))
	requests, auth := a.seen()
	if requests > maxAnswerRequests {
		t.Fatalf("%s: %d requests for one call", desc, requests)
	}
	if err != nil {
		var zerr *Error
		if !errors.As(err, &zerr) {
			t.Fatalf("%s: error %T %v is not a *Error", desc, err, err)
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			t.Fatalf("%s: the call did not end after %s (%d requests): %v", desc, took, requests, err)
		}
		if zerr.Error() == "" || zerr.Kind < KindUnknown || zerr.Kind > KindConflict {
			t.Fatalf("%s: unclassified error %#v", desc, zerr)
		}
		_, _, _ = zerr.Permanent(), zerr.Refused(), zerr.Unavailable()
	}

	// whole: the client receives body as it is (a 204 has none, however it is sent).
	whole := a.mode.complete() || a.status == http.StatusNoContent
	valid := whole && string(body) == call.seed && !(call.token && formEncoded(a.ctype))
	if valid {
		if err != nil {
			t.Fatalf("%s: the valid answer failed: %v", desc, err)
		}
		if !slices.Equal(got, call.want) {
			t.Fatalf("%s: decoded %q, the answer says %q", desc, got, call.want)
		}
		if call.token && (len(auth) != 1 || auth[0] != "Bearer "+seedAccessToken) {
			t.Fatalf("%s: the API call carried %q, not the token of the answer", desc, auth)
		}
	}
	if err != nil {
		return
	}
	switch {
	case call.value && whole && (len(trimmed) == 0 || string(trimmed) == "null"):
		t.Fatalf("%s: an answer without a body became a success (%q)", desc, got)
	case !whole && len(body) > 0 && !isGzip(body):
		t.Fatalf("%s: a body that did not arrive whole became a success (%q)", desc, got)
	case whole && call.ctype == "" && !call.token && len(trimmed) > 0 && !json.Valid(trimmed):
		t.Fatalf("%s: an answer that is not JSON became a success (%q)", desc, got)
	case whole && call.ctype != "" && !bytes.Contains(body, []byte("<object")):
		t.Fatalf("%s: an answer that is not an object description became a success (%q)", desc, got)
	case !call.v2 && !call.token && saysFailure(body):
		t.Fatalf("%s: success:false became a success (%q)", desc, got)
	case whole && len(body) > 0 && len(body) < len(call.seed) && strings.HasPrefix(call.seed, string(body)) &&
		!(call.token && formEncoded(a.ctype)):
		t.Fatalf("%s: a truncated answer became a success (%q)", desc, got)
	}
}

// saysFailure reports whether body is a JSON object with one member named success (in any case) that is false.
func saysFailure(body []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	n, failed := 0, false
	for k, v := range m {
		if strings.EqualFold(k, "success") {
			n++
			failed = string(bytes.TrimSpace(v)) == "false"
		}
	}
	return n == 1 && failed
}

// formEncoded: the Content-Types for which golang.org/x/oauth2 reads a token answer as a form, not JSON.
func formEncoded(ctype string) bool {
	return strings.HasPrefix(ctype, "text/plain") || strings.HasPrefix(ctype, "application/x-www-form-urlencoded")
}

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

func modeName(m transferMode) string {
	return [...]string{"plain", "chunked", "gzip", "cut", "false gzip"}[m]
}

func abbreviate(b []byte) string {
	if len(b) > 160 {
		return string(b[:160]) + "…"
	}
	return string(b)
}

// answerSeed is one corpus entry of a call.
type answerSeed struct {
	status  int
	variant uint8
	body    string
}

// answerSeeds are a call's valid answer in every transfer, its truncations and the edge cases of any answer.
func answerSeeds(c answerCall) []answerSeed {
	js := variantOf("application/json", modePlain)
	seeds := []answerSeed{{c.status, variantOf(c.ctype, modePlain), c.seed}}
	if c.ctype == "" {
		seeds = append(seeds,
			answerSeed{c.status, variantOf("application/json; charset=utf-8", modeChunked), c.seed},
			answerSeed{c.status, variantOf("-", modeGzip), c.seed},
			answerSeed{c.status, variantOf("application/json", modeCut), c.seed},
			answerSeed{c.status, variantOf("application/json", modeFalseGzip), c.seed})
	}
	if len(c.seed) > 1 {
		seeds = append(seeds, answerSeed{c.status, js, c.seed[:len(c.seed)/2]}, answerSeed{c.status, js, c.seed[:len(c.seed)-1]})
	}
	if strings.HasPrefix(c.seed, "{") && strings.HasSuffix(c.seed, "}") {
		// Every page links to a next one: the paging loops have to end.
		paged := c.seed[:len(c.seed)-1] + `,"next_page":"cursor-2","nextPage":"/v1/page?page=2","next":"/next?start=51"}`
		seeds = append(seeds, answerSeed{c.status, js, paged})
	}
	deep := strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001)
	for _, e := range []answerSeed{
		{200, js, ""},
		{200, js, "null"},
		{204, js, ""},
		{200, js, "{}"},
		{200, js, "[]"},
		{200, js, `{"success":true}`},
		{200, js, `{"success":false,"processId":"3F7EA3FD706C7E7C","reasons":[{"code":53100020,"message":"'termType' value should be one of: TERMED, EVERGREEN"}]}`},
		{200, js, `{"Success":false,"Errors":[{"Code":"INVALID_VALUE","Message":"invalid"}]}`},
		{200, variantOf("text/html; charset=utf-8", modePlain), "<html><head><title>Gateway</title></head><body><h1>Sign in</h1></body></html>"},
		{200, js, `{"id":12345,"data":{"a":1},"orders":"none","payments":7,"success":"true","basicInfo":[],"order":false}`},
		{200, js, `{"id":"x","amount":1e999,"quantity":123456789012345678901234567890.123456789,"bill_cycle_day":99999999999999999999,` +
			`"version":-1e308,"unit_amounts":{"USD":"1e65"},"dueDays":1e3,"expires_in":1e30}`},
		{200, js, deep},
		{200, js, "\xff\xfe{\x00\"\x00"},
	} {
		if e.body != c.seed {
			seeds = append(seeds, e)
		}
	}
	return seeds
}
