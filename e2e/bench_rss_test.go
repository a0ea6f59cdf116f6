package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zuora-sync/zuora-sync/consumer"
	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/natsembed"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/topology"
)

// BenchmarkRSS measures the memory of the runtime under a long run: BENCH_RSS_EVENTS (default 1,000,000)
// customer.created events over BENCH_RSS_KEYS (default 100,000) distinct ordering keys — so each key's guard
// record, and any per-key state the process kept, is touched ten times — through consumer.Runner with the real
// router, guard and settle path and a no-op handler (success, no outcome; Prometheus metrics on). After every
// BENCH_RSS_EVERY (100,000) handled events it prints
//
//	rss events=<n> rss_mb=<VmRSS> heap_mb=<HeapInuse after a GC> goroutines=<g> ...
//
// and at the end `ratio rss-growth-per-100k <MB>`: the least-squares slope of rss_mb over the samples of the
// second half of the run (500k to 1M), in MB per 100k events. Run it with -benchtime 1x (one run is minutes).
//
//   - embedded: the JetStream server runs in the benchmark's process, as in the other benchmarks. Its share is
//     separated in the heap (server_heap_mb: in-use bytes of the Go heap profile whose allocation stack has a
//     nats-server frame) and in the goroutines (server_goroutines).
//   - server-apart: the same embedded server in a child process (this test binary again, TestRSSServerProcess),
//     so rss_mb is the runtime's process alone — what a production instance is — and server_rss_mb the
//     server's. Its ratio line is rss-growth-per-100k-runtime.
//
// Events are published asynchronously in awaited batches, never more than rssLead ahead of the handled count, so
// publishing is not the bottleneck and the server's backlog stays as in a steady flow. The stream is the default
// STIGG stream (no message limit; 30-day MaxAge). The duplicate window is BENCH_RSS_DUPLICATE_WINDOW (default
// 2m, the contract's minimum): the server keeps every message id of the window in memory, so the heap fills for
// one window before it is flat (docs/PERFORMANCE.md). BENCH_RSS_PROFILES=<dir> writes a heap profile at each
// sample (heap-<variant>-<events>.pprof).
func BenchmarkRSS(b *testing.B) {
	if testing.Short() {
		b.Skip("minutes long")
	}
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 64 << 10 // a finer heap sample than the default 512 KiB, for the server's share
	defer func() { runtime.MemProfileRate = old }()
	b.Run("embedded", func(b *testing.B) { benchRSS(b, false) })
	b.Run("server-apart", func(b *testing.B) { benchRSS(b, true) })
}

const (
	rssLead        = 20_000 // published events not yet handled, at most
	rssBatch       = 1_000  // publishes in flight before they are awaited
	rssServerEnv   = "ZUORASYNC_RSS_SERVER_DIR"
	rssServerURL   = "rss-server-url "
	rssStall       = 2 * time.Minute // no handled event for this long fails the run
	serverPkgFrame = "github.com/nats-io/nats-server/"
)

type rssSample struct {
	events             int
	rssMB, heapMB      float64
	goroutines         int
	serverHeapMB       float64 // embedded: heap allocated under nats-server frames
	serverGoroutines   int     // embedded: goroutines running nats-server code
	serverRSSMB        float64 // server-apart: the server process's VmRSS
	backlog            int64
	elapsed            time.Duration
	apart              bool
	heapTotalProfileMB float64
}

func (s rssSample) String() string {
	line := fmt.Sprintf("rss events=%d rss_mb=%.1f heap_mb=%.1f goroutines=%d", s.events, s.rssMB, s.heapMB, s.goroutines)
	if s.apart {
		line += fmt.Sprintf(" server_rss_mb=%.1f", s.serverRSSMB)
	} else {
		line += fmt.Sprintf(" server_heap_mb=%.1f other_heap_mb=%.1f server_goroutines=%d", s.serverHeapMB,
			s.heapTotalProfileMB-s.serverHeapMB, s.serverGoroutines)
	}
	return line + fmt.Sprintf(" backlog=%d elapsed_s=%.0f", s.backlog, s.elapsed.Seconds())
}

func benchRSS(b *testing.B, apart bool) {
	n, keys, every := envInt(b, "BENCH_RSS_EVENTS", 1_000_000), envInt(b, "BENCH_RSS_KEYS", 100_000),
		envInt(b, "BENCH_RSS_EVERY", 100_000)
	topo := benchTopology()
	topo.DuplicateWindow = 2 * time.Minute
	if v := os.Getenv("BENCH_RSS_DUPLICATE_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("BENCH_RSS_DUPLICATE_WINDOW: %v", err)
		}
		topo.DuplicateWindow = d
	}
	variant, url, serverPID := "embedded", "", 0
	if apart {
		variant = "server-apart"
		url, serverPID = startRSSServerProcess(b)
	} else {
		url = natstest.Start(b).ClientURL()
	}
	nc, err := nats.Connect(url, nats.Name(b.Name()))
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := topology.EnsureStreams(ctx, js, topo); err != nil {
		b.Fatal(err)
	}
	handled, stopRuntime := rssRuntime(ctx, b, js, topo)
	defer stopRuntime()

	pub := &rssPublisher{done: make(chan struct{})}
	go func() { pub.err = publishPaced(ctx, js, n, keys, handled.Load, &pub.published); close(pub.done) }()
	defer func() { cancel(); <-pub.done }()

	start := time.Now()
	b.ResetTimer()
	var samples []rssSample
	for target := every; target <= n; target += every {
		waitHandled(b, handled, int64(target), pub)
		s := sampleRSS(b, apart, serverPID)
		s.events, s.backlog, s.elapsed = target, pub.published.Load()-handled.Load(), time.Since(start)
		samples = append(samples, s)
		fmt.Println(s)
		writeHeapProfile(b, variant, target)
	}
	waitHandled(b, handled, int64(n), pub)
	<-pub.done
	if pub.err != nil {
		b.Fatal(pub.err)
	}
	waitPartitionsIdle(b, js, topo)
	wall := time.Since(start)
	b.StopTimer()
	if got := handled.Load(); got != int64(n) {
		b.Logf("the handler ran %d times for %d events (redeliveries)", got, n)
	}
	if kv, err := js.KeyValue(ctx, topology.BucketApplied); err == nil {
		if st, err := kv.Status(ctx); err == nil {
			fmt.Printf("rss guard-records=%d (%s)\n", st.Values(), topology.BucketApplied)
		}
	}

	half := samples[max(len(samples)/2-1, 0):] // 500k..1M of 1M
	growth := slope(half, func(s rssSample) float64 { return s.rssMB }) * float64(every) / 1e5
	heapGrowth := slope(half, func(s rssSample) float64 { return s.heapMB }) * float64(every) / 1e5
	last := samples[len(samples)-1]
	name := "rss-growth-per-100k"
	if apart {
		name += "-runtime"
		b.ReportMetric(last.serverRSSMB, "server_rss_MB")
	} else {
		b.ReportMetric(last.serverHeapMB, "server_heap_MB")
	}
	b.ReportMetric(float64(n)/wall.Seconds(), "events/s")
	b.ReportMetric(last.rssMB, "rss_MB")
	b.ReportMetric(last.heapMB, "heap_MB")
	b.ReportMetric(heapGrowth, "heap_MB/100k")
	b.ReportMetric(growth, "rss_MB/100k")
	fmt.Printf("rss %s: %d events over %d keys in %s (%.0f events/s); heap growth %.2f MB per 100k over the last %d samples\n",
		variant, n, keys, wall.Round(time.Second), float64(n)/wall.Seconds(), heapGrowth, len(half))
	fmt.Printf("ratio %s %.2f\n", name, growth)
}

// rssRuntime is benchkit.NoopRuntime with the runtime's Prometheus metrics on (a registry of its own), as a
// production instance runs it: the metrics middleware is on the path and its series are per type, not per key.
func rssRuntime(ctx context.Context, tb testing.TB, js jetstream.JetStream, topo topology.Topology) (*atomic.Int64, func()) {
	handled := &atomic.Int64{}
	router := dispatch.NewRouter()
	router.Handle(events.TypeStiggCustomerCreated, dispatch.HandlerFunc(func(context.Context, *dispatch.Input) (*dispatch.Result, error) {
		handled.Add(1)
		return &dispatch.Result{}, nil
	}))
	runner := consumer.New(js, router, consumer.Config{Topology: topo, Logger: testLogger(tb),
		Metrics: consumer.NewMetrics(prometheus.NewRegistry())})
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()
	return handled, func() { cancel(); <-done }
}

// rssPublisher is the publishing goroutine: err is set before done closes.
type rssPublisher struct {
	done      chan struct{}
	err       error
	published atomic.Int64
}

// publishPaced publishes n customer.created events, event i for customer i%keys, in batches of rssBatch async
// publishes that are awaited, starting a batch only while fewer than rssLead published events are unhandled.
func publishPaced(ctx context.Context, js jetstream.JetStream, n, keys int, handled func() int64, published *atomic.Int64) error {
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	futures := make([]jetstream.PubAckFuture, 0, rssBatch)
	days := 30
	for from := 0; from < n; from += rssBatch {
		for int64(from)-handled() > rssLead {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Millisecond):
			}
		}
		for i := from; i < min(from+rssBatch, n); i++ {
			id := "rss-" + run + "-" + strconv.Itoa(i%keys)
			c := &events.Customer{CustomerID: id, Name: "Bench Person", Email: "bench.person@example.com", Currency: "USD",
				InvoiceDaysUntilDue: &days, EntityURL: "https://app.stigg.io/customers/" + id,
				BillingAddress: &events.Address{Line1: "1 Main St", City: "Springfield", State: "IL", PostalCode: "62701", Country: "United States"}}
			ev, err := events.New(events.TypeStiggCustomerCreated, "/bench", id, id, c)
			if err != nil {
				return err
			}
			msg, err := events.ToMsg("", ev)
			if err != nil {
				return err
			}
			f, err := js.PublishMsgAsync(msg)
			if err != nil {
				return fmt.Errorf("publish event %d: %w", i, err)
			}
			futures = append(futures, f)
		}
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return fmt.Errorf("publish: %w", err)
			case <-time.After(30 * time.Second):
				return errors.New("publish ack timed out")
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		published.Add(int64(len(futures)))
		futures = futures[:0]
	}
	return nil
}

// waitHandled waits until the handler has run target times; it fails the run when the publisher fails or no
// event is handled for rssStall.
func waitHandled(b *testing.B, handled *atomic.Int64, target int64, pub *rssPublisher) {
	b.Helper()
	last, since := handled.Load(), time.Now()
	for handled.Load() < target {
		select {
		case <-pub.done:
			if pub.err != nil {
				b.Fatal(pub.err)
			}
		default:
		}
		time.Sleep(5 * time.Millisecond)
		if h := handled.Load(); h != last {
			last, since = h, time.Now()
		} else if time.Since(since) > rssStall {
			b.Fatalf("%d of %d events handled, none for %s", h, target, rssStall)
		}
	}
}

// waitPartitionsIdle waits until every partition consumer of STIGG has nothing pending and nothing unacked.
func waitPartitionsIdle(b *testing.B, js jetstream.JetStream, topo topology.Topology) {
	b.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(2 * time.Minute)
	for _, name := range topo.PartitionConsumers()[topology.StreamStigg] {
		for {
			c, err := js.Consumer(ctx, topology.StreamStigg, name)
			if err != nil {
				b.Fatal(err)
			}
			info, err := c.Info(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if info.NumPending == 0 && info.NumAckPending == 0 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s: %d pending, %d unacked after the last event was handled", name, info.NumPending, info.NumAckPending)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// sampleRSS reads VmRSS first (the process as it runs), then collects garbage and reads the live heap and its
// split.
func sampleRSS(b *testing.B, apart bool, serverPID int) rssSample {
	b.Helper()
	s := rssSample{apart: apart, rssMB: vmRSSMB(b, "self")}
	if apart {
		s.serverRSSMB = vmRSSMB(b, strconv.Itoa(serverPID))
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.heapMB = float64(ms.HeapInuse) / (1 << 20)
	s.goroutines = runtime.NumGoroutine()
	if !apart {
		server, total := heapInServer()
		s.serverHeapMB, s.heapTotalProfileMB = server/(1<<20), total/(1<<20)
		s.serverGoroutines = goroutinesInServer()
	}
	return s
}

// vmRSSMB reads VmRSS of /proc/<pid>/status, in MiB.
func vmRSSMB(b *testing.B, pid string) float64 {
	b.Helper()
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		b.Fatalf("RSS is read from /proc (Linux only): %v", err)
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				b.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb / 1024
		}
	}
	b.Fatalf("no VmRSS in /proc/%s/status", pid)
	return 0
}

// heapInServer estimates the in-use heap bytes (as of the last GC) from the heap profile, scaled like pprof
// scales a sampled profile, and the share whose allocation stack (its innermost 32 frames) has a nats-server
// frame: the server's own data, however it was reached.
func heapInServer() (server, total float64) {
	n, _ := runtime.MemProfile(nil, false)
	var recs []runtime.MemProfileRecord
	for {
		recs = make([]runtime.MemProfileRecord, n+64)
		var ok bool
		if n, ok = runtime.MemProfile(recs, false); ok {
			recs = recs[:n]
			break
		}
	}
	rate := float64(runtime.MemProfileRate)
	for _, r := range recs {
		objs, size := r.InUseObjects(), r.InUseBytes()
		if objs <= 0 || size <= 0 {
			continue
		}
		v := float64(size)
		if rate > 1 {
			v /= 1 - math.Exp(-float64(size)/float64(objs)/rate)
		}
		total += v
		if stackInServer(r.Stack()) {
			server += v
		}
	}
	return server, total
}

// goroutinesInServer counts the goroutines whose stack has a nats-server frame.
func goroutinesInServer() int {
	var recs []runtime.StackRecord
	n, _ := runtime.GoroutineProfile(nil)
	for {
		recs = make([]runtime.StackRecord, n+64)
		var ok bool
		if n, ok = runtime.GoroutineProfile(recs); ok {
			recs = recs[:n]
			break
		}
	}
	count := 0
	for _, r := range recs {
		if stackInServer(r.Stack()) {
			count++
		}
	}
	return count
}

func stackInServer(pcs []uintptr) bool {
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if strings.HasPrefix(f.Function, serverPkgFrame) {
			return true
		}
		if !more {
			return false
		}
	}
}

func writeHeapProfile(b *testing.B, variant string, events int) {
	b.Helper()
	dir := os.Getenv("BENCH_RSS_PROFILES")
	if dir == "" {
		return
	}
	var buf bytes.Buffer
	if err := pprof.Lookup("heap").WriteTo(&buf, 0); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("heap-%s-%d.pprof", variant, events)), buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
}

// slope is the least-squares slope of y over the samples' event counts, per event sample interval (the caller
// scales it).
func slope(samples []rssSample, y func(rssSample) float64) float64 {
	if len(samples) < 2 {
		return 0
	}
	step := float64(samples[1].events - samples[0].events)
	var sx, sy, sxx, sxy float64
	for _, s := range samples {
		x := float64(s.events) / step
		sx, sy, sxx, sxy = sx+x, sy+y(s), sxx+x*x, sxy+x*y(s)
	}
	k := float64(len(samples))
	return (k*sxy - sx*sy) / (k*sxx - sx*sx)
}

func envInt(b *testing.B, name string, def int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive count", name, v)
	}
	return n
}

// startRSSServerProcess runs this test binary again as TestRSSServerProcess: an embedded server (the options of
// natstest.Start) on a store of the benchmark's, in a process of its own. It returns the server's URL and pid; the
// process ends when the benchmark does (its stdin closes).
func startRSSServerProcess(b *testing.B) (string, int) {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestRSSServerProcess$", "-test.bench=^$", "-test.count=1", "-test.timeout=0")
	cmd.Env = append(os.Environ(), rssServerEnv+"="+b.TempDir())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	drained := make(chan struct{})
	b.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-drained:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-drained
		}
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	url := ""
	for url == "" && sc.Scan() {
		url, _ = strings.CutPrefix(sc.Text(), rssServerURL)
		if url == sc.Text() {
			url = ""
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout); close(drained) }()
	if url == "" {
		b.Fatalf("the server process did not start (%v)", sc.Err())
	}
	return url, cmd.Process.Pid
}

// TestRSSServerProcess is the server process of BenchmarkRSS/server-apart, which starts this binary with it
// selected and the store directory in the environment; otherwise it is skipped. It prints the URL and serves
// until its stdin closes.
func TestRSSServerProcess(t *testing.T) {
	dir := os.Getenv(rssServerEnv)
	if dir == "" {
		t.Skip("the server process of BenchmarkRSS/server-apart; runs only when that benchmark starts it")
	}
	ns, err := natsembed.Start(natsembed.Options{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	fmt.Println(rssServerURL + ns.ClientURL())
	_, _ = io.Copy(io.Discard, os.Stdin)
}
