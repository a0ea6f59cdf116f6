package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/conformance"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// soakBinaries are the project's real binaries, built for this test binary's run.
type soakBinaries struct {
	Consumer, Bridge string
}

var (
	buildOnce sync.Once
	builtBins soakBinaries
	buildTook time.Duration
	buildErr  error
)

// buildBinaries builds cmd/consumer and cmd/bridge once per run of the test binary, with the race detector when
// the tests have it, so a data race in a real process fails the test that ran it. The output directory is left
// behind for the OS's temporary-file cleaning: no hook runs after the last test that would still use it.
func buildBinaries(t testing.TB) soakBinaries {
	t.Helper()
	bins, err := buildBinariesOnce()
	if err != nil {
		t.Fatalf("build binaries: %v", err)
	}
	t.Logf("consumer and bridge built once for this run (race detector %v) in %s", raceDetector, buildTook.Round(time.Millisecond))
	return bins
}

// buildBinariesOnce is buildBinaries for any goroutine: a test may build while it sets up the rest.
func buildBinariesOnce() (soakBinaries, error) {
	buildOnce.Do(func() {
		start := time.Now()
		defer func() { buildTook = time.Since(start) }()
		dir, err := os.MkdirTemp("", "zuorasync-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		args := []string{"build", "-o", dir + string(filepath.Separator)}
		if raceDetector {
			args = append(args, "-race")
		}
		cmd := exec.Command(goTool(), append(args, "./cmd/consumer", "./cmd/bridge")...)
		cmd.Dir = ".." // the module root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out)
			return
		}
		builtBins = soakBinaries{Consumer: filepath.Join(dir, "consumer"), Bridge: filepath.Join(dir, "bridge")}
	})
	return builtBins, buildErr
}

// goTool is the go command of the toolchain that built this test binary, so the processes are built by the
// same Go; "go" on PATH otherwise.
func goTool() string {
	//lint:ignore SA1019 the toolchain this test binary was built with is exactly the one wanted here
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// process is one of the project's binaries running as an OS process. Its stdout and stderr go to a log file,
// one section per start. An exit that neither Kill nor Stop caused is recorded and fails the test at cleanup,
// as does a data race or a Go panic in the log.
type process struct {
	t        testing.TB
	name     string
	bin      string
	env      []string
	args     []string
	dir      string
	logPath  string
	readyURL string // answers 200 once the process is ready; "" when it has no such endpoint

	mu         sync.Mutex
	cmd        *exec.Cmd
	exited     chan struct{} // closed when cmd has exited
	exitErr    error
	stopping   bool // the exit under way was asked for
	starts     int
	unexpected []error
}

// startProcess starts bin with exactly env (beyond PATH, HOME and TMPDIR: nothing of the test's own
// environment, such as a developer's NATS_URL or OTEL_* variables, reaches it). It is stopped at the end of the
// test.
func startProcess(t testing.TB, name, bin string, env []string, args ...string) *process {
	t.Helper()
	dir := t.TempDir()
	p := &process{t: t, name: name, bin: bin, env: env, args: args, dir: dir, logPath: filepath.Join(dir, name+".log")}
	if err := p.start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(p.cleanup)
	return p
}

// baseEnv is what every process needs of the test's environment; GORACE lets a developer tune the race detector.
func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "GORACE"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func (p *process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	log, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close() // the child has its own copy
	p.starts++
	fmt.Fprintf(log, "\n=== %s start %d at %s: %s %s\n", p.name, p.starts, time.Now().Format(time.RFC3339Nano),
		p.bin, strings.Join(p.args, " "))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(baseEnv(), p.env...)
	cmd.Dir = p.dir // whatever it writes relative to its working directory stays out of the repo
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = dieWithParent()
	if err := cmd.Start(); err != nil {
		return err
	}
	p.cmd, p.exited, p.exitErr, p.stopping = cmd, make(chan struct{}), nil, false
	go p.wait(cmd, p.exited)
	return nil
}

// dieWithParent asks Linux to SIGKILL the child when the test binary dies (a test timeout does not run
// cleanups), so no consumer is left reconnecting for ever. The field exists only on Linux, hence reflection.
func dieWithParent() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{}
	if f := reflect.ValueOf(attr).Elem().FieldByName("Pdeathsig"); f.IsValid() {
		f.Set(reflect.ValueOf(syscall.SIGKILL))
	}
	return attr
}

func (p *process) wait(cmd *exec.Cmd, exited chan struct{}) {
	err := cmd.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.exitErr = err
	if !p.stopping {
		p.unexpected = append(p.unexpected, fmt.Errorf("%s (pid %d, start %d) exited unexpectedly: %v",
			p.name, cmd.Process.Pid, p.starts, cmdExit(err)))
	}
	close(exited)
}

func cmdExit(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// current is the last start's command and the channel closed when it has exited.
func (p *process) current() (*exec.Cmd, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd, p.exited
}

// Alive says whether the last start is still running.
func (p *process) Alive() bool {
	_, exited := p.current()
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

// Pid of the last start.
func (p *process) Pid() int {
	cmd, _ := p.current()
	return cmd.Process.Pid
}

// Kill SIGKILLs the process and waits until it is gone; a process already gone is left alone.
func (p *process) Kill() {
	p.signal(syscall.SIGKILL)
	_, exited := p.current()
	<-exited
}

// signal sends sig to a running process, marking its exit as asked for.
func (p *process) signal(sig syscall.Signal) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.exited:
		return false
	default:
	}
	p.stopping = true
	_ = p.cmd.Process.Signal(sig)
	return true
}

// Stop sends SIGTERM, waits up to timeout for the process to exit (SIGKILL after that) and returns how it
// exited; for a process already gone, how it exited then.
func (p *process) Stop(timeout time.Duration) error {
	p.signal(syscall.SIGTERM)
	_, exited := p.current()
	select {
	case <-exited:
	case <-time.After(timeout):
		p.signal(syscall.SIGKILL)
		<-exited
		p.mu.Lock()
		defer p.mu.Unlock()
		return fmt.Errorf("%s did not stop within %s of SIGTERM and was killed: %v", p.name, timeout, p.exitErr)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitErr
}

// Restart starts the same binary with the same environment and arguments again, SIGKILLing the previous start
// if it still runs, and waits until it is ready when it has a readiness endpoint. It does not fail the test
// itself, so a chaos goroutine may call it: the error says what went wrong.
func (p *process) Restart() error {
	p.Kill()
	if err := p.start(); err != nil {
		return fmt.Errorf("restart %s: %w", p.name, err)
	}
	if p.readyURL == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	return p.waitReady(ctx)
}

// readyTimeout bounds a start: provisioning R3 streams and consumers on a loaded machine takes its time.
const readyTimeout = 60 * time.Second

// ExitedUnexpectedly reports every exit, over all starts, that Kill or Stop did not cause.
func (p *process) ExitedUnexpectedly() (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.unexpected) > 0, errors.Join(p.unexpected...)
}

// Log is everything the process wrote, over all starts.
func (p *process) Log() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(log of %s unreadable: %v)", p.name, err)
	}
	return string(b)
}

// waitReady waits until the process answers 200 on its readiness endpoint; it gives up early when the process
// exits.
func (p *process) waitReady(ctx context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second}
	_, exited := p.current()
	last := "no answer yet"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.readyURL, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
		} else {
			last = err.Error()
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited before it was ready:\n%s", p.name, lastLines(p.Log(), 30))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s (%s): %w\n%s", p.name, p.readyURL, last, ctx.Err(), lastLines(p.Log(), 30))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// cleanup stops the process and fails the test on an unexpected exit, an unclean stop, a data race or a panic.
func (p *process) cleanup() {
	var stopErr error
	if p.Alive() { // one the test killed last is not stopped again, nor is its kill an unclean stop
		start := time.Now()
		stopErr = p.Stop(20 * time.Second)
		p.t.Logf("%s stopped in %s", p.name, time.Since(start).Round(time.Millisecond))
	}
	log := p.Log()
	if bad, err := p.ExitedUnexpectedly(); bad {
		p.t.Errorf("%v\n%s", err, lastLines(log, 40))
	}
	if stopErr != nil {
		p.t.Errorf("%s did not stop cleanly on SIGTERM: %v\n%s", p.name, stopErr, lastLines(log, 40))
	}
	if what := crashIn(log); what != "" {
		p.t.Errorf("%s: %s in its log:\n%s", p.name, what, lastLines(log, 80))
	} else if p.t.Failed() {
		p.t.Logf("%s's log ends:\n%s", p.name, lastLines(log, 30))
	}
}

// crashIn names a data race report or a Go panic in a process's log. The runtime writes them at the start of a
// line; a handler panic the consumer recovered from is logged inside a JSON line and does not count.
func crashIn(log string) string {
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		switch l := sc.Text(); {
		case strings.Contains(l, "WARNING: DATA RACE"):
			return "a data race"
		case strings.HasPrefix(l, "panic: "), strings.HasPrefix(l, "fatal error: "):
			return "a Go panic (" + l + ")"
		}
	}
	return ""
}

// freeAddr is a loopback address whose port nothing listened on a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// processEnv is the binaries' standard environment (Zuora credentials of the simulator, LOG_LEVEL=debug with
// E2E_VERBOSE), then defaults, then env; sorted, so a log shows it the same way every time. The variables in
// required must be set: without NATS_URL or ZUORA_BASE_URL the binaries fall back to an embedded server or an
// in-process simulator of their own, never what a test of processes means.
func processEnv(t testing.TB, env, defaults map[string]string, required ...string) []string {
	t.Helper()
	all := map[string]string{
		"ZUORA_CLIENT_ID":     zuorasim.DefaultClientID,
		"ZUORA_CLIENT_SECRET": zuorasim.DefaultClientSecret,
	}
	if os.Getenv("E2E_VERBOSE") != "" {
		all["LOG_LEVEL"] = "debug"
	}
	maps.Copy(all, defaults)
	maps.Copy(all, env)
	for _, k := range required {
		if all[k] == "" {
			t.Fatalf("%s is required in a process's environment", k)
		}
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(all)) {
		out = append(out, k+"="+all[k])
	}
	return out
}

// startConsumerProcess runs `consumer run` with env (NATS_URL and ZUORA_BASE_URL required) and returns once its
// /readyz answers 200. METRICS_ADDR is a fresh loopback port unless env sets it.
func startConsumerProcess(t testing.TB, bins soakBinaries, env map[string]string) *process {
	t.Helper()
	metrics := env["METRICS_ADDR"]
	if metrics == "" {
		metrics = freeAddr(t)
	}
	procEnv := processEnv(t, env, map[string]string{"METRICS_ADDR": metrics}, "NATS_URL", "ZUORA_BASE_URL")
	p := startProcess(t, "consumer-"+addrPort(metrics), bins.Consumer, procEnv, "run")
	p.readyURL = "http://" + metrics + "/readyz"
	return waitStarted(t, p)
}

// startBridgeProcess runs the bridge on addr with env (NATS_URL required) and returns once its /readyz answers
// 200. Without BRIDGE_USERNAME and BRIDGE_PASSWORD in env it runs without authentication.
func startBridgeProcess(t testing.TB, bins soakBinaries, addr string, env map[string]string) *process {
	t.Helper()
	defaults := map[string]string{}
	if env["BRIDGE_USERNAME"] == "" && env["BRIDGE_PASSWORD"] == "" {
		defaults["BRIDGE_INSECURE_NO_AUTH"] = "true"
	}
	env = maps.Clone(env)
	if env == nil {
		env = map[string]string{}
	}
	env["BRIDGE_ADDR"] = addr
	p := startProcess(t, "bridge-"+addrPort(addr), bins.Bridge, processEnv(t, env, defaults, "NATS_URL"))
	p.readyURL = "http://" + addr + "/readyz"
	return waitStarted(t, p)
}

func waitStarted(t testing.TB, p *process) *process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	start := time.Now()
	if err := p.waitReady(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s (pid %d) ready in %s", p.name, p.Pid(), time.Since(start).Round(time.Millisecond))
	return p
}

func addrPort(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// runConsumerCommand runs a one-shot subcommand of the consumer binary (replay, dlq list, dlq redrive,
// provision...) with the standard environment and env, and returns what it printed, stdout and stderr together.
func runConsumerCommand(t testing.TB, bins soakBinaries, env map[string]string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.Consumer, args...)
	cmd.Env = append(baseEnv(), processEnv(t, env, nil, "NATS_URL")...)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if what := crashIn(string(out)); what != "" {
		t.Errorf("consumer %s: %s:\n%s", strings.Join(args, " "), what, lastLines(string(out), 80))
	}
	return string(out), err
}

// Two consumer processes on a 3-node cluster with every stream, bucket and consumer at three replicas: one
// process is SIGKILLed while it handles events; then the node the other is connected to, made STIGG's leader, is
// killed while that one handles a burst of updates, events are published to the two left, and it is restarted.
// The burst is handled within burstBound of the kill: a JetStream request in flight to a node that dies is never
// answered, and before every request was bounded (internal/jsbound) the handler waiting for it held its
// partition for the 2-minute handler timeout, its lease renewed all along. Every customer ends with exactly one
// Zuora account carrying its latest data, every event has a synced outcome, `consumer dlq list` finds nothing
// dead-lettered, the three nodes hold the same STIGG, the killed process comes back ready and a bridge process
// stays ready throughout.
func TestConsumerProcessesSurviveNodeAndProcessKills(t *testing.T) {
	start := time.Now()
	built := make(chan error, 1)
	go func() { _, err := buildBinariesOnce(); built <- err }() // while the spec loads and the cluster starts
	cluster := natstest.StartCluster(t, 3)
	check := conformance.Load(t)
	if err := <-built; err != nil {
		t.Fatal(err)
	}
	bins := buildBinaries(t)
	nc, js := cluster.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := cluster.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	// A fresh cluster is healthy before its meta leader has heard from every node, and until then it refuses an
	// R3 bucket ("no suitable peers for placement"), which the first consumer process creates.
	for deadline := time.Now().Add(30 * time.Second); !placesOnEveryNode(cluster); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the meta leader does not take every node for placement after 30s")
		}
	}
	sim := zuorasim.New(zuorasim.Config{})
	held := &heldCalls{}
	srv := httptest.NewServer(held.wrap(check.Middleware(t, sim.Handler())))
	t.Cleanup(func() { held.release(); srv.Close(); sim.Close() })
	h := &harness{t: t, nc: nc, js: js, sim: sim, simURL: srv.URL, check: check}
	// The consumer processes reach the nodes through links the test can cut (they learn the nodes' own
	// addresses from the cluster too, and reconnect to them); the bridge connects directly.
	links := make([]*nodeLink, cluster.Size())
	var linkURLs []string
	for i := range links {
		links[i] = newNodeLink(t, strings.TrimPrefix(cluster.Server(i).ClientURL(), "nats://"))
		linkURLs = append(linkURLs, links[i].url())
	}
	env := map[string]string{
		"NATS_URL":              strings.Join(linkURLs, ","),
		"ZUORA_BASE_URL":        srv.URL,
		"ZUORASYNC_REPLICAS":    "3",
		"ZUORASYNC_ACK_WAIT":    "3s",
		"ZUORA_REQUEST_TIMEOUT": "5s",
	}
	bridgeEnv := maps.Clone(env)
	bridgeEnv["NATS_URL"] = cluster.ClientURLs()
	t.Logf("cluster, spec and binaries ready in %s", time.Since(start).Round(time.Millisecond))
	killed := startConsumerProcess(t, bins, env)
	survivor := startConsumerProcess(t, bins, env)
	bridge := startBridgeProcess(t, bins, freeAddr(t), bridgeEnv) // it has nothing to do here but stay ready

	// publish retries until the stream acknowledges: the message id (the event's) makes a retry of a write that
	// was stored but not acknowledged a duplicate JetStream drops.
	publish := func(ev event.Event) string {
		t.Helper()
		msg, err := events.ToMsg("", ev)
		if err != nil {
			t.Fatal(err)
		}
		for {
			actx, acancel := context.WithTimeout(ctx, 2*time.Second)
			_, err := js.PublishMsg(actx, msg)
			acancel()
			if err == nil {
				return ev.ID()
			}
			if ctx.Err() != nil {
				t.Fatalf("publish %s: %v", ev.ID(), err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	const customers = 6
	latest := map[string]string{} // customer id -> the name its last event carries
	var ids []string
	round := func(typ string, version int) {
		for i := range customers {
			id := fmt.Sprintf("cust-proc-%d", i)
			latest[id] = fmt.Sprintf("Customer %d v%d", i, version)
			ids = append(ids, publish(h.newEvent(typ, id, id, customer(id, latest[id]))))
		}
	}
	outcomes := map[string][]string{} // source event id -> outcome types
	waitOutcomes := func(what string) {
		t.Helper()
		h.eventually(60*time.Second, what, func() bool {
			clear(outcomes)
			for _, ev := range h.outcomes() {
				var o events.Outcome
				if err := json.Unmarshal(ev.Data(), &o); err == nil {
					outcomes[o.SourceEventID] = append(outcomes[o.SourceEventID], ev.Type())
				}
			}
			return !slices.ContainsFunc(ids, func(id string) bool { return len(outcomes[id]) == 0 })
		})
	}

	// The creations' Zuora calls are held, so the kill lands on the ones the killed process has in hand (the
	// limiter's slow start lets each process have only a few calls out at first).
	held.hold()
	defer held.release() // before the processes' cleanups, whose drains would wait for held calls
	round(events.TypeStiggCustomerCreated, 0)
	h.eventually(30*time.Second, "creations calling Zuora", func() bool { return held.waiting() > 0 })
	time.Sleep(time.Second) // the others join
	inFlight := held.waiting()
	killed.Kill()
	if killed.Alive() {
		t.Fatal("killed consumer still alive")
	}
	for end := time.Now().Add(2 * time.Second); held.abandoned() == 0 && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond) // until the simulator sees the killed process's connections close
	}
	t.Logf("consumer SIGKILLed with %d of the %d Zuora calls held in flight", held.abandoned(), inFlight)
	held.release()
	round(events.TypeStiggCustomerUpdated, 1)
	phase := time.Now()
	waitOutcomes("the survivor to handle the first two rounds") // the killed one's deliveries after ACK_WAIT
	h.waitIdle(topology.StreamStigg, 30*time.Second)
	t.Logf("the survivor handled the first two rounds %s after they were published", time.Since(phase).Round(time.Millisecond))

	// The node the survivor is connected to, made STIGG's leader, dies while the survivor handles a burst of
	// updates, with id-map reads (kv.Get under the handler's context) out to it: the node's answers to them are
	// lost from a moment before the kill (a request in flight at the instant of a kill is otherwise a matter of
	// luck), then the link is cut and the node killed.
	node := survivorLink(t, links)
	if err := leadStreamOn(ctx, cluster, nc, js, topology.StreamStigg, node); err != nil {
		t.Fatal(err)
	}
	handledBefore := len(ids)
	for v := 2; v < 2+burstVersions; v++ {
		round(events.TypeStiggCustomerUpdated, v)
	}
	burst := ids[handledBefore:]
	handled := func() int {
		n := 0
		for _, ev := range h.outcomes() {
			var o events.Outcome
			if err := json.Unmarshal(ev.Data(), &o); err == nil && slices.Contains(burst, o.SourceEventID) {
				n++
			}
		}
		return n
	}
	var atKill int
	h.eventually(30*time.Second, "the burst being handled", func() bool { atKill = handled(); return atKill > 0 })
	links[node].loseAnswers(`"subject":"$KV.` + topology.BucketIDs + ".")
	h.eventually(10*time.Second, "an id-map read in flight to the node", func() bool { return links[node].lost() > 0 })
	time.Sleep(200 * time.Millisecond)
	links[node].cut()
	killedAt := time.Now()
	cluster.Kill(node)
	if atKill == len(burst) {
		t.Fatalf("the whole burst of %d events was handled before the node could be killed", len(burst))
	}
	t.Logf("node %s (leading %s, the survivor's) killed with %d of the %d events of the burst handled and %d "+
		"answers to id-map reads lost", cluster.Name(node), topology.StreamStigg, atKill, len(burst), links[node].lost())
	if err := cluster.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("every stream and consumer led by the other two %s after the kill", time.Since(killedAt).Round(time.Millisecond))
	// A handler whose request died with the node gives up after jsbound.DefaultTimeout and its event is retried;
	// without that bound it waited out the 2-minute handler timeout, its lease renewed all along.
	for handled() < len(burst) {
		if time.Since(killedAt) > burstBound {
			t.Fatalf("%d of the %d events of the burst handled %s after the node was killed, want all within %s",
				handled(), len(burst), time.Since(killedAt).Round(time.Millisecond), burstBound)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("the burst handled %s after the kill; %d lines of the survivor's log name a request cut off by the bound",
		time.Since(killedAt).Round(time.Millisecond), strings.Count(survivor.Log(), "no reply within"))
	round(events.TypeStiggCustomerUpdated, 2+burstVersions) // taken by the two nodes left
	cluster.Restart(node)
	links[node].open()
	phase = time.Now()
	if err := killed.Restart(); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed consumer restarted (pid %d) and ready in %s", killed.Pid(), time.Since(phase).Round(time.Millisecond))
	if err := cluster.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	waitOutcomes("an outcome for every event")
	h.waitIdle(topology.StreamStigg, 30*time.Second)
	t.Logf("every event handled, %s in all", time.Since(start).Round(time.Millisecond))

	for _, id := range ids {
		for _, typ := range outcomes[id] {
			if typ != events.TypeOutCustomerSynced {
				t.Errorf("event %s has outcome %s, want only %s", id, typ, events.TypeOutCustomerSynced)
			}
		}
	}
	st := h.simState()
	for id, name := range latest {
		accts := accountsWithCustomer(st, id)
		if len(accts) != 1 {
			t.Errorf("%s has %d Zuora accounts, want 1", id, len(accts))
			continue
		}
		if accts[0]["name"] != name {
			t.Errorf("%s's account is named %v, want its latest %q", id, accts[0]["name"], name)
		}
	}
	if out, err := runConsumerCommand(t, bins, env, "dlq", "list"); err != nil || !strings.Contains(out, "the DLQ is empty") {
		t.Errorf("consumer dlq list: %v, want an empty DLQ:\n%s", err, out)
	}
	now, err := cluster.StreamLeader(ctx, js, topology.StreamStigg)
	if err != nil {
		t.Fatal(err)
	}
	h.eventually(20*time.Second, "every node to hold the same "+topology.StreamStigg, func() bool {
		want, ok := cluster.StreamState(cluster.Index(now), topology.StreamStigg)
		for i := range cluster.Size() {
			got, gotOK := cluster.StreamState(i, topology.StreamStigg)
			ok = ok && gotOK && got.Msgs == want.Msgs && got.LastSeq == want.LastSeq && want.LastSeq >= uint64(len(ids))
		}
		return ok
	})
	if err := bridge.waitReady(ctx); err != nil {
		t.Error(err)
	}
	for _, p := range []*process{killed, survivor, bridge} {
		if !p.Alive() {
			t.Errorf("%s is not running", p.name)
		}
		if bad, err := p.ExitedUnexpectedly(); bad {
			t.Errorf("%v", err)
		}
	}
	// A graceful stop drains and exits 0; all three at once, which the cleanups would do one after another.
	var wg sync.WaitGroup
	for _, p := range []*process{killed, survivor, bridge} {
		wg.Go(func() {
			if err := p.Stop(20 * time.Second); err != nil {
				t.Errorf("stop %s: %v\n%s", p.name, err, lastLines(p.Log(), 30))
			}
		})
	}
	wg.Wait()
}

// heldCalls holds the simulator's requests (the OAuth token's aside) while closed, and counts those whose client
// went away meanwhile.
type heldCalls struct {
	mu      sync.Mutex
	open    chan struct{} // nil: not holding
	held    int
	abandon int
}

func (g *heldCalls) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open == nil {
		g.open = make(chan struct{})
	}
}

func (g *heldCalls) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open != nil {
		close(g.open)
		g.open = nil
	}
}

func (g *heldCalls) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held
}

func (g *heldCalls) abandoned() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.abandon
}

func (g *heldCalls) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		open := g.open
		if open != nil && r.URL.Path != "/oauth/token" {
			g.held++
		}
		g.mu.Unlock()
		if open != nil && r.URL.Path != "/oauth/token" {
			select {
			case <-open:
			case <-r.Context().Done(): // the caller is gone (killed): nothing reaches the simulator
				g.mu.Lock()
				g.held--
				g.abandon++
				g.mu.Unlock()
				return
			}
			g.mu.Lock()
			g.held--
			g.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}
