package zuoraapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/zuora-sync/zuora-sync/internal/tracing"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// tokenRefreshSkew renews a cached token this long before Zuora says it expires (tokens last about an hour).
const tokenRefreshSkew = time.Minute

// tokenCache holds one bearer token for the tenant. Only one fetch runs at a time, so a burst of calls after
// expiry costs a single POST /oauth/token (Zuora asks clients not to mint tokens in bulk).
type tokenCache struct {
	cfg    clientcredentials.Config
	client *http.Client // the limiter transport: token requests use the AUTH budget, not API slots
	log    *slog.Logger

	fetching chan struct{} // 1-slot lock that respects contexts
	mu       sync.Mutex
	tok      *oauth2.Token
}

func newTokenCache(baseURL, id, secret string, rt http.RoundTripper, log *slog.Logger) *tokenCache {
	return &tokenCache{
		cfg: clientcredentials.Config{
			ClientID:     id,
			ClientSecret: secret,
			TokenURL:     baseURL + "/oauth/token",
			AuthStyle:    oauth2.AuthStyleInParams, // Zuora wants client_id/client_secret as form fields
		},
		client:   &http.Client{Transport: &trackIDTransport{next: rt}},
		log:      log,
		fetching: make(chan struct{}, 1),
	}
}

func (c *tokenCache) current() *oauth2.Token {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok == nil || c.tok.AccessToken == "" {
		return nil
	}
	if !c.tok.Expiry.IsZero() && !time.Now().Add(tokenRefreshSkew).Before(c.tok.Expiry) {
		return nil
	}
	return c.tok
}

func (c *tokenCache) get(ctx context.Context) (*oauth2.Token, error) {
	if t := c.current(); t != nil {
		return t, nil
	}
	select {
	case c.fetching <- struct{}{}:
	case <-ctx.Done():
		return nil, newTransportError(http.MethodPost, "/oauth/token", ctx.Err())
	}
	defer func() { <-c.fetching }()
	if t := c.current(); t != nil { // fetched while we waited
		return t, nil
	}
	t, err := c.cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, c.client))
	if err != nil {
		return nil, tokenError(err)
	}
	c.mu.Lock()
	c.tok = t
	c.mu.Unlock()
	c.log.DebugContext(ctx, "zuora token fetched", "expires", t.Expiry)
	return t, nil
}

// invalidate drops t if it is still the cached token (another caller may already have replaced it).
func (c *tokenCache) invalidate(t *oauth2.Token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok == t {
		c.tok = nil
	}
}

// tokenError classifies a failed token request. Rejections (4xx) are Auth; 429 and 5xx keep their kinds.
func tokenError(err error) *Error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		e := newResponseError(http.MethodPost, "/oauth/token", re.Response.StatusCode, re.Response.Header, re.Body)
		if e.Message == "" || e.Message == http.StatusText(e.StatusCode) {
			e.Message = re.Error()
		}
		switch e.Kind {
		case KindRateLimited, KindTransient:
		default:
			e.Kind = KindAuth
		}
		e.err = err
		return e
	}
	return newTransportError(http.MethodPost, "/oauth/token", err)
}

// authTransport adds the bearer token and, on a 401, fetches a new token and replays the request once.
type authTransport struct {
	tokens *tokenCache
	next   http.RoundTripper
	log    *slog.Logger
}

func (a *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	tok, err := a.tokens.get(ctx)
	if err != nil {
		closeRequestBody(req)
		return nil, err
	}
	first := req.Clone(ctx)
	tok.SetAuthHeader(first)
	resp, err := a.next.RoundTrip(first)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return resp, nil // cannot replay the body; report the 401
	}
	// Zuora tokens can be revoked or expire early: one fresh token, one retry. A second 401 is returned as is.
	drain(resp.Body)
	a.tokens.invalidate(tok)
	a.log.InfoContext(ctx, "zuora answered 401, re-authenticating once", "method", req.Method, "path", req.URL.Path)
	tok, err = a.tokens.get(ctx)
	if err != nil {
		return nil, err
	}
	retry := req.Clone(ctx)
	if req.GetBody != nil {
		if retry.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	tok.SetAuthHeader(retry)
	return a.next.RoundTrip(retry)
}

func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}

func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// trackIDTransport tags token requests with the caller's track id and trace context (the call that needed the
// token), which clientcredentials cannot do itself.
type trackIDTransport struct{ next http.RoundTripper }

func (t *trackIDTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	id := TrackID(EventIDFrom(req.Context()))
	tp, ts := tracing.Parent(req.Context())
	if id == "" && tp == "" {
		return t.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	if id != "" {
		r.Header.Set("Zuora-Track-Id", id)
	}
	if tp != "" {
		r.Header.Set("traceparent", tp)
		if ts != "" {
			r.Header.Set("tracestate", ts)
		}
	}
	return t.next.RoundTrip(r)
}
