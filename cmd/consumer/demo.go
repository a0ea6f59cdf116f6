package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"

	zuorasync "github.com/zuora-sync/zuora-sync"
	"github.com/zuora-sync/zuora-sync/bridge"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/handlers"
	"github.com/zuora-sync/zuora-sync/internal/app"
	"github.com/zuora-sync/zuora-sync/internal/envvar"
	"github.com/zuora-sync/zuora-sync/rpc"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// runDemo is `make run`: the whole system in one process with no configuration — an embedded JetStream server,
// the Zuora simulator over HTTP, the consumer and the bridge — then sample customers published through JetStream
// and what they became in Zuora. It keeps running so more events can be published with the nats CLI.
func runDemo(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	quiet := fs.Bool("quiet", true, "only warnings and errors from the components (the demo prints its own summary)")
	exit := fs.Bool("exit", false, "exit after the samples are synced (for scripted checks)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *quiet {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	cfg := app.FromEnv()
	cfg.Logger = log
	cfg.ConsoleAddr = envvar.Or("CONSOLE_ADDR", "127.0.0.1:8090") // the operator console, on loopback: no login
	if _, port, _ := net.SplitHostPort(os.Getenv("BRIDGE_ADDR")); port == "0" && os.Getenv("CONSOLE_ADDR") == "" {
		cfg.ConsoleAddr = "127.0.0.1:0" // random ports (the demo's test): the console's too
	}
	if os.Getenv("USAGE_FLUSH_INTERVAL") == "" {
		cfg.UsageFlushInterval = demoUsageFlushInterval // 1 s, not the default 5 s: the usage step waits for the flusher
	}
	if cfg.NATSURL == "" {
		cfg.NATSConfigFile = existing("nats.conf")
		if cfg.ZuoraBaseURL == "" {
			// The simulator forgets everything when the demo stops, so the id map must too: a fresh store per run
			// keeps a second `make run` from pointing at accounts that no longer exist.
			dir, err := os.MkdirTemp("", "zuorasync-demo-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			cfg.DataDir = dir
		}
	}
	// The bridge listens before the consumer is built: the consumer provisions Zuora's callouts for its address.
	bridgeUser, bridgePass := envvar.Or("BRIDGE_USERNAME", "demo"), envvar.Or("BRIDGE_PASSWORD", "demo")
	bridgeAddr := envvar.Or("BRIDGE_ADDR", "127.0.0.1:8080")
	ln, err := net.Listen("tcp", bridgeAddr)
	if err != nil {
		return fmt.Errorf("bridge: listen %s (set BRIDGE_ADDR to use another port): %w", bridgeAddr, err)
	}
	defer ln.Close()
	cfg.Handlers.Bridge = demoBridgeTarget(cfg.Handlers.Bridge, ln, bridgeUser, bridgePass)
	a, err := app.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()

	br, err := bridge.New(a.NC, bridge.Config{Username: bridgeUser, Password: bridgePass, Logger: log,
		Topology: cfg.Runner.Topology})
	if err != nil {
		return err
	}

	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// Whatever way the demo ends, the consumer and the bridge are told to stop and drain before it returns.
	defer func() { stop(); wg.Wait() }()
	errs := make(chan error, 2)
	wg.Go(func() { errs <- a.Run(runCtx) })
	wg.Go(func() { errs <- br.Serve(runCtx, ln) })

	natsURL := a.NC.ConnectedUrl()
	fmt.Fprintf(out, "\nzuora-sync demo\n  NATS (JetStream)  %s\n  Zuora simulator   %s   (state: %s/_sim/state)\n  bridge            http://%s  (/healthz, /readyz, /metrics)\n  console           %s\n\n",
		natsURL, a.SimURL, a.SimURL, ln.Addr(), a.ConsoleURL())

	customers, packages, err := publishSamples(ctx, a)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "published %d sample customers and %d catalog packages to JetStream; waiting for Zuora...\n",
		len(customers), len(packages))
	if err := waitSynced(ctx, a, "customer", customers, 30*time.Second); err != nil {
		return err
	}
	if err := waitSynced(ctx, a, "package", packages, 30*time.Second); err != nil {
		return err
	}
	if err := printZuora(out, a); err != nil {
		return err
	}
	if err := demoSubscription(ctx, out, a); err != nil {
		return err
	}
	if err := demoUsage(ctx, out, a); err != nil {
		return err
	}
	if err := demoCallouts(ctx, out, a); err != nil { // connects the integration, then demoPayment, then its callout
		return err
	}
	printHowTo(out, natsURL, a.SimURL)
	if *exit {
		return nil
	}
	fmt.Fprintln(out, "running; Ctrl-C to stop (in-flight events are drained first)")
	select {
	case <-ctx.Done():
	case err := <-errs:
		if err != nil {
			return err
		}
	}
	return nil
}

// publishSamples publishes testdata/customers.json and testdata/catalog.json as Stigg events and returns the
// customer and package ids.
func publishSamples(ctx context.Context, a *app.App) (customers, packages []string, err error) {
	var cs []events.Customer
	if err := readSample("testdata/customers.json", &cs); err != nil {
		return nil, nil, err
	}
	for i := range cs {
		if err := publish(ctx, a, events.TypeStiggCustomerCreated, cs[i].CustomerID, &cs[i]); err != nil {
			return nil, nil, err
		}
		customers = append(customers, cs[i].CustomerID)
	}
	var ps []events.PackagePublished
	if err := readSample("testdata/catalog.json", &ps); err != nil {
		return nil, nil, err
	}
	for i := range ps {
		if err := publish(ctx, a, events.TypeStiggPackagePublished, ps[i].PackageID, &ps[i]); err != nil {
			return nil, nil, err
		}
		packages = append(packages, ps[i].PackageID)
	}
	return customers, packages, nil
}

func readSample(name string, v any) error {
	raw, err := zuorasync.Samples.ReadFile(name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("sample %s: %w", name, err)
	}
	return nil
}

func publish(ctx context.Context, a *app.App, eventType, id string, data events.Payload) error {
	return publishAs(ctx, a, eventType, id, id, data)
}

// publishAs publishes an event about subject in the ordering of key (the customer id for payments).
func publishAs(ctx context.Context, a *app.App, eventType, subject, key string, data events.Payload) error {
	id := subject
	ev, err := events.New(eventType, "/zuora-sync/demo", subject, key, data)
	if err != nil {
		return fmt.Errorf("sample %s: %w", id, err)
	}
	msg, err := events.ToMsg("", ev)
	if err != nil {
		return err
	}
	if _, err := a.JS.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("publish sample %s: %w", id, err)
	}
	return nil
}

// waitSynced polls the id map: an object is synced once its Zuora counterpart is recorded there.
func waitSynced(ctx context.Context, a *app.App, kind string, ids []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, id := range ids {
		for {
			if _, err := a.IDs.Get(ctx, kind, id); err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s %s not synced after %s: see `go run ./cmd/consumer dlq list`", kind, id, timeout)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

func printZuora(out io.Writer, a *app.App) error {
	if a.Sim == nil {
		return errors.New("demo: not running against the simulator")
	}
	st := a.Sim.State()
	fmt.Fprintf(out, "\nZuora accounts in the simulator (%d):\n", len(st.Accounts))
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ACCOUNT\tNAME\tCURRENCY\tPAYMENT TERMS\tSTIGG CUSTOMER")
	for _, acct := range st.Accounts {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%v\n", acct.AccountNumber, acct.Name, acct.Currency, acct.PaymentTerms,
			acct.CustomFields["stiggCustomerId__c"])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nZuora catalog (%d products, %d plans, %d charges):\n", len(st.Products), len(st.Plans), len(st.Prices))
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  PRODUCT (SKU)\tPLAN\tCHARGE\tMODEL\tUNIT")
	for _, prod := range st.Products {
		fmt.Fprintf(tw, "  %s (%s)\t\t\t\t\n", prod.Name, prod.SKU)
		for _, plan := range st.Plans {
			if plan.ProductID != prod.ID {
				continue
			}
			fmt.Fprintf(tw, "  \t%s\t\t\t\n", plan.Name)
			for _, price := range st.Prices {
				if price.PlanID == plan.ID {
					fmt.Fprintf(tw, "  \t\t%s\t%s\t%s\n", price.Name, price.ChargeModel, price.UnitOfMeasure)
				}
			}
		}
	}
	return tw.Flush()
}

// demoSubscription walks one subscription through its life: subscribe, upgrade now, schedule a downgrade for the
// end of the billing period, and preview an order through the request/reply service.
func demoSubscription(ctx context.Context, out io.Writer, a *app.App) error {
	sub := events.Subscription{
		SubscriptionID: "sub-acme-pro", CustomerID: "cust-acme", PlanID: "plan-pro",
		BillingPeriod: events.BillingPeriodMonthly, Currency: "USD", StartDate: time.Now().UTC().Format("2006-01-02"),
		Units:                   []events.FeatureQuantity{{FeatureID: "feature-seats", Quantity: 5}},
		Addons:                  []events.AddonQuantity{{AddonID: "addon-storage", Quantity: 50}},
		PaymentCollectionMethod: events.PaymentCollectionInvoice,
		EntityURL:               "https://app.stigg.io/subscriptions/sub-acme-pro",
	}
	steps := []struct {
		say     string
		typ     string
		payload events.Payload
	}{
		{"subscribes to Pro with 5 seats and 50 GB of storage", events.TypeStiggSubscriptionCreated, &events.SubscriptionCreated{Subscription: sub}},
		{"upgrades now to 10 seats and adds API calls", events.TypeStiggSubscriptionUpdated, func() events.Payload {
			up := sub
			up.Units = []events.FeatureQuantity{{FeatureID: "feature-seats", Quantity: 10}}
			up.Addons = []events.AddonQuantity{{AddonID: "addon-storage", Quantity: 50}, {AddonID: "addon-api-calls", Quantity: 1}}
			return &events.SubscriptionUpdated{Subscription: up}
		}()},
		{"schedules a downgrade to 3 seats at the end of the billing period", events.TypeStiggSubscriptionUpdated, func() events.Payload {
			down := sub
			down.Units = []events.FeatureQuantity{{FeatureID: "feature-seats", Quantity: 3}}
			return &events.SubscriptionUpdated{Subscription: down, ScheduleStrategy: events.ScheduleEndOfBillingPeriod}
		}()},
	}
	fmt.Fprintln(out, "\nA subscription's life (customer cust-acme):")
	for _, st := range steps {
		before, _ := a.IDs.Get(ctx, "subscription", sub.SubscriptionID)
		if err := publish(ctx, a, st.typ, sub.SubscriptionID, st.payload); err != nil {
			return err
		}
		// Wait until the id map records this step.
		deadline := time.Now().Add(30 * time.Second)
		for {
			e, err := a.IDs.Get(ctx, "subscription", sub.SubscriptionID)
			if err == nil && (before == nil || e.SourceEventID != before.SourceEventID) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("subscription step %q not synced after 30s: see `go run ./cmd/consumer dlq list`", st.say)
			}
			time.Sleep(100 * time.Millisecond)
		}
		fmt.Fprintf(out, "  - %s\n", st.say)
	}
	zs, ok := a.Sim.Subscription("stigg-" + sub.SubscriptionID)
	if ok {
		b, _ := json.Marshal(zs)
		var view struct {
			SubscriptionNumber string `json:"subscriptionNumber"`
			Status             string `json:"status"`
			Version            int    `json:"version"`
			RatePlans          []struct {
				RatePlanName   string `json:"ratePlanName"`
				LastChangeType string `json:"lastChangeType"`
			} `json:"ratePlans"`
		}
		_ = json.Unmarshal(b, &view)
		fmt.Fprintf(out, "  Zuora subscription %s: %s, version %d, rate plans:", view.SubscriptionNumber, view.Status, view.Version)
		for _, rp := range view.RatePlans {
			if rp.LastChangeType != "Remove" {
				fmt.Fprintf(out, " %q", rp.RatePlanName)
			}
		}
		fmt.Fprintln(out)
	}
	for _, o := range a.Sim.Orders() {
		b, _ := json.Marshal(o)
		var view struct {
			OrderNumber       string `json:"orderNumber"`
			Status            string `json:"status"`
			SchedulingOptions *struct {
				ScheduledDate string `json:"scheduledDate"`
			} `json:"schedulingOptions"`
		}
		_ = json.Unmarshal(b, &view)
		if view.Status == "Scheduled" && view.SchedulingOptions != nil {
			fmt.Fprintf(out, "  pending scheduled order %s runs on %s\n", view.OrderNumber, view.SchedulingOptions.ScheduledDate)
		}
	}

	// A preview through the request/reply subject, as Stigg's checkout would ask it.
	preview := handlers.OrderPreviewRequest{Periods: 2, Subscription: events.Subscription{
		SubscriptionID: "sub-globex-preview", CustomerID: "cust-globex", PlanID: "plan-pro",
		BillingPeriod: events.BillingPeriodMonthly, Currency: "EUR", StartDate: time.Now().UTC().Format("2006-01-02"),
		Units: []events.FeatureQuantity{{FeatureID: "feature-seats", Quantity: 8}},
	}}
	body, _ := json.Marshal(preview)
	resp, err := a.NC.RequestMsgWithContext(ctx, &nats.Msg{Subject: rpc.SubjectOrderPreview, Data: body})
	if err != nil {
		return fmt.Errorf("order preview: %w", err)
	}
	var p handlers.Preview
	if err := json.Unmarshal(resp.Data, &p); err != nil || len(p.Invoices) == 0 {
		return fmt.Errorf("order preview answered %s", resp.Data)
	}
	fmt.Fprintf(out, "\nOrder preview (%s, Pro with 8 seats, 2 months) via %s: total %s %s\n", "cust-globex", rpc.SubjectOrderPreview, p.Total, p.Currency)
	for _, inv := range p.Invoices {
		fmt.Fprintf(out, "  invoice %s: %s\n", inv.TargetDate, inv.Amount)
	}
	return nil
}

func printHowTo(out io.Writer, natsURL, simURL string) {
	fmt.Fprintf(out, `
Publish another customer with the nats CLI (go install github.com/nats-io/natscli/nats@v0.5.0):

  nats --server %[1]s pub stigg.customer.created.cust-new \
    -H ce-specversion:1.0 -H ce-type:io.stigg.customer.created -H ce-source:/cli \
    -H ce-id:cli-$(date +%%s%%N) -H ce-subject:cust-new -H ce-partitionkey:cust-new \
    -H content-type:application/json \
    '{"customerId":"cust-new","name":"New Customer","email":"new@example.com","currency":"USD","invoiceDaysUntilDue":30}'

Then look at Zuora and at what zuora-sync reported:

  curl -s %[2]s/_sim/state | jq '.accounts[] | {account_number, name, payment_terms}'
  nats --server %[1]s stream view ZUORASYNC_OUT
  go run ./cmd/consumer dlq list

`, natsURL, simURL)
}

// demoPayment pays cust-acme's first invoice through io.stigg.payment.requested (an external payment, as a bank
// transfer recorded in Stigg would be) and signs a hosted payment page for the customer.
func demoPayment(ctx context.Context, out io.Writer, a *app.App) error {
	acct, err := a.IDs.Get(ctx, "customer", "cust-acme")
	if err != nil {
		return fmt.Errorf("cust-acme's account: %w", err)
	}
	var inv *zuorasim.V1Invoice
	for _, i := range a.Sim.Invoices() {
		if i.AccountID == acct.ZuoraID && i.Balance > 0 {
			inv = &i
			break
		}
	}
	if inv == nil {
		return errors.New("cust-acme has no open invoice to pay")
	}
	req := &events.PaymentRequested{CustomerID: "cust-acme", InvoiceNumber: inv.InvoiceNumber,
		Amount: events.DecimalPtr(strconv.FormatFloat(inv.Balance, 'f', -1, 64)), Currency: inv.Currency,
		Kind: events.PaymentExternal, Reference: "demo bank transfer"}
	if err := publishAs(ctx, a, events.TypeStiggPaymentRequested, inv.InvoiceNumber, "cust-acme", req); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		paid := false
		for _, i := range a.Sim.Invoices() {
			paid = paid || i.InvoiceNumber == inv.InvoiceNumber && i.Balance == 0
		}
		if paid {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("invoice %s not paid after 30s: see `go run ./cmd/consumer dlq list`", inv.InvoiceNumber)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	fmt.Fprintf(out, "\nPayment: invoice %s of cust-acme (%.2f %s) paid through %s\n", inv.InvoiceNumber, inv.Balance,
		inv.Currency, events.TypeStiggPaymentRequested)

	body, _ := json.Marshal(handlers.HostedPageRequest{CustomerID: "cust-acme"})
	resp, err := a.NC.RequestMsgWithContext(ctx, &nats.Msg{Subject: rpc.SubjectHostedPage, Data: body})
	if err != nil {
		return fmt.Errorf("hosted page: %w", err)
	}
	var page handlers.HostedPage
	if err := json.Unmarshal(resp.Data, &page); err != nil || page.Signature == "" {
		return fmt.Errorf("hosted page answered %s", resp.Data)
	}
	sig := &zuoraapi.RSASignature{Signature: page.Signature, Token: page.Token, TenantID: page.TenantID, Key: page.Key}
	verified := "verified with the page's public key"
	if err := zuoraapi.VerifyHostedPageSignature(sig, page.URL, page.PageID); err != nil {
		verified = "NOT verified: " + err.Error()
	}
	fmt.Fprintf(out, "Hosted payment page for cust-acme via %s: page %s, signature %s\n", rpc.SubjectHostedPage, page.PageID, verified)
	return nil
}
