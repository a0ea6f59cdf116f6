package handlers

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/conformance"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

const testBridgePassword = "s3cret-bridge-password"

// provisionEnv is a simulator behind the spec checker and a provisioner whose log is kept.
type provisionEnv struct {
	t     *testing.T
	sim   *zuorasim.Sim
	zuora *zuoraapi.Client
	deps  Deps
	logs  *bytes.Buffer
}

func newProvisionEnv(t *testing.T) *provisionEnv {
	t.Helper()
	check := conformance.Load(t)
	sim := zuorasim.New(zuorasim.Config{})
	srv := httptest.NewServer(check.Middleware(t, sim.Handler()))
	t.Cleanup(func() { srv.Close(); sim.Close() })
	z, err := zuoraapi.New(zuoraapi.Config{BaseURL: srv.URL, ClientID: zuorasim.DefaultClientID,
		ClientSecret: zuorasim.DefaultClientSecret, Transport: check.Transport(t, http.DefaultTransport.(*http.Transport).Clone())})
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	return &provisionEnv{t: t, sim: sim, zuora: z, logs: logs, deps: Deps{Zuora: z,
		Bridge: BridgeTarget{PublicURL: "http://127.0.0.1:8080/", Username: "zuora", Password: testBridgePassword},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}}
}

func (e *provisionEnv) ctx(eventID string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	e.t.Cleanup(cancel)
	return zuoraapi.WithEventID(ctx, eventID)
}

func (e *provisionEnv) reconcile(eventID string) ProvisionReport {
	e.t.Helper()
	rep, err := NewProvisioner(e.deps).Reconcile(e.ctx(eventID))
	if err != nil {
		e.t.Fatalf("reconcile: %v", err)
	}
	return rep
}

// writes counts the simulator's non-GET requests so far.
func (e *provisionEnv) writes() int {
	n := 0
	for _, r := range e.sim.Requests() {
		if r.Method != http.MethodGet {
			n++
		}
	}
	return n
}

type setup struct {
	triggers    []zuoraapi.EventTrigger
	templates   []zuoraapi.CalloutTemplate
	definitions []zuoraapi.NotificationDefinition
}

func (e *provisionEnv) setup() setup {
	e.t.Helper()
	ctx := e.ctx("read")
	var s setup
	var err error
	if s.triggers, err = e.zuora.ListEventTriggers(ctx, ""); err != nil {
		e.t.Fatal(err)
	}
	if s.templates, err = e.zuora.ListCalloutTemplates(ctx); err != nil {
		e.t.Fatal(err)
	}
	if s.definitions, err = e.zuora.ListNotificationDefinitions(ctx); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// foreign creates a tenant's own trigger, template and definition, which provisioning must leave alone.
func (e *provisionEnv) foreign() {
	e.t.Helper()
	ctx := e.ctx("tenant")
	if _, err := e.zuora.CreateEventTrigger(ctx, "t", &zuoraapi.EventTrigger{Active: true, BaseObject: "Invoice",
		Condition: "Invoice.Amount > 1000", EventType: zuoraapi.EventType{Name: "BigInvoice", DisplayName: "Big invoice"}}); err != nil {
		e.t.Fatal(err)
	}
	tmpl, err := e.zuora.CreateCalloutTemplate(ctx, "c", &zuoraapi.CalloutTemplate{Name: "ERP hook", Active: true,
		CalloutBaseurl: "https://erp.example.com/zuora", HTTPMethod: http.MethodPost, EventTypeName: "BigInvoice",
		EventTypeNamespace: zuoraapi.EventTypeNamespaceUser, CalloutRetry: true})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.zuora.CreateNotificationDefinition(ctx, "d", &zuoraapi.NotificationDefinition{Name: "ERP big invoices",
		Active: true, EventTypeName: "BigInvoice", EventTypeNamespace: zuoraapi.EventTypeNamespaceUser, CalloutActive: true,
		CalloutTemplateIDs: []string{tmpl.ID}}); err != nil {
		e.t.Fatal(err)
	}
}

func TestProvisioningTwiceCreatesEachObjectOnce(t *testing.T) {
	e := newProvisionEnv(t)
	e.foreign()
	specs := events.CalloutSpecs()
	if rep := e.reconcile("connect-1"); rep.Created != 3*len(specs) || rep.Updated+rep.Deleted != 0 {
		t.Fatalf("first reconcile: %s, want %d created", rep, 3*len(specs))
	}
	s := e.setup()
	if len(s.triggers) != len(specs)+1 || len(s.templates) != len(specs)+1 || len(s.definitions) != len(specs)+1 {
		t.Fatalf("%d triggers, %d templates, %d definitions; want %d of ours and the tenant's own",
			len(s.triggers), len(s.templates), len(s.definitions), len(specs))
	}
	byName := map[string]zuoraapi.CalloutTemplate{}
	for _, tmpl := range s.templates {
		byName[tmpl.Name] = tmpl
	}
	for _, spec := range specs {
		tmpl, ok := byName["zuora-sync "+spec.Name]
		if !ok || tmpl.CalloutBaseurl != "http://127.0.0.1:8080/callouts/zuora" || !tmpl.RequiredAuth ||
			tmpl.CalloutAuth == nil || tmpl.CalloutAuth.Username != "zuora" || tmpl.EventTypeName != spec.EventName ||
			tmpl.CalloutParams[events.CalloutEventParam] != spec.Name {
			t.Fatalf("template for %s: %+v", spec.Type, tmpl)
		}
	}
	writes := e.writes()
	if rep := e.reconcile("connect-2"); rep.Changed() || rep.Unchanged != 3*len(specs) {
		t.Fatalf("second reconcile: %s, want nothing changed", rep)
	}
	if n := e.writes() - writes; n != 0 {
		t.Fatalf("the second reconcile wrote %d times to Zuora", n)
	}
	if strings.Contains(e.logs.String(), testBridgePassword) {
		t.Fatal("the bridge password is in the log")
	}
}

// What differs is repaired, and only that: a new password reaches every template (Zuora does not return it; the
// fingerprint header tells), an operator's edit of one trigger is undone.
func TestProvisioningRepairsWhatDiffers(t *testing.T) {
	e := newProvisionEnv(t)
	e.reconcile("connect-1")
	s := e.setup()
	active := false
	if _, err := e.zuora.UpdateEventTrigger(e.ctx("operator"), s.triggers[0].ID, &zuoraapi.EventTriggerUpdate{Active: &active,
		Condition: "changeType == 'DELETE'"}); err != nil {
		t.Fatal(err)
	}
	if rep := e.reconcile("connect-2"); rep.Updated != 1 || rep.Created+rep.Deleted != 0 {
		t.Fatalf("after one trigger was edited: %s, want 1 updated", rep)
	}
	e.deps.Bridge.Password = "rotated-password"
	if rep := e.reconcile("connect-3"); rep.Updated != len(events.CalloutSpecs()) || rep.Created+rep.Deleted != 0 {
		t.Fatalf("after the password changed: %s, want every template updated", rep)
	}
	for _, tr := range e.setup().triggers {
		if spec, ok := events.CalloutSpecFor(strings.TrimPrefix(tr.EventType.Name, events.CalloutEventPrefix)); ok && !tr.Active {
			t.Fatalf("trigger for %s still inactive", spec.Type)
		}
	}
}

func TestDisconnectRemovesExactlyWhatProvisioningCreated(t *testing.T) {
	e := newProvisionEnv(t)
	e.foreign()
	e.reconcile("connect-1")
	rep, err := NewProvisioner(e.deps).Remove(e.ctx("disconnect-1"))
	if err != nil || rep.Deleted != 3*len(events.CalloutSpecs()) {
		t.Fatalf("remove: %s %v", rep, err)
	}
	s := e.setup()
	if len(s.triggers) != 1 || s.triggers[0].EventType.Name != "BigInvoice" || len(s.templates) != 1 ||
		s.templates[0].Name != "ERP hook" || len(s.definitions) != 1 || s.definitions[0].Name != "ERP big invoices" {
		t.Fatalf("left %+v", s)
	}
	if rep, err := NewProvisioner(e.deps).Remove(e.ctx("disconnect-2")); err != nil || rep.Changed() {
		t.Fatalf("second remove: %s %v", rep, err)
	}
}

func TestProvisioningWithoutTheBridgeIsRefused(t *testing.T) {
	e := newProvisionEnv(t)
	e.deps.Bridge = BridgeTarget{PublicURL: "https://bridge.example.com"}
	_, err := NewProvisioner(e.deps).Reconcile(e.ctx("connect"))
	if c, _ := dispatch.Classify(err); c != dispatch.ClassPermanent || !errors.Is(err, ErrNoBridge) {
		t.Fatalf("%v (%v), want permanent ErrNoBridge", err, c)
	}
	if e.writes() != 0 {
		t.Fatal("Zuora was written to")
	}
}

// The integration events drive it: connected provisions (then reports unchanged), disconnected removes; the
// outcomes carry counts and the callout URL, never the password.
func TestIntegrationEventsProvisionAndRemove(t *testing.T) {
	e := newProvisionEnv(t)
	h := &integrations{deps: e.deps}
	run := func(typ, id string) events.Outcome {
		t.Helper()
		in := &events.Integration{IntegrationID: "int-zuora"}
		ev, err := events.New(typ, "/test", in.IntegrationID, in.IntegrationID, in)
		if err != nil {
			t.Fatal(err)
		}
		ev.SetID(id)
		res, err := h.Handle(e.ctx(id), &dispatch.Input{Event: ev, Payload: in, Key: in.IntegrationID, Attempt: 1, Logger: e.deps.Logger})
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		out := res.Outcomes[0].Data
		if strings.Contains(strings.Join(mapValues(out.Zuora), " "), testBridgePassword) {
			t.Fatal("the password is in the outcome")
		}
		return out
	}
	if out := run(events.TypeStiggIntegrationConnected, "c1"); out.Action != actionProvisioned || out.Zuora["calloutUrl"] != "http://127.0.0.1:8080/callouts/zuora" {
		t.Fatalf("connected: %+v", out)
	}
	if out := run(events.TypeStiggIntegrationConnected, "c2"); out.Action != actionUnchanged {
		t.Fatalf("connected again: %+v", out)
	}
	if out := run(events.TypeStiggIntegrationDisconnected, "d1"); out.Action != actionRemoved || out.Zuora["deleted"] != "24" {
		t.Fatalf("disconnected: %+v", out)
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// Zuora has no API to define custom fields on its standard objects: provisioning describes the objects and names
// the ones missing, so an administrator knows what to add before writes carrying them are refused.
func TestProvisioningNamesMissingCustomFields(t *testing.T) {
	e := newProvisionEnv(t)
	if rep := e.reconcile("connect-1"); len(rep.MissingCustomFields) != 0 {
		t.Fatalf("the default tenant defines every field, got missing %v", rep.MissingCustomFields)
	}
	bare := zuorasim.New(zuorasim.Config{CustomFields: map[string][]string{"Account": {"stiggCustomerId__c"}}})
	srv := httptest.NewServer(bare.Handler())
	t.Cleanup(func() { srv.Close(); bare.Close() })
	z, err := zuoraapi.New(zuoraapi.Config{BaseURL: srv.URL, ClientID: zuorasim.DefaultClientID, ClientSecret: zuorasim.DefaultClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	e.deps.Zuora = z
	rep := e.reconcile("connect-2")
	want := "Account.stiggEntityUrl__c Product.stiggEntityUrl__c Subscription.stiggCustomerId__c Subscription.stiggEntityUrl__c Subscription.stiggResourceId__c"
	if got := strings.Join(rep.MissingCustomFields, " "); got != want {
		t.Fatalf("missing %q, want %q", got, want)
	}
}

// Lists longer than a page are read whole, each object once (triggers count from 0, templates and definitions
// from 1), so a tenant with many notifications of its own still reconciles to "unchanged".
func TestProvisioningReadsLongListsOnce(t *testing.T) {
	e := newProvisionEnv(t)
	ctx := e.ctx("tenant")
	const own = 57
	for i := range own {
		name := "TenantEvent" + strconv.Itoa(i)
		if _, err := e.zuora.CreateEventTrigger(ctx, "t"+name, &zuoraapi.EventTrigger{Active: true, BaseObject: "Invoice",
			Condition: "Invoice.Amount > " + strconv.Itoa(i), EventType: zuoraapi.EventType{Name: name, DisplayName: name}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.zuora.CreateCalloutTemplate(ctx, "c"+name, &zuoraapi.CalloutTemplate{Name: "tenant " + name, Active: true,
			CalloutBaseurl: "https://erp.example.com/" + name, HTTPMethod: http.MethodPost, EventTypeName: name,
			EventTypeNamespace: zuoraapi.EventTypeNamespaceUser, CalloutRetry: true}); err != nil {
			t.Fatal(err)
		}
	}
	e.reconcile("connect-1")
	s := e.setup()
	specs := len(events.CalloutSpecs())
	seen := map[string]bool{}
	for _, tmpl := range s.templates {
		if seen[tmpl.ID] {
			t.Fatalf("template %s listed twice", tmpl.Name)
		}
		seen[tmpl.ID] = true
	}
	for _, tr := range s.triggers {
		if seen[tr.ID] {
			t.Fatalf("trigger %s listed twice", tr.EventType.Name)
		}
		seen[tr.ID] = true
	}
	if len(s.triggers) != own+specs || len(s.templates) != own+specs {
		t.Fatalf("%d triggers and %d templates listed, want %d each", len(s.triggers), len(s.templates), own+specs)
	}
	if rep := e.reconcile("connect-2"); rep.Changed() {
		t.Fatalf("second reconcile: %s", rep)
	}
}
