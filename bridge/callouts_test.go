package bridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/topology"
)

// newCalloutBridge is a provisioned bridge over real HTTP on a real JetStream server.
func newCalloutBridge(t *testing.T) (*testBridge, jetstream.JetStream) {
	t.Helper()
	b := newTestBridge(t)
	b.provision(t)
	_, js := b.srv.Connect(t)
	return b, js
}

func TestCalloutIsStoredAsItsCloudEventBeforeThe200(t *testing.T) {
	b, js := newCalloutBridge(t)
	a := post(t, b.http.URL, callout{body: invoicePaid("INV-0001"), notificationID: "2c92c0f8-notif-1",
		header: http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}}).
		want(t, http.StatusOK, "authenticated callout")
	if a.body["success"] != true || a.body["id"] != "zuora-notification:2c92c0f8-notif-1" {
		t.Fatalf("answer %s, want success and the event id", a.raw)
	}
	got := stored(t, js)
	if len(got) != 1 {
		t.Fatalf("%d events stored, want 1", len(got))
	}
	ev := got[0]
	key, _ := events.ExtensionString(ev, events.ExtPartitionKey)
	if ev.Type() != events.TypeZuoraInvoicePaid || ev.ID() != "zuora-notification:2c92c0f8-notif-1" ||
		ev.Subject() != "INV-0001" || key != "cust-1" || ev.Source() != DefaultSource ||
		events.Traceparent(ev) != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" {
		t.Fatalf("stored event: type %s id %s subject %s key %s source %s traceparent %q", ev.Type(), ev.ID(),
			ev.Subject(), key, ev.Source(), events.Traceparent(ev))
	}
	p, _ := events.DecodeData(ev)
	if inv := p.(*events.ZuoraInvoice); inv.InvoiceID != "8ad0-INV-0001" || inv.Balance.String() != "0" {
		t.Fatalf("data %+v", inv)
	}
	kv, err := js.KeyValue(t.Context(), topology.BucketCallouts)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(t.Context(), topology.KVKey(ev.ID()))
	if err != nil {
		t.Fatalf("the delivery must be recorded once the stream acknowledged it: %v", err)
	}
	var rec deliveryRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil || rec.Stream != topology.StreamZuora || rec.Sequence != 1 ||
		rec.Type != events.TypeZuoraInvoicePaid || rec.RequestID == "" {
		t.Fatalf("record %s (%v)", e.Value(), err)
	}
	if counter(t, b.Server, "received") != 1 || counter(t, b.Server, "published") != 1 {
		t.Fatal("received and published must count the callout")
	}
}

// The partition key is the Stigg customer when the account carries it, else the account number, else its id.
func TestCalloutPartitionKeyFallsBackToTheAccount(t *testing.T) {
	b, js := newCalloutBridge(t)
	bodies := []string{
		`{"event":"invoice.posted","invoiceNumber":"INV-1","stiggCustomerId":"cust-9","accountNumber":"A-9","accountId":"id-9"}`,
		`{"event":"invoice.posted","invoiceNumber":"INV-2","stiggCustomerId":"","accountNumber":"A-9","accountId":"id-9"}`,
		`{"event":"account.canceled","accountId":"id-9","accountNumber":"","stiggCustomerId":""}`,
		`{"event":"order.scheduled_completed","orderNumber":"O-1","accountNumber":"A-9"}`,
	}
	for _, body := range bodies {
		post(t, b.http.URL, callout{body: []byte(body)}).want(t, http.StatusOK, body)
	}
	want := []struct{ key, subject string }{{"cust-9", "INV-1"}, {"A-9", "INV-2"}, {"id-9", "id-9"}, {"A-9", "O-1"}}
	got := stored(t, js)
	if len(got) != len(want) {
		t.Fatalf("%d stored, want %d", len(got), len(want))
	}
	for i, ev := range got {
		key, _ := events.ExtensionString(ev, events.ExtPartitionKey)
		if key != want[i].key || ev.Subject() != want[i].subject {
			t.Errorf("%s: key %q subject %q, want %q %q", bodies[i], key, ev.Subject(), want[i].key, want[i].subject)
		}
	}
}

// Zuora's callouts are not preemptive: the first attempt has no Authorization and must get the challenge, the
// second carries the credentials.
func TestNonPreemptiveBasicAuth(t *testing.T) {
	b, js := newCalloutBridge(t)
	c := callout{body: invoicePaid("INV-0002"), notificationID: "notif-2", anonymous: true}
	a := post(t, b.http.URL, c).want(t, http.StatusUnauthorized, "first request, no credentials")
	if got := a.header.Get("WWW-Authenticate"); got != `Basic realm="zuora-sync"` {
		t.Fatalf("WWW-Authenticate %q", got)
	}
	if n := len(stored(t, js)); n != 0 {
		t.Fatalf("an unauthenticated callout stored %d events", n)
	}
	c.anonymous = false
	post(t, b.http.URL, c).want(t, http.StatusOK, "second request, with credentials")
	if n := len(stored(t, js)); n != 1 {
		t.Fatalf("%d events stored, want 1", n)
	}
	if counter(t, b.Server, "rejected", reasonChallenge) != 1 || counter(t, b.Server, "rejected", reasonAuth) != 0 {
		t.Fatal("the challenge is counted as such, not as an authentication failure")
	}
}

func TestWrongCredentialsAreRefusedAndNothingIsStored(t *testing.T) {
	b, js := newCalloutBridge(t)
	cases := map[string]callout{
		"wrong password":      {user: testUser, pass: "P"},
		"wrong user":          {user: "U", pass: testPass},
		"password as prefix":  {user: testUser, pass: testPass + testPass},
		"empty password":      {user: testUser, pass: ""},
		"swapped":             {user: testPass, pass: testUser},
		"bearer token":        {anonymous: true, header: http.Header{"Authorization": {"Bearer " + testPass}}},
		"malformed basic":     {anonymous: true, header: http.Header{"Authorization": {"Basic !!!"}}},
		"basic without colon": {anonymous: true, header: http.Header{"Authorization": {"Basic dXA="}}},
	}
	for name, c := range cases {
		c.body, c.notificationID = invoicePaid("INV-0003"), "notif-3"
		a := post(t, b.http.URL, c).want(t, http.StatusUnauthorized, name)
		if a.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no WWW-Authenticate", name)
		}
		if strings.Contains(a.raw, testPass) {
			t.Errorf("%s: the answer %q mentions the password", name, a.raw)
		}
	}
	if n := len(stored(t, js)); n != 0 {
		t.Fatalf("%d events stored with wrong credentials", n)
	}
	if got := counter(t, b.Server, "rejected", reasonAuth); got != float64(len(cases)) {
		t.Fatalf("rejected{auth} = %v, want %d", got, len(cases))
	}
}

func TestBridgeRefusesToRunWithoutCredentials(t *testing.T) {
	b := newTestBridge(t)
	for _, cfg := range []Config{{}, {Username: "u"}, {Password: "p"}} {
		if _, err := New(b.nc, cfg); !errors.Is(err, ErrNoCredentials) {
			t.Fatalf("New(%+v): %v, want ErrNoCredentials", cfg, err)
		}
	}
	open, err := New(b.nc, Config{InsecureNoAuth: true, Registry: b.reg, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	if err := open.Provision(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	open.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, CalloutPath, bytes.NewReader(invoicePaid("INV-OPEN"))))
	if rec.Code != http.StatusOK {
		t.Fatalf("a bridge run open accepts callouts without credentials: %d %s", rec.Code, rec.Body)
	}
}

// A Zuora retry has the same Zuora-Notification-Id and a new Zuora-Request-Id; it is stored once.
func TestRetriedNotificationIsStoredOnce(t *testing.T) {
	b, js := newCalloutBridge(t)
	c := callout{body: invoicePaid("INV-0004"), notificationID: "notif-4"}
	for range 3 {
		post(t, b.http.URL, c).want(t, http.StatusOK, "attempt")
	}
	if n := len(stored(t, js)); n != 1 {
		t.Fatalf("3 attempts of one notification stored %d events", n)
	}
	if counter(t, b.Server, "deduplicated", viaRecord) != 2 || counter(t, b.Server, "published") != 1 {
		t.Fatal("the retries must be answered from the record")
	}

	// A retry whose body changed (Zuora renders the merge fields again: the balance moved) is still the same
	// notification.
	changed := c
	changed.body = bytes.Replace(c.body, []byte(`"100.00"`), []byte(`"100.01"`), 1)
	post(t, b.http.URL, changed).want(t, http.StatusOK, "retry with a re-rendered body")
	if n := len(stored(t, js)); n != 1 {
		t.Fatalf("%d events stored", n)
	}

	// Without the header the body is the identity: the same body once, a different one again.
	anon := callout{body: invoicePaid("INV-0005")}
	post(t, b.http.URL, anon).want(t, http.StatusOK, "no notification id")
	post(t, b.http.URL, anon).want(t, http.StatusOK, "no notification id, retried")
	post(t, b.http.URL, callout{body: invoicePaid("INV-0006")}).want(t, http.StatusOK, "another invoice")
	got := stored(t, js)
	if len(got) != 3 || !strings.HasPrefix(got[1].ID(), contentIDPrefix) || got[1].ID() == got[2].ID() {
		t.Fatalf("%d stored (%v), want 3 with content ids", len(got), ids(got))
	}
	// The content id does not depend on member order or on members Zuora sent empty.
	reordered := []byte(`{"dueDate":"","currency":"USD","invoiceDate":"2026-12-01","status":"Posted","balance":"0",` +
		`"amount":"100.00","invoiceNumber":"INV-0005","invoiceId":"8ad0-INV-0005","stiggCustomerId":"cust-1",` +
		`"accountNumber":"A00000001","accountId":"8ad0-acc","event":"invoice.paid","extra":"x"}`)
	post(t, b.http.URL, callout{body: reordered}).want(t, http.StatusOK, "same content, other order")
	if n := len(stored(t, js)); n != 3 {
		t.Fatalf("%d stored after a reordered retry, want 3", n)
	}
}

// Zuora retries 30 min or more apart, long past JetStream's duplicate window: the record is what answers them.
func TestRetryAfterTheDuplicateWindowIsAnsweredFromTheRecord(t *testing.T) {
	b, js := newCalloutBridge(t)
	// The first attempt was stored 40 minutes ago: its record is there, the stream's dedupe entry is not (a
	// fresh stream has none), so only the record can stop a second copy.
	id := notificationIDPrefix + "notif-old"
	kv, err := js.KeyValue(t.Context(), topology.BucketCallouts)
	if err != nil {
		t.Fatal(err)
	}
	if err := record(t.Context(), kv, id, deliveryRecord{Type: events.TypeZuoraInvoicePaid, Stream: topology.StreamZuora,
		Sequence: 1, Delivered: time.Now().Add(-40 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	post(t, b.http.URL, callout{body: invoicePaid("INV-0007"), notificationID: "notif-old"}).
		want(t, http.StatusOK, "retry after the window")
	if n := len(stored(t, js)); n != 0 {
		t.Fatalf("a recorded callout was stored again (%d events)", n)
	}

	// The other way round: the record is missing (the bridge crashed between the PubAck and the KV write) and
	// the retry comes inside the window: JetStream drops it, and the record is written now.
	c := callout{body: invoicePaid("INV-0008"), notificationID: "notif-crash"}
	post(t, b.http.URL, c).want(t, http.StatusOK, "first attempt")
	key := topology.KVKey(notificationIDPrefix + "notif-crash")
	if err := kv.Delete(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	post(t, b.http.URL, c).want(t, http.StatusOK, "retry without a record")
	if n := len(stored(t, js)); n != 1 {
		t.Fatalf("%d events stored, want 1", n)
	}
	if counter(t, b.Server, "deduplicated", viaStream) != 1 {
		t.Fatal("the stream's duplicate window must have caught the retry")
	}
	if _, err := kv.Get(t.Context(), key); err != nil {
		t.Fatalf("the retry must write the missing record: %v", err)
	}
}

// A hostile Zuora-Notification-Id never becomes a huge id, key or subject.
func TestLongNotificationIDIsHashed(t *testing.T) {
	b, js := newCalloutBridge(t)
	long := strings.Repeat("n", 5<<10)
	for _, h := range []string{long, "with space and ünïcode", "a.b>*c%"} {
		a := post(t, b.http.URL, callout{body: invoicePaid("INV-0009"), notificationID: h}).want(t, http.StatusOK, "odd header")
		if id, _ := a.body["id"].(string); len(id) > 100 || !strings.HasPrefix(id, notificationIDPrefix+"~") {
			t.Fatalf("id %q for header %.20q", id, h)
		}
	}
	post(t, b.http.URL, callout{body: invoicePaid("INV-0009"), notificationID: long}).want(t, http.StatusOK, "retry")
	if n := len(stored(t, js)); n != 3 {
		t.Fatalf("%d stored, want one per distinct header", n)
	}
}

func TestInvalidCalloutIsRefusedWithAReason(t *testing.T) {
	b, js := newCalloutBridge(t)
	cases := map[string]struct{ body, reason string }{
		"not JSON":          {`event=invoice.paid`, "JSON object"},
		"empty":             {``, "JSON object"},
		"array":             {`[{"event":"invoice.paid"}]`, "JSON object"},
		"truncated":         {`{"event":"invoice.paid",`, "malformed JSON"},
		"no event":          {`{"invoiceNumber":"INV-1","accountNumber":"A-1"}`, "event"},
		"unknown event":     {`{"event":"invoice.deleted","invoiceNumber":"INV-1"}`, "invoice.deleted"},
		"no invoice id":     {`{"event":"invoice.paid","accountNumber":"A-1"}`, "invoice"},
		"object member":     {`{"event":"invoice.paid","invoiceNumber":{"x":1}}`, "invoiceNumber"},
		"no ordering key":   {`{"event":"invoice.paid","invoiceNumber":"INV-1"}`, "key"},
		"id too long":       {`{"event":"invoice.paid","invoiceNumber":"` + strings.Repeat("9", 300) + `","accountNumber":"A-1"}`, "255"},
		"member too long":   {`{"event":"invoice.paid","invoiceNumber":"INV-1","accountNumber":"` + strings.Repeat("a", 2000) + `"}`, "1024"},
		"control character": {`{"event":"invoice.paid","invoiceNumber":"INV\u00011","accountNumber":"A-1"}`, "control"},
	}
	for name, tc := range cases {
		a := post(t, b.http.URL, callout{body: []byte(tc.body)}).want(t, http.StatusBadRequest, name)
		reason, _ := a.body["reason"].(string)
		if a.body["success"] != false || !strings.Contains(reason, tc.reason) || len(reason) > maxReason+10 {
			t.Errorf("%s: answer %s, want a reason mentioning %q", name, a.raw, tc.reason)
		}
		if strings.Contains(a.raw, testPass) {
			t.Errorf("%s: the answer mentions the password", name)
		}
	}
	// A reason that would quote a huge member name is cut short.
	a := post(t, b.http.URL, callout{body: []byte(`{"event":"invoice.paid","invoiceNumber":"INV-1","` +
		strings.Repeat("k", 10000) + `":{}}`)}).want(t, http.StatusBadRequest, "huge member name")
	if len(a.raw) > 1000 {
		t.Fatalf("a 400 of %d bytes", len(a.raw))
	}
	if n := len(stored(t, js)); n != 0 {
		t.Fatalf("%d invalid callouts stored", n)
	}
	if got := counter(t, b.Server, "rejected", reasonInvalid); got != float64(len(cases)+1) {
		t.Fatalf("rejected{invalid} = %v", got)
	}
}

// countingBody counts what the handler reads of a body.
type countingBody struct {
	r    io.Reader
	read int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += int64(n)
	return n, err
}
func (c *countingBody) Close() error { return nil }

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestTenMegabyteBodyIs413WithoutReadingIt(t *testing.T) {
	b, js := newCalloutBridge(t)
	const tenMB = 10 << 20
	// Over real HTTP, declared length: refused before the body is read.
	start := time.Now()
	big := bytes.Repeat([]byte("x"), tenMB)
	a := post(t, b.http.URL, callout{body: big}).want(t, http.StatusRequestEntityTooLarge, "10 MB body")
	if a.body["reason"] == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("413 %s after %s", a.raw, time.Since(start))
	}
	// Through the handler, with the length unknown (chunked): it stops reading at the cap.
	for _, declared := range []int64{-1, tenMB} {
		body := &countingBody{r: io.LimitReader(zeros{}, tenMB)}
		req := httptest.NewRequest(http.MethodPost, CalloutPath, nil)
		req.Body, req.ContentLength = body, declared
		req.SetBasicAuth(testUser, testPass)
		rec := httptest.NewRecorder()
		b.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("declared %d: %d %s", declared, rec.Code, rec.Body)
		}
		if body.read > DefaultMaxBodyBytes+64<<10 {
			t.Fatalf("declared %d: the handler read %d bytes of a 10 MB body", declared, body.read)
		}
	}
	// Authentication comes first: without credentials a big body gets the challenge, not a 413.
	post(t, b.http.URL, callout{body: big, anonymous: true}).want(t, http.StatusUnauthorized, "10 MB, no credentials")
	// At the cap exactly it is read (and refused as invalid, being no callout).
	prefix := `{"event":"invoice.paid","invoiceNumber":"INV-1","accountNumber":"A-1","pad":"`
	body := append(append([]byte(prefix), bytes.Repeat([]byte("p"), DefaultMaxBodyBytes-len(prefix)-2)...), `"}`...)
	post(t, b.http.URL, callout{body: body}).want(t, http.StatusBadRequest, "a body of exactly the cap")
	if n := len(stored(t, js)); n != 0 {
		t.Fatalf("%d stored", n)
	}
	if got := counter(t, b.Server, "rejected", reasonTooLarge); got != 3 {
		t.Fatalf("rejected{too_large} = %v, want 3", got)
	}
}

func TestBodyCapIsConfigurable(t *testing.T) {
	srv := natstest.Start(t)
	nc, _ := srv.Connect(t)
	_, hs := servedBridge(t, nc, Config{MaxBodyBytes: 100})
	post(t, hs.URL, callout{body: invoicePaid("INV-0010")}).want(t, http.StatusRequestEntityTooLarge, "over a 100 byte cap")
	post(t, hs.URL, callout{body: []byte(`{"event":"invoice.paid","invoiceNumber":"I","accountNumber":"A"}`)}).
		want(t, http.StatusOK, "under the cap")
}

func ids(evs []event.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.ID())
	}
	return out
}

func TestMetricsCountEveryPath(t *testing.T) {
	b, _ := newCalloutBridge(t)
	post(t, b.http.URL, callout{body: invoicePaid("INV-M"), anonymous: true}).want(t, http.StatusUnauthorized, "challenge")
	post(t, b.http.URL, callout{body: invoicePaid("INV-M"), pass: "x", user: "y"}).want(t, http.StatusUnauthorized, "auth")
	post(t, b.http.URL, callout{body: []byte(`{}`)}).want(t, http.StatusBadRequest, "invalid")
	post(t, b.http.URL, callout{body: invoicePaid("INV-M")}).want(t, http.StatusOK, "published")
	post(t, b.http.URL, callout{body: invoicePaid("INV-M")}).want(t, http.StatusOK, "deduplicated")
	code, body := b.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatal(code)
	}
	for _, want := range []string{
		"zuorasync_bridge_callouts_received_total 5",
		`zuorasync_bridge_callouts_rejected_total{reason="challenge"} 1`,
		`zuorasync_bridge_callouts_rejected_total{reason="auth"} 1`,
		`zuorasync_bridge_callouts_rejected_total{reason="invalid"} 1`,
		`zuorasync_bridge_callouts_rejected_total{reason="too_large"} 0`,
		`zuorasync_bridge_callouts_rejected_total{reason="unavailable"} 0`,
		"zuorasync_bridge_callouts_published_total 1",
		`zuorasync_bridge_callouts_deduplicated_total{via="record"} 1`,
		`zuorasync_bridge_callout_duration_seconds_count{code="200"} 2`,
		`zuorasync_bridge_callout_duration_seconds_count{code="401"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Every callout provisioning sets up in Zuora is accepted and stored as its io.zuora.* type.
func TestEveryProvisionedCalloutIsAccepted(t *testing.T) {
	b, js := newCalloutBridge(t)
	specs := events.CalloutSpecs()
	for i, spec := range specs {
		post(t, b.http.URL, callout{body: sampleCallout(spec, i)}).want(t, http.StatusOK, spec.Type)
	}
	got := stored(t, js)
	if len(got) != len(specs) {
		t.Fatalf("%d stored, want %d", len(got), len(specs))
	}
	for i, ev := range got {
		if ev.Type() != specs[i].Type || ev.Subject() == "" {
			t.Errorf("callout %s stored as %s with subject %q", specs[i].Name, ev.Type(), ev.Subject())
		}
	}
}
