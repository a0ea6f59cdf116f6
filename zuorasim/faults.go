package zuorasim

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is a fault-injection rule. A request matches when its method equals Method (empty = any) and its path
// starts with PathPrefix (empty = any) and matches PathRegexp (empty = any). A matching rule fires with
// Probability (0 means always) and at most Times times (0 means no limit); the first firing rule wins.
//
// When it fires: Hang blocks until the client gives up (its request context ends) or the simulator closes; a
// non-zero Status answers with that status in the surface's error envelope (after Latency); otherwise the request
// is processed normally but Latency slower (the delay falls after the idempotency key is claimed, so a concurrent
// retry sees 409). With AfterCommit, Truncate or GarbleBody the request is processed first (and its idempotency
// key stored) and only the answer the client gets is spoiled: AfterCommit replaces it with the Status error ("Zuora
// did it but the client never heard"); Truncate and GarbleBody keep the real status and headers but cut the body
// or swap it for a proxy's HTML page. A retry with the same Idempotency-Key gets the real stored answer. Faults
// apply after the rate limit, auth and concurrency checks, so a hung request holds its concurrency slot.
type Fault struct {
	ID          string        `json:"id,omitempty"`
	Method      string        `json:"method,omitempty"`
	PathPrefix  string        `json:"pathPrefix,omitempty"`
	PathRegexp  string        `json:"pathRegexp,omitempty"`
	Probability float64       `json:"probability,omitempty"`
	Times       int           `json:"times,omitempty"`
	Status      int           `json:"status,omitempty"`
	RetryAfter  int           `json:"retryAfter,omitempty"` // seconds; sent with 429/503 (default 1 for 429)
	Message     string        `json:"message,omitempty"`
	Latency     time.Duration `json:"-"`
	Hang        bool          `json:"hang,omitempty"`
	AfterCommit bool          `json:"afterCommit,omitempty"`
	// StoreFailure keeps the fault's error answer under the request's Idempotency-Key, as Zuora saves a failed
	// write's response "regardless of whether it succeeded or failed": a retry with the same key gets the same
	// failure back even after the fault is gone.
	StoreFailure bool `json:"storeFailure,omitempty"`
	// Truncate sends the real answer's status, headers and full Content-Length but only half its body, then drops
	// the connection: the client's body read fails (io.ErrUnexpectedEOF). An empty body is dropped whole.
	Truncate bool `json:"truncate,omitempty"`
	// GarbleBody sends the real answer's status and headers (Content-Type still application/json) with a
	// complete HTML error page as the body, as a misbehaving proxy would: the client reads it but cannot decode it.
	GarbleBody bool `json:"garbleBody,omitempty"`
	// Fired counts how often the rule has fired (read-only).
	Fired int `json:"fired"`
}

// MarshalJSON renders Latency as a duration string.
func (f Fault) MarshalJSON() ([]byte, error) {
	type plain Fault
	out := struct {
		plain
		Latency string `json:"latency,omitempty"`
	}{plain: plain(f)}
	if f.Latency > 0 {
		out.Latency = f.Latency.String()
	}
	return json.Marshal(out)
}

// UnmarshalJSON accepts "latency" as "250ms" or as milliseconds.
func (f *Fault) UnmarshalJSON(b []byte) error {
	type plain Fault
	var in struct {
		plain
		Latency json.RawMessage `json:"latency,omitempty"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("decode fault: %w", err)
	}
	*f = Fault(in.plain)
	if len(in.Latency) == 0 || string(in.Latency) == "null" {
		return nil
	}
	var str string
	if err := json.Unmarshal(in.Latency, &str); err == nil {
		d, err := time.ParseDuration(str)
		if err != nil {
			return fmt.Errorf("fault latency: %w", err)
		}
		f.Latency = d
		return nil
	}
	ms, err := strconv.ParseFloat(string(in.Latency), 64)
	if err != nil {
		return fmt.Errorf("fault latency must be a duration string or milliseconds: %w", err)
	}
	f.Latency = time.Duration(ms * float64(time.Millisecond))
	return nil
}

func (f *Fault) validate() error {
	if f.PathRegexp != "" {
		if _, err := regexp.Compile(f.PathRegexp); err != nil {
			return fmt.Errorf("pathRegexp: %w", err)
		}
	}
	if f.Probability < 0 || f.Probability > 1 {
		return fmt.Errorf("probability must be within [0,1]")
	}
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		return fmt.Errorf("status must be a 4xx or 5xx code")
	}
	if f.Times < 0 || f.Latency < 0 || f.RetryAfter < 0 {
		return fmt.Errorf("times, latency and retryAfter must not be negative")
	}
	if f.mangles() {
		// They spoil the real answer, so an error status, a hang or a stored failure would contradict them.
		if (f.Truncate && f.GarbleBody) || f.Status != 0 || f.Hang || f.StoreFailure {
			return fmt.Errorf("truncate and garbleBody exclude each other and status, hang and storeFailure")
		}
		return nil
	}
	if f.Status == 0 && !f.Hang && f.Latency == 0 {
		return fmt.Errorf("a fault needs a status, a latency, hang, truncate or garbleBody")
	}
	return nil
}

// mangles reports whether the fault spoils the real answer rather than replacing it with an error.
func (f *Fault) mangles() bool { return f.Truncate || f.GarbleBody }

type faultRule struct {
	Fault
	re *regexp.Regexp
}

type faultSet struct {
	mu    sync.Mutex
	rules []*faultRule
	rng   *rand.Rand
	seq   int
}

func newFaultSet(seed uint64) *faultSet {
	return &faultSet{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (fs *faultSet) add(f Fault) string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.seq++
	f.ID = fmt.Sprintf("fault-%d", fs.seq)
	f.Fired = 0
	rule := &faultRule{Fault: f}
	if f.PathRegexp != "" {
		rule.re = regexp.MustCompile(f.PathRegexp) // validated by the caller
	}
	fs.rules = append(fs.rules, rule)
	return f.ID
}

func (fs *faultSet) remove(id string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, r := range fs.rules {
		if r.ID == id {
			fs.rules = append(fs.rules[:i], fs.rules[i+1:]...)
			return true
		}
	}
	return false
}

func (fs *faultSet) clear() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.rules = nil
}

func (fs *faultSet) list() []Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]Fault, 0, len(fs.rules))
	for _, r := range fs.rules {
		out = append(out, r.Fault)
	}
	return out
}

// match returns the first rule that fires for the request, counting the firing.
func (fs *faultSet) match(method, path string) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, r := range fs.rules {
		if r.Method != "" && !strings.EqualFold(r.Method, method) {
			continue
		}
		if !strings.HasPrefix(path, r.PathPrefix) || (r.re != nil && !r.re.MatchString(path)) {
			continue
		}
		if r.Times > 0 && r.Fired >= r.Times {
			continue
		}
		if r.Probability > 0 && fs.rng.Float64() >= r.Probability {
			continue
		}
		r.Fired++
		return r.Fault, true
	}
	return Fault{}, false
}

// InjectFault adds a fault rule and returns its id. It panics on an invalid rule (bad regexp, status outside
// 4xx/5xx, nothing to do): that is a bug in the calling test.
func (s *Sim) InjectFault(f Fault) string {
	if err := f.validate(); err != nil {
		panic(fmt.Sprintf("zuorasim: invalid fault: %v", err))
	}
	return s.faults.add(f)
}

// RemoveFault deletes one fault rule; it reports whether the rule existed.
func (s *Sim) RemoveFault(id string) bool { return s.faults.remove(id) }

// ClearFaults deletes every fault rule.
func (s *Sim) ClearFaults() { s.faults.clear() }

// Faults lists the fault rules with their firing counts.
func (s *Sim) Faults() []Fault { return s.faults.list() }

// processingDelayKey carries a latency fault's delay to the endpoint stage.
type processingDelayKey struct{}

// processingDelay is the delay a latency fault asked for, or 0.
func processingDelay(r *http.Request) time.Duration {
	d, _ := r.Context().Value(processingDelayKey{}).(time.Duration)
	return d
}

// applyFault runs the request under a fired fault rule. next serves the request normally. It returns the error
// the fault answers with, if the caller is to write it.
func (s *Sim) applyFault(w *recorder, r *http.Request, f Fault, next func(*recorder, *http.Request) *apiError) *apiError {
	w.faultID = f.ID
	s.log.Debug("zuorasim: fault fired", "fault", f.ID, "method", r.Method, "path", r.URL.Path)
	if f.Status == 0 && !f.Hang && !f.mangles() {
		// A pure latency fault slows the processing itself (after the idempotency key is claimed), so a
		// concurrent retry with the same key sees the first request still running.
		return next(w, r.WithContext(context.WithValue(r.Context(), processingDelayKey{}, f.Latency)))
	}
	s.sleep(r.Context(), f.Latency)
	switch {
	case f.Hang:
		s.waitOrClose(r.Context())
		if r.Context().Err() == nil { // released by Close: answer so the client is not left waiting
			return errStatus(http.StatusServiceUnavailable, "simulator shutting down")
		}
		return nil // the client is gone: nothing to answer
	case f.AfterCommit || f.mangles():
		return s.afterCommit(w, r, f, next)
	case f.StoreFailure:
		// The fault's answer is what the idempotency store keeps under the request's key.
		return s.withIdempotency(w, r, http.HandlerFunc(func(hw http.ResponseWriter, hr *http.Request) {
			s.fail(hw, hr, f.answer())
		}))
	}
	return f.answer()
}

// afterCommit processes the request in full (the write happens and its idempotency key stores the real answer),
// then sends the client a spoiled answer instead: the fault's error, or the real answer truncated or garbled.
func (s *Sim) afterCommit(w *recorder, r *http.Request, f Fault, next func(*recorder, *http.Request) *apiError) *apiError {
	buf := newRecorder(nil)
	// Start from the headers already set (Zuora-Request-Id, rate limits), so the stored answer a retry replays
	// carries the request id the client saw with the spoiled one.
	buf.header = w.Header().Clone()
	if e := next(buf, r); e != nil {
		s.fail(buf, r, e) // the real answer was a refusal: that is what gets spoiled
	}
	w.idemKey, w.replayed = buf.idemKey, buf.replayed
	switch {
	case f.Truncate:
		writeTruncated(w, buf)
	case f.GarbleBody:
		writeGarbled(w, buf)
	default:
		return f.answer()
	}
	return nil
}

// HeaderFault marks an answer a fault spoiled on purpose (truncated or garbled), so the spec checker in tests
// does not take it for the simulator's idea of a Zuora answer. Zuora's client ignores unknown headers.
const HeaderFault = "Zuorasim-Fault"

// garbledBody is what a proxy in front of Zuora might send in place of the answer.
const garbledBody = "<html><body>502 Bad Gateway</body></html>\n"

// writeTruncated sends real's status and headers with the full Content-Length, flushes half the body and aborts
// the connection, so the client sees a read error rather than a short but complete body.
func writeTruncated(w *recorder, real *recorder) {
	body := real.body.Bytes()
	if len(body) == 0 {
		panic(http.ErrAbortHandler) // nothing to cut: drop the connection before the answer
	}
	copyHeaders(w.Header(), real.Header())
	w.Header().Set(HeaderFault, "truncate")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(real.statusOrOK())
	_, _ = w.Write(body[:len(body)/2])
	_ = http.NewResponseController(w).Flush() // unflushed bytes would be dropped with the connection
	panic(http.ErrAbortHandler)               // net/http closes the connection without logging
}

// writeGarbled sends real's status and headers with a complete HTML page as the body.
func writeGarbled(w *recorder, real *recorder) {
	copyHeaders(w.Header(), real.Header())
	w.Header().Set(HeaderFault, "garbleBody")
	w.Header().Set("Content-Length", strconv.Itoa(len(garbledBody)))
	w.WriteHeader(real.statusOrOK())
	_, _ = w.Write([]byte(garbledBody))
}

// answer is a fault's error, with Retry-After where the fault or the status asks for it.
func (f Fault) answer() *apiError {
	e := errStatus(f.Status, f.Message)
	if f.RetryAfter > 0 {
		e.retryAfter = f.RetryAfter
	} else if f.Status == http.StatusTooManyRequests {
		e.retryAfter = 1
	}
	return e
}
