package zuorasim

import (
	"errors"
	"fmt"
	"net/http"
)

// A cancelled account (the admin route POST /_sim/accounts/{accountKey}/cancel, Sim.CancelAccount): Zuora cancels
// an account from its UI or the CRUD API, neither of which the simulator serves, so the change is made on purpose.
// The account is disabled (Quickstart enabled false, V1 basicInfo.status Canceled) and account.canceled is recorded
// (an Account UPDATE, Status Active → Canceled, for event triggers).

var (
	errNoSuchAccount   = errors.New("no such account")
	errAccountCanceled = errors.New("the account is canceled already")
)

// CancelAccount cancels the account with this id or number.
func (s *Sim) CancelAccount(key string) error {
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	a := st.lookupAccount(key)
	switch {
	case a == nil:
		return fmt.Errorf("%w: %s", errNoSuchAccount, key)
	case !a.Enabled:
		return fmt.Errorf("%w: %s", errAccountCanceled, a.AccountNumber)
	}
	a.Enabled = false
	a.UpdatedTime, a.UpdatedByID = s.timestamp(), simUserID
	st.notify(s.Now(), "account.canceled", map[string]string{"AccountId": a.ID, "AccountNumber": a.AccountNumber})
	return nil
}

// v1AccountStatus is the account's V1 status.
func v1AccountStatus(a *Account) string {
	if a.Enabled {
		return "Active"
	}
	return "Canceled"
}

func (s *Sim) adminCancelAccount(r *http.Request) (reply, *apiError) {
	err := s.CancelAccount(r.PathValue("accountKey"))
	switch {
	case errors.Is(err, errNoSuchAccount):
		return reply{}, adminError(http.StatusNotFound, err)
	case err != nil:
		return reply{}, adminError(http.StatusConflict, err)
	}
	return reply{status: http.StatusNoContent}, nil
}
