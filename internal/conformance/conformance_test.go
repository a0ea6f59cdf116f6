package conformance

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// recordingTB stands in for a test so that reported violations can be inspected instead of failing the test.
type recordingTB struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) reported() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errors...)
}

func newRequest(t *testing.T, method, path, contentType, body string) (*http.Request, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, "http://zuora.test"+path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req, []byte(body)
}

// mustContain fails unless err is non-nil and its message has every fragment.
func mustContain(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected a violation mentioning %q, got none", fragments)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("violation does not mention %q:\n%v", f, err)
		}
	}
}

const validQuickstartAccount = `{
  "name": "Acme Inc",
  "currency": "USD",
  "bill_to": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
  "auto_pay": false,
  "payment_terms": "Net 30",
  "custom_fields": {"stiggCustomerId__c": "customer-1"}
}`

func TestQuickstartCreateAccountRequest(t *testing.T) {
	c := Load(t)

	req, body := newRequest(t, http.MethodPost, "/v2/accounts", "application/json", validQuickstartAccount)
	req.Header.Set("idempotency-key", "zs-0123456789abcdef")
	req.Header.Set("zuora-track-id", "evt-1")
	if err := c.CheckRequest(req, body); err != nil {
		t.Fatalf("valid request rejected:\n%v", err)
	}

	bad := strings.Replace(validQuickstartAccount, `"Acme Inc"`, `123`, 1)
	req, body = newRequest(t, http.MethodPost, "/v2/accounts", "application/json", bad)
	err := c.CheckRequest(req, body)
	mustContain(t, err, "quickstart spec", "POST /v2/accounts", "POST /accounts", `"/name"`, "must be a string")

	missing := `{"name": "Acme Inc", "currency": "USD"}`
	req, body = newRequest(t, http.MethodPost, "/v2/accounts", "application/json", missing)
	mustContain(t, c.CheckRequest(req, body), "bill_to")
}

const validV1Account = `{
  "success": true,
  "basicInfo": {
    "id": "8ad0823f8455bb4001845c7aa2ad1c21",
    "accountNumber": "A00000001",
    "name": "Acme Inc",
    "status": "Active",
    "batch": "Batch1",
    "crmId": "",
    "stiggCustomerId__c": "customer-1"
  },
  "billingAndPayment": {
    "billCycleDay": 1,
    "currency": "USD",
    "paymentTerm": "Due Upon Receipt",
    "autoPay": false,
    "invoiceDeliveryPrefsEmail": false,
    "invoiceDeliveryPrefsPrint": false,
    "additionalEmailAddresses": []
  },
  "metrics": {"balance": "0", "totalInvoiceBalance": "0", "creditBalance": "0", "contractedMrr": "0"},
  "billToContact": {"id": "8ad0823f8455bb4001845c7aa2c71c22", "firstName": "Ada", "lastName": "Lovelace", "country": "United States", "workEmail": "ada@example.com"},
  "soldToContact": {"id": "8ad0823f8455bb4001845c7aa2c71c22", "firstName": "Ada", "lastName": "Lovelace", "country": "United States"}
}`

func TestV1GetAccountResponse(t *testing.T) {
	c := Load(t)
	req, _ := newRequest(t, http.MethodGet, "/v1/accounts/A00000001", "", "")
	if err := c.CheckRequest(req, nil); err != nil {
		t.Fatalf("valid request rejected:\n%v", err)
	}

	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	h.Set("Zuora-Request-Id", "0a3c3e1b-3f6c-4e43-9a4c-9a6b2a1f2c3d")
	if err := c.CheckResponse(req, http.StatusOK, h, []byte(validV1Account)); err != nil {
		t.Fatalf("plausible response rejected:\n%v", err)
	}

	bad := strings.Replace(validV1Account, `"billCycleDay": 1`, `"billCycleDay": "first"`, 1)
	err := c.CheckResponse(req, http.StatusOK, h, []byte(bad))
	mustContain(t, err, "v1 spec", "GET /v1/accounts/{account-key}", "response 200", "billCycleDay")

	// The documented Zuora-Request-Id is exactly 36 characters.
	short := h.Clone()
	short.Set("Zuora-Request-Id", "short")
	mustContain(t, c.CheckResponse(req, http.StatusOK, short, []byte(validV1Account)), "Zuora-Request-Id")

	// GET account documents 200, 4XX and 500: a 4XX body is checked, a 201 is not documented at all.
	notFound := `{"success":false,"processId":"CBCFED6580B4E076","reasons":[{"code":50000040,"message":"Cannot find entity by key: 'A0'."}]}`
	if err := c.CheckResponse(req, http.StatusNotFound, h, []byte(notFound)); err != nil {
		t.Errorf("404 rejected:\n%v", err)
	}
	mustContain(t, c.CheckResponse(req, http.StatusNotFound, h, []byte(`{"success":"no"}`)), "response 404", "success")
	mustContain(t, c.CheckResponse(req, http.StatusCreated, h, []byte(`{}`)), "status is not supported")

	// Adjustment 3: the callout template operations list no 429, yet any call can be rate limited.
	req, _ = newRequest(t, http.MethodGet, "/notifications/callout-templates/abc", "", "")
	if err := c.CheckResponse(req, http.StatusTooManyRequests, http.Header{}, []byte(`{"reasons":[]}`)); err != nil {
		t.Errorf("429 rejected:\n%v", err)
	}
}

func TestRouting(t *testing.T) {
	c := Load(t)

	cases := []struct {
		name, method, path, ctype, body string
		wantErr                         []string // empty: must pass
	}{
		{"oauth token", http.MethodPost, "/oauth/token", "application/x-www-form-urlencoded",
			"client_id=0123456789abcdef0123456789abcdef0123&client_secret=secret&grant_type=client_credentials", nil},
		{"oauth token wrong grant", http.MethodPost, "/oauth/token", "application/x-www-form-urlencoded",
			"client_id=0123456789abcdef0123456789abcdef0123&client_secret=secret&grant_type=password", []string{"grant_type"}},
		{"notifications without /v1", http.MethodGet, "/notifications/callout-templates/abc", "", "", nil},
		{"notifications under /v1", http.MethodGet, "/v1/notifications/callout-templates/abc", "", "", nil},
		{"event triggers under /v1", http.MethodGet, "/v1/events/event-triggers/abc", "", "", nil},
		{"custom object records", http.MethodGet, "/objects/records/default/stigg_plan", "", "", nil},
		{"quickstart usage records", http.MethodGet, "/v2/usage_records/abc", "", "", nil},
		{"simulator admin", http.MethodPost, "/_sim/reset", "application/json", `{"anything":1}`, nil},
		{"documented only: unit of measure", http.MethodPost, "/v1/object/unit-of-measure", "application/json", `{"UomName":"seat"}`, nil},
		{"documented only: CRUD invoice", http.MethodGet, "/v1/object/invoice/8ad0823f8455bb40", "", "", nil},
		{"documented only: payment terms", http.MethodGet, "/v1/settings/payment-terms", "", "", nil},
		{"documented only: custom object PUT", http.MethodPut, "/objects/definitions/default/stigg_plan", "application/json", `{}`, nil},
		{"unknown path", http.MethodGet, "/v1/no-such-thing", "", "", []string{"unknown endpoint", "v1 spec", "GET /v1/no-such-thing"}},
		{"unknown method", http.MethodPatch, "/v1/accounts/A1", "application/json", `{}`, []string{"unknown endpoint", "no PATCH operation"}},
		{"quickstart path with hyphen", http.MethodGet, "/v2/payment-methods/abc", "", "", []string{"unknown endpoint", "quickstart spec"}},
		{"body where none is documented", http.MethodGet, "/v1/accounts/A1", "application/json", `{"x":1}`, []string{"request body not allowed"}},
		{"header too long", http.MethodGet, "/v1/accounts/A1", "", "", []string{"Zuora-Track-Id"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, body := newRequest(t, tc.method, tc.path, tc.ctype, tc.body)
			if tc.name == "header too long" {
				req.Header.Set("Zuora-Track-Id", strings.Repeat("x", 65))
			}
			err := c.CheckRequest(req, body)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("rejected:\n%v", err)
				}
				return
			}
			mustContain(t, err, tc.wantErr...)
		})
	}

	s := c.Stats()
	if s.DocumentedOnly["POST /v1/object/unit-of-measure"] == 0 || s.Skipped == 0 || s.Unknown == 0 {
		t.Errorf("stats not counted: %+v", s)
	}
}

// A DocumentedOnly entry that the specs do cover should be validated instead; keep the table honest.
func TestDocumentedOnlyNotInSpecs(t *testing.T) {
	c := Load(t)
	for _, e := range DocumentedOnly {
		path := e.Pattern
		for _, seg := range strings.Split(path, "/") {
			if strings.HasPrefix(seg, "{") {
				path = strings.Replace(path, seg, "x1", 1)
			}
		}
		req, _ := newRequest(t, e.Method, path, "", "")
		if m := c.find(req); m.kind != matchDocumented {
			t.Errorf("%s %s is matched by the %s spec (operation %s %s); remove it from DocumentedOnly", e.Method, e.Pattern, m.spec.name, m.route.Method, m.route.Path)
		}
		if e.Source == "" {
			t.Errorf("%s %s: no documentation source", e.Method, e.Pattern)
		}
	}
}

// Adjustment 2: a callout template with basic auth matches both the plain and the basic-auth alternative.
func TestCalloutTemplateWithAuth(t *testing.T) {
	c := Load(t)
	body := `{"name":"stigg bridge","calloutBaseurl":"https://bridge.example.com/callouts","httpMethod":"POST",
	  "eventTypeName":"SubscriptionCreated","requiredAuth":true,
	  "calloutAuth":{"username":"zuora","password":"secret","preemptive":true}}`
	req, b := newRequest(t, http.MethodPost, "/notifications/callout-templates", "application/json", body)
	if err := c.CheckRequest(req, b); err != nil {
		t.Fatalf("authenticated callout template rejected:\n%v", err)
	}
	bad := strings.Replace(body, `"requiredAuth":true`, `"requiredAuth":"yes"`, 1)
	req, b = newRequest(t, http.MethodPost, "/notifications/callout-templates", "application/json", bad)
	mustContain(t, c.CheckRequest(req, b), "requiredAuth")
	missing := `{"name":"stigg bridge","httpMethod":"POST"}`
	req, b = newRequest(t, http.MethodPost, "/notifications/callout-templates", "application/json", missing)
	mustContain(t, c.CheckRequest(req, b), "calloutBaseurl")

	// The PUT form's alternatives require nothing, so every body matched all three (adjustment 2b).
	update := `{"active":true,"requiredAuth":true,"calloutAuth":{"username":"zuora","password":"secret"}}`
	req, b = newRequest(t, http.MethodPut, "/notifications/callout-templates/abc", "application/json", update)
	if err := c.CheckRequest(req, b); err != nil {
		t.Fatalf("callout template update rejected:\n%v", err)
	}
	update = strings.Replace(update, `"requiredAuth":true`, `"requiredAuth":"yes"`, 1)
	req, b = newRequest(t, http.MethodPut, "/notifications/callout-templates/abc", "application/json", update)
	mustContain(t, c.CheckRequest(req, b), "requiredAuth", "must be a boolean")
}

func TestTransport(t *testing.T) {
	c := Load(t)
	var gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v2/accounts":
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"id":"8ad0823f8455bb4001845c7aa2ad1c21","account_number":"A00000001","name":"Acme Inc","currency":"USD"}`)
		default:
			// A V1 GET whose body has a wrong type.
			fmt.Fprint(w, strings.Replace(validV1Account, `"autoPay": false`, `"autoPay": "no"`, 1))
		}
	}))
	defer srv.Close()

	ftb := &recordingTB{TB: t}
	client := &http.Client{Transport: c.Transport(ftb, http.DefaultTransport)}

	resp, err := client.Post(srv.URL+"/v2/accounts", "application/json", strings.NewReader(validQuickstartAccount))
	if err != nil {
		t.Fatal(err)
	}
	respBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if gotBody != validQuickstartAccount {
		t.Errorf("server got body %q", gotBody)
	}
	if !strings.Contains(string(respBody), `"account_number":"A00000001"`) {
		t.Errorf("client got body %q", respBody)
	}
	if r := ftb.reported(); len(r) != 0 {
		t.Fatalf("valid exchange reported: %q", r)
	}

	for _, id := range []string{"A1", "A2", "A3"} { // the same defect on three calls is reported once
		resp, err = client.Get(srv.URL + "/v1/accounts/" + id)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	r := ftb.reported()
	if len(r) != 1 || !strings.Contains(r[0], "autoPay") || !strings.Contains(r[0], "v1 spec") {
		t.Fatalf("want one report about autoPay, got %q", r)
	}
}

func TestMiddleware(t *testing.T) {
	c := Load(t)
	var gotBody string
	sim := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/_sim/state" {
			fmt.Fprint(w, `{"whatever":true}`)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		// Quickstart errors carry a "type"; "kind" is not in the schema.
		fmt.Fprint(w, `{"kind":"bad_request","errors":[{"code":"invalid_parameter","parameter":"name","message":"bad"}],"retryable":false}`)
	})
	ftb := &recordingTB{TB: t}
	srv := httptest.NewServer(c.Middleware(ftb, sim))
	defer srv.Close()

	bad := strings.Replace(validQuickstartAccount, `"Acme Inc"`, `123`, 1)
	resp, err := http.Post(srv.URL+"/v2/accounts", "application/json", strings.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	respBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if gotBody != bad {
		t.Errorf("handler got body %q", gotBody)
	}
	if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(respBody, []byte(`"retryable":false`)) {
		t.Errorf("client got %d %q", resp.StatusCode, respBody)
	}

	resp, err = http.Get(srv.URL + "/_sim/state")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	r := strings.Join(ftb.reported(), "\n")
	for _, want := range []string{`request: request body`, `"/name"`, `response 400`, `kind`} {
		if !strings.Contains(r, want) {
			t.Errorf("reports do not mention %q:\n%s", want, r)
		}
	}
	if strings.Contains(r, "_sim") {
		t.Errorf("/_sim/ was checked:\n%s", r)
	}
}

// Loading must succeed and index every operation of both documents: a loader or router change that silently
// dropped paths would turn real traffic into "unknown endpoint" violations, or worse, stop checking it. How long
// loading takes is a performance claim, so it is measured by BenchmarkLoad, not asserted here.
func TestLoad(t *testing.T) {
	c := Load(t)
	if c.Dir() == "" {
		t.Error("Dir is empty")
	}
	// Counted once from the documents in ../shared/zuora-openapi; update them together with the documents.
	want := map[Spec]struct{ paths, operations int }{
		SpecV1:         {paths: 565, operations: 713},
		SpecQuickstart: {paths: 106, operations: 166},
	}
	if len(c.specs) != len(want) {
		t.Fatalf("loaded %d specs, want %d", len(c.specs), len(want))
	}
	for name, w := range want {
		s := c.specs[name]
		if s == nil || s.doc == nil || s.router == nil {
			t.Fatalf("%s spec not loaded: %+v", name, s)
		}
		paths, ops := 0, 0
		for _, p := range s.doc.Paths.Map() {
			paths++
			ops += len(p.Operations())
		}
		if paths != w.paths || ops != w.operations {
			t.Errorf("%s spec: %d paths with %d operations, want %d with %d", name, paths, ops, w.paths, w.operations)
		}
	}
	adj := c.Adjustments()
	if len(adj) == 0 {
		t.Error("no adjustments recorded; adjustSpec applies several to every load")
	}
	for i, a := range adj {
		if !strings.HasPrefix(a, string(SpecV1)+": ") && !strings.HasPrefix(a, string(SpecQuickstart)+": ") {
			t.Errorf("adjustment %q does not name its spec", a)
		}
		if i > 0 && adj[i-1] > a {
			t.Errorf("adjustments not sorted: %q before %q", adj[i-1], a)
		}
		t.Logf("adjustment: %s", a)
	}
}

func TestMissingDirFails(t *testing.T) {
	t.Setenv(EnvDir, t.TempDir())
	_, err := load()
	mustContain(t, err, "Zuora OpenAPI specs were not found", EnvDir)
}

// BenchmarkLoad is where the cost of loading the documents is measured (about 1 s without the race detector).
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := load(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckRequest(b *testing.B) {
	c := Load(b)
	body := []byte(validQuickstartAccount)
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v2/accounts", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if err := c.CheckRequest(req, body); err != nil {
			b.Fatal(err)
		}
	}
}

// The Checker is shared by all tests of a process; checks must be safe to run in parallel.
func TestConcurrentChecks(t *testing.T) {
	c := Load(t)
	srv := httptest.NewServer(c.Middleware(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, validV1Account)
	})))
	defer srv.Close()
	client := &http.Client{Transport: c.Transport(t, http.DefaultTransport)}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 5 {
				resp, err := client.Get(fmt.Sprintf("%s/v1/accounts/A%d-%d", srv.URL, i, j))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
}

func TestWriteOffAmountIsNotBoundedByDecimalPrecision(t *testing.T) {
	c := Load(t)
	req := httptest.NewRequest(http.MethodPost, "/v1/orders", nil)
	body := []byte(`{"success":true,"orderNumber":"O-1","accountNumber":"A-1","status":"Completed",
		"writeOff":[{"amount":271.5,"invoiceNumber":"INV1","status":"Success","writeOffCreditMemoNumber":"CM1"}]}`)
	h := http.Header{"Content-Type": {"application/json"}, "Zuora-Request-Id": {strings.Repeat("a", 36)}}
	if err := c.CheckResponse(req, http.StatusOK, h, body); err != nil {
		t.Fatalf("a write-off of 271.5 must pass: %v", err)
	}
	bad := []byte(`{"success":true,"writeOff":[{"amount":"lots"}]}`)
	if err := c.CheckResponse(req, http.StatusOK, h, bad); err == nil {
		t.Fatal("the amount's type must still be checked")
	}
}

// XML answers (GET /v1/describe/{object}) are checked against their schema like JSON ones.
func TestDescribeXMLIsChecked(t *testing.T) {
	c := Load(t)
	req := httptest.NewRequest(http.MethodGet, "/v1/describe/Account", nil)
	h := http.Header{"Content-Type": {"text/xml; charset=utf-8"}, "Zuora-Request-Id": {strings.Repeat("a", 36)}}
	good := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<object><name>Account</name><label>Account</label><fields>
  <field><name>Id</name><label>Id</label><type>text</type><contexts><context>soap</context></contexts></field>
  <field><name>stiggCustomerId__c</name><label>stiggCustomerId</label><type>text</type></field>
</fields></object>`)
	if err := c.CheckResponse(req, http.StatusOK, h, good); err != nil {
		t.Fatalf("a described object must pass: %v", err)
	}
	bad := []byte(`<object><name>Account</name><fields><field><name>Id</name><type>colour</type></field></fields></object>`)
	mustContain(t, c.CheckResponse(req, http.StatusOK, h, bad), "type")
	mustContain(t, c.CheckResponse(req, http.StatusOK, h, []byte(`<object><name>`)), "XML")
}

// Adjustment 6: an unset custom field is null in Zuora's answers; the untyped value schema admits it.
func TestUnsetCustomFieldIsNull(t *testing.T) {
	c := Load(t)
	req := httptest.NewRequest(http.MethodGet, "/v1/subscriptions/A-S1", nil)
	h := http.Header{"Content-Type": {"application/json"}, "Zuora-Request-Id": {strings.Repeat("a", 36)}}
	body := []byte(`{"success":true,"id":"1","subscriptionNumber":"A-S1","stiggResourceId__c":null,"stiggCustomerId__c":"c-1"}`)
	if err := c.CheckResponse(req, http.StatusOK, h, body); err != nil {
		t.Fatalf("an unset custom field must pass: %v", err)
	}
	bad := []byte(`{"success":true,"id":1}`)
	if err := c.CheckResponse(req, http.StatusOK, h, bad); err == nil {
		t.Fatal("typed fields must still be checked")
	}
}
