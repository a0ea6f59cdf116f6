// Package app wires the consumer process together: NATS (external or embedded), the Zuora client (real tenant or
// the in-process simulator), the id map, the handlers and the runtime. cmd/consumer and the e2e tests build the
// same App, so the tests exercise the production wiring.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/zuora-sync/zuora-sync/console"
	"github.com/zuora-sync/zuora-sync/consumer"
	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/handlers"
	"github.com/zuora-sync/zuora-sync/idmap"
	"github.com/zuora-sync/zuora-sync/internal/envvar"
	"github.com/zuora-sync/zuora-sync/internal/jsbound"
	"github.com/zuora-sync/zuora-sync/internal/natsconn"
	"github.com/zuora-sync/zuora-sync/internal/natsembed"
	"github.com/zuora-sync/zuora-sync/ratelimit"
	"github.com/zuora-sync/zuora-sync/rpc"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// Config is everything the consumer process is configured with; FromEnv reads it from the contract's variables.
type Config struct {
	// NATSURL of an external server; empty runs an embedded JetStream server on DataDir.
	NATSURL string
	// DataDir holds the embedded server's store.
	DataDir string
	// NATSConfigFile optionally configures the embedded server (listen address etc.).
	NATSConfigFile string
	// NATSAuth is how the consumer connects to an external server (NATS_USER/NATS_PASSWORD or NATS_CREDS,
	// NATS_CA/NATS_CERT/NATS_KEY); the embedded server runs without users, so it is not used there.
	NATSAuth natsconn.Auth

	// ZuoraBaseURL of a Zuora tenant; empty runs the simulator in-process on SimAddr.
	ZuoraBaseURL      string
	ZuoraClientID     string
	ZuoraClientSecret string
	SimAddr           string
	// ZuoraTransport, when set, is the base transport of the Zuora client (tests put the spec checker here).
	ZuoraTransport http.RoundTripper
	// ZuoraRequestTimeout bounds each Zuora call (ZUORA_REQUEST_TIMEOUT; default 30 s). A call that outlives it is
	// retried under the same idempotency key, so Zuora applies it once even when it finished meanwhile.
	ZuoraRequestTimeout time.Duration

	RateLimit ratelimit.Config
	Runner    consumer.Config
	Handlers  handlers.Deps // Zuora, IDs and Usage are filled in by New
	// UsageFlushInterval is how often usage totals are written to Zuora (USAGE_FLUSH_INTERVAL); default 5 s.
	UsageFlushInterval time.Duration
	// ReconcileInterval is how often Zuora's callout history is searched for callouts it gave up on
	// (ZUORASYNC_RECONCILE_INTERVAL); default 15 min. It runs only when Handlers.Bridge.PublicURL is set.
	ReconcileInterval time.Duration

	// MetricsAddr serves /metrics when set.
	MetricsAddr string
	Logger      *slog.Logger

	// ConsoleAddr serves the operator console when set (CONSOLE_ADDR); an address other than loopback needs
	// ConsoleUsername and ConsolePassword (CONSOLE_USERNAME, CONSOLE_PASSWORD), which Basic auth checks.
	ConsoleAddr, ConsoleUsername, ConsolePassword string

	envErr error // a malformed variable FromEnv read; New reports it
}

// FromEnv reads the contract's environment variables (docs/CONTRACT.md).
func FromEnv() Config {
	flush, err := envvar.Duration("USAGE_FLUSH_INTERVAL", defaultUsageFlushInterval)
	reconcile, rerr := envvar.Duration("ZUORASYNC_RECONCILE_INTERVAL", defaultReconcileInterval)
	zuoraTimeout, zerr := envvar.Duration("ZUORA_REQUEST_TIMEOUT", defaultZuoraRequestTimeout)
	topo, terr := topology.FromEnv()
	backoff, berr := retryBackoffFromEnv()
	// 0 (unset): the runtime's default.
	attempts, aerr := envvar.Int("ZUORASYNC_MAX_ATTEMPTS", 0, 1, 1_000_000, "attempts")
	return Config{
		Runner:             consumer.Config{Topology: topo, Backoff: backoff, MaxAttempts: attempts},
		NATSURL:            os.Getenv("NATS_URL"),
		NATSAuth:           natsconn.FromEnv(),
		DataDir:            envvar.Or("ZUORASYNC_DATA_DIR", "./data"),
		ZuoraBaseURL:       os.Getenv("ZUORA_BASE_URL"),
		ZuoraClientID:      os.Getenv("ZUORA_CLIENT_ID"),
		ZuoraClientSecret:  os.Getenv("ZUORA_CLIENT_SECRET"),
		SimAddr:            envvar.Or("ZUORASIM_ADDR", "127.0.0.1:8089"),
		MetricsAddr:        os.Getenv("METRICS_ADDR"),
		ConsoleAddr:        os.Getenv("CONSOLE_ADDR"),
		ConsoleUsername:    os.Getenv("CONSOLE_USERNAME"),
		ConsolePassword:    os.Getenv("CONSOLE_PASSWORD"),
		UsageFlushInterval: flush,
		ReconcileInterval:  reconcile,
		Handlers: handlers.Deps{Bridge: handlers.BridgeTarget{PublicURL: os.Getenv("BRIDGE_PUBLIC_URL"),
			Username: os.Getenv("BRIDGE_USERNAME"), Password: os.Getenv("BRIDGE_PASSWORD")}},
		ZuoraRequestTimeout: zuoraTimeout,
		envErr:              errors.Join(err, rerr, zerr, terr, berr, aerr),
	}
}

// retryBackoffFromEnv reads ZUORASYNC_RETRY_BASE and ZUORASYNC_RETRY_MAX: the first retry of a transiently failing
// event waits about the base, each further one twice as long, up to the max (jittered; a Retry-After is a floor).
func retryBackoffFromEnv() (consumer.Backoff, error) {
	d := consumer.DefaultBackoff()
	base, err := envvar.Duration("ZUORASYNC_RETRY_BASE", d.Base)
	if err != nil {
		return d, err
	}
	most, err := envvar.Duration("ZUORASYNC_RETRY_MAX", d.Max)
	if err != nil {
		return d, err
	}
	if base > most {
		return d, fmt.Errorf("ZUORASYNC_RETRY_BASE=%s exceeds ZUORASYNC_RETRY_MAX=%s", base, most)
	}
	return consumer.Backoff{Base: base, Max: most}, nil
}

const (
	defaultUsageFlushInterval = 5 * time.Second
	defaultReconcileInterval  = 15 * time.Minute
	// defaultZuoraRequestTimeout bounds one Zuora call (with its 401 retry); an order or a bill run can take tens
	// of seconds on a real tenant.
	defaultZuoraRequestTimeout = 30 * time.Second
)

// App is a wired consumer process.
type App struct {
	NATS     *server.Server // nil with an external server
	NC       *nats.Conn
	JS       jetstream.JetStream
	Sim      *zuorasim.Sim // nil against a real tenant
	SimURL   string
	Zuora    *zuoraapi.Client
	Limiter  *ratelimit.Limiter // the Zuora client's; shares the tenant's budget with the other instances
	IDs      *idmap.Store
	Router   *dispatch.Router
	Runner   *consumer.Runner
	Previews *handlers.Previews
	Checkout *handlers.Checkout
	// Provisioner reconciles Zuora's notification set-up for the bridge (consumer provision, integration events).
	Provisioner *handlers.Provisioner
	// Callouts recovers the callouts Zuora gave up on; nil without BRIDGE_PUBLIC_URL (Zuora sends none then).
	Callouts *handlers.CalloutReconciler
	// Usage writes the usage totals to Zuora; Run runs it.
	Usage    *handlers.UsageFlusher
	Registry *prometheus.Registry
	// Console is the operator console, nil unless ConsoleAddr is set; Run serves it.
	Console *console.Console

	cfg       Config
	log       *slog.Logger
	consoleLn net.Listener
	closers   []func()
}

// New builds the App and provisions the JetStream topology; Run starts consuming.
func New(ctx context.Context, cfg Config) (*App, error) {
	if cfg.envErr != nil {
		return nil, cfg.envErr
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &App{cfg: cfg, log: cfg.Logger, Registry: prometheus.NewRegistry()}
	if err := a.build(ctx, cfg); err != nil {
		// Release whatever was started before the failure (embedded server, simulator, connection).
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) build(ctx context.Context, cfg Config) error {
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	url, auth := cfg.NATSURL, cfg.NATSAuth
	if url == "" {
		storeDir := filepath.Join(cfg.DataDir, "nats")
		// NoAuth: the embedded server is the process's own loopback development server (make run), whose other
		// clients are the nats CLI and the operator subcommands without credentials (natsembed.Options.NoAuth).
		ns, err := natsembed.Start(natsembed.Options{StoreDir: storeDir, ConfigFile: cfg.NATSConfigFile, NoAuth: true,
			ServerName: "zuorasync-embedded", Logger: cfg.Logger})
		if err != nil {
			return err
		}
		a.NATS = ns
		a.closers = append(a.closers, func() { ns.Shutdown(); ns.WaitForShutdown() })
		url, auth = ns.ClientURL(), natsconn.Auth{}
		a.log.Warn("NATS_URL is not set: running an embedded JetStream server", "url", url, "store", storeDir)
	}
	nc, err := auth.Connect(url, "zuora-sync consumer", natsconn.InboxConsumer, natsconn.Resilient(a.log)...)
	if err != nil {
		return err
	}
	a.NC = nc
	a.closers = append(a.closers, nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	// Every request bounded on its own: one whose node died is never answered, and under the handler's 2-minute
	// deadline it would hold the event (its lease renewed) for all of it.
	a.JS = jsbound.New(js, jsbound.DefaultTimeout)

	if err := a.zuoraClient(cfg); err != nil {
		return err
	}

	topo := cfg.Runner.Topology
	if topo.Partitions == 0 {
		topo = topology.Default()
		cfg.Runner.Topology = topo
	}
	if err := topology.EnsureStreams(ctx, a.JS, topo); err != nil {
		return err
	}
	buckets, err := topology.EnsureBuckets(ctx, a.JS, topo)
	if err != nil {
		return err
	}
	a.IDs = idmap.New(buckets.IDs)
	leave, err := a.Limiter.Join(ctx, buckets.Instances, ratelimit.InstanceConfig{Logger: cfg.Logger})
	if err != nil {
		return err
	}
	a.closers = append(a.closers, leave)

	deps := cfg.Handlers
	deps.Zuora, deps.IDs, deps.Usage = a.Zuora, a.IDs, buckets.Usage
	if deps.Logger == nil {
		deps.Logger = cfg.Logger
	}
	a.Usage = handlers.NewUsageFlusher(deps, handlers.UsageFlushConfig{Interval: cmp.Or(cfg.UsageFlushInterval, defaultUsageFlushInterval)})
	a.Router = dispatch.NewRouter()
	handlers.Register(a.Router, deps)
	a.Previews = handlers.NewPreviews(deps)
	a.Checkout = handlers.NewCheckout(deps)
	a.Provisioner = handlers.NewProvisioner(deps)
	if deps.Bridge.PublicURL != "" {
		a.Callouts = handlers.NewCalloutReconciler(deps, buckets.Reconcile,
			handlers.CalloutReconcileConfig{Interval: cmp.Or(cfg.ReconcileInterval, defaultReconcileInterval)})
	}
	rc := cfg.Runner
	if rc.Logger == nil {
		rc.Logger = cfg.Logger
	}
	if rc.Metrics == nil {
		rc.Metrics = consumer.NewMetrics(a.Registry)
	}
	a.Runner = consumer.New(a.JS, a.Router, rc)
	if cfg.ConsoleAddr != "" {
		// Checked here, before anything runs: a console open to the network without credentials is refused.
		if a.Console, err = console.New(console.Config{Addr: cfg.ConsoleAddr, Username: cfg.ConsoleUsername,
			Password: cfg.ConsolePassword, JS: a.JS, IDs: a.IDs, Gatherer: a.Registry, Topology: topo,
			Reconcile: a.Callouts != nil, Logger: cfg.Logger}); err != nil {
			return err
		}
		// Listening now makes the address (also a port 0 one) known to ConsoleURL before Run serves it.
		ln, err := net.Listen("tcp", cfg.ConsoleAddr)
		if err != nil {
			return fmt.Errorf("console: listen %s: %w", cfg.ConsoleAddr, err)
		}
		a.consoleLn = ln
		a.closers = append(a.closers, func() { _ = ln.Close() })
	}
	return nil
}

func (a *App) zuoraClient(cfg Config) error {
	base := cfg.ZuoraBaseURL
	id, secret := cfg.ZuoraClientID, cfg.ZuoraClientSecret
	if base == "" {
		a.Sim = zuorasim.New(zuorasim.Config{Logger: cfg.Logger.With("component", "zuorasim")})
		ln, err := net.Listen("tcp", cfg.SimAddr)
		if err != nil {
			return fmt.Errorf("zuora simulator: listen %s: %w", cfg.SimAddr, err)
		}
		srv := &http.Server{Handler: a.Sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error("zuora simulator stopped", "err", err)
			}
		}()
		a.closers = append(a.closers, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
			a.Sim.Close()
		})
		base = "http://" + ln.Addr().String()
		a.SimURL = base
		id, secret = zuorasim.DefaultClientID, zuorasim.DefaultClientSecret
		a.log.Warn("ZUORA_BASE_URL is not set: talking to the IN-PROCESS ZUORA SIMULATOR, not to Zuora",
			"simulator", base, "state", base+"/_sim/state")
	}
	rl := cfg.RateLimit
	if rl.Logger == nil {
		rl.Logger = cfg.Logger
	}
	if rl.Registerer == nil {
		rl.Registerer = a.Registry
	}
	a.Limiter = ratelimit.New(rl)
	client, err := zuoraapi.New(zuoraapi.Config{
		BaseURL: base, ClientID: id, ClientSecret: secret,
		Transport:      cfg.ZuoraTransport,
		RequestTimeout: cfg.ZuoraRequestTimeout,
		Limiter:        a.Limiter,
		Logger:         cfg.Logger.With("component", "zuoraapi"),
		Registerer:     a.Registry,
	})
	if err != nil {
		return err
	}
	a.Zuora = client
	return nil
}

// Run consumes, answers the request/reply subjects, flushes usage totals to Zuora and (with a bridge configured)
// recovers missed callouts until ctx ends, then drains.
// It also serves /metrics, /healthz and /readyz when MetricsAddr is set. It returns an error wrapping
// consumer.ErrConnectionClosed when the NATS connection closes for good, so the process exits instead of idling.
func (a *App) Run(ctx context.Context) error {
	// The usage flusher runs as long as Run does: started with the run's context, waited for on return.
	flushCtx, stopFlush := context.WithCancel(ctx)
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		_ = a.Usage.Run(flushCtx)
	}()
	defer func() { stopFlush(); <-flushed }()
	if a.Callouts != nil {
		reconciled := make(chan struct{})
		go func() {
			defer close(reconciled)
			_ = a.Callouts.Run(flushCtx)
		}()
		defer func() { stopFlush(); <-reconciled }()
	}
	srv, err := rpc.Start(a.NC, a.Previews, a.Checkout, rpc.Config{Logger: a.log.With("component", "rpc")})
	if err != nil {
		return err
	}
	defer srv.Stop()
	if a.cfg.MetricsAddr != "" {
		ln, err := net.Listen("tcp", a.cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("metrics: listen %s: %w", a.cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{}))
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
			// Alive unless the NATS connection is gone for good: then the process is about to exit.
			if a.NC.IsClosed() {
				http.Error(w, "unhealthy: NATS connection closed", http.StatusServiceUnavailable)
				return
			}
			_, _ = io.WriteString(w, "ok\n")
		})
		mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
			if err := a.Runner.Ready(); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
			_, _ = io.WriteString(w, "ready\n")
		})
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		a.log.Info("serving metrics and health", "addr", ln.Addr().String(), "paths", "/metrics /healthz /readyz")
	}
	if a.Console != nil {
		ln := a.consoleLn
		// The console runs as long as Run does and has shut down (gracefully) when Run returns.
		consoleCtx, stopConsole := context.WithCancel(ctx)
		served := make(chan struct{})
		go func() {
			defer close(served)
			if err := a.Console.Serve(consoleCtx, ln); err != nil {
				a.log.Error("console stopped", "err", err)
			}
		}()
		defer func() { stopConsole(); <-served }()
		a.log.Info("serving the operator console", "url", "http://"+ln.Addr().String()+"/")
	}
	return a.Runner.Run(ctx)
}

// ConsoleURL is where the console is served ("" when it is off).
func (a *App) ConsoleURL() string {
	if a.consoleLn == nil {
		return ""
	}
	return "http://" + a.consoleLn.Addr().String() + "/"
}

// Close releases everything New started, in reverse order.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}
