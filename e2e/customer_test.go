package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/zuora-sync/zuora-sync/consumer"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

func customer(id, name string) *events.Customer {
	days := 30
	return &events.Customer{
		CustomerID: id, Name: name, Email: strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com",
		Currency: "USD", InvoiceDaysUntilDue: &days, EntityURL: "https://app.stigg.io/customers/" + id,
		BillingAddress: &events.Address{Line1: "1 Main St", City: "Springfield", State: "IL", PostalCode: "62701", Country: "United States"},
	}
}

func (h *harness) customerEvent(typ string, c *events.Customer) string {
	ev := h.newEvent(typ, c.CustomerID, c.CustomerID, c)
	h.publish(ev)
	return ev.ID()
}

func TestCustomerCreateUpdateAndNoOpUpdate(t *testing.T) {
	h := newHarness(t)
	h.startConsumer()

	c := customer("cust-1", "Ada Lovelace")
	id := h.customerEvent(events.TypeStiggCustomerCreated, c)
	typ, out := h.waitOutcome(id, 20*time.Second)
	if typ != events.TypeOutCustomerSynced || out.Action != "created" {
		t.Fatalf("outcome %s %+v: want customer synced, created", typ, out)
	}
	accts := accountsWithCustomer(h.simState(), "cust-1")
	if len(accts) != 1 {
		t.Fatalf("want 1 account for cust-1, got %d", len(accts))
	}
	a := accts[0]
	if a["name"] != "Ada Lovelace" || a["currency"] != "USD" || a["payment_terms"] != "Net 30" {
		t.Fatalf("account fields: %v", a)
	}
	if out.Zuora[events.ZuoraAccountID] != a["id"] || out.Zuora[events.ZuoraAccountNumber] != a["account_number"] {
		t.Fatalf("outcome ids %v do not name the account %v/%v", out.Zuora, a["id"], a["account_number"])
	}

	// A real change is patched in place.
	c.Name = "Ada King"
	id = h.customerEvent(events.TypeStiggCustomerUpdated, c)
	if _, out = h.waitOutcome(id, 20*time.Second); out.Action != "updated" {
		t.Fatalf("update outcome %+v: want updated", out)
	}
	if got := accountsWithCustomer(h.simState(), "cust-1")[0]["name"]; got != "Ada King" {
		t.Fatalf("name after update = %v", got)
	}

	// An update that changes nothing sends no PATCH.
	patches := h.countRequests("PATCH", "/v2/accounts/"+a["id"].(string))
	id = h.customerEvent(events.TypeStiggCustomerUpdated, c)
	if _, out = h.waitOutcome(id, 20*time.Second); out.Action != "unchanged" {
		t.Fatalf("no-op update outcome %+v: want unchanged", out)
	}
	if got := h.countRequests("PATCH", "/v2/accounts/"+a["id"].(string)); got != patches {
		t.Fatalf("a no-op update sent %d PATCH requests", got-patches)
	}
}

func TestRedeliveryAndReplayCreateNoSecondAccount(t *testing.T) {
	h := newHarness(t)
	h.startConsumer()

	c := customer("cust-dup", "Grace Hopper")
	ev := h.newEvent(events.TypeStiggCustomerCreated, c.CustomerID, c.CustomerID, c)
	h.publish(ev)
	h.publish(ev) // same id: JetStream's dedupe window drops it
	// Same content under a new id, as a retrying publisher would send it.
	second := h.customerEvent(events.TypeStiggCustomerCreated, c)
	h.waitOutcome(ev.ID(), 20*time.Second)
	if _, out := h.waitOutcome(second, 20*time.Second); out.Action != "unchanged" {
		t.Fatalf("second delivery outcome %+v: want unchanged", out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.waitIdle(topology.StreamStigg, 10*time.Second)
	acct := accountsWithCustomer(h.simState(), "cust-dup")[0]["id"].(string)
	readsBefore := h.countRequests("GET", "/v2/accounts/"+acct)
	seq, reset, err := consumer.Replay(ctx, h.js, topology.StreamStigg, consumer.ReplayFrom{Seq: 1})
	if err != nil || seq != 1 || len(reset) == 0 {
		t.Fatalf("replay: seq %d reset %v err %v", seq, reset, err)
	}
	h.waitIdle(topology.StreamStigg, 20*time.Second)
	// The ordering guard re-applies only the entity's latest event (one read of the account) and skips the
	// older one: a replay that reset nothing would read nothing, one that re-applied both would read twice.
	if reads := h.countRequests("GET", "/v2/accounts/"+acct); reads != readsBefore+1 {
		t.Fatalf("replay: account reads went from %d to %d, want exactly one more (the latest event re-applied)", readsBefore, reads)
	}
	if n := len(accountsWithCustomer(h.simState(), "cust-dup")); n != 1 {
		t.Fatalf("after replay: %d accounts for cust-dup, want 1", n)
	}
	if n := h.countRequests("POST", "/v2/accounts"); n != 1 {
		t.Fatalf("%d account creations reached Zuora, want 1", n)
	}
}

func TestReplayAfterIdMapLossFindsAccountInZuora(t *testing.T) {
	h := newHarness(t)
	a := h.startConsumer()
	c := customer("cust-lost", "Alan Turing")
	h.waitOutcome(h.customerEvent(events.TypeStiggCustomerCreated, c), 20*time.Second)

	// Lose the mapping, then deliver the customer again under a new event id (no idempotency key can help).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kv, err := h.js.KeyValue(ctx, topology.BucketIDs)
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Purge(ctx, "stigg.customer.cust-lost"); err != nil {
		t.Fatal(err)
	}
	_ = a
	h.sim.Advance(25 * time.Hour) // past Zuora's idempotency-key lifetime as well
	_, out := h.waitOutcome(h.customerEvent(events.TypeStiggCustomerCreated, c), 20*time.Second)
	if out.Action != "unchanged" {
		t.Fatalf("outcome %+v: want the existing account found and unchanged", out)
	}
	if n := len(accountsWithCustomer(h.simState(), "cust-lost")); n != 1 {
		t.Fatalf("%d accounts for cust-lost, want 1", n)
	}
}

func TestConsumerRestartMidStreamLosesNothing(t *testing.T) {
	h := newHarness(t)
	h.sim.InjectFault(zuorasim.Fault{Method: "POST", PathPrefix: "/v2/accounts", Latency: 30 * time.Millisecond, Probability: 1})
	h.startConsumer()
	const n = 24
	for i := range n {
		h.customerEvent(events.TypeStiggCustomerCreated, customer(fmt.Sprintf("cust-r%02d", i), fmt.Sprintf("Restart Person%02d", i)))
	}
	h.eventually(20*time.Second, "some outcomes before the restart", func() bool { return len(h.outcomes()) >= 3 })
	h.stopConsumer()
	h.startConsumer()
	h.eventually(40*time.Second, "all outcomes", func() bool {
		return len(accountsWithCustomer2(h.simState(), "cust-r")) >= n
	})
	time.Sleep(300 * time.Millisecond) // let any stray duplicate surface
	st := h.simState()
	for i := range n {
		if got := len(accountsWithCustomer(st, fmt.Sprintf("cust-r%02d", i))); got != 1 {
			t.Errorf("customer %d has %d accounts, want 1", i, got)
		}
	}
}

func accountsWithCustomer2(st map[string][]map[string]any, prefix string) []map[string]any {
	var out []map[string]any
	for _, a := range st["accounts"] {
		cf, _ := a["custom_fields"].(map[string]any)
		if id, _ := cf["stiggCustomerId__c"].(string); strings.HasPrefix(id, prefix) {
			out = append(out, a)
		}
	}
	return out
}

func TestZuoraErrorsAndRateLimitsAreRetriedUntilSynced(t *testing.T) {
	h := newHarness(t)
	h.sim.InjectFault(zuorasim.Fault{Method: "POST", PathPrefix: "/v2/accounts", Status: 500, Times: 3})
	h.sim.InjectFault(zuorasim.Fault{Method: "GET", PathPrefix: "/v2/accounts", Status: 429, RetryAfter: 1, Times: 2})
	h.startConsumer()
	var ids []string
	for i := range 6 {
		ids = append(ids, h.customerEvent(events.TypeStiggCustomerCreated, customer(fmt.Sprintf("cust-f%d", i), "Fault Person")))
	}
	for _, id := range ids {
		if typ, out := h.waitOutcome(id, 30*time.Second); typ != events.TypeOutCustomerSynced {
			t.Fatalf("event %s: outcome %s %+v", id, typ, out)
		}
	}
	st := h.simState()
	for i := range 6 {
		if n := len(accountsWithCustomer(st, fmt.Sprintf("cust-f%d", i))); n != 1 {
			t.Errorf("cust-f%d: %d accounts, want 1", i, n)
		}
	}
	if len(h.dlq()) != 0 {
		t.Fatalf("transient failures must not dead-letter: %+v", h.dlq())
	}
}

func TestMalformedEventsAreDeadLetteredAndConsumerKeepsGoing(t *testing.T) {
	h := newHarness(t)
	h.startConsumer()

	// Not a CloudEvent at all.
	raw := nats.NewMsg("stigg.customer.created.cust-bad")
	raw.Data = []byte("not json")
	h.publishMsg(raw)
	// A CloudEvent whose data fails validation.
	bad := h.newEvent(events.TypeStiggCustomerCreated, "cust-invalid", "cust-invalid", customer("cust-invalid", "Bad Email"))
	if err := bad.SetData("application/json", []byte(`{"customerId":"cust-invalid","email":"not-an-email"}`)); err != nil {
		t.Fatal(err)
	}
	h.publish(bad)
	badID := bad.ID()
	// A type nobody handles.
	unknown := h.newEvent("io.stigg.customer.deleted", "cust-x", "cust-x", map[string]string{"customerId": "cust-x"})
	h.publish(unknown)
	// And a good one behind them.
	good := h.customerEvent(events.TypeStiggCustomerCreated, customer("cust-good", "Good Person"))

	h.waitOutcome(good, 20*time.Second)
	h.eventually(10*time.Second, "three dead letters", func() bool { return len(h.dlq()) == 3 })
	reasons := map[string]string{}
	for _, dl := range h.dlq() {
		if dl.Class != "permanent" || dl.OriginalSubject == "" || dl.Stream != topology.StreamStigg {
			t.Errorf("dead letter %+v lacks its class, stream or subject", dl)
		}
		reasons[dl.OriginalSubject] = dl.Reason
	}
	for subject, want := range map[string]string{
		"stigg.customer.created.cust-bad":     "undecodable",
		"stigg.customer.created.cust-invalid": "email",
		"stigg.customer.deleted.cust-x":       "no handler",
	} {
		if !strings.Contains(reasons[subject], want) {
			t.Errorf("DLQ reason for %s = %q, want it to mention %q", subject, reasons[subject], want)
		}
	}
	if typ, out := h.waitOutcome(badID, 5*time.Second); typ != events.TypeOutCustomerFailed || !strings.Contains(out.Reason, "email") {
		t.Fatalf("invalid customer: outcome %s %+v, want customer.failed naming email", typ, out)
	}
}

func TestExhaustedRetriesDeadLetterThenRedriveSyncs(t *testing.T) {
	h := newHarness(t)
	h.cfg.Runner.MaxAttempts = 3
	fault := h.sim.InjectFault(zuorasim.Fault{Method: "POST", PathPrefix: "/v2/accounts", Status: 503, Probability: 1})
	h.startConsumer()
	id := h.customerEvent(events.TypeStiggCustomerCreated, customer("cust-outage", "Outage Person"))
	h.eventually(20*time.Second, "the exhausted event in the DLQ", func() bool { return len(h.dlq()) == 1 })
	dl := h.dlq()[0]
	if dl.Class != "exhausted" || dl.Attempts != 3 || dl.EventID != id || !strings.Contains(dl.Reason, "503") {
		t.Fatalf("dead letter %+v: want exhausted after 3 attempts naming the 503", dl)
	}

	h.sim.RemoveFault(fault)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := consumer.Redrive(ctx, h.js, consumer.RedriveOptions{})
	n := res.Redriven
	if err != nil || n != 1 {
		t.Fatalf("redrive: %d, %v", n, err)
	}
	h.eventually(20*time.Second, "the redriven customer's account", func() bool {
		return len(accountsWithCustomer(h.simState(), "cust-outage")) == 1
	})
	if left := h.dlq(); len(left) != 0 {
		t.Fatalf("redriven entries must leave the DLQ: %+v", left)
	}
}

func TestStructuredModeAndUnkeyedSubjectsAreAccepted(t *testing.T) {
	h := newHarness(t)
	h.startConsumer()
	c := customer("cust-structured", "Struct Person")
	ev := h.newEvent(events.TypeStiggCustomerCreated, c.CustomerID, c.CustomerID, c)
	msg, err := events.ToStructuredMsg("", ev)
	if err != nil {
		t.Fatal(err)
	}
	h.publishMsg(msg)
	h.waitOutcome(ev.ID(), 20*time.Second)

	// A publisher that cannot compute the key token publishes to stigg.<entity>.<action>.
	c2 := customer("cust.unkeyed", "Unkeyed Person")
	ev2 := h.newEvent(events.TypeStiggCustomerCreated, c2.CustomerID, c2.CustomerID, c2)
	msg2, err := events.ToMsg("stigg.customer.created", ev2)
	if err != nil {
		t.Fatal(err)
	}
	h.publishMsg(msg2)
	if typ, _ := h.waitOutcome(ev2.ID(), 20*time.Second); typ != events.TypeOutCustomerSynced {
		t.Fatalf("unkeyed event outcome %s", typ)
	}
}

func TestSameKeyEventsApplyInOrder(t *testing.T) {
	h := newHarness(t)
	h.sim.InjectFault(zuorasim.Fault{Method: "PATCH", PathPrefix: "/v2/accounts", Latency: 20 * time.Millisecond, Probability: 1})
	h.startConsumer()
	c := customer("cust-order", "Order V0")
	h.customerEvent(events.TypeStiggCustomerCreated, c)
	var last string
	for i := 1; i <= 12; i++ {
		c.Name = fmt.Sprintf("Order V%d", i)
		last = h.customerEvent(events.TypeStiggCustomerUpdated, c)
	}
	h.waitOutcome(last, 30*time.Second)
	if got := accountsWithCustomer(h.simState(), "cust-order")[0]["name"]; got != "Order V12" {
		t.Fatalf("final name %v: events of one key were applied out of order", got)
	}
}

func TestShutdownDrainsInFlightEventAndAcksIt(t *testing.T) {
	h := newHarness(t)
	h.sim.InjectFault(zuorasim.Fault{Method: "POST", PathPrefix: "/v2/accounts", Latency: 1500 * time.Millisecond, Probability: 1})
	h.startConsumer()
	id := h.customerEvent(events.TypeStiggCustomerCreated, customer("cust-drain", "Drain Person"))
	// Wait until the handler is inside the slow Zuora call, then shut down.
	h.eventually(10*time.Second, "the account lookup before the create", func() bool {
		return h.countRequests("GET", "/v2/accounts") > 0
	})
	time.Sleep(200 * time.Millisecond)
	h.stopConsumer()

	if typ, _, ok := h.outcomeFor(id); !ok || typ != events.TypeOutCustomerSynced {
		t.Fatalf("the in-flight event must finish before shutdown completes (outcome %q, present %v)", typ, ok)
	}
	h.waitIdle(topology.StreamStigg, 5*time.Second) // acked: nothing pending, nothing awaiting redelivery

	// A new instance finds nothing left to do.
	posts := h.countRequests("POST", "/v2/accounts")
	h.startConsumer()
	time.Sleep(500 * time.Millisecond)
	if got := h.countRequests("POST", "/v2/accounts"); got != posts || posts != 1 {
		t.Fatalf("account creations: %d before restart, %d after; want exactly 1", posts, got)
	}
}

func TestExpiredTokenIsRenewedTransparently(t *testing.T) {
	h := newHarness(t)
	h.startConsumer()
	h.waitOutcome(h.customerEvent(events.TypeStiggCustomerCreated, customer("cust-t1", "Token One")), 20*time.Second)
	tokens := h.countRequests("POST", "/oauth/token")
	h.sim.ExpireTokens()
	typ, _ := h.waitOutcome(h.customerEvent(events.TypeStiggCustomerCreated, customer("cust-t2", "Token Two")), 20*time.Second)
	if typ != events.TypeOutCustomerSynced {
		t.Fatalf("outcome after token expiry: %s", typ)
	}
	if got := h.countRequests("POST", "/oauth/token"); got != tokens+1 {
		t.Fatalf("token requests: %d before expiry, %d after; want exactly one renewal", tokens, got)
	}
	if len(h.dlq()) != 0 {
		t.Fatal("an expired token must not dead-letter anything")
	}
}

func TestOrderPerKeyHoldsAcrossConsumerInstances(t *testing.T) {
	h := newHarness(t)
	h.sim.InjectFault(zuorasim.Fault{Method: "PATCH", PathPrefix: "/v2/accounts", Latency: 15 * time.Millisecond, Probability: 1})
	h.startConsumer()
	h.startConsumer()
	const customers, updates = 4, 8
	var last []string
	for c := range customers {
		cust := customer(fmt.Sprintf("cust-multi-%d", c), "Multi V0")
		h.customerEvent(events.TypeStiggCustomerCreated, cust)
		var id string
		for i := 1; i <= updates; i++ {
			cust.Name = fmt.Sprintf("Multi V%d", i)
			id = h.customerEvent(events.TypeStiggCustomerUpdated, cust)
		}
		last = append(last, id)
	}
	for _, id := range last {
		h.waitOutcome(id, 40*time.Second)
	}
	st := h.simState()
	for c := range customers {
		accts := accountsWithCustomer(st, fmt.Sprintf("cust-multi-%d", c))
		if len(accts) != 1 || accts[0]["name"] != fmt.Sprintf("Multi V%d", updates) {
			t.Fatalf("customer %d: accounts %v; want one account carrying the last update", c, accts)
		}
	}
}

func TestMetricsCountEventsZuoraCallsAndBreakers(t *testing.T) {
	h := newHarness(t)
	a := h.startConsumer()
	h.waitOutcome(h.customerEvent(events.TypeStiggCustomerCreated, customer("cust-metrics", "Metric Person")), 20*time.Second)
	families, err := a.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			got[f.GetName()] += v
		}
	}
	if got["zuorasync_events_handled_total"] < 1 {
		t.Errorf("handled events not counted: %v", got["zuorasync_events_handled_total"])
	}
	if got["zuorasync_zuora_calls_total"] < 3 {
		t.Errorf("Zuora calls not counted: %v", got["zuorasync_zuora_calls_total"])
	}
	if got["zuorasync_zuora_concurrency_slots"] <= 0 {
		t.Errorf("the limiter's concurrency slots are not exported")
	}
	if _, ok := got["zuorasync_zuora_breaker_state"]; !ok {
		t.Errorf("circuit breaker states are not exported")
	}
}

// Zuora keeps a failed write's answer under its idempotency key; retrying with that key would only get the
// failure back. After a refusal the event moves to fresh keys (after a 5xx, a 429 or a timeout it must not: see
// TestScheduledChangeWhoseAnswerWasLostStaysPendingOnce and consumer's TestOnlyRefusalsRotateIdempotencyKeys),
// and a redrive always does.
func TestStoredFailuresAreNotReplayedOnRetryOrRedrive(t *testing.T) {
	h := newHarness(t)
	h.cfg.Runner.MaxAttempts = 4
	h.startConsumer()

	// A validation failure, stored by Zuora, then fixed by the operator and redriven.
	h.sim.InjectFault(zuorasim.Fault{Method: "POST", PathPrefix: "/v2/accounts", Status: 400, Times: 1, StoreFailure: true,
		Message: "the tenant rejected the account"})
	id := h.customerEvent(events.TypeStiggCustomerCreated, customer("cust-redrive", "Redrive Person"))
	if typ, _ := h.waitOutcome(id, 20*time.Second); typ != events.TypeOutCustomerFailed {
		t.Fatalf("a 400 must dead-letter, got %s", typ)
	}
	// The entry names the Zuora requests of the attempt, for Zuora's support.
	dl := h.dlq()
	refused := ""
	for _, r := range h.sim.Requests() {
		if r.Method == "POST" && r.Path == "/v2/accounts" {
			refused = r.RequestID
		}
	}
	if len(dl) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dl))
	}
	if got := dl[0].Header.Get(consumer.HeaderDLQZuoraRequestIDs); refused == "" || !strings.Contains(got, refused) {
		t.Fatalf("dead letter request ids %q, want the refused create's %q", got, refused)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if res, err := consumer.Redrive(ctx, h.js, consumer.RedriveOptions{}); err != nil || res.Redriven != 1 {
		t.Fatalf("redrive: %+v %v", res, err)
	}
	h.eventually(20*time.Second, "the redriven customer's account", func() bool {
		return len(accountsWithCustomer(h.simState(), "cust-redrive")) == 1
	})
}
