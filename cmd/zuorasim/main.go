// Command zuorasim serves the Zuora simulator over HTTP for local runs and end-to-end tests.
//
// Environment: ZUORASIM_ADDR (default 127.0.0.1:8089), ZUORASIM_CLIENT_ID, ZUORASIM_CLIENT_SECRET (defaults:
// zuorasim.DefaultClientID / DefaultClientSecret).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/zuora-sync/zuora-sync/internal/envvar"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()}))
	if err := run(log); err != nil {
		log.Error("zuorasim stopped", "err", err)
		os.Exit(1)
	}
}

func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("ZUORASIM_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}

func run(log *slog.Logger) error {
	addr := envvar.Or("ZUORASIM_ADDR", "127.0.0.1:8089")
	sim := zuorasim.New(zuorasim.Config{
		ClientID:     os.Getenv("ZUORASIM_CLIENT_ID"),
		ClientSecret: os.Getenv("ZUORASIM_CLIENT_SECRET"),
		Logger:       log,
	})
	defer sim.Close()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }() // ends when Shutdown closes the listener

	log.Info("zuorasim listening", "addr", ln.Addr().String(), "client_id", clientID())
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	log.Info("zuorasim shutting down")
	sim.Close() // release requests held by "hang" faults so Shutdown can finish
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

func clientID() string { return envvar.Or("ZUORASIM_CLIENT_ID", zuorasim.DefaultClientID) }
