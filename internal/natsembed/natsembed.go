// Package natsembed runs a JetStream-enabled NATS server inside the process. The consumer uses it when NATS_URL is
// unset, and tests use it so they exercise a real server rather than a fake.
package natsembed

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
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
	// NoAuth starts the server without the config file's users (its authorization block), so the file may
	// reference password variables ($NATS_CONSUMER_PASSWORD...) that are unset. The consumer's embedded mode
	// (make run) uses it: that server is the process's own, on loopback, for development, and its other
	// clients, the nats CLI of the demo's instructions and the operator subcommands (consumer dlq list...),
	// connect without credentials. Random passwords would lock them out, and the users of production are
	// exercised where they matter: against nats.conf with its passwords set (e2e/nats_users_test.go).
	NoAuth bool
	// SyncAlways makes JetStream fsync every write before acknowledging it (sync_interval: always).
	SyncAlways bool
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
		fileOpts, err := loadConfig(opts.ConfigFile, opts.NoAuth)
		if err != nil {
			return nil, fmt.Errorf("natsembed: config %s: %w", opts.ConfigFile, err)
		}
		so = fileOpts
	}
	if opts.NoAuth {
		dropAuth(so)
	}
	so.JetStream = true
	if opts.SyncAlways {
		so.SyncAlways = true
	}
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
		ns.SetLoggerV2(ServerLogger(opts.Logger.With("component", "nats-server")), false, false, false)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("natsembed: server not ready after 10s")
	}
	return ns, nil
}

// ServerLogger routes a server's own log lines into a structured log (traces are dropped).
func ServerLogger(l *slog.Logger) server.Logger { return &slogAdapter{l: l} }

type slogAdapter struct{ l *slog.Logger }

func (a *slogAdapter) Noticef(format string, v ...any) { a.l.Info(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Fatalf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Errorf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Debugf(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Tracef(format string, v ...any)  {}

// varRef is a value that is a variable reference in the nats-server configuration syntax (key: $NAME,
// unquoted); "$JS.API..." in quotes and $NAME in comments are not.
var varRef = regexp.MustCompile(`(?m)[:=][ \t]*\$([A-Za-z_][A-Za-z0-9_]*)[ \t]*$`)

// loadConfig parses a configuration file. Without auth, every variable the file references that the
// environment does not set is defined first with a random value (a variable defined in the file wins over the
// environment in nats-server's lookup), so a file whose users take their passwords from the environment parses
// with those unset; its users are dropped afterwards anyway.
func loadConfig(path string, noAuth bool) (*server.Options, error) {
	if !noAuth {
		return server.ProcessConfigFile(path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var defs strings.Builder
	seen := map[string]bool{}
	for _, m := range varRef.FindAllStringSubmatch(string(data), -1) {
		name := m[1]
		if _, set := os.LookupEnv(name); set || seen[name] {
			continue
		}
		seen[name] = true
		fmt.Fprintf(&defs, "%s: \"unset-%s\"\n", name, rand.Text())
	}
	so := &server.Options{}
	if err := so.ProcessConfigString(defs.String() + string(data)); err != nil {
		return nil, err
	}
	return so, nil
}

// dropAuth removes every way the configuration authenticates clients.
func dropAuth(so *server.Options) {
	so.Users, so.Nkeys = nil, nil
	so.Username, so.Password, so.Authorization = "", "", ""
	so.NoAuthUser = ""
	so.AuthCallout = nil
}
