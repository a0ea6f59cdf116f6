// Package zuorasim is a stateful, in-process simulator of the Zuora APIs the project calls: OAuth, the Quickstart
// (/v2) API, the V1 API, the CRUD (/v1/object) API and the notification/event-trigger API. It reproduces Zuora's
// cross-cutting behaviour (bearer tokens, the per-surface error envelopes, idempotency keys, rate and concurrency
// limits, response headers) and adds an admin surface under /_sim/ for tests: state dumps, fault injection, a
// movable clock and a request log.
//
// Layout: the shared core lives in sim.go (configuration, clock), routes.go (the table of every Zuora endpoint),
// endpoint.go (the one endpoint shape and its adapter), router.go (the middleware stages), errors.go (envelopes),
// auth.go, limits.go, idempotency.go, faults.go, requestlog.go, state.go and admin.go (the /_sim/ surface). Each
// Zuora resource family has its own files (accounts*.go, catalog.go, prices.go, charges*.go, orders*.go, ...)
// holding its stored types, store methods and endpoints; docs/ARCHITECTURE.md says how to add one.
package zuorasim

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Defaults taken from Zuora's documentation (see ../shared/zuora-openapi/BEHAVIOUR.md).
const (
	DefaultClientID     = "00000000-0000-4000-8000-00000000c11e" // 36 chars, like Zuora's client ids
	DefaultClientSecret = "zuorasim-secret"
	DefaultTokenTTL     = 3599 * time.Second // the expires_in of Zuora's own token example

	DefaultConcurrencyDefault     = 40
	DefaultConcurrencyHighVolume  = 200
	DefaultConcurrencyObjectQuery = 80

	// idempotencyTTL is how long Zuora keeps an Idempotency-Key and its stored response.
	idempotencyTTL = 24 * time.Hour
)

// Limits are the request budget and the concurrency limits the simulator enforces.
type Limits struct {
	// RequestsPerMinute is the per-minute request budget for the tenant; 0 means unlimited.
	RequestsPerMinute int `json:"requestsPerMinute"`
	// Concurrent requests per Zuora concurrency class. 0 selects Zuora's default (40/200/80); a negative value
	// means unlimited.
	Default     int `json:"default"`
	HighVolume  int `json:"highVolume"`
	ObjectQuery int `json:"objectQuery"`
}

func (l Limits) withDefaults() Limits {
	if l.RequestsPerMinute < 0 {
		l.RequestsPerMinute = 0
	}
	if l.Default == 0 {
		l.Default = DefaultConcurrencyDefault
	}
	if l.HighVolume == 0 {
		l.HighVolume = DefaultConcurrencyHighVolume
	}
	if l.ObjectQuery == 0 {
		l.ObjectQuery = DefaultConcurrencyObjectQuery
	}
	return l
}

// Config configures a simulator. The zero value is usable.
type Config struct {
	ClientID     string        // default DefaultClientID
	ClientSecret string        // default DefaultClientSecret
	TokenTTL     time.Duration // default DefaultTokenTTL
	Limits       Limits
	// CustomFields lists the custom fields defined in the simulated tenant per object ("Account", "Contact",
	// "Subscription", ...). Nil selects DefaultCustomFields().
	CustomFields map[string][]string
	// Currencies lists the currencies enabled in the tenant (catalog prices may only use these). Nil selects
	// DefaultCurrencies().
	Currencies []string
	// StringReasonCodes renders V1 reasons[].code as a JSON string ("50000040") instead of a number. Zuora answers
	// with numbers; the V1 OpenAPI spec types the field as a string.
	StringReasonCodes bool
	// SearchLag makes filtered account lists miss accounts created less than this long ago (simulated time), as
	// Zuora's search indexes lag behind its writes: a look-before-write cannot rely on finding a fresh account.
	SearchLag time.Duration
	// Seed makes probabilistic faults reproducible; 0 picks a fixed default seed.
	Seed   uint64
	Logger *slog.Logger // default: discard
}

// DefaultCustomFields is the set of custom fields the simulated tenant defines unless Config.CustomFields says
// otherwise: the fields the integration writes (docs/CONTRACT.md).
func DefaultCustomFields() map[string][]string {
	return map[string][]string{
		"Account":      {"stiggCustomerId__c", "stiggEntityUrl__c"},
		"Contact":      {},
		"Subscription": {"stiggCustomerId__c", "stiggEntityUrl__c", "stiggResourceId__c"},
		"Product":      {"stiggPackageId__c", "stiggEntityUrl__c"},
		"Plan":         {"stiggPackageId__c", "stiggEntityUrl__c"},
		"Order":        {"stiggCustomerId__c", "stiggEntityUrl__c"},
	}
}

// Sim is one simulated Zuora tenant. All methods are safe for concurrent use.
type Sim struct {
	cfg     Config
	log     *slog.Logger
	handler http.Handler

	clockMu sync.Mutex
	offset  time.Duration

	auth   *tokenStore
	limits *limiter
	idem   *idempotencyStore
	faults *faultSet
	reqlog *requestLog
	store  *store

	callouts *calloutEngine // callout delivery (callout_delivery.go)

	// closing ends hung requests when the simulator shuts down.
	closeOnce sync.Once
	closing   chan struct{}
}

// New builds a simulator from cfg.
func New(cfg Config) *Sim {
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultClientID
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = DefaultClientSecret
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.CustomFields == nil {
		cfg.CustomFields = DefaultCustomFields()
	}
	if cfg.Currencies == nil {
		cfg.Currencies = DefaultCurrencies()
	}
	if cfg.Seed == 0 {
		cfg.Seed = 0x5eed
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sim{
		cfg:      cfg,
		log:      log,
		auth:     newTokenStore(),
		limits:   newLimiter(cfg.Limits.withDefaults()),
		idem:     newIdempotencyStore(),
		faults:   newFaultSet(cfg.Seed),
		reqlog:   &requestLog{},
		store:    newStore(cfg.CustomFields, cfg.Currencies),
		closing:  make(chan struct{}),
		callouts: newCalloutEngine(),
	}
	s.store.kick = s.kickCallouts
	s.handler = s.buildHandler()
	return s
}

// Handler returns the HTTP handler serving the Zuora endpoints and the /_sim/ admin surface.
func (s *Sim) Handler() http.Handler { return s.handler }

// Close releases requests blocked by "hang" faults and stops delivering callouts (cancelling the ones in
// flight and waiting for their goroutines). The simulator keeps serving otherwise.
func (s *Sim) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
	s.stopCallouts()
}

// Now is the simulated time: the real time plus the offset Advance has accumulated.
func (s *Sim) Now() time.Time {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	return time.Now().UTC().Add(s.offset)
}

// Advance moves the simulated clock forward by d (negative values are ignored: time only moves forward), runs
// the scheduled orders that have come due and processes the usage records whose billing period has ended
// (runDueOrdersLocked).
func (s *Sim) Advance(d time.Duration) time.Time {
	s.clockMu.Lock()
	if d > 0 {
		s.offset += d
	}
	s.clockMu.Unlock()
	s.runDueOrders()
	if s.calloutsBusy() { // callout retries that came due (callout_delivery.go)
		s.kickCallouts()
	}
	return s.Now()
}

// ExpireTokens invalidates every token issued so far.
func (s *Sim) ExpireTokens() { s.auth.expireAll() }

// SetLimits replaces the request budget and concurrency limits (zero concurrency values select the defaults).
func (s *Sim) SetLimits(l Limits) { s.limits.set(l.withDefaults()) }

// Reset forgets all Zuora data, tokens, idempotency keys, faults and the request log, and restores the clock and
// the configured limits. Custom field definitions return to the configured set.
func (s *Sim) Reset() {
	s.clockMu.Lock()
	s.offset = 0
	s.clockMu.Unlock()
	s.auth.reset()
	s.limits.set(s.cfg.Limits.withDefaults())
	s.idem.reset()
	s.faults.clear()
	s.reqlog.reset()
	s.store.reset(s.cfg.CustomFields, s.cfg.Currencies)
}

// DefineCustomField adds a custom field definition (e.g. object "Account", name "region__c") to the tenant.
func (s *Sim) DefineCustomField(object, name string) { s.store.defineCustomField(object, name) }

// waitOrClose blocks until ctx ends or the simulator closes.
func (s *Sim) waitOrClose(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-s.closing:
	}
}

// sleep waits for d of real time, returning early when ctx ends or the simulator closes.
func (s *Sim) sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-s.closing:
	}
}
