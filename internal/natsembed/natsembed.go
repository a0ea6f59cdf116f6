// Package natsembed runs a JetStream-enabled NATS server inside the process. The consumer uses it when NATS_URL is
// unset, and tests use it so they exercise a real server rather than a fake.
package natsembed

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options configures the embedded server. The zero value is a random loopback port with a store in a temp dir
// chosen by the caller (StoreDir must be set).
type Options struct {
	// StoreDir holds JetStream data; it survives restarts of the server, which is what makes replays possible.
	StoreDir string
	// Host and Port to listen on; Port 0 picks a free port, -1 is not allowed (clients need to connect).
	Host string
	Port int
	// ConfigFile, when set, is a nats-server configuration (e.g. the repo's nats.conf) applied before the fields
	// above override listen address and store directory.
	ConfigFile string
	// ServerName names the server in logs and advisories.
	ServerName string
	Logger     *slog.Logger
}

// Start launches the server and waits until it accepts connections.
func Start(opts Options) (*server.Server, error) {
	if opts.StoreDir == "" {
		return nil, errors.New("natsembed: StoreDir is required")
	}
	so := &server.Options{}
	if opts.ConfigFile != "" {
		fileOpts, err := server.ProcessConfigFile(opts.ConfigFile)
		if err != nil {
			return nil, fmt.Errorf("natsembed: config %s: %w", opts.ConfigFile, err)
		}
		so = fileOpts
	}
	so.JetStream = true
	so.StoreDir = opts.StoreDir
	// The config file's listen address wins unless the caller names one; without either, a random loopback port.
	if opts.Host != "" || so.Host == "" {
		so.Host = cmp.Or(opts.Host, "127.0.0.1")
	}
	if opts.Port != 0 || so.Port == 0 {
		so.Port = cmp.Or(opts.Port, server.RANDOM_PORT)
	}
	if opts.ServerName != "" {
		so.ServerName = opts.ServerName
	}
	so.NoSigs = true
	if so.Port != server.RANDOM_PORT {
		// The server reports a taken port only in its log and then never becomes ready; say it plainly instead.
		addr := net.JoinHostPort(so.Host, strconv.Itoa(so.Port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("natsembed: cannot listen on %s (is another zuora-sync or nats-server running? "+
				"stop it, or set NATS_URL to use it): %w", addr, err)
		}
		ln.Close()
	}
	ns, err := server.NewServer(so)
	if err != nil {
		return nil, fmt.Errorf("natsembed: %w", err)
	}
	if opts.Logger != nil {
		ns.SetLoggerV2(&slogAdapter{l: opts.Logger.With("component", "nats-server")}, false, false, false)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("natsembed: server not ready after 10s")
	}
	return ns, nil
}

// slogAdapter routes the server's own log lines into the process's structured log.
type slogAdapter struct{ l *slog.Logger }

func (a *slogAdapter) Noticef(format string, v ...any) { a.l.Info(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Fatalf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Errorf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Debugf(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Tracef(format string, v ...any)  {}
