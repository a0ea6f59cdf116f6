package zuorasim

import (
	"bytes"
	"net/http"
	"sync"
	"time"
)

// maxIdempotencyKeyLen is Zuora's documented limit for Idempotency-Key.
const maxIdempotencyKeyLen = 255

// idemEntry is one Idempotency-Key: in flight, or done with the stored response.
type idemEntry struct {
	method, path string
	done         bool
	expires      time.Time // sim time; set when the first response is stored
	status       int
	header       http.Header
	body         []byte
}

type idempotencyStore struct {
	mu        sync.Mutex
	entries   map[string]*idemEntry
	lastSweep time.Time
}

func newIdempotencyStore() *idempotencyStore {
	return &idempotencyStore{entries: map[string]*idemEntry{}}
}

func (st *idempotencyStore) reset() {
	st.mu.Lock()
	defer st.mu.Unlock()
	clear(st.entries)
}

// idemOutcome is what begin decided for a request carrying a key.
type idemOutcome int

const (
	idemProceed  idemOutcome = iota // first use: run the handler, then complete
	idemReplay                      // stored response available
	idemInFlight                    // the first request with this key is still running -> 409
	idemMismatch                    // key used with another method or path -> 422
)

// begin claims key for (method, path) or reports why it cannot.
func (st *idempotencyStore) begin(key, method, path string, now time.Time) (idemOutcome, *idemEntry) {
	st.mu.Lock()
	defer st.mu.Unlock()
	// Expired keys are swept at most once a simulated minute: sweeping on every request made each request cost
	// as much as the whole day of keys. Between sweeps an expired key is treated as absent when looked up.
	if now.Sub(st.lastSweep) >= time.Minute {
		for k, e := range st.entries {
			if e.done && !now.Before(e.expires) {
				delete(st.entries, k)
			}
		}
		st.lastSweep = now
	}
	e, ok := st.entries[key]
	if ok && e.done && !now.Before(e.expires) {
		delete(st.entries, key)
		ok = false
	}
	switch {
	case !ok:
		st.entries[key] = &idemEntry{method: method, path: path}
		return idemProceed, nil
	case e.method != method || e.path != path:
		return idemMismatch, nil
	case !e.done:
		return idemInFlight, nil
	default:
		cp := *e
		return idemReplay, &cp
	}
}

// complete stores the first response for key, kept for 24 h of simulated time.
func (st *idempotencyStore) complete(key string, rec *recorder, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	e, ok := st.entries[key]
	if !ok { // reset while the request ran
		return
	}
	e.done = true
	e.expires = now.Add(idempotencyTTL)
	e.status = rec.status
	e.header = rec.Header().Clone()
	e.body = bytes.Clone(rec.body.Bytes())
}

// abandon forgets an in-flight key whose handler did not produce a response (panic).
func (st *idempotencyStore) abandon(key string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if e, ok := st.entries[key]; ok && !e.done {
		delete(st.entries, key)
	}
}

// perRequestHeaders describe the current request rather than the stored response, so a replay keeps the
// current values.
var perRequestHeaders = map[string]bool{
	"Ratelimit-Limit": true, "Ratelimit-Remaining": true, "Ratelimit-Reset": true,
	"Concurrency-Limit-Type": true, "Concurrency-Limit-Limit": true, "Concurrency-Limit-Remaining": true,
	"Zuora-Track-Id": true,
}

// replay writes a stored response: status, headers (including the original Zuora-Request-Id) and body.
func replay(w http.ResponseWriter, e *idemEntry) {
	h := w.Header()
	for k, v := range e.header {
		if perRequestHeaders[http.CanonicalHeaderKey(k)] {
			continue
		}
		h[k] = append([]string(nil), v...)
	}
	w.WriteHeader(e.status)
	_, _ = w.Write(e.body)
}

// withIdempotency runs next under the Idempotency-Key rules (POST and PATCH only); it returns the error of a key
// it refuses.
func (s *Sim) withIdempotency(w *recorder, r *http.Request, next http.Handler) *apiError {
	run := func(w http.ResponseWriter) {
		s.sleep(r.Context(), processingDelay(r))
		next.ServeHTTP(w, r)
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" || (r.Method != http.MethodPost && r.Method != http.MethodPatch) {
		run(w)
		return nil
	}
	w.idemKey = key
	if len(key) > maxIdempotencyKeyLen {
		e := errInvalid("Idempotency-Key", "Idempotency-Key must be at most %d characters", maxIdempotencyKeyLen)
		e.v1Status = http.StatusBadRequest
		return e
	}
	outcome, entry := s.idem.begin(key, r.Method, r.URL.Path, s.Now())
	switch outcome {
	case idemMismatch:
		return errUnprocessable("Idempotency-Key was already used with a different method or path")
	case idemInFlight:
		return errConflict("a request with the same Idempotency-Key is still being processed")
	case idemReplay:
		w.replayed = true
		replay(w, entry)
		return nil
	}
	// Record the handler's response separately so it can be stored even if the client has gone away.
	inner := newRecorder(nil)
	for k, v := range w.Header() {
		inner.Header()[k] = v
	}
	completed := false
	defer func() {
		if !completed {
			s.idem.abandon(key)
		}
	}()
	run(inner)
	completed = true
	s.idem.complete(key, inner, s.Now())
	inner.copyTo(w)
	return nil
}
