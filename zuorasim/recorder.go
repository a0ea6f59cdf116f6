package zuorasim

import (
	"bytes"
	"net/http"
)

// recorder wraps a ResponseWriter to remember the status (for the request log) or, with a nil target, buffers
// the whole response (for the idempotency store and after-commit faults).
type recorder struct {
	w      http.ResponseWriter // nil: buffer only
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer

	idemKey  string // Idempotency-Key seen on the request, for the log
	replayed bool   // served from the idempotency store
	faultID  string // fault rule applied, for the log
}

func newRecorder(w http.ResponseWriter) *recorder {
	return &recorder{w: w, header: http.Header{}}
}

func (r *recorder) Header() http.Header {
	if r.w != nil {
		return r.w.Header()
	}
	return r.header
}

func (r *recorder) WriteHeader(status int) {
	if r.wrote {
		return
	}
	r.wrote, r.status = true, status
	if r.w != nil {
		r.w.WriteHeader(status)
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	if r.w != nil {
		return r.w.Write(p)
	}
	return r.body.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (Flush for truncated answers); nil when buffering.
func (r *recorder) Unwrap() http.ResponseWriter { return r.w }

// statusOrOK is the recorded status, 200 when the handler wrote nothing (as net/http would send).
func (r *recorder) statusOrOK() int {
	if !r.wrote {
		return http.StatusOK
	}
	return r.status
}

// copyTo writes the buffered response to dst, replacing dst's headers with the recorded ones.
func (r *recorder) copyTo(dst http.ResponseWriter) {
	copyHeaders(dst.Header(), r.Header())
	dst.WriteHeader(r.statusOrOK())
	_, _ = dst.Write(r.body.Bytes())
}

// copyHeaders sets every header of src on dst, replacing dst's values for those names.
func copyHeaders(dst, src http.Header) {
	for k, v := range src {
		dst[k] = v
	}
}
