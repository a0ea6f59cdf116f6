package natstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zuora-sync/zuora-sync/internal/natsembed"
)

// Cluster is an in-process JetStream cluster on loopback whose nodes a test can kill and restart. Each node keeps
// its store directory and its client and route ports across restarts, so a restarted node rejoins as the same
// peer with its data, and clients given ClientURLs find it again.
type Cluster struct {
	tb    testing.TB
	name  string
	log   *slog.Logger // nil keeps the servers silent
	nodes []*node

	mu sync.Mutex // guards node.srv

	ctlMu  sync.Mutex
	ctl    *nats.Conn // the cluster's own client for WaitHealthy, opened on first use
	ctlJS  jetstream.JetStream
	closed bool
}

type node struct {
	name                  string
	dir                   string
	clientPort, routePort int
	op                    sync.Mutex     // serialises the node's kills and restarts; other nodes' go on
	srv                   *server.Server // nil while down
}

// StartCluster starts n JetStream nodes routed to each other and returns once every node accepts connections
// (the JetStream meta leader may still be being elected: WaitHealthy waits for it). The cluster shuts down when
// the test ends.
func StartCluster(tb testing.TB, nodes int) *Cluster {
	tb.Helper()
	if nodes < 1 {
		tb.Fatalf("natstest: a cluster needs at least one node, got %d", nodes)
	}
	c := &Cluster{tb: tb, name: "natstest"}
	if os.Getenv("E2E_VERBOSE") != "" {
		c.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ports := loopbackPorts(tb, 2*nodes)
	for i := range nodes {
		c.nodes = append(c.nodes, &node{name: fmt.Sprintf("n%d", i+1), dir: tb.TempDir(),
			clientPort: ports[2*i], routePort: ports[2*i+1]})
	}
	tb.Cleanup(c.shutdown)
	// Started together: a node waits for its routes to find the others before JetStream settles, so one by
	// one would only add up the waits.
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range c.nodes {
		wg.Go(func() { errs[i] = c.start(i) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		tb.Fatalf("natstest: start cluster: %v", err)
	}
	return c
}

// options builds node i's configuration afresh for each start: the server keeps and changes the struct it is
// given.
func (c *Cluster) options(i int) *server.Options {
	n := c.nodes[i]
	var routes []*url.URL
	for _, o := range c.nodes {
		routes = append(routes, &url.URL{Scheme: "nats-route", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(o.routePort))})
	}
	return &server.Options{
		ServerName: n.name,
		Host:       "127.0.0.1",
		Port:       n.clientPort,
		Cluster:    server.ClusterOpts{Name: c.name, Host: "127.0.0.1", Port: n.routePort},
		Routes:     routes,
		JetStream:  true,
		StoreDir:   n.dir,
		// As deploy/nats runs it: every write is fsynced before it is acknowledged.
		SyncAlways: true,
		MaxPayload: 1 << 20,
		NoSigs:     true,
		NoLog:      c.log == nil,
	}
}

// start runs node i and waits until it accepts client connections. A port still held by someone else (a port
// probe of another test, a socket on its way out) is retried for a few seconds before giving up.
func (c *Cluster) start(i int) error {
	n := c.nodes[i]
	var lastErr error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if lastErr = portsFree(n.clientPort, n.routePort); lastErr != nil {
			continue
		}
		srv, err := server.NewServer(c.options(i))
		if err != nil {
			return fmt.Errorf("node %s: %w", n.name, err)
		}
		if c.log != nil {
			srv.SetLoggerV2(natsembed.ServerLogger(c.log.With("component", "nats-server", "node", n.name)), false, false, false)
		}
		go srv.Start()
		if !srv.ReadyForConnections(10 * time.Second) {
			srv.Shutdown()
			srv.WaitForShutdown()
			lastErr = fmt.Errorf("node %s not ready after 10s", n.name)
			continue
		}
		c.mu.Lock()
		n.srv = srv
		c.mu.Unlock()
		return nil
	}
	return fmt.Errorf("node %s: %w", n.name, lastErr)
}

func portsFree(ports ...int) error {
	for _, p := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return err
		}
		ln.Close()
	}
	return nil
}

// loopbackPorts picks n free ports below the kernel's ephemeral range. Nothing reserves a node's ports while it
// is down, and one from the ephemeral range could meanwhile become the local end of an outgoing connection (a
// client reconnecting, for one): the restart would find it taken.
func loopbackPorts(tb testing.TB, n int) []int {
	tb.Helper()
	low, high := 10000, ephemeralLow()
	seen := map[int]bool{}
	var out []int
	for tries := 0; len(out) < n; tries++ {
		if tries > 1000 {
			tb.Fatalf("natstest: no %d free loopback ports in [%d, %d)", n, low, high)
		}
		p := low + rand.IntN(high-low)
		if seen[p] || portsFree(p) != nil {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	return out
}

// ephemeralLow is where Linux starts handing out ports for outgoing connections (32768 unless configured).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if p, err := strconv.Atoi(f[0]); err == nil && p > 12000 {
				return p
			}
		}
	}
	return 32768
}

func (c *Cluster) shutdown() {
	c.ctlMu.Lock()
	c.closed = true
	if c.ctl != nil {
		c.ctl.Close()
	}
	c.ctlMu.Unlock()
	var wg sync.WaitGroup
	for i := range c.nodes {
		wg.Go(func() { c.Kill(i) })
	}
	wg.Wait()
}

// Size is the number of nodes, running or not.
func (c *Cluster) Size() int { return len(c.nodes) }

// Name is node i's server name, the one stream and consumer infos give as leader and replica.
func (c *Cluster) Name(i int) string { return c.nodes[i].name }

// Index is the node named name, or -1.
func (c *Cluster) Index(name string) int {
	for i, n := range c.nodes {
		if n.name == name {
			return i
		}
	}
	return -1
}

// Server is node i's running server, nil while it is down.
func (c *Cluster) Server(i int) *server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].srv
}

// Running says whether node i is up.
func (c *Cluster) Running(i int) bool { return c.Server(i) != nil }

// ClientURLs lists every node's client URL, running or not, comma-joined as NATS_URL takes them.
func (c *Cluster) ClientURLs() string {
	urls := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		urls[i] = "nats://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(n.clientPort))
	}
	return strings.Join(urls, ",")
}

// Connect opens a client to all nodes that reconnects for ever, so it outlives any node's kill. It is closed at
// the end of the test.
func (c *Cluster) Connect(tb testing.TB) (*nats.Conn, jetstream.JetStream) {
	tb.Helper()
	nc, err := c.connect(tb.Name())
	if err != nil {
		tb.Fatalf("natstest: connect to the cluster: %v", err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatalf("natstest: jetstream: %v", err)
	}
	return nc, js
}

func (c *Cluster) connect(name string) (*nats.Conn, error) {
	return nats.Connect(c.ClientURLs(), nats.Name(name), nats.MaxReconnects(-1),
		nats.ReconnectWait(100*time.Millisecond), nats.ReconnectJitter(50*time.Millisecond, 50*time.Millisecond),
		nats.Timeout(time.Second), nats.RetryOnFailedConnect(true))
}

// Kill stops node i and waits until it is gone; a node already down is left alone. The server's Shutdown hands
// the leadership of the Raft groups it leads to a follower first, so this is a clean stop of the process rather
// than a crash: a new leader usually takes over within a second instead of after the 4-9 s election timeout a
// lost leader costs. Clients connected to the node lose it abruptly all the same, with their requests in
// flight.
func (c *Cluster) Kill(i int) {
	c.nodes[i].op.Lock()
	defer c.nodes[i].op.Unlock()
	c.mu.Lock()
	srv := c.nodes[i].srv
	c.nodes[i].srv = nil
	c.mu.Unlock()
	if srv == nil {
		return
	}
	srv.Shutdown()
	srv.WaitForShutdown()
}

// Restart starts node i again on its store directory and ports and waits until it accepts connections (not
// until it has caught up: WaitHealthy does). A node already running is left alone. A node that does not come
// back is reported with Errorf rather than Fatalf, so a chaos goroutine may call Restart; it stays down.
func (c *Cluster) Restart(i int) {
	c.nodes[i].op.Lock()
	defer c.nodes[i].op.Unlock()
	if c.Running(i) {
		return
	}
	if err := c.start(i); err != nil {
		c.tb.Errorf("natstest: restart: %v", err)
	}
}

// StreamLeader waits until the stream has a leader and names it (see Index).
func (c *Cluster) StreamLeader(ctx context.Context, js jetstream.JetStream, stream string) (string, error) {
	return poll(ctx, func(ctx context.Context) (string, error) {
		s, err := js.Stream(ctx, stream)
		if err != nil {
			return "", err
		}
		return leaderOf(s.CachedInfo().Cluster), nil
	})
}

// ConsumerLeader waits until the consumer has a leader and names it.
func (c *Cluster) ConsumerLeader(ctx context.Context, js jetstream.JetStream, stream, consumer string) (string, error) {
	return poll(ctx, func(ctx context.Context) (string, error) {
		cons, err := js.Consumer(ctx, stream, consumer)
		if err != nil {
			return "", err
		}
		return leaderOf(cons.CachedInfo().Cluster), nil
	})
}

func leaderOf(ci *jetstream.ClusterInfo) string {
	if ci == nil {
		return ""
	}
	return ci.Leader
}

// poll asks get until it names a leader, retrying the errors of a cluster in the middle of an election
// (timeouts, no responders) until ctx ends. The first attempts are short: a request that reached a leader on its
// way out is never answered, and its successor is usually elected well within a second; later ones allow a
// loaded machine its slower answers.
func poll(ctx context.Context, get func(context.Context) (string, error)) (string, error) {
	for wait := 500 * time.Millisecond; ; wait = min(2*wait, 4*time.Second) {
		actx, cancel := context.WithTimeout(ctx, wait)
		leader, err := get(actx)
		cancel()
		if err == nil && leader != "" {
			return leader, nil
		}
		if errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrConsumerNotFound) {
			return "", err
		}
		if err == nil {
			err = errors.New("no leader")
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// StepDownStream asks the stream's leader to step down and returns once another node leads it.
func (c *Cluster) StepDownStream(ctx context.Context, nc *nats.Conn, stream string) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	leader := func(ctx context.Context) (string, error) { return c.StreamLeader(ctx, js, stream) }
	return c.stepDown(ctx, nc, "$JS.API.STREAM.LEADER.STEPDOWN."+stream, leader)
}

// StepDownConsumer asks the consumer's leader to step down and returns once another node leads it.
func (c *Cluster) StepDownConsumer(ctx context.Context, nc *nats.Conn, stream, consumer string) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	leader := func(ctx context.Context) (string, error) { return c.ConsumerLeader(ctx, js, stream, consumer) }
	return c.stepDown(ctx, nc, "$JS.API.CONSUMER.LEADER.STEPDOWN."+stream+"."+consumer, leader)
}

func (c *Cluster) stepDown(ctx context.Context, nc *nats.Conn, subject string, leader func(context.Context) (string, error)) error {
	old, err := leader(ctx)
	if err != nil {
		return fmt.Errorf("step down %s: leader before: %w", subject, err)
	}
	// Only the leader answers. A request that got no answer is sent again unless the leader moved anyway (it
	// may have stepped down without its answer reaching us): a second step-down could hand it back.
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if now, err := leader(ctx); err == nil && now != old {
				return nil
			}
		}
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		msg, err := nc.RequestWithContext(actx, subject, nil)
		cancel()
		if err == nil {
			var resp struct {
				Success bool                `json:"success"`
				Error   *jetstream.APIError `json:"error"`
			}
			if err := json.Unmarshal(msg.Data, &resp); err != nil {
				return fmt.Errorf("step down %s: %w: %s", subject, err, msg.Data)
			}
			if resp.Error != nil {
				return fmt.Errorf("step down %s: %w", subject, resp.Error)
			}
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("step down %s: %w", subject, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for {
		now, err := leader(ctx)
		if err != nil {
			return fmt.Errorf("step down %s: leader after: %w", subject, err)
		}
		if now != old {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("step down %s: %s still leads: %w", subject, old, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitHealthy waits until every running node reports itself healthy (its /healthz: accepting connections, a
// JetStream meta leader it is current with, its replicas of every stream and consumer current) and, through the
// JetStream API, every stream and consumer has a leader and is current on every running node it lives on.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	var why error
	said := ""
	for {
		if why = c.healthy(ctx); why == nil {
			return nil
		}
		if c.log != nil && why.Error() != said { // E2E_VERBOSE: what a slow recovery is waiting for
			said = why.Error()
			c.log.Debug("natstest: cluster not healthy yet", "why", said)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("natstest: cluster not healthy: %w (last: %v)", ctx.Err(), why)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) healthy(ctx context.Context) error {
	running := map[string]bool{}
	for i, n := range c.nodes {
		srv := c.Server(i)
		if srv == nil {
			continue
		}
		running[n.name] = true
		if h := srv.Healthz(nil); h.StatusCode != 200 {
			return fmt.Errorf("node %s: %s %s", n.name, h.Status, h.Error)
		}
		if srv.JetStreamIsClustered() {
			jsz, err := srv.Jsz(nil)
			if err != nil || jsz.Meta == nil || jsz.Meta.Leader == "" {
				return fmt.Errorf("node %s knows no meta leader (%v)", n.name, err)
			}
			if l := c.Index(jsz.Meta.Leader); l < 0 || !c.Running(l) {
				return fmt.Errorf("node %s takes %s for the meta leader, which is down", n.name, jsz.Meta.Leader)
			}
		}
	}
	if len(running) == 0 {
		return errors.New("no node is running")
	}
	// The meta leader is healthy before it has heard from every node, and until then it refuses to place an R3
	// stream or bucket ("no suitable peers for placement").
	for i := range c.nodes {
		if srv := c.Server(i); srv != nil && srv.JetStreamIsLeader() {
			if peers := len(srv.JetStreamClusterPeers()); peers < len(running) {
				return fmt.Errorf("the meta leader %s places on %d nodes of the %d running", c.nodes[i].name, peers, len(running))
			}
		}
	}
	js, err := c.control()
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	streams := js.ListStreams(actx)
	var names []string
	for info := range streams.Info() {
		names = append(names, info.Config.Name)
		if err := current(running, "stream "+info.Config.Name, info.Cluster); err != nil {
			return err
		}
	}
	if err := streams.Err(); err != nil {
		return fmt.Errorf("list streams: %w", err)
	}
	for _, name := range names {
		s, err := js.Stream(actx, name)
		if err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
		consumers := s.ListConsumers(actx)
		for info := range consumers.Info() {
			if info.Config.Durable == "" {
				// An ephemeral consumer (a KV watcher's, say) that lived on a killed node is gone with it; its
				// client makes a new one, and the server forgets the old one only after its inactivity threshold.
				continue
			}
			if err := current(running, "consumer "+name+"/"+info.Name, info.Cluster); err != nil {
				return err
			}
		}
		if err := consumers.Err(); err != nil {
			return fmt.Errorf("list consumers of %s: %w", name, err)
		}
	}
	return nil
}

// current checks that a stream's or consumer's group has a running leader and that its replicas on running
// nodes are current; the replicas on nodes that are down cannot be.
func current(running map[string]bool, what string, ci *jetstream.ClusterInfo) error {
	if ci == nil {
		return nil // not clustered
	}
	if ci.Leader == "" || !running[ci.Leader] {
		return fmt.Errorf("%s has no running leader (%q)", what, ci.Leader)
	}
	for _, p := range ci.Replicas {
		if running[p.Name] && (!p.Current || p.Offline) {
			return fmt.Errorf("%s: replica on %s is not current (lag %d)", what, p.Name, p.Lag)
		}
	}
	return nil
}

// control is the cluster's own connection, opened on first use.
func (c *Cluster) control() (jetstream.JetStream, error) {
	c.ctlMu.Lock()
	defer c.ctlMu.Unlock()
	if c.closed {
		return nil, errors.New("natstest: the cluster is shut down")
	}
	if c.ctl == nil {
		nc, err := c.connect("natstest cluster control")
		if err != nil {
			return nil, err
		}
		js, err := jetstream.New(nc)
		if err != nil {
			nc.Close()
			return nil, err
		}
		c.ctl, c.ctlJS = nc, js
	}
	return c.ctlJS, nil
}

// StreamState is node i's own copy of the stream's state (not the leader's), read from the server's /jsz; false
// when the node is down or holds no replica of the stream.
func (c *Cluster) StreamState(i int, stream string) (server.StreamState, bool) {
	srv := c.Server(i)
	if srv == nil {
		return server.StreamState{}, false
	}
	jsz, err := srv.Jsz(&server.JSzOptions{Accounts: true, Streams: true})
	if err != nil {
		return server.StreamState{}, false
	}
	for _, a := range jsz.AccountDetails {
		for _, s := range a.Streams {
			if s.Name == stream {
				return s.State, true
			}
		}
	}
	return server.StreamState{}, false
}
