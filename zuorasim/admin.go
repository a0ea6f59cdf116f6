package zuorasim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// The admin surface under /_sim/: no auth, no limits, not in the request log. Errors are {"error": "..."}.
func (s *Sim) registerAdminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_sim/state", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.State())
	})
	mux.HandleFunc("GET /_sim/notifications", s.handleAdminNotifications)
	mux.HandleFunc("POST /_sim/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})

	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("POST /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		if err := decodeAdmin(r, &f); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		if err := f.validate(); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"id": s.faults.add(f)})
	})
	mux.HandleFunc("DELETE /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /_sim/faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !s.RemoveFault(r.PathValue("id")) {
			adminError(w, http.StatusNotFound, fmt.Errorf("no fault %q", r.PathValue("id")))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})

	mux.HandleFunc("GET /_sim/clock", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, clockResponse{Now: s.Now()})
	})
	mux.HandleFunc("POST /_sim/clock/advance", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Seconds float64 `json:"seconds"`
		}
		if err := decodeAdmin(r, &body); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		if body.Seconds < 0 {
			adminError(w, http.StatusBadRequest, fmt.Errorf("seconds must not be negative"))
			return
		}
		now := s.Advance(time.Duration(body.Seconds * float64(time.Second)))
		writeJSON(w, http.StatusOK, clockResponse{Now: now})
	})

	mux.HandleFunc("POST /_sim/tokens/expire", func(w http.ResponseWriter, r *http.Request) {
		s.ExpireTokens()
		w.WriteHeader(http.StatusNoContent)
	})

	mux.HandleFunc("GET /_sim/requests", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Requests())
	})
	mux.HandleFunc("DELETE /_sim/requests", func(w http.ResponseWriter, r *http.Request) {
		s.ResetRequests()
		w.WriteHeader(http.StatusNoContent)
	})

	mux.HandleFunc("GET /_sim/limits", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.limits.current())
	})
	mux.HandleFunc("PUT /_sim/limits", func(w http.ResponseWriter, r *http.Request) {
		var l Limits
		if err := decodeAdmin(r, &l); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		s.SetLimits(l)
		writeJSON(w, http.StatusOK, s.limits.current())
	})

	mux.HandleFunc("POST /_sim/custom-fields", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Object string `json:"object"`
			Name   string `json:"name"`
		}
		if err := decodeAdmin(r, &body); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		if body.Object == "" || body.Name == "" {
			adminError(w, http.StatusBadRequest, fmt.Errorf("object and name are required"))
			return
		}
		s.DefineCustomField(body.Object, body.Name)
		w.WriteHeader(http.StatusNoContent)
	})

	mux.HandleFunc("POST /_sim/payment-terms", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Name    string `json:"name"`
			DueDays int    `json:"dueDays"`
		}
		if err := decodeAdmin(r, &body); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		if body.Name == "" || body.DueDays < 0 {
			adminError(w, http.StatusBadRequest, fmt.Errorf("name is required and dueDays must not be negative"))
			return
		}
		writeJSON(w, http.StatusCreated, s.AddPaymentTerm(body.Name, body.DueDays))
	})
}

type clockResponse struct {
	Now time.Time `json:"now"`
}

func (s *Sim) serveAdmin(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) {
	if _, pattern := mux.Handler(r); pattern == "" {
		adminError(w, http.StatusNotFound, fmt.Errorf("no admin route %s %s", r.Method, r.URL.Path))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	mux.ServeHTTP(w, r)
}

func decodeAdmin(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode body: %w", err)
	}
	return nil
}

func adminError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
