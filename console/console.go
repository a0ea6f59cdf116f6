// Package console is the operator console the consumer serves on CONSOLE_ADDR: server-rendered pages (html/template,
// no JavaScript) that show what was synced, what is stuck and why, and redrive dead letters with the same guard
// semantics as `consumer dlq redrive`.
//
// Access: Basic auth (constant-time compare) whenever credentials are configured, and always on an address other
// than loopback (without credentials it answers only requests for a loopback host name); every state change is a POST carrying a CSRF token (an HMAC of the signed-in user under a key
// drawn at start). Pages set a restrictive Content-Security-Policy, forbid framing and caching, and never render
// raw card data or secrets (see mask.go). Every page reads a bounded amount from JetStream: paged DLQ reads,
// subject-filtered event reads, capped key listings.
package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zuora-sync/zuora-sync/idmap"
	"github.com/zuora-sync/zuora-sync/topology"
)

// Config is what the console reads from and how it is reached.
type Config struct {
	// Addr is the listen address (CONSOLE_ADDR). Anything but a loopback address requires credentials.
	Addr string
	// Username and Password (CONSOLE_USERNAME, CONSOLE_PASSWORD) protect every page with Basic auth when set.
	Username, Password string

	JS       jetstream.JetStream
	IDs      *idmap.Store
	Gatherer prometheus.Gatherer // the process's registry: Zuora calls, 429s, breakers, limiter
	Topology topology.Topology
	// Reconcile says the process recovers missed callouts (its progress is shown on the overview).
	Reconcile bool
	Logger    *slog.Logger

	// PageSize is the number of DLQ entries per page (default 50, at most 500).
	PageSize int
	// MaxExamined bounds the DLQ entries one filtered page reads (default 2000).
	MaxExamined int
}

// Console serves the pages.
type Console struct {
	cfg     Config
	log     *slog.Logger
	csrfKey []byte
	auth    bool
	pages   map[string]*pageTemplate
	rates   *rateSampler
}

// ErrNoCredentials: a console on a non-loopback address must have credentials.
var ErrNoCredentials = errors.New("console: CONSOLE_USERNAME and CONSOLE_PASSWORD are required when CONSOLE_ADDR is not a loopback address")

// New checks the configuration and builds the console.
func New(cfg Config) (*Console, error) {
	if (cfg.Username == "") != (cfg.Password == "") {
		return nil, errors.New("console: set both CONSOLE_USERNAME and CONSOLE_PASSWORD, or neither")
	}
	if !IsLoopback(cfg.Addr) && cfg.Username == "" {
		return nil, fmt.Errorf("%w (CONSOLE_ADDR=%q)", ErrNoCredentials, cfg.Addr)
	}
	if cfg.JS == nil {
		return nil, errors.New("console: no JetStream context")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Topology.Partitions == 0 {
		cfg.Topology = topology.Default()
	}
	cfg.PageSize = min(max(cfg.PageSize, 0), 500)
	if cfg.PageSize == 0 {
		cfg.PageSize = 50
	}
	if cfg.MaxExamined <= 0 {
		cfg.MaxExamined = 2000
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("console: csrf key: %w", err)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	return &Console{cfg: cfg, log: cfg.Logger.With("component", "console"), csrfKey: key,
		auth: cfg.Username != "", pages: pages, rates: newRateSampler(cfg.Gatherer)}, nil
}

// IsLoopback tells whether a listen address binds only the loopback interface (127.0.0.0/8, ::1, localhost).
// An empty host (":8090") binds every interface and is not loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Handler is the console's HTTP handler: routes behind the security headers and access control.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", c.overview)
	mux.HandleFunc("GET /dlq", c.dlqList)
	mux.HandleFunc("GET /dlq/{seq}", c.dlqEntry)
	mux.HandleFunc("POST /dlq/redrive", c.redrive)
	mux.HandleFunc("GET /parked", c.parked)
	mux.HandleFunc("GET /entity", c.entity)
	return c.secure(mux)
}

// Serve serves the console on ln until ctx ends, then shuts down gracefully (in-flight requests get 5 s).
func (c *Console) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	var wg sync.WaitGroup
	wg.Go(func() { c.rates.run(ctx) })
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = srv.Shutdown(sctx)
		<-errc
	case err = <-errc:
	}
	wg.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}

// secure sets the security headers and enforces Basic auth when the console has credentials.
func (c *Console) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'none'; "+
			"object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if !c.auth && !IsLoopback(r.Host) {
			// Open on loopback only to this machine: a Host that is not loopback is a page elsewhere whose name
			// was rebound to 127.0.0.1 (DNS rebinding), which must not read the console or its CSRF token.
			http.Error(w, "the console without credentials answers only to a loopback host name", http.StatusMisdirectedRequest)
			return
		}
		if c.auth && !c.authorized(r) {
			h.Set("WWW-Authenticate", `Basic realm="zuora-sync console", charset="UTF-8"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (c *Console) authorized(r *http.Request) bool {
	u, p, ok := r.BasicAuth()
	if !ok {
		return false
	}
	// Both compared in constant time, and both always compared.
	uok := subtle.ConstantTimeCompare([]byte(u), []byte(c.cfg.Username))
	pok := subtle.ConstantTimeCompare([]byte(p), []byte(c.cfg.Password))
	return uok&pok == 1
}

// csrfToken is the token a form of this user carries: an HMAC of the user under the process's key, so it cannot
// be guessed by another site, and a restart invalidates old forms.
func (c *Console) csrfToken(r *http.Request) string {
	user, _, _ := r.BasicAuth()
	m := hmac.New(sha256.New, c.csrfKey)
	m.Write([]byte("zuora-sync console csrf\x00" + user))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (c *Console) csrfValid(r *http.Request) bool {
	got := r.PostFormValue("csrf")
	return got != "" && hmac.Equal([]byte(got), []byte(c.csrfToken(r)))
}
