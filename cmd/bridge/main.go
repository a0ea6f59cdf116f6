// Command bridge receives Zuora callout notifications over HTTP (POST /callouts/zuora) and publishes them as
// CloudEvents into the ZUORA stream, answering 200 only after JetStream acknowledged the write.
//
// Environment:
//
//	NATS_URL                 default nats://127.0.0.1:4222
//	NATS_USER, NATS_PASSWORD or NATS_CREDS   optional NATS credentials (nats.conf's zuorasync-bridge user)
//	NATS_CA, NATS_CERT, NATS_KEY             optional TLS: CA of the server, client certificate and key
//	NATS_INBOX_PREFIX        reply-subject prefix, default _INBOX_zuorasync-bridge (what nats.conf allows)
//	BRIDGE_ADDR              default :8080
//	BRIDGE_USERNAME, BRIDGE_PASSWORD         the Basic credentials Zuora's callouts carry (required)
//	BRIDGE_INSECURE_NO_AUTH  "true" runs without checking credentials (local experiments only; logged loudly)
//	BRIDGE_MAX_BODY_BYTES    callout body cap, default 262144 (256 KiB)
//	BRIDGE_PUBLISH_TIMEOUT   JetStream time budget per callout, default 5s
//	LOG_LEVEL                debug, info (default), warn, error
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/zuora-sync/zuora-sync/bridge"
	"github.com/zuora-sync/zuora-sync/internal/envvar"
	"github.com/zuora-sync/zuora-sync/internal/natsconn"
	"github.com/zuora-sync/zuora-sync/internal/tracing"
	"github.com/zuora-sync/zuora-sync/topology"
)

func main() {
	var level slog.Level
	if err := level.UnmarshalText([]byte(envvar.Or("LOG_LEVEL", "info"))); err != nil {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if err := run(log); err != nil {
		log.Error("bridge stopped", "err", err)
		os.Exit(1)
	}
}

// config reads the bridge's environment. It refuses to run without callout credentials unless
// BRIDGE_INSECURE_NO_AUTH=true says so explicitly.
func config(log *slog.Logger) (bridge.Config, error) {
	topo, err := topology.FromEnv()
	if err != nil {
		return bridge.Config{}, err
	}
	cfg := bridge.Config{
		Topology: topo,
		Addr:     envvar.Or("BRIDGE_ADDR", ":8080"),
		Username: os.Getenv("BRIDGE_USERNAME"),
		Password: os.Getenv("BRIDGE_PASSWORD"),
		Logger:   log,
	}
	switch v := os.Getenv("BRIDGE_INSECURE_NO_AUTH"); v {
	case "", "false":
	case "true":
		cfg.InsecureNoAuth = true
	default:
		return cfg, fmt.Errorf("BRIDGE_INSECURE_NO_AUTH=%q: want true or false", v)
	}
	if !cfg.InsecureNoAuth && (cfg.Username == "" || cfg.Password == "") {
		return cfg, errors.New("BRIDGE_USERNAME and BRIDGE_PASSWORD are required: they are the Basic credentials " +
			"of Zuora's callout templates (set BRIDGE_INSECURE_NO_AUTH=true to run without authentication, " +
			"never in production)")
	}
	if cfg.InsecureNoAuth {
		log.Warn("!!! BRIDGE_INSECURE_NO_AUTH=true: POST /callouts/zuora accepts callouts WITHOUT authentication; " +
			"anyone who can reach this port can inject Zuora events. Never run this way in production. !!!")
	}
	if v := os.Getenv("BRIDGE_MAX_BODY_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return cfg, fmt.Errorf("BRIDGE_MAX_BODY_BYTES=%q: want a positive number of bytes", v)
		}
		cfg.MaxBodyBytes = n
	}
	d, err := envvar.Duration("BRIDGE_PUBLISH_TIMEOUT", bridge.DefaultPublishTimeout)
	if err != nil {
		return cfg, err
	}
	cfg.PublishTimeout = d
	return cfg, nil
}

func run(log *slog.Logger) error {
	cfg, err := config(log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopTracing, err := tracing.Setup(ctx, "zuorasync-bridge")
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stopTracing(sctx); err != nil {
			log.Warn("tracing: spans not flushed", "err", err)
		}
	}()
	nc, err := natsconn.FromEnv().Connect(envvar.Or("NATS_URL", nats.DefaultURL), "zuora-sync bridge",
		natsconn.InboxBridge, natsconn.Resilient(log)...)
	if err != nil {
		return err
	}
	// Drained only after Run returned, i.e. after the in-flight callouts finished their JetStream writes.
	defer nc.Drain()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cfg.Registry = reg
	srv, err := bridge.New(nc, cfg)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}
