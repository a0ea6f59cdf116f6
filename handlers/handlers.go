// Package handlers holds the business logic of zuora-sync: one handler per event type, each idempotent — it looks
// at the id map and at Zuora before it writes, and sends nothing when Zuora already matches.
package handlers

import (
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/idmap"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// Custom fields zuora-sync writes on Zuora objects (defined in the tenant by provisioning).
const (
	FieldStiggCustomerID = "stiggCustomerId__c"
	FieldStiggEntityURL  = "stiggEntityUrl__c"
	FieldStiggResourceID = "stiggResourceId__c"
)

// Kinds of id-map entries.
const (
	KindCustomer = events.EntityCustomer
)

// Deps are what handlers need from the outside.
type Deps struct {
	Zuora *zuoraapi.Client
	IDs   *idmap.Store
	// Usage is the zuorasync-usage KV bucket: the usage counted per subscription, feature and period.
	Usage jetstream.KeyValue
	// DefaultCurrency is used for accounts whose Stigg customer has no currency (Zuora requires one).
	DefaultCurrency string
	// PaymentTermsTTL bounds how long the tenant's payment terms are cached.
	PaymentTermsTTL time.Duration
	// Bridge is where Zuora's callouts go (BRIDGE_PUBLIC_URL and its Basic credentials): what provisioning
	// tells Zuora on io.stigg.integration.connected.
	Bridge BridgeTarget
	Logger *slog.Logger
}

// withDefaults fills what callers may leave out. Every constructor of handlers goes through it, so a handler
// built outside Register (the previews) behaves like the routed ones.
func (d Deps) withDefaults() Deps {
	if d.DefaultCurrency == "" {
		d.DefaultCurrency = "USD"
	}
	if d.PaymentTermsTTL <= 0 {
		d.PaymentTermsTTL = 10 * time.Minute
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return d
}

// Register routes every event type zuora-sync handles so far.
func Register(r *dispatch.Router, d Deps) {
	d = d.withDefaults()
	c := newCustomers(d)
	r.Handle(events.TypeStiggCustomerCreated, c)
	r.Handle(events.TypeStiggCustomerUpdated, c)
	r.Handle(events.TypeStiggPackagePublished, &packages{deps: d})
	// A payment method event carries the customer's current choice (Latest); payment requests are each their own.
	r.Handle(events.TypeStiggPaymentMethodAttached, &paymentMethods{deps: d})
	r.HandleEach(events.TypeStiggPaymentRequested, &payments{deps: d})
	subs := newSubscriptions(d)
	r.Handle(events.TypeStiggSubscriptionCreated, subs)
	r.Handle(events.TypeStiggSubscriptionUpdated, subs)
	r.Handle(events.TypeStiggSubscriptionCanceled, subs)
	// Usage reports are each their own; Zuora gets their totals from the UsageFlusher the process runs.
	r.HandleEach(events.TypeStiggUsageReported, newUsageReports(d))
	// Zuora's notifications (io.zuora.*) only read Zuora and report what it says, with the Stigg ids.
	registerZuoraEvents(r, d)
	// Connected and disconnected carry the integration's current state: the latest one wins.
	integ := &integrations{deps: d}
	r.Handle(events.TypeStiggIntegrationConnected, integ)
	r.Handle(events.TypeStiggIntegrationDisconnected, integ)
}
