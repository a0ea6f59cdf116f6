// Command bridge receives Zuora callout notifications over HTTP and publishes them as CloudEvents into JetStream.
//
// Environment: NATS_URL (default nats://127.0.0.1:4222), BRIDGE_ADDR (default :8080), BRIDGE_USERNAME,
// BRIDGE_PASSWORD (the Basic credentials Zuora's callouts carry).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/nats-io/nats.go"

	"github.com/zuora-sync/zuora-sync/bridge"
	"github.com/zuora-sync/zuora-sync/internal/envvar"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := run(log); err != nil {
		log.Error("bridge stopped", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	url := envvar.Or("NATS_URL", nats.DefaultURL)
	nc, err := nats.Connect(url, nats.Name("zuora-sync bridge"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", url, err)
	}
	defer nc.Drain()
	srv, err := bridge.New(nc, bridge.Config{
		Addr:     envvar.Or("BRIDGE_ADDR", ":8080"),
		Username: os.Getenv("BRIDGE_USERNAME"),
		Password: os.Getenv("BRIDGE_PASSWORD"),
		Logger:   log,
	})
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}
