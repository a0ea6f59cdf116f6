package natstest

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// clusterStream waits for a healthy cluster, creates an R3 stream on it and waits until the stream is led and
// current on every node.
func clusterStream(t *testing.T, ctx context.Context, c *Cluster, js jetstream.JetStream, name string) {
	t.Helper()
	start := time.Now()
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster healthy %s after start", time.Since(start).Round(time.Millisecond))
	retry(t, ctx, "create stream "+name, func(ctx context.Context) error {
		_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: name,
			Subjects: []string{strings.ToLower(name) + ".>"}, Storage: jetstream.FileStorage, Replicas: 3})
		return err
	})
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
}

// retry runs an idempotent JetStream request until it succeeds, a few seconds per attempt: on a loaded machine
// a freshly formed cluster sometimes leaves a request of its first seconds unanswered.
func retry(t *testing.T, ctx context.Context, what string, req func(context.Context) error) {
	t.Helper()
	for {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := req(actx)
		cancel()
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("%s: %v; again", what, err)
		time.Sleep(100 * time.Millisecond)
	}
}

// publishAcked publishes until the stream acknowledges, under one message id so a retry of a write that was
// stored but not acknowledged is deduplicated instead of stored twice.
func publishAcked(ctx context.Context, js jetstream.JetStream, subject, id string) (uint64, error) {
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ack, err := js.Publish(actx, subject, []byte(id), jetstream.WithMsgID(id))
		cancel()
		if err == nil {
			return ack.Sequence, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("publish %s: %w (last: %v)", id, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitCount waits until node i holds want messages of the stream, ending at sequence want.
func waitCount(t *testing.T, ctx context.Context, c *Cluster, i int, stream string, want uint64) {
	t.Helper()
	for {
		st, ok := c.StreamState(i, stream)
		if ok && st.Msgs == want && st.LastSeq == want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("node %s has %+v of %s, want %d messages", c.Name(i), st, stream, want)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// The leader of an R3 stream is killed and restarted while a client publishes: every publish is acknowledged in
// the end, each once, and all three nodes hold exactly those messages.
func TestClusterKeepsAcknowledgedPublishesWhileLeaderIsKilled(t *testing.T) {
	c := StartCluster(t, 3)
	nc, js := c.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	clusterStream(t, ctx, c, js, "ORDERS")
	leader, err := c.StreamLeader(ctx, js, "ORDERS")
	if err != nil {
		t.Fatal(err)
	}
	li := c.Index(leader)

	// The publisher runs until told to stop; the kill and the restart each happen while it publishes, and at
	// least 100 publishes are acknowledged by the two remaining nodes alone and 100 after the restart.
	var acked atomic.Int64
	stop := make(chan struct{})
	done := make(chan error, 1)
	var seqs []uint64 // the publisher's until done
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			seq, err := publishAcked(ctx, js, "orders.new", fmt.Sprintf("order-%d", i))
			if err != nil {
				done <- err
				return
			}
			seqs = append(seqs, seq)
			acked.Add(1)
		}
	}()
	waitFor := func(n int64) {
		for acked.Load() < n && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor(50)
	killed := time.Now()
	c.Kill(li)
	if c.Running(li) {
		t.Fatal("killed node still running")
	}
	t.Logf("leader %s killed after %d acks in %s (client on %s)", leader, acked.Load(),
		time.Since(killed).Round(time.Millisecond), nc.ConnectedServerName())
	newLeader, err := c.StreamLeader(ctx, js, "ORDERS")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s leads %s after the kill began", newLeader, time.Since(killed).Round(time.Millisecond))
	if newLeader == leader {
		t.Fatalf("the killed node %s still leads", leader)
	}
	waitFor(acked.Load() + 100)
	restarted := time.Now()
	c.Restart(li)
	if !c.Running(li) {
		t.Fatal("restarted node not running")
	}
	t.Logf("%s restarted in %s", leader, time.Since(restarted).Round(time.Millisecond))
	waitFor(acked.Load() + 100)
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	total := uint64(len(seqs))
	t.Logf("%d publishes acknowledged", total)
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	seen := make(map[uint64]bool, total)
	for i, seq := range seqs {
		if seq < 1 || seq > total || seen[seq] {
			t.Fatalf("publish %d acknowledged as sequence %d (outside 1..%d or twice)", i, seq, total)
		}
		seen[seq] = true
	}
	for i := range c.Size() {
		waitCount(t, ctx, c, i, "ORDERS", total)
	}
	s, err := js.Stream(ctx, "ORDERS")
	if err != nil {
		t.Fatal(err)
	}
	for i, seq := range seqs {
		msg, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("sequence %d: %v", seq, err)
		}
		if want := fmt.Sprintf("order-%d", i); string(msg.Data) != want {
			t.Fatalf("sequence %d holds %q, want %q", seq, msg.Data, want)
		}
	}
}

// Stepping a stream and a consumer down moves their leadership to another node.
func TestClusterStepDownMovesLeaders(t *testing.T) {
	c := StartCluster(t, 3)
	nc, js := c.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	clusterStream(t, ctx, c, js, "TASKS")
	retry(t, ctx, "create consumer", func(ctx context.Context) error {
		_, err := js.CreateOrUpdateConsumer(ctx, "TASKS", jetstream.ConsumerConfig{Durable: "worker",
			AckPolicy: jetstream.AckExplicitPolicy, Replicas: 3})
		return err
	})
	before, err := c.StreamLeader(ctx, js, "TASKS")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.StepDownStream(ctx, nc, "TASKS"); err != nil {
		t.Fatal(err)
	}
	after, err := c.StreamLeader(ctx, js, "TASKS")
	if err != nil || after == before {
		t.Fatalf("stream leader %s before, %s after step-down (%v)", before, after, err)
	}
	t.Logf("stream leader %s -> %s in %s", before, after, time.Since(start).Round(time.Millisecond))

	before, err = c.ConsumerLeader(ctx, js, "TASKS", "worker")
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if err := c.StepDownConsumer(ctx, nc, "TASKS", "worker"); err != nil {
		t.Fatal(err)
	}
	after, err = c.ConsumerLeader(ctx, js, "TASKS", "worker")
	if err != nil || after == before {
		t.Fatalf("consumer leader %s before, %s after step-down (%v)", before, after, err)
	}
	t.Logf("consumer leader %s -> %s in %s", before, after, time.Since(start).Round(time.Millisecond))
	if _, err := publishAcked(ctx, js, "tasks.one", "task-1"); err != nil {
		t.Fatal(err)
	}
	if err := c.StepDownConsumer(ctx, nc, "TASKS", "missing"); err == nil {
		t.Fatal("stepping down a consumer that does not exist succeeded")
	}
}

// A node killed and restarted twice in a row, while the other two take writes each time, comes back with every
// message; killing a node that is down and restarting one that runs change nothing.
func TestClusterRestartedNodeCatchesUpTwice(t *testing.T) {
	c := StartCluster(t, 3)
	nc, js := c.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	clusterStream(t, ctx, c, js, "EVENTS")
	if got := strings.Count(c.ClientURLs(), "nats://"); got != 3 {
		t.Fatalf("ClientURLs %q: want 3 URLs", c.ClientURLs())
	}
	// The client's own server: the publishes below also show the client moving to another node.
	f := c.Index(nc.ConnectedServerName())
	const perRound = 100
	for round := 1; round <= 2; round++ {
		c.Kill(f)
		c.Kill(f)
		if c.Running(f) {
			t.Fatal("killed node still running")
		}
		for i := range perRound {
			if _, err := publishAcked(ctx, js, "events.x", fmt.Sprintf("r%d-%d", round, i)); err != nil {
				t.Fatal(err)
			}
		}
		if round == 1 && nc.ConnectedServerName() == c.Name(f) {
			t.Fatalf("the client is still on %s, which is down", c.Name(f))
		}
		if _, ok := c.StreamState(f, "EVENTS"); ok {
			t.Fatal("a node that is down reports stream state")
		}
		start := time.Now()
		c.Restart(f)
		c.Restart(f)
		if !c.Running(f) {
			t.Fatal("restarted node not running")
		}
		if err := c.WaitHealthy(ctx); err != nil {
			t.Fatal(err)
		}
		waitCount(t, ctx, c, f, "EVENTS", uint64(round*perRound))
		t.Logf("round %d: %s restarted, healthy and caught up in %s", round, c.Name(f), time.Since(start).Round(time.Millisecond))
	}
}
