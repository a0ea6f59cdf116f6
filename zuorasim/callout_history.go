package zuorasim

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Callout history: one record per notification delivery (a definition's callout for one fired event), updated
// with every attempt; GET /v1/notification-history/callout lists them and POST
// /notifications/callout-histories/resend delivers them again.
//
// GET filters (Zuora's documentation): startTime/endTime on the record's createTime (endTime defaults to now,
// startTime to endTime − 1 day; simulated time; yyyy-MM-ddTHH:mm:ss in UTC or RFC 3339), objectId (the base
// object's id), failedOnly (default true: records whose latest attempt did not get a 200), eventCategory
// ("<namespace>:<event type name>" or the name alone), includeResponseContent (default false), page ≥ 1 and
// pageSize ≤ 40 (default 20). Items are the spec's GETCalloutHistoryVOType, oldest first.
// Deviations [inferred; the spec's item has no id although resend takes history ids]: every item also carries
// "id" (what resend takes) and "notificationId" (the Zuora-Notification-Id of its deliveries), and eventContext is
// the callout's parameters as a JSON object (the rendered calloutParams, what the body carries).
//
// Resend takes an array of history ids: each is delivered again under its Zuora-Notification-Id with a fresh round
// of attempts (the same retry rule). 202 with {} when all were accepted, 202 with {id: {code, message}} for the
// ones refused (unknown id, a delivery in flight), 400 with that map when none was accepted.

// CalloutAttempt is one delivery attempt.
type CalloutAttempt struct {
	Number          int       `json:"number"`    // 1, 2, ... across rounds
	RequestID       string    `json:"requestId"` // Zuora-Request-Id of the attempt
	Time            time.Time `json:"time"`      // simulated time of the attempt
	Authorized      bool      `json:"authorized"`
	ResponseCode    int       `json:"responseCode"` // 0: no response (connection refused, timeout)
	ResponseContent string    `json:"responseContent,omitempty"`
	Error           string    `json:"error,omitempty"`
}

// Callout delivery states.
const (
	CalloutPending   = "pending"   // due now or waiting for its next attempt
	CalloutDelivered = "delivered" // an attempt got a 200
	CalloutFailed    = "failed"    // every attempt of its round failed
)

// CalloutHistoryEntry is one notification delivery with its attempts (Sim.CalloutHistory, /_sim/state).
type CalloutHistoryEntry struct {
	ID                       string            `json:"id"`
	NotificationID           string            `json:"notificationId"`
	Notification             string            `json:"notification"` // the notification definition's name
	NotificationDefinitionID string            `json:"notificationDefinitionId"`
	CalloutTemplateID        string            `json:"calloutTemplateId,omitempty"` // "" for a definition's inline callout
	EventCategory            string            `json:"eventCategory"`
	BaseObject               string            `json:"baseObject"`
	ObjectID                 string            `json:"objectId"`
	ChangeType               string            `json:"changeType"`
	RequestMethod            string            `json:"requestMethod"`
	RequestURL               string            `json:"requestUrl"`
	RequestBody              string            `json:"requestBody"`
	Parameters               map[string]string `json:"parameters"`
	Status                   string            `json:"status"`
	AttemptedNum             int               `json:"attemptedNum"`
	ResponseCode             int               `json:"responseCode"`
	ResponseContent          string            `json:"responseContent,omitempty"`
	CreateTime               time.Time         `json:"createTime"`
	NextAttempt              *time.Time        `json:"nextAttempt,omitempty"`
	Attempts                 []CalloutAttempt  `json:"attempts"`
}

// calloutRecord is the stored delivery: the entry plus what the sender needs.
type calloutRecord struct {
	CalloutHistoryEntry
	headers    map[string]string // the template's custom headers, rendered
	auth       *CalloutAuth      // Basic auth, nil without
	retry      bool              // calloutRetry
	inFlight   bool
	nextAt     time.Time // when pending: the earliest time of the next attempt
	roundStart int       // attempts made before the current round (resend starts a new one)
}

func (c *calloutRecord) view() CalloutHistoryEntry {
	v := c.CalloutHistoryEntry
	v.Parameters = maps.Clone(v.Parameters)
	v.Attempts = slices.Clone(v.Attempts)
	if v.Attempts == nil {
		v.Attempts = []CalloutAttempt{}
	}
	if c.Status == CalloutPending {
		t := c.nextAt
		v.NextAttempt = &t
	}
	return v
}

// failedLast reports whether the latest attempt did not succeed.
func (c *calloutRecord) failedLast() bool {
	return len(c.Attempts) > 0 && c.Attempts[len(c.Attempts)-1].ResponseCode != http.StatusOK
}

// CalloutHistory returns every callout delivery, oldest first.
func (s *Sim) CalloutHistory() []CalloutHistoryEntry {
	st := s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.calloutHistoryState()
}

func (st *store) calloutHistoryState() []CalloutHistoryEntry {
	out := make([]CalloutHistoryEntry, 0, len(st.ntf.history))
	for _, c := range st.ntf.history {
		out = append(out, c.view())
	}
	return out
}

// WaitCallouts returns once no callout delivery is in flight or due (deliveries waiting for a later time on the
// simulated clock do not count: advance the clock to make them due), or with ctx's error.
func (s *Sim) WaitCallouts(ctx context.Context) error {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		if !s.calloutsBusy() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closing:
			return nil
		case <-t.C:
		}
	}
}

func (s *Sim) calloutsBusy() bool {
	st := s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	now := s.Now()
	for _, c := range st.ntf.history {
		if c.inFlight || c.Status == CalloutPending && !c.nextAt.After(now) {
			return true
		}
	}
	return false
}

// ---- GET /v1/notification-history/callout ----

type calloutHistoryVO struct {
	ID              string `json:"id"`
	NotificationID  string `json:"notificationId"`
	AttemptedNum    string `json:"attemptedNum"`
	CreateTime      string `json:"createTime"`
	EventCategory   string `json:"eventCategory"`
	EventContext    string `json:"eventContext"`
	Notification    string `json:"notification"`
	RequestMethod   string `json:"requestMethod"`
	RequestURL      string `json:"requestUrl"`
	ResponseCode    string `json:"responseCode"`
	ResponseContent string `json:"responseContent,omitempty"`
}

type calloutHistoryPage struct {
	CalloutHistories []calloutHistoryVO `json:"calloutHistories"`
	NextPage         string             `json:"nextPage,omitempty"`
	Success          bool               `json:"success"`
}

func parseHistoryTime(param, v string) (time.Time, *apiError) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errInvalid(param, "'%s' must be a date-time (yyyy-MM-ddTHH:mm:ss)", param).withStatus(http.StatusBadRequest)
}

func parseBoolParam(param, v string, def bool) (bool, *apiError) {
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errInvalid(param, "'%s' must be true or false", param).withStatus(http.StatusBadRequest)
	}
	return b, nil
}

func (s *Sim) listCalloutHistory(r *http.Request, st *store) (reply, *apiError) {
	q := r.URL.Query()
	page, size := 1, 20
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return reply{}, errInvalid("page", "'page' must be an integer of at least 1").withStatus(http.StatusBadRequest)
		}
		page = n
	}
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 40 {
			return reply{}, errInvalid("pageSize", "'pageSize' must be an integer from 1 to 40").withStatus(http.StatusBadRequest)
		}
		size = n
	}
	end := s.Now()
	if v := q.Get("endTime"); v != "" {
		t, e := parseHistoryTime("endTime", v)
		if e != nil {
			return reply{}, e
		}
		end = t
	}
	start := end.Add(-24 * time.Hour)
	if v := q.Get("startTime"); v != "" {
		t, e := parseHistoryTime("startTime", v)
		if e != nil {
			return reply{}, e
		}
		start = t
	}
	failedOnly, e := parseBoolParam("failedOnly", q.Get("failedOnly"), true)
	if e != nil {
		return reply{}, e
	}
	withContent, e := parseBoolParam("includeResponseContent", q.Get("includeResponseContent"), false)
	if e != nil {
		return reply{}, e
	}
	category, objectID := q.Get("eventCategory"), q.Get("objectId")
	var rows []calloutHistoryVO
	for _, c := range st.ntf.history {
		switch {
		case c.CreateTime.Before(start) || c.CreateTime.After(end):
			continue
		case objectID != "" && c.ObjectID != objectID:
			continue
		case failedOnly && !c.failedLast():
			continue
		case category != "" && c.EventCategory != category && !strings.HasSuffix(c.EventCategory, ":"+category):
			continue
		}
		ctx, _ := json.Marshal(c.Parameters)
		vo := calloutHistoryVO{ID: c.ID, NotificationID: c.NotificationID, AttemptedNum: strconv.Itoa(c.AttemptedNum),
			CreateTime: c.CreateTime.UTC().Format("2006-01-02T15:04:05"), EventCategory: c.EventCategory,
			EventContext: string(ctx), Notification: c.Notification, RequestMethod: c.RequestMethod,
			RequestURL: c.RequestURL}
		if c.AttemptedNum > 0 {
			vo.ResponseCode = strconv.Itoa(c.ResponseCode)
		}
		if withContent {
			vo.ResponseContent = c.ResponseContent
		}
		rows = append(rows, vo)
	}
	out := calloutHistoryPage{Success: true, CalloutHistories: []calloutHistoryVO{}}
	from := (page - 1) * size
	if from < len(rows) {
		out.CalloutHistories = rows[from:min(from+size, len(rows))]
	}
	if from+size < len(rows) {
		nq := r.URL.Query()
		nq.Set("page", strconv.Itoa(page+1))
		nq.Set("pageSize", strconv.Itoa(size))
		out.NextPage = r.URL.Path + "?" + nq.Encode()
	}
	return replyOK(out), nil
}

// ---- POST /notifications/callout-histories/resend ----

type resendFailure struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (s *Sim) resendCallouts(r *http.Request, st *store) (reply, *apiError) {
	var ids []string
	if e := decodeNotifBody(r, &ids); e != nil {
		return reply{}, e
	}
	failed := map[string]resendFailure{}
	now := s.Now()
	accepted := 0
	for _, id := range ids {
		c := st.ntf.historyByID[id]
		switch {
		case c == nil:
			failed[id] = resendFailure{Code: "ObjectNotFound", Message: "no callout history with id '" + id + "'"}
		case c.inFlight:
			failed[id] = resendFailure{Code: "InvalidValue", Message: "callout history '" + id + "' is being delivered"}
		default:
			c.Status, c.nextAt, c.roundStart = CalloutPending, now, c.AttemptedNum
			accepted++
		}
	}
	if accepted == 0 {
		return replyWith(http.StatusBadRequest, failed), nil
	}
	st.kickCallouts()
	return replyWith(http.StatusAccepted, failed), nil
}
