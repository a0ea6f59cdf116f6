package console

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/topology"
)

func TestLastFilteredReadsTheNewestMatches(t *testing.T) {
	ns := natstest.Start(t)
	_, js := ns.Connect(t)
	ctx := context.Background()
	topo := topology.Default()
	topo.Partitions = 1
	if err := topology.EnsureStreams(ctx, js, topo); err != nil {
		t.Fatal(err)
	}
	// 3000 events: key "sparse" every 37th, key "early" three times at the start, key "dense" everywhere else.
	var msgs []*nats.Msg
	var sparse, dense []uint64
	for i := 1; i <= 3000; i++ {
		key := "dense"
		switch {
		default:
			dense = append(dense, uint64(i))
		case i <= 3:
			key = "early"
		case i%37 == 0:
			key = "sparse"
			sparse = append(sparse, uint64(i))
		}
		msgs = append(msgs, &nats.Msg{Subject: fmt.Sprintf("stigg.customer.updated.%s", key), Data: []byte("{}")})
	}
	publish(t, js, msgs...)

	for _, c := range []struct {
		key       string
		n         int
		wantFirst uint64
		wantLast  uint64
		wantLen   int
		older     bool
	}{
		{"sparse", 10, sparse[len(sparse)-10], sparse[len(sparse)-1], 10, true},
		{"early", 10, 1, 3, 3, false},
		{"dense", 10, dense[len(dense)-10], 3000, 10, true},
		{"none", 10, 0, 0, 0, false},
	} {
		got, older, err := lastFiltered(ctx, js, topology.StreamStigg, "stigg.*.*."+c.key+".*", c.n)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != c.wantLen || older != c.older {
			t.Fatalf("%s: %d messages (older %v), want %d (older %v)", c.key, len(got), older, c.wantLen, c.older)
		}
		if c.wantLen > 0 && (got[0].Seq != c.wantFirst || got[len(got)-1].Seq != c.wantLast) {
			t.Fatalf("%s: seqs %d..%d, want %d..%d", c.key, got[0].Seq, got[len(got)-1].Seq, c.wantFirst, c.wantLast)
		}
	}
}
