package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/handlers"
	"github.com/zuora-sync/zuora-sync/internal/app"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// The demo's Zuora → Stigg step: the integration is connected (io.stigg.integration.connected, on which the
// consumer provisions Zuora's callouts for the demo's own bridge), cust-acme's invoice is paid (demoPayment), and
// the invoice.paid callout the simulator sends over HTTP is followed through the bridge and the ZUORA stream to
// the consumer's io.zuorasync.invoice.paid outcome.

const (
	demoIntegrationID = "int-zuora-demo"
	demoCalloutWait   = 30 * time.Second
)

// demoBridgeTarget is where the demo's Zuora sends callouts: BRIDGE_PUBLIC_URL when set, else the demo bridge's
// own listener, on loopback (the simulator accepts http only for 127.0.0.1 and localhost).
func demoBridgeTarget(set handlers.BridgeTarget, ln net.Listener, user, pass string) handlers.BridgeTarget {
	if set.PublicURL == "" {
		addr := ln.Addr().(*net.TCPAddr)
		host := "127.0.0.1"
		if ip4 := addr.IP.To4(); ip4 != nil && !ip4.IsUnspecified() {
			host = ip4.String()
		}
		set.PublicURL = "http://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
	}
	set.Username, set.Password = user, pass
	return set
}

// demoCallouts connects the integration, pays cust-acme's invoice and prints how its callout came back.
func demoCallouts(ctx context.Context, out io.Writer, a *app.App) error {
	connected, err := events.New(events.TypeStiggIntegrationConnected, "/zuora-sync/demo", demoIntegrationID,
		demoIntegrationID, &events.Integration{IntegrationID: demoIntegrationID})
	if err != nil {
		return err
	}
	if err := publishEvent(ctx, a, connected); err != nil {
		return err
	}
	typ, o, err := awaitOutcome(ctx, a, demoCalloutWait, func(_ string, o events.Outcome) bool {
		return o.SourceEventID == connected.ID()
	})
	if err != nil {
		return fmt.Errorf("provisioning Zuora's callouts (%s): %w", events.TypeStiggIntegrationConnected, err)
	}
	if typ != events.TypeOutIntegrationSynced {
		return fmt.Errorf("provisioning Zuora's callouts failed: %s", o.Reason)
	}
	fmt.Fprintf(out, "\nZuora callouts provisioned through %s: %s triggers, templates and notification definitions created (callouts to %s, Basic auth)\n",
		events.TypeStiggIntegrationConnected, o.Zuora["created"], o.Zuora["calloutUrl"])

	if err := demoPayment(ctx, out, a); err != nil {
		return err
	}
	_, paid, err := awaitOutcome(ctx, a, demoCalloutWait, func(typ string, o events.Outcome) bool {
		return typ == events.TypeOutInvoicePaid && o.StiggID == "cust-acme"
	})
	if err != nil {
		return fmt.Errorf("the invoice.paid callout did not come back as %s: %w; Zuora's callouts: %s (all of it: %s/_sim/state)",
			events.TypeOutInvoicePaid, err, calloutSummary(a.Sim), a.SimURL)
	}
	number := paid.Zuora[events.ZuoraInvoiceNumber]
	fmt.Fprintf(out, "Zuora → Stigg: invoice %s paid → callout → bridge → %s stream → outcome %s (customer %s, subscription %s)\n",
		number, topology.StreamZuora, events.TypeOutInvoicePaid, paid.Zuora["stiggCustomerId"], paid.Zuora["stiggSubscriptionId"])
	if c, ok := paidCallout(a.Sim, number); ok && len(c.Attempts) > 0 {
		last := c.Attempts[len(c.Attempts)-1]
		fmt.Fprintf(out, "  Zuora's callout history: %s %s, %s at attempt %d (HTTP %d, Basic auth sent after the bridge's 401 challenge)\n",
			c.RequestMethod, c.RequestURL, c.Status, last.Number, last.ResponseCode)
	}
	return nil
}

// paidCallout finds the simulator's invoice.paid delivery of an invoice.
func paidCallout(sim *zuorasim.Sim, invoiceNumber string) (zuorasim.CalloutHistoryEntry, bool) {
	if sim == nil {
		return zuorasim.CalloutHistoryEntry{}, false
	}
	for _, c := range sim.CalloutHistory() {
		if c.Parameters[events.CalloutEventParam] == "invoice.paid" && c.Parameters["invoiceNumber"] == invoiceNumber {
			return c, true
		}
	}
	return zuorasim.CalloutHistoryEntry{}, false
}

// calloutSummary lists the simulator's deliveries with their attempts' status codes, for an error message.
func calloutSummary(sim *zuorasim.Sim) string {
	if sim == nil {
		return "unknown (not the simulator)"
	}
	var parts []string
	for _, c := range sim.CalloutHistory() {
		codes := make([]string, len(c.Attempts))
		for i, att := range c.Attempts {
			codes[i] = strconv.Itoa(att.ResponseCode)
			if att.Error != "" {
				codes[i] += " (" + att.Error + ")"
			}
		}
		parts = append(parts, fmt.Sprintf("%s of %s %s [%s]", c.Parameters[events.CalloutEventParam], c.ObjectID, c.Status,
			strings.Join(codes, ", ")))
	}
	if len(parts) == 0 {
		return "none sent"
	}
	return strings.Join(parts, "; ")
}

func publishEvent(ctx context.Context, a *app.App, ev event.Event) error {
	msg, err := events.ToMsg("", ev)
	if err != nil {
		return err
	}
	if _, err := a.JS.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("publish %s: %w", ev.Type(), err)
	}
	return nil
}

// awaitOutcome reads the outcome stream from its start until an outcome matches, or timeout.
func awaitOutcome(ctx context.Context, a *app.App, timeout time.Duration, match func(typ string, o events.Outcome) bool) (string, events.Outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	oc, err := a.JS.OrderedConsumer(ctx, topology.StreamOutcomes, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.PrefixOutcome + ".>"}, DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return "", events.Outcome{}, err
	}
	for {
		msg, err := oc.Next(jetstream.FetchContext(ctx))
		if ctx.Err() != nil {
			return "", events.Outcome{}, fmt.Errorf("no outcome after %s", timeout)
		}
		if err != nil {
			return "", events.Outcome{}, err
		}
		ev, err := events.FromMsg(msg.Headers(), msg.Data())
		if err != nil {
			continue
		}
		var o events.Outcome
		if json.Unmarshal(ev.Data(), &o) == nil && match(ev.Type(), o) {
			return ev.Type(), o, nil
		}
	}
}
