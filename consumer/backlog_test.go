package consumer

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/topology"
)

// Defect 7: a STIGG stream that existed before zuora-sync provisioned it (subjects stigg.>, no partition
// transform) holds a backlog nobody read: keyed events without a partition token and subjects of no valid shape.
// Every stored message is either handled or dead-lettered with a reason.
func TestPreexistingBacklogIsHandledOrDeadLettered(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: topology.StreamStigg, Subjects: []string{"stigg.>"},
		Duplicates: 5 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	publish := func(subject, id string) {
		ev, err := events.New(events.TypeStiggCustomerUpdated, "urn:test", "cust-1", "cust-1", []byte(customer("cust-1", id)))
		if err != nil {
			t.Fatal(err)
		}
		ev.SetID(id)
		msg, err := events.ToMsg(subject, ev)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	publish("stigg.customer.updated.cust-1", "keyed-backlog")
	publish("stigg.customer", "two-tokens")
	publish("stigg.customer.updated.cust-1.x.y", "six-tokens")

	router := dispatch.NewRouter()
	h := &recorder{}
	router.Handle(events.TypeStiggCustomerUpdated, h)
	cfg := DefaultConfig()
	cfg.Topology.Partitions = 4
	cfg.Logger = testLogger(t)
	r := New(js, router, cfg)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx) }()
	defer func() { stop(); <-done }()

	waitFor(t, func() bool { return len(h.list()) == 1 })
	if got := h.list()[0]; got != "keyed-backlog" {
		t.Fatalf("handled %q, want the keyed backlog event", got)
	}
	var dlq []DeadLetter
	waitFor(t, func() bool {
		dlq, _ = ListDLQ(ctx, js, "", 0)
		return len(dlq) == 2
	})
	for _, dl := range dlq {
		if dl.EventID != "two-tokens" && dl.EventID != "six-tokens" || dl.Reason == "" {
			t.Errorf("dead letter %+v", dl)
		}
	}
	// And from now on the stream refuses those shapes at publish.
	if _, err := js.Publish(ctx, "stigg.customer", []byte("{}")); err == nil {
		t.Fatal("a two-token subject was accepted after provisioning")
	}
}
