package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/internal/natstest"
)

// What TestConsumerProcessesSurviveNodeAndProcessKills needs to kill a node with requests out to it.

const (
	// burstVersions is how many updates of each customer the survivor is handling when its node is killed.
	burstVersions = 5
	// burstBound is how long after the kill the burst may take: a stuck request's 10 s bound, a retry's backoff
	// and the fail-over, with room for a loaded machine; well under the 2-minute handler timeout it took without
	// the bound.
	burstBound = 45 * time.Second
)

// nodeLink forwards client connections to one node. Losing answers, it drops each message from the node that
// contains one of its markers (the rest goes through, the requests reach the node): to the client, those
// requests were in flight to a node that died. Cut, it closes its connections and refuses new ones until opened
// again.
type nodeLink struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu      sync.Mutex
	markers [][]byte // none: nothing is dropped
	dropped int
	down    bool
	conns   map[net.Conn]bool // the client side of each open connection
}

func newNodeLink(t *testing.T, target string) *nodeLink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &nodeLink{ln: ln, target: target, conns: map[net.Conn]bool{}}
	l.wg.Go(l.accept)
	t.Cleanup(func() { ln.Close(); l.cut(); l.wg.Wait() })
	return l
}

func (l *nodeLink) url() string { return "nats://" + l.ln.Addr().String() }

func (l *nodeLink) accept() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		down := l.down
		l.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", l.target)
		if err != nil {
			c.Close()
			continue
		}
		l.mu.Lock()
		l.conns[c] = true
		l.mu.Unlock()
		l.wg.Go(func() { _, _ = io.Copy(s, c); s.Close() })
		l.wg.Go(func() {
			_ = l.answers(c, s)
			c.Close()
			l.mu.Lock()
			delete(l.conns, c)
			l.mu.Unlock()
		})
	}
}

// answers passes the node's protocol on to the client frame by frame, leaving out the messages (MSG, HMSG)
// that carry a marker.
func (l *nodeLink) answers(c, s net.Conn) error {
	r, w := bufio.NewReaderSize(s, 64<<10), bufio.NewWriterSize(c, 64<<10)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		frame := append([]byte(nil), line...)
		if f := strings.Fields(string(line)); len(f) >= 4 && (f[0] == "MSG" || f[0] == "HMSG") {
			size, err := strconv.Atoi(f[len(f)-1])
			if err != nil {
				return err
			}
			body := make([]byte, size+2) // and its CRLF
			if _, err := io.ReadFull(r, body); err != nil {
				return err
			}
			frame = append(frame, body...)
		}
		l.mu.Lock()
		drop := slices.ContainsFunc(l.markers, func(m []byte) bool { return bytes.Contains(frame, m) })
		if drop {
			l.dropped++
		}
		l.mu.Unlock()
		if !drop {
			if _, err := w.Write(frame); err != nil {
				return err
			}
		}
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
}

// loseAnswers drops, from now on, every message from the node that contains one of markers.
func (l *nodeLink) loseAnswers(markers ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range markers {
		l.markers = append(l.markers, []byte(m))
	}
}

// lost counts the messages dropped so far.
func (l *nodeLink) lost() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

func (l *nodeLink) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = true
	for c := range l.conns {
		c.Close() // the copy to the node ends with it, and closes the node's side
	}
}

// open takes connections again and passes every answer on.
func (l *nodeLink) open() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down, l.markers = false, nil
}

func (l *nodeLink) active() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// survivorLink is the link the one consumer process left is connected through (a killed process's connection
// may take a moment to go).
func survivorLink(t *testing.T, links []*nodeLink) int {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var on []int
		for i, l := range links {
			for range l.active() {
				on = append(on, i)
			}
		}
		if len(on) == 1 {
			return on[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d consumer connections through the links (of nodes %v), want 1", len(on), on)
		}
	}
}

// placesOnEveryNode says whether the meta leader would place a replica on each node (it has heard from all).
func placesOnEveryNode(cluster *natstest.Cluster) bool {
	for i := range cluster.Size() {
		if srv := cluster.Server(i); srv != nil && len(srv.JetStreamClusterPeers()) == cluster.Size() {
			return true // only the meta leader answers
		}
	}
	return false
}

// leadStreamOn moves the stream's leadership to node i (a step-down with that node preferred) unless it leads
// already.
func leadStreamOn(ctx context.Context, cluster *natstest.Cluster, nc *nats.Conn, js jetstream.JetStream, stream string, i int) error {
	want := cluster.Name(i)
	req := fmt.Sprintf(`{"placement":{"preferred":%q}}`, want)
	for {
		leader, err := cluster.StreamLeader(ctx, js, stream)
		if err != nil {
			return err
		}
		if leader == want {
			return nil
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = nc.RequestWithContext(rctx, "$JS.API.STREAM.LEADER.STEPDOWN."+stream, []byte(req))
		cancel()
		if ctx.Err() != nil {
			return fmt.Errorf("move the leader of %s to %s: %w (last: %v)", stream, want, ctx.Err(), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
