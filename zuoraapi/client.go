// Package zuoraapi is the only HTTP path to Zuora: OAuth2 client credentials with one re-authentication on
// 401, idempotency keys and track ids derived from the event being handled, Zuora's error envelopes turned into
// *Error, and typed endpoint methods (one file per resource family).
//
// The client never retries (apart from the single re-authentication): a failed call returns a *Error whose
// Kind tells the caller whether and when to try again.
package zuoraapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/zuora-sync/zuora-sync/internal/tracing"
	"github.com/zuora-sync/zuora-sync/ratelimit"
)

// DefaultZuoraVersion is sent as Zuora-Version on /v1 calls. 223.0 is the first minor version whose
// POST /v1/orders response lists `subscriptions[]` with their status (older versions only return
// `subscriptionNumbers`); later versions change other responses in ways this client does not rely on.
const DefaultZuoraVersion = "223.0"

// maxResponseBytes bounds what one response may make us buffer.
const maxResponseBytes = 32 << 20

// Config configures a Client.
type Config struct {
	BaseURL      string // e.g. https://rest.apisandbox.zuora.com (no /v1 or /v2)
	ClientID     string
	ClientSecret string
	// Transport is the base transport; nil = a clone of http.DefaultTransport. Tests put a spec validator here.
	Transport http.RoundTripper
	// Limiter, when set, sits between the OAuth layer and Transport (token requests pass through it too).
	Limiter *ratelimit.Limiter
	// RequestTimeout bounds each call on top of the caller's context, including the 401 retry; default 30s.
	RequestTimeout time.Duration
	Logger         *slog.Logger
	// ZuoraVersion is the Zuora-Version header for /v1 calls; default DefaultZuoraVersion.
	ZuoraVersion string
	// Registerer receives call counters and durations; nil = no metrics. One Client per registry.
	Registerer prometheus.Registerer
}

// Client talks to one Zuora tenant. It is safe for concurrent use.
type Client struct {
	baseURL string
	http    *http.Client
	tokens  *tokenCache
	timeout time.Duration
	version string
	log     *slog.Logger
	metrics *metrics
}

// New validates cfg and builds a Client. Layering: OAuth (token cache, one re-auth on 401) → limiter →
// base transport.
func New(cfg Config) (*Client, error) {
	base, err := validateBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	var problems []string
	if strings.TrimSpace(cfg.ClientID) == "" {
		problems = append(problems, "ClientID is required")
	}
	if strings.TrimSpace(cfg.ClientSecret) == "" {
		problems = append(problems, "ClientSecret is required")
	}
	if cfg.RequestTimeout < 0 {
		problems = append(problems, "RequestTimeout must not be negative")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("zuoraapi: invalid config: %s", strings.Join(problems, "; "))
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.ZuoraVersion == "" {
		cfg.ZuoraVersion = DefaultZuoraVersion
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	rt := cfg.Transport
	if rt == nil {
		rt = http.DefaultTransport.(*http.Transport).Clone()
	}
	if cfg.Limiter != nil {
		rt = cfg.Limiter.Transport(rt)
	}
	tokens := newTokenCache(base, cfg.ClientID, cfg.ClientSecret, rt, cfg.Logger)
	return &Client{
		baseURL: base,
		http: &http.Client{
			Transport: &authTransport{tokens: tokens, next: rt, log: cfg.Logger},
			// Zuora does not redirect API calls; following one would drop the Authorization header anyway.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		tokens:  tokens,
		timeout: cfg.RequestTimeout,
		version: cfg.ZuoraVersion,
		log:     cfg.Logger,
		metrics: m,
	}, nil
}

// BaseURL is the tenant's REST host the client talks to (no trailing slash).
func (c *Client) BaseURL() string { return c.baseURL }

func validateBaseURL(raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", errors.New("zuoraapi: invalid config: BaseURL is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("zuoraapi: invalid config: BaseURL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("zuoraapi: invalid config: BaseURL %q must be an absolute http(s) URL", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("zuoraapi: invalid config: BaseURL %q must not carry credentials, a query or a fragment", raw)
	}
	if p := strings.TrimRight(u.Path, "/"); p == "/v1" || p == "/v2" {
		return "", fmt.Errorf("zuoraapi: invalid config: BaseURL %q must be the bare host; paths carry /v1 and /v2", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// Request is one Zuora call.
type Request struct {
	Method string     // default GET
	Path   string     // from the host, e.g. "/v2/accounts" or "/v1/accounts/A-1"; escape ids with url.PathEscape
	Query  url.Values // optional
	Body   any        // JSON-encoded when non-nil
	// Step names this write within the handling of one event; with the event id it makes the Idempotency-Key.
	// Required for POST and PATCH.
	Step   string
	Header http.Header // extra headers; override the defaults (e.g. a different Zuora-Version)
}

// RawBody, as Do's out, receives a successful response's body as it is (the few answers that are not JSON).
type RawBody []byte

// Do sends r and decodes a successful JSON response into out (nil = discard; a *RawBody takes the bytes as they
// are). Every failure is a *Error; see decodeAnswer for the 2xx answers that are failures too.
func (c *Client) Do(ctx context.Context, r Request, out any) error {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	if !strings.HasPrefix(r.Path, "/") {
		return invalidRequest(method, r.Path, "path must start with /")
	}
	write := method == http.MethodPost || method == http.MethodPatch
	if write && r.Step == "" {
		// A missing step would give different writes of one event the same key, and Zuora would replay the
		// first write's response for the second: refuse rather than risk that.
		return invalidRequest(method, r.Path, "Request.Step is required for POST and PATCH")
	}

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	// One client span per call, child of the event's span; its context goes to Zuora as traceparent.
	ctx, span := tracing.Tracer().Start(ctx, "zuora "+method, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(tracing.Attr("http.request.method", method), tracing.Attr("url.path", r.Path)))
	defer span.End()

	var body io.Reader
	if r.Body != nil {
		b, err := json.Marshal(r.Body)
		if err != nil {
			e := invalidRequest(method, r.Path, "encoding request body: "+err.Error())
			e.err = err
			return e
		}
		body = bytes.NewReader(b)
	}
	target := c.baseURL + r.Path
	if len(r.Query) > 0 {
		target += "?" + r.Query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		e := invalidRequest(method, r.Path, err.Error())
		e.err = err
		return e
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	eventID := EventIDFrom(ctx)
	trackID := TrackID(eventID)
	if trackID != "" {
		req.Header.Set("Zuora-Track-Id", trackID)
	}
	if strings.HasPrefix(r.Path, "/v1/") {
		req.Header.Set("Zuora-Version", c.version)
	}
	var idemKey string
	if write {
		if eventID != "" {
			idemKey = IdempotencyKey(eventID, r.Step)
		} else {
			// Without an event there is nothing stable to derive a key from; a random one still protects
			// against the transport duplicating this very request.
			idemKey = "zs-r-" + uuid.NewString()
			c.log.WarnContext(ctx, "zuora write without event id in context; using a random idempotency key",
				"method", method, "path", r.Path, "step", r.Step)
		}
		req.Header.Set("Idempotency-Key", idemKey)
	}
	if tp, ts := tracing.Parent(ctx); tp != "" {
		req.Header.Set("traceparent", tp)
		if ts != "" {
			req.Header.Set("tracestate", ts)
		}
	}
	for k, vs := range r.Header {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}

	_, surface := ratelimit.Classify(req)
	start := time.Now()
	finish := func(status int, requestID string, zerr *Error) {
		span.SetAttributes(attribute.Int("http.response.status_code", status), tracing.Attr("zuora.request_id", requestID))
		if zerr != nil {
			span.SetStatus(codes.Error, zerr.Error())
		}
		c.logCall(ctx, method, r.Path, status, start, requestID, trackID, zerr)
		c.metrics.observe(method, string(surface), start, zerr)
	}
	if err := checkFence(ctx); err != nil {
		zerr := newTransportError(method, r.Path, fmt.Errorf("not sent: %w", err))
		finish(0, "", zerr)
		return zerr
	}
	resp, err := c.http.Do(req)
	if err != nil {
		zerr := newTransportError(method, r.Path, err)
		finish(0, "", zerr)
		return zerr
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	_ = resp.Body.Close()
	requestID := resp.Header.Get("Zuora-Request-Id")
	traceRequest(ctx, requestID)
	if err != nil {
		zerr := newTransportError(method, r.Path, fmt.Errorf("reading response: %w", err))
		zerr.StatusCode, zerr.RequestID = resp.StatusCode, requestID
		finish(resp.StatusCode, requestID, zerr)
		return zerr
	}

	var zerr *Error
	switch {
	case resp.StatusCode >= 300:
		zerr = newResponseError(method, r.Path, resp.StatusCode, resp.Header, data)
	case !strings.HasPrefix(r.Path, "/v2/") && reportsFailure(data):
		// V1 and CRUD report business failures as HTTP 200 with success:false.
		zerr = newResponseError(method, r.Path, resp.StatusCode, resp.Header, data)
	}
	if zerr == nil {
		zerr = decodeAnswer(method, r.Path, resp.StatusCode, requestID, data, out)
	}
	finish(resp.StatusCode, requestID, zerr)
	if zerr != nil {
		return zerr
	}
	return nil
}

// decodeAnswer puts the body of a 2xx answer into out. A caller that asked for a value gets a *Error when the
// answer carries none (no body, a 204, null): the zero value would pass for what Zuora answered, and a create
// would hand back an object without an id. A body that is not JSON is a *Error even when the caller discards
// it: it may be a cut-off success:false, or a proxy's page in place of Zuora's answer. Both leave a write's
// outcome unknown (Kind Unknown, not Refused), as any undecodable answer does.
func decodeAnswer(method, path string, status int, requestID string, data []byte, out any) *Error {
	if raw, ok := out.(*RawBody); ok {
		*raw = append((*raw)[:0], data...)
		return nil
	}
	fail := func(msg string, err error) *Error {
		return &Error{Kind: KindUnknown, StatusCode: status, RequestID: requestID, Method: method, Path: path,
			Message: msg, err: err}
	}
	trimmed := bytes.TrimSpace(data)
	switch {
	case out == nil && len(trimmed) > 0 && !json.Valid(trimmed):
		return fail("response is not JSON: "+bodySnippet(data), nil)
	case out == nil:
		return nil
	case len(trimmed) == 0 || string(trimmed) == "null":
		return fail(fmt.Sprintf("HTTP %d answered without a body where one was expected", status), nil)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fail("decoding response: "+err.Error(), err)
	}
	return nil
}

func (c *Client) logCall(ctx context.Context, method, path string, status int, start time.Time, requestID, trackID string, err *Error) {
	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("path", path),
		slog.Int("status", status),
		slog.Duration("duration", time.Since(start)),
		slog.String("zuora_request_id", requestID),
		slog.String("track_id", trackID),
	}
	if err != nil {
		attrs = append(attrs, slog.String("kind", err.Kind.String()), slog.String("error", err.Error()))
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "zuora call", attrs...)
}
