package topology

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/internal/natstest"
)

// provisioned starts a server and provisions the streams of the default topology with the given partitions.
func provisioned(t *testing.T, partitions int) (*nats.Conn, jetstream.JetStream, context.Context, Topology) {
	t.Helper()
	srv := natstest.Start(t)
	nc, js := srv.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	topo := Default()
	topo.Partitions = partitions
	if err := EnsureStreams(ctx, js, topo); err != nil {
		t.Fatal(err)
	}
	return nc, js, ctx, topo
}

func TestEnsureStreamsPartitionsKeyedSubjects(t *testing.T) {
	_, js, ctx, topo := provisioned(t, 4)
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

// Every instance provisions at start, while others consume: an unchanged topology must not update live streams
// (the server re-applies a config under traffic), and a changed one still must.
func TestEnsureStreamsUpdatesOnlyWhatDiffers(t *testing.T) {
	nc, js, ctx, topo := provisioned(t, 2)
	updates, err := nc.SubscribeSync("$JS.EVENT.ADVISORY.STREAM.UPDATED.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := EnsureStreams(ctx, js, topo); err != nil {
		t.Fatal(err)
	}
	if m, err := updates.NextMsg(300 * time.Millisecond); err == nil {
		t.Fatalf("re-provisioning an unchanged topology updated %s", m.Subject)
	}
	topo.MaxAge += time.Hour
	if err := EnsureStreams(ctx, js, topo); err != nil {
		t.Fatal(err)
	}
	if _, err := updates.NextMsg(2 * time.Second); err != nil {
		t.Fatalf("a longer MaxAge was not applied: %v", err)
	}
}

func TestEnsureConsumerKeepsReplayPosition(t *testing.T) {
	_, js, ctx, topo := provisioned(t, 2)
	cfg := topo.PartitionConsumer(Inputs[0], 0)
	cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
	cfg.OptStartSeq = 42
	if _, err := js.CreateConsumer(ctx, StreamStigg, cfg); err != nil {
		t.Fatal(err)
	}
	topo.AckWait = 45 * time.Second
	c, err := EnsureConsumer(ctx, js, StreamStigg, topo.PartitionConsumer(Inputs[0], 0))
	if err != nil {
		t.Fatal(err)
	}
	got := c.CachedInfo().Config
	if got.OptStartSeq != 42 || got.AckWait != 45*time.Second {
		t.Fatalf("start seq %d ack wait %s: want 42 and 45s", got.OptStartSeq, got.AckWait)
	}
}

// Every subject the stream stores is one a consumer reads: other shapes are refused at publish, and the keyed
// shape lands in the partition Partition computes (the runtime relies on that to spot forged partition tokens).
func TestInputStreamsRefuseInvalidShapesAndPartitionLikeTheServer(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	topo := Default()
	if err := EnsureStreams(ctx, js, topo); err != nil {
		t.Fatal(err)
	}
	for _, subj := range []string{"stigg.customer", "stigg.customer.created.cust-1.3", "stigg.a.b.c.d.e", "zuora.invoice"} {
		if _, err := js.Publish(ctx, subj, []byte("{}")); err == nil {
			t.Errorf("publish on %s was accepted; no consumer reads that shape", subj)
		}
	}
	for _, subj := range []string{"stigg.customer.created", "zuora.invoice.paid"} {
		if _, err := js.Publish(ctx, subj, []byte("{}")); err != nil {
			t.Errorf("unkeyed publish on %s refused: %v", subj, err)
		}
	}
	s, err := js.Stream(ctx, StreamStigg)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"cust-1", "cust-2", "x%2Ey", "~", "a_very-long-customer-id-0123456789"} {
		ack, err := js.Publish(ctx, "stigg.customer.created."+key, []byte("{}"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.GetMsg(ctx, ack.Sequence)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("stigg.customer.created.%s.%d", key, topo.Partition(key)); m.Subject != want {
			t.Errorf("stored as %s, Partition says %s", m.Subject, want)
		}
	}
}

// Reads of the runtime's buckets go to the stream leader: they decide order and dedupe, and a follower's direct
// get may miss a write made just before.
func TestBucketsReadFromTheLeader(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A bucket created elsewhere with direct gets on (nats.go's default) is switched over too.
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: BucketParked}); err != nil {
		t.Fatal(err)
	}
	b, err := EnsureBuckets(ctx, js, Default())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range []jetstream.KeyValue{b.IDs, b.Parked, b.Idem, b.Applied, b.Usage} {
		s, err := js.Stream(ctx, "KV_"+kv.Bucket())
		if err != nil {
			t.Fatal(err)
		}
		if s.CachedInfo().Config.AllowDirect {
			t.Errorf("bucket %s allows direct gets", kv.Bucket())
		}
		if _, err := kv.Put(ctx, "k", []byte("v")); err != nil {
			t.Fatal(err)
		}
		if e, err := kv.Get(ctx, "k"); err != nil || string(e.Value()) != "v" {
			t.Errorf("bucket %s: read back %v", kv.Bucket(), err)
		}
	}
	if _, err := EnsureBuckets(ctx, js, Default()); err != nil {
		t.Fatalf("second EnsureBuckets: %v", err)
	}
}

// Golden vectors: deployed KV keys (id map, parked queues, idempotency generations) depend on KVKey.
func TestKVKeyGoldenVectors(t *testing.T) {
	long := strings.Repeat("x", MaxKVKeyToken+1)
	for in, want := range map[string]string{
		"cust-1":    "cust-1",
		"cust.1 *x": "cust=2E1=20=2Ax",
		"":          "=",
		"ünï":       "=C3=BCn=C3=AF",
		long:        "=H84a0678c90937f5dcf9994d5866668da6b995109c8ad845410559b48a4ecafed",
	} {
		if got := KVKey(in); got != want {
			t.Errorf("KVKey(%q) = %q, want %q", in, got, want)
		}
	}
	k := KVKey(long)
	if len(k) != 66 || !strings.HasPrefix(k, "=H") {
		t.Fatalf("long id: %q", k)
	}
	if KVKey(long+"y") == k {
		t.Fatal("two long ids share a key")
	}
	if k5 := KVKey(strings.Repeat("é", 2500)); len(k5) > MaxKVKeyToken {
		t.Fatalf("a 5 KB id became a %d-byte key", len(k5))
	}
}

func FuzzKVKey(f *testing.F) {
	for _, s := range []string{"", "cust-1", "a.b", "*", ">", "=3D", "ünï", "\x00", strings.Repeat("a", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		k := KVKey(id)
		if len(k) > MaxKVKeyToken {
			t.Fatalf("KVKey(%d bytes) is %d bytes", len(id), len(k))
		}
		for i := 0; i < len(k); i++ {
			c := k[i]
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '='
			if !ok {
				t.Fatalf("KVKey(%q) = %q has byte %q outside the KV token alphabet", id, k, c)
			}
		}
		if strings.HasPrefix(k, "=H") {
			return
		}
		// Injective for ids short enough to keep: the key decodes back to the id.
		if id != "" && decodeKVKey(t, k) != id {
			t.Fatalf("KVKey(%q) = %q does not decode back", id, k)
		}
	})
}

func decodeKVKey(t *testing.T, k string) string {
	var out []byte
	for i := 0; i < len(k); i++ {
		if k[i] != '=' {
			out = append(out, k[i])
			continue
		}
		var b byte
		if _, err := fmt.Sscanf(k[i+1:i+3], "%02X", &b); err != nil {
			t.Fatalf("bad escape in %q: %v", k, err)
		}
		out = append(out, b)
		i += 2
	}
	return string(out)
}
