package app

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/internal/natsembed"
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
