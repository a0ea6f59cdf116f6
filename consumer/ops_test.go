package consumer

import (
	"context"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/topology"
)

func TestReplayFromATimeResetsEveryConsumerToTheFirstLaterEvent(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	topo := topology.Default()
	topo.Partitions = 2
	if err := topology.EnsureStreams(ctx, js, topo); err != nil {
		t.Fatal(err)
	}
	for p := range 2 {
		if _, err := topology.EnsureConsumer(ctx, js, topology.StreamStigg, topo.PartitionConsumer(topology.Inputs[0], p)); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{"a", "b"} {
		if _, err := js.Publish(ctx, "stigg.customer.created."+key, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	since := time.Now()
	time.Sleep(50 * time.Millisecond)
	for _, key := range []string{"c", "d"} {
		if _, err := js.Publish(ctx, "stigg.customer.created."+key, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}

	seq, reset, err := Replay(ctx, js, topology.StreamStigg, ReplayFrom{Time: since})
	if err != nil {
		t.Fatal(err)
	}
	if seq != 3 || len(reset) != 2 {
		t.Fatalf("replay from a time: seq %d, reset %v; want seq 3 on both partition consumers", seq, reset)
	}
	// Every reset consumer now has exactly the events from seq 3 on pending.
	total := uint64(0)
	for _, name := range reset {
		c, err := js.Consumer(ctx, topology.StreamStigg, name)
		if err != nil {
			t.Fatal(err)
		}
		info, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total += info.NumPending
	}
	if total != 2 {
		t.Fatalf("%d events pending after the replay, want the 2 published after the time", total)
	}

	// A time after the last event replays nothing but is not an error.
	seq, _, err = Replay(ctx, js, topology.StreamStigg, ReplayFrom{Time: time.Now().Add(time.Hour)})
	if err != nil || seq != 5 {
		t.Fatalf("replay from the future: seq %d err %v, want 5 (the next event)", seq, err)
	}
	if _, _, err := Replay(ctx, js, topology.StreamStigg, ReplayFrom{}); err == nil {
		t.Fatal("a replay without a start must be refused")
	}
}
