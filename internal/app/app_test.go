package app

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/consumer"
	"github.com/zuora-sync/zuora-sync/internal/natsembed"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
)

func TestNewFailsCleanlyWhenNATSIsUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := New(ctx, Config{NATSURL: "nats://" + addr, SimAddr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err == nil || a != nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("want an error naming %s and no App, got %v, %v", addr, a, err)
	}
}

func TestEmbeddedServerSaysWhenItsPortIsTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	_, err = natsembed.Start(natsembed.Options{StoreDir: t.TempDir(), Port: port})
	if err == nil || !strings.Contains(err.Error(), "cannot listen") || !strings.Contains(err.Error(), "NATS_URL") {
		t.Fatalf("want a plain error about the taken port, got %v", err)
	}
}

// Defect 2: a NATS connection closed for good (nats.go gives up after some protocol errors) ends the process
// with an error, and /readyz and /healthz say so while it stops; a connected, consuming App is ready.
func TestClosedConnectionEndsRunAndReadinessSaysSo(t *testing.T) {
	srv := natstest.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metrics := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := New(ctx, Config{NATSURL: srv.ClientURL(), SimAddr: "127.0.0.1:0", MetricsAddr: metrics,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	get := func(path string) int {
		resp, err := http.Get("http://" + metrics + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	deadline := time.Now().Add(10 * time.Second)
	for get("/readyz") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := get("/healthz"); got != http.StatusOK {
		t.Fatalf("healthz %d while running", got)
	}
	a.NC.Close()
	if got := get("/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("readyz %d after the connection closed, want 503", got)
	}
	if got := get("/healthz"); got != http.StatusServiceUnavailable {
		t.Errorf("healthz %d after the connection closed, want 503", got)
	}
	select {
	case err := <-done:
		if !errors.Is(err, consumer.ErrConnectionClosed) {
			t.Fatalf("Run returned %v, want ErrConnectionClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept going on a closed connection")
	}
}
