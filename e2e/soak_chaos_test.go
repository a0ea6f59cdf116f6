package e2e

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// soakFaultKind is one kind of Zuora misbehaviour the soak injects, as a fault rule template.
type soakFaultKind struct {
	name  string
	fault func(requestTimeout time.Duration) zuorasim.Fault
}

// soakFaultKinds are the faults of a production tenant on a bad day. Each firing is bounded (Times), so a burst
// ends by itself; they apply to API paths only, not to OAuth.
var soakFaultKinds = []soakFaultKind{
	{"5xx-burst", func(time.Duration) zuorasim.Fault {
		return zuorasim.Fault{PathPrefix: "/v", Status: 503, Probability: 0.5, Times: 8}
	}},
	{"429-storm", func(time.Duration) zuorasim.Fault {
		return zuorasim.Fault{PathPrefix: "/v", Status: 429, RetryAfter: 1, Probability: 0.6, Times: 20}
	}},
	{"slower-than-client-timeout", func(timeout time.Duration) zuorasim.Fault {
		return zuorasim.Fault{PathPrefix: "/v", Latency: timeout + 500*time.Millisecond, Probability: 0.3, Times: 3}
	}},
	{"lost-answer-after-commit", func(time.Duration) zuorasim.Fault {
		return zuorasim.Fault{Method: "POST", PathPrefix: "/v", AfterCommit: true, Status: 502, Probability: 0.4, Times: 6}
	}},
	{"truncated-answer", func(time.Duration) zuorasim.Fault {
		return zuorasim.Fault{PathPrefix: "/v", Truncate: true, Probability: 0.2, Times: 4}
	}},
}

// soakFaults injects the kinds in turn while it runs and remembers which rule was which kind, so the report can
// say how often each fired.
type soakFaults struct {
	sim     *zuorasim.Sim
	timeout time.Duration

	mu    sync.Mutex
	kinds map[string]string // rule id → kind
	fired map[string]int    // kind → firings of rules already removed
}

func newSoakFaults(sim *zuorasim.Sim, requestTimeout time.Duration) *soakFaults {
	return &soakFaults{sim: sim, timeout: requestTimeout, kinds: map[string]string{}, fired: map[string]int{}}
}

// run injects one fault kind every period, round robin, until ctx ends; rules older than two periods are removed.
func (s *soakFaults) run(ctx context.Context, period time.Duration) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	var live []string
	for i := 0; ; i++ {
		k := soakFaultKinds[i%len(soakFaultKinds)]
		id := s.sim.InjectFault(k.fault(s.timeout))
		s.mu.Lock()
		s.kinds[id] = k.name
		s.mu.Unlock()
		live = append(live, id)
		if len(live) > 2 {
			s.retire(live[0])
			live = live[1:]
		}
		select {
		case <-ctx.Done():
			for _, id := range live {
				s.retire(id)
			}
			return
		case <-tick.C:
		}
	}
}

// retire removes a rule and books its firings under its kind.
func (s *soakFaults) retire(id string) {
	for _, f := range s.sim.Faults() {
		if f.ID == id {
			s.mu.Lock()
			s.fired[s.kinds[id]] += f.Fired
			s.mu.Unlock()
		}
	}
	s.sim.RemoveFault(id)
}

// counts returns the firings by kind.
func (s *soakFaults) counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.fired)
}

// soakKills is the log of what the chaos did to processes and nodes, by kind.
type soakKills struct {
	mu     sync.Mutex
	counts map[string]int
	log    []string
}

func (k *soakKills) note(kind, format string, args ...any) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.counts == nil {
		k.counts = map[string]int{}
	}
	k.counts[kind]++
	k.log = append(k.log, kind+": "+fmt.Sprintf(format, args...))
}

func (k *soakKills) snapshot() map[string]int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return maps.Clone(k.counts)
}

// soakReport is what `make soak` prints.
type soakReport struct {
	eventsByType      map[string]int
	faults            map[string]int
	chaos             map[string]int
	retries           int // Zuora writes sent again under an idempotency key already used
	replayedByZuora   int // of those, answered from Zuora's idempotency store (a duplicate prevented by Zuora)
	superseded        int // events skipped by the order guard because a newer event of their key was applied
	deadLetters       int
	orderChecked      int
	orderViolations   int
	replayWrites      int
	redriven, kept    int
	findings          []string
	took, replayTook  time.Duration
	publishedPerSec   float64
	paymentsRequested int
	unnamedInvoices   int
	redelivered       int // events delivered more than once (kills, lapsed ack waits, retries)
	replaySuperseded  int // deliveries the guard skipped, over the run and the replay
	handledAgain      int // events handled to the end twice: the first ack was lost to a kill
	// callouts: attempts that did not get a 200 (the bridge down), and deliveries that finally did.
	calloutAttemptsFailed, calloutsDelivered int
}

func (r *soakReport) String() string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("soak report (%s; replay %s)", r.took.Round(time.Second), r.replayTook.Round(time.Second))
	line("  events by type:")
	for _, k := range sortedKeys(r.eventsByType) {
		line("    %-44s %6d", k, r.eventsByType[k])
	}
	line("  faults injected by kind (firings):")
	for _, k := range sortedKeys(r.faults) {
		line("    %-44s %6d", k, r.faults[k])
	}
	line("  chaos:")
	for _, k := range sortedKeys(r.chaos) {
		line("    %-44s %6d", k, r.chaos[k])
	}
	line("  Zuora writes retried under their idempotency key %6d", r.retries)
	line("  duplicates prevented: answered by Zuora's idempotency store %d; events whose outcome is superseded %d,",
		r.replayedByZuora, r.superseded)
	line("    events delivered more than once %d; handled to the end twice (first ack lost to a kill), no second effect %d",
		r.redelivered, r.handledAgain)
	line("  callouts: %d delivered, each stored once; %d attempts failed (the bridge down) and were retried",
		r.calloutsDelivered, r.calloutAttemptsFailed)
	line("  DLQ entries %d before the replay (the poison events); redriven %d, kept as superseded %d", r.deadLetters, r.redriven, r.kept)
	line("  per-key order: %d writes checked, %d violations", r.orderChecked, r.orderViolations)
	line("  full replay: %d Zuora writes; the ordering guard skipped %d deliveries as superseded (run and replay)",
		r.replayWrites, r.replaySuperseded)
	line("  subscriptions whose outcomes name no invoice (create answer lost, retry found it made): %d", r.unnamedInvoices)
	if len(r.findings) == 0 {
		line("  effects checker: green")
	} else {
		sort.Strings(r.findings)
		line("  effects checker: %d findings", len(r.findings))
		for i, f := range r.findings {
			if i == 40 {
				line("    … %d more", len(r.findings)-i)
				break
			}
			line("    %s", f)
		}
	}
	return b.String()
}

// jitter returns d scaled by a random factor in [0.5, 1.5).
func jitter(rng *rand.Rand, d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.5 + rng.Float64()))
}
