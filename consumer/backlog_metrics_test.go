package consumer

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/topology"
)

// The backlog gauges say what JetStream holds at the scrape: undelivered messages per runtime consumer, the
// DLQ's size, the entities with parked events.
func TestBacklogGaugesReadJetStream(t *testing.T) {
	e := newRuntimeEnv(t)
	topo := e.r.cfg.Topology
	for p := range topo.Partitions { // the durables the runner's loops would create
		if _, err := topology.EnsureConsumer(e.ctx, e.js, topology.StreamStigg, topo.PartitionConsumer(topology.Inputs[0], p)); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{"cust-1", "cust-2", "cust-3"} {
		if _, err := e.js.Publish(e.ctx, "stigg.customer.updated."+key, []byte(customer(key, "x"))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.js.Publish(e.ctx, topology.PrefixDLQ+".stigg.customer.updated.cust-9", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	ev := e.delivery(events.TypeStiggCustomerUpdated, "p1", "cust-4", customer("cust-4", "y"))
	decoded, err := events.FromMsg(ev.header, ev.data)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.r.parked.add(e.ctx, parkKey(&decoded), "p1"); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewBacklogCollector(e.js))
	want := `
# HELP zuorasync_dlq_messages Dead letters waiting in ZUORASYNC_DLQ.
# TYPE zuorasync_dlq_messages gauge
zuorasync_dlq_messages 1
# HELP zuorasync_parked_entities Entities with events parked while a dependency is missing.
# TYPE zuorasync_parked_entities gauge
zuorasync_parked_entities 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "zuorasync_dlq_messages", "zuorasync_parked_entities"); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	pending := 0.0
	for _, f := range families {
		if f.GetName() != "zuorasync_consumer_pending_messages" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "consumer" && strings.Contains(l.GetValue(), "-p") { // the partition consumers
					pending += m.GetGauge().GetValue()
				}
			}
		}
	}
	if pending != 3 {
		t.Fatalf("partition consumers have %v pending, want the 3 published", pending)
	}
}
