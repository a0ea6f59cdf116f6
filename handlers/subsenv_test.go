package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	zuorasync "github.com/zuora-sync/zuora-sync"
	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/idmap"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// subsEnv runs the subscription and preview handlers against the simulator over HTTP, with the sample catalog
// synced and an id map in an embedded JetStream. Its Deps carry no defaults, as callers may build them.
type subsEnv struct {
	t    *testing.T
	sim  *zuorasim.Sim
	deps Deps
	subs *subscriptions
	rec  *bodyRecorder
	// intercept, when set, serves each request in the simulator's place (to make Zuora change between two calls
	// of one handler, or answer otherwise).
	mu        sync.Mutex
	intercept func(w http.ResponseWriter, r *http.Request, sim http.Handler)
}

func newSubsEnv(t *testing.T) *subsEnv {
	t.Helper()
	e := &subsEnv{t: t, sim: zuorasim.New(zuorasim.Config{}), rec: &bodyRecorder{next: http.DefaultTransport}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		intercept := e.intercept
		e.mu.Unlock()
		if intercept != nil {
			intercept(w, r, e.sim.Handler())
			return
		}
		e.sim.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); e.sim.Close() })
	z, err := zuoraapi.New(zuoraapi.Config{BaseURL: srv.URL, ClientID: zuorasim.DefaultClientID,
		ClientSecret: zuorasim.DefaultClientSecret, Transport: e.rec})
	if err != nil {
		t.Fatal(err)
	}
	_, js := natstest.Start(t).Connect(t)
	kv, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: "ids"})
	if err != nil {
		t.Fatal(err)
	}
	e.deps = Deps{Zuora: z, IDs: idmap.New(kv), Logger: slog.New(slog.DiscardHandler)}
	e.subs = newSubscriptions(e.deps)
	e.subs.now = e.sim.Now // Zuora's clock and ours agree, also after the simulator's clock moved on
	var pkgs []*events.PackagePublished
	raw, err := zuorasync.Samples.ReadFile("testdata/catalog.json")
	if err == nil {
		err = json.Unmarshal(raw, &pkgs)
	}
	if err != nil {
		t.Fatal(err)
	}
	catalog := &packages{deps: e.deps}
	for _, pk := range pkgs {
		if _, err := catalog.Handle(e.ctx(), e.input(events.TypeStiggPackagePublished, pk.PackageID, pk)); err != nil {
			t.Fatalf("sync package %s: %v", pk.PackageID, err)
		}
	}
	return e
}

// previews is the preview service as callers build it, from Deps without defaults.
func (e *subsEnv) previews() *Previews {
	p := NewPreviews(e.deps)
	p.subs.now = e.sim.Now
	return p
}

func (e *subsEnv) onRequest(f func(w http.ResponseWriter, r *http.Request, sim http.Handler)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.intercept = f
}

func (e *subsEnv) ctx() context.Context {
	ctx, cancel := context.WithTimeout(zuoraapi.WithEventID(context.Background(), fmt.Sprintf("test-%d", time.Now().UnixNano())), 10*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

func (e *subsEnv) input(typ, key string, p events.Payload) *dispatch.Input {
	e.t.Helper()
	ev, err := events.New(typ, "/test", key, key, p)
	if err != nil {
		e.t.Fatal(err)
	}
	return &dispatch.Input{Event: ev, Payload: p, Key: key, Attempt: 1, Logger: slog.New(slog.DiscardHandler)}
}

// syncCustomer creates the customer's Zuora account.
func (e *subsEnv) syncCustomer(id string) {
	e.t.Helper()
	c := &events.Customer{CustomerID: id, Name: "Ada " + id, Email: id + "@example.com", Currency: "USD"}
	if _, err := newCustomers(e.deps).Handle(e.ctx(), e.input(events.TypeStiggCustomerCreated, id, c)); err != nil {
		e.t.Fatalf("sync customer %s: %v", id, err)
	}
}

// handle runs one subscription event; the id of the event is returned for replays.
func (e *subsEnv) handle(typ string, p events.Payload, key string) (events.Outcome, error) {
	res, err := e.subs.Handle(e.ctx(), e.input(typ, key, p))
	if err != nil {
		return events.Outcome{}, err
	}
	return res.Outcomes[0].Data, nil
}

func (e *subsEnv) subscription(number string) *zuoraapi.SubscriptionV1 {
	e.t.Helper()
	s, err := e.deps.Zuora.GetSubscriptionV1(e.ctx(), number)
	if err != nil {
		e.t.Fatalf("read %s: %v", number, err)
	}
	return s
}

func proSub(id, customer string) *events.Subscription {
	return &events.Subscription{
		SubscriptionID: id, CustomerID: customer, PlanID: "plan-pro", BillingPeriod: events.BillingPeriodMonthly,
		Currency: "USD", StartDate: time.Now().UTC().Format("2006-01-02"),
		Units:                   []events.FeatureQuantity{{FeatureID: "feature-seats", Quantity: 5}},
		Addons:                  []events.AddonQuantity{{AddonID: "addon-storage", Quantity: 50}},
		PriceOverrides:          []events.PriceOverride{{Amount: events.DecimalPtr("39")}},
		PaymentCollectionMethod: events.PaymentCollectionInvoice,
		EntityURL:               "https://app.stigg.io/subscriptions/" + id, ResourceID: "resource-1",
	}
}

// bodyRecorder keeps the JSON body of every POST to Zuora, by path.
type bodyRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []recordedRequest
}

type recordedRequest struct {
	path string
	body map[string]any
}

func (b *bodyRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && r.Body != nil {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(raw))
		var body map[string]any
		if json.Unmarshal(raw, &body) == nil {
			b.mu.Lock()
			b.reqs = append(b.reqs, recordedRequest{path: r.URL.Path, body: body})
			b.mu.Unlock()
		}
	}
	return b.next.RoundTrip(r)
}

// last is the body of the latest POST to path.
func (b *bodyRecorder) last(path string) map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.reqs) - 1; i >= 0; i-- {
		if b.reqs[i].path == path {
			return b.reqs[i].body
		}
	}
	return nil
}
