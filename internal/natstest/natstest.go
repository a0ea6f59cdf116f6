// Package natstest starts a real, embedded JetStream server for tests.
package natstest

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/internal/natsembed"
)

// Server is a running test server with its store directory, so a test can restart it on the same data.
type Server struct {
	*server.Server
	StoreDir string
}

// Start runs a JetStream server on a random loopback port; it shuts down when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return StartAt(tb, tb.TempDir())
}

// StartAt runs a server on an existing store directory.
func StartAt(tb testing.TB, storeDir string) *Server {
	tb.Helper()
	ns, err := natsembed.Start(natsembed.Options{StoreDir: storeDir})
	if err != nil {
		tb.Fatalf("start embedded NATS: %v", err)
	}
	tb.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	return &Server{Server: ns, StoreDir: storeDir}
}

// Connect opens a client connection closed at the end of the test.
func (s *Server) Connect(tb testing.TB) (*nats.Conn, jetstream.JetStream) {
	tb.Helper()
	nc, err := nats.Connect(s.ClientURL(), nats.Name(tb.Name()))
	if err != nil {
		tb.Fatalf("connect to embedded NATS: %v", err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatalf("jetstream: %v", err)
	}
	return nc, js
}
