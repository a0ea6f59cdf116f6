package handlers

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
)

// Outcome actions of the integration events.
const (
	actionProvisioned = "provisioned"
	actionRemoved     = "removed"
)

// integrations handles io.stigg.integration.connected (reconcile Zuora's notification set-up so callouts reach
// the bridge) and .disconnected (remove exactly what provisioning created). Both are full-state events of one
// integration: the guard applies only the latest.
//
// Zuora calls: 3 lists (more pages past 50 objects), then per io.zuora.* type at most a create or an update of
// its trigger, template and definition; nothing else when the set-up is already right.
type integrations struct{ deps Deps }

func (h *integrations) Handle(ctx context.Context, in *dispatch.Input) (*dispatch.Result, error) {
	i, ok := in.Payload.(*events.Integration)
	if !ok {
		return nil, dispatch.Permanent(fmt.Errorf("integration handler got %T", in.Payload))
	}
	p := NewProvisioner(h.deps)
	var rep ProvisionReport
	var err error
	action := actionProvisioned
	if in.Event.Type() == events.TypeStiggIntegrationDisconnected {
		action = actionRemoved
		rep, err = p.Remove(ctx)
	} else {
		rep, err = p.Reconcile(ctx)
	}
	if err != nil {
		return nil, err
	}
	if !rep.Changed() {
		action = actionUnchanged
	}
	out := events.Outcome{StiggID: i.IntegrationID, Action: action, Zuora: map[string]string{
		"created": strconv.Itoa(rep.Created), "updated": strconv.Itoa(rep.Updated),
		"deleted": strconv.Itoa(rep.Deleted), "unchanged": strconv.Itoa(rep.Unchanged)}}
	if action != actionRemoved && action != actionUnchanged {
		out.Zuora["calloutUrl"] = p.calloutURL()
	}
	if len(rep.MissingCustomFields) > 0 {
		out.Zuora["missingCustomFields"] = strings.Join(rep.MissingCustomFields, ",")
	}
	return dispatch.Synced(events.EntityIntegration, out), nil
}
