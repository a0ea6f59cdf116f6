package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/topology"
)

// sampleCallout renders a spec's calloutParams as Zuora would, with a plausible value for every merge field.
func sampleCallout(spec events.CalloutSpec, n int) []byte {
	body := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(spec.Params)) {
		switch k {
		case events.CalloutEventParam:
			body[k] = spec.Params[k]
		case "amount", "balance":
			body[k] = "12.50"
		case "version":
			body[k] = "2"
		default:
			body[k] = k + "-" + string(rune('a'+n%26))
		}
	}
	b, _ := json.Marshal(body)
	return b
}

// FuzzCalloutHandler feeds arbitrary bodies and header values through the real handler on a real JetStream
// server: it never panics, answers only 200, 400, 401, 413 or 503, and whatever a 200 stored is a valid CloudEvent
// of the contract whose data decodes.
func FuzzCalloutHandler(f *testing.F) {
	srv := natstest.Start(f)
	nc, js := srv.Connect(f)
	topo := topology.Default()
	topo.Partitions = 4
	b, err := New(nc, Config{Username: testUser, Password: testPass, Logger: discard(), Topology: topo, MaxBodyBytes: 4 << 10})
	if err != nil {
		f.Fatal(err)
	}
	if err := b.Provision(context.Background()); err != nil {
		f.Fatal(err)
	}
	kv, err := js.KeyValue(context.Background(), topology.BucketCallouts)
	if err != nil {
		f.Fatal(err)
	}
	st, err := js.Stream(context.Background(), topology.StreamZuora)
	if err != nil {
		f.Fatal(err)
	}
	for i, spec := range events.CalloutSpecs() {
		f.Add(sampleCallout(spec, i), "notif-"+spec.Name, uint8(0), "")
		f.Add(sampleCallout(spec, i), "", uint8(0), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	}
	for _, s := range []string{`{}`, `[]`, `null`, `{"event":"invoice.paid"}`, `{"event":"invoice.paid","invoiceNumber":"I\u0000"}`,
		`{"event":"invoice.paid","invoiceNumber":"I","accountNumber":"a.b*>%"}`, `{"event":1}`, "\xff\xfe", `{"event":"invoice.paid","invoiceNumber":"I","accountId":"x","amount":1e999}`} {
		f.Add([]byte(s), "", uint8(0), "")
	}
	f.Add(sampleCallout(events.CalloutSpecs()[0], 0), "", uint8(1), "")
	f.Add(sampleCallout(events.CalloutSpecs()[0], 0), "x\r\ny", uint8(2), testPass)
	f.Add(sampleCallout(events.CalloutSpecs()[0], 0), "", uint8(3), "Basic "+testPass)
	f.Add(bytes.Repeat([]byte("{"), 5<<10), "", uint8(0), "")

	f.Fuzz(func(t *testing.T, body []byte, notificationID string, auth uint8, extra string) {
		req := httptest.NewRequest(http.MethodPost, CalloutPath, bytes.NewReader(body))
		switch auth % 4 {
		case 0:
			req.SetBasicAuth(testUser, testPass)
		case 1: // none: the challenge
		case 2:
			req.SetBasicAuth(testUser, extra)
		case 3:
			req.Header.Set("Authorization", extra)
		}
		if notificationID != "" {
			req.Header.Set(HeaderNotificationID, notificationID)
		}
		if extra != "" {
			req.Header.Set("Traceparent", extra)
			req.Header.Set(HeaderRequestID, extra)
		}
		rec := httptest.NewRecorder()
		b.Handler().ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		var ans struct {
			Success bool   `json:"success"`
			ID      string `json:"id"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
			t.Fatalf("answer %q is not JSON: %v", rec.Body, err)
		}
		if bytes.Contains(rec.Body.Bytes(), []byte(testPass)) && !bytes.Contains(body, []byte(testPass)) {
			t.Fatalf("the answer quotes the password: %s", rec.Body)
		}
		if rec.Code != http.StatusOK {
			return
		}
		if !ans.Success || ans.ID == "" || len(ans.ID) > events.MaxIDLength {
			t.Fatalf("200 with %s", rec.Body)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e, err := kv.Get(ctx, topology.KVKey(ans.ID))
		if err != nil {
			t.Fatalf("200 for %s without a delivery record: %v", ans.ID, err)
		}
		var dr deliveryRecord
		if err := json.Unmarshal(e.Value(), &dr); err != nil {
			t.Fatal(err)
		}
		m, err := st.GetMsg(ctx, dr.Sequence)
		if err != nil {
			t.Fatalf("record of %s names sequence %d: %v", ans.ID, dr.Sequence, err)
		}
		if ev := decodeStored(t, m); ev.ID() != ans.ID {
			t.Fatalf("sequence %d holds %s, want %s", dr.Sequence, ev.ID(), ans.ID)
		}
	})
}
