package zuorasim

import (
	"net/http"
	"strings"
)

// Payment terms come from Zuora's Settings API ("Define Payment Terms"), which is not part of the V1 or Quickstart
// OpenAPI specs in ../shared/zuora-openapi/. The endpoint and the object below are implemented from Zuora's
// documentation of the Settings API and payment terms (net terms: a fixed number of days between invoice date
// and due date; "Due Upon Receipt" is the tenant default): a GET answers a bare JSON array of terms with id,
// name, description, active, useDefault and dueDays. Checked against documentation, not against a spec; the
// field set is the simulator's best reading of it.

// PaymentTerm is a tenant payment term as the Settings API lists it.
type PaymentTerm struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Active      bool   `json:"active"`
	UseDefault  bool   `json:"useDefault"` // the tenant default term
	DueDays     int    `json:"dueDays"`
}

func defaultPaymentTerms() []PaymentTerm {
	terms := []PaymentTerm{
		{Name: "Due Upon Receipt", Description: "Payment is due on the invoice date", DueDays: 0, UseDefault: true},
		{Name: "Net 15", Description: "Payment is due 15 days after the invoice date", DueDays: 15},
		{Name: "Net 30", Description: "Payment is due 30 days after the invoice date", DueDays: 30},
		{Name: "Net 45", Description: "Payment is due 45 days after the invoice date", DueDays: 45},
		{Name: "Net 60", Description: "Payment is due 60 days after the invoice date", DueDays: 60},
		{Name: "Net 90", Description: "Payment is due 90 days after the invoice date", DueDays: 90},
	}
	for i := range terms {
		terms[i].ID = newID()
		terms[i].Active = true
	}
	return terms
}

func (s *Sim) listPaymentTerms(_ *http.Request, st *store) (reply, *apiError) {
	return replyOK(append([]PaymentTerm{}, st.paymentTerms...)), nil
}

// PaymentTerms lists the tenant's payment terms.
func (s *Sim) PaymentTerms() []PaymentTerm {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	return append([]PaymentTerm{}, s.store.paymentTerms...)
}

// AddPaymentTerm defines an extra active net payment term (e.g. "Net 7", 7 days) and returns it.
func (s *Sim) AddPaymentTerm(name string, dueDays int) PaymentTerm {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	t := PaymentTerm{ID: newID(), Name: name, Active: true, DueDays: dueDays}
	s.store.paymentTerms = append(s.store.paymentTerms, t)
	return t
}

// findPaymentTerm returns the active term with this name (case-insensitive) or false. Caller holds st.mu.
func (st *store) findPaymentTerm(name string) (PaymentTerm, bool) {
	for _, t := range st.paymentTerms {
		if t.Active && strings.EqualFold(t.Name, name) {
			return t, true
		}
	}
	return PaymentTerm{}, false
}

// defaultPaymentTerm is the term accounts get when they name none. Caller holds st.mu.
func (st *store) defaultPaymentTerm() string {
	for _, t := range st.paymentTerms {
		if t.UseDefault {
			return t.Name
		}
	}
	return "Due Upon Receipt"
}
