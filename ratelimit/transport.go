package ratelimit

import (
	"io"
	"net/http"
	"sync"
)

// maxRequeues bounds how often one request is queued again after concurrency 429s the limiter answered by
// lowering the class's slots; after that its 429 goes to the caller.
const maxRequeues = 8

// Transport returns a RoundTripper that admits each request through the limiter before handing it to next
// (nil = http.DefaultTransport). Order per request: breaker (fail fast when open), pauses, rate token, the
// class's queue for a slot. The slot is held until the response body is closed or read to the end, so callers
// must close bodies. A concurrency 429 that lowered the class's slots sends the request through the queue again
// (when its body can be replayed: no body, or GetBody set, as http.NewRequest does for in-memory bodies).
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
	for attempt := 0; ; attempt++ {
		done, err := b.Allow()
		if err != nil {
			closeBody(req)
			return nil, &OpenError{Surface: surf, State: b.State()}
		}
		release, inFlight, err := t.l.admit(req.Context(), class)
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
		requeue := t.l.observe(class, resp, inFlight)
		if resp.StatusCode >= 500 {
			done(errServerStatus)
		} else {
			done(nil)
		}
		if requeue && attempt < maxRequeues {
			if again, ok := rewind(req); ok {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
				_ = resp.Body.Close()
				release()
				req = again
				continue
			}
		}
		resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
		return resp, nil
	}
}

// rewind is req ready to be sent again, when its body can be replayed.
func rewind(req *http.Request) (*http.Request, bool) {
	again := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return again, true
	}
	if req.GetBody == nil {
		return nil, false
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, false
	}
	again.Body = body
	return again, true
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
