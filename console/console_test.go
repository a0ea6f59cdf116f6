package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/consumer"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/idmap"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/topology"
)

type fixture struct {
	js  jetstream.JetStream
	srv *httptest.Server
	c   *Console
	ids *idmap.Store
}

func newFixture(t *testing.T, mutate func(*Config)) *fixture {
	t.Helper()
	ns := natstest.Start(t)
	_, js := ns.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	topo := topology.Default()
	topo.Partitions = 2
	if err := topology.EnsureStreams(ctx, js, topo); err != nil {
		t.Fatal(err)
	}
	buckets, err := topology.EnsureBuckets(ctx, js, topo)
	if err != nil {
		t.Fatal(err)
	}
	ids := idmap.New(buckets.IDs)
	cfg := Config{Addr: "127.0.0.1:0", JS: js, IDs: ids, Topology: topo}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	return &fixture{js: js, srv: srv, c: c, ids: ids}
}

// deadLetter builds a DLQ entry the way the runtime writes it (consumer/settle.go): the original CloudEvent's
// headers and body, plus the Zuorasync-Dlq-* headers and the origin.
func deadLetter(t testing.TB, typ, key, subject string, data any, origin string) *nats.Msg {
	t.Helper()
	ev, err := events.New(typ, "test", subject, key, data)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(typ, ".")
	published := events.Subject(parts[1], parts[2], parts[3], key)
	in, err := events.ToMsg(published, ev)
	if err != nil {
		t.Fatal(err)
	}
	out := nats.NewMsg(topology.PrefixDLQ + "." + published)
	out.Header = in.Header
	out.Header.Set(consumer.HeaderDLQReason, "zuora POST /v1/accounts: validation (HTTP 400) code 53100020: bad currency")
	out.Header.Set(consumer.HeaderDLQClass, consumer.DLQPermanent)
	out.Header.Set(consumer.HeaderDLQStream, topology.StreamStigg)
	out.Header.Set(consumer.HeaderDLQSeq, "7")
	out.Header.Set(consumer.HeaderDLQSubject, published)
	out.Header.Set(consumer.HeaderDLQAttempts, "1")
	out.Header.Set(consumer.HeaderDLQTime, time.Now().UTC().Format(time.RFC3339Nano))
	out.Header.Set(consumer.HeaderOrigin, origin)
	out.Data = in.Data
	return out
}

func publish(t testing.TB, js jetstream.JetStream, msgs ...*nats.Msg) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i, m := range msgs {
		if _, err := js.PublishMsgAsync(m); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		t.Fatal("async publishes not acknowledged")
	}
}

func customerEntry(t testing.TB, i int) *nats.Msg {
	id := fmt.Sprintf("cust-%d", i)
	return deadLetter(t, events.TypeStiggCustomerCreated, id, id,
		map[string]any{"customerId": id, "name": "Customer " + strconv.Itoa(i), "currency": "USD"},
		fmt.Sprintf("STIGG/1/%d", i+1))
}

func (f *fixture) get(t testing.TB, path string) (int, string) {
	t.Helper()
	return f.do(t, http.MethodGet, path, nil, "")
}

func (f *fixture) do(t testing.TB, method, path string, form url.Values, user string) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != "" {
		u, p, _ := strings.Cut(user, ":")
		req.SetBasicAuth(u, p)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var (
	rowSeq    = regexp.MustCompile(`<tr data-seq="(\d+)">`)
	csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	nextPage  = regexp.MustCompile(`id="next-page" href="([^"]+)"`)
)

func seqsOf(page string) []uint64 {
	var out []uint64
	for _, m := range rowSeq.FindAllStringSubmatch(page, -1) {
		n, _ := strconv.ParseUint(m[1], 10, 64)
		out = append(out, n)
	}
	return out
}

func csrfOf(t testing.TB, page string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no csrf input on the page")
	}
	return m[1]
}

func TestNonLoopbackAddressNeedsCredentials(t *testing.T) {
	_, err := New(Config{Addr: "0.0.0.0:8090"})
	if !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("a console on 0.0.0.0 without credentials: err %v, want ErrNoCredentials", err)
	}
	if _, err := New(Config{Addr: ":8090"}); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("a console on every interface without credentials: err %v, want ErrNoCredentials", err)
	}
	for _, addr := range []string{"127.0.0.1:8090", "[::1]:8090", "localhost:8090"} {
		if !IsLoopback(addr) {
			t.Errorf("%s is loopback", addr)
		}
	}

	f := newFixture(t, func(c *Config) { c.Addr, c.Username, c.Password = "10.0.0.5:8090", "ops", "s3cret" })
	for _, path := range []string{"/", "/dlq", "/dlq/1", "/parked", "/entity?id=x"} {
		for _, user := range []string{"", "ops:wrong", "other:s3cret"} {
			req, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
			if user != "" {
				u, p, _ := strings.Cut(user, ":")
				req.SetBasicAuth(u, p)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Fatalf("GET %s as %q: %d, WWW-Authenticate %q; want 401 with a Basic challenge", path, user,
					resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		}
	}
	if code, _ := f.do(t, http.MethodPost, "/dlq/redrive", url.Values{"seq": {"1"}}, ""); code != http.StatusUnauthorized {
		t.Fatalf("POST without credentials: %d, want 401", code)
	}
	code, body := f.do(t, http.MethodGet, "/", nil, "ops:s3cret")
	if code != http.StatusOK || !strings.Contains(body, "<h1>Overview</h1>") {
		t.Fatalf("GET / with credentials: %d\n%s", code, body)
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t, nil)
	resp, err := http.Get(f.srv.URL + "/dlq")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for h, want := range map[string]string{"X-Frame-Options": "DENY", "Cache-Control": "no-store",
		"X-Content-Type-Options": "nosniff"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") ||
		!strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
}

func TestRedriveNeedsTheCSRFToken(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Username, c.Password = "ops", "pw" })
	publish(t, f.js, customerEntry(t, 1))
	for name, form := range map[string]url.Values{
		"missing": {"seq": {"1"}},
		"wrong":   {"seq": {"1"}, "csrf": {"forged"}},
	} {
		code, body := f.do(t, http.MethodPost, "/dlq/redrive", form, "ops:pw")
		if code != http.StatusForbidden {
			t.Fatalf("csrf %s: %d, want 403\n%s", name, code, body)
		}
	}
	if _, err := consumer.GetDeadLetter(context.Background(), f.js, 1); err != nil {
		t.Fatalf("a refused redrive must leave the entry: %v", err)
	}
	// Another user's token is not this user's.
	_, page := f.do(t, http.MethodGet, "/dlq", nil, "ops:pw")
	token := csrfOf(t, page)
	other := newFixture(t, func(c *Config) { c.Username, c.Password = "ops", "pw" })
	if code, _ := other.do(t, http.MethodPost, "/dlq/redrive", url.Values{"seq": {"1"}, "csrf": {token}}, "ops:pw"); code != http.StatusForbidden {
		t.Fatalf("a token of another process: %d, want 403", code)
	}
	// GET cannot redrive.
	if code, _ := f.do(t, http.MethodGet, "/dlq/redrive?seq=1&csrf="+url.QueryEscape(token), nil, "ops:pw"); code == http.StatusOK {
		if _, err := consumer.GetDeadLetter(context.Background(), f.js, 1); err != nil {
			t.Fatal("a GET redrove an entry")
		}
	}
}

func TestRedrivePutsTheEntryBackOnItsSubject(t *testing.T) {
	f := newFixture(t, nil)
	publish(t, f.js, customerEntry(t, 1), customerEntry(t, 2))
	_, page := f.get(t, "/dlq")
	code, body := f.do(t, http.MethodPost, "/dlq/redrive", url.Values{"seq": {"2"}, "csrf": {csrfOf(t, page)}}, "")
	if code != http.StatusOK || !strings.Contains(body, `<p class="flash">redrove 1 of 1 selected</p>`) {
		t.Fatalf("redrive: %d\n%s", code, body)
	}
	// Redriving it again: it is gone, and the page says so.
	_, again := f.do(t, http.MethodPost, "/dlq/redrive", url.Values{"seq": {"2"}, "csrf": {csrfOf(t, page)}}, "")
	if !strings.Contains(again, "redrove 0 of 1") || !strings.Contains(again, "1 of the selected entries were no longer in the DLQ") {
		t.Fatalf("second redrive of entry 2:\n%s", again)
	}
	if got := seqsOf(body); len(got) != 1 || got[0] != 1 {
		t.Fatalf("DLQ after redriving entry 2: %v, want [1]", got)
	}
	ctx := context.Background()
	if _, err := consumer.GetDeadLetter(ctx, f.js, 2); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Fatalf("entry 2 after its redrive: %v, want gone", err)
	}
	s, err := f.js.Stream(ctx, topology.StreamStigg)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(ctx, "stigg.customer.created.cust-2.*")
	if err != nil {
		t.Fatalf("the redriven event is not on its input subject: %v", err)
	}
	if m.Header.Get(consumer.HeaderOrigin) != "STIGG/1/3" || m.Header.Get(consumer.HeaderDLQReason) != "" {
		t.Fatalf("redriven copy: origin %q, DLQ reason %q; want the origin kept and the DLQ headers dropped",
			m.Header.Get(consumer.HeaderOrigin), m.Header.Get(consumer.HeaderDLQReason))
	}
}

func TestSupersededEntryIsKeptUntilForced(t *testing.T) {
	f := newFixture(t, nil)
	publish(t, f.js, customerEntry(t, 1))
	ctx := context.Background()
	kv, err := f.js.KeyValue(ctx, topology.BucketApplied)
	if err != nil {
		t.Fatal(err)
	}
	// The guard's record: the customer applied an event newer (origin seq 50) than the dead letter's (2).
	rec := map[string]any{"applied": map[string]any{"customer/cust-1": map[string]any{
		"origin": "STIGG/1/50", "eventId": "newer", "at": time.Now().UTC()}}}
	b, _ := json.Marshal(rec)
	if _, err := kv.Put(ctx, topology.StreamStigg+"."+topology.KVKey("cust-1"), b); err != nil {
		t.Fatal(err)
	}
	_, page := f.get(t, "/dlq")
	token := csrfOf(t, page)
	code, body := f.do(t, http.MethodPost, "/dlq/redrive", url.Values{"seq": {"1"}, "csrf": {token}}, "")
	if code != http.StatusOK || !strings.Contains(body, "redrove 0 of 1") ||
		!regexp.MustCompile(`<p class="flash">Entry 1 \([^)]*\) was kept: [^<]*force`).MatchString(body) {
		t.Fatalf("redrive of a superseded entry: %d\n%s", code, body)
	}
	if _, err := consumer.GetDeadLetter(ctx, f.js, 1); err != nil {
		t.Fatalf("the superseded entry must stay: %v", err)
	}
	code, body = f.do(t, http.MethodPost, "/dlq/redrive", url.Values{"seq": {"1"}, "force": {"1"}, "csrf": {token}}, "")
	if code != http.StatusOK || !strings.Contains(body, "redrove 1 of 1") {
		t.Fatalf("forced redrive: %d\n%s", code, body)
	}
	if _, err := consumer.GetDeadLetter(ctx, f.js, 1); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Fatalf("the forced entry must leave the DLQ: %v", err)
	}
}

func TestPagingOverFiveThousandEntriesReadsOnlyThePage(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxExamined = 1000 })
	const n = 5000
	msgs := make([]*nats.Msg, n)
	for i := range msgs {
		msgs[i] = customerEntry(t, i+1)
	}
	publish(t, f.js, msgs...)

	start := time.Now()
	code, body := f.get(t, "/dlq")
	first := time.Since(start)
	if code != http.StatusOK || !strings.Contains(body, "<h1>Dead letters</h1>") {
		t.Fatalf("first page: %d\n%s", code, body)
	}
	got := seqsOf(body)
	if len(got) != 50 || got[0] != 1 || got[49] != 50 {
		t.Fatalf("first page: %d rows %v…, want seqs 1..50", len(got), got[:min(len(got), 3)])
	}
	next := nextPage.FindStringSubmatch(body)
	if next == nil || !strings.Contains(next[1], "after=50") {
		t.Fatalf("first page's next link: %v", next)
	}
	start = time.Now()
	_, body = f.get(t, "/dlq?after=4000&limit=100")
	later := time.Since(start)
	got = seqsOf(body)
	if len(got) != 100 || got[0] != 4001 || got[99] != 4100 {
		t.Fatalf("page after 4000: %d rows, want seqs 4001..4100", len(got))
	}
	_, body = f.get(t, "/dlq?after=4990")
	if got = seqsOf(body); len(got) != 10 || got[9] != n || nextPage.MatchString(body) {
		t.Fatalf("last page: %v (next link %v), want 4991..5000 and no next page", got, nextPage.MatchString(body))
	}
	start = time.Now()
	if code, body := f.get(t, "/"); code != http.StatusOK || !strings.Contains(body, "5000 in the DLQ") {
		t.Fatalf("overview: %d\n%s", code, body)
	}
	overview := time.Since(start)
	start = time.Now()
	if _, body := f.get(t, "/entity?id=cust-4999"); !strings.Contains(body, `href="/dlq/4999"`) {
		t.Fatalf("entity page of cust-4999 does not link its entry")
	}
	entity := time.Since(start)
	t.Logf("5000 entries: first page %s, page after 4000 (100 rows) %s, overview %s, entity %s", first, later, overview, entity)
	for name, d := range map[string]time.Duration{"first page": first, "later page": later, "overview": overview, "entity": entity} {
		if d > 2*time.Second {
			t.Errorf("%s took %s: pages must not depend on the DLQ's size", name, d)
		}
	}

	// What the page read: the page and one entry more, never the rest of the DLQ.
	ctx := context.Background()
	page, err := consumer.PageDLQ(ctx, f.js, consumer.DLQFilter{}, 2500, 50)
	if err != nil {
		t.Fatal(err)
	}
	if page.Examined != 51 || page.Next != 2550 || page.Entries[0].Seq != 2501 || page.Total != n {
		t.Fatalf("page after 2500: examined %d, next %d, first %d, total %d; want 51, 2550, 2501, 5000",
			page.Examined, page.Next, page.Entries[0].Seq, page.Total)
	}
	start = time.Now()
	all, err := consumer.ListDLQ(ctx, f.js, "", 0)
	if err != nil || len(all) != n {
		t.Fatalf("ListDLQ: %d entries, %v", len(all), err)
	}
	t.Logf("for comparison, ListDLQ (the CLI's full read, one get per entry) of 5000 entries: %s", time.Since(start))
	// A filter matching nothing stops at the bound and says so.
	_, body = f.get(t, "/dlq?reason=no-such-reason")
	if !strings.Contains(body, `id="bounded"`) || !strings.Contains(body, "examining 1000 entries") ||
		!strings.Contains(body, "after=1000") {
		t.Fatalf("a filtered page over 5000 entries must stop at the bound (1000) and continue from there:\n%s", body)
	}
	// A filter by customer finds its entry deep in the DLQ by paging on.
	_, body = f.get(t, "/dlq?customer=cust-4321&after=4000")
	if got = seqsOf(body); len(got) != 1 || got[0] != 4321 {
		t.Fatalf("customer filter: %v, want [4321]", got)
	}
	// A type filter narrows the subject: the server skips what does not match.
	_, body = f.get(t, "/dlq?type=io.stigg.subscription.created")
	if got = seqsOf(body); len(got) != 0 || strings.Contains(body, `id="bounded"`) {
		t.Fatalf("type filter: %v", got)
	}
}

func TestEntityViewFindsDeadLettersByCustomerID(t *testing.T) {
	// A scan bound of 10 (51 with the page): the 100 entries published later hide the first ones from it.
	f := newFixture(t, func(c *Config) { c.MaxExamined = 10 })
	sub := deadLetter(t, events.TypeStiggSubscriptionCreated, "cust-9", "sub-1",
		map[string]any{"subscriptionId": "sub-1", "customerId": "cust-9", "planId": "plan-pro"}, "STIGG/1/3")
	publish(t, f.js, customerEntry(t, 1), sub, customerEntry(t, 9))
	ctx := context.Background()
	if err := f.ids.Put(ctx, "customer", &idmap.Entry{StiggID: "cust-9", ZuoraID: "acc-9", ZuoraNumber: "A-9"}); err != nil {
		t.Fatal(err)
	}
	code, body := f.get(t, "/entity?id=cust-9")
	if code != http.StatusOK || !strings.Contains(body, "<h1>Entity</h1>") || !strings.Contains(body, `id="entity-search"`) {
		t.Fatalf("entity page: %d\n%s", code, body)
	}
	dlq := body[strings.Index(body, `id="entity-dlq"`):]
	if !strings.Contains(dlq, `href="/dlq/2"`) || !strings.Contains(dlq, `href="/dlq/3"`) || strings.Contains(dlq, `href="/dlq/1"`) {
		t.Fatalf("entity-dlq of cust-9 must link entries 2 (its subscription) and 3 (the customer) only:\n%s", dlq)
	}
	idm := body[strings.Index(body, `id="idmap"`):]
	if !strings.Contains(idm, "acc-9") || !strings.Contains(idm, "A-9") {
		t.Fatalf("idmap table: %s", idm)
	}
	// By the subscription's id: its CloudEvent subject.
	_, body = f.get(t, "/entity?id=sub-1")
	if dlq := body[strings.Index(body, `id="entity-dlq"`):]; !strings.Contains(dlq, `href="/dlq/2"`) {
		t.Fatalf("entity-dlq of sub-1: %s", dlq)
	}
	_, body = f.get(t, "/dlq?customer=cust-9")
	if got := seqsOf(body); len(got) != 2 || got[0] != 2 || got[1] != 3 {
		t.Fatalf("dlq?customer=cust-9: %v, want [2 3]", got)
	}

	// Far behind newer entries (beyond the bounded scan), entries keyed by the id are still found: by subject.
	filler := make([]*nats.Msg, 100)
	for i := range filler {
		filler[i] = customerEntry(t, 100+i)
	}
	publish(t, f.js, filler...)
	// Its events and outcomes, read by subject filter on the key token.
	ev, err := events.New(events.TypeStiggCustomerUpdated, "test", "cust-9", "cust-9", map[string]any{"customerId": "cust-9", "name": "Nine"})
	if err != nil {
		t.Fatal(err)
	}
	in, _ := events.ToMsg(events.Subject("stigg", "customer", "updated", "cust-9"), ev)
	out, err := events.NewOutcome("test", ev, "customer", events.ResultSynced, events.Outcome{StiggID: "cust-9",
		SourceEventID: ev.ID(), Action: "updated", Zuora: map[string]string{"accountId": "acc-9"}})
	if err != nil {
		t.Fatal(err)
	}
	outMsg, _ := events.ToMsg(events.OutcomeSubject("customer", events.ResultSynced, "cust-9"), out)
	other, _ := events.ToMsg(events.Subject("stigg", "customer", "updated", "cust-10"), ev)
	publish(t, f.js, in, outMsg, other)

	_, body = f.get(t, "/entity?id=cust-9")
	dlq = body[strings.Index(body, `id="entity-dlq"`):]
	if !strings.Contains(dlq, `href="/dlq/2"`) || !strings.Contains(dlq, `href="/dlq/3"`) {
		t.Fatalf("entity-dlq of cust-9 behind 100 newer entries:\n%s", dlq)
	}
	evs := body[strings.Index(body, `id="events"`):strings.Index(body, `id="entity-dlq"`)]
	if strings.Count(evs, "<tr><td>") != 2 || !strings.Contains(evs, "io.stigg.customer.updated") ||
		!strings.Contains(evs, "io.zuorasync.customer.synced") || !strings.Contains(evs, "accountId=acc-9") {
		t.Fatalf("events of cust-9 (its event and its outcome, not cust-10's):\n%s", evs)
	}
}

func TestSecretsAndCardDataAreNeverRendered(t *testing.T) {
	f := newFixture(t, nil)
	card := deadLetter(t, events.TypeStiggCustomerUpdated, "cust-1", "cust-1",
		map[string]any{"customerId": "cust-1", "payment": map[string]any{"cardNumber": "4111 1111 1111 1111", "cvc": "123"},
			"note": "card 5555555555554444 on file", "apiKey": "sk_live_abcdef"}, "STIGG/1/2")
	card.Header.Set("Authorization", "Bearer top-secret-token")
	card.Header.Set("X-Callout-Signature", "sig-value-123")
	withheldEntry := deadLetter(t, events.TypeStiggCustomerUpdated, "cust-2", "cust-2",
		map[string]any{"customerId": "cust-2"}, "STIGG/1/3")
	withheldEntry.Data = []byte(`{"withheld":"the event body was not stored: it carried data zuora-sync must not keep"}`)
	publish(t, f.js, card, withheldEntry)

	code, body := f.get(t, "/dlq/1")
	if code != http.StatusOK || !strings.Contains(body, "<h1>Dead letter 1</h1>") || !strings.Contains(body, `<pre id="body">`) ||
		!strings.Contains(body, `id="headers"`) {
		t.Fatalf("entry page: %d\n%s", code, body)
	}
	for _, secret := range []string{"4111 1111 1111 1111", "4111111111111111", "5555555555554444", "top-secret-token",
		"sk_live_abcdef", "sig-value-123", `"cvc": "123"`} {
		if strings.Contains(body, secret) {
			t.Errorf("entry page renders %q", secret)
		}
	}
	if !strings.Contains(body, "cust-1") || !strings.Contains(body, "masked") {
		t.Errorf("the entry page should still show the rest, with masks:\n%s", body)
	}
	_, body = f.get(t, "/dlq/2")
	if !strings.Contains(body, `<pre id="body">(withheld`) {
		t.Fatalf("a withheld body must say so:\n%s", body)
	}
	if code, _ := f.get(t, "/dlq/99"); code != http.StatusNotFound {
		t.Fatalf("a missing entry: %d, want 404", code)
	}
}

func TestEveryPageRenders(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Reconcile = true })
	publish(t, f.js, customerEntry(t, 1))
	ctx := context.Background()
	kv, err := f.js.KeyValue(ctx, topology.BucketParked)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "subscription.sub-7", []byte(`["ev-7","ev-8"]`)); err != nil {
		t.Fatal(err)
	}
	for path, hooks := range map[string][]string{
		"/":            {"<h1>Overview</h1>", `id="partitions"`, `id="dlq-summary"`, `id="parked-summary"`, `id="zuora"`, `id="reconcile"`},
		"/dlq":         {"<h1>Dead letters</h1>", `id="dlq-filter"`, `name="type"`, `name="reason"`, `name="customer"`, `id="dlq"`, `<tr data-seq="1">`, `<input type="checkbox" name="seq" value="1"`, `<a href="/dlq/1">`, `id="redrive-form"`, `action="/dlq/redrive"`, `name="force" value="1"`, `id="redrive"`},
		"/dlq/1":       {"<h1>Dead letter 1</h1>", `id="headers"`, `<pre id="body">`, `id="redrive-form"`, `name="seq" value="1"`},
		"/parked":      {"<h1>Parked</h1>", `id="parked"`, "subscription.sub-7", "ev-7", "ev-8"},
		"/entity":      {"<h1>Entity</h1>", `id="entity-search"`, `name="id"`},
		"/entity?id=x": {`id="idmap"`, `id="events"`, `id="entity-dlq"`},
	} {
		code, body := f.get(t, path)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, code, body)
		}
		for _, h := range hooks {
			if !strings.Contains(body, h) {
				t.Errorf("GET %s: no %s", path, h)
			}
		}
	}
}

func TestWithoutCredentialsOnlyLoopbackHostNamesAreServed(t *testing.T) {
	f := newFixture(t, nil)
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/dlq", nil)
	req.Host = "attacker.example:8090" // a rebound DNS name pointing at 127.0.0.1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("Host attacker.example: %d, want 421", resp.StatusCode)
	}
	for _, host := range []string{"localhost:8090", "127.0.0.1:8090", "[::1]:8090"} {
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/dlq", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("Host %s: %d, want 200", host, resp.StatusCode)
		}
	}
}
