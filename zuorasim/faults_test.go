package zuorasim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Tests for the faults that spoil a committed success answer (truncate, garbleBody). Faults are injected through
// the admin route, as the end-to-end tests do.

// addFaultHTTP posts a fault rule to /_sim/faults and returns its id.
func addFaultHTTP(t *testing.T, h *harness, body string) string {
	t.Helper()
	var created struct{ ID string }
	postJSON(t, h.srv.URL+"/_sim/faults", body, &created)
	if created.ID == "" {
		t.Fatalf("no fault id for %s", body)
	}
	return created.ID
}

// rawAnswer is a response as far as the client got: sendRaw keeps the status, headers and the bytes read before a
// body read error, which h.send turns into a bare error.
type rawAnswer struct {
	status        int
	header        http.Header
	contentLength int64
	body          []byte
	readErr       error
}

func sendRaw(t *testing.T, h *harness, body any, headers ...string) rawAnswer {
	t.Helper()
	buf, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", h.srv.URL+"/v2/accounts", bytes.NewReader(buf))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+h.token)
	for _, hd := range headers {
		k, v, _ := strings.Cut(hd, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /v2/accounts: no answer at all: %v", err)
	}
	defer resp.Body.Close()
	b, readErr := io.ReadAll(resp.Body)
	return rawAnswer{resp.StatusCode, resp.Header, resp.ContentLength, b, readErr}
}

// expectStoredAnswer retries with the same key and checks it gets the complete stored success answer for the one
// account created behind the fault.
func expectStoredAnswer(t *testing.T, h *harness, customerID, key, faultedRequestID string) result {
	t.Helper()
	accounts := h.sim.State().Accounts
	if len(accounts) != 1 {
		t.Fatalf("accounts after the faulted write = %d, want 1 (the write is committed)", len(accounts))
	}
	r := h.do("POST", "/v2/accounts", validAccount(customerID), key)
	expectStatus(t, r, 201)
	m := r.json(t)
	if m["id"] != accounts[0].ID || m["account_number"] != accounts[0].AccountNumber {
		t.Fatalf("retry answered id %v / %v, stored account is %s / %s", m["id"], m["account_number"],
			accounts[0].ID, accounts[0].AccountNumber)
	}
	if got := r.header.Get(hdrRequestID); got != faultedRequestID {
		t.Fatalf("retry Zuora-Request-Id = %q, want the faulted answer's %q (it is the stored answer)", got, faultedRequestID)
	}
	if n := len(h.sim.State().Accounts); n != 1 {
		t.Fatalf("retry with the same key created another account: %d", n)
	}
	reqs := h.sim.Requests()
	if last := reqs[len(reqs)-1]; !last.Replayed || last.Fault != "" {
		t.Fatalf("retry log entry = %+v, want a plain replay", last)
	}
	expectStatus(t, h.do("GET", "/v2/accounts/"+accounts[0].ID, nil), 200)
	return r
}

func TestFaultTruncate(t *testing.T) {
	h := newHarness(t, Config{})
	id := addFaultHTTP(t, h, `{"method":"POST","pathPrefix":"/v2/accounts","truncate":true,"times":1}`)
	key := "Idempotency-Key: trunc-1"
	h.sim.ResetRequests() // forget the harness's token call

	a := sendRaw(t, h, validAccount("cut"), key)
	if a.status != 201 || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") || len(a.header.Get(hdrRequestID)) != 36 {
		t.Fatalf("truncated answer: status %d, headers %v", a.status, a.header)
	}
	if !errors.Is(a.readErr, io.ErrUnexpectedEOF) {
		t.Fatalf("reading the body: err = %v, want io.ErrUnexpectedEOF; got %q", a.readErr, a.body)
	}
	if len(a.body) == 0 || int64(len(a.body)) >= a.contentLength {
		t.Fatalf("read %d of a declared %d bytes, want a part", len(a.body), a.contentLength)
	}

	stored := expectStoredAnswer(t, h, "cut", key, a.header.Get(hdrRequestID))
	if int64(len(stored.body)) != a.contentLength || !bytes.HasPrefix(stored.body, a.body) {
		t.Fatalf("the cut body is not the start of the stored answer:\n%s\n%s", a.body, stored.body)
	}
	if f := h.sim.Faults(); len(f) != 1 || f[0].ID != id || f[0].Fired != 1 || !f[0].Truncate {
		t.Fatalf("faults = %+v", f)
	}
	if rec := h.sim.Requests()[0]; rec.Status != 201 || rec.Fault != id || rec.IdempotencyKey != "trunc-1" {
		t.Fatalf("log entry of the truncated request = %+v", rec)
	}
}

func TestFaultGarbleBody(t *testing.T) {
	h := newHarness(t, Config{})
	addFaultHTTP(t, h, `{"method":"POST","pathRegexp":"^/v2/accounts$","garbleBody":true,"times":1}`)
	key := "Idempotency-Key: garble-1"

	a := sendRaw(t, h, validAccount("html"), key)
	if a.readErr != nil || int64(len(a.body)) != a.contentLength {
		t.Fatalf("garbled body must be complete: read %d of %d bytes, err %v", len(a.body), a.contentLength, a.readErr)
	}
	if a.status != 201 || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") || len(a.header.Get(hdrRequestID)) != 36 {
		t.Fatalf("garbled answer: status %d, headers %v", a.status, a.header)
	}
	var v any
	if err := json.Unmarshal(a.body, &v); err == nil {
		t.Fatalf("garbled body decodes as JSON: %s", a.body)
	}
	if !strings.Contains(string(a.body), "502 Bad Gateway") {
		t.Fatalf("garbled body = %q", a.body)
	}
	expectStoredAnswer(t, h, "html", key, a.header.Get(hdrRequestID))
}

// The new faults go through the same matching as the others: method, path, probability and times.
func TestMangleFaultMatching(t *testing.T) {
	h := newHarness(t, Config{})
	id := addFaultHTTP(t, h, `{"method":"POST","pathPrefix":"/v2/acc","garbleBody":true,"times":2}`)
	expectStatus(t, h.do("GET", "/v2/accounts", nil), 200) // other method: not fired
	garbled := 0
	for range 3 {
		if a := sendRaw(t, h, validAccount("n")); a.status == 201 && !json.Valid(a.body) {
			garbled++
		}
	}
	if garbled != 2 || len(h.sim.State().Accounts) != 3 {
		t.Fatalf("garbled %d of 3 creates (want 2), accounts %d", garbled, len(h.sim.State().Accounts))
	}
	var listed []Fault
	getJSON(t, h.srv.URL+"/_sim/faults", &listed)
	if len(listed) != 1 || listed[0].ID != id || listed[0].Fired != 2 || !listed[0].GarbleBody {
		t.Fatalf("GET /_sim/faults = %+v", listed)
	}
	h.sim.ClearFaults()

	h.sim.InjectFault(Fault{PathPrefix: "/v2/accounts", Truncate: true, Probability: 0.5})
	cut := 0
	for range 30 {
		if sendRaw(t, h, validAccount("p")).readErr != nil {
			cut++
		}
	}
	if cut == 0 || cut == 30 {
		t.Fatalf("probability 0.5 truncated %d of 30", cut)
	}
	if n := len(h.sim.State().Accounts); n != 33 {
		t.Fatalf("accounts = %d, want 33: every truncated write is committed", n)
	}
}

func TestMangleFaultValidation(t *testing.T) {
	h := newHarness(t, Config{})
	for _, body := range []string{
		`{"truncate":true,"garbleBody":true}`,
		`{"truncate":true,"status":500}`,
		`{"garbleBody":true,"hang":true}`,
		`{"garbleBody":true,"storeFailure":true}`,
	} {
		resp, err := http.Post(h.srv.URL+"/_sim/faults", "application/json", strings.NewReader(body))
		if err != nil || resp.StatusCode != 400 {
			t.Fatalf("%s accepted: %v %v", body, resp, err)
		}
		resp.Body.Close()
	}
	b, err := json.Marshal(Fault{Truncate: true})
	if err != nil || !strings.Contains(string(b), `"truncate":true`) || strings.Contains(string(b), "garbleBody") {
		t.Fatalf("marshal = %s %v", b, err)
	}
}
