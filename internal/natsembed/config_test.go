package natsembed

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zuora-sync/zuora-sync/topology"
)

const (
	repoConf    = "../../nats.conf"
	clusterConf = "../../deploy/nats/nats-cluster.conf"
)

func setPasswords(t *testing.T) {
	t.Setenv("NATS_PUBLISHER_PASSWORD", "pubTestPassword")
	t.Setenv("NATS_BRIDGE_PASSWORD", "bridgeTestPassword")
	t.Setenv("NATS_CONSUMER_PASSWORD", "consumerTestPassword")
}

// nats.conf needs its passwords, unless the embedded mode drops its users (make run with nothing configured).
func TestRepoConfigNeedsPasswordsUnlessNoAuth(t *testing.T) {
	for _, v := range []string{"NATS_PUBLISHER_PASSWORD", "NATS_BRIDGE_PASSWORD", "NATS_CONSUMER_PASSWORD"} {
		t.Setenv(v, "")
		if err := os.Unsetenv(v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Start(Options{StoreDir: t.TempDir(), ConfigFile: repoConf, Port: -1}); err == nil {
		t.Fatal("nats.conf started without its passwords")
	}
	ns, err := Start(Options{StoreDir: t.TempDir(), ConfigFile: repoConf, Port: -1, NoAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatalf("the embedded mode wants credentials: %v", err)
	}
	nc.Close()
	if got := ns.JetStreamConfig(); got == nil || got.MaxStore != 10<<30 {
		t.Fatalf("the rest of nats.conf is not applied: %+v", got)
	}
}

// The cluster's users are nats.conf's, permission for permission.
func TestClusterConfigHasTheRepoUsers(t *testing.T) {
	setPasswords(t)
	t.Setenv("NATS_SERVER_NAME", "nats-1")
	single, err := server.ProcessConfigFile(repoConf)
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := server.ProcessConfigFile(clusterConf)
	if err != nil {
		t.Fatal(err)
	}
	if len(single.Users) != 3 || len(cluster.Users) != 3 {
		t.Fatalf("users: nats.conf %d, cluster %d", len(single.Users), len(cluster.Users))
	}
	for i, u := range single.Users {
		c := cluster.Users[i]
		if u.Username != c.Username || u.Password != c.Password || !reflect.DeepEqual(u.Permissions, c.Permissions) {
			t.Errorf("user %s differs:\nnats.conf %+v\ncluster   %+v", u.Username, u.Permissions, c.Permissions)
		}
	}
	if !cluster.SyncAlways || cluster.Cluster.Name != "zuorasync" || len(cluster.Routes) != 3 || cluster.ServerName != "nats-1" {
		t.Fatalf("cluster options: sync always %v, cluster %q, %d routes, name %q", cluster.SyncAlways,
			cluster.Cluster.Name, len(cluster.Routes), cluster.ServerName)
	}
}

// The cluster configuration forms a 3-node JetStream cluster (on loopback, ports and routes moved) in which the
// consumer's user creates an R3 stream and the publisher's user writes to it.
// startCluster runs deploy/nats's cluster file as three nodes on loopback and returns their client URLs.
func startCluster(t *testing.T) []string {
	t.Helper()
	ports := freePorts(t, 3)
	var routes []*url.URL
	for _, p := range ports {
		routes = append(routes, &url.URL{Scheme: "nats-route", Host: "127.0.0.1:" + strconv.Itoa(p)})
	}
	var urls []string
	for i := range 3 {
		t.Setenv("NATS_SERVER_NAME", fmt.Sprintf("nats-%d", i+1))
		so, err := server.ProcessConfigFile(clusterConf)
		if err != nil {
			t.Fatal(err)
		}
		so.Host, so.Port, so.HTTPPort = "127.0.0.1", server.RANDOM_PORT, 0
		so.Cluster.Host, so.Cluster.Port, so.Routes = "127.0.0.1", ports[i], routes
		so.StoreDir, so.NoSigs = t.TempDir(), true
		so.LameDuckDuration, so.LameDuckGracePeriod = 0, 0
		ns, err := server.NewServer(so)
		if err != nil {
			t.Fatal(err)
		}
		go ns.Start()
		t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
		if !ns.ReadyForConnections(10 * time.Second) {
			t.Fatalf("node %d not ready", i+1)
		}
		urls = append(urls, ns.ClientURL())
	}
	return urls
}

func TestClusterConfigRunsR3(t *testing.T) {
	setPasswords(t)
	urls := startCluster(t)
	connect := func(user, pass, inbox string) jetstream.JetStream {
		opts := []nats.Option{nats.UserInfo(user, pass)}
		if inbox != "" {
			opts = append(opts, nats.CustomInboxPrefix(inbox))
		}
		nc, err := nats.Connect(urls[0]+","+urls[1]+","+urls[2], opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, _ := jetstream.New(nc)
		return js
	}
	cjs := connect("zuorasync-consumer", "consumerTestPassword", "_INBOX_zuorasync-consumer")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	for ctx.Err() == nil { // the meta leader is elected a moment after the routes connect
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = cjs.CreateStream(actx, jetstream.StreamConfig{Name: "STIGG", Subjects: []string{"stigg.*.*", "stigg.*.*.*"},
			Storage: jetstream.FileStorage, Replicas: 3})
		acancel()
		if err == nil {
			break
		}
		t.Log(err)
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("R3 stream: %v", err)
	}
	pjs := connect("stigg-publisher", "pubTestPassword", "")
	ack, err := pjs.Publish(ctx, "stigg.customer.created.cust-1", []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := cjs.Stream(ctx, "STIGG")
	if err != nil {
		t.Fatal(err)
	}
	if info := s.CachedInfo(); ack.Sequence != 1 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("ack %+v, cluster %+v", ack, info.Cluster)
	}
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

// ZUORASYNC_REPLICAS=3 on the cluster: provisioning as the consumer's least-privilege user raises what a first R1
// deployment created — streams, KV buckets and durable consumers — to three replicas.
func TestTopologyProvisionsR3OnTheCluster(t *testing.T) {
	setPasswords(t)
	urls := startCluster(t)
	nc, err := nats.Connect(strings.Join(urls, ","), nats.UserInfo("zuorasync-consumer", "consumerTestPassword"),
		nats.CustomInboxPrefix("_INBOX_zuorasync-consumer"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	provision := func(ctx context.Context, topo topology.Topology) error {
		if err := topology.EnsureStreams(ctx, js, topo); err != nil {
			return err
		}
		if _, err := topology.EnsureBuckets(ctx, js, topo); err != nil {
			return err
		}
		_, err := topology.EnsureConsumer(ctx, js, topology.StreamStigg, topo.PartitionConsumer(topology.Inputs[0], 0))
		return err
	}
	r1 := topology.Default()
	for ctx.Err() == nil { // the meta leader is elected a moment after the routes connect
		actx, acancel := context.WithTimeout(ctx, 5*time.Second)
		err = provision(actx, r1)
		acancel()
		if err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("R1 provisioning: %v", err)
	}
	t.Setenv("ZUORASYNC_REPLICAS", "3")
	r3, err := topology.FromEnv()
	if err != nil || r3.Replicas != 3 {
		t.Fatalf("FromEnv: %+v %v", r3, err)
	}
	if err := provision(ctx, r3); err != nil {
		t.Fatalf("R3 provisioning: %v", err)
	}
	for _, name := range []string{topology.StreamStigg, topology.StreamDLQ, "KV_" + topology.BucketIDs, "KV_" + topology.BucketApplied} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if r := s.CachedInfo().Config.Replicas; r != 3 {
			t.Errorf("%s has %d replicas, want 3", name, r)
		}
	}
	c, err := js.Consumer(ctx, topology.StreamStigg, topology.PartitionConsumerName(topology.StreamStigg, 0))
	if err != nil {
		t.Fatal(err)
	}
	if r := c.CachedInfo().Config.Replicas; r != 3 {
		t.Errorf("partition consumer has %d replicas, want 3", r)
	}
	t.Setenv("ZUORASYNC_REPLICAS", "seven")
	if _, err := topology.FromEnv(); err == nil {
		t.Fatal("a malformed replica count was accepted")
	}
}
