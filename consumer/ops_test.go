package consumer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
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

func TestPageDLQReadsOnlyItsPage(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := topology.EnsureStreams(ctx, js, topology.Default()); err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		m := nats.NewMsg(fmt.Sprintf("zuorasync.dlq.stigg.customer.created.c%d.0", i+1))
		if i%3 == 0 {
			m.Subject = fmt.Sprintf("zuorasync.dlq.stigg.package.published.p%d.0", i+1)
		}
		m.Header.Set(HeaderDLQClass, DLQPermanent)
		m.Header.Set(HeaderDLQReason, fmt.Sprintf("reason %d", (i+1)%7))
		if _, err := js.PublishMsgAsync(m); err != nil {
			t.Fatal(err)
		}
	}
	<-js.PublishAsyncComplete()

	page, err := PageDLQ(ctx, js, DLQFilter{}, 0, 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 20 || page.Entries[0].Seq != 1 || page.Next != 20 || page.Examined != 21 || page.Total != n {
		t.Fatalf("first page: %d entries from %d, next %d, examined %d, total %d", len(page.Entries),
			page.Entries[0].Seq, page.Next, page.Examined, page.Total)
	}
	page, err = PageDLQ(ctx, js, DLQFilter{}, 290, 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 10 || page.Entries[9].Seq != n || page.Next != 0 || page.Examined != 10 {
		t.Fatalf("last page: %d entries, next %d, examined %d", len(page.Entries), page.Next, page.Examined)
	}
	// The server applies the subject filter: every third entry is a package.
	page, err = PageDLQ(ctx, js, DLQFilter{Subject: "zuorasync.dlq.stigg.package.>"}, 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != n/3 || page.Entries[1].Seq != 4 || page.Next != 0 || page.Examined != n/3 {
		t.Fatalf("package entries: %d, second %d, examined %d", len(page.Entries), page.Entries[1].Seq, page.Examined)
	}
	// Match is applied while paging, within the bound.
	match := func(dl DeadLetter) bool { return dl.Reason == "reason 0" } // seqs 7, 14, …
	page, err = PageDLQ(ctx, js, DLQFilter{Match: match, MaxExamined: 50}, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 3 || page.Entries[2].Seq != 21 || page.Next != 21 || page.Bounded {
		t.Fatalf("matched page: %+v", page)
	}
	page, err = PageDLQ(ctx, js, DLQFilter{Match: func(DeadLetter) bool { return false }, MaxExamined: 50}, 100, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !page.Bounded || page.Examined != 50 || page.Next != 150 || len(page.Entries) != 0 {
		t.Fatalf("a page bounded before it filled: bounded %v, examined %d, next %d", page.Bounded, page.Examined, page.Next)
	}
	// Redrive by sequence reads those entries only; a sequence that is gone is skipped.
	entries, err := dlqEntries(ctx, js, "zuorasync.dlq.stigg.customer.>", []uint64{3, 2, 1, 2, 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Seq != 2 || entries[1].Seq != 3 {
		t.Fatalf("entries 1 (a package: filtered out), 2, 3 and 1000 (missing): %d read", len(entries))
	}
}

func TestSubjectMatches(t *testing.T) {
	for _, c := range []struct {
		filter, subject string
		want            bool
	}{
		{"a.>", "a.b", true}, {"a.>", "a", false}, {"a.*.c", "a.b.c", true}, {"a.*.c", "a.b.d", false},
		{"a.b", "a.b", true}, {"a.b", "a.b.c", false}, {"a.*", "a.b.c", false}, {"*.>", "x.y.z", true},
	} {
		if got := SubjectMatches(c.filter, c.subject); got != c.want {
			t.Errorf("SubjectMatches(%q, %q) = %v", c.filter, c.subject, got)
		}
	}
}
