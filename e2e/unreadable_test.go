package e2e

import (
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// Defect 3: Zuora committed the create, but its answer was cut off mid-body or was not JSON. That is an unknown
// outcome: the retry must repeat the same idempotency key (and get the stored answer), never a fresh one that
// would make a second account while Zuora's search has not caught up with the first.
func TestUnreadableCreateAnswerMakesNoSecondAccount(t *testing.T) {
	for name, fault := range map[string]zuorasim.Fault{
		"truncated": {Method: "POST", PathPrefix: "/v2/accounts", Truncate: true, Times: 1},
		"not json":  {Method: "POST", PathPrefix: "/v2/accounts", GarbleBody: true, Times: 1},
	} {
		t.Run(name, func(t *testing.T) {
			// Zuora's search lags behind its writes: a look-before-write cannot save a fresh key here.
			h := newHarnessWith(t, zuorasim.Config{SearchLag: time.Hour})
			h.sim.InjectFault(fault)
			h.startConsumer()
			id := h.customerEvent(events.TypeStiggCustomerCreated, customer("cust-cut", "Cut Off"))
			if typ, out := h.waitOutcome(id, 20*time.Second); typ != events.TypeOutCustomerSynced {
				t.Fatalf("outcome %s %+v, want synced", typ, out)
			}
			if n := len(accountsWithCustomer(h.simState(), "cust-cut")); n != 1 {
				t.Fatalf("%d Zuora accounts for the customer, want 1", n)
			}
			keys := h.idempotencyKeys("POST", "/v2/accounts")
			if len(keys) != 2 || keys[0] != keys[1] {
				t.Fatalf("idempotency keys of the creates: %v, want the same key twice", keys)
			}
		})
	}
}

// idempotencyKeys lists the Idempotency-Key of every request to method and path, in order.
func (h *harness) idempotencyKeys(method, path string) []string {
	var out []string
	for _, r := range h.sim.Requests() {
		if r.Method == method && r.Path == path {
			out = append(out, r.IdempotencyKey)
		}
	}
	return out
}
