package zuorasim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// adminEndpoint is the shape of the /_sim/ admin routes: like an endpoint, but it does not hold the store (the
// simulator methods it calls take their own locks). Errors are {"error": "..."} with the error's status.
type adminEndpoint func(r *http.Request) (reply, *apiError)

// adminRoutes is the admin surface under /_sim/ (documented in docs/CONTRACT.md): no auth, no limits, not in the
// request log.
func (s *Sim) adminRoutes() map[string]adminEndpoint {
	noContent := reply{status: http.StatusNoContent}
	return map[string]adminEndpoint{
		"GET /_sim/state":                             func(*http.Request) (reply, *apiError) { return replyOK(s.State()), nil },
		"GET /_sim/notifications":                     func(*http.Request) (reply, *apiError) { return replyOK(s.Notifications()), nil },
		"POST /_sim/invoices/{invoiceNumber}/pay":     s.adminPayInvoice,
		"POST /_sim/invoices/{invoiceNumber}/decline": s.adminDeclinePayment, // callout_payment_failure.go
		"POST /_sim/accounts/{accountKey}/cancel":     s.adminCancelAccount,  // callout_account_cancel.go
		"GET /_sim/callouts":                          func(*http.Request) (reply, *apiError) { return replyOK(s.CalloutHistory()), nil },
		"POST /_sim/reset":                            func(*http.Request) (reply, *apiError) { s.Reset(); return noContent, nil },
		"GET /_sim/faults":                            func(*http.Request) (reply, *apiError) { return replyOK(s.Faults()), nil },
		"POST /_sim/faults": func(r *http.Request) (reply, *apiError) {
			var f Fault
			if e := decodeAdmin(r, &f); e != nil {
				return reply{}, e
			}
			if err := f.validate(); err != nil {
				return reply{}, adminError(http.StatusBadRequest, err)
			}
			return replyCreated(map[string]string{"id": s.faults.add(f)}), nil
		},
		"DELETE /_sim/faults": func(*http.Request) (reply, *apiError) { s.ClearFaults(); return noContent, nil },
		"DELETE /_sim/faults/{id}": func(r *http.Request) (reply, *apiError) {
			if !s.RemoveFault(r.PathValue("id")) {
				return reply{}, adminError(http.StatusNotFound, fmt.Errorf("no fault %q", r.PathValue("id")))
			}
			return noContent, nil
		},
		"GET /_sim/clock": func(*http.Request) (reply, *apiError) { return replyOK(clockResponse{Now: s.Now()}), nil },
		"POST /_sim/clock/advance": func(r *http.Request) (reply, *apiError) {
			var body struct {
				Seconds float64 `json:"seconds"`
			}
			if e := decodeAdmin(r, &body); e != nil {
				return reply{}, e
			}
			if body.Seconds < 0 {
				return reply{}, adminError(http.StatusBadRequest, fmt.Errorf("seconds must not be negative"))
			}
			return replyOK(clockResponse{Now: s.Advance(time.Duration(body.Seconds * float64(time.Second)))}), nil
		},
		"POST /_sim/tokens/expire": func(*http.Request) (reply, *apiError) { s.ExpireTokens(); return noContent, nil },
		"GET /_sim/requests":       func(*http.Request) (reply, *apiError) { return replyOK(s.Requests()), nil },
		"DELETE /_sim/requests":    func(*http.Request) (reply, *apiError) { s.ResetRequests(); return noContent, nil },
		"GET /_sim/limits":         func(*http.Request) (reply, *apiError) { return replyOK(s.limits.current()), nil },
		"PUT /_sim/limits": func(r *http.Request) (reply, *apiError) {
			var l Limits
			if e := decodeAdmin(r, &l); e != nil {
				return reply{}, e
			}
			s.SetLimits(l)
			return replyOK(s.limits.current()), nil
		},
		"POST /_sim/custom-fields": func(r *http.Request) (reply, *apiError) {
			var body struct {
				Object string `json:"object"`
				Name   string `json:"name"`
			}
			if e := decodeAdmin(r, &body); e != nil {
				return reply{}, e
			}
			if body.Object == "" || body.Name == "" {
				return reply{}, adminError(http.StatusBadRequest, fmt.Errorf("object and name are required"))
			}
			s.DefineCustomField(body.Object, body.Name)
			return noContent, nil
		},
		"POST /_sim/payment-terms": func(r *http.Request) (reply, *apiError) {
			var body struct {
				Name    string `json:"name"`
				DueDays int    `json:"dueDays"`
			}
			if e := decodeAdmin(r, &body); e != nil {
				return reply{}, e
			}
			if body.Name == "" || body.DueDays < 0 {
				return reply{}, adminError(http.StatusBadRequest, fmt.Errorf("name is required and dueDays must not be negative"))
			}
			return replyCreated(s.AddPaymentTerm(body.Name, body.DueDays)), nil
		},
	}
}

func (s *Sim) registerAdminRoutes(mux *http.ServeMux) {
	for pattern, ep := range s.adminRoutes() {
		mux.HandleFunc(pattern, s.serve(unlocked, func(r *http.Request, _ *store) (reply, *apiError) { return ep(r) }))
	}
}

type clockResponse struct {
	Now time.Time `json:"now"`
}

func (s *Sim) serveAdmin(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) {
	if _, pattern := mux.Handler(r); pattern == "" {
		s.fail(w, r, adminError(http.StatusNotFound, fmt.Errorf("no admin route %s %s", r.Method, r.URL.Path)))
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		mux.ServeHTTP(w, r)
	}
}

func decodeAdmin(r *http.Request, v any) *apiError {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return adminError(http.StatusBadRequest, fmt.Errorf("decode body: %w", err))
	}
	return nil
}

// adminError is an admin-surface failure: {"error": err} with status.
func adminError(status int, err error) *apiError {
	return &apiError{status: status, message: err.Error()}
}
