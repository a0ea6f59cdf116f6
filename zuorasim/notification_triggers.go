package zuorasim

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Custom event triggers (BEHAVIOUR.md §6): POST /events/event-triggers, GET (list, filters baseObject,
// eventTypeName, active; start from 0, limit default 10), GET/PUT/DELETE /events/event-triggers/{id}. A trigger
// defines a custom event type (eventType.name, unique, ^[A-Za-z][\w\-]*$) that fires when its JEXL condition
// holds for a change of its base object (jexl.go says what the simulator evaluates; a condition it cannot parse,
// or one referring to other objects than the base object, is refused with 400). Notification definitions name the
// event type in eventTypeName. PUT may change active, condition and eventType.displayName/description; the base
// object and the event type name are fixed.

// EventTrigger is a trigger as the API returns it ("EventTrigger").
type EventTrigger struct {
	ID          string    `json:"id"`
	Active      bool      `json:"active"`
	BaseObject  string    `json:"baseObject"`
	Condition   string    `json:"condition"`
	Description string    `json:"description,omitempty"`
	EventType   EventType `json:"eventType"`
}

// EventType is a trigger's custom event type.
type EventType struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
	Description string `json:"description,omitempty"`
}

type eventTrigger struct {
	EventTrigger
	cond *jexlCondition
}

type eventTriggerIn struct {
	Active      *bool   `json:"active"`
	BaseObject  *string `json:"baseObject"`
	Condition   *string `json:"condition"`
	Description *string `json:"description"`
	EventType   *struct {
		Name        *string `json:"name"`
		DisplayName *string `json:"displayName"`
		Description *string `json:"description"`
	} `json:"eventType"`
}

var eventTypeNamePattern = regexp.MustCompile(`^[A-Za-z][\w\-]*$`)

// standardBaseObjects are the Zuora objects a custom event trigger may watch (the simulator fires changes of
// Account, Invoice, Payment, Subscription and Order; the others are accepted and never change).
var standardBaseObjects = map[string]bool{"Account": true, "Invoice": true, "Payment": true, "Subscription": true,
	"Order": true, "Contact": true, "PaymentMethod": true, "Product": true, "ProductRatePlan": true,
	"ProductRatePlanCharge": true, "RatePlan": true, "RatePlanCharge": true, "InvoiceItem": true,
	"CreditMemo": true, "DebitMemo": true, "Refund": true, "Usage": true, "OrderAction": true, "Amendment": true}

func (st *store) validBaseObject(name string) bool {
	if standardBaseObjects[name] {
		return true
	}
	typ, ok := strings.CutPrefix(name, "default__")
	return ok && st.customObject(typ) != nil
}

var eventTriggers = notifResource[eventTrigger, EventTrigger]{noun: "event trigger", param: "id",
	rows: func(st *store) *[]*eventTrigger { return &st.ntf.triggers },
	key:  func(t *eventTrigger) string { return t.ID }, view: func(t *eventTrigger) EventTrigger { return t.EventTrigger },
	startBase: 0, defLimit: 10, maxLimit: 0}

// eventTypeDefined reports whether a trigger defines the custom event type name. Caller holds st.mu.
func (st *store) eventTypeDefined(name string) bool {
	return slices.ContainsFunc(st.ntf.triggers, func(t *eventTrigger) bool { return t.EventType.Name == name })
}

func checkLength(field, v string, lo, hi int) *apiError {
	if n := len(v); n < lo || n > hi {
		return errNotifInvalid("%s must be %d to %d characters", field, lo, hi)
	}
	return nil
}

func (s *Sim) createEventTrigger(r *http.Request, st *store) (reply, *apiError) {
	return createRow(eventTriggers, r, st, st.newEventTrigger)
}

// newEventTrigger validates a POST body into a new trigger.
func (st *store) newEventTrigger(in *eventTriggerIn) (*eventTrigger, *apiError) {
	switch {
	case in.BaseObject == nil:
		return nil, errNotifMissing("baseObject")
	case in.Condition == nil:
		return nil, errNotifMissing("condition")
	case in.EventType == nil:
		return nil, errNotifMissing("eventType")
	case in.Active == nil:
		return nil, errNotifMissing("active")
	case in.EventType.Name == nil:
		return nil, errNotifMissing("eventType.name")
	case in.EventType.DisplayName == nil:
		return nil, errNotifMissing("eventType.displayName")
	}
	for _, c := range []struct {
		field, v string
		lo, hi   int
	}{{"baseObject", *in.BaseObject, 1, 100}, {"condition", *in.Condition, 1, 5000},
		{"eventType.name", *in.EventType.Name, 1, 200}, {"eventType.displayName", *in.EventType.DisplayName, 1, 500}} {
		if e := checkLength(c.field, c.v, c.lo, c.hi); e != nil {
			return nil, e
		}
	}
	name := *in.EventType.Name
	switch {
	case !eventTypeNamePattern.MatchString(name):
		return nil, errNotifInvalid("eventType.name '%s' must match ^[A-Za-z][\\w\\-]*$", name)
	case st.eventTypeDefined(name):
		return nil, errNotifInvalid("an event type named '%s' already exists", name)
	case !st.validBaseObject(*in.BaseObject):
		return nil, errNotifInvalid("baseObject '%s' is not a Zuora object or a defined custom object (default__<object>)", *in.BaseObject)
	}
	cond, err := checkTriggerCondition(*in.BaseObject, *in.Condition)
	if err != nil {
		return nil, errNotifInvalid("condition is not a valid JEXL expression: %v", err)
	}
	t := &eventTrigger{EventTrigger: EventTrigger{ID: newUUID(), Active: *in.Active, BaseObject: *in.BaseObject,
		Condition: *in.Condition, EventType: EventType{Name: name, DisplayName: *in.EventType.DisplayName}}, cond: cond}
	if in.Description != nil {
		t.Description = *in.Description
	}
	if in.EventType.Description != nil {
		t.EventType.Description = *in.EventType.Description
	}
	return t, nil
}

func (s *Sim) listEventTriggers(r *http.Request, st *store) (reply, *apiError) {
	return eventTriggers.list(r, st, func(q url.Values) (func(*eventTrigger) bool, *apiError) {
		base, eventType, active := q.Get("baseObject"), q.Get("eventTypeName"), q.Get("active")
		if active != "" && active != "true" && active != "false" {
			return nil, errNotifInvalid("active must be true or false")
		}
		return func(t *eventTrigger) bool {
			return (base == "" || t.BaseObject == base) && (eventType == "" || t.EventType.Name == eventType) &&
				(active == "" || (active == "true") == t.Active)
		}, nil
	})
}

func (s *Sim) updateEventTrigger(r *http.Request, st *store) (reply, *apiError) {
	return updateRow(eventTriggers, r, st, changeEventTrigger)
}

// changeEventTrigger validates a PUT body and applies it onto next (a copy of the trigger): the base object and
// the event type name are fixed.
func changeEventTrigger(next *eventTrigger, in *eventTriggerIn) *apiError {
	switch {
	case in.BaseObject != nil && *in.BaseObject != next.BaseObject:
		return errNotifInvalid("baseObject cannot be changed")
	case in.EventType != nil && in.EventType.Name != nil && *in.EventType.Name != next.EventType.Name:
		return errNotifInvalid("eventType.name cannot be changed")
	}
	if in.Condition != nil {
		if e := checkLength("condition", *in.Condition, 1, 5000); e != nil {
			return e
		}
		cond, err := checkTriggerCondition(next.BaseObject, *in.Condition)
		if err != nil {
			return errNotifInvalid("condition is not a valid JEXL expression: %v", err)
		}
		next.Condition, next.cond = *in.Condition, cond
	}
	if in.EventType != nil && in.EventType.DisplayName != nil {
		if e := checkLength("eventType.displayName", *in.EventType.DisplayName, 1, 500); e != nil {
			return e
		}
		next.EventType.DisplayName = *in.EventType.DisplayName
	}
	if in.EventType != nil && in.EventType.Description != nil {
		next.EventType.Description = *in.EventType.Description
	}
	if in.Description != nil {
		next.Description = *in.Description
	}
	if in.Active != nil {
		next.Active = *in.Active
	}
	return nil
}

func (st *store) eventTriggerState() []EventTrigger { return eventTriggers.state(st) }
