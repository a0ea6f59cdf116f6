package zuoraapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Callout history, V1: GET /v1/notification-history/callout (GETCalloutHistoryVOsType) and POST
// /notifications/callout-histories/resend (an array of history ids → ResendCalloutNotificationsFailedResponse).
// The spec's item has no id although resend takes history ids; Zuora's answers carry one ("id"), and the
// Zuora-Notification-Id of the deliveries ("notificationId"), which this client reads when present.

// CalloutHistory is one notification delivery and the outcome of its latest attempt.
type CalloutHistory struct {
	ID              string `json:"id,omitempty"`
	NotificationID  string `json:"notificationId,omitempty"`
	Notification    string `json:"notification,omitempty"` // the notification definition's name
	EventCategory   string `json:"eventCategory,omitempty"`
	EventContext    string `json:"eventContext,omitempty"`
	AttemptedNum    string `json:"attemptedNum,omitempty"`
	CreateTime      string `json:"createTime,omitempty"`
	RequestMethod   string `json:"requestMethod,omitempty"`
	RequestURL      string `json:"requestUrl,omitempty"`
	ResponseCode    string `json:"responseCode,omitempty"`
	ResponseContent string `json:"responseContent,omitempty"`
}

// CalloutHistoryQuery filters the history; zero fields are left to Zuora's defaults (the last 24 hours, failed
// deliveries only).
type CalloutHistoryQuery struct {
	StartTime, EndTime time.Time
	ObjectID           string
	// AllDeliveries lists successful deliveries too (failedOnly=false).
	AllDeliveries bool
}

// historyTimeLayout is how the history's times are written (UTC).
const historyTimeLayout = "2006-01-02T15:04:05"

// ListCalloutHistory reads every page of the callout history matching q, oldest first.
func (c *Client) ListCalloutHistory(ctx context.Context, q CalloutHistoryQuery) ([]CalloutHistory, error) {
	v := url.Values{}
	if !q.StartTime.IsZero() {
		v.Set("startTime", q.StartTime.UTC().Format(historyTimeLayout))
	}
	if !q.EndTime.IsZero() {
		v.Set("endTime", q.EndTime.UTC().Format(historyTimeLayout))
	}
	if q.ObjectID != "" {
		v.Set("objectId", q.ObjectID)
	}
	if q.AllDeliveries {
		v.Set("failedOnly", "false")
	}
	path := "/v1/notification-history/callout"
	var all []CalloutHistory
	for range 1000 { // a bound on pages, against an answer that links to itself
		var page struct {
			CalloutHistories []CalloutHistory `json:"calloutHistories"`
			NextPage         string           `json:"nextPage"`
		}
		if err := c.Do(ctx, Request{Path: path, Query: v}, &page); err != nil {
			return nil, err
		}
		all = append(all, page.CalloutHistories...)
		next, ok := c.sameHostPath(page.NextPage)
		if !ok || len(page.CalloutHistories) == 0 {
			return all, nil
		}
		if next.Path == path && next.Query().Encode() == v.Encode() {
			return all, nil // the page links to itself: reading it again would only repeat it
		}
		path, v = next.Path, next.Query()
	}
	return all, nil
}

// sameHostPath turns a nextPage link (absolute or a path) into a path on this client's host; links elsewhere are
// not followed.
func (c *Client) sameHostPath(link string) (*url.URL, bool) {
	if link == "" {
		return nil, false
	}
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(u.Path, "/") {
		return nil, false
	}
	if u.Host != "" {
		base, err := url.Parse(c.BaseURL())
		if err != nil || !strings.EqualFold(base.Host, u.Host) {
			return nil, false
		}
	}
	return u, true
}

// ResendCallouts asks Zuora to deliver the given history entries again (202). It returns the entries Zuora
// refused, by id, with the reason; an error when it accepted none.
func (c *Client) ResendCallouts(ctx context.Context, step string, ids []string) (map[string]Reason, error) {
	refused := map[string]Reason{}
	if err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/notifications/callout-histories/resend", Body: ids, Step: step}, &refused); err != nil {
		return nil, err
	}
	return refused, nil
}
