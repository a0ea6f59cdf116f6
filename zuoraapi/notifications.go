package zuoraapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Zuora's notification set-up, as the V1 spec has it (paths without /v1): custom event triggers
// (/events/event-triggers: PostEventTriggerRequest, PutEventTriggerRequest → EventTrigger), callout templates
// (/notifications/callout-templates: POSTPublicCalloutTemplateRequest → GETPublicCalloutTemplateResponse) and
// notification definitions (/notifications/notification-definitions: POSTPublicNotificationDefinitionRequest →
// GETPublicNotificationDefinitionResponse). Lists page with start/limit and answer {data, next}.

// EventType names a custom event: Name is unique in the tenant (^[A-Za-z][\w\-]*$).
type EventType struct {
	Name        string `json:"name,omitempty"`
	DisplayName string `json:"displayName"`
}

// EventTrigger is a custom event trigger: when a change of BaseObject satisfies Condition (JEXL over the change:
// changeType, <Object>.<Field>, <Object>.<Field>_old), Zuora raises EventType.
type EventTrigger struct {
	ID         string    `json:"id,omitempty"`
	Active     bool      `json:"active"`
	BaseObject string    `json:"baseObject,omitempty"`
	Condition  string    `json:"condition"`
	EventType  EventType `json:"eventType"`
}

// CalloutAuth is a callout's Basic authentication; Preemptive sends it on the first request (Zuora's default is
// to wait for the receiver's 401).
type CalloutAuth struct {
	Username   string `json:"username,omitempty"`
	Password   string `json:"password,omitempty"`
	Domain     string `json:"domain,omitempty"`
	Preemptive bool   `json:"preemptive,omitempty"`
}

// CalloutTemplate is a callout template: the request Zuora sends when its event type is raised.
type CalloutTemplate struct {
	ID                 string            `json:"id,omitempty"`
	Name               string            `json:"name"`
	Active             bool              `json:"active"`
	CalloutBaseurl     string            `json:"calloutBaseurl"`
	HTTPMethod         string            `json:"httpMethod"`
	EventTypeName      string            `json:"eventTypeName,omitempty"`
	EventTypeNamespace string            `json:"eventTypeNamespace,omitempty"`
	CalloutParams      map[string]string `json:"calloutParams,omitempty"`
	CalloutHeaders     map[string]string `json:"calloutHeaders,omitempty"`
	CalloutRetry       bool              `json:"calloutRetry"`
	RequiredAuth       bool              `json:"requiredAuth"`
	CalloutAuth        *CalloutAuth      `json:"calloutAuth,omitempty"`
	ContentType        string            `json:"contentType,omitempty"` // answers only
}

// NotificationDefinition links an event type to callout templates.
type NotificationDefinition struct {
	ID                 string   `json:"id,omitempty"`
	Name               string   `json:"name"`
	Active             bool     `json:"active"`
	EventTypeName      string   `json:"eventTypeName,omitempty"`
	EventTypeNamespace string   `json:"eventTypeNamespace,omitempty"`
	CalloutActive      bool     `json:"calloutActive"`
	CalloutTemplateIDs []string `json:"calloutTemplateIds,omitempty"`
}

// EventTypeNamespaceUser is the namespace of custom events.
const EventTypeNamespaceUser = "user.notification"

// pageLimit is the page size of the notification set-up lists.
const pageLimit = 50

// maxNotificationPages bounds the notification set-up lists (5000 entries; a tenant's email notifications count
// among the definitions).
const maxNotificationPages = 100

// listPages reads every page of a {data, next} list. first is where the list's start index begins: 0 for the
// event triggers, 1 for templates and definitions (the spec's defaults). The provisioner creates what the list
// lacks, so a list that cannot be read to its end is an error, not a short list: more pages than the bound, or a
// page that links to the same next page as the one before (the start index is not being honoured).
func listPages[T any](ctx context.Context, c *Client, path string, first int, q url.Values) ([]T, error) {
	var all []T
	prevNext := ""
	for n, start := 0, first; ; n, start = n+1, start+pageLimit {
		if n == maxNotificationPages {
			return nil, tooManyPages(path, maxNotificationPages)
		}
		pq := url.Values{}
		for k, v := range q {
			pq[k] = v
		}
		pq.Set("start", strconv.Itoa(start))
		pq.Set("limit", strconv.Itoa(pageLimit))
		var page struct {
			Data []T    `json:"data"`
			Next string `json:"next"`
		}
		if err := c.Do(ctx, Request{Path: path, Query: pq}, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Data...)
		if page.Next == "" || len(page.Data) == 0 {
			return all, nil
		}
		if page.Next == prevNext {
			return nil, &Error{Kind: KindUnknown, StatusCode: http.StatusOK, Method: http.MethodGet, Path: path,
				Message: "the list does not advance: two pages link to the same next page " + page.Next}
		}
		prevNext = page.Next
	}
}

// ListEventTriggers lists the tenant's custom event triggers; eventTypeName "" lists all.
func (c *Client) ListEventTriggers(ctx context.Context, eventTypeName string) ([]EventTrigger, error) {
	q := url.Values{}
	if eventTypeName != "" {
		q.Set("eventTypeName", eventTypeName)
	}
	return listPages[EventTrigger](ctx, c, "/events/event-triggers", 0, q)
}

// CreateEventTrigger creates a custom event trigger (POST /events/event-triggers).
func (c *Client) CreateEventTrigger(ctx context.Context, step string, t *EventTrigger) (*EventTrigger, error) {
	body := *t
	body.ID = ""
	var out EventTrigger
	if err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/events/event-triggers", Body: &body, Step: step}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// EventTriggerUpdate is what PUT /events/event-triggers/{id} may change.
type EventTriggerUpdate struct {
	Active    *bool      `json:"active,omitempty"`
	Condition string     `json:"condition,omitempty"`
	EventType *EventType `json:"eventType,omitempty"` // only DisplayName changes
}

// UpdateEventTrigger changes a trigger's condition, activity or display name.
func (c *Client) UpdateEventTrigger(ctx context.Context, id string, u *EventTriggerUpdate) (*EventTrigger, error) {
	body := *u
	if body.EventType != nil {
		body.EventType = &EventType{DisplayName: body.EventType.DisplayName}
	}
	var out EventTrigger
	if err := c.Do(ctx, Request{Method: http.MethodPut, Path: "/events/event-triggers/" + url.PathEscape(id), Body: &body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteEventTrigger deletes a trigger (204).
func (c *Client) DeleteEventTrigger(ctx context.Context, id string) error {
	return c.Do(ctx, Request{Method: http.MethodDelete, Path: "/events/event-triggers/" + url.PathEscape(id)}, nil)
}

// ListCalloutTemplates lists every callout template.
func (c *Client) ListCalloutTemplates(ctx context.Context) ([]CalloutTemplate, error) {
	return listPages[CalloutTemplate](ctx, c, "/notifications/callout-templates", 1, nil)
}

// CreateCalloutTemplate creates a callout template.
func (c *Client) CreateCalloutTemplate(ctx context.Context, step string, t *CalloutTemplate) (*CalloutTemplate, error) {
	body := *t
	body.ID, body.ContentType = "", ""
	var out CalloutTemplate
	if err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/notifications/callout-templates", Body: &body, Step: step}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateCalloutTemplate replaces a callout template's settings.
func (c *Client) UpdateCalloutTemplate(ctx context.Context, id string, t *CalloutTemplate) (*CalloutTemplate, error) {
	body := *t
	body.ID, body.ContentType = "", ""
	var out CalloutTemplate
	if err := c.Do(ctx, Request{Method: http.MethodPut, Path: "/notifications/callout-templates/" + url.PathEscape(id), Body: &body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteCalloutTemplate deletes a callout template (204).
func (c *Client) DeleteCalloutTemplate(ctx context.Context, id string) error {
	return c.Do(ctx, Request{Method: http.MethodDelete, Path: "/notifications/callout-templates/" + url.PathEscape(id)}, nil)
}

// ListNotificationDefinitions lists every notification definition.
func (c *Client) ListNotificationDefinitions(ctx context.Context) ([]NotificationDefinition, error) {
	return listPages[NotificationDefinition](ctx, c, "/notifications/notification-definitions", 1, nil)
}

// CreateNotificationDefinition creates a notification definition.
func (c *Client) CreateNotificationDefinition(ctx context.Context, step string, d *NotificationDefinition) (*NotificationDefinition, error) {
	body := *d
	body.ID = ""
	var out NotificationDefinition
	if err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/notifications/notification-definitions", Body: &body, Step: step}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateNotificationDefinition replaces a notification definition's settings (its event type cannot change).
func (c *Client) UpdateNotificationDefinition(ctx context.Context, id string, d *NotificationDefinition) (*NotificationDefinition, error) {
	body := *d
	body.ID, body.EventTypeName, body.EventTypeNamespace = "", "", ""
	var out NotificationDefinition
	if err := c.Do(ctx, Request{Method: http.MethodPut, Path: "/notifications/notification-definitions/" + url.PathEscape(id), Body: &body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteNotificationDefinition deletes a notification definition (204).
func (c *Client) DeleteNotificationDefinition(ctx context.Context, id string) error {
	return c.Do(ctx, Request{Method: http.MethodDelete, Path: "/notifications/notification-definitions/" + url.PathEscape(id)}, nil)
}
