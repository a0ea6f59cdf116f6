package conformance

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
)

// reporter sends violations to a test, each distinct one once, so that a defect repeated on every call does not
// bury the rest of the output.
type reporter struct {
	tb   testing.TB
	mu   sync.Mutex
	seen map[string]bool
}

func newReporter(tb testing.TB) *reporter { return &reporter{tb: tb, seen: map[string]bool{}} }

func (r *reporter) report(err error) {
	if err == nil {
		return
	}
	var vs Violations
	if !errors.As(err, &vs) {
		r.tb.Errorf("conformance: %v", err)
		return
	}
	for _, v := range vs {
		r.mu.Lock()
		dup := r.seen[v.key()]
		r.seen[v.key()] = true
		r.mu.Unlock()
		if !dup {
			r.tb.Errorf("%s", v)
		}
	}
}

// Transport returns a RoundTripper that checks each request before passing it to next and each response that
// next returns, reporting violations to tb. Wrap the Zuora client's base transport with it in tests. Bodies are
// buffered and handed on intact, so the client and the server see exactly what they would without it.
func (c *Checker) Transport(tb testing.TB, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{c: c, rep: newReporter(tb), next: next}
}

type transport struct {
	c    *Checker
	rep  *reporter
	next http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	// A RoundTripper must not modify the caller's request, so the buffered body goes into a clone.
	out := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	t.rep.report(t.c.CheckRequest(out, body))

	resp, err := t.next.RoundTrip(out)
	if err != nil {
		return resp, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	t.rep.report(t.c.CheckResponse(out, resp.StatusCode, resp.Header, respBody))
	return resp, nil
}

// Middleware returns a handler that checks each request before passing it to next and the response next writes,
// reporting violations to tb. Wrap the simulator's handler with it in tests. The request body is buffered and
// handed on intact; the response goes to the client unchanged as it is written.
func (c *Checker) Middleware(tb testing.TB, next http.Handler) http.Handler {
	rep := newReporter(tb)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if r.Body != nil && r.Body != http.NoBody {
			var err error
			if body, err = io.ReadAll(r.Body); err != nil {
				http.Error(w, "conformance: reading request body: "+err.Error(), http.StatusBadRequest)
				return
			}
			r.Body.Close()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		rep.report(c.CheckRequest(r, body))

		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if !rec.wroteHeader && r.Context().Err() != nil {
			return // the client gave up (a hung request): there is no response to check
		}
		if !rec.wroteHeader {
			rec.WriteHeader(http.StatusOK)
		}
		rep.report(c.CheckResponse(r, rec.status, rec.header, rec.body.Bytes()))
	})
}

// recorder passes a response through while keeping a copy of its status, headers and body.
type recorder struct {
	http.ResponseWriter
	wroteHeader bool
	status      int
	header      http.Header
	body        bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	if r.wroteHeader {
		return
	}
	r.wroteHeader = true
	r.status = status
	// Headers changed after WriteHeader are not sent, so the snapshot is what the client gets.
	r.header = r.ResponseWriter.Header().Clone()
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	r.body.Write(p)
	return r.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer (Flush, deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
