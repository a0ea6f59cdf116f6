package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/topology"
)

const (
	testUser = "zuora-callouts"
	testPass = "s3cret-Pa55word"
)

// servedBridge is a provisioned bridge on nc with cfg, the test credentials and a silent logger, served over real
// HTTP until the test ends.
func servedBridge(t *testing.T, nc *nats.Conn, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	cfg.Username, cfg.Password, cfg.Logger = testUser, testPass, discard()
	b, err := New(nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Provision(t.Context()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(b.Handler())
	t.Cleanup(hs.Close)
	return b, hs
}

// invoicePaid is the body Zuora renders from the invoice.paid callout template for one invoice.
func invoicePaid(invoiceNumber string) []byte {
	b, _ := json.Marshal(map[string]string{
		"event": "invoice.paid", "accountId": "8ad0-acc", "accountNumber": "A00000001", "stiggCustomerId": "cust-1",
		"invoiceId": "8ad0-" + invoiceNumber, "invoiceNumber": invoiceNumber, "amount": "100.00", "balance": "0",
		"currency": "USD", "status": "Posted", "invoiceDate": "2026-12-01", "dueDate": "",
	})
	return b
}

// callout is one attempt of Zuora's: the body, its headers, and credentials unless anonymous.
type callout struct {
	body           []byte
	notificationID string // Zuora-Notification-Id; "" sends none
	user, pass     string
	anonymous      bool
	header         http.Header
}

func (c callout) request(t testing.TB, base string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+CalloutPath, bytes.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderRequestID, strings.ReplaceAll(time.Now().Format("150405.000000000"), ".", "")) // new per attempt
	if c.notificationID != "" {
		req.Header.Set(HeaderNotificationID, c.notificationID)
	}
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	if !c.anonymous {
		user, pass := c.user, c.pass
		if user == "" && pass == "" {
			user, pass = testUser, testPass
		}
		req.SetBasicAuth(user, pass)
	}
	return req
}

type answer struct {
	code   int
	header http.Header
	body   map[string]any
	raw    string
}

func post(t testing.TB, base string, c callout) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(c.request(t, base))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{code: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func (a answer) want(t testing.TB, code int, why string) answer {
	t.Helper()
	if a.code != code {
		t.Fatalf("%s: %d %s, want %d", why, a.code, a.raw, code)
	}
	if ct := a.header.Get("Content-Type"); code != http.StatusMethodNotAllowed && ct != "application/json" {
		t.Fatalf("%s: Content-Type %q, want application/json", why, ct)
	}
	return a
}

// stored returns the messages of the ZUORA stream as CloudEvents, in order, checking each is valid.
func stored(t testing.TB, js jetstream.JetStream) []event.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, topology.StreamZuora)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []event.Event
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get %d: %v", seq, err)
		}
		ev := decodeStored(t, m)
		out = append(out, ev)
	}
	return out
}

// decodeStored checks a stored message is a valid CloudEvent of the contract whose data decodes.
func decodeStored(t testing.TB, m *jetstream.RawStreamMsg) event.Event {
	t.Helper()
	ev, err := events.FromMsg(m.Header, m.Data)
	if err != nil {
		t.Fatalf("stored message %d is not a valid CloudEvent: %v", m.Sequence, err)
	}
	if _, err := events.DecodeData(ev); err != nil {
		t.Fatalf("stored event %s: data does not decode: %v", ev.ID(), err)
	}
	if got := m.Header.Get("Nats-Msg-Id"); got != ev.ID() {
		t.Fatalf("Nats-Msg-Id %q, want the event id %q", got, ev.ID())
	}
	subj, err := events.SubjectFor(ev)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.Subject, subj+".") { // the stream's transform appends the partition
		t.Fatalf("stored on %q, want %s.<partition>", m.Subject, subj)
	}
	return ev
}

func counter(t testing.TB, b *Server, name string, labels ...string) float64 {
	t.Helper()
	var c prometheus.Counter
	switch name {
	case "received":
		c = b.m.received
	case "published":
		c = b.m.published
	case "rejected":
		c = b.m.rejected.WithLabelValues(labels...)
	case "deduplicated":
		c = b.m.deduplicated.WithLabelValues(labels...)
	case "recordFailed":
		c = b.m.recordFailed
	default:
		t.Fatalf("no counter %s", name)
	}
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
