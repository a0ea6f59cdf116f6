package main

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/internal/natstest"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	// The demo takes about 6 s alone under -race; with the rest of the suite on 2 cores one CI run needed more than
	// 60 s (its usage step), so the bound leaves room (docs/ARCHITECTURE.md, open threads).
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := runCommand(ctx, args, &out, slog.New(slog.DiscardHandler))
	return out.String(), err
}

func TestOperatorCommands(t *testing.T) {
	srv := natstest.Start(t)
	t.Setenv("NATS_URL", srv.ClientURL())

	out, err := run(t, "provision")
	if err != nil || !strings.Contains(out, "provisioned streams STIGG") {
		t.Fatalf("provision: %q %v", out, err)
	}
	if out, err = run(t, "dlq", "list"); err != nil || !strings.Contains(out, "the DLQ is empty") {
		t.Fatalf("dlq list: %q %v", out, err)
	}
	if _, err = run(t, "replay"); err == nil || !strings.Contains(err.Error(), "exactly one of") {
		t.Fatalf("replay without a start must say what is missing, got %v", err)
	}
	if _, err = run(t, "replay", "-stream", "NOPE", "-seq", "1"); err == nil || !strings.Contains(err.Error(), "-stream") {
		t.Fatalf("replay with a bad stream: %v", err)
	}
	if out, err = run(t, "replay", "-since", "1h"); err != nil || !strings.Contains(out, "no zuora-sync consumers") {
		t.Fatalf("replay before any consumer exists: %q %v", out, err)
	}
	if _, err = run(t, "dlq", "redrive", "-seq", "x"); err == nil || !strings.Contains(err.Error(), "not a sequence") {
		t.Fatalf("redrive with a bad sequence: %v", err)
	}
	if _, err = run(t, "frobnicate"); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("unknown command: %v", err)
	}
}

// TestDemoSyncsSampleCustomers is `make run` without the fixed ports: everything embedded, the samples published
// through JetStream and synced into the simulator.
func TestDemoSyncsSampleCustomers(t *testing.T) {
	t.Setenv("NATS_URL", "")
	t.Setenv("ZUORA_BASE_URL", "")
	t.Setenv("ZUORASIM_ADDR", "127.0.0.1:0")
	t.Setenv("BRIDGE_ADDR", "127.0.0.1:0")
	out, err := run(t, "demo", "-exit")
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{"Zuora accounts in the simulator (3)", "cust-acme", "Net 30", "cust-globex", "Net 15", "nats --server",
		"Zuora catalog (4 products, 4 plans, 6 charges)", "stigg-plan-pro", "Pro (Annual)", "API Call usage",
		"upgrades now to 10 seats", "pending scheduled order", "Order preview", "total 274 EUR",
		// 7000.5 (the latest SET) + the 107 DELTAs after it, worked out apart from the demo's own arithmetic.
		"Usage of API calls (sub-acme-pro): 300 reports (12 of them redelivered copies) → usage record ",
		" in Zuora: quantity 12255.9 API Call, pending; "} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	// Zuora → Stigg: the integration provisions Zuora's callouts for the demo's bridge, and the invoice the demo
	// pays comes back through a real callout as the consumer's outcome with the Stigg ids.
	if !strings.Contains(out, "Zuora callouts provisioned through io.stigg.integration.connected: 24 triggers, templates and notification definitions created (callouts to http://127.0.0.1:") {
		t.Errorf("demo output lacks the callout provisioning:\n%s", out)
	}
	paid := regexp.MustCompile(`Payment: invoice (\S+) of cust-acme`).FindStringSubmatch(out)
	back := regexp.MustCompile(`Zuora → Stigg: invoice (\S+) paid → callout → bridge → ZUORA stream → outcome io\.zuorasync\.invoice\.paid \(customer cust-acme, subscription sub-acme-pro\)\n` +
		`  Zuora's callout history: POST http://127\.0\.0\.1:\d+/callouts/zuora, delivered at attempt 1 \(HTTP 200`).FindStringSubmatch(out)
	if paid == nil || back == nil || paid[1] != back[1] {
		t.Errorf("demo output lacks the paid invoice coming back (paid %q, came back %q):\n%s", paid, back, out)
	}
	// The 300 reports reach Zuora in a few coalesced writes, not one each.
	m := regexp.MustCompile(`; (\d+) Zuora usage writes? \(`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("demo output lacks the usage writes:\n%s", out)
	}
	if n, _ := strconv.Atoi(m[1]); n < 1 || n > 30 {
		t.Errorf("%d Zuora usage writes for 300 reports", n)
	}
}
