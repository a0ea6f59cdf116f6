// Command benchreport turns `go test -bench` output into the table and the `ratio <name> <value>` lines of
// `make bench` (docs/PERFORMANCE.md). It reads the files named on the command line (or stdin), takes the median of
// each benchmark's metrics over its runs (-count), and prints one row and one ratio line per figure of the issue,
// "not measured" with the reason when a benchmark is absent from the output.
//
//	go run ./internal/benchreport bench-e2e.txt bench-bridge.txt bench-peer.txt
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// figure is one ratio of the report: a metric of a benchmark, its goal, and the metrics shown next to it.
type figure struct {
	name, bench, metric string
	atMost              bool // the goal is a ceiling (≤), not a floor (≥)
	goal                float64
	details             []string // metric units shown in the table
	missing             string   // why it is absent when the benchmark did not run
}

var figures = []figure{
	{name: "router", bench: "BenchmarkRouter", metric: "ratio", goal: 0.5,
		details: []string{"events/s", "bare_events/s"}, missing: "BenchmarkRouter did not run"},
	{name: "peer-watermill", bench: "BenchmarkPeerWatermill", metric: "ratio", goal: 1,
		details: []string{"events/s", "watermill_events/s"}, missing: "watermill-nats not available"},
	{name: "flow", bench: "BenchmarkFlow", metric: "ratio", goal: 0.7,
		details: []string{"events/s", "bare_events/s", "zuora_calls/event"}, missing: "BenchmarkFlow did not run"},
	{name: "budget-1", bench: "BenchmarkZuoraBudget/instances=1", metric: "budget-ratio", goal: 0.95,
		details: []string{"calls", "s", "429s", "order-violations"}, missing: "BenchmarkZuoraBudget not in this tree yet"},
	{name: "budget-3", bench: "BenchmarkZuoraBudget/instances=3", metric: "budget-ratio", goal: 0.95,
		details: []string{"calls", "s", "429s", "order-violations"}, missing: "BenchmarkZuoraBudget not in this tree yet"},
	{name: "bridge", bench: "BenchmarkCallouts/sequential", metric: "ratio", goal: 0.6,
		details: []string{"callouts/s", "bare_pubs/s", "p50_ms", "p99_ms"}, missing: "BenchmarkCallouts did not run"},
	{name: "bridge-concurrent8", bench: "BenchmarkCallouts/concurrent8", metric: "ratio", goal: 0.6,
		details: []string{"callouts/s", "bare_pubs/s", "p50_ms", "p99_ms"}, missing: "BenchmarkCallouts did not run"},
	{name: "usage-writes-per-event", bench: "BenchmarkUsageBurst", metric: "writes/event", atMost: true, goal: 0.05,
		details: []string{"events/s"}, missing: "BenchmarkUsageBurst did not run"},
}

// A result line: name-procs, iterations, then value/unit pairs.
var resultLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.+)$`)

// parse collects every value of every metric by benchmark name (without the -GOMAXPROCS suffix).
func parse(r io.Reader, into map[string]map[string][]float64) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := resultLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		fields := strings.Fields(m[2])
		if len(fields)%2 != 0 {
			continue
		}
		metrics := into[m[1]]
		if metrics == nil {
			metrics = map[string][]float64{}
			into[m[1]] = metrics
		}
		for i := 0; i < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			metrics[fields[i+1]] = append(metrics[fields[i+1]], v)
		}
	}
	return sc.Err()
}

func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func format(v float64) string {
	switch {
	case v == float64(int64(v)) && v < 1e15: // counts (429s, calls)
		return strconv.FormatInt(int64(v), 10)
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

func main() {
	results := map[string]map[string][]float64{}
	if len(os.Args) < 2 {
		if err := parse(os.Stdin, results); err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
	}
	for _, name := range os.Args[1:] {
		f, err := os.Open(name)
		if err != nil {
			// A benchmark that did not run (its output file absent) is reported as not measured.
			continue
		}
		err = parse(f, results)
		f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
	}
	reasons := map[string]string{}
	for _, a := range os.Args[1:] {
		// name=reason arguments override the default reason of a figure not measured.
		if k, v, ok := strings.Cut(a, "="); ok && !strings.ContainsAny(k, "/.") {
			reasons[k] = v
		}
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\tgoal\tmet\truns\tbenchmark\tmeasured side by side (medians)")
	var lines []string
	for _, f := range figures {
		op := "≥"
		if f.atMost {
			op = "≤"
		}
		goal := op + " " + strconv.FormatFloat(f.goal, 'g', -1, 64)
		metrics := results[f.bench]
		vals := metrics[f.metric]
		if len(vals) == 0 {
			// A benchmark written elsewhere may name its ratio differently (budget_ratio, …): take the one unit
			// that says ratio, if there is exactly one.
			var units []string
			for u := range metrics {
				if strings.Contains(u, "ratio") {
					units = append(units, u)
				}
			}
			if len(units) == 1 {
				vals = metrics[units[0]]
			}
		}
		if len(vals) == 0 {
			why := f.missing
			if r, ok := reasons[f.name]; ok {
				why = r
			}
			fmt.Fprintf(tw, "%s\tnot measured\t%s\t-\t0\t%s\t%s\n", f.name, goal, f.bench, why)
			lines = append(lines, fmt.Sprintf("ratio %s not-measured (%s)", f.name, why))
			continue
		}
		v := median(vals)
		met := "yes"
		if (f.atMost && v > f.goal) || (!f.atMost && v < f.goal) {
			met = "no"
		}
		var details []string
		for _, d := range f.details {
			if dv, ok := metrics[d]; ok {
				details = append(details, format(median(dv))+" "+d)
			}
		}
		if len(details) == 0 {
			// No expected unit: show whatever else the benchmark reported.
			var units []string
			for u := range metrics {
				if u != "ns/op" && !strings.Contains(u, "ratio") {
					units = append(units, u)
				}
			}
			slices.Sort(units)
			for _, u := range units {
				details = append(details, format(median(metrics[u]))+" "+u)
			}
		}
		spread := ""
		if len(vals) > 1 {
			spread = fmt.Sprintf(" (%s–%s)", format(slices.Min(vals)), format(slices.Max(vals)))
		}
		fmt.Fprintf(tw, "%s\t%s%s\t%s\t%s\t%d\t%s\t%s\n", f.name, format(v), spread, goal, met, len(vals), f.bench,
			strings.Join(details, ", "))
		lines = append(lines, fmt.Sprintf("ratio %s %s", f.name, format(v)))
	}
	_ = tw.Flush()
	fmt.Println()
	for _, l := range lines {
		fmt.Println(l)
	}
}
