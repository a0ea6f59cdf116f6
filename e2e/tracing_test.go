package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/tracing"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// One trace from the event a publisher sent to the outcome: the CloudEvent's traceparent continues through the
// handler into every Zuora request (a child span each: same trace id, another parent id) and into the outcome
// event.
func TestOneTraceFromEventThroughZuoraToOutcome(t *testing.T) {
	stop, err := tracing.Setup(context.Background(), "e2e")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop(context.Background()) })
	h := newHarness(t)
	h.startConsumer()
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	ev := h.newEvent(events.TypeStiggCustomerCreated, "cust-traced", "cust-traced", customer("cust-traced", "Trace Able"))
	if err := events.SetTraceparent(&ev, "00-"+traceID+"-"+parentID+"-01"); err != nil {
		t.Fatal(err)
	}
	h.publish(ev)
	if typ, out := h.waitOutcome(ev.ID(), 20*time.Second); typ != events.TypeOutCustomerSynced {
		t.Fatalf("outcome %s %+v", typ, out)
	}

	calls := 0
	for _, r := range h.sim.Requests() {
		if r.TrackID != zuoraapi.TrackID(ev.ID()) {
			continue
		}
		calls++
		parts := strings.Split(r.Traceparent, "-")
		if len(parts) != 4 || parts[1] != traceID || parts[2] == parentID {
			t.Errorf("%s %s carried traceparent %q: want trace %s under a span of the handler", r.Method, r.Path, r.Traceparent, traceID)
		}
	}
	if calls == 0 {
		t.Fatal("no Zuora request of the event found")
	}
	var outcome string
	for _, o := range h.readStream(topology.StreamOutcomes, "zuorasync.out.>") {
		if strings.HasPrefix(o.ID(), ev.ID()+":") {
			outcome = events.Traceparent(o)
		}
	}
	parts := strings.Split(outcome, "-")
	if len(parts) != 4 || parts[1] != traceID || parts[2] == parentID {
		t.Fatalf("outcome traceparent %q: want trace %s continued by the handler's span", outcome, traceID)
	}
	t.Logf("trace %s: %d Zuora requests and the outcome, each under a span of its own", traceID, calls)
}
