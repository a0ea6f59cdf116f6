package zuorasim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/events"
)

// receivedCallout is one HTTP request the receiver got.
type receivedCallout struct {
	method, path   string
	header         http.Header
	body           []byte
	user, password string
	hasAuth        bool
	status         int
}

// receiver is a callout endpoint: Basic auth with a challenge (as the bridge does), then answer(n) decides the
// status of the n-th authenticated request (1-based).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []receivedCallout
	authed int
	answer func(n int) int
}

const (
	calloutUser = "zuora"
	calloutPass = "bridge-secret"
)

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	t.Helper()
	rc := &receiver{answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u, p, ok := r.BasicAuth()
		rc.mu.Lock()
		defer rc.mu.Unlock()
		got := receivedCallout{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: body, user: u,
			password: p, hasAuth: ok}
		switch {
		case !ok || u != calloutUser || p != calloutPass:
			w.Header().Set("WWW-Authenticate", `Basic realm="zuora-sync"`)
			got.status = http.StatusUnauthorized
		default:
			rc.authed++
			got.status = rc.answer(rc.authed)
		}
		rc.got = append(rc.got, got)
		w.WriteHeader(got.status)
		_, _ = w.Write([]byte(`{"status":"` + http.StatusText(got.status) + `"}`))
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []receivedCallout {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receivedCallout(nil), rc.got...)
}

// delivered are the authenticated requests whose body names the event.
func (rc *receiver) delivered(t *testing.T, event string) []receivedCallout {
	t.Helper()
	var out []receivedCallout
	for _, r := range rc.requests() {
		var m map[string]any
		if json.Unmarshal(r.body, &m) == nil && m["event"] == event && r.hasAuth {
			out = append(out, r)
		}
	}
	return out
}

// provision sets the simulator up as zuora-sync does: per io.zuora.* type a trigger, a callout template to the
// receiver with Basic auth (preemptive or not) and a notification definition.
func provision(t *testing.T, h *harness, url string, preemptive bool) {
	t.Helper()
	for _, s := range events.CalloutSpecs() {
		h.createTrigger(s)
		tpl := h.createTemplate("zuorasync "+s.Name, url+"/callouts/zuora", map[string]any{
			"eventTypeName": s.EventName, "calloutParams": s.Params, "requiredAuth": true,
			"calloutAuth":    map[string]any{"username": calloutUser, "password": calloutPass, "preemptive": preemptive},
			"calloutHeaders": map[string]string{"X-Zuorasync-Tenant": "sim"}})
		h.createDefinition("zuorasync "+s.Name, s.EventName, tpl["id"].(string))
	}
}

// provisionPaid provisions invoice.paid alone, its callouts to url, with Basic auth when auth.
func provisionPaid(t *testing.T, h *harness, url string, auth bool) {
	t.Helper()
	paid := specFor(t, events.TypeZuoraInvoicePaid)
	h.createTrigger(paid)
	settings := map[string]any{"eventTypeName": paid.EventName, "calloutParams": paid.Params}
	if auth {
		settings["requiredAuth"] = true
		settings["calloutAuth"] = map[string]any{"username": calloutUser, "password": calloutPass}
	}
	tpl := h.createTemplate("paid", url+"/callouts/zuora", settings)
	h.createDefinition("paid", paid.EventName, tpl["id"].(string))
}

func waitCallouts(t *testing.T, s *Sim) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitCallouts(ctx); err != nil {
		t.Fatalf("callouts still in flight: %v", err)
	}
}

func (h *harness) post(path string) {
	h.t.Helper()
	r := h.do("POST", path, nil)
	if r.status != http.StatusOK && r.status != http.StatusNoContent {
		h.t.Fatalf("POST %s: %d %s", path, r.status, r.body)
	}
}

var hexRequestID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// An invoice paid through the admin route produces exactly one invoice.paid callout: non-preemptive Basic auth
// (the challenge first, then the credentials), Zuora's headers, the template's header, and a body that
// events.ParseCallout turns into the invoice with the account's Stigg customer id.
func TestCalloutInvoicePaid(t *testing.T) {
	f := newOrderFixture(t)
	rc := newReceiver(t, func(int) int { return http.StatusOK })
	provision(t, f.h, rc.srv.URL, false)
	if _, err := f.client(t).CreateOrder(ctxFor("evt-create"), "create", f.createRequest(true)); err != nil {
		t.Fatal(err)
	}
	waitCallouts(t, f.h.sim)
	if n := len(rc.delivered(t, "invoice.posted")); n != 1 {
		t.Fatalf("%d invoice.posted callouts, want 1", n)
	}
	if n := len(rc.delivered(t, "invoice.paid")); n != 0 {
		t.Fatalf("an unpaid invoice sent %d invoice.paid callouts", n)
	}
	f.h.post("/_sim/invoices/INV00000001/pay")
	waitCallouts(t, f.h.sim)

	paid := rc.delivered(t, "invoice.paid")
	if len(paid) != 1 {
		t.Fatalf("%d invoice.paid callouts, want 1", len(paid))
	}
	got := paid[0]
	if got.method != "POST" || got.path != "/callouts/zuora" || got.header.Get("Content-Type") != "application/json" ||
		got.header.Get("X-Zuorasync-Tenant") != "sim" || !hexRequestID.MatchString(got.header.Get("Zuora-Request-Id")) ||
		!hexRequestID.MatchString(got.header.Get("Zuora-Notification-Id")) {
		t.Fatalf("request: %s %s %v", got.method, got.path, got.header)
	}
	// Non-preemptive: the same attempt went first without credentials and was challenged.
	var challenged bool
	for _, r := range rc.requests() {
		if r.header.Get("Zuora-Notification-Id") == got.header.Get("Zuora-Notification-Id") && !r.hasAuth &&
			r.status == http.StatusUnauthorized && r.header.Get("Zuora-Request-Id") == got.header.Get("Zuora-Request-Id") {
			challenged = true
		}
	}
	if !challenged {
		t.Fatal("the first request carried credentials: Basic auth must not be preemptive by default")
	}
	typ, payload, err := events.ParseCallout(got.body)
	if err != nil || typ != events.TypeZuoraInvoicePaid {
		t.Fatalf("ParseCallout(%s) = %s, %v", got.body, typ, err)
	}
	inv := payload.(*events.ZuoraInvoice)
	if inv.InvoiceNumber != "INV00000001" || inv.StiggCustomerID != "cust-1" || inv.AccountNumber != f.acctNum ||
		inv.Status != "Posted" || inv.Balance == nil || inv.Balance.Sign() != 0 || inv.Currency != "USD" {
		t.Fatalf("payload: %+v (body %s)", inv, got.body)
	}

	// The history has both deliveries, 200 on the first attempt; failedOnly (the default) hides them.
	r := f.h.do("GET", "/v1/notification-history/callout?failedOnly=false&eventCategory=user.notification:zuorasync_invoice_paid", nil)
	expectStatus(t, r, 200)
	hist := r.json(t)["calloutHistories"].([]any)
	if len(hist) != 1 {
		t.Fatalf("history: %s", r.body)
	}
	if e := hist[0].(map[string]any); e["responseCode"] != "200" || e["attemptedNum"] != "1" || e["requestMethod"] != "POST" {
		t.Fatalf("history entry: %v", e)
	}
	r = f.h.do("GET", "/v1/notification-history/callout", nil)
	if n := len(r.json(t)["calloutHistories"].([]any)); n != 0 {
		t.Fatalf("failedOnly lists %d delivered callouts", n)
	}
	// Pages of one, and the time window (endTime before the callouts: none).
	r = f.h.do("GET", "/v1/notification-history/callout?failedOnly=false&pageSize=1", nil)
	m := r.json(t)
	next, _ := m["nextPage"].(string)
	if len(m["calloutHistories"].([]any)) != 1 || next == "" {
		t.Fatalf("first page: %s", r.body)
	}
	r = f.h.do("GET", next, nil)
	if m := r.json(t); len(m["calloutHistories"].([]any)) != 1 || m["nextPage"] != nil {
		t.Fatalf("second page: %s", r.body)
	}
	before := f.h.sim.Now().Add(-time.Hour).UTC().Format(time.RFC3339) // the spec types it date-time
	r = f.h.do("GET", "/v1/notification-history/callout?failedOnly=false&endTime="+before, nil)
	if n := len(r.json(t)["calloutHistories"].([]any)); n != 0 {
		t.Fatalf("endTime before the callouts lists %d", n)
	}
	if st := f.h.sim.State(); len(st.CalloutHistory) != 2 || st.CalloutHistory[1].Status != CalloutDelivered {
		t.Fatalf("state: %+v", st.CalloutHistory)
	}
}

// With preemptive auth the credentials go on the first request.
func TestCalloutPreemptiveAuth(t *testing.T) {
	f := newOrderFixture(t)
	rc := newReceiver(t, func(int) int { return http.StatusOK })
	provision(t, f.h, rc.srv.URL, true)
	if _, err := f.client(t).CreateOrder(ctxFor("evt-create"), "create", f.createRequest(true)); err != nil {
		t.Fatal(err)
	}
	waitCallouts(t, f.h.sim)
	for _, r := range rc.requests() {
		if !r.hasAuth || r.status != http.StatusOK {
			t.Fatalf("preemptive: a request without credentials or refused: %+v", r)
		}
	}
	if len(rc.requests()) == 0 {
		t.Fatal("no callout")
	}
}

// A receiver answering 500 gets the callout again 30 minutes later on the simulated clock, under the same
// Zuora-Notification-Id with a new Zuora-Request-Id; every attempt is in the history.
func TestCalloutRetriedOnClockAdvance(t *testing.T) {
	f := newOrderFixture(t)
	rc := newReceiver(t, func(n int) int {
		if n <= 2 { // the first two attempts
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	// Only invoice.paid is provisioned here, so every authenticated request is one of its attempts.
	provisionPaid(t, f.h, rc.srv.URL, true)
	if _, err := f.client(t).CreateOrder(ctxFor("evt-create"), "create", f.createRequest(true)); err != nil {
		t.Fatal(err)
	}
	f.h.post("/_sim/invoices/INV00000001/pay")
	waitCallouts(t, f.h.sim)
	attempts := func() int { return len(rc.delivered(t, "invoice.paid")) }
	if attempts() != 1 {
		t.Fatalf("%d attempts before the clock moved, want 1", attempts())
	}
	h := f.h.sim.CalloutHistory()
	if len(h) != 1 || h[0].Status != CalloutPending || h[0].AttemptedNum != 1 || h[0].ResponseCode != 500 || h[0].NextAttempt == nil {
		t.Fatalf("after the first attempt: %+v", h)
	}
	// failedOnly lists it while it is waiting for its retry.
	r := f.h.do("GET", "/v1/notification-history/callout?includeResponseContent=true", nil)
	if e := r.json(t)["calloutHistories"].([]any); len(e) != 1 || e[0].(map[string]any)["responseCode"] != "500" ||
		e[0].(map[string]any)["responseContent"] == "" {
		t.Fatalf("failed history: %s", r.body)
	}
	f.h.sim.Advance(29 * time.Minute)
	waitCallouts(t, f.h.sim)
	if attempts() != 1 {
		t.Fatalf("retried before 30 minutes: %d attempts", attempts())
	}
	resp := f.h.do("POST", "/_sim/clock/advance", map[string]any{"seconds": 60})
	expectStatus(t, resp, 200)
	waitCallouts(t, f.h.sim)
	if attempts() != 2 {
		t.Fatalf("%d attempts after 30 minutes, want 2", attempts())
	}
	f.h.sim.Advance(30 * time.Minute)
	waitCallouts(t, f.h.sim)
	f.h.token = f.h.newToken()
	got := rc.delivered(t, "invoice.paid")
	if len(got) != 3 {
		t.Fatalf("%d attempts after 60 minutes, want 3", len(got))
	}
	ids := map[string]bool{}
	for _, g := range got {
		if g.header.Get("Zuora-Notification-Id") != got[0].header.Get("Zuora-Notification-Id") {
			t.Fatal("Zuora-Notification-Id changed between attempts")
		}
		ids[g.header.Get("Zuora-Request-Id")] = true
	}
	if len(ids) != 3 {
		t.Fatalf("Zuora-Request-Id repeated across attempts: %v", ids)
	}
	h = f.h.sim.CalloutHistory()
	if h[0].Status != CalloutDelivered || h[0].AttemptedNum != 3 || len(h[0].Attempts) != 3 ||
		h[0].Attempts[0].ResponseCode != 500 || h[0].Attempts[2].ResponseCode != 200 {
		t.Fatalf("history after delivery: %+v", h[0])
	}
}

// A callout that fails all three attempts is failed in the history, gets no fourth attempt from the clock, and
// is delivered by a resend.
func TestCalloutFailedThenResent(t *testing.T) {
	f := newOrderFixture(t)
	var mu sync.Mutex
	down := true
	rc := newReceiver(t, func(int) int {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	provisionPaid(t, f.h, rc.srv.URL, true)
	if _, err := f.client(t).CreateOrder(ctxFor("evt-create"), "create", f.createRequest(true)); err != nil {
		t.Fatal(err)
	}
	f.h.post("/_sim/invoices/INV00000001/pay")
	waitCallouts(t, f.h.sim)
	for range 4 {
		f.h.sim.Advance(30 * time.Minute)
		waitCallouts(t, f.h.sim)
	}
	if n := len(rc.delivered(t, "invoice.paid")); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
	f.h.token = f.h.newToken() // two simulated hours outlived the token
	h := f.h.sim.CalloutHistory()
	if len(h) != 1 || h[0].Status != CalloutFailed || h[0].AttemptedNum != 3 || h[0].ResponseCode != 503 {
		t.Fatalf("history: %+v", h)
	}
	r := f.h.do("GET", "/v1/notification-history/callout?objectId="+h[0].ObjectID, nil)
	expectStatus(t, r, 200)
	e := r.json(t)["calloutHistories"].([]any)
	if len(e) != 1 || e[0].(map[string]any)["attemptedNum"] != "3" || e[0].(map[string]any)["responseCode"] != "503" {
		t.Fatalf("failed history: %s", r.body)
	}
	// eventContext carries the callout's parameters: enough to emit the event without Zuora.
	if _, _, err := events.ParseCallout([]byte(e[0].(map[string]any)["eventContext"].(string))); err != nil {
		t.Fatalf("eventContext: %v", err)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	r = f.h.do("POST", "/notifications/callout-histories/resend", []string{h[0].ID, "unknown-id"})
	expectStatus(t, r, http.StatusAccepted)
	if m := r.json(t); len(m) != 1 || m["unknown-id"] == nil {
		t.Fatalf("resend answer: %s", r.body)
	}
	waitCallouts(t, f.h.sim)
	got := rc.delivered(t, "invoice.paid")
	if len(got) != 4 || got[3].status != http.StatusOK ||
		got[3].header.Get("Zuora-Notification-Id") != got[0].header.Get("Zuora-Notification-Id") {
		t.Fatalf("resend: %d attempts, last %+v", len(got), got[len(got)-1])
	}
	if h := f.h.sim.CalloutHistory(); h[0].Status != CalloutDelivered || h[0].AttemptedNum != 4 {
		t.Fatalf("after resend: %+v", h[0])
	}
}

// Close ends deliveries in flight: a receiver that never answers does not keep the simulator's goroutines.
func TestCalloutCloseEndsDeliveries(t *testing.T) {
	f := newOrderFixture(t)
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	provisionPaid(t, f.h, hang.URL, false)
	if _, err := f.client(t).CreateOrder(ctxFor("evt-create"), "create", f.createRequest(true)); err != nil {
		t.Fatal(err)
	}
	f.h.post("/_sim/invoices/INV00000001/pay")
	deadline := time.Now().Add(5 * time.Second)
	for !f.h.sim.calloutsBusy() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	done := make(chan struct{})
	go func() { f.h.sim.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the delivery in flight")
	}
	if h := f.h.sim.CalloutHistory(); len(h) != 1 || h[0].AttemptedNum != 1 || h[0].Attempts[0].Error == "" {
		t.Fatalf("the cancelled attempt: %+v", h)
	}
}

// Every state change the simulator describes to triggers sends the callout of its type, once, with a body
// ParseCallout accepts: invoice posted, default payment method changed, payment declined, scheduled order
// completed (and the subscription version it made), subscription cancelled, account cancelled.
func TestCalloutEventsOfStateChanges(t *testing.T) {
	f := newOrderFixture(t)
	rc := newReceiver(t, func(int) int { return http.StatusOK })
	provision(t, f.h, rc.srv.URL, true)
	c := f.client(t)
	if _, err := c.CreateOrder(ctxFor("evt-create"), "create", f.createRequest(true)); err != nil {
		t.Fatal(err)
	}
	f.h.createCcRef(f.account["id"].(string), true)
	f.h.post("/_sim/invoices/INV00000001/decline")
	in5 := addTerm(f.today(), 5, "Day")
	if _, err := c.CreateOrder(ctxFor("s1"), "schedule", f.scheduledUpdate(t, in5, "3")); err != nil {
		t.Fatal(err)
	}
	f.h.sim.Advance(6 * 24 * time.Hour)
	f.h.token = f.h.newToken()
	f.cancelOrder(t, "SpecificDate", f.today(), false)
	f.h.post("/_sim/accounts/" + f.acctNum + "/cancel")
	waitCallouts(t, f.h.sim)
	if r := f.h.do("POST", "/_sim/accounts/"+f.acctNum+"/cancel", nil); r.status != http.StatusConflict {
		t.Fatalf("cancelling twice: %d", r.status)
	}
	if acct := v1OK(t, f.h.do("GET", "/v1/accounts/"+f.acctNum, nil)); acct["basicInfo"].(map[string]any)["status"] != "Canceled" {
		t.Fatalf("V1 account after cancel: %v", acct["basicInfo"])
	}

	want := map[string]string{
		events.TypeZuoraInvoicePosted:               "invoice.posted",
		events.TypeZuoraAccountPaymentMethodChanged: "account.payment_method_changed",
		events.TypeZuoraPaymentFailed:               "payment.failed",
		events.TypeZuoraOrderScheduledCompleted:     "order.scheduled_completed",
		events.TypeZuoraSubscriptionUpdated:         "subscription.updated",
		events.TypeZuoraSubscriptionCanceled:        "subscription.canceled",
		events.TypeZuoraAccountCanceled:             "account.canceled",
	}
	seen := map[string]int{}
	for _, r := range rc.requests() {
		typ, p, err := events.ParseCallout(r.body)
		if err != nil {
			t.Fatalf("ParseCallout(%s): %v", r.body, err)
		}
		seen[typ]++
		switch v := p.(type) {
		case *events.ZuoraPayment:
			if v.Status != "Error" || v.GatewayResponse == "" || v.StiggCustomerID != "cust-1" {
				t.Errorf("payment.failed: %+v", v)
			}
		case *events.ZuoraSubscription:
			if v.SubscriptionNumber != "A-S00000001" || v.StiggCustomerID != "cust-1" || v.Version == "" {
				t.Errorf("%s: %+v", typ, v)
			}
		}
	}
	for typ, name := range want {
		if seen[typ] != 1 {
			t.Errorf("%s: %d callouts, want 1 (all: %v)", name, seen[typ], seen)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("unexpected callouts: %v", seen)
	}
}

// An invoice paid in two POST /v1/payments steps sends invoice.paid once, when its balance reaches zero, with the
// balance before that payment as Invoice.Balance_old.
func TestCalloutInvoicePaidByPayments(t *testing.T) {
	f, inv := invoicedFixture(t)
	rc := newReceiver(t, func(int) int { return http.StatusOK })
	provisionPaid(t, f.h, rc.srv.URL, false)
	v1OK(t, f.h.do("POST", "/v1/payments", f.payment("External", 100, applyTo(inv, 100))))
	waitCallouts(t, f.h.sim)
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("a partial payment sent %d callouts", n)
	}
	v1OK(t, f.h.do("POST", "/v1/payments", f.payment("External", firstInvoice-100, applyTo(inv, firstInvoice-100))))
	waitCallouts(t, f.h.sim)
	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("%d callouts, want 1", len(got))
	}
	if typ, p, err := events.ParseCallout(got[0].body); err != nil || typ != events.TypeZuoraInvoicePaid ||
		p.(*events.ZuoraInvoice).InvoiceNumber != "INV00000001" {
		t.Fatalf("callout %s: %s %v", got[0].body, typ, err)
	}
}
