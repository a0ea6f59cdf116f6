package e2e

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/zuora-sync/zuora-sync/events"
)

// soakProfile sizes a soak run: how many customers (each with a subscription), and how long faults and kills last.
type soakProfile struct {
	customers       int
	customerUpdates int // updates after each create
	subUpdates      int // immediate seat changes after each subscription create
	usagePerSub     int
	publishRate     int           // events per second while the chaos runs
	killEvery       time.Duration // mean time between consumer-process kills
	instances       int
}

// soakWorkload is the generated Stigg traffic and the state Zuora must end in. Events of one key are published in
// the order they were generated; keys are interleaved at random.
type soakWorkload struct {
	rng *rand.Rand
	// byKey holds each ordering key's events in publish order.
	byKey map[string][]event.Event
	keys  []string
	// seq is every event's position in its key's order, for the per-key order check.
	seq map[string]soakEventRef
	// expected Zuora state.
	customers map[string]*soakCustomer
	subs      map[string]*soakSub
	catalog   map[string]*events.PackagePublished // the latest version of each package
	poison    soakPoison
}

type soakEventRef struct {
	key   string
	index int
	typ   string
}

type soakCustomer struct {
	id            string
	latest        events.Customer
	paymentMethod *events.PaymentMethodAttached // the attached default card, if any
}

type soakSub struct {
	id, customer string
	seats        int64 // current seats after every immediate change
	scheduled    bool  // the last change is a downgrade at period end: one pending scheduled order
	cancelled    bool
	usage        *big.Rat // the exact DELTA total
	usageEvents  int
}

// soakPoison: events Zuora refuses for good until an operator fixes the cause, then redriven.
type soakPoison struct {
	// refusedUpdate is a customer update Zuora refuses (fixed upstream, then redriven: applied once).
	refusedCustomer string
	refusedUpdate   string // event id
	refused         events.Customer
	// supersededUpdate is a refused update a newer update of the same customer overtook: a redrive reports it.
	supersededCustomer string
	supersededUpdate   string
}

func soakCustomerID(i int) string { return fmt.Sprintf("soak-c%03d", i) }
func soakSubID(i int) string      { return fmt.Sprintf("soak-s%03d", i) }

func soakCustomerVersion(i, v int) events.Customer {
	days := []int{0, 15, 30, 45}[v%4]
	return events.Customer{
		CustomerID: soakCustomerID(i), Name: fmt.Sprintf("Soak Customer %d v%d", i, v),
		Email: fmt.Sprintf("c%d.v%d@soak.example", i, v), Currency: "USD", InvoiceDaysUntilDue: &days,
		EntityURL:      "https://app.stigg.io/customers/" + soakCustomerID(i),
		BillingAddress: &events.Address{Line1: fmt.Sprintf("%d Main St", v+1), City: "Springfield", State: "IL", PostalCode: "62701", Country: "United States"},
	}
}

func soakSubscription(i int, seats int64) events.Subscription {
	return events.Subscription{
		SubscriptionID: soakSubID(i), CustomerID: soakCustomerID(i), PlanID: "plan-pro",
		BillingPeriod: events.BillingPeriodMonthly, Currency: "USD", StartDate: time.Now().UTC().Format("2006-01-02"),
		Units:                   []events.FeatureQuantity{{FeatureID: "feature-seats", Quantity: seats}},
		Addons:                  []events.AddonQuantity{{AddonID: "addon-storage", Quantity: 10}, {AddonID: "addon-api-calls", Quantity: 1}},
		PaymentCollectionMethod: events.PaymentCollectionInvoice,
		EntityURL:               "https://app.stigg.io/subscriptions/" + soakSubID(i),
	}
}

// newSoakWorkload generates the traffic of p: per customer a create and updates, a default card for every other
// one, a subscription with immediate seat changes, a downgrade scheduled at period end for one in three, an
// immediate cancellation for one in five, and usage for the ones not cancelled. The catalog's plan gets a new
// version halfway through. usageStart is the simulator's clock: reports fall in the current billing period.
func newSoakWorkload(h *harness, p soakProfile, seed uint64, usageStart time.Time) *soakWorkload {
	w := &soakWorkload{rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), byKey: map[string][]event.Event{},
		seq: map[string]soakEventRef{}, customers: map[string]*soakCustomer{}, subs: map[string]*soakSub{}}
	add := func(key, subject, typ string, data any) event.Event {
		ev := h.newEvent(typ, subject, key, data)
		if _, seen := w.byKey[key]; !seen {
			w.keys = append(w.keys, key)
		}
		w.seq[ev.ID()] = soakEventRef{key: key, index: len(w.byKey[key]), typ: typ}
		w.byKey[key] = append(w.byKey[key], ev)
		return ev
	}
	for i := range p.customers {
		cid := soakCustomerID(i)
		c := &soakCustomer{id: cid}
		w.customers[cid] = c
		v0 := soakCustomerVersion(i, 0)
		add(cid, cid, events.TypeStiggCustomerCreated, &v0)
		c.latest = v0

		s := &soakSub{id: soakSubID(i), customer: cid, seats: 2, usage: new(big.Rat)}
		w.subs[s.id] = s
		sub := soakSubscription(i, s.seats)
		add(cid, s.id, events.TypeStiggSubscriptionCreated, &events.SubscriptionCreated{Subscription: sub})

		// Customer updates, seat changes and usage interleaved within the key, as Stigg would send them.
		var steps []func()
		for v := 1; v <= p.customerUpdates; v++ {
			steps = append(steps, func() {
				cv := soakCustomerVersion(i, v)
				add(cid, cid, events.TypeStiggCustomerUpdated, &cv)
				c.latest = cv
			})
		}
		for u := 1; u <= p.subUpdates; u++ {
			steps = append(steps, func() {
				s.seats = 2 + int64(u)
				up := soakSubscription(i, s.seats)
				add(cid, s.id, events.TypeStiggSubscriptionUpdated, &events.SubscriptionUpdated{Subscription: up})
			})
		}
		if i%2 == 0 {
			steps = append(steps, func() {
				pm := &events.PaymentMethodAttached{CustomerID: cid, SetAsDefault: true,
					Stripe: &events.StripeRef{CustomerID: "cus_" + cid, PaymentMethodID: "pm_" + cid},
					Card:   &events.Card{Brand: "visa", Last4: fmt.Sprintf("%04d", 4000+i), ExpMonth: 12, ExpYear: 2031}}
				add(cid, "pm_"+cid, events.TypeStiggPaymentMethodAttached, pm)
				c.paymentMethod = pm
			})
		}
		cancelled := i%5 == 1
		if !cancelled {
			for r := range p.usagePerSub {
				steps = append(steps, func() {
					value := fmt.Sprintf("%d.%02d", 1+w.rng.IntN(50), w.rng.IntN(100))
					at := usageStart.Add(time.Duration(r+1) * time.Minute)
					u := &events.UsageReported{CustomerID: cid, SubscriptionID: s.id, FeatureID: apiCallsFeature,
						Value: events.DecimalPtr(value), UpdateBehavior: events.UpdateDelta, Timestamp: at.UTC().Format(time.RFC3339Nano)}
					add(cid, s.id, events.TypeStiggUsageReported, u)
					q, _ := new(big.Rat).SetString(value)
					s.usage.Add(s.usage, q)
					s.usageEvents++
				})
			}
		}
		// Each step records its effect when it runs, so the expected state follows publish order.
		w.rng.Shuffle(len(steps), func(a, b int) { steps[a], steps[b] = steps[b], steps[a] })
		for _, st := range steps {
			st()
		}
		switch {
		case cancelled:
			add(cid, s.id, events.TypeStiggSubscriptionCanceled, &events.SubscriptionCanceled{SubscriptionID: s.id,
				CustomerID: cid, CancellationTime: events.CancelImmediate})
			s.cancelled = true
		case i%3 == 0:
			down := soakSubscription(i, 1)
			down.Units[0].Quantity = 1
			add(cid, s.id, events.TypeStiggSubscriptionUpdated, &events.SubscriptionUpdated{Subscription: down,
				ScheduleStrategy: events.ScheduleEndOfBillingPeriod})
			s.scheduled = true
		}
	}
	return w
}

// interleaved returns every event, each key's in order, keys mixed at random: the stream order of a busy tenant.
func (w *soakWorkload) interleaved() []event.Event {
	next := map[string]int{}
	var live []string
	total := 0
	for _, k := range w.keys {
		live = append(live, k)
		total += len(w.byKey[k])
	}
	sort.Strings(live)
	out := make([]event.Event, 0, total)
	for len(live) > 0 {
		i := w.rng.IntN(len(live))
		k := live[i]
		out = append(out, w.byKey[k][next[k]])
		next[k]++
		if next[k] == len(w.byKey[k]) {
			live = append(live[:i], live[i+1:]...)
		}
	}
	return out
}

// events counts the generated events by type.
func (w *soakWorkload) countByType() map[string]int {
	out := map[string]int{}
	for _, evs := range w.byKey {
		for _, ev := range evs {
			out[ev.Type()]++
		}
	}
	return out
}
