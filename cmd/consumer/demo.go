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
	"sync"
	"text/tabwriter"
	"time"

	zuorasync "github.com/zuora-sync/zuora-sync"
	"github.com/zuora-sync/zuora-sync/bridge"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/app"
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
	a, err := app.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()

	bridgeUser, bridgePass := envOr("BRIDGE_USERNAME", "demo"), envOr("BRIDGE_PASSWORD", "demo")
	br, err := bridge.New(a.NC, bridge.Config{Username: bridgeUser, Password: bridgePass, Logger: log,
		Topology: cfg.Runner.Topology})
	if err != nil {
		return err
	}
	bridgeAddr := envOr("BRIDGE_ADDR", "127.0.0.1:8080")
	ln, err := net.Listen("tcp", bridgeAddr)
	if err != nil {
		return fmt.Errorf("bridge: listen %s (set BRIDGE_ADDR to use another port): %w", bridgeAddr, err)
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() { errs <- a.Run(runCtx) })
	wg.Go(func() { errs <- br.Serve(runCtx, ln) })
	defer wg.Wait()

	natsURL := a.NC.ConnectedUrl()
	fmt.Fprintf(out, "\nzuora-sync demo\n  NATS (JetStream)  %s\n  Zuora simulator   %s   (state: %s/_sim/state)\n  bridge            http://%s  (/healthz, /readyz, /metrics)\n\n",
		natsURL, a.SimURL, a.SimURL, ln.Addr())

	ids, err := publishSamples(ctx, a)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "published %d sample customer events to JetStream; waiting for them to reach Zuora...\n", len(ids))
	if err := waitSynced(ctx, a, ids, 30*time.Second); err != nil {
		return err
	}
	if err := printAccounts(out, a); err != nil {
		return err
	}
	printHowTo(out, natsURL, a.SimURL)
	if *exit {
		stop()
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

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func publishSamples(ctx context.Context, a *app.App) ([]string, error) {
	raw, err := zuorasync.Samples.ReadFile("testdata/customers.json")
	if err != nil {
		return nil, err
	}
	var customers []events.Customer
	if err := json.Unmarshal(raw, &customers); err != nil {
		return nil, fmt.Errorf("samples: %w", err)
	}
	var ids []string
	for i := range customers {
		c := &customers[i]
		ev, err := events.New(events.TypeStiggCustomerCreated, "/zuora-sync/demo", c.CustomerID, c.CustomerID, c)
		if err != nil {
			return nil, fmt.Errorf("sample %s: %w", c.CustomerID, err)
		}
		msg, err := events.ToMsg("", ev)
		if err != nil {
			return nil, err
		}
		if _, err := a.JS.PublishMsg(ctx, msg); err != nil {
			return nil, fmt.Errorf("publish sample %s: %w", c.CustomerID, err)
		}
		ids = append(ids, c.CustomerID)
	}
	return ids, nil
}

// waitSynced polls the id map: a customer is synced once its Zuora account is recorded there.
func waitSynced(ctx context.Context, a *app.App, customerIDs []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, id := range customerIDs {
		for {
			if _, err := a.IDs.Get(ctx, "customer", id); err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("customer %s not synced after %s: see `go run ./cmd/consumer dlq list`", id, timeout)
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

func printAccounts(out io.Writer, a *app.App) error {
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
	return tw.Flush()
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
