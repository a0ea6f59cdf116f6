package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"

	zuorasync "github.com/zuora-sync/zuora-sync"
	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/handlers"
	"github.com/zuora-sync/zuora-sync/idmap"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

var quiet = slog.New(slog.DiscardHandler)

// env is the service on a real embedded NATS server, pricing with the simulator, with the sample catalog and
// one customer (cust-1) synced through the handlers.
type env struct {
	t      *testing.T
	nc     *nats.Conn
	sim    *zuorasim.Sim
	deps   handlers.Deps
	router *dispatch.Router
	srv    *Server
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	sim := zuorasim.New(zuorasim.Config{})
	hs := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { hs.Close(); sim.Close() })
	z, err := zuoraapi.New(zuoraapi.Config{BaseURL: hs.URL, ClientID: zuorasim.DefaultClientID,
		ClientSecret: zuorasim.DefaultClientSecret, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	nc, js := natstest.Start(t).Connect(t)
	kv, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: "ids"})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, nc: nc, sim: sim, deps: handlers.Deps{Zuora: z, IDs: idmap.New(kv), Logger: quiet}, router: dispatch.NewRouter()}
	handlers.Register(e.router, e.deps)
	var pkgs []*events.PackagePublished
	raw, err := zuorasync.Samples.ReadFile("testdata/catalog.json")
	if err == nil {
		err = json.Unmarshal(raw, &pkgs)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, pk := range pkgs {
		e.handle(events.TypeStiggPackagePublished, pk.PackageID, pk)
	}
	e.handle(events.TypeStiggCustomerCreated, "cust-1", &events.Customer{CustomerID: "cust-1", Name: "Ada",
		Email: "ada@example.com", Currency: "USD"})
	e.start(handlers.NewPreviews(e.deps), cfg)
	return e
}

func (e *env) start(p *handlers.Previews, cfg Config) {
	e.t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	srv, err := Start(e.nc, p, handlers.NewCheckout(e.deps), cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(srv.Stop)
	e.srv = srv
}

// handle applies one event through the routed handlers, as the consumer would.
func (e *env) handle(typ, key string, p events.Payload) {
	e.t.Helper()
	ev, err := events.New(typ, "/test", key, key, p)
	if err != nil {
		e.t.Fatal(err)
	}
	h, _ := e.router.Lookup(typ)
	ctx, cancel := context.WithTimeout(zuoraapi.WithEventID(context.Background(), ev.ID()), 10*time.Second)
	defer cancel()
	if _, err := h.Handle(ctx, &dispatch.Input{Event: ev, Payload: p, Key: key, Attempt: 1, Logger: quiet}); err != nil {
		e.t.Fatalf("%s %s: %v", typ, key, err)
	}
}

type reply struct {
	Error   *Error `json:"error"`
	Status  string // the micro error code header: the HTTP-like status
	Raw     []byte
	Preview handlers.Preview
}

func (e *env) request(subject string, body any, h nats.Header) reply {
	e.t.Helper()
	raw, ok := body.([]byte)
	if !ok {
		raw, _ = json.Marshal(body)
	}
	msg, err := e.nc.RequestMsg(&nats.Msg{Subject: subject, Data: raw, Header: h}, 10*time.Second)
	if err != nil {
		e.t.Fatalf("request %s: %v (every request must be answered)", subject, err)
	}
	r := reply{Status: msg.Header.Get(micro.ErrorCodeHeader), Raw: msg.Data}
	if ct := msg.Header.Get("Content-Type"); ct != "application/json" {
		e.t.Errorf("Content-Type %q", ct)
	}
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		e.t.Fatalf("reply is not JSON: %v: %s", err, msg.Data)
	}
	if r.Error == nil {
		if err := json.Unmarshal(msg.Data, &r.Preview); err != nil {
			e.t.Fatalf("reply is not a preview: %v: %s", err, msg.Data)
		}
	}
	return r
}

func (r reply) wantError(t *testing.T, code, status string, retryable bool) {
	t.Helper()
	if r.Error == nil || r.Error.Code != code || r.Status != status || r.Error.Retryable != retryable || r.Error.Message == "" {
		t.Fatalf("reply %s (status %q), want error %s/%s retryable=%v", r.Raw, r.Status, code, status, retryable)
	}
}

func proSub(id string) events.Subscription {
	return events.Subscription{SubscriptionID: id, CustomerID: "cust-1", PlanID: "plan-pro",
		BillingPeriod: events.BillingPeriodMonthly, Currency: "USD", StartDate: time.Now().UTC().Format("2006-01-02"),
		Units: []events.FeatureQuantity{{FeatureID: "feature-seats", Quantity: 5}}}
}

// A preview is a request/reply round trip priced by Zuora, whose calls carry the request's own id.
func TestOrderAndNextInvoicePreviewRoundTrip(t *testing.T) {
	e := newEnv(t, Config{})
	sub := proSub("sub-1")
	r := e.request(SubjectOrderPreview, handlers.OrderPreviewRequest{Subscription: sub, Periods: 2}, nil)
	if r.Error != nil || r.Status != "" {
		t.Fatalf("order preview: %s", r.Raw)
	}
	// 49 base + 5 seats × 12.5 = 111.5 a month.
	if len(r.Preview.Invoices) != 2 || r.Preview.Invoices[0].Amount.String() != "111.5" || r.Preview.Total.String() != "223" {
		t.Fatalf("order preview %s, want two invoices of 111.5", r.Raw)
	}
	var call zuorasim.RequestRecord
	for _, rec := range e.sim.Requests() {
		if rec.Path == "/v1/orders/preview" {
			call = rec
		}
	}
	if !strings.HasPrefix(call.TrackID, "rpc-") || call.IdempotencyKey == "" {
		t.Fatalf("the preview's Zuora call %+v must carry the request's id (rpc-…) and a key derived from it", call)
	}

	e.handle(events.TypeStiggSubscriptionCreated, "cust-1", &events.SubscriptionCreated{Subscription: sub})
	r = e.request(SubjectNextInvoice, handlers.NextInvoiceRequest{SubscriptionID: "sub-1"}, nil)
	if r.Error != nil || len(r.Preview.Invoices) == 0 || r.Preview.Currency != "USD" {
		t.Fatalf("next invoice: %s", r.Raw)
	}
}

func TestMalformedRequestIsBadRequest(t *testing.T) {
	e := newEnv(t, Config{})
	e.request(SubjectOrderPreview, []byte(`{"subscription": `), nil).wantError(t, "bad_request", "400", false)
	e.request(SubjectNextInvoice, []byte(`[1,2]`), nil).wantError(t, "bad_request", "400", false)
	e.request(SubjectOrderPreview, handlers.OrderPreviewRequest{Subscription: proSub("s"), Periods: 99}, nil).
		wantError(t, "bad_request", "400", false)
	e.request(SubjectNextInvoice, handlers.NextInvoiceRequest{SubscriptionID: "s"}, nats.Header{HeaderTimeout: {"soon"}}).
		wantError(t, "bad_request", "400", false)
}

// What is not in Zuora yet is a retryable 409: a plan not synced, or a paying customer without an account for a
// subscription Zuora already has (a new subscription of an unsynced customer is priced on a stand-in account).
func TestNotSyncedIsRetryableConflict(t *testing.T) {
	e := newEnv(t, Config{})
	unsynced := proSub("s-unsynced")
	unsynced.PlanID = "plan-not-published"
	e.request(SubjectOrderPreview, handlers.OrderPreviewRequest{Subscription: unsynced}, nil).wantError(t, "not_synced", "409", true)

	sub := proSub("sub-payer")
	e.handle(events.TypeStiggSubscriptionCreated, "cust-1", &events.SubscriptionCreated{Subscription: sub})
	sub.PayingCustomerID = "cust-not-yet"
	e.request(SubjectOrderPreview, handlers.OrderPreviewRequest{Subscription: sub}, nil).wantError(t, "not_synced", "409", true)

	fresh := proSub("sub-new-customer")
	fresh.CustomerID, fresh.Currency = "cust-not-yet", ""
	if r := e.request(SubjectOrderPreview, handlers.OrderPreviewRequest{Subscription: fresh}, nil); r.Error != nil || r.Preview.Currency != "USD" {
		t.Fatalf("new subscription of an unsynced customer: %s", r.Raw)
	}
}

func TestZuoraRejectionIsUnprocessable(t *testing.T) {
	e := newEnv(t, Config{})
	sub := proSub("s-many")
	sub.Units[0].Quantity = 501 // the seat charge allows at most 500
	e.request(SubjectOrderPreview, handlers.OrderPreviewRequest{Subscription: sub}, nil).wantError(t, "rejected", "422", false)
}

func TestZuoraDownIsUnavailable(t *testing.T) {
	e := newEnv(t, Config{})
	e.sim.InjectFault(zuorasim.Fault{PathPrefix: "/v1/", Status: 503, Probability: 1})
	e.request(SubjectOrderPreview, handlers.OrderPreviewRequest{Subscription: proSub("s")}, nil).
		wantError(t, "zuora_unavailable", "503", true)
	e.request(SubjectNextInvoice, handlers.NextInvoiceRequest{SubscriptionID: "s"}, nil).
		wantError(t, "zuora_unavailable", "503", true)
}

// A panic in a preview fails that request with a JSON error; the service keeps answering.
func TestPanicIsAnInternalErrorNotACrash(t *testing.T) {
	e := newEnv(t, Config{})
	e.srv.Stop()
	e.start(handlers.NewPreviews(handlers.Deps{}), Config{}) // no id map: the preview dereferences nil
	for range 2 {
		e.request(SubjectNextInvoice, handlers.NextInvoiceRequest{SubscriptionID: "s"}, nil).wantError(t, "internal", "500", false)
	}
}

// fakeRequest is a micro.Request as micro delivers it, recording the error answer.
type fakeRequest struct {
	mu           sync.Mutex
	status, body string
}

func (f *fakeRequest) Respond([]byte, ...micro.RespondOpt) error {
	return errors.New("unexpected Respond")
}
func (f *fakeRequest) RespondJSON(any, ...micro.RespondOpt) error {
	return errors.New("unexpected RespondJSON")
}
func (f *fakeRequest) Error(code, _ string, data []byte, _ ...micro.RespondOpt) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body = code, string(data)
	return nil
}
func (f *fakeRequest) Data() []byte           { return []byte(`{"subscriptionId":"s"}`) }
func (f *fakeRequest) Headers() micro.Headers { return micro.Headers{} }
func (f *fakeRequest) Subject() string        { return SubjectNextInvoice }
func (f *fakeRequest) Reply() string          { return "_INBOX.fake" }

// Stop unsubscribes, so new requests find no responder at once instead of hanging; a request micro still
// delivers while it drains is refused with a retryable error; and one in flight is answered before Stop returns.
func TestStopRefusesNewRequestsAndAnswersInFlight(t *testing.T) {
	e := newEnv(t, Config{DefaultTimeout: time.Second})
	e.sim.InjectFault(zuorasim.Fault{PathPrefix: "/v1/subscriptions", Hang: true, Probability: 1})
	answered := make(chan reply, 1)
	go func() {
		msg, err := e.nc.Request(SubjectNextInvoice, []byte(`{"subscriptionId":"s"}`), 5*time.Second)
		var r reply
		if err == nil {
			_ = json.Unmarshal(msg.Data, &r)
			r.Raw = msg.Data
		}
		answered <- r
	}()
	deadline := time.Now().Add(5 * time.Second)
	for len(e.sim.Faults()) == 0 || e.sim.Faults()[0].Fired == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the request never reached Zuora")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stopping := time.Now()
	e.srv.Stop()
	if waited := time.Since(stopping); waited < 500*time.Millisecond {
		t.Fatalf("Stop returned after %s, before the request in flight (1 s deadline) was answered", waited)
	}
	select {
	case r := <-answered:
		if r.Error == nil || r.Error.Code != "timeout" {
			t.Fatalf("in-flight request: %s, want its own timeout answer", r.Raw)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the request in flight at Stop was never answered")
	}

	start := time.Now()
	if _, err := e.nc.Request(SubjectNextInvoice, []byte(`{"subscriptionId":"s"}`), 3*time.Second); !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("request after Stop: %v, want no responders", err)
	}
	if time.Since(start) > time.Second {
		t.Fatal("a request after Stop must fail fast, not wait for its timeout")
	}
	late := &fakeRequest{}
	e.srv.serve(late, nil)
	var body struct{ Error Error }
	if err := json.Unmarshal([]byte(late.body), &body); err != nil || late.status != "503" ||
		body.Error.Code != "shutting_down" || !body.Error.Retryable {
		t.Fatalf("request delivered after Stop: %s %s (%v)", late.status, late.body, err)
	}
}
