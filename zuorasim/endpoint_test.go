package zuorasim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func serveOnce(t *testing.T, s *Sim, a access, ep endpoint, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	w.Header().Set(hdrRequestID, "req-1")
	s.serve(a, ep)(w, httptest.NewRequest(method, path, nil))
	return w
}

// An endpoint's error is written in the envelope of the request's surface, with that surface's status.
func TestAdapterWritesTheSurfacesEnvelope(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	notFound := func(*http.Request, *store) (reply, *apiError) { return reply{}, errNotFound("account", "A-1") }
	for _, c := range []struct {
		path   string
		status int
		check  func(map[string]any) bool
	}{
		{"/v2/accounts/A-1", 404, func(b map[string]any) bool { return b["type"] == "not_found" && len(b["errors"].([]any)) == 1 }},
		{"/v1/accounts/A-1", 404, func(b map[string]any) bool {
			reasons, _ := b["reasons"].([]any)
			return b["success"] == false && b["requestId"] == "req-1" && len(reasons) == 1
		}},
		{"/v1/object/account/A-1", 404, func(b map[string]any) bool {
			errs, _ := b["Errors"].([]any)
			return b["Success"] == false && len(errs) == 1 && errs[0].(map[string]any)["Code"] == "INVALID_ID"
		}},
		{"/notifications/notification-definitions/x", 404, func(b map[string]any) bool {
			reasons, _ := b["reasons"].([]any)
			return len(reasons) == 1 && reasons[0].(map[string]any)["code"] == "ObjectNotFound"
		}},
	} {
		w := serveOnce(t, s, read, notFound, "GET", c.path)
		var body map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: %v (%s)", c.path, err, w.Body)
		}
		if w.Code != c.status || !c.check(body) || w.Header().Get("Content-Type") == "" {
			t.Errorf("%s: %d %s, want %d in its surface's envelope", c.path, w.Code, w.Body, c.status)
		}
	}
}

// Successful answers carry their status, JSON body and extra headers; 204 has no body; errors carry the
// Retry-After and WWW-Authenticate they ask for; after runs once the store is unlocked.
func TestAdapterWritesStatusBodyAndHeaders(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	w := serveOnce(t, s, write, func(*http.Request, *store) (reply, *apiError) {
		rep := replyCreated(map[string]string{"id": "x"})
		rep.header = http.Header{"X-Extra": {"1"}}
		return rep, nil
	}, "POST", "/v2/accounts")
	if w.Code != 201 || w.Body.String() != `{"id":"x"}` || w.Header().Get("X-Extra") != "1" {
		t.Fatalf("created: %d %q %v", w.Code, w.Body, w.Header())
	}
	w = serveOnce(t, s, write, func(*http.Request, *store) (reply, *apiError) { return reply{status: 204}, nil }, "DELETE", "/v2/x")
	if w.Code != 204 || w.Body.Len() != 0 {
		t.Fatalf("no content: %d %q", w.Code, w.Body)
	}
	w = serveOnce(t, s, read, func(*http.Request, *store) (reply, *apiError) {
		e := errUnauthorized("no token")
		e.challenge = true
		return reply{}, e.after(7)
	}, "GET", "/v2/accounts")
	if w.Code != 401 || w.Header().Get("Retry-After") != "7" || w.Header().Get("WWW-Authenticate") == "" {
		t.Fatalf("error headers: %d %v", w.Code, w.Header())
	}
	ranUnlocked := false
	serveOnce(t, s, write, func(_ *http.Request, st *store) (reply, *apiError) {
		rep := replyOK(map[string]string{})
		rep.after = func() {
			// The lock is free again: a write lock can be taken without deadlocking.
			st.mu.Lock()
			ranUnlocked = true
			st.mu.Unlock()
		}
		return rep, nil
	}, "POST", "/v1/orders")
	if !ranUnlocked {
		t.Fatal("after did not run")
	}
}

// Reads share the store, writes hold it alone, and a panicking endpoint releases it (run with -race).
func TestAdapterLockDiscipline(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	var readers, maxReaders, writers atomic.Int32
	var overlapWithWrite atomic.Bool
	reader := func(*http.Request, *store) (reply, *apiError) {
		n := readers.Add(1)
		defer readers.Add(-1)
		for m := maxReaders.Load(); n > m && !maxReaders.CompareAndSwap(m, n); m = maxReaders.Load() {
		}
		if writers.Load() > 0 {
			overlapWithWrite.Store(true)
		}
		time.Sleep(20 * time.Millisecond)
		return replyOK(map[string]int{}), nil
	}
	writer := func(_ *http.Request, st *store) (reply, *apiError) {
		writers.Add(1)
		defer writers.Add(-1)
		if readers.Load() > 0 {
			overlapWithWrite.Store(true)
		}
		st.accountSeq++ // a write the race detector would flag if the lock did not exclude readers
		time.Sleep(5 * time.Millisecond)
		return replyOK(map[string]int{}), nil
	}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			if i%3 == 0 {
				serveOnce(t, s, write, writer, "POST", "/v2/accounts")
			} else {
				serveOnce(t, s, read, func(r *http.Request, st *store) (reply, *apiError) {
					_ = st.accountSeq
					return reader(r, st)
				}, "GET", "/v2/accounts")
			}
		})
	}
	wg.Wait()
	if maxReaders.Load() < 2 {
		t.Errorf("reads never ran side by side (max %d)", maxReaders.Load())
	}
	if overlapWithWrite.Load() {
		t.Error("a write ran while reads held the store")
	}
	func() {
		defer func() { _ = recover() }()
		serveOnce(t, s, write, func(*http.Request, *store) (reply, *apiError) { panic("bug") }, "POST", "/v2/accounts")
	}()
	done := make(chan struct{})
	go func() { serveOnce(t, s, write, writer, "POST", "/v2/accounts"); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a panicking endpoint left the store locked")
	}
}
