package zuoraapi

import (
	"context"
	"net/http"
	"testing"
)

func TestTraceRecordsEveryRequestID(t *testing.T) {
	n := 0
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		n++
		w.Header().Set("Zuora-Request-Id", []string{"", "req-1", "req-2"}[n])
		writeJSON(w, 200, `{"paymentTerms":[]}`)
	})
	c := f.client(t)
	ctx, trace := WithTrace(context.Background())
	for range 2 {
		if _, err := c.ListPaymentTerms(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := trace.RequestIDs(); len(got) != 2 || got[0] != "req-1" || got[1] != "req-2" {
		t.Fatalf("request ids %v, want [req-1 req-2]", got)
	}
	if (*Trace)(nil).RequestIDs() != nil {
		t.Fatal("a nil trace has no ids")
	}
}
