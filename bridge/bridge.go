// Package bridge is the HTTP side of zuora-sync: it receives Zuora callout notifications behind a load balancer and
// turns them into CloudEvents on the ZUORA stream, answering 2xx only once JetStream has acknowledged the write.
package bridge

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/zuora-sync/zuora-sync/internal/jsbound"
	"github.com/zuora-sync/zuora-sync/topology"
)

// Config configures the bridge.
type Config struct {
	// Addr to listen on, e.g. ":8080".
	Addr string
	// Username and Password are the Basic credentials Zuora's callouts carry (provisioned into the callout
	// templates by `consumer provision`). Both are required unless InsecureNoAuth is set.
	Username string
	Password string
	// InsecureNoAuth accepts callouts without checking credentials (local experiments only).
	InsecureNoAuth bool
	// MaxBodyBytes caps a callout body (default DefaultMaxBodyBytes); a longer one is answered 413.
	MaxBodyBytes int64
	// PublishTimeout bounds the JetStream work of one callout: the record lookup, the publish with its PubAck and
	// the record write (default 5 s). Past it the callout is answered 503.
	PublishTimeout time.Duration
	// RetryAfter is the Retry-After of a 503 (default 30 s; Zuora retries on its own schedule, a proxy may not).
	RetryAfter time.Duration
	// Source is the CloudEvents source of the events (default DefaultSource).
	Source   string
	Topology topology.Topology
	Logger   *slog.Logger
	// Registry receives the bridge's metrics and is served on /metrics; nil means a fresh registry.
	Registry *prometheus.Registry
}

// Defaults of Config.
const (
	DefaultMaxBodyBytes   = 256 << 10
	DefaultPublishTimeout = 5 * time.Second
	DefaultRetryAfter     = 30 * time.Second
	DefaultSource         = "zuorasync/bridge"
)

// ErrNoCredentials: the bridge refuses to run open unless told to.
var ErrNoCredentials = errors.New("bridge: Username and Password are required (or InsecureNoAuth)")

// Server is the bridge HTTP server. It keeps no state of its own: any number of instances serve behind a load
// balancer, and what decides (the stream, the record of delivered callouts) lives in JetStream.
type Server struct {
	cfg      Config
	nc       *nats.Conn
	js       jetstream.JetStream
	log      *slog.Logger
	mux      *http.ServeMux
	m        *metrics
	ready    atomic.Bool
	callouts atomic.Pointer[jetstream.KeyValue] // set by Provision

	credentialsSet   bool
	userSum, passSum [32]byte
}

// New builds a bridge on an open NATS connection.
func New(nc *nats.Conn, cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = ":8080"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Topology.Partitions == 0 {
		cfg.Topology = topology.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = DefaultPublishTimeout
	}
	if cfg.RetryAfter < time.Second {
		cfg.RetryAfter = DefaultRetryAfter
	}
	if cfg.Source == "" {
		cfg.Source = DefaultSource
	}
	if !cfg.InsecureNoAuth && (cfg.Username == "" || cfg.Password == "") {
		return nil, ErrNoCredentials
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("bridge: jetstream: %w", err)
	}
	// Every request bounded on its own, as the consumer's are: one whose node died is never answered. A callout's
	// work (PublishTimeout) and the readiness check have shorter deadlines of their own; provisioning has none.
	js = jsbound.New(js, jsbound.DefaultTimeout)
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, nc: nc, js: js, log: cfg.Logger.With("component", "bridge"), mux: http.NewServeMux(), m: m,
		credentialsSet: cfg.Username != "" && cfg.Password != "",
		userSum:        sha256.Sum256([]byte(cfg.Username)), passSum: sha256.Sum256([]byte(cfg.Password))}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("POST "+CalloutPath, s.callout)
	return s, nil
}

// Handler is the bridge's HTTP surface.
func (s *Server) Handler() http.Handler { return s.mux }

// readyz is ready only when a callout could be made durable now: NATS connected, the ZUORA stream writable (it
// exists, is not sealed, has a leader and takes the bridge's subjects) and the record of delivered callouts
// there. The connection status is checked itself, not IsConnected, which also counts a draining connection: that
// one belongs to a process on its way out.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		http.Error(w, "not ready: stream "+topology.StreamZuora+" not provisioned", http.StatusServiceUnavailable)
		return
	}
	if st := s.nc.Status(); st != nats.CONNECTED {
		http.Error(w, "not ready: NATS is "+st.String(), http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.writable(ctx); err != nil {
		http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

func (s *Server) writable(ctx context.Context) error {
	st, err := s.js.Stream(ctx, topology.StreamZuora)
	if err != nil {
		return fmt.Errorf("stream %s: %w", topology.StreamZuora, err)
	}
	info := st.CachedInfo()
	switch {
	case info.Config.Sealed:
		return fmt.Errorf("stream %s is sealed", topology.StreamZuora)
	case info.Cluster != nil && info.Cluster.Leader == "" && info.Config.Replicas > 1:
		return fmt.Errorf("stream %s has no leader", topology.StreamZuora)
	case !slices.Contains(info.Config.Subjects, "zuora.*.*.*"):
		return fmt.Errorf("stream %s does not take zuora.<entity>.<action>.<key> (subjects %v)", topology.StreamZuora, info.Config.Subjects)
	}
	if _, err := s.js.Stream(ctx, "KV_"+topology.BucketCallouts); err != nil {
		return fmt.Errorf("bucket %s: %w", topology.BucketCallouts, err)
	}
	return nil
}

// Provision creates the ZUORA stream and the zuorasync-callouts bucket (idempotent) and marks the bridge ready.
func (s *Server) Provision(ctx context.Context) error {
	if err := topology.EnsureStream(ctx, s.js, s.cfg.Topology, topology.StreamZuora); err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	kv, err := topology.EnsureCalloutsBucket(ctx, s.js, s.cfg.Topology)
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	s.callouts.Store(&kv)
	s.ready.Store(true)
	return nil
}

// Run provisions, then serves until ctx ends, then shuts down gracefully: in-flight requests finish (and their
// JetStream writes complete) before Run returns.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("bridge: listen %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on an existing listener (tests use a random port).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := s.Provision(ctx); err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10, // Zuora's headers and a template's custom ones are far smaller
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("bridge listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("bridge: %w", err)
	case <-ctx.Done():
	}
	s.ready.Store(false)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("bridge: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("bridge: %w", err)
	}
	return nil
}

// Addr returns the configured listen address.
func (s *Server) Addr() string { return s.cfg.Addr }
