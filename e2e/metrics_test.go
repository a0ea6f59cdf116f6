package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/events"
)

// metricName finds the names of zuora-sync's series in text.
var metricName = regexp.MustCompile(`zuorasync_[a-z_]+[a-z]`)

// scrape GETs a /metrics page and returns the zuora-sync metric families on it (histogram series folded into
// their family name).
func scrape(t *testing.T, url string) map[string]bool {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	out := map[string]bool{}
	for _, line := range bytes.Split(body, []byte("\n")) {
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		name := metricName.FindString(string(line))
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			name = strings.TrimSuffix(name, suffix)
		}
		if name != "" {
			out[name] = true
		}
	}
	return out
}

// documentedMetrics are the metric names docs/OPERATIONS.md gives (Metrics and Bridge sections).
func documentedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	doc, err := os.ReadFile("../docs/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, n := range metricName.FindAllString(string(doc), -1) {
		out[n] = true
	}
	return out
}

// Both binaries' /metrics, scraped over HTTP after some traffic, serve what docs/OPERATIONS.md documents, and
// nothing of zuora-sync's that it does not.
func TestMetricsOfBothBinariesAreTheDocumentedOnes(t *testing.T) {
	h := newHarness(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.cfg.MetricsAddr = ln.Addr().String()
	ln.Close()
	b := startLoopBridge(t, h)
	h.startConsumer()
	h.waitOutcome(h.customerEvent(events.TypeStiggCustomerCreated, customer("cust-scrape", "Scra Ped")), 20*time.Second)
	bad := h.newEvent(events.TypeStiggCustomerCreated, "cust-bad", "cust-bad", map[string]any{"customerId": "cust-bad", "email": "not-an-email"})
	h.publish(bad)
	h.waitOutcome(bad.ID(), 20*time.Second) // dead-lettered: a permanent validation failure

	// Callouts: one without credentials (challenge), one refused as invalid, one stored.
	post := func(body string, auth bool) {
		req, _ := http.NewRequest(http.MethodPost, b.url()+"/callouts/zuora", strings.NewReader(body))
		if auth {
			req.SetBasicAuth(loopUser, loopPass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	paid := `{"event":"invoice.paid","accountNumber":"A-1","invoiceId":"8a1","invoiceNumber":"INV-1"}`
	post(paid, false)
	post(`{"event":"nothing"}`, true)
	post(paid, true)
	post(paid, true) // deduplicated

	got := scrape(t, "http://"+h.cfg.MetricsAddr+"/metrics")
	for n := range scrape(t, b.url()+"/metrics") {
		got[n] = true
	}
	doc := documentedMetrics(t)
	var undocumented, missing []string
	for n := range got {
		if !doc[n] {
			undocumented = append(undocumented, n)
		}
	}
	for n := range doc {
		if !got[n] {
			missing = append(missing, n)
		}
	}
	slices.Sort(undocumented)
	slices.Sort(missing)
	if len(undocumented) > 0 {
		t.Errorf("served but not in docs/OPERATIONS.md: %v", undocumented)
	}
	if len(missing) > 0 {
		t.Errorf("documented but not served after the traffic: %v", missing)
	}
}

// The Grafana dashboard in deploy/ queries only documented metric names, and every panel has a query.
func TestDashboardUsesTheDocumentedMetrics(t *testing.T) {
	raw, err := os.ReadFile("../deploy/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil || dash.Title == "" || len(dash.Panels) == 0 {
		t.Fatalf("not a dashboard: %v", err)
	}
	doc := documentedMetrics(t)
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			names := metricName.FindAllString(q.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: query %q names no zuora-sync metric", p.Title, q.Expr)
			}
			for _, n := range names {
				n = strings.TrimSuffix(n, "_bucket")
				if !doc[n] {
					t.Errorf("panel %q queries %s, which docs/OPERATIONS.md does not document", p.Title, n)
				}
			}
		}
	}
}
