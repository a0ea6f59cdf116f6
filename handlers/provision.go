package handlers

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// BridgeTarget is where Zuora sends callouts: the bridge's public base URL and the Basic credentials it checks.
type BridgeTarget struct {
	PublicURL string // BRIDGE_PUBLIC_URL, e.g. https://zuora-sync.example.com
	Username  string // BRIDGE_USERNAME
	Password  string // BRIDGE_PASSWORD: never logged or put in an outcome
}

// CalloutPath is the bridge's callout endpoint, below BridgeTarget.PublicURL.
const CalloutPath = "/callouts/zuora"

// ErrNoBridge: provisioning was asked for without BRIDGE_PUBLIC_URL or the bridge's credentials.
var ErrNoBridge = errors.New("the bridge is not configured: set BRIDGE_PUBLIC_URL, BRIDGE_USERNAME and BRIDGE_PASSWORD " +
	"so Zuora can be told where to send callouts")

// Provisioning names. Objects zuora-sync owns are recognised by them, so a tenant's other triggers, templates and
// notifications are never touched. Deployed tenants depend on them: they must never change.
const (
	provisionedNamePrefix = "zuora-sync "
	templateConfigHeader  = "Zuorasync-Template" // carries a fingerprint of the settings, secrets included
)

// ProvisionReport counts what one reconcile did in Zuora, per kind of object.
type ProvisionReport struct {
	Created, Updated, Deleted, Unchanged int
	// MissingCustomFields names ("Object.field__c") the custom fields the handlers write that the tenant does
	// not define; Zuora has no API to define them, an administrator adds them in Zuora's Object Manager.
	MissingCustomFields []string
}

func (r ProvisionReport) String() string {
	s := fmt.Sprintf("%d created, %d updated, %d deleted, %d unchanged", r.Created, r.Updated, r.Deleted, r.Unchanged)
	if len(r.MissingCustomFields) > 0 {
		s += "; custom fields missing in Zuora: " + strings.Join(r.MissingCustomFields, ", ")
	}
	return s
}

// requiredCustomFields are the custom fields the handlers write, by Zuora object.
var requiredCustomFields = map[string][]string{
	"Account":      {FieldStiggCustomerID, FieldStiggEntityURL},
	"Product":      {FieldStiggEntityURL},
	"Subscription": {FieldStiggCustomerID, FieldStiggEntityURL, FieldStiggResourceID},
}

// missingCustomFields describes each object the handlers write custom fields of and lists the fields it lacks.
func (p *Provisioner) missingCustomFields(ctx context.Context) ([]string, error) {
	var missing []string
	for _, object := range slices.Sorted(maps.Keys(requiredCustomFields)) {
		fields, err := p.zuora.DescribeFields(ctx, object)
		if err != nil {
			return nil, fmt.Errorf("describe %s: %w", object, err)
		}
		for _, want := range requiredCustomFields[object] {
			if !slices.ContainsFunc(fields, func(f zuoraapi.DescribedField) bool { return f.Name == want }) {
				missing = append(missing, object+"."+want)
			}
		}
	}
	return missing, nil
}

// Changed reports whether Zuora was written to.
func (r ProvisionReport) Changed() bool { return r.Created+r.Updated+r.Deleted > 0 }

// Provisioner reconciles what Zuora needs to send zuora-sync its callouts: per events.CalloutSpecs entry a custom
// event trigger, a callout template pointing at the bridge with Basic auth, and a notification definition linking
// the two. Reconcile lists what exists, creates what is missing, updates what differs, deletes objects of its own
// that no spec names any more, and leaves everything else alone: running it twice changes nothing. Remove deletes
// exactly what Reconcile owns.
type Provisioner struct {
	zuora  *zuoraapi.Client
	bridge BridgeTarget
	log    *slog.Logger
}

// NewProvisioner builds a provisioner over Deps.Zuora for Deps.Bridge.
func NewProvisioner(d Deps) *Provisioner {
	d = d.withDefaults()
	return &Provisioner{zuora: d.Zuora, bridge: d.Bridge, log: d.Logger.With("component", "provisioning")}
}

func (p *Provisioner) configured() error {
	b := p.bridge
	if b.PublicURL == "" || b.Username == "" || b.Password == "" {
		return dispatch.Permanent(ErrNoBridge)
	}
	return nil
}

// calloutURL is the bridge endpoint Zuora calls.
func (p *Provisioner) calloutURL() string {
	return strings.TrimRight(p.bridge.PublicURL, "/") + CalloutPath
}

func provisionedName(spec events.CalloutSpec) string { return provisionedNamePrefix + spec.Name }

func ownedName(name string) bool { return strings.HasPrefix(name, provisionedNamePrefix) }

// fingerprint names the bridge settings, password included, without revealing it: Zuora does not return a
// template's password, so a changed password is seen through this header value. Zuora's administrators can read
// the header, so it is a slow derivation (PBKDF2, 200,000 rounds, ~0.1 s) that makes guessing the password from
// it costly; it is computed once per process and settings.
func (p *Provisioner) fingerprint() string {
	salt := "zuorasync-template-v1\x00" + p.calloutURL() + "\x00" + p.bridge.Username
	id := sha256.Sum256([]byte(salt + "\x00" + p.bridge.Password))
	if fp, ok := fingerprints.Load(id); ok {
		return fp.(string)
	}
	key, err := pbkdf2.Key(sha256.New, p.bridge.Password, []byte(salt), 200_000, 16)
	if err != nil {
		panic(err) // only for parameters outside FIPS limits, which these are not
	}
	fp := hex.EncodeToString(key)
	fingerprints.Store(id, fp)
	return fp
}

// fingerprints caches fingerprint by its inputs' hash.
var fingerprints sync.Map

func (p *Provisioner) wantTrigger(spec events.CalloutSpec) zuoraapi.EventTrigger {
	return zuoraapi.EventTrigger{Active: true, BaseObject: spec.BaseObject, Condition: spec.Condition,
		EventType: zuoraapi.EventType{Name: spec.EventName, DisplayName: "zuora-sync: " + spec.Name}}
}

func (p *Provisioner) wantTemplate(spec events.CalloutSpec) zuoraapi.CalloutTemplate {
	return zuoraapi.CalloutTemplate{Name: provisionedName(spec), Active: true, CalloutBaseurl: p.calloutURL(),
		HTTPMethod: http.MethodPost, EventTypeName: spec.EventName, EventTypeNamespace: zuoraapi.EventTypeNamespaceUser,
		CalloutParams: spec.Params, CalloutHeaders: map[string]string{templateConfigHeader: p.fingerprint()},
		CalloutRetry: true, RequiredAuth: true,
		CalloutAuth: &zuoraapi.CalloutAuth{Username: p.bridge.Username, Password: p.bridge.Password}}
}

func (p *Provisioner) wantDefinition(spec events.CalloutSpec, templateID string) zuoraapi.NotificationDefinition {
	return zuoraapi.NotificationDefinition{Name: provisionedName(spec), Active: true, EventTypeName: spec.EventName,
		EventTypeNamespace: zuoraapi.EventTypeNamespaceUser, CalloutActive: true, CalloutTemplateIDs: []string{templateID}}
}

func sameTrigger(have, want zuoraapi.EventTrigger) bool {
	return have.Active == want.Active && have.BaseObject == want.BaseObject && have.Condition == want.Condition &&
		have.EventType.DisplayName == want.EventType.DisplayName
}

// sameTemplate compares what Zuora returns of a template; the password is compared through the fingerprint.
func sameTemplate(have, want zuoraapi.CalloutTemplate) bool {
	user := ""
	if have.CalloutAuth != nil {
		user = have.CalloutAuth.Username
	}
	return have.Active == want.Active && have.CalloutBaseurl == want.CalloutBaseurl && have.HTTPMethod == want.HTTPMethod &&
		have.EventTypeName == want.EventTypeName && maps.Equal(have.CalloutParams, want.CalloutParams) &&
		have.CalloutHeaders[templateConfigHeader] == want.CalloutHeaders[templateConfigHeader] &&
		have.CalloutRetry == want.CalloutRetry && have.RequiredAuth == want.RequiredAuth && user == want.CalloutAuth.Username
}

func sameDefinition(have, want zuoraapi.NotificationDefinition) bool {
	return have.Active == want.Active && have.EventTypeName == want.EventTypeName && have.CalloutActive == want.CalloutActive &&
		slices.Equal(have.CalloutTemplateIDs, want.CalloutTemplateIDs)
}

// zuoraState is what Zuora has of the notification set-up.
type zuoraState struct {
	triggers    []zuoraapi.EventTrigger
	templates   []zuoraapi.CalloutTemplate
	definitions []zuoraapi.NotificationDefinition
}

func (p *Provisioner) read(ctx context.Context) (*zuoraState, error) {
	var st zuoraState
	var err error
	if st.triggers, err = p.zuora.ListEventTriggers(ctx, ""); err != nil {
		return nil, fmt.Errorf("list event triggers: %w", err)
	}
	if st.templates, err = p.zuora.ListCalloutTemplates(ctx); err != nil {
		return nil, fmt.Errorf("list callout templates: %w", err)
	}
	if st.definitions, err = p.zuora.ListNotificationDefinitions(ctx); err != nil {
		return nil, fmt.Errorf("list notification definitions: %w", err)
	}
	return &st, nil
}

// Reconcile brings Zuora's notification set-up to what zuora-sync needs. Each create carries an idempotency step
// named after the object, so a retry of the same event cannot create it twice.
func (p *Provisioner) Reconcile(ctx context.Context) (ProvisionReport, error) {
	var rep ProvisionReport
	if err := p.configured(); err != nil {
		return rep, err
	}
	st, err := p.read(ctx)
	if err != nil {
		return rep, err
	}
	specs := events.CalloutSpecs()
	for _, spec := range specs {
		if err := p.reconcileOne(ctx, st, spec, &rep); err != nil {
			return rep, fmt.Errorf("provision %s: %w", spec.Type, err)
		}
	}
	// Objects of ours that no spec names any more (an older version's) go; a definition first, so nothing points at
	// a template or an event that is gone.
	wanted := map[string]bool{}
	for _, spec := range specs {
		wanted[provisionedName(spec)], wanted[spec.EventName] = true, true
	}
	if err := p.removeOwned(ctx, st, func(name string) bool { return !wanted[name] }, &rep); err != nil {
		return rep, err
	}
	if rep.MissingCustomFields, err = p.missingCustomFields(ctx); err != nil {
		return rep, err
	}
	if len(rep.MissingCustomFields) > 0 {
		p.log.Error("Zuora lacks custom fields zuora-sync writes: writes that carry them will be refused until an "+
			"administrator defines them (text fields) in Zuora's Object Manager; Zuora has no API for this",
			"missing", rep.MissingCustomFields)
	}
	p.log.Info("Zuora notification set-up reconciled", "callout_url", p.calloutURL(), "result", rep.String())
	return rep, nil
}

func (p *Provisioner) reconcileOne(ctx context.Context, st *zuoraState, spec events.CalloutSpec, rep *ProvisionReport) error {
	// The custom event trigger.
	want := p.wantTrigger(spec)
	i := slices.IndexFunc(st.triggers, func(t zuoraapi.EventTrigger) bool { return t.EventType.Name == spec.EventName })
	switch {
	case i >= 0 && st.triggers[i].BaseObject != want.BaseObject:
		// The base object cannot be changed in place.
		if err := p.zuora.DeleteEventTrigger(ctx, st.triggers[i].ID); err != nil && !zuoraapi.IsNotFound(err) {
			return fmt.Errorf("replace event trigger %s: %w", spec.EventName, err)
		}
		rep.Deleted++
		i = -1
		fallthrough
	case i < 0:
		if _, err := p.zuora.CreateEventTrigger(ctx, "provision.trigger/"+spec.EventName+"/"+want.BaseObject, &want); err != nil {
			return fmt.Errorf("create event trigger %s: %w", spec.EventName, err)
		}
		rep.Created++
	case !sameTrigger(st.triggers[i], want):
		active := want.Active
		if _, err := p.zuora.UpdateEventTrigger(ctx, st.triggers[i].ID, &zuoraapi.EventTriggerUpdate{Active: &active,
			Condition: want.Condition, EventType: &want.EventType}); err != nil {
			return fmt.Errorf("update event trigger %s: %w", spec.EventName, err)
		}
		rep.Updated++
	default:
		rep.Unchanged++
	}

	// The callout template.
	tmpl := p.wantTemplate(spec)
	var templateID string
	if j := slices.IndexFunc(st.templates, func(t zuoraapi.CalloutTemplate) bool { return t.Name == tmpl.Name }); j < 0 {
		created, err := p.zuora.CreateCalloutTemplate(ctx, "provision.template/"+spec.EventName+"/"+p.fingerprint(), &tmpl)
		if err != nil {
			return fmt.Errorf("create callout template %q: %w", tmpl.Name, err)
		}
		templateID = created.ID
		rep.Created++
	} else {
		templateID = st.templates[j].ID
		if sameTemplate(st.templates[j], tmpl) {
			rep.Unchanged++
		} else {
			if _, err := p.zuora.UpdateCalloutTemplate(ctx, templateID, &tmpl); err != nil {
				return fmt.Errorf("update callout template %q: %w", tmpl.Name, err)
			}
			rep.Updated++
		}
	}

	// The notification definition.
	def := p.wantDefinition(spec, templateID)
	k := slices.IndexFunc(st.definitions, func(d zuoraapi.NotificationDefinition) bool { return d.Name == def.Name })
	switch {
	case k >= 0 && st.definitions[k].EventTypeName != def.EventTypeName:
		if err := p.zuora.DeleteNotificationDefinition(ctx, st.definitions[k].ID); err != nil && !zuoraapi.IsNotFound(err) {
			return fmt.Errorf("replace notification definition %q: %w", def.Name, err)
		}
		rep.Deleted++
		k = -1
		fallthrough
	case k < 0:
		if _, err := p.zuora.CreateNotificationDefinition(ctx, "provision.definition/"+spec.EventName+"/"+templateID, &def); err != nil {
			return fmt.Errorf("create notification definition %q: %w", def.Name, err)
		}
		rep.Created++
	case !sameDefinition(st.definitions[k], def):
		if _, err := p.zuora.UpdateNotificationDefinition(ctx, st.definitions[k].ID, &def); err != nil {
			return fmt.Errorf("update notification definition %q: %w", def.Name, err)
		}
		rep.Updated++
	default:
		rep.Unchanged++
	}
	return nil
}

// Remove deletes every notification definition, callout template and event trigger zuora-sync owns, and nothing
// else. It needs no bridge configuration: it only deletes.
func (p *Provisioner) Remove(ctx context.Context) (ProvisionReport, error) {
	var rep ProvisionReport
	st, err := p.read(ctx)
	if err != nil {
		return rep, err
	}
	if err := p.removeOwned(ctx, st, func(string) bool { return true }, &rep); err != nil {
		return rep, err
	}
	p.log.Info("Zuora notification set-up removed", "result", rep.String())
	return rep, nil
}

// removeOwned deletes the objects of ours for which drop(name) holds: definitions, then templates, then triggers.
func (p *Provisioner) removeOwned(ctx context.Context, st *zuoraState, drop func(string) bool, rep *ProvisionReport) error {
	gone := func(err error) bool { return err == nil || zuoraapi.IsNotFound(err) }
	for _, d := range st.definitions {
		if ownedName(d.Name) && drop(d.Name) {
			if err := p.zuora.DeleteNotificationDefinition(ctx, d.ID); !gone(err) {
				return fmt.Errorf("delete notification definition %q: %w", d.Name, err)
			}
			rep.Deleted++
		}
	}
	for _, t := range st.templates {
		if ownedName(t.Name) && drop(t.Name) {
			if err := p.zuora.DeleteCalloutTemplate(ctx, t.ID); !gone(err) {
				return fmt.Errorf("delete callout template %q: %w", t.Name, err)
			}
			rep.Deleted++
		}
	}
	for _, t := range st.triggers {
		if strings.HasPrefix(t.EventType.Name, events.CalloutEventPrefix) && drop(t.EventType.Name) {
			if err := p.zuora.DeleteEventTrigger(ctx, t.ID); !gone(err) {
				return fmt.Errorf("delete event trigger %s: %w", t.EventType.Name, err)
			}
			rep.Deleted++
		}
	}
	return nil
}
