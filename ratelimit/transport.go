package ratelimit

import (
	"io"
	"net/http"
	"sync"
)

// Transport returns a RoundTripper that admits each request through the limiter before handing it to next
// (nil = http.DefaultTransport). Order per request: breaker (fail fast when open), pauses, rate token, class
// slot. The slot is held until the response body is closed or read to the end, so callers must close bodies.
func (l *Limiter) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{l: l, next: next}
}

type transport struct {
	l    *Limiter
	next http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	class, surf := Classify(req)
	b := t.l.breaker(surf)
	done, err := b.Allow()
	if err != nil {
		closeBody(req)
		return nil, &OpenError{Surface: surf, State: b.State()}
	}
	release, err := t.l.admit(req.Context(), class)
	if err != nil {
		done(errNotAttempted)
		closeBody(req)
		return nil, err
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		release()
		done(err)
		return nil, err
	}
	t.l.observe(class, resp)
	if resp.StatusCode >= 500 {
		done(errServerStatus)
	} else {
		done(nil)
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// closeBody honours the RoundTripper contract: the request body is closed even when the request is not sent.
func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// releasingBody frees the class slot once the response is consumed.
type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releasingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(b.release)
	}
	return n, err
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}
