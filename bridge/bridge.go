// Package bridge is the HTTP side of zuora-sync: it receives Zuora callout notifications behind a load balancer and
// turns them into CloudEvents on the ZUORA stream, answering 2xx only once JetStream has acknowledged the write.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/zuora-sync/zuora-sync/topology"
)

// Config configures the bridge.
type Config struct {
	// Addr to listen on, e.g. ":8080".
	Addr string
	// Username and Password are the Basic credentials Zuora's callouts carry (provisioned into the callout
	// templates by `consumer provision`).
	Username string
	Password string
	Topology topology.Topology
	Logger   *slog.Logger
	// Registry receives the bridge's metrics and is served on /metrics; nil means a fresh registry.
	Registry *prometheus.Registry
}

// Server is the bridge HTTP server.
type Server struct {
	cfg   Config
	nc    *nats.Conn
	js    jetstream.JetStream
	log   *slog.Logger
	mux   *http.ServeMux
	ready atomic.Bool
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
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("bridge: jetstream: %w", err)
	}
	s := &Server{cfg: cfg, nc: nc, js: js, log: cfg.Logger.With("component", "bridge"), mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{}))
	return s, nil
}

// Handler is the bridge's HTTP surface.
func (s *Server) Handler() http.Handler { return s.mux }

// readyz is ready only when NATS is connected and the ZUORA stream exists, so a load balancer never sends a
// callout to an instance that cannot make it durable. The status is checked itself, not IsConnected, which also
// counts a draining connection: that one belongs to a process on its way out.
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
	if _, err := s.js.Stream(ctx, topology.StreamZuora); err != nil {
		http.Error(w, "not ready: stream "+topology.StreamZuora+": "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// Provision creates the ZUORA stream (idempotent) and marks the bridge ready.
func (s *Server) Provision(ctx context.Context) error {
	if err := topology.EnsureStream(ctx, s.js, s.cfg.Topology, topology.StreamZuora); err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
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
