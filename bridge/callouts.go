package bridge

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/tracing"
	"github.com/zuora-sync/zuora-sync/topology"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// CalloutPath is where Zuora's callout templates point (<BRIDGE_PUBLIC_URL>/callouts/zuora).
const CalloutPath = "/callouts/zuora"

// Realm is the Basic auth realm of the 401 challenge.
const Realm = "zuora-sync"

// maxReason bounds the validation reason echoed in a 400: it may quote a body member's name.
const maxReason = 300

// callout serves POST /callouts/zuora in the order webhook gateways use: authenticate, cap the body, parse and
// validate, map to the io.zuora.* CloudEvent, skip what was delivered already, publish and wait for the PubAck,
// record the delivery, and only then answer 200 — the only status Zuora counts as delivered.
func (s *Server) callout(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.m.received.Inc()
	// A server span per callout, child of a traceparent the caller sent (Zuora sends none: a new trace starts);
	// the stored event carries this span as its traceparent, and the consumer continues it.
	ctx := tracing.ContextWithParent(r.Context(), r.Header.Get("Traceparent"), r.Header.Get("Tracestate"))
	ctx, span := tracing.Tracer().Start(ctx, "callout", trace.WithSpanKind(trace.SpanKindServer))
	code := s.serveCallout(w, r.WithContext(ctx))
	span.SetAttributes(attribute.Int("http.response.status_code", code))
	span.End()
	s.m.duration.WithLabelValues(strconv.Itoa(code)).Observe(time.Since(start).Seconds())
}

func (s *Server) serveCallout(w http.ResponseWriter, r *http.Request) int {
	// 1. Authenticate, before reading a byte of the body.
	if reason, ok := s.authenticate(r); !ok {
		s.m.rejected.WithLabelValues(reason).Inc()
		if reason == reasonAuth {
			s.log.Warn("callout refused: wrong or malformed credentials", "remote", r.RemoteAddr,
				"zuora_request_id", boundHeader(r.Header.Get(HeaderRequestID)))
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="`+Realm+`"`)
		return writeJSON(w, http.StatusUnauthorized, errorBody("authentication required", ""))
	}

	// 2. Cap the body: a declared length over the cap is refused unread, a body that turns out longer stops at the
	// cap (MaxBytesReader also makes the server close the connection instead of draining the rest).
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return s.tooLarge(w)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return s.tooLarge(w)
		}
		s.m.rejected.WithLabelValues(reasonInvalid).Inc()
		return writeJSON(w, http.StatusBadRequest, errorBody("unreadable body", "the request body could not be read"))
	}

	// 3. Parse and validate; 4. map to the CloudEvent.
	ev, msg, err := s.calloutEvent(r.Context(), r.Header, body)
	if err != nil {
		s.m.rejected.WithLabelValues(reasonInvalid).Inc()
		fb := errorBody("invalid callout", err.Error())
		s.log.Info("callout refused: invalid", "reason", fb.Reason, "zuora_request_id", boundHeader(r.Header.Get(HeaderRequestID)))
		return writeJSON(w, http.StatusBadRequest, fb)
	}

	// 5. Deliver: recorded already → 200; else publish, wait for the PubAck, record.
	code, err := s.deliver(r, ev, msg)
	if err != nil {
		s.m.rejected.WithLabelValues(reasonUnavailable).Inc()
		s.log.Warn("callout not stored: JetStream unavailable, answering 503 (Zuora retries it)", "event_id", ev.ID(),
			"type", ev.Type(), "err", err, "zuora_request_id", boundHeader(r.Header.Get(HeaderRequestID)))
		w.Header().Set("Retry-After", strconv.Itoa(int(s.cfg.RetryAfter.Round(time.Second)/time.Second)))
		return writeJSON(w, http.StatusServiceUnavailable, errorBody("unavailable", "the event could not be stored; retry later"))
	}
	return writeJSON(w, code, delivered200{Success: true, ID: ev.ID()})
}

func (s *Server) tooLarge(w http.ResponseWriter) int {
	s.m.rejected.WithLabelValues(reasonTooLarge).Inc()
	return writeJSON(w, http.StatusRequestEntityTooLarge,
		errorBody("body too large", "at most "+strconv.FormatInt(s.cfg.MaxBodyBytes, 10)+" bytes"))
}

// authenticate checks Basic credentials in constant time (the digests of both, so not even their lengths leak).
// It returns the rejection reason when they do not match. A bridge run open (InsecureNoAuth) accepts anything.
func (s *Server) authenticate(r *http.Request) (string, bool) {
	if s.cfg.InsecureNoAuth {
		return "", true
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		if r.Header.Get("Authorization") == "" {
			return reasonChallenge, false
		}
		return reasonAuth, false
	}
	u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	match := subtle.ConstantTimeCompare(u[:], s.userSum[:]) & subtle.ConstantTimeCompare(p[:], s.passSum[:])
	if match != 1 || !s.credentialsSet {
		return reasonAuth, false
	}
	return "", true
}

// calloutEvent turns a callout into its io.zuora.* CloudEvent: id from the notification (calloutID), partition
// key stiggCustomerId, else accountNumber, else accountId (events.PartitionKey's rule), CloudEvent subject the
// Zuora object the notification is about (its number, else its id), traceparent propagated when valid; and the
// NATS message that carries it (binary mode, Nats-Msg-Id = the event id, subject events.SubjectFor).
func (s *Server) calloutEvent(ctx context.Context, h http.Header, body []byte) (event.Event, *nats.Msg, error) {
	typ, p, err := events.ParseCallout(body)
	if err != nil {
		return event.Event{}, nil, err
	}
	key := partitionKeyOf(p)
	if key == "" {
		return event.Event{}, nil, &events.ValidationError{Scope: events.ScopeData, Field: "stiggCustomerId",
			Problem: "no ordering key: the callout carries none of stiggCustomerId, accountNumber, accountId", Err: events.ErrEmptyKey}
	}
	ev, err := events.New(typ, s.cfg.Source, objectOf(p), key, p)
	if err != nil {
		return event.Event{}, nil, err
	}
	id, err := calloutID(h, typ, ev.Data())
	if err != nil {
		return event.Event{}, nil, err
	}
	ev.SetID(id)
	// The callout's span (a malformed incoming trace header was ignored, never a reason to refuse).
	if tp, ts := tracing.Parent(ctx); tp != "" && events.SetTraceparent(&ev, tp) == nil && ts != "" {
		ev.SetExtension(events.ExtTracestate, ts)
	}
	msg, err := events.ToMsg("", ev)
	if err != nil {
		return event.Event{}, nil, err
	}
	return ev, msg, nil
}

// partitionKeyOf is the ordering key of a callout: the Stigg customer when the account carries it, else the
// account number, else the account id (the rule events.PartitionKey applies to io.zuora.* data).
func partitionKeyOf(p events.Payload) string {
	switch p := p.(type) {
	case *events.ZuoraInvoice:
		return first(p.StiggCustomerID, p.AccountNumber, p.AccountID)
	case *events.ZuoraPayment:
		return first(p.StiggCustomerID, p.AccountNumber, p.AccountID)
	case *events.ZuoraSubscription:
		return first(p.StiggCustomerID, p.AccountNumber, p.AccountID)
	case *events.ZuoraOrder:
		return first(p.StiggCustomerID, p.AccountNumber)
	case *events.ZuoraAccount:
		return first(p.StiggCustomerID, p.AccountNumber, p.AccountID)
	case *events.ZuoraPaymentMethodChanged:
		return first(p.StiggCustomerID, p.AccountNumber, p.AccountID)
	}
	return ""
}

// objectOf names the Zuora object a callout is about, the CloudEvent subject: the entity the consumer's ordering
// guard and parking track.
func objectOf(p events.Payload) string {
	switch p := p.(type) {
	case *events.ZuoraInvoice:
		return first(p.InvoiceNumber, p.InvoiceID)
	case *events.ZuoraPayment:
		return first(p.PaymentNumber, p.PaymentID)
	case *events.ZuoraSubscription:
		return first(p.SubscriptionNumber, p.SubscriptionID)
	case *events.ZuoraOrder:
		return first(p.OrderNumber, p.OrderID)
	case *events.ZuoraAccount:
		return first(p.AccountNumber, p.AccountID)
	case *events.ZuoraPaymentMethodChanged:
		return first(p.AccountNumber, p.AccountID)
	}
	return ""
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// errNotConnected: publishing now would only wait in the client's reconnect buffer until the timeout.
var errNotConnected = errors.New("NATS is not connected")

// deliver makes ev durable in the ZUORA stream exactly once per notification, as far as the record allows, and
// returns the status to answer. Any error means nothing is known to be stored and Zuora should retry.
func (s *Server) deliver(r *http.Request, ev event.Event, msg *nats.Msg) (int, error) {
	kv := s.callouts.Load()
	if kv == nil {
		return 0, errors.New("not provisioned")
	}
	if st := s.nc.Status(); st != nats.CONNECTED {
		return 0, errNotConnected
	}
	// The write is finished even if Zuora hangs up: once it is under way, recording it is what keeps the retry
	// from being stored a second time.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.cfg.PublishTimeout)
	defer cancel()
	seen, err := delivered(ctx, *kv, ev.ID())
	if err != nil {
		return 0, err
	}
	if seen {
		s.m.deduplicated.WithLabelValues(viaRecord).Inc()
		s.log.Info("callout delivered before; not stored again", "event_id", ev.ID(), "type", ev.Type(),
			"zuora_request_id", boundHeader(r.Header.Get(HeaderRequestID)))
		return http.StatusOK, nil
	}
	ack, err := s.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(topology.StreamZuora))
	if err != nil {
		return 0, err
	}
	if ack.Duplicate {
		s.m.deduplicated.WithLabelValues(viaStream).Inc()
	} else {
		s.m.published.Inc()
	}
	rec := deliveryRecord{Type: ev.Type(), Stream: ack.Stream, Sequence: ack.Sequence, Delivered: time.Now().UTC(),
		RequestID: boundHeader(r.Header.Get(HeaderRequestID))}
	if err := record(ctx, *kv, ev.ID(), rec); err != nil {
		// The event is stored: answer 200. Only a retry after the duplicate window would be stored again.
		s.m.recordFailed.Inc()
		s.log.Warn("callout stored but its delivery not recorded", "event_id", ev.ID(), "err", err)
	}
	s.log.Debug("callout stored", "event_id", ev.ID(), "type", ev.Type(), "seq", ack.Sequence, "duplicate", ack.Duplicate)
	return http.StatusOK, nil
}

// boundHeader keeps a header value fit for a log line.
func boundHeader(v string) string {
	if len(v) > 64 {
		v = v[:64] + "…"
	}
	return strings.ToValidUTF8(v, "?")
}

// delivered200 is the answer Zuora counts as delivered; "success" also satisfies a tenant that confirms success
// by parsing the response content.
type delivered200 struct {
	Success bool   `json:"success"`
	ID      string `json:"id"`
}

type failure struct {
	Success bool   `json:"success"`
	Error   string `json:"error"`
	Reason  string `json:"reason,omitempty"`
}

func errorBody(msg, reason string) failure {
	if len(reason) > maxReason {
		reason = strings.ToValidUTF8(reason[:maxReason], "") + "…"
	}
	return failure{Error: msg, Reason: reason}
}

func writeJSON(w http.ResponseWriter, code int, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		b, code = []byte(`{"success":false}`), http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
	return code
}
