package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/consumer"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/topology"
)

//go:embed templates/*.html
var templateFS embed.FS

type pageTemplate = template.Template

var funcs = template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"ago": ago,
}

// parsePages parses each page together with the layout.
func parsePages() (map[string]*pageTemplate, error) {
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	pages := map[string]*pageTemplate{}
	for _, e := range names {
		if e.Name() == "layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", e.Name(), err)
		}
		pages[strings.TrimSuffix(e.Name(), ".html")] = t
	}
	return pages, nil
}

// view is what every page template gets.
type view struct {
	Title string
	Nav   string
	CSRF  string
	Flash []string
	Data  any
}

// render writes a page; the page is rendered into memory first, so a template error is a clean 500.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page, title string, data any, flash ...string) {
	var buf bytes.Buffer
	v := view{Title: title, Nav: page, CSRF: c.csrfToken(r), Flash: flash, Data: data}
	if err := c.pages[page].Execute(&buf, v); err != nil {
		c.log.Error("console page not rendered", "page", page, "err", err)
		http.Error(w, "page not rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	if status >= 500 {
		c.log.Error("console request failed", "path", r.URL.Path, "err", err)
	}
	c.render(w, r, status, "error", http.StatusText(status), err.Error())
}

func reqCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 20*time.Second)
}

// --- overview

type overviewData struct {
	Partitions    []partitionRow
	PartitionsErr string
	DLQ           dlqSummary
	DLQErr        string
	Parked        int
	ParkedMore    bool
	ParkedErr     string
	Zuora         zuoraStats
	Reconcile     reconcileStatus
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := reqCtx(r)
	defer cancel()
	var d overviewData
	var err error
	if d.Partitions, err = c.partitions(ctx); err != nil {
		d.PartitionsErr = err.Error()
	}
	if d.DLQ, err = c.dlqSummary(ctx); err != nil {
		d.DLQErr = err.Error()
	}
	parked, more, err := c.parkedQueues(ctx)
	if err != nil {
		d.ParkedErr = err.Error()
	}
	d.Parked, d.ParkedMore = len(parked), more
	d.Zuora = readZuoraStats(c.cfg.Gatherer)
	c.rates.recent(time.Now(), &d.Zuora)
	d.Reconcile = c.reconcile(ctx)
	c.render(w, r, http.StatusOK, "overview", "Overview", d)
}

// --- dead letters

type dlqQuery struct {
	Type, Reason, Customer string
	After                  uint64
	Limit                  int
}

func (q dlqQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"type": q.Type, "reason": q.Reason, "customer": q.Customer} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

type dlqRow struct {
	Seq                             uint64
	Type, Key, Class, Reason, Stigg string
	Attempts                        int
	At                              time.Time
}

type dlqData struct {
	Query    dlqQuery
	Rows     []dlqRow
	Page     consumer.DLQPage
	NextURL  string
	FirstURL string
	Elapsed  time.Duration
	Bound    int
}

func (c *Console) dlqQuery(r *http.Request) (dlqQuery, error) {
	q := dlqQuery{Type: strings.TrimSpace(r.FormValue("type")), Reason: strings.TrimSpace(r.FormValue("reason")),
		Customer: strings.TrimSpace(r.FormValue("customer")), Limit: c.cfg.PageSize}
	if s := r.FormValue("after"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return q, fmt.Errorf("after: %q is not a sequence", s)
		}
		q.After = n
	}
	if s := r.FormValue("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return q, fmt.Errorf("limit: %q is not a positive number", s)
		}
		q.Limit = min(n, 500)
	}
	return q, nil
}

// dlqFilter turns a query into a page filter: the type narrows the subject when it names a Stigg or Zuora event
// (DLQ subjects mirror the input subject), reason and customer are matched while paging.
func (c *Console) dlqFilter(q dlqQuery) consumer.DLQFilter {
	f := consumer.DLQFilter{MaxExamined: c.cfg.MaxExamined}
	var preds []func(consumer.DeadLetter) bool
	if q.Type != "" {
		if parts := strings.Split(q.Type, "."); len(parts) == 4 && parts[0] == "io" && (parts[1] == "stigg" || parts[1] == "zuora") &&
			!strings.ContainsAny(q.Type, "*> ") {
			// Keyed and unkeyed input subjects (an unkeyed event whose key could not be found is dead-lettered).
			base := topology.PrefixDLQ + "." + parts[1] + "." + parts[2] + "." + parts[3]
			f.Subjects = []string{base, base + ".>"}
		}
		preds = append(preds, func(dl consumer.DeadLetter) bool { return dl.EventType == q.Type })
	}
	if q.Reason != "" {
		needle := strings.ToLower(q.Reason)
		preds = append(preds, func(dl consumer.DeadLetter) bool {
			return strings.ToLower(dl.Class) == needle || strings.Contains(strings.ToLower(dl.Reason), needle)
		})
	}
	if q.Customer != "" {
		preds = append(preds, func(dl consumer.DeadLetter) bool { return concerns(dl, q.Customer) })
	}
	if len(preds) > 0 {
		f.Match = func(dl consumer.DeadLetter) bool {
			for _, p := range preds {
				if !p(dl) {
					return false
				}
			}
			return true
		}
	}
	return f
}

// concerns tells whether a dead letter is about the Stigg id: its ordering key, its CloudEvent subject, or the
// customerId of its data.
func concerns(dl consumer.DeadLetter, id string) bool {
	if entryKey(dl) == id {
		return true
	}
	ev, ok := dl.Event()
	if !ok {
		return false
	}
	if ev.Subject() == id {
		return true
	}
	var data struct {
		CustomerID      string `json:"customerId"`
		StiggCustomerID string `json:"stiggCustomerId"`
	}
	_ = ev.DataAs(&data)
	return data.CustomerID == id || data.StiggCustomerID == id
}

// entryKey is the ordering key of a dead letter: from its event, else from the key token of its input subject.
func entryKey(dl consumer.DeadLetter) string {
	if ev, ok := dl.Event(); ok {
		if k, err := events.PartitionKey(ev); err == nil {
			return k
		}
	}
	if p, err := events.ParseSubject(dl.OriginalSubject); err == nil {
		return p.Key
	}
	return ""
}

func rowOf(dl consumer.DeadLetter) dlqRow {
	row := dlqRow{Seq: dl.Seq, Type: dl.EventType, Key: entryKey(dl), Class: dl.Class, Reason: dl.Reason,
		Attempts: dl.Attempts, At: dl.At}
	if ev, ok := dl.Event(); ok {
		row.Stigg = ev.Subject()
	}
	if row.Type == "" {
		row.Type = "(undecodable) " + dl.OriginalSubject
	}
	return row
}

func (c *Console) dlqList(w http.ResponseWriter, r *http.Request) {
	q, err := c.dlqQuery(r)
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, err)
		return
	}
	c.renderDLQ(w, r, q)
}

func (c *Console) renderDLQ(w http.ResponseWriter, r *http.Request, q dlqQuery, flash ...string) {
	ctx, cancel := reqCtx(r)
	defer cancel()
	start := time.Now()
	page, err := consumer.PageDLQ(ctx, c.cfg.JS, c.dlqFilter(q), q.After, q.Limit)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	d := dlqData{Query: q, Page: page, Elapsed: time.Since(start).Round(time.Millisecond), Bound: c.cfg.MaxExamined}
	for _, dl := range page.Entries {
		d.Rows = append(d.Rows, rowOf(dl))
	}
	v := q.values()
	if q.After > 0 {
		d.FirstURL = "/dlq?" + v.Encode()
	}
	if page.Next > 0 {
		v.Set("after", strconv.FormatUint(page.Next, 10))
		d.NextURL = "/dlq?" + v.Encode()
	}
	c.render(w, r, http.StatusOK, "dlq", "Dead letters", d, flash...)
}

type entryData struct {
	Seq                     uint64
	EventID                 string
	Row                     dlqRow
	OriginalSubject, Stream string
	StreamSeq               uint64
	Headers                 []headerRow
	Body                    string
	Withheld, Masked        bool
	RequestIDs              []string
	RequestIDsRecorded      bool
}

// requestIDPattern finds Zuora request ids a reason quotes.
var requestIDPattern = regexp.MustCompile(`(?i)request[ _-]?id[s]?[=: ]+"?([A-Za-z0-9-]{8,})`)

func (c *Console) dlqEntry(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		c.fail(w, r, http.StatusBadRequest, fmt.Errorf("%q is not a DLQ sequence", r.PathValue("seq")))
		return
	}
	ctx, cancel := reqCtx(r)
	defer cancel()
	dl, err := consumer.GetDeadLetter(ctx, c.cfg.JS, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		c.fail(w, r, http.StatusNotFound, fmt.Errorf("dead letter %d is not in the DLQ (redriven, or never written)", seq))
		return
	}
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	d := entryData{Seq: seq, EventID: dl.EventID, Row: rowOf(dl), OriginalSubject: dl.OriginalSubject, Stream: dl.Stream,
		StreamSeq: dl.StreamSeq, Headers: headerRows(dl.Header)}
	if withheld(dl.Data) {
		d.Withheld = true
	} else {
		d.Body, d.Masked = prettyBody(dl.Data)
	}
	if v := dl.Header.Get(consumer.HeaderDLQZuoraRequestIDs); v != "" {
		d.RequestIDsRecorded = true
		d.RequestIDs = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
	}
	for _, m := range requestIDPattern.FindAllStringSubmatch(dl.Reason, -1) {
		if !slices.Contains(d.RequestIDs, m[1]) {
			d.RequestIDs = append(d.RequestIDs, m[1])
		}
	}
	c.render(w, r, http.StatusOK, "entry", fmt.Sprintf("Dead letter %d", seq), d)
}

// maxRedrive bounds the entries one redrive request takes.
const maxRedrive = 500

func (c *Console) redrive(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, http.StatusBadRequest, err)
		return
	}
	if !c.csrfValid(r) {
		c.fail(w, r, http.StatusForbidden, errors.New("missing or wrong CSRF token: reload the page and try again"))
		return
	}
	var seqs []uint64
	for _, s := range r.PostForm["seq"] {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n == 0 {
			c.fail(w, r, http.StatusBadRequest, fmt.Errorf("seq: %q is not a DLQ sequence", s))
			return
		}
		seqs = append(seqs, n)
	}
	q := dlqQuery{Limit: c.cfg.PageSize}
	if len(seqs) == 0 {
		c.renderDLQ(w, r, q, "nothing selected: tick the entries to redrive")
		return
	}
	if len(seqs) > maxRedrive {
		c.fail(w, r, http.StatusBadRequest, fmt.Errorf("at most %d entries per redrive", maxRedrive))
		return
	}
	force := r.PostFormValue("force") == "1"
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	user, _, _ := r.BasicAuth()
	res, err := consumer.Redrive(ctx, c.cfg.JS, consumer.RedriveOptions{Seqs: seqs, Force: force})
	c.log.Info("redrive from the console", "user", user, "seqs", seqs, "force", force, "redriven", res.Redriven,
		"superseded", len(res.Superseded), "err", err)
	flash := []string{fmt.Sprintf("redrove %d of %d selected", res.Redriven, len(seqs))}
	if force {
		flash[0] += " (forced past the ordering guard)"
	}
	for _, dl := range res.Superseded {
		flash = append(flash, fmt.Sprintf("Entry %d (%s, key %s) was kept: its entity has applied a newer event since, "+
			"so redriving it would revert that; tick force to redrive it anyway.", dl.Seq, dl.EventType, entryKey(dl)))
	}
	if gone := len(slices.Compact(slices.Sorted(slices.Values(seqs)))) - res.Redriven - len(res.Superseded); err == nil && gone > 0 {
		flash = append(flash, fmt.Sprintf("%d of the selected entries were no longer in the DLQ (redriven meanwhile).", gone))
	}
	if err != nil {
		flash = append(flash, "redrive stopped: "+err.Error())
	}
	c.renderDLQ(w, r, q, flash...)
}

// --- parked

type parkedData struct {
	Rows      []parkedRow
	Truncated bool
	Max       int
}

func (c *Console) parked(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := reqCtx(r)
	defer cancel()
	rows, more, err := c.parkedQueues(ctx)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	c.render(w, r, http.StatusOK, "parked", "Parked", parkedData{Rows: rows, Truncated: more, Max: maxParkedKeys})
}
