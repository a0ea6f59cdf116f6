package zuorasim

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
)

// Notification definitions (BEHAVIOUR.md §6): POST /notifications/notification-definitions, GET (list, filters
// eventTypeName, eventCategory, profileId, emailTemplateId; start from 1, limit 1..100, default 20), GET/PUT/
// DELETE /notifications/notification-definitions/{id}. A definition links an event type (eventTypeName in
// eventTypeNamespace, default user.notification; or a standard eventCategory) to its callouts: the templates named
// in calloutTemplateIds (each must exist) and/or one inline callout {name*, calloutBaseurl*, httpMethod*,
// calloutParams, requiredAuth, calloutAuth, calloutRetry, active}. Callouts are sent only when the definition is
// active (default true) and calloutActive (default false, as in the spec). A user.notification event type must
// have been defined by a custom event trigger [inferred]. filterRule/filterRuleParams, email and communication
// profile settings are stored and echoed; the simulator does not evaluate filter rules or send email. Standard
// events (eventCategory) never fire in the simulator.

// NotificationCallout is a definition's inline callout.
type NotificationCallout struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Active           bool              `json:"active"`
	HTTPMethod       string            `json:"httpMethod"`
	CalloutBaseurl   string            `json:"calloutBaseurl"`
	CalloutParams    map[string]string `json:"calloutParams"`
	CalloutRetry     bool              `json:"calloutRetry"`
	RequiredAuth     bool              `json:"requiredAuth"`
	CalloutAuth      *CalloutAuth      `json:"calloutAuth,omitempty"`
	RequiredOauth2   bool              `json:"requiredOauth2"`
	Oauth2ProviderID string            `json:"oauth2ProviderId,omitempty"`
	EventTypeName    string            `json:"eventTypeName,omitempty"`
}

// NotificationDefinition is a definition as the API returns it ("GETPublicNotificationDefinitionResponse").
type NotificationDefinition struct {
	ID                      string               `json:"id"`
	Name                    string               `json:"name"`
	Description             string               `json:"description,omitempty"`
	Active                  bool                 `json:"active"`
	EventTypeName           string               `json:"eventTypeName,omitempty"`
	EventTypeNamespace      string               `json:"eventTypeNamespace,omitempty"`
	EventCategory           *float64             `json:"eventCategory,omitempty"`
	CalloutActive           bool                 `json:"calloutActive"`
	CalloutTemplateIDs      []string             `json:"calloutTemplateIds"`
	Callout                 *NotificationCallout `json:"callout,omitempty"`
	EmailActive             bool                 `json:"emailActive"`
	EmailTemplateID         string               `json:"emailTemplateId,omitempty"`
	CommunicationProfileID  string               `json:"communicationProfileId,omitempty"`
	CommunicationProfileIDs []string             `json:"communicationProfileIds"`
	AssociatedAccount       string               `json:"associatedAccount,omitempty"`
	FilterRule              map[string]any       `json:"filterRule,omitempty"`
	FilterRuleParams        map[string]string    `json:"filterRuleParams,omitempty"`
	CreatedBy               string               `json:"createdBy"`
	CreatedOn               string               `json:"createdOn"`
	UpdatedBy               string               `json:"updatedBy"`
	UpdatedOn               string               `json:"updatedOn"`
}

type notificationDefinition struct {
	NotificationDefinition // Callout.CalloutAuth.Password is the real one here
}

type notificationCalloutIn struct {
	Name             *string           `json:"name"`
	Active           *bool             `json:"active"`
	HTTPMethod       *string           `json:"httpMethod"`
	CalloutBaseurl   *string           `json:"calloutBaseurl"`
	CalloutParams    map[string]string `json:"calloutParams"`
	CalloutRetry     *bool             `json:"calloutRetry"`
	RequiredAuth     *bool             `json:"requiredAuth"`
	CalloutAuth      *CalloutAuth      `json:"calloutAuth"`
	RequiredOauth2   *bool             `json:"requiredOauth2"`
	Oauth2ProviderID *string           `json:"oauth2ProviderId"`
	EventTypeName    *string           `json:"eventTypeName"`
}

type notificationDefinitionIn struct {
	Name                    *string                `json:"name"`
	Description             *string                `json:"description"`
	Active                  *bool                  `json:"active"`
	EventTypeName           *string                `json:"eventTypeName"`
	EventTypeNamespace      *string                `json:"eventTypeNamespace"`
	EventCategory           *float64               `json:"eventCategory"`
	CalloutActive           *bool                  `json:"calloutActive"`
	CalloutTemplateIDs      []string               `json:"calloutTemplateIds"`
	Callout                 *notificationCalloutIn `json:"callout"`
	EmailActive             *bool                  `json:"emailActive"`
	EmailTemplateID         *string                `json:"emailTemplateId"`
	CommunicationProfileID  *string                `json:"communicationProfileId"`
	CommunicationProfileIDs []string               `json:"communicationProfileIds"`
	AssociatedAccount       *string                `json:"associatedAccount"`
	FilterRule              map[string]any         `json:"filterRule"`
	FilterRuleParams        map[string]string      `json:"filterRuleParams"`
}

var notificationDefinitions = notifResource[notificationDefinition, NotificationDefinition]{
	noun: "notification definition", param: "id",
	rows: func(st *store) *[]*notificationDefinition { return &st.ntf.definitions },
	key:  func(d *notificationDefinition) string { return d.ID }, view: (*notificationDefinition).view,
	startBase: 1, defLimit: 20, maxLimit: 100}

func (d *notificationDefinition) view() NotificationDefinition {
	v := d.NotificationDefinition
	v.CalloutTemplateIDs = slices.Clone(orEmpty(v.CalloutTemplateIDs))
	v.CommunicationProfileIDs = slices.Clone(orEmpty(v.CommunicationProfileIDs))
	v.FilterRule = maps.Clone(v.FilterRule)
	v.FilterRuleParams = maps.Clone(v.FilterRuleParams)
	if c := v.Callout; c != nil {
		cc := *c
		cc.CalloutParams = maps.Clone(c.CalloutParams)
		cc.CalloutAuth = maskedAuth(c.CalloutAuth)
		v.Callout = &cc
	}
	return v
}

// applyCallout validates an inline callout and applies it onto c.
func applyCallout(c *NotificationCallout, in *notificationCalloutIn, create bool) *apiError {
	if create {
		switch {
		case in.Name == nil:
			return errNotifMissing("callout.name")
		case in.CalloutBaseurl == nil:
			return errNotifMissing("callout.calloutBaseurl")
		case in.HTTPMethod == nil:
			return errNotifMissing("callout.httpMethod")
		}
	}
	if in.Name != nil {
		if *in.Name == "" || len(*in.Name) > 255 {
			return errNotifInvalid("callout.name must be 1 to 255 characters")
		}
		c.Name = *in.Name
	}
	if e := applyCalloutTarget("callout.", &c.HTTPMethod, &c.CalloutBaseurl, in.HTTPMethod, in.CalloutBaseurl); e != nil {
		return e
	}
	if in.CalloutParams != nil {
		c.CalloutParams = maps.Clone(in.CalloutParams)
	}
	for _, p := range []struct{ dst, src *bool }{{&c.Active, in.Active}, {&c.CalloutRetry, in.CalloutRetry},
		{&c.RequiredAuth, in.RequiredAuth}, {&c.RequiredOauth2, in.RequiredOauth2}} {
		if p.src != nil {
			*p.dst = *p.src
		}
	}
	if in.Oauth2ProviderID != nil {
		c.Oauth2ProviderID = *in.Oauth2ProviderID
	}
	return applyCalloutAuth("callout.", &c.CalloutAuth, in.CalloutAuth, c.RequiredAuth)
}

// applyDefinition validates in and applies it onto d.
func (st *store) applyDefinition(d *notificationDefinition, in *notificationDefinitionIn, create bool) *apiError {
	if create {
		switch {
		case in.Name == nil:
			return errNotifMissing("name")
		case in.EventTypeName == nil && in.EventCategory == nil:
			return errNotifMissing("eventTypeName")
		case in.EventTypeName != nil && in.EventCategory != nil:
			return errNotifInvalid("give either eventTypeName or eventCategory, not both")
		}
		d.EventCategory = in.EventCategory
		if in.EventTypeName != nil {
			d.EventTypeName, d.EventTypeNamespace = *in.EventTypeName, "user.notification"
			if ns := in.EventTypeNamespace; ns != nil {
				if !eventNamespaces[*ns] {
					return errNotifInvalid("eventTypeNamespace must be user.notification or com.zuora.notification")
				}
				d.EventTypeNamespace = *ns
			}
			if d.EventTypeNamespace == "user.notification" && !st.eventTypeDefined(d.EventTypeName) {
				return errNotifInvalid("eventTypeName '%s' is not an event type of the tenant: create its event trigger first", d.EventTypeName)
			}
		}
	}
	if in.Name != nil {
		if *in.Name == "" || len(*in.Name) > 255 {
			return errNotifInvalid("name must be 1 to 255 characters")
		}
		d.Name = *in.Name
	}
	if in.CalloutTemplateIDs != nil {
		for _, id := range in.CalloutTemplateIDs {
			t := st.template(id)
			if t == nil {
				return errNotifInvalid("calloutTemplateIds: callout template '%s' does not exist", id)
			}
			if t.EventTypeName != "" && d.EventTypeName != "" && t.EventTypeName != d.EventTypeName {
				return errNotifInvalid("calloutTemplateIds: callout template '%s' is for event type '%s', not '%s'", id, t.EventTypeName, d.EventTypeName)
			}
		}
		d.CalloutTemplateIDs = slices.Compact(slices.Clone(in.CalloutTemplateIDs))
	}
	if in.Callout != nil {
		c := &NotificationCallout{ID: newUUID(), Active: true, CalloutRetry: true, CalloutParams: map[string]string{},
			EventTypeName: d.EventTypeName}
		creating := d.Callout == nil
		if !creating {
			cc := *d.Callout
			c = &cc
		}
		if e := applyCallout(c, in.Callout, creating); e != nil {
			return e
		}
		d.Callout = c
	}
	for _, p := range []struct{ dst, src *bool }{{&d.Active, in.Active}, {&d.CalloutActive, in.CalloutActive},
		{&d.EmailActive, in.EmailActive}} {
		if p.src != nil {
			*p.dst = *p.src
		}
	}
	for _, p := range []struct{ dst, src *string }{{&d.Description, in.Description},
		{&d.EmailTemplateID, in.EmailTemplateID}, {&d.CommunicationProfileID, in.CommunicationProfileID},
		{&d.AssociatedAccount, in.AssociatedAccount}} {
		if p.src != nil {
			*p.dst = *p.src
		}
	}
	if in.CommunicationProfileIDs != nil {
		d.CommunicationProfileIDs = slices.Clone(in.CommunicationProfileIDs)
	}
	if in.FilterRule != nil {
		d.FilterRule = maps.Clone(in.FilterRule)
	}
	if in.FilterRuleParams != nil {
		d.FilterRuleParams = maps.Clone(in.FilterRuleParams)
	}
	if d.CalloutActive && len(d.CalloutTemplateIDs) == 0 && d.Callout == nil {
		return errNotifInvalid("calloutActive needs a callout: calloutTemplateIds or callout")
	}
	return nil
}

func (s *Sim) createNotificationDefinition(r *http.Request, st *store) (reply, *apiError) {
	return createRow(notificationDefinitions, r, st, func(in *notificationDefinitionIn) (*notificationDefinition, *apiError) {
		now := notifTime(s.Now())
		d := &notificationDefinition{NotificationDefinition{ID: newUUID(), Active: true, CalloutTemplateIDs: []string{},
			CommunicationProfileIDs: []string{}, CreatedBy: simUserUUID, CreatedOn: now, UpdatedBy: simUserUUID,
			UpdatedOn: now}}
		if e := st.applyDefinition(d, in, true); e != nil {
			return nil, e
		}
		return d, nil
	})
}

func (s *Sim) listNotificationDefinitions(r *http.Request, st *store) (reply, *apiError) {
	return notificationDefinitions.list(r, st, func(q url.Values) (func(*notificationDefinition) bool, *apiError) {
		eventType, category, profile, emailTemplate := q.Get("eventTypeName"), q.Get("eventCategory"),
			q.Get("profileId"), q.Get("emailTemplateId")
		return func(d *notificationDefinition) bool {
			return (eventType == "" || d.EventTypeName == eventType) &&
				(category == "" || (d.EventCategory != nil && formatNumber(*d.EventCategory) == category)) &&
				(profile == "" || d.CommunicationProfileID == profile || slices.Contains(d.CommunicationProfileIDs, profile)) &&
				(emailTemplate == "" || d.EmailTemplateID == emailTemplate)
		}, nil
	})
}

func (s *Sim) updateNotificationDefinition(r *http.Request, st *store) (reply, *apiError) {
	return updateRow(notificationDefinitions, r, st, func(next *notificationDefinition, in *notificationDefinitionIn) *apiError {
		switch {
		case in.EventTypeName != nil && *in.EventTypeName != next.EventTypeName:
			return errNotifInvalid("eventTypeName cannot be changed")
		case in.EventCategory != nil:
			return errNotifInvalid("eventCategory cannot be changed")
		}
		if e := st.applyDefinition(next, in, false); e != nil {
			return e
		}
		next.UpdatedBy, next.UpdatedOn = simUserUUID, notifTime(s.Now())
		return nil
	})
}

func (st *store) notificationDefinitionState() []NotificationDefinition {
	return notificationDefinitions.state(st)
}
