package zuorasim

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Callout templates (BEHAVIOUR.md §6): POST /notifications/callout-templates, GET (list, filters eventTypeName,
// eventCategory, name; start from 1, limit 1..100, default 20), GET/PUT/DELETE /notifications/callout-templates/
// {id}. name (≤ 255, unique), httpMethod (POST|GET|PUT|PATCH|DELETE) and calloutBaseurl (checkCalloutURL) are
// required; calloutParams (the JSON body: member → merge field or literal), calloutHeaders, Basic auth
// (requiredAuth + calloutAuth{username, password, domain, preemptive}), calloutRetry (default true), active
// (default true) and useCustomRequestBody/customRequestBody are what delivery uses (callout_delivery.go).
// eventTypeName XOR eventCategory. OAuth 2.0 and HMAC settings are stored and echoed but not applied to
// deliveries. Answers mask calloutAuth.password ("********") [inferred: Zuora does not echo secrets]; the
// simulator keeps and uses the real one.

// CalloutAuth is Basic authentication of a callout.
type CalloutAuth struct {
	Username   string `json:"username"`
	Password   string `json:"password"`
	Domain     string `json:"domain,omitempty"`
	Preemptive bool   `json:"preemptive"`
}

const maskedSecret = "********"

// CalloutTemplate is a template as GET /notifications/callout-templates/{id} returns it
// ("GETPublicCalloutTemplateResponse").
type CalloutTemplate struct {
	ID                                string            `json:"id"`
	Name                              string            `json:"name"`
	Active                            bool              `json:"active"`
	HTTPMethod                        string            `json:"httpMethod"`
	CalloutBaseurl                    string            `json:"calloutBaseurl"`
	CalloutParams                     map[string]string `json:"calloutParams"`
	CalloutHeaders                    map[string]string `json:"calloutHeaders"`
	CalloutRetry                      bool              `json:"calloutRetry"`
	RequiredAuth                      bool              `json:"requiredAuth"`
	CalloutAuth                       *CalloutAuth      `json:"calloutAuth"`
	RequiredOauth2                    bool              `json:"requiredOauth2"`
	Oauth2ProviderID                  *string           `json:"oauth2ProviderId"`
	ContentType                       string            `json:"contentType"`
	UseCustomRequestBody              bool              `json:"useCustomRequestBody"`
	CustomRequestBody                 *string           `json:"customRequestBody"`
	ConfirmSuccessFromResponseContent bool              `json:"confirmSuccessFromResponseContent"`
	EventTypeName                     string            `json:"eventTypeName,omitempty"`
	EventTypeNamespace                string            `json:"eventTypeNamespace,omitempty"`
	EventCategory                     *float64          `json:"eventCategory,omitempty"`
	Certificate                       *string           `json:"certificate"`
	HmacAlgorithm                     *string           `json:"hmacAlgorithm"`
	HmacData                          *string           `json:"hmacData"`
	HmacKey                           *string           `json:"hmacKey"`
	HmacOutputFormat                  *string           `json:"hmacOutputFormat"`
	HmacSecret                        *string           `json:"hmacSecret"`
	HmacValue                         *string           `json:"hmacValue"`
	CreatedBy                         string            `json:"createdBy"`
	CreatedOn                         string            `json:"createdOn"`
	UpdatedBy                         string            `json:"updatedBy"`
	UpdatedOn                         string            `json:"updatedOn"`
}

type calloutTemplate struct {
	CalloutTemplate // CalloutAuth.Password is the real one here
}

// calloutTemplateIn is the POST and PUT body (PUT: every member optional, event fields fixed).
type calloutTemplateIn struct {
	Name                              *string           `json:"name"`
	Active                            *bool             `json:"active"`
	HTTPMethod                        *string           `json:"httpMethod"`
	CalloutBaseurl                    *string           `json:"calloutBaseurl"`
	CalloutParams                     map[string]string `json:"calloutParams"`
	CalloutHeaders                    map[string]string `json:"calloutHeaders"`
	CalloutRetry                      *bool             `json:"calloutRetry"`
	RequiredAuth                      *bool             `json:"requiredAuth"`
	CalloutAuth                       *CalloutAuth      `json:"calloutAuth"`
	RequiredOauth2                    *bool             `json:"requiredOauth2"`
	Oauth2ProviderID                  *string           `json:"oauth2ProviderId"`
	UseCustomRequestBody              *bool             `json:"useCustomRequestBody"`
	CustomRequestBody                 *string           `json:"customRequestBody"`
	ConfirmSuccessFromResponseContent *bool             `json:"confirmSuccessFromResponseContent"`
	EventTypeName                     *string           `json:"eventTypeName"`
	EventTypeNamespace                *string           `json:"eventTypeNamespace"`
	EventCategory                     *float64          `json:"eventCategory"`
	Certificate                       *string           `json:"certificate"`
	HmacAlgorithm                     *string           `json:"hmacAlgorithm"`
	HmacData                          *string           `json:"hmacData"`
	HmacKey                           *string           `json:"hmacKey"`
	HmacOutputFormat                  *string           `json:"hmacOutputFormat"`
	HmacSecret                        *string           `json:"hmacSecret"`
	HmacValue                         *string           `json:"hmacValue"`
}

var eventNamespaces = map[string]bool{"user.notification": true, "com.zuora.notification": true}

var calloutTemplates = notifResource[calloutTemplate, CalloutTemplate]{noun: "callout template", param: "id",
	rows: func(st *store) *[]*calloutTemplate { return &st.ntf.templates },
	key:  func(t *calloutTemplate) string { return t.ID }, view: (*calloutTemplate).view,
	startBase: 1, defLimit: 20, maxLimit: 100}

func (st *store) template(id string) *calloutTemplate { return calloutTemplates.find(st, id) }

// view is the template as answers show it: a copy, the password masked.
func (t *calloutTemplate) view() CalloutTemplate {
	v := t.CalloutTemplate
	v.CalloutParams = maps.Clone(v.CalloutParams)
	v.CalloutHeaders = maps.Clone(v.CalloutHeaders)
	v.CalloutAuth = maskedAuth(v.CalloutAuth)
	return v
}

// applyTemplate validates in and applies it onto t (a fresh template on create).
func (st *store) applyTemplate(t *calloutTemplate, in *calloutTemplateIn, create bool) *apiError {
	if create {
		switch {
		case in.Name == nil:
			return errNotifMissing("name")
		case in.CalloutBaseurl == nil:
			return errNotifMissing("calloutBaseurl")
		case in.HTTPMethod == nil:
			return errNotifMissing("httpMethod")
		case in.EventTypeName != nil && in.EventCategory != nil:
			return errNotifInvalid("give either eventTypeName or eventCategory, not both")
		}
		if in.EventTypeName != nil {
			if *in.EventTypeName == "" {
				return errNotifInvalid("eventTypeName must not be empty")
			}
			t.EventTypeName, t.EventTypeNamespace = *in.EventTypeName, "user.notification"
		}
		if ns := in.EventTypeNamespace; ns != nil {
			if !eventNamespaces[*ns] {
				return errNotifInvalid("eventTypeNamespace must be user.notification or com.zuora.notification")
			}
			t.EventTypeNamespace = *ns
		}
		t.EventCategory = in.EventCategory
	} else if in.EventTypeName != nil && *in.EventTypeName != t.EventTypeName {
		return errNotifInvalid("eventTypeName cannot be changed")
	}
	if in.Name != nil {
		n := strings.TrimSpace(*in.Name)
		if n == "" || len(*in.Name) > 255 {
			return errNotifInvalid("name must be 1 to 255 characters")
		}
		for _, o := range st.ntf.templates {
			if o.ID != t.ID && o.Name == *in.Name {
				return errNotifInvalid("a callout template named '%s' already exists", *in.Name)
			}
		}
		t.Name = *in.Name
	}
	if e := applyCalloutTarget("", &t.HTTPMethod, &t.CalloutBaseurl, in.HTTPMethod, in.CalloutBaseurl); e != nil {
		return e
	}
	if in.CalloutParams != nil {
		t.CalloutParams = maps.Clone(in.CalloutParams)
	}
	if in.CalloutHeaders != nil {
		for k := range in.CalloutHeaders {
			if k == "" || strings.ContainsAny(k, " :\r\n") {
				return errNotifInvalid("calloutHeaders: '%s' is not a valid header name", k)
			}
		}
		t.CalloutHeaders = maps.Clone(in.CalloutHeaders)
	}
	set := func(dst *bool, src *bool) {
		if src != nil {
			*dst = *src
		}
	}
	set(&t.Active, in.Active)
	set(&t.CalloutRetry, in.CalloutRetry)
	set(&t.RequiredAuth, in.RequiredAuth)
	set(&t.RequiredOauth2, in.RequiredOauth2)
	set(&t.UseCustomRequestBody, in.UseCustomRequestBody)
	set(&t.ConfirmSuccessFromResponseContent, in.ConfirmSuccessFromResponseContent)
	if e := applyCalloutAuth("", &t.CalloutAuth, in.CalloutAuth, t.RequiredAuth); e != nil {
		return e
	}
	if t.RequiredOauth2 && in.Oauth2ProviderID == nil && t.Oauth2ProviderID == nil {
		return errNotifInvalid("requiredOauth2 needs oauth2ProviderId")
	}
	for _, p := range []struct {
		dst **string
		src *string
	}{{&t.Oauth2ProviderID, in.Oauth2ProviderID},
		{&t.CustomRequestBody, in.CustomRequestBody}, {&t.Certificate, in.Certificate},
		{&t.HmacAlgorithm, in.HmacAlgorithm}, {&t.HmacData, in.HmacData}, {&t.HmacKey, in.HmacKey},
		{&t.HmacOutputFormat, in.HmacOutputFormat}, {&t.HmacSecret, in.HmacSecret}, {&t.HmacValue, in.HmacValue}} {
		if p.src != nil {
			v := *p.src
			*p.dst = &v
		}
	}
	if t.UseCustomRequestBody && (t.CustomRequestBody == nil || *t.CustomRequestBody == "") {
		return errNotifInvalid("useCustomRequestBody needs customRequestBody")
	}
	return nil
}

func (s *Sim) createCalloutTemplate(r *http.Request, st *store) (reply, *apiError) {
	return createRow(calloutTemplates, r, st, func(in *calloutTemplateIn) (*calloutTemplate, *apiError) {
		now := notifTime(s.Now())
		t := &calloutTemplate{CalloutTemplate{ID: newUUID(), Active: true, CalloutRetry: true,
			ContentType: "APPLICATION_JSON", CalloutParams: map[string]string{}, CalloutHeaders: map[string]string{},
			CreatedBy: simUserUUID, CreatedOn: now, UpdatedBy: simUserUUID, UpdatedOn: now}}
		if e := st.applyTemplate(t, in, true); e != nil {
			return nil, e
		}
		return t, nil
	})
}

func (s *Sim) listCalloutTemplates(r *http.Request, st *store) (reply, *apiError) {
	return calloutTemplates.list(r, st, func(q url.Values) (func(*calloutTemplate) bool, *apiError) {
		eventType, name, category := q.Get("eventTypeName"), q.Get("name"), q.Get("eventCategory")
		return func(t *calloutTemplate) bool {
			return (eventType == "" || t.EventTypeName == eventType) && (name == "" || t.Name == name) &&
				(category == "" || (t.EventCategory != nil && formatNumber(*t.EventCategory) == category))
		}, nil
	})
}

func (s *Sim) updateCalloutTemplate(r *http.Request, st *store) (reply, *apiError) {
	return updateRow(calloutTemplates, r, st, func(next *calloutTemplate, in *calloutTemplateIn) *apiError {
		if e := st.applyTemplate(next, in, false); e != nil {
			return e
		}
		next.UpdatedBy, next.UpdatedOn = simUserUUID, notifTime(s.Now())
		return nil
	})
}

func (s *Sim) deleteCalloutTemplate(r *http.Request, st *store) (reply, *apiError) {
	t, e := calloutTemplates.remove(r, st)
	if e != nil {
		return reply{}, e
	}
	for _, d := range st.ntf.definitions { // [inferred] a deleted template no longer belongs to a definition
		d.CalloutTemplateIDs = slices.DeleteFunc(d.CalloutTemplateIDs, func(id string) bool { return id == t.ID })
	}
	return reply{status: http.StatusNoContent}, nil
}

func (st *store) calloutTemplateState() []CalloutTemplate { return calloutTemplates.state(st) }
