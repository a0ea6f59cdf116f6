package zuorasim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Delivery of callouts over real HTTP (BEHAVIOUR.md §6). Deliveries are queued in the callout history under the
// store lock (callout_changes.go) and sent by goroutines the Sim owns, never holding the store lock during HTTP:
// a dispatcher, started with the first delivery, takes the due ones (marking them in flight) and sends each from
// a goroutine of its own; the outcome is recorded under the lock again. Close cancels what is in flight and waits
// for every goroutine.
//
// A request: the callout's method and rendered URL, Content-Type application/json, the JSON body, the
// template's custom headers, Zuora-Request-Id (a uuid without hyphens, new per attempt), Zuora-Notification-Id
// (the same for every attempt and resend of one delivery) and X-Amzn-Trace-Id. Basic auth is not preemptive
// unless calloutAuth.preemptive: the first request goes without Authorization, and when the receiver answers 401
// with WWW-Authenticate the request is sent again, in the same attempt, with the credentials. Only 200 counts as
// delivered. A failed attempt is retried when calloutRetry is on, up to calloutMaxAttempts attempts in all, each
// calloutRetryInterval after the previous one on the simulated clock: retries happen when the clock is advanced
// (Sim.Advance, POST /_sim/clock/advance) or as real time passes. The response content kept in the history is cut at 60 KB.

const (
	calloutMaxAttempts      = 3                // Zuora's default "Maximum Number of Delivery Attempts"
	calloutRetryInterval    = 30 * time.Minute // Zuora's default "Minimum Interval between Delivery Attempts"
	calloutResponseMax      = 60 << 10         // history keeps at most 60 KB of a response
	calloutRequestTimeout   = 20 * time.Second
	calloutChallengeMaxRead = 4 << 10
	calloutConcurrency      = 16 // sends in flight at once; the others wait their turn
	calloutTick             = time.Second
)

// calloutEngine is the Sim's delivery machinery.
type calloutEngine struct {
	wake   chan struct{} // buffered 1: "look for due deliveries"
	slots  chan struct{} // bounds the sends in flight
	start  sync.Once
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
	client *http.Client
}

func newCalloutEngine() *calloutEngine {
	ctx, cancel := context.WithCancel(context.Background())
	tr := http.DefaultTransport.(*http.Transport).Clone()
	return &calloutEngine{wake: make(chan struct{}, 1), slots: make(chan struct{}, calloutConcurrency), ctx: ctx, cancel: cancel,
		client: &http.Client{Transport: tr, Timeout: calloutRequestTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// kickCallouts wakes the dispatcher. Safe with or without st.mu held; never blocks.
func (st *store) kickCallouts() {
	if st.kick != nil {
		st.kick()
	}
}

// kickCallouts starts the dispatcher if needed and wakes it.
func (s *Sim) kickCallouts() {
	e := s.callouts
	select {
	case <-s.closing:
		return
	default:
	}
	e.start.Do(func() {
		e.wg.Add(1)
		go s.dispatchCallouts()
	})
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// stopCallouts ends the dispatcher and every send in flight, and waits for them.
func (s *Sim) stopCallouts() {
	s.callouts.cancel()
	s.callouts.start.Do(func() {}) // no dispatcher may start after this
	s.callouts.wg.Wait()
}

func (s *Sim) dispatchCallouts() {
	e := s.callouts
	defer e.wg.Done()
	// Besides the wake-ups (a new delivery, a resend, the clock advanced), a slow tick finds retries that the real
	// passing of time made due, as in a long-running `make run`.
	tick := time.NewTicker(calloutTick)
	defer tick.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-e.wake:
		case <-tick.C:
		}
		for _, job := range s.takeDueCallouts() {
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				select {
				case e.slots <- struct{}{}:
					defer func() { <-e.slots }()
				case <-e.ctx.Done():
				}
				att := s.sendCallout(e.ctx, job) // after Close: fails at once with the context's error
				s.recordAttempt(job.id, att)
			}()
		}
	}
}

// calloutJob is a snapshot of one attempt to make, taken under the store lock.
type calloutJob struct {
	id, notificationID string
	method, url        string
	body               []byte
	headers            map[string]string
	auth               *CalloutAuth
	number             int
	at                 time.Time
}

func (s *Sim) takeDueCallouts() []calloutJob {
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	now := s.Now()
	var jobs []calloutJob
	for _, c := range st.ntf.history {
		if c.inFlight || c.Status != CalloutPending || c.nextAt.After(now) {
			continue
		}
		c.inFlight = true
		jobs = append(jobs, calloutJob{id: c.ID, notificationID: c.NotificationID, method: c.RequestMethod,
			url: c.RequestURL, body: []byte(c.RequestBody), headers: c.headers, auth: c.auth,
			number: c.AttemptedNum + 1, at: now})
	}
	return jobs
}

// zuoraRequestID is a uuid without hyphens, as Zuora's callouts carry it.
func zuoraRequestID() string { return strings.ReplaceAll(uuid.NewString(), "-", "") }

func amznTraceID(at time.Time) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "Root=1-" + hexTime(at) + "-" + hex.EncodeToString(b[:])
}

func hexTime(t time.Time) string {
	const digits = "0123456789abcdef"
	v := uint32(t.Unix())
	out := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		out[i] = digits[v&0xf]
		v >>= 4
	}
	return string(out)
}

// sendCallout makes one attempt (with the Basic-auth challenge round when the receiver asks for it).
func (s *Sim) sendCallout(ctx context.Context, job calloutJob) CalloutAttempt {
	att := CalloutAttempt{Number: job.number, RequestID: zuoraRequestID(), Time: job.at}
	trace := amznTraceID(job.at)
	send := func(withAuth bool) (*http.Response, error) {
		var body io.Reader
		if len(job.body) > 0 {
			body = bytes.NewReader(job.body)
		}
		req, err := http.NewRequestWithContext(ctx, job.method, job.url, body)
		if err != nil {
			return nil, err
		}
		for k, v := range job.headers {
			req.Header.Set(k, v)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "Zuora-Callout (zuorasim)")
		req.Header.Set("Zuora-Request-Id", att.RequestID)
		req.Header.Set("Zuora-Notification-Id", job.notificationID)
		req.Header.Set("X-Amzn-Trace-Id", trace)
		if withAuth {
			req.SetBasicAuth(job.auth.Username, job.auth.Password)
			att.Authorized = true
		}
		return s.callouts.client.Do(req)
	}
	resp, err := send(job.auth != nil && job.auth.Preemptive)
	if err == nil && resp.StatusCode == http.StatusUnauthorized && job.auth != nil && !att.Authorized &&
		resp.Header.Get("WWW-Authenticate") != "" {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, calloutChallengeMaxRead))
		resp.Body.Close()
		resp, err = send(true)
	}
	if err != nil {
		att.Error = err.Error()
		return att
	}
	defer resp.Body.Close()
	content, _ := io.ReadAll(io.LimitReader(resp.Body, calloutResponseMax))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	att.ResponseCode, att.ResponseContent = resp.StatusCode, string(content)
	return att
}

// recordAttempt stores an attempt's outcome and schedules the next one or settles the delivery.
func (s *Sim) recordAttempt(id string, att CalloutAttempt) {
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	c := st.ntf.historyByID[id]
	if c == nil { // the simulator was reset meanwhile
		return
	}
	c.inFlight = false
	c.Attempts = append(c.Attempts, att)
	c.AttemptedNum = len(c.Attempts)
	c.ResponseCode, c.ResponseContent = att.ResponseCode, att.ResponseContent
	if c.ResponseContent == "" && att.Error != "" {
		c.ResponseContent = att.Error
	}
	switch {
	case att.ResponseCode == http.StatusOK:
		c.Status = CalloutDelivered
	case c.retry && c.AttemptedNum-c.roundStart < calloutMaxAttempts:
		c.Status, c.nextAt = CalloutPending, att.Time.Add(calloutRetryInterval)
	default:
		c.Status = CalloutFailed
	}
	s.log.Debug("zuorasim: callout attempt", "notification", c.Notification, "url", c.RequestURL,
		"attempt", att.Number, "status", att.ResponseCode, "error", att.Error, "state", c.Status)
}
