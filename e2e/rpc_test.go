package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/zuora-sync/zuora-sync/rpc"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

type rpcReply struct {
	Error  *rpc.Error `json:"error"`
	Status string
	Raw    []byte
}

func (h *harness) request(subject string, body any, timeout time.Duration, header nats.Header) rpcReply {
	h.t.Helper()
	b, _ := json.Marshal(body)
	msg := &nats.Msg{Subject: subject, Data: b, Header: header}
	resp, err := h.nc.RequestMsg(msg, timeout)
	if err != nil {
		h.t.Fatalf("request %s: %v (a request must never go unanswered)", subject, err)
	}
	var r rpcReply
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		h.t.Fatalf("reply to %s is not JSON: %v: %s", subject, err, resp.Data)
	}
	r.Status, r.Raw = resp.Header.Get("Nats-Service-Error-Code"), resp.Data
	return r
}

// waitRPC waits until the consumer's request/reply service lists both endpoints in its discovery answer: the
// service starts with the consumer's Run, and a request sent before its endpoints subscribe finds no responder.
func (h *harness) waitRPC() {
	h.t.Helper()
	subject, err := micro.ControlSubject(micro.InfoVerb, "zuorasync", "")
	if err != nil {
		h.t.Fatal(err)
	}
	h.eventually(10*time.Second, "the rpc service and its endpoints", func() bool {
		resp, err := h.nc.Request(subject, nil, time.Second)
		if err != nil {
			return false
		}
		var info micro.Info
		if err := json.Unmarshal(resp.Data, &info); err != nil {
			h.t.Fatalf("service info: %v: %s", err, resp.Data)
		}
		have := map[string]bool{}
		for _, e := range info.Endpoints {
			have[e.Subject] = true
		}
		return have[rpc.SubjectOrderPreview] && have[rpc.SubjectNextInvoice]
	})
}

func TestPreviewErrorsAreJSONWithACode(t *testing.T) {
	h := newHarness(t)
	h.startConsumer()
	h.waitRPC()

	r := h.request(rpc.SubjectOrderPreview, map[string]any{"subscription": map[string]any{"planId": "p"}}, 5*time.Second, nil)
	if r.Error == nil || r.Error.Code != "bad_request" || r.Status != "400" || r.Error.Retryable {
		t.Fatalf("invalid preview request: %+v %s", r.Error, r.Raw)
	}
	r = h.request(rpc.SubjectNextInvoice, map[string]any{}, 5*time.Second, nil)
	if r.Error == nil || r.Error.Code != "bad_request" {
		t.Fatalf("missing subscriptionId: %s", r.Raw)
	}
	r = h.request(rpc.SubjectNextInvoice, map[string]any{"subscriptionId": "nope"}, 5*time.Second, nil)
	if r.Error == nil || r.Error.Code != "not_found" || r.Status != "404" {
		t.Fatalf("unknown subscription: %s", r.Raw)
	}
	r = h.request(rpc.SubjectOrderPreview, map[string]any{"subscription": map[string]any{
		"subscriptionId": "s1", "customerId": "c1", "planId": "plan-unsynced", "billingPeriod": "MONTHLY", "startDate": "2026-12-01",
	}}, 5*time.Second, nil)
	if r.Error == nil || r.Error.Code != "not_synced" || !r.Error.Retryable {
		t.Fatalf("preview of a plan not in Zuora yet: %s", r.Raw)
	}
}

func TestPreviewAnswersBeforeTheCallersDeadlineWhenZuoraHangs(t *testing.T) {
	h := newHarness(t)
	h.startConsumer()
	h.waitRPC()
	h.sim.InjectFault(zuorasim.Fault{PathPrefix: "/v1/subscriptions", Hang: true, Probability: 1})
	start := time.Now()
	r := h.request(rpc.SubjectNextInvoice, map[string]any{"subscriptionId": "s1"}, 2*time.Second,
		nats.Header{rpc.HeaderTimeout: {"1s"}})
	if elapsed := time.Since(start); elapsed > 1900*time.Millisecond {
		t.Fatalf("answered after %s; the caller allowed 1s", elapsed)
	}
	if r.Error == nil || r.Error.Code != "timeout" || !r.Error.Retryable {
		t.Fatalf("a hung Zuora must give a retryable timeout error: %s", r.Raw)
	}
}
