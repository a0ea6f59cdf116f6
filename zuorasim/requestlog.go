package zuorasim

import (
	"sync"
	"time"
)

// RequestRecord is one Zuora call as the simulator saw it. Admin (/_sim/) calls are not recorded.
type RequestRecord struct {
	Time           time.Time `json:"time"` // simulated time at arrival
	Method         string    `json:"method"`
	Path           string    `json:"path"`
	Query          string    `json:"query,omitempty"`
	Status         int       `json:"status"` // 0 when the client went away before an answer (hang)
	RequestID      string    `json:"requestId"`
	IdempotencyKey string    `json:"idempotencyKey,omitempty"`
	TrackID        string    `json:"trackId,omitempty"`
	Replayed       bool      `json:"replayed"` // served from the idempotency store
	Fault          string    `json:"fault,omitempty"`
	Traceparent    string    `json:"traceparent,omitempty"` // the caller's W3C trace context
}

type requestLog struct {
	mu      sync.Mutex
	records []RequestRecord
}

func (l *requestLog) add(r RequestRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r)
}

func (l *requestLog) snapshot() []RequestRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]RequestRecord{}, l.records...)
}

func (l *requestLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = nil
}

// Requests returns the log of Zuora calls in arrival-completion order.
func (s *Sim) Requests() []RequestRecord { return s.reqlog.snapshot() }

// ResetRequests empties the request log.
func (s *Sim) ResetRequests() { s.reqlog.reset() }
