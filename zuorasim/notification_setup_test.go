package zuorasim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/zuora-sync/zuora-sync/events"
)

func specFor(t *testing.T, typ string) events.CalloutSpec {
	t.Helper()
	s, ok := events.CalloutSpecFor(typ)
	if !ok {
		t.Fatalf("no callout spec %s", typ)
	}
	return s
}

func (h *harness) createTrigger(s events.CalloutSpec) map[string]any {
	h.t.Helper()
	r := h.do("POST", "/events/event-triggers", map[string]any{"active": true, "baseObject": s.BaseObject,
		"condition": s.Condition, "eventType": map[string]any{"name": s.EventName, "displayName": s.Name}})
	expectStatus(h.t, r, 200)
	return r.json(h.t)
}

func (h *harness) createTemplate(name, url string, extra map[string]any) map[string]any {
	h.t.Helper()
	body := map[string]any{"name": name, "httpMethod": "POST", "calloutBaseurl": url}
	for k, v := range extra {
		body[k] = v
	}
	r := h.do("POST", "/notifications/callout-templates", body)
	expectStatus(h.t, r, 200)
	return r.json(h.t)
}

func (h *harness) createDefinition(name, eventType string, templateIDs ...string) map[string]any {
	h.t.Helper()
	r := h.do("POST", "/notifications/notification-definitions", map[string]any{"name": name,
		"eventTypeName": eventType, "active": true, "calloutActive": true, "calloutTemplateIds": templateIDs})
	expectStatus(h.t, r, 200)
	return r.json(h.t)
}

func expectReason(t *testing.T, r result, status int, contains string) {
	t.Helper()
	expectStatus(t, r, status)
	m := r.json(t)
	reasons, _ := m["reasons"].([]any)
	if len(reasons) == 0 || !strings.Contains(reasons[0].(map[string]any)["message"].(string), contains) {
		t.Fatalf("reason should mention %q: %s", contains, r.body)
	}
}

func TestCustomObjectDefinitions(t *testing.T) {
	h := newConformingHarness(t, Config{})
	def := map[string]any{"definitions": map[string]any{"stigg_link": map[string]any{"object": "stigg_link",
		"label": "Stigg link", "required": []string{"customerId__c"}, "filterable": []string{"customerId__c"},
		"properties": map[string]any{"customerId__c": map[string]any{"type": "string", "label": "Customer", "maxLength": 255}}}}}
	r := h.do("POST", "/objects/definitions/default", def)
	expectStatus(t, r, 200)
	m := r.json(t)
	got := m["definitions"].(map[string]any)["stigg_link"].(map[string]any)
	if m["count"] != 1.0 || got["type"] != "stigg_link" || got["schema"].(map[string]any)["label"] != "Stigg link" {
		t.Fatalf("create: %s", r.body)
	}
	// A second create of the same type is refused, in the V1 envelope with a real 400.
	r = h.do("POST", "/objects/definitions/default", def)
	expectStatus(t, r, 400)
	if m := r.json(t); m["success"] != false || !strings.Contains(string(r.body), "already exists") {
		t.Fatalf("duplicate: %s", r.body)
	}
	r = h.do("POST", "/objects/definitions/default", map[string]any{"definitions": map[string]any{"bad": map[string]any{
		"object": "bad", "label": "Bad", "properties": map[string]any{"noSuffix": map[string]any{"type": "string", "label": "x"}}}}})
	expectStatus(t, r, 400)

	r = h.do("GET", "/objects/definitions/default", nil)
	expectStatus(t, r, 200)
	if m := r.json(t); m["count"] != 1.0 {
		t.Fatalf("list: %s", r.body)
	}
	expectStatus(t, h.do("GET", "/objects/definitions/default/stigg_link", nil), 200)

	// The type is a base object for triggers as default__<type>.
	r = h.do("POST", "/events/event-triggers", map[string]any{"active": true, "baseObject": "default__stigg_link",
		"condition": "changeType == 'INSERT'", "eventType": map[string]any{"name": "linkCreated", "displayName": "Link"}})
	expectStatus(t, r, 200)
	expectStatus(t, h.do("DELETE", "/objects/definitions/default/stigg_link", nil), 200)
	expectStatus(t, h.do("GET", "/objects/definitions/default/stigg_link", nil), 404)
	if n := len(h.sim.State().CustomObjectDefinitions); n != 0 {
		t.Fatalf("state still has %d definitions", n)
	}
}

func TestEventTriggers(t *testing.T) {
	h := newConformingHarness(t, Config{})
	var ids []string
	for _, s := range events.CalloutSpecs() {
		m := h.createTrigger(s)
		if m["condition"] != s.Condition || m["baseObject"] != s.BaseObject || m["active"] != true ||
			m["eventType"].(map[string]any)["name"] != s.EventName {
			t.Fatalf("create %s: %v", s.Type, m)
		}
		ids = append(ids, m["id"].(string))
	}
	paid := specFor(t, events.TypeZuoraInvoicePaid)
	// The event type name is unique.
	expectReason(t, h.do("POST", "/events/event-triggers", map[string]any{"active": true, "baseObject": "Invoice",
		"condition": "changeType == 'UPDATE'", "eventType": map[string]any{"name": paid.EventName, "displayName": "x"}}),
		400, "already exists")
	// A condition the simulator cannot evaluate is refused with the reason.
	expectReason(t, h.do("POST", "/events/event-triggers", map[string]any{"active": true, "baseObject": "Invoice",
		"condition": "Invoice.Status =~ 'Post'", "eventType": map[string]any{"name": "odd", "displayName": "x"}}),
		400, "JEXL")
	expectReason(t, h.do("POST", "/events/event-triggers", map[string]any{"active": true, "baseObject": "Invoice",
		"condition": "Account.Status == 'Active'", "eventType": map[string]any{"name": "odd", "displayName": "x"}}),
		400, "base object")
	expectReason(t, h.do("POST", "/events/event-triggers", map[string]any{"active": true, "baseObject": "Nonsense",
		"condition": "changeType == 'INSERT'", "eventType": map[string]any{"name": "odd", "displayName": "x"}}),
		400, "baseObject")
	expectReason(t, h.do("POST", "/events/event-triggers", map[string]any{"active": true, "baseObject": "Invoice",
		"condition": "changeType == 'INSERT'", "eventType": map[string]any{"name": "1bad name", "displayName": "x"}}),
		400, "must match")
	// Bodies the spec itself refuses, and answers it does not list (400 on PUT), go around the conformance check.
	raw := unconformed(t, h)
	expectReason(t, raw.do("POST", "/events/event-triggers", map[string]any{"baseObject": "Invoice",
		"condition": "changeType == 'INSERT'", "eventType": map[string]any{"name": "noActive", "displayName": "x"}}),
		400, "active is missing")

	r := h.do("GET", "/events/event-triggers?baseObject=Invoice&limit=1", nil)
	expectStatus(t, r, 200)
	m := r.json(t)
	if len(m["data"].([]any)) != 1 || m["next"] == nil {
		t.Fatalf("page: %s", r.body)
	}
	r = h.do("GET", "/events/event-triggers?eventTypeName="+paid.EventName, nil)
	if d := r.json(t)["data"].([]any); len(d) != 1 || d[0].(map[string]any)["condition"] != paid.Condition {
		t.Fatalf("by name: %s", r.body)
	}
	r = h.do("PUT", "/events/event-triggers/"+ids[0], map[string]any{"active": false, "condition": "changeType == 'DELETE'",
		"eventType": map[string]any{"displayName": "renamed"}})
	expectStatus(t, r, 200)
	if m := r.json(t); m["active"] != false || m["condition"] != "changeType == 'DELETE'" || m["eventType"].(map[string]any)["displayName"] != "renamed" {
		t.Fatalf("put: %s", r.body)
	}
	expectReason(t, raw.do("PUT", "/events/event-triggers/"+ids[0], map[string]any{"condition": "a ="}), 400, "JEXL")
	r = h.do("GET", "/events/event-triggers?active=false", nil)
	if d := r.json(t)["data"].([]any); len(d) != 1 {
		t.Fatalf("inactive: %s", r.body)
	}
	expectStatus(t, h.do("GET", "/events/event-triggers/"+ids[1], nil), 200)
	expectStatus(t, h.do("DELETE", "/events/event-triggers/"+ids[1], nil), 204)
	expectStatus(t, h.do("GET", "/events/event-triggers/"+ids[1], nil), 404)
	if n := len(h.sim.State().EventTriggers); n != len(ids)-1 {
		t.Fatalf("state has %d triggers", n)
	}
}

func TestCalloutTemplates(t *testing.T) {
	h := newConformingHarness(t, Config{})
	paid := specFor(t, events.TypeZuoraInvoicePaid)
	auth := map[string]any{"username": "zuora", "password": "s3cret", "preemptive": false}
	m := h.createTemplate("zuorasync invoice paid", "https://bridge.example.com/callouts/zuora", map[string]any{
		"eventTypeName": paid.EventName, "calloutParams": paid.Params, "requiredAuth": true, "calloutAuth": auth,
		"calloutHeaders": map[string]string{"X-Tenant": "t1"}})
	id := m["id"].(string)
	if m["active"] != true || m["calloutRetry"] != true || m["contentType"] != "APPLICATION_JSON" ||
		m["calloutAuth"].(map[string]any)["password"] != maskedSecret || m["calloutParams"].(map[string]any)["event"] != "invoice.paid" {
		t.Fatalf("create: %v", m)
	}
	// The simulator's allowance: http to loopback; any other http URL is refused.
	h.createTemplate("local", "http://127.0.0.1:9/callouts", nil)
	h.createTemplate("local name", "http://localhost:9/callouts", nil)
	expectReason(t, h.do("POST", "/notifications/callout-templates", map[string]any{"name": "plain", "httpMethod": "POST",
		"calloutBaseurl": "http://bridge.example.com/x"}), 400, "https")
	expectReason(t, h.do("POST", "/notifications/callout-templates", map[string]any{"name": "zuorasync invoice paid",
		"httpMethod": "POST", "calloutBaseurl": "https://bridge.example.com/x"}), 400, "already exists")
	expectReason(t, unconformed(t, h).do("POST", "/notifications/callout-templates", map[string]any{"httpMethod": "POST",
		"calloutBaseurl": "https://bridge.example.com/x"}), 400, "name is missing")

	r := h.do("GET", "/notifications/callout-templates?eventTypeName="+paid.EventName, nil)
	expectStatus(t, r, 200)
	if d := r.json(t)["data"].([]any); len(d) != 1 || d[0].(map[string]any)["id"] != id {
		t.Fatalf("list: %s", r.body)
	}
	r = h.do("GET", "/notifications/callout-templates?limit=2", nil)
	if m := r.json(t); len(m["data"].([]any)) != 2 || m["next"] == nil {
		t.Fatalf("page: %s", r.body)
	}
	// A PUT that sends the masked password back keeps the real one.
	r = h.do("PUT", "/notifications/callout-templates/"+id, map[string]any{"active": false,
		"calloutAuth": map[string]any{"username": "zuora2", "password": maskedSecret}})
	expectStatus(t, r, 200)
	if m := r.json(t); m["active"] != false || m["calloutAuth"].(map[string]any)["username"] != "zuora2" {
		t.Fatalf("put: %s", r.body)
	}
	h.sim.store.mu.RLock()
	pw := h.sim.store.template(id).CalloutAuth.Password
	h.sim.store.mu.RUnlock()
	if pw != "s3cret" {
		t.Fatalf("password after a masked PUT: %q", pw)
	}
	expectReason(t, h.do("PUT", "/notifications/callout-templates/"+id, map[string]any{"calloutBaseurl": "ftp://x.example.com"}), 400, "https")
	if st := h.sim.State(); len(st.CalloutTemplates) != 3 || strings.Contains(stateJSON(t, st), "s3cret") {
		t.Fatalf("state: %d templates or a secret shown", len(st.CalloutTemplates))
	}
	expectStatus(t, h.do("DELETE", "/notifications/callout-templates/"+id, nil), 204)
	expectStatus(t, h.do("GET", "/notifications/callout-templates/"+id, nil), 404)
}

func TestNotificationDefinitions(t *testing.T) {
	h := newConformingHarness(t, Config{})
	paid := specFor(t, events.TypeZuoraInvoicePaid)
	tpl := h.createTemplate("paid", "https://bridge.example.com/callouts/zuora", map[string]any{
		"eventTypeName": paid.EventName, "calloutParams": paid.Params})["id"].(string)
	// The event type must exist (its trigger first).
	expectReason(t, h.do("POST", "/notifications/notification-definitions", map[string]any{"name": "paid",
		"eventTypeName": paid.EventName, "calloutActive": true, "calloutTemplateIds": []string{tpl}}), 400, "event trigger")
	h.createTrigger(paid)
	expectReason(t, h.do("POST", "/notifications/notification-definitions", map[string]any{"name": "paid",
		"eventTypeName": paid.EventName, "calloutActive": true, "calloutTemplateIds": []string{"6f1f4f0e-5a0c-4c1d-9a57-2c8c7b3f0e11"}}),
		400, "does not exist")
	expectReason(t, h.do("POST", "/notifications/notification-definitions", map[string]any{"name": "none",
		"eventTypeName": paid.EventName, "calloutActive": true}), 400, "needs a callout")
	d := h.createDefinition("zuorasync invoice paid", paid.EventName, tpl)
	id := d["id"].(string)
	if d["eventTypeNamespace"] != "user.notification" || d["calloutActive"] != true || d["active"] != true ||
		len(d["calloutTemplateIds"].([]any)) != 1 {
		t.Fatalf("create: %v", d)
	}
	// An inline callout instead of a template.
	r := h.do("POST", "/notifications/notification-definitions", map[string]any{"name": "inline",
		"eventTypeName": paid.EventName, "calloutActive": true, "callout": map[string]any{"name": "inline callout",
			"httpMethod": "POST", "calloutBaseurl": "https://bridge.example.com/inline", "calloutParams": paid.Params,
			"requiredAuth": true, "calloutAuth": map[string]any{"username": "u", "password": "p"}}})
	expectStatus(t, r, 200)
	if c := r.json(t)["callout"].(map[string]any); c["id"] == nil || c["calloutAuth"].(map[string]any)["password"] != maskedSecret {
		t.Fatalf("inline: %s", r.body)
	}
	r = h.do("GET", "/notifications/notification-definitions?eventTypeName="+paid.EventName+"&limit=1", nil)
	expectStatus(t, r, 200)
	if m := r.json(t); len(m["data"].([]any)) != 1 || m["next"] == nil {
		t.Fatalf("list: %s", r.body)
	}
	r = h.do("PUT", "/notifications/notification-definitions/"+id, map[string]any{"calloutActive": false, "name": "renamed"})
	expectStatus(t, r, 200)
	if m := r.json(t); m["calloutActive"] != false || m["name"] != "renamed" {
		t.Fatalf("put: %s", r.body)
	}
	expectStatus(t, h.do("GET", "/notifications/notification-definitions/"+id, nil), 200)
	if n := len(h.sim.State().NotificationDefinitions); n != 2 {
		t.Fatalf("state: %d definitions", n)
	}
	expectStatus(t, h.do("DELETE", "/notifications/notification-definitions/"+id, nil), 204)
	expectStatus(t, h.do("GET", "/notifications/notification-definitions/"+id, nil), 404)
}

func TestCalloutHistoryEmptyAndResendUnknown(t *testing.T) {
	h := newConformingHarness(t, Config{})
	r := h.do("GET", "/v1/notification-history/callout?failedOnly=false", nil)
	expectStatus(t, r, 200)
	if m := r.json(t); m["success"] != true || len(m["calloutHistories"].([]any)) != 0 {
		t.Fatalf("history: %s", r.body)
	}
	r = h.do("POST", "/notifications/callout-histories/resend", []string{"nope"})
	expectStatus(t, r, http.StatusBadRequest)
	if m := r.json(t); m["nope"] == nil {
		t.Fatalf("resend: %s", r.body)
	}
}

func stateJSON(t *testing.T, st State) string {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// unconformed is a harness on the same simulator without the conformance middleware.
func unconformed(t *testing.T, h *harness) *harness {
	t.Helper()
	srv := httptest.NewServer(h.sim.Handler())
	t.Cleanup(srv.Close)
	return &harness{t: t, sim: h.sim, srv: srv, token: h.token}
}
