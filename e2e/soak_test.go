package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/conformance"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// The reliability soak: a mixed Stigg workload (customers, catalog versions, subscriptions with scheduled changes
// and cancellations, usage, payment methods, payments) and Zuora's callouts coming back, through the real consumer
// and bridge binaries on a 3-node JetStream cluster (R3), while consumer processes are SIGKILLed and restarted, a
// node is killed and restarted, stream and consumer leaders move, the bridge is killed with callouts in flight and
// Zuora answers with 5xx bursts, 429 storms, answers slower than the client's timeout, lost answers after commit
// and cut-off bodies. Then an effects checker compares Zuora with the workload, a full replay must write nothing,
// and the poison events are redriven: the one fixed upstream applies once, the superseded one is reported.
//
// CI runs the short profile; `make soak` runs SOAK=full and prints the report.

const (
	soakBridgeUser = "soak-callouts"
	soakBridgePass = "soak-secret"
	// soakRequestTimeout is the consumer's Zuora client timeout; the slow-answer fault outlasts it.
	soakRequestTimeout = 2 * time.Second
)

func soakProfileFromEnv() soakProfile {
	if os.Getenv("SOAK") == "full" {
		return soakProfile{customers: 60, customerUpdates: 3, subUpdates: 3, usagePerSub: 12, publishRate: 40,
			killEvery: 6 * time.Second, instances: 3}
	}
	p := soakProfile{customers: 16, customerUpdates: 2, subUpdates: 2, usagePerSub: 5, publishRate: 25,
		killEvery: 5 * time.Second, instances: 2}
	if raceDetector {
		p.customers, p.publishRate = 12, 15
	}
	return p
}

// soakWorld is the system under test: the cluster, the simulator, the consumer processes and the bridge process.
type soakWorld struct {
	h         *harness
	cluster   *natstest.Cluster
	bins      soakBinaries
	env       map[string]string
	consumers []*process
	bridge    *process
	zc        *zuoraapi.Client
	// unnamedInvoices counts subscriptions whose outcomes name no invoice (see publishPayments).
	unnamedInvoices int
}

// firstOpenInvoice is the oldest invoice with a balance of the customer's account.
func firstOpenInvoice(sim *zuorasim.Sim, customer string) string {
	account := ""
	for _, a := range sim.State().Accounts {
		if a.CustomFields["stiggCustomerId__c"] == customer {
			account = a.ID
		}
	}
	for _, inv := range sim.Invoices() {
		if inv.AccountID == account && inv.Balance > 0 {
			return inv.InvoiceNumber
		}
	}
	return ""
}

func newSoakWorld(t *testing.T, p soakProfile) *soakWorld {
	cluster := natstest.StartCluster(t, 3)
	hctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cluster.WaitHealthy(hctx); err != nil {
		t.Fatalf("the cluster did not form: %v", err)
	}
	nc, js := cluster.Connect(t)
	check := conformance.Load(t)
	sim := zuorasim.New(zuorasim.Config{})
	srv := httptest.NewServer(check.Middleware(t, sim.Handler()))
	t.Cleanup(func() { srv.Close(); sim.Close() })
	h := &harness{t: t, nc: nc, js: js, sim: sim, simURL: srv.URL, check: check}
	h.cfg.Runner = testRunnerConfig()
	w := &soakWorld{h: h, cluster: cluster, bins: buildBinaries(t)}
	bridgeAddr := freeAddr(t)
	w.env = map[string]string{
		"NATS_URL":             cluster.ClientURLs(),
		"ZUORA_BASE_URL":       srv.URL,
		"ZUORASYNC_REPLICAS":   "3",
		"ZUORASYNC_ACK_WAIT":   "3s",
		"ZUORASYNC_RETRY_BASE": "200ms",
		"ZUORASYNC_RETRY_MAX":  "3s",
		// The faults never stop while the traffic runs, and every kill's redelivery counts as an attempt: with
		// the production default (20, over 30–60 minutes of back-off) compressed into seconds, an unlucky event
		// would be dead-lettered for exhausting them, which is not what the soak looks for.
		"ZUORASYNC_MAX_ATTEMPTS":       "200",
		"ZUORA_REQUEST_TIMEOUT":        soakRequestTimeout.String(),
		"USAGE_FLUSH_INTERVAL":         "500ms",
		"ZUORASYNC_RECONCILE_INTERVAL": "5s",
		"BRIDGE_PUBLIC_URL":            "http://" + bridgeAddr,
		"BRIDGE_USERNAME":              soakBridgeUser,
		"BRIDGE_PASSWORD":              soakBridgePass,
	}
	w.bridge = startBridgeProcess(t, w.bins, bridgeAddr, w.env)
	for range p.instances {
		w.consumers = append(w.consumers, startConsumerProcess(t, w.bins, w.env))
	}
	zc, err := zuoraapi.New(zuoraapi.Config{BaseURL: srv.URL, ClientID: zuorasim.DefaultClientID,
		ClientSecret: zuorasim.DefaultClientSecret, Transport: check.Transport(t, http.DefaultTransport.(*http.Transport).Clone())})
	if err != nil {
		t.Fatal(err)
	}
	w.zc = zc
	return w
}

func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak runs processes on a cluster")
	}
	p := soakProfileFromEnv()
	start := time.Now()
	w := newSoakWorld(t, p)
	h := w.h
	rep := &soakReport{}

	// Zuora's callouts to the bridge, and the catalog, before the traffic.
	connected := h.newEvent(events.TypeStiggIntegrationConnected, "int-zuora", "int-zuora", &events.Integration{IntegrationID: "int-zuora"})
	h.publish(connected)
	if typ, out := h.waitOutcome(connected.ID(), 60*time.Second); out.Action != "provisioned" {
		t.Fatalf("integration connected: %s %+v", typ, out)
	}
	catalog := sampleCatalog(t)
	var setup []string
	for _, pk := range catalog {
		setup = append(setup, h.publishPackage(pk))
	}
	h.waitSynced(setup)

	load := newSoakWorkload(h, p, uint64(time.Now().UnixNano()), h.sim.Now())
	load.catalog = catalog
	load.addPoison(h)
	ctx, stopChaos := context.WithCancel(context.Background())
	chaos := w.startChaos(ctx, p, rep)

	// Phase 1: the Stigg traffic, keys interleaved, at the profile's rate; plan-pro gets a new version halfway.
	all := load.interleaved()
	tick := time.NewTicker(time.Second / time.Duration(p.publishRate))
	for i, ev := range all {
		if i == len(all)/2 {
			pro := *catalog["plan-pro"]
			pro.Version++
			pro.Prices = append([]events.Price(nil), pro.Prices...)
			pro.Prices[2].Amount = events.DecimalPtr("13.75")
			catalog["plan-pro"] = &pro
			w.publishRetrying(ctx, h.newEvent(events.TypeStiggPackagePublished, pro.PackageID, pro.PackageID, &pro))
		}
		w.publishRetrying(ctx, ev)
		<-tick.C
	}
	tick.Stop()
	rep.publishedPerSec = float64(len(all)) / time.Since(start).Seconds()
	w.waitFates(load, 4*time.Minute)

	// Phase 2: a payment for every live subscription's first invoice (an electronic one through the default card
	// where there is one); each paid invoice comes back through a callout while the bridge is killed once.
	w.bridge.Kill()
	chaos.kills.note("bridge SIGKILLed with callouts in flight", "")
	pays := w.publishPayments(ctx, load)
	rep.paymentsRequested = len(pays)
	w.restartBridgeAfterFailedCallouts(chaos)
	w.waitPayments(pays, 3*time.Minute)
	stopChaos()
	chaos.wait()
	w.recoverCallouts(pays, 3*time.Minute)
	h.waitIdle(topology.StreamStigg, 2*time.Minute)
	h.waitIdle(topology.StreamZuora, 2*time.Minute)
	w.waitUsage(load, 2*time.Minute)
	rep.took = time.Since(start)

	findings := h.checkSoakEffects(load, w.zc, pays)
	fates := h.soakFates()
	rep.superseded = load.checkFates(findings, fates, load.poison.deadIDs())
	log := h.sim.Requests()
	rep.orderChecked, rep.orderViolations = load.checkOrder(findings, log)
	rep.retries, rep.replayedByZuora = retriesOf(log)
	rep.unnamedInvoices = w.unnamedInvoices
	rep.deadLetters = len(fates.deadLetters)
	rep.eventsByType = load.countByType()
	rep.eventsByType[events.TypeStiggPaymentRequested] += len(pays)
	zuoraEvents := h.readStream(topology.StreamZuora, "zuora.>")
	rep.eventsByType["io.zuora.* (callouts through the bridge)"] = len(zuoraEvents)
	rep.calloutAttemptsFailed, rep.calloutsDelivered = checkCallouts(findings, h.sim.CalloutHistory(), zuoraEvents, fates)
	rep.redelivered, rep.handledAgain, _ = soakRedeliveries(w.consumers)
	for _, e := range chaos.errs {
		findings.add("chaos: %s", e)
	}
	rep.faults = chaos.faults.counts()
	rep.chaos = chaos.kills.snapshot()

	// A full replay of both input streams writes nothing to Zuora and changes nothing.
	h.sim.ResetRequests()
	replayStart := time.Now()
	for _, stream := range []string{topology.StreamStigg, topology.StreamZuora} {
		if out, err := runConsumerCommand(t, w.bins, w.env, "replay", "-stream", stream, "-seq", "1"); err != nil {
			t.Fatalf("replay %s: %v\n%s", stream, err, out)
		}
	}
	h.waitIdle(topology.StreamStigg, 3*time.Minute)
	h.waitIdle(topology.StreamZuora, 2*time.Minute)
	time.Sleep(2 * time.Second) // a few usage flush rounds
	rep.replayTook = time.Since(replayStart)
	_, _, rep.replaySuperseded = soakRedeliveries(w.consumers)
	writes := zuoraWrites(h.sim.Requests())
	rep.replayWrites = len(writes)
	for _, wr := range writes {
		findings.add("the replay wrote to Zuora: %s", wr)
	}
	after := h.checkSoakEffects(load, w.zc, pays)
	for _, p := range after.problems {
		findings.add("after the replay: %s", p)
	}

	// The poison events: the refused payment term is added in Zuora, then the DLQ is redriven.
	rep.redriven, rep.kept = w.redrivePoison(load, findings)
	rep.findings = findings.problems
	t.Log("\n" + rep.String())
	if len(rep.findings) > 0 || rep.orderViolations > 0 {
		t.Errorf("the soak found %d problems (see the report)", len(rep.findings))
	}
}

// publishRetrying publishes ev until JetStream acknowledges it: a node loss or leader change can fail a publish,
// and the retry carries the same Nats-Msg-Id, so the stream stores it once.
func (w *soakWorld) publishRetrying(ctx context.Context, ev event.Event) {
	w.h.t.Helper()
	msg, err := events.ToMsg("", ev)
	if err != nil {
		w.h.t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		pctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := w.h.js.PublishMsg(pctx, msg)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			w.h.t.Fatalf("publish %s: %v", ev.ID(), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitFates waits until every workload event has an outcome or a dead letter.
func (w *soakWorld) waitFates(load *soakWorkload, timeout time.Duration) {
	w.h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		fates := w.h.soakFates()
		missing := 0
		var example string
		for id := range load.seq {
			if len(fates.outcomes[id]) == 0 && fates.deadLetters[id].EventID == "" {
				missing++
				example = id
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			w.h.t.Fatalf("%d events without an outcome or dead letter after %s, e.g. %s (%+v)", missing, timeout, example, load.seq[example])
		}
		time.Sleep(time.Second)
	}
}

// soakPayment is one payment request of phase 2.
type soakPayment struct{ invoice, eventID, customer string }

func (w *soakWorld) publishPayments(ctx context.Context, load *soakWorkload) []soakPayment {
	h := w.h
	fates := h.soakFates()
	balance := map[string]float64{}
	for _, inv := range h.sim.Invoices() {
		balance[inv.InvoiceNumber] = inv.Balance
	}
	var pays []soakPayment
	for _, id := range sortedKeys(load.subs) {
		s := load.subs[id]
		if s.cancelled {
			continue
		}
		var invoice, pmID string
		for _, ev := range load.byKey[s.customer] {
			for _, o := range fates.outcomes[ev.ID()] {
				if ev.Type() == events.TypeStiggSubscriptionCreated && o.Zuora[events.ZuoraInvoiceNumber] != "" {
					invoice = o.Zuora[events.ZuoraInvoiceNumber]
				}
				if ev.Type() == events.TypeStiggPaymentMethodAttached && o.Zuora[events.ZuoraPaymentMethodID] != "" {
					pmID = o.Zuora[events.ZuoraPaymentMethodID]
				}
			}
		}
		if invoice == "" {
			// The create's answer was lost and its retry found the subscription made: the outcome then names no
			// invoice. The account's first open invoice is the one its creation billed.
			w.unnamedInvoices++
			invoice = firstOpenInvoice(h.sim, s.customer)
		}
		if invoice == "" || balance[invoice] <= 0 {
			h.t.Errorf("subscription %s: no open first invoice to pay (invoice %q, balance %v)", id, invoice, balance[invoice])
			continue
		}
		req := &events.PaymentRequested{CustomerID: s.customer, InvoiceNumber: invoice,
			Amount: events.DecimalPtr(strconv.FormatFloat(balance[invoice], 'f', -1, 64)), Currency: "USD",
			Kind: events.PaymentExternal, Reference: "soak " + id}
		if pmID != "" {
			req.Kind, req.PaymentMethodID, req.Reference = events.PaymentElectronic, pmID, ""
		}
		ev := h.newEvent(events.TypeStiggPaymentRequested, invoice, s.customer, req)
		w.publishRetrying(ctx, ev)
		pays = append(pays, soakPayment{invoice: invoice, eventID: ev.ID(), customer: s.customer})
	}
	return pays
}

// waitPayments waits until every payment request has an outcome.
func (w *soakWorld) waitPayments(pays []soakPayment, timeout time.Duration) {
	w.h.t.Helper()
	w.h.eventually(timeout, "every payment request to have an outcome", func() bool {
		fates := w.h.soakFates()
		for _, p := range pays {
			if len(fates.outcomes[p.eventID]) == 0 && fates.deadLetters[p.eventID].EventID == "" {
				return false
			}
		}
		return true
	})
}

// recoverCallouts drives Zuora's callout retries (they follow the simulated clock) until every paid invoice's
// callout came back as an outcome; the consumer's reconciler resends the ones Zuora gave up on.
func (w *soakWorld) recoverCallouts(pays []soakPayment, timeout time.Duration) {
	h := w.h
	h.t.Helper()
	h.eventually(timeout, "every paid invoice to come back from Zuora as an outcome", func() bool {
		fates := h.soakFates()
		for _, p := range pays {
			if fates.paidOutcomes[p.invoice] == 0 {
				h.sim.Advance(31 * time.Minute) // the next retry round of the failed deliveries
				time.Sleep(500 * time.Millisecond)
				return false
			}
		}
		return true
	})
}

// waitUsage waits until the flushers wrote every subscription's exact usage total.
func (w *soakWorld) waitUsage(load *soakWorkload, timeout time.Duration) {
	w.h.t.Helper()
	deadline := time.Now().Add(timeout)
	for _, id := range sortedKeys(load.subs) {
		s := load.subs[id]
		for {
			got, _, _ := w.h.zuoraUsage("stigg-" + id)
			if got.Cmp(s.usage) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// retriesOf counts the Zuora writes sent more than once under one idempotency key, and how many of the repeats
// Zuora answered from its idempotency store instead of applying them again.
func retriesOf(log []zuorasim.RequestRecord) (retries, replayed int) {
	seen := map[string]bool{}
	for _, r := range log {
		if r.Method == "GET" || r.IdempotencyKey == "" {
			continue
		}
		if seen[r.Method+r.Path+r.IdempotencyKey] {
			retries++
		}
		seen[r.Method+r.Path+r.IdempotencyKey] = true
		if r.Replayed {
			replayed++
		}
	}
	return retries, replayed
}

// addPoison appends the poison events: soak-c000's last update asks for invoices due in 21 days, a payment term
// the tenant lacks (refused for good until one is added in Zuora); soak-c001's update asks the same but a newer
// update follows it, so a redrive must report it superseded instead of applying it.
func (w *soakWorkload) addPoison(h *harness) {
	refused := soakCustomerVersion(0, 99)
	refused.InvoiceDaysUntilDue = new(21)
	ev := h.newEvent(events.TypeStiggCustomerUpdated, refused.CustomerID, refused.CustomerID, &refused)
	w.appendEvent(ev, refused.CustomerID)
	w.poison.refusedCustomer, w.poison.refusedUpdate, w.poison.refused = refused.CustomerID, ev.ID(), refused

	stale := soakCustomerVersion(1, 98)
	stale.InvoiceDaysUntilDue = new(21)
	sev := h.newEvent(events.TypeStiggCustomerUpdated, stale.CustomerID, stale.CustomerID, &stale)
	w.appendEvent(sev, stale.CustomerID)
	newer := soakCustomerVersion(1, 99)
	w.appendEvent(h.newEvent(events.TypeStiggCustomerUpdated, newer.CustomerID, newer.CustomerID, &newer), newer.CustomerID)
	w.customers[newer.CustomerID].latest = newer
	w.poison.supersededCustomer, w.poison.supersededUpdate = stale.CustomerID, sev.ID()
}

func (w *soakWorkload) appendEvent(ev event.Event, key string) {
	w.seq[ev.ID()] = soakEventRef{key: key, index: len(w.byKey[key]), typ: ev.Type()}
	w.byKey[key] = append(w.byKey[key], ev)
}

func (p soakPoison) deadIDs() map[string]bool {
	return map[string]bool{p.refusedUpdate: true, p.supersededUpdate: true}
}

// redrivePoison adds the missing payment term in Zuora and redrives the whole DLQ with the operator's command:
// the refused update applies once (the full replay before dead-lettered it a second time: the replay re-applies
// each entity's latest event, and that one is refused until the fix; its copy is applied or skipped, never twice);
// the superseded one stays in the DLQ, reported.
func (w *soakWorld) redrivePoison(load *soakWorkload, f *soakFindings) (redriven, kept int) {
	h := w.h
	h.sim.AddPaymentTerm("Net 21", 21)
	h.sim.ResetRequests()
	out, err := runConsumerCommand(h.t, w.bins, w.env, "dlq", "redrive")
	if err != nil {
		f.add("dlq redrive: %v: %s", err, out)
		return 0, 0
	}
	if _, err := fmt.Sscanf(out, "redrove %d", &redriven); err != nil {
		f.add("dlq redrive said %q", out)
	}
	kept = strings.Count(out, "kept DLQ entry")
	if redriven < 1 || kept != 1 || !strings.Contains(out, load.poison.supersededUpdate) {
		f.add("dlq redrive: redrove %d, kept %d, want the refused update redriven and the superseded %s kept: %s",
			redriven, kept, load.poison.supersededUpdate, out)
	}
	load.customers[load.poison.refusedCustomer].latest = load.poison.refused
	h.eventually(time.Minute, "the redriven update to apply", func() bool {
		for _, a := range h.sim.State().Accounts {
			if a.CustomFields["stiggCustomerId__c"] == load.poison.refusedCustomer {
				return a.PaymentTerms == "Net 21"
			}
		}
		return false
	})
	h.waitIdle(topology.StreamStigg, time.Minute)
	for _, p := range h.checkSoakEffects(load, w.zc, nil).problems {
		f.add("after the redrive: %s", p)
	}
	applied := 0
	for _, r := range h.sim.Requests() {
		if r.Method == "GET" || r.Replayed || r.Status >= 300 || strings.HasPrefix(r.Path, "/oauth") {
			continue
		}
		if strings.HasPrefix(r.TrackID, load.poison.refusedUpdate) {
			applied++
			continue
		}
		f.add("the redrive wrote more than the refused update: %s %s (track %s)", r.Method, r.Path, r.TrackID)
	}
	if applied != 1 {
		f.add("the redriven update made %d Zuora writes, want 1", applied)
	}
	return redriven, kept
}

// soakChaos runs the faults and the kills; wait returns when both ended.
type soakChaos struct {
	faults *soakFaults
	kills  *soakKills
	wg     sync.WaitGroup
	w      *soakWorld

	mu   sync.Mutex
	errs []string
}

func (c *soakChaos) wait() { c.wg.Wait() }

// fail records a chaos step that did not work out (a process or node that did not come back).
func (c *soakChaos) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

// startChaos starts Zuora's faults, the consumer-process kills and the cluster's node loss and leader changes;
// they run until ctx ends. Every process killed is restarted.
func (w *soakWorld) startChaos(ctx context.Context, p soakProfile, rep *soakReport) *soakChaos {
	c := &soakChaos{faults: newSoakFaults(w.h.sim, soakRequestTimeout), kills: &soakKills{}, w: w}
	c.wg.Go(func() { c.faults.run(ctx, 2*time.Second) })
	seed := uint64(time.Now().UnixNano())
	c.wg.Go(func() {
		rng := rand.New(rand.NewPCG(seed, 1)) // each goroutine its own: a Rand is not safe for concurrent use
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(jitter(rng, p.killEvery)):
			}
			i := rng.IntN(len(w.consumers))
			w.consumers[i].Kill()
			c.kills.note("consumer process SIGKILLed", "instance %d", i)
			time.Sleep(jitter(rng, time.Second))
			if err := w.consumers[i].Restart(); err != nil {
				c.fail("consumer instance %d did not come back: %v", i, err)
			}
		}
	})
	c.wg.Go(func() {
		rng := rand.New(rand.NewPCG(seed, 2))
		steps := []func(){
			func() {
				node := rng.IntN(3)
				w.cluster.Kill(node)
				c.kills.note("NATS node killed and restarted", "node %d", node)
				time.Sleep(5 * time.Second)
				w.cluster.Restart(node)
				hctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if err := w.cluster.WaitHealthy(hctx); err != nil {
					c.fail("the cluster did not heal after node %d came back: %v", node, err)
				}
			},
			func() {
				sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				if err := w.cluster.StepDownStream(sctx, w.h.nc, topology.StreamStigg); err == nil {
					c.kills.note("stream leader moved", "%s", topology.StreamStigg)
				}
				if err := w.cluster.StepDownStream(sctx, w.h.nc, "KV_"+topology.BucketIDs); err == nil {
					c.kills.note("stream leader moved", "KV %s", topology.BucketIDs)
				}
			},
			func() {
				sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				names := w.h.jsConsumerNames(sctx, topology.StreamStigg)
				if len(names) > 0 {
					if err := w.cluster.StepDownConsumer(sctx, w.h.nc, topology.StreamStigg, names[rng.IntN(len(names))]); err == nil {
						c.kills.note("consumer leader moved", "%s", topology.StreamStigg)
					}
				}
			},
		}
		for _, step := range steps {
			select {
			case <-ctx.Done():
				return
			case <-time.After(4 * time.Second):
			}
			step()
		}
	})
	return c
}

// restartBridgeAfterFailedCallouts brings the killed bridge back once Zuora's callouts of the payments have
// failed against it a few times (or after 30 s): Zuora's retries and the reconciler must cover them.
func (w *soakWorld) restartBridgeAfterFailedCallouts(c *soakChaos) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		failed := 0
		for _, e := range w.h.sim.CalloutHistory() {
			for _, a := range e.Attempts {
				if a.ResponseCode != http.StatusOK {
					failed++
				}
			}
		}
		if failed >= 3 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := w.bridge.Restart(); err != nil {
		c.fail("the bridge did not come back: %v", err)
	}
}

// soakRedeliveries reads the consumer processes' logs: the events delivered more than once (a kill, a lapsed
// ack wait or a retry), those handled to the end more than once (their first handling's ack was lost), whose
// second handling found Zuora already right, and the deliveries the ordering guard skipped as superseded.
func soakRedeliveries(procs []*process) (redelivered, handledAgain, superseded int) {
	attempts, handled := map[string]int{}, map[string]int{}
	for _, p := range procs {
		for _, line := range strings.Split(p.Log(), "\n") {
			var rec struct {
				Msg     string `json:"msg"`
				EventID string `json:"event_id"`
				Attempt int    `json:"attempt"`
			}
			if json.Unmarshal([]byte(line), &rec) != nil || rec.EventID == "" {
				continue
			}
			attempts[rec.EventID] = max(attempts[rec.EventID], rec.Attempt)
			if rec.Msg == "handled" {
				handled[rec.EventID]++
			}
			if strings.HasPrefix(rec.Msg, "superseded") {
				superseded++
			}
		}
	}
	for _, n := range attempts {
		if n > 1 {
			redelivered++
		}
	}
	for _, n := range handled {
		if n > 1 {
			handledAgain++
		}
	}
	return redelivered, handledAgain, superseded
}

func (h *harness) jsConsumerNames(ctx context.Context, stream string) []string {
	s, err := h.js.Stream(ctx, stream)
	if err != nil {
		return nil
	}
	var out []string
	for name := range s.ListConsumers(ctx).Info() {
		out = append(out, name.Name)
	}
	return out
}

// checkCallouts: every callout Zuora delivered is one event on the ZUORA stream (the bridge dedupes Zuora's
// retries by Zuora-Notification-Id) and that event has an outcome. It returns the attempts that failed (the
// bridge down, or the consumer-side faults) and the deliveries.
func checkCallouts(f *soakFindings, history []zuorasim.CalloutHistoryEntry, stored []event.Event, fates soakFates) (failed, delivered int) {
	byID := map[string]int{}
	for _, ev := range stored {
		byID[ev.ID()]++
	}
	for id, n := range byID {
		if n > 1 {
			f.add("callout event %s stored %d times on the ZUORA stream", id, n)
		}
	}
	for _, c := range history {
		for _, a := range c.Attempts {
			if a.ResponseCode != http.StatusOK {
				failed++
			}
		}
		if c.ResponseCode != http.StatusOK {
			continue
		}
		delivered++
		id := loopEventIDPrefix + c.NotificationID
		if byID[id] != 1 {
			f.add("callout %s (%s) delivered but stored %d times", c.NotificationID, c.Parameters["event"], byID[id])
		} else if len(fates.outcomes[id]) == 0 && fates.deadLetters[id].EventID == "" {
			f.add("callout %s (%s): no outcome", c.NotificationID, c.Parameters["event"])
		}
	}
	return failed, delivered
}
