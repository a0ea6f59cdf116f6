// Package natsconn builds the NATS client options every zuora-sync binary connects with: credentials
// (NATS_USER/NATS_PASSWORD or NATS_CREDS), TLS (NATS_CA, NATS_CERT, NATS_KEY), the inbox prefix the server's
// permissions expect (NATS_INBOX_PREFIX) and, for long-running processes, reconnecting forever with the
// disconnections logged. The consumer, its operator subcommands and the bridge all connect through it, so they
// read the same variables the same way (docs/CONTRACT.md).
package natsconn

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Auth is how a process proves who it is to the server and what it trusts. The zero value connects without
// credentials, TLS only when the URL says tls://, and with the binary's own inbox prefix.
type Auth struct {
	// User and Password are a user of nats.conf (e.g. zuorasync-consumer); Password needs User.
	User, Password string
	// Creds is a .creds file (JWT + NKey seed) for operator-mode deployments; not together with User.
	Creds string
	// CA is a PEM file of the CAs that sign the server's certificate; Cert and Key (both or neither) are this
	// client's certificate when the server verifies clients (nats.conf's tls { verify: true }).
	CA, Cert, Key string
	// InboxPrefix replaces the binary's default prefix of reply subjects; "_INBOX" is nats.go's own.
	InboxPrefix string
}

// FromEnv reads NATS_USER, NATS_PASSWORD, NATS_CREDS, NATS_CA, NATS_CERT, NATS_KEY and NATS_INBOX_PREFIX.
func FromEnv() Auth {
	return Auth{
		User: os.Getenv("NATS_USER"), Password: os.Getenv("NATS_PASSWORD"), Creds: os.Getenv("NATS_CREDS"),
		CA: os.Getenv("NATS_CA"), Cert: os.Getenv("NATS_CERT"), Key: os.Getenv("NATS_KEY"),
		InboxPrefix: os.Getenv("NATS_INBOX_PREFIX"),
	}
}

// Inbox prefixes of the binaries. nats.conf lets each user subscribe to its own prefix only, so no user can
// read the replies another one receives: JetStream delivers a pull consumer's messages, KV reads and
// request/reply answers to the requester's inbox, and stigg-publisher (an outside client on nats.go's default
// _INBOX) must not see the consumer's.
const (
	InboxConsumer = "_INBOX_zuorasync-consumer"
	InboxBridge   = "_INBOX_zuorasync-bridge"
)

// Validate reports a combination the client cannot use. Errors never quote a secret.
func (a Auth) Validate() error {
	var errs []error
	if a.Creds != "" && (a.User != "" || a.Password != "") {
		errs = append(errs, errors.New("set either NATS_CREDS or NATS_USER/NATS_PASSWORD, not both"))
	}
	if a.Password != "" && a.User == "" {
		errs = append(errs, errors.New("NATS_PASSWORD is set without NATS_USER"))
	}
	if (a.Cert == "") != (a.Key == "") {
		errs = append(errs, errors.New("NATS_CERT and NATS_KEY go together: set both or neither"))
	}
	if strings.ContainsAny(a.InboxPrefix, "*> \t") || strings.HasSuffix(a.InboxPrefix, ".") {
		errs = append(errs, fmt.Errorf("NATS_INBOX_PREFIX=%q: no wildcards, spaces or trailing dot", a.InboxPrefix))
	}
	for _, f := range []struct{ name, path string }{{"NATS_CREDS", a.Creds}, {"NATS_CA", a.CA}, {"NATS_CERT", a.Cert}, {"NATS_KEY", a.Key}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
		}
	}
	return errors.Join(errs...)
}

// Options are the client options for a connection named name whose replies use defaultInbox unless
// a.InboxPrefix says otherwise: credentials, TLS and the inbox prefix.
func (a Auth) Options(name, defaultInbox string) ([]nats.Option, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	opts := []nats.Option{nats.Name(name)}
	switch {
	case a.Creds != "":
		opts = append(opts, nats.UserCredentials(a.Creds))
	case a.User != "":
		opts = append(opts, nats.UserInfo(a.User, a.Password))
	}
	if a.CA != "" {
		opts = append(opts, nats.RootCAs(a.CA))
	}
	if a.Cert != "" {
		opts = append(opts, nats.ClientCert(a.Cert, a.Key))
	}
	if inbox := a.InboxPrefix; inbox != "" || defaultInbox != "" {
		if inbox == "" {
			inbox = defaultInbox
		}
		opts = append(opts, nats.CustomInboxPrefix(inbox))
	}
	return opts, nil
}

// Resilient are the options of a long-running process: reconnect forever, every half second, and log the
// disconnections and reconnections (never the credentials: the URL is redacted).
func Resilient(log *slog.Logger) []nats.Option {
	return []nats.Option{
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("NATS disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("NATS reconnected", "url", nc.ConnectedUrlRedacted()) }),
		// Asynchronous errors are the server refusing a publish or subscription (a permission the user lacks):
		// without this they would go unseen, the operation timing out with no reason.
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				log.Error("NATS error", "err", err, "subject", sub.Subject)
				return
			}
			log.Error("NATS error", "err", err)
		}),
	}
}

// Connect dials url with a's options (and extra after them). An error names the URL without its credentials.
func (a Auth) Connect(url, name, defaultInbox string, extra ...nats.Option) (*nats.Conn, error) {
	opts, err := a.Options(name, defaultInbox)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(url, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", redact(url), err)
	}
	return nc, nil
}

// redact drops the user info of each URL in a comma-separated list.
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, u := range parts {
		if at := strings.LastIndex(u, "@"); at >= 0 {
			if scheme := strings.Index(u, "://"); scheme >= 0 && scheme < at {
				parts[i] = u[:scheme+3] + "[redacted]" + u[at:]
			}
		}
	}
	return strings.Join(parts, ",")
}
