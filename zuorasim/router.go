package zuorasim

import (
	"net/http"
	"strings"
	"time"
)

const (
	hdrRequestID = "Zuora-Request-Id"
	hdrTrackID   = "Zuora-Track-Id"

	maxBodyBytes = 1 << 20
)

func (s *Sim) buildHandler() http.Handler {
	api := http.NewServeMux()
	s.registerRoutes(api)
	admin := http.NewServeMux()
	s.registerAdminRoutes(admin)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_sim/") {
			s.serveAdmin(w, r, admin)
			return
		}
		s.serveZuora(w, r, api)
	})
}

// serveZuora is the middleware chain every Zuora call goes through, in this order: common headers → request
// budget → bearer auth → concurrency slot → fault injection → idempotency → endpoint handler.
func (s *Sim) serveZuora(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) {
	rec := newRecorder(w)
	h := rec.Header()
	reqID := newRequestID()
	h.Set(hdrRequestID, reqID)
	trackID := r.Header.Get(hdrTrackID)
	if trackID != "" {
		h.Set(hdrTrackID, trackID)
	}
	arrived := s.Now()
	started := time.Now()
	defer func() {
		s.reqlog.add(RequestRecord{
			Time: arrived, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: rec.status,
			RequestID: reqID, IdempotencyKey: rec.idemKey, TrackID: trackID, Replayed: rec.replayed,
			Fault: rec.faultID, Traceparent: r.Header.Get("Traceparent"),
		})
		s.log.Debug("zuorasim: request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"replayed", rec.replayed, "duration", time.Since(started))
	}()

	if e := s.pipeline(rec, r, mux); e != nil {
		s.fail(rec, r, e)
	}
}

// pipeline runs a Zuora call through its stages: request budget → bearer auth → concurrency slot → fault
// injection → route → idempotency → endpoint. A stage that refuses the request returns the API error; the caller
// writes it.
func (s *Sim) pipeline(w *recorder, r *http.Request, mux *http.ServeMux) *apiError {
	h := w.Header()
	if r.URL.Path == "/oauth/token" {
		// Token creation has its own AUTH budget and no concurrency limit (Zuora's rate-limit guide).
		setRateHeaders(h, s.limits.peek(s.Now()))
	} else {
		d := s.limits.take(s.Now())
		setRateHeaders(h, d)
		if !d.allowed {
			return errTooManyRequests("the request exceeded the per-minute request limit").after(d.reset)
		}
		if e := s.authenticate(r); e != nil {
			return e
		}
		class := classify(r.Method, r.URL.Path)
		limit, remaining, ok := s.limits.acquire(class)
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			setConcurrencyHeaders(h, class, limit, remaining)
		}
		if !ok {
			return errTooManyRequests("the request exceeded the concurrency limit of type " + class.String()).after(1)
		}
		defer s.limits.release(class)
	}
	next := func(w *recorder, r *http.Request) *apiError { return s.serveRoute(w, r, mux) }
	if f, ok := s.faults.match(r.Method, r.URL.Path); ok {
		return s.applyFault(w, r, f, next)
	}
	return next(w, r)
}

// serveRoute finds the endpoint and runs it under the idempotency rules.
func (s *Sim) serveRoute(w *recorder, r *http.Request, mux *http.ServeMux) *apiError {
	if _, pattern := mux.Handler(r); pattern == "" {
		return s.routeError(r, mux)
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	}
	// mux (not the handler Handler returned) serves the request so that r.PathValue is populated.
	return s.withIdempotency(w, r, mux)
}

// routeError tells "no such path" (404) from "path exists, method does not" (405).
func (s *Sim) routeError(r *http.Request, mux *http.ServeMux) *apiError {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := mux.Handler(probe); p != "" {
			return errMethodNotAllowed(r.Method)
		}
	}
	return errRouteNotFound(r.URL.Path)
}
