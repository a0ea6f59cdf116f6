package zuorasim

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// wwwAuthenticate is the challenge Zuora sends with every 401.
const wwwAuthenticate = "Basic realm=Zuora API, ZSession realm=Zuora API, Bearer realm=Zuora API"

// authRateLimit is Zuora's documented AUTH budget per tenant per minute; the simulator reports it in the
// X-RateLimit-*-minute headers of /oauth/token but does not enforce it.
const authRateLimit = 2000

type tokenStore struct {
	mu     sync.Mutex
	tokens map[string]time.Time // access token -> expiry (sim time)
	window time.Time            // start of the current minute, for the X-RateLimit headers
	issued int                  // tokens issued in that minute
}

func newTokenStore() *tokenStore { return &tokenStore{tokens: map[string]time.Time{}} }

func (t *tokenStore) issue(now time.Time, ttl time.Duration) (token string, remaining int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	token = newID()
	t.tokens[token] = now.Add(ttl)
	if w := now.Truncate(time.Minute); !w.Equal(t.window) {
		t.window, t.issued = w, 0
	}
	t.issued++
	// Opportunistic clean-up keeps the map small in long runs.
	for k, exp := range t.tokens {
		if !now.Before(exp) {
			delete(t.tokens, k)
		}
	}
	return token, max(authRateLimit-t.issued, 0)
}

func (t *tokenStore) valid(token string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	exp, ok := t.tokens[token]
	return ok && now.Before(exp)
}

func (t *tokenStore) expireAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.tokens)
}

func (t *tokenStore) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.tokens)
	t.window, t.issued = time.Time{}, 0
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
	JTI         string `json:"jti"`
}

// token implements POST /oauth/token (client credentials, form-encoded).
func (s *Sim) token(r *http.Request, _ *store) (reply, *apiError) {
	badRequest := func(e *apiError) (reply, *apiError) { e.v1Status = http.StatusBadRequest; return reply{}, e }
	if err := r.ParseForm(); err != nil {
		return badRequest(errMalformed(err))
	}
	for _, f := range []string{"client_id", "client_secret", "grant_type"} {
		if r.PostForm.Get(f) == "" {
			return badRequest(errMissing(f))
		}
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		return badRequest(errInvalid("grant_type", "unsupported grant_type '%s': only client_credentials is supported", gt))
	}
	if r.PostForm.Get("client_id") != s.cfg.ClientID || r.PostForm.Get("client_secret") != s.cfg.ClientSecret {
		e := errUnauthorized("invalid client credentials")
		e.challenge = true
		return reply{}, e
	}
	token, remaining := s.auth.issue(s.Now(), s.cfg.TokenTTL)
	rep := replyOK(tokenResponse{
		AccessToken: token,
		TokenType:   "bearer",
		ExpiresIn:   int64(s.cfg.TokenTTL / time.Second),
		Scope:       "user.7a1c2e5d0b9f4d6e8c3a1b2c3d4e5f60 entity.4f1d9c0e-7b2a-4c3d-9e8f-0a1b2c3d4e5f service.echo.read tenant.10001",
		JTI:         newID(),
	})
	rep.header = http.Header{}
	rep.header.Set("X-RateLimit-Limit-minute", strconv.Itoa(authRateLimit))
	rep.header.Set("X-RateLimit-Remaining-minute", strconv.Itoa(remaining))
	return rep, nil
}

// authenticate checks the bearer token.
func (s *Sim) authenticate(r *http.Request) *apiError {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	var msg string
	switch {
	case h == "":
		msg = "Authentication error: missing Authorization header"
	case !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "":
		msg = "Authentication error: only Bearer tokens are accepted"
	case !s.auth.valid(strings.TrimSpace(token), s.Now()):
		msg = "Authentication error: the access token is invalid or has expired"
	default:
		return nil
	}
	e := errUnauthorized(msg)
	e.challenge = true
	return e
}
