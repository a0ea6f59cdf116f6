package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/consumer"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/app"
	"github.com/zuora-sync/zuora-sync/internal/benchkit"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// BenchmarkZuoraBudget: how close the consumer gets to Zuora's concurrency budget without being refused. The
// simulator allows budgetSlots concurrent requests per class and takes budgetLatency per request (a latency
// fault on every API path), so at most budgetSlots/budgetLatency calls per second of one class can succeed.
// The customer flow calls only Quickstart (/v2: the Object Query class, whose answers announce no concurrency
// limit), so that is the budget. A batch of budgetCustomers new customers, each created then renamed, is
// synced; budget-ratio is the successful Zuora calls per second ÷ (C/L), next to the 429s Zuora answered and
// the order check (per customer, the created outcome before the updated one and Zuora left with the rename).
// instances=3 runs three consumer instances sharing the tenant (and its budget) on one stream.
func BenchmarkZuoraBudget(b *testing.B) {
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) { benchBudget(b, n) })
	}
}

const (
	budgetSlots     = 3
	budgetLatency   = 100 * time.Millisecond
	budgetCustomers = 120
)

func benchBudget(b *testing.B, instances int) {
	srv := natstest.Start(b)
	_, js := srv.Connect(b)
	sim := zuorasim.New(zuorasim.Config{Limits: zuorasim.Limits{Default: budgetSlots, HighVolume: budgetSlots, ObjectQuery: budgetSlots}})
	sim.InjectFault(zuorasim.Fault{ID: "latency", PathPrefix: "/v", Latency: budgetLatency})
	hs := httptest.NewServer(sim.Handler())
	b.Cleanup(func() { hs.Close(); sim.Close() })

	rc := consumer.DefaultConfig()
	rc.Topology = benchTopology()
	var apps []*app.App
	for range instances {
		a, err := app.New(context.Background(), app.Config{
			NATSURL:           srv.ClientURL(),
			ZuoraBaseURL:      hs.URL,
			ZuoraClientID:     zuorasim.DefaultClientID,
			ZuoraClientSecret: zuorasim.DefaultClientSecret,
			Runner:            rc,
			Logger:            testLogger(b),
		})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		defer func() { cancel(); <-done; a.Close() }()
		apps = append(apps, a)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, a := range apps {
		for a.Limiter.Stats().Instances != instances || a.Runner.Ready() != nil {
			if time.Now().After(deadline) {
				b.Fatalf("instance sees %d instances (ready: %v), want %d", a.Limiter.Stats().Instances, a.Runner.Ready(), instances)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	var ratio, secs float64
	var calls, refused, disorder int
	b.ResetTimer()
	for i := range b.N {
		before := len(sim.Requests())
		outBefore := streamMsgs(b, js, topology.StreamOutcomes)
		prefix := fmt.Sprintf("budget-%d-%d-%d", instances, i, time.Now().UnixNano())
		start := time.Now()
		publishCustomerPairs(b, js, prefix, budgetCustomers)
		waitStreamMsgs(b, js, topology.StreamOutcomes, outBefore+2*budgetCustomers)
		elapsed := time.Since(start)
		calls, refused = 0, 0
		for _, r := range sim.Requests()[before:] {
			switch {
			case !strings.HasPrefix(r.Path, "/v"):
			case r.Status == 429:
				refused++
			default:
				calls++
			}
		}
		secs = elapsed.Seconds()
		ratio = float64(calls) / secs / (float64(budgetSlots) / budgetLatency.Seconds())
		disorder = budgetOrderViolations(b, js, sim, prefix, outBefore)
	}
	b.StopTimer()
	b.ReportMetric(ratio, "budget-ratio")
	b.ReportMetric(float64(refused), "429s")
	b.ReportMetric(float64(calls), "calls")
	b.ReportMetric(secs, "s")
	b.ReportMetric(float64(disorder), "order-violations")
	if disorder > 0 {
		b.Errorf("%d customers out of order", disorder)
	}
}

func budgetCustomer(prefix string, i int, name string) *events.Customer {
	return customer(fmt.Sprintf("%s-%d", prefix, i), name)
}

// publishCustomerPairs publishes, per customer, customer.created and then customer.updated with a new name.
func publishCustomerPairs(b *testing.B, js jetstream.JetStream, prefix string, n int) {
	b.Helper()
	var futures []jetstream.PubAckFuture
	for step, typ := range []string{events.TypeStiggCustomerCreated, events.TypeStiggCustomerUpdated} {
		for i := range n {
			c := budgetCustomer(prefix, i, []string{"Budget Person", "Budget Renamed"}[step])
			futures = append(futures, benchkit.PublishAsync(b, js, prefix, benchkit.CustomerMsg(b, typ, c)))
		}
	}
	benchkit.AwaitAcks(b, prefix, futures)
}

func streamMsgs(b *testing.B, js jetstream.JetStream, stream string) uint64 {
	b.Helper()
	s, err := js.Stream(context.Background(), stream)
	if err != nil {
		b.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return info.State.Msgs
}

// budgetOrderViolations counts the batch's customers whose outcomes are not "created, then updated" in the
// outcome stream, or whose Zuora account does not carry the rename (the later event).
func budgetOrderViolations(b *testing.B, js jetstream.JetStream, sim *zuorasim.Sim, prefix string, from uint64) int {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, topology.StreamOutcomes)
	if err != nil {
		b.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	actions := map[string][]string{}
	for seq := info.State.FirstSeq + from; seq <= info.State.LastSeq; seq++ {
		msg, err := s.GetMsg(ctx, seq)
		if err != nil {
			b.Fatal(err)
		}
		ev, err := events.FromMsg(msg.Header, msg.Data)
		if err != nil {
			b.Fatal(err)
		}
		var o events.Outcome
		if err := json.Unmarshal(ev.Data(), &o); err != nil {
			b.Fatal(err)
		}
		if strings.HasPrefix(o.StiggID, prefix+"-") {
			actions[o.StiggID] = append(actions[o.StiggID], o.Action)
		}
	}
	names := map[string]string{}
	st := sim.State()
	for _, a := range st.Accounts {
		if id := a.CustomFields["stiggCustomerId__c"]; strings.HasPrefix(fmt.Sprint(id), prefix+"-") {
			names[fmt.Sprint(id)] = a.Name
		}
	}
	bad := 0
	for i := range budgetCustomers {
		id := fmt.Sprintf("%s-%d", prefix, i)
		if got := actions[id]; len(got) != 2 || got[0] != "created" || got[1] != "updated" || names[id] != "Budget Renamed" {
			bad++
		}
	}
	return bad
}
