// Package rpc serves zuora-sync's request/reply subjects as a NATS micro service: order previews and next-invoice
// previews, answered within the caller's deadline with a JSON body or a JSON error that has a code — never a hang.
package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/handlers"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// Subjects of the contract.
const (
	SubjectOrderPreview = "zuorasync.rpc.order.preview"
	SubjectNextInvoice  = "zuorasync.rpc.subscription.preview_next_invoice"
	SubjectHostedPage   = "zuorasync.rpc.checkout.hosted_page"

	// HeaderTimeout lets a caller say how long it will wait (a Go duration, e.g. "3s"); the answer comes before.
	HeaderTimeout = "Zuorasync-Timeout"
)

// Config tunes the service.
type Config struct {
	// DefaultTimeout applies when the request names none; MaxTimeout caps what a caller may ask for.
	DefaultTimeout time.Duration
	MaxTimeout     time.Duration
	// Concurrency bounds previews in flight; more wait for a slot until their own deadline.
	Concurrency int
	Logger      *slog.Logger
}

// Error is the JSON error every failed request gets.
type Error struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable"`
}

// Server is the running service.
type Server struct {
	nc     *nats.Conn
	svc    micro.Service
	cfg    Config
	slots  chan struct{}
	ctx    context.Context
	cancel context.CancelFunc

	// mu orders request admission against Stop: micro drains its subscriptions in the background, so a
	// callback can still arrive while Stop waits; it is refused instead of joining a WaitGroup being waited on.
	mu      sync.Mutex
	stopped bool
	wg      sync.WaitGroup
}

// Start registers the endpoints on nc. Stop ends them.
func Start(nc *nats.Conn, previews *handlers.Previews, checkout *handlers.Checkout, cfg Config) (*Server, error) {
	if cfg.DefaultTimeout <= 0 {
		cfg.DefaultTimeout = 10 * time.Second
	}
	if cfg.MaxTimeout <= 0 {
		cfg.MaxTimeout = 30 * time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{nc: nc, cfg: cfg, slots: make(chan struct{}, cfg.Concurrency), ctx: ctx, cancel: cancel}
	svc, err := micro.AddService(nc, micro.Config{
		Name: "zuorasync", Version: "0.1.0",
		Description: "zuora-sync request/reply: order and next-invoice previews priced by Zuora, hosted payment pages",
		QueueGroup:  "zuorasync-rpc",
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("rpc: %w", err)
	}
	s.svc = svc
	endpoints := []struct {
		name, subject string
		handle        answerFunc
	}{
		{"order-preview", SubjectOrderPreview, endpoint(cfg.Logger, previews.PreviewOrder)},
		{"next-invoice-preview", SubjectNextInvoice, endpoint(cfg.Logger, previews.PreviewNextInvoice)},
		{"checkout-hosted-page", SubjectHostedPage, endpoint(cfg.Logger, checkout.HostedPage)},
	}
	for _, e := range endpoints {
		if err := svc.AddEndpoint(e.name, micro.HandlerFunc(func(r micro.Request) { s.serve(r, e.handle) }),
			micro.WithEndpointSubject(e.subject)); err != nil {
			s.Stop()
			return nil, fmt.Errorf("rpc: endpoint %s: %w", e.subject, err)
		}
	}
	return s, nil
}

// Stop unsubscribes, lets requests in flight answer, and returns once they have.
func (s *Server) Stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	if s.svc != nil {
		_ = s.svc.Stop()
	}
	s.wg.Wait()
	s.cancel()
}

// serve answers one request on its own goroutine so a slow Zuora call does not hold up the others.
func (s *Server) serve(r micro.Request, handle answerFunc) {
	timeout := s.cfg.DefaultTimeout
	if v := r.Headers().Get(HeaderTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			respondError(r, "400", Error{Code: "bad_request", Message: fmt.Sprintf("%s header %q is not a positive duration", HeaderTimeout, v)})
			return
		}
		// Answer a little before the caller gives up, so it gets our error instead of its own timeout.
		timeout = min(d*9/10, s.cfg.MaxTimeout)
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		respondError(r, "503", Error{Code: "shutting_down", Message: "this instance is stopping; ask again", Retryable: true})
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	reply, subject, data := r.Reply(), r.Subject(), r.Data()
	go func() {
		defer s.wg.Done()
		defer cancel()
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
		case <-ctx.Done():
			s.replyError(reply, "503", Error{Code: "busy", Message: "every preview slot stayed busy until the deadline", Retryable: true})
			return
		}
		out, zuoraRequests, err := handle(ctx, subject, data)
		if err != nil {
			status, e := classify(ctx, err)
			s.cfg.Logger.Warn("rpc failed", "subject", subject, "code", e.Code, "err", err, "zuora_requests", zuoraRequests)
			s.replyError(reply, status, e)
			return
		}
		body, err := json.Marshal(out)
		if err != nil {
			s.replyError(reply, "500", Error{Code: "internal", Message: "encoding the answer: " + err.Error()})
			return
		}
		s.reply(reply, body, nil)
	}()
}

// reply answers on the request's reply subject directly: micro's Request records its outcome in fields the
// service reads when the callback returns, so it must not be used from the goroutine that answers later.
func (s *Server) reply(subject string, body []byte, h nats.Header) {
	if subject == "" {
		return // a publish, not a request: nobody is waiting
	}
	if h == nil {
		h = nats.Header{}
	}
	h.Set("Content-Type", "application/json")
	if err := s.nc.PublishMsg(&nats.Msg{Subject: subject, Data: body, Header: h}); err != nil {
		s.cfg.Logger.Warn("rpc reply failed", "reply", subject, "err", err)
	}
}

func (s *Server) replyError(subject, status string, e Error) {
	body, _ := json.Marshal(map[string]Error{"error": e})
	s.reply(subject, body, nats.Header{micro.ErrorHeader: {e.Message}, micro.ErrorCodeHeader: {status}})
}

// answerFunc answers one request body; zuoraRequests are the Zuora request ids it caused, for the log.
type answerFunc func(ctx context.Context, subject string, body []byte) (out any, zuoraRequests []string, err error)

// call is one request as the payload of a dispatch.Input, so a preview runs through the same middleware as an
// event; the answer comes back in it.
type call[Req, Ans any] struct {
	req    Req
	answer Ans
	trace  zuoraapi.Trace
}

func (*call[Req, Ans]) Validate() error { return nil } // the service validates what it takes

// endpoint expresses one preview as a dispatch.Handler behind Recover (a panic fails its request with an error
// instead of killing every request of the process) and ZuoraContext (each request's own id is the idempotency
// base and track id of its Zuora calls, as an event's id is for a handler).
func endpoint[Req, Ans any](log *slog.Logger, answer func(context.Context, *Req) (Ans, error)) answerFunc {
	h := dispatch.Chain(dispatch.HandlerFunc(func(ctx context.Context, in *dispatch.Input) (*dispatch.Result, error) {
		c := in.Payload.(*call[Req, Ans])
		var err error
		c.answer, err = answer(ctx, &c.req)
		return nil, err
	}), dispatch.Recover(), dispatch.ZuoraContext(func(in *dispatch.Input) dispatch.ZuoraCall {
		return dispatch.ZuoraCall{EventID: in.Event.ID(), Trace: &in.Payload.(*call[Req, Ans]).trace}
	}))
	return func(ctx context.Context, subject string, body []byte) (any, []string, error) {
		c := &call[Req, Ans]{}
		if err := decodeStrict(body, &c.req); err != nil {
			return nil, nil, err
		}
		ev := event.New()
		ev.SetID("rpc-" + uuid.NewString())
		ev.SetType(subject)
		ev.SetSource(eventSource)
		in := &dispatch.Input{Event: ev, Payload: c, Attempt: 1, Logger: log.With("rpc_id", ev.ID(), "subject", subject)}
		_, err := h.Handle(ctx, in)
		return c.answer, c.trace.RequestIDs(), err
	}
}

// eventSource is the CloudEvent source of the inputs the service makes of its requests.
const eventSource = "zuorasync/rpc"

func decodeStrict(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: request body: %v", handlers.ErrBadRequest, err)
	}
	return nil
}

// classify turns an error into a status and the JSON error the caller gets.
func classify(ctx context.Context, err error) (string, Error) {
	e := Error{Message: err.Error()}
	switch {
	case errors.Is(err, dispatch.ErrPanic):
		// A bug, not the caller's or Zuora's doing; the same request would hit it again.
		e.Code, e.Message = "internal", "the preview failed on an internal error"
		return "500", e
	case errors.Is(err, handlers.ErrBadRequest):
		e.Code = "bad_request"
		return "400", e
	case errors.Is(err, handlers.ErrNotFound):
		e.Code = "not_found"
		return "404", e
	case dispatch.IsDeferred(err):
		e.Code, e.Retryable = "not_synced", true
		return "409", e
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		e.Code, e.Retryable = "timeout", true
		return "504", e
	}
	if class, _ := dispatch.Classify(err); class == dispatch.ClassPermanent {
		e.Code = "rejected"
		return "422", e
	}
	e.Code, e.Retryable = "zuora_unavailable", true
	return "503", e
}

func respondError(r micro.Request, status string, e Error) {
	body, _ := json.Marshal(map[string]Error{"error": e})
	_ = r.Error(status, e.Message, body, micro.WithHeaders(micro.Headers{"Content-Type": {"application/json"}}))
}
