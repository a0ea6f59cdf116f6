// Command consumer syncs Stigg events from JetStream into Zuora.
//
//	consumer                       run the consumer (configuration from the environment, docs/CONTRACT.md)
//	consumer demo                  everything in one process with sample data (what `make run` starts)
//	consumer replay  -stream STIGG (-seq N | -since 2h | -from 2026-11-25T10:00:00Z)
//	consumer dlq list    [-filter SUBJECT] [-limit N] [-json]
//	consumer dlq redrive [-filter SUBJECT] [-seq N,N,...]
//	consumer provision             create the JetStream streams and KV buckets
//
// With NATS_URL unset the consumer runs an embedded JetStream server with its data under ./data; with
// ZUORA_BASE_URL unset it talks to the in-process Zuora simulator. Operator subcommands connect to NATS_URL
// (default nats://127.0.0.1:4222, where the embedded server of `make run` listens).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/zuora-sync/zuora-sync/internal/app"
	"github.com/zuora-sync/zuora-sync/internal/tracing"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()}))
	slog.SetDefault(log)
	err := runCommand(ctx, os.Args[1:], os.Stdout, log)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "consumer:", err)
		os.Exit(1)
	}
}

func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}

func runCommand(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	if len(args) == 0 {
		return runConsumer(ctx, log)
	}
	switch args[0] {
	case "run":
		return runConsumer(ctx, log)
	case "demo":
		return runDemo(ctx, args[1:], out, log)
	case "replay":
		return runReplay(ctx, args[1:], out)
	case "dlq":
		return runDLQ(ctx, args[1:], out)
	case "provision":
		return runProvision(ctx, out)
	case "help", "-h", "--help":
		fmt.Fprint(out, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

const usage = `usage:
  consumer                       run the consumer
  consumer demo                  embedded NATS + Zuora simulator + consumer + bridge, with sample events
  consumer replay  -stream STIGG (-seq N | -since 2h | -from RFC3339)
  consumer dlq list    [-filter SUBJECT] [-limit N] [-json]
  consumer dlq redrive [-filter SUBJECT] [-seq N,N,...]
  consumer provision             create the JetStream streams and KV buckets
`

func runConsumer(ctx context.Context, log *slog.Logger) error {
	stopTracing, err := tracing.Setup(ctx, "zuorasync-consumer")
	if err != nil {
		return err
	}
	defer shutdownTracing(stopTracing, log)
	cfg := app.FromEnv()
	cfg.Logger = log
	if cfg.NATSURL == "" {
		cfg.NATSConfigFile = existing("nats.conf")
	}
	a, err := app.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Run(ctx)
}

// shutdownTracing flushes the spans not exported yet, within a few seconds.
func shutdownTracing(stop func(context.Context) error, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := stop(ctx); err != nil {
		log.Warn("tracing: spans not flushed", "err", err)
	}
}

// existing returns path when the file exists, so the embedded server picks up the repo's nats.conf when run from
// the repo root and runs on defaults elsewhere.
func existing(path string) string {
	if _, err := os.Stat(path); err == nil {
		return path
	}
	return ""
}
