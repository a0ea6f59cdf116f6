package consumer

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/internal/natstest"
)

func TestEnsureStreamsPartitionsKeyedSubjects(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	topo := DefaultTopology()
	topo.Partitions = 4
	if err := EnsureStreams(ctx, js, topo); err != nil {
		t.Fatal(err)
	}
	// Idempotent: a second process provisioning the same topology changes nothing.
	if err := EnsureStreams(ctx, js, topo); err != nil {
		t.Fatalf("second EnsureStreams: %v", err)
	}
	for _, key := range []string{"cust-1", "cust-2", "cust-1"} {
		if _, err := js.Publish(ctx, "stigg.customer.created."+key, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	s, err := js.Stream(ctx, StreamStigg)
	if err != nil {
		t.Fatal(err)
	}
	partOf := map[string]string{}
	for seq := uint64(1); seq <= 3; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		tok := strings.Split(m.Subject, ".")
		if len(tok) != 5 {
			t.Fatalf("stored subject %q: want 5 tokens (partition appended)", m.Subject)
		}
		if prev, ok := partOf[tok[3]]; ok && prev != tok[4] {
			t.Fatalf("key %s landed in partitions %s and %s", tok[3], prev, tok[4])
		}
		partOf[tok[3]] = tok[4]
	}

	other := topo
	other.Partitions = 8
	if err := EnsureStreams(ctx, js, other); err == nil || !strings.Contains(err.Error(), "partition") {
		t.Fatalf("changing the partition count must be refused, got %v", err)
	}
}

func TestEnsureConsumerKeepsReplayPosition(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	topo := DefaultTopology()
	topo.Partitions = 2
	if err := EnsureStreams(ctx, js, topo); err != nil {
		t.Fatal(err)
	}
	cfg := topo.partitionConsumerConfig(inputStreams[0], 0)
	cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
	cfg.OptStartSeq = 42
	if _, err := js.CreateConsumer(ctx, StreamStigg, cfg); err != nil {
		t.Fatal(err)
	}
	topo.AckWait = 45 * time.Second
	c, err := ensureConsumer(ctx, js, StreamStigg, topo.partitionConsumerConfig(inputStreams[0], 0))
	if err != nil {
		t.Fatal(err)
	}
	got := c.CachedInfo().Config
	if got.OptStartSeq != 42 || got.AckWait != 45*time.Second {
		t.Fatalf("start seq %d ack wait %s: want 42 and 45s", got.OptStartSeq, got.AckWait)
	}
}
