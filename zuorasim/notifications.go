package zuorasim

import (
	"fmt"
	"maps"
	"time"
)

// Notifications: the events a later issue will deliver to the bridge as callouts. The simulator records them
// as they happen; Params are the merge-field values a callout template would send (Zuora names:
// SubscriptionNumber, AccountNumber, InvoiceNumber, ...).
//
// Events: subscription.created, subscription.updated, subscription.canceled (an order changed a subscription;
// Params: SubscriptionNumber, SubscriptionId, SubscriptionVersion, SubscriptionStatus, AccountNumber, AccountId,
// OrderNumber, StiggCustomerId, CancelledDate), invoice.posted (InvoiceNumber, InvoiceId, AccountNumber,
// AccountId, Amount, Balance, Status, Currency), invoice.paid (InvoiceNumber, InvoiceId, AccountNumber,
// PaymentNumber, Amount, Balance), order.scheduled (OrderNumber, AccountNumber, ScheduledDate),
// order.scheduled_completed (OrderNumber, AccountNumber, ScheduledDate, SubscriptionNumbers, Status),
// order.scheduled_failed (OrderNumber, AccountNumber, Reason) and order.cancelled (OrderNumber,
// AccountNumber).

// Notification is one recorded event.
type Notification struct {
	ID     string            `json:"id"`
	Event  string            `json:"event"`
	Time   time.Time         `json:"time"` // simulated time
	Params map[string]string `json:"params"`
}

// notify records an event. Caller holds st.mu for writing.
func (st *store) notify(at time.Time, event string, params map[string]string) {
	id := fmt.Sprintf("N-%08d", len(st.ord.notifications)+1)
	st.ord.notifications = append(st.ord.notifications, Notification{ID: id, Event: event, Time: at, Params: params})
	st.fireCallouts(at, event, params) // callout_changes.go
}

// notifyDefaultPaymentMethod records account.payment_method_changed (AccountId, AccountNumber,
// DefaultPaymentMethodId, PreviousDefaultPaymentMethodId) when the account's default payment method is no longer
// prev. now is the account's RFC 3339 update time. Caller holds st.mu for writing.
func (st *store) notifyDefaultPaymentMethod(now string, a *Account, prev string) {
	if a.DefaultPaymentMethodID == prev {
		return
	}
	at, err := time.Parse(time.RFC3339, now)
	if err != nil {
		at = time.Now().UTC()
	}
	st.notify(at, "account.payment_method_changed", map[string]string{"AccountId": a.ID,
		"AccountNumber": a.AccountNumber, "DefaultPaymentMethodId": a.DefaultPaymentMethodID,
		"PreviousDefaultPaymentMethodId": prev})
}

// Notifications returns the recorded events, oldest first.
func (s *Sim) Notifications() []Notification {
	st := s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make([]Notification, 0, len(st.ord.notifications))
	for _, n := range st.ord.notifications {
		n.Params = maps.Clone(n.Params)
		out = append(out, n)
	}
	return out
}
