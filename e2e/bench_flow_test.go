package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/zuora-sync/zuora-sync/consumer"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/app"
	"github.com/zuora-sync/zuora-sync/internal/benchkit"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// BenchmarkFlow measures what the customer flow costs on top of the Zuora calls it has to make: customer.created
// events for new customers through the whole consumer (the BenchmarkPipeline set-up: runtime, customer handler,
// Zuora client and limiter, outcome, ack, against the in-process simulator), next to a bare loop that makes the
// same HTTP requests to the same simulator through the same transport, with as many workers as there are
// partitions. The bare loop's requests are the ones the handler made for the second event (captured at the
// transport, OAuth left out; the first also read the tenant's payment terms, which the handler then caches),
// replayed with each event's customer id and event id in place of that one's.
// The two alternate in blocks; ratio is flow events/s ÷ bare events/s (goal ≥ 0.7). ns/op covers one event
// through each.
func BenchmarkFlow(b *testing.B) {
	srv := natstest.Start(b)
	nc, js := srv.Connect(b)
	sim := zuorasim.New(zuorasim.Config{Limits: zuorasim.Limits{Default: -1, HighVolume: -1, ObjectQuery: -1}})
	b.Cleanup(sim.Close)
	zuora := inProcessZuora{sim.Handler()}
	rec := &recordingTransport{next: zuora}
	rc := consumer.DefaultConfig()
	rc.Topology = benchTopology()
	a, err := app.New(context.Background(), app.Config{
		NATSURL:           srv.ClientURL(),
		ZuoraBaseURL:      "http://zuora.invalid",
		ZuoraClientID:     zuorasim.DefaultClientID,
		ZuoraClientSecret: zuorasim.DefaultClientSecret,
		ZuoraTransport:    rec,
		RateLimit:         benchRateLimit(),
		Runner:            rc,
		Logger:            testLogger(b),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	acks := benchkit.SniffAcks(b, nc, topology.StreamStigg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	total := b.N + flowBenchWarm
	run := time.Now().UnixNano()
	msgs := make([]*nats.Msg, total)
	custIDs, evIDs := make([]string, total), make([]string, total)
	bareCust, bareEv := make([]string, total), make([]string, total)
	for i := range total {
		custIDs[i] = fmt.Sprintf("flow-%d-%d", run, i)
		bareCust[i] = fmt.Sprintf("bare-%d-%d", run, i)
		bareEv[i] = fmt.Sprintf("bare-ev-%d-%d", run, i)
		c := customer(custIDs[i], "Bench Person")
		ev, err := events.New(events.TypeStiggCustomerCreated, "/bench", c.CustomerID, c.CustomerID, c)
		if err != nil {
			b.Fatal(err)
		}
		evIDs[i] = ev.ID()
		if msgs[i], err = events.ToMsg("", ev); err != nil {
			b.Fatal(err)
		}
	}
	flow := benchkit.PublishSide(b, js, "flow", msgs, acks[topology.StreamStigg].Load)

	// The first events alone: the requests the second one's handler makes are the bare loop's (the first one's
	// also fill the handler's caches).
	const model = 1
	flow.Run(0, model)
	for _, c := range rec.take() {
		b.Logf("flow: the first event's call: %s %s → %d", c.method, c.url, c.status)
	}
	flow.Run(model, model+1)
	calls := rec.take()
	if len(calls) == 0 {
		b.Fatal("the second event made no Zuora request")
	}
	for _, c := range calls {
		b.Logf("flow: the handler's call for a new customer (replayed by the bare loop): %s %s → %d", c.method, c.url, c.status)
	}
	client := &http.Client{Transport: zuora}
	replay := func(i int) error {
		for _, c := range calls {
			sub := strings.NewReplacer(custIDs[model], bareCust[i], evIDs[model], bareEv[i])
			req, err := http.NewRequest(c.method, sub.Replace(c.url), bytes.NewReader([]byte(sub.Replace(string(c.body)))))
			if err != nil {
				return err
			}
			for k, vs := range c.header {
				for _, v := range vs {
					req.Header.Add(k, sub.Replace(v))
				}
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				return fmt.Errorf("bare %s %s: %d, the handler's call got %d", c.method, req.URL, resp.StatusCode, c.status)
			}
		}
		return nil
	}
	bare := benchkit.Side{Name: "bare", Run: func(from, to int) {
		errs := make(chan error, benchPartitions)
		var wg sync.WaitGroup
		for w := range benchPartitions {
			wg.Go(func() {
				for i := from + w; i < to; i += benchPartitions {
					if err := replay(i); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		select {
		case err := <-errs:
			b.Fatal(err)
		default:
		}
	}}
	bare.Run(0, 1)
	rec.stop()

	walls := benchkit.AlternateBlocks(b, []benchkit.Side{bare, flow}, flowBenchWarm, total, flowBenchBlock)
	bareRate, flowRate := float64(b.N)/walls[0].Seconds(), float64(b.N)/walls[1].Seconds()
	b.ReportMetric(flowRate, "events/s")
	b.ReportMetric(bareRate, "bare_events/s")
	b.ReportMetric(flowRate/bareRate, "ratio")
	b.ReportMetric(float64(len(calls)), "zuora_calls/event")
}

const (
	flowBenchWarm  = 100
	flowBenchBlock = 200
)

// recordingTransport keeps the requests (OAuth left out) until stop, with their answers' status.
type recordingTransport struct {
	next    http.RoundTripper
	mu      sync.Mutex
	calls   []recordedCall
	stopped bool
}

type recordedCall struct {
	method, url string
	header      http.Header
	body        []byte
	status      int
}

func (t *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.mu.Lock()
	stopped := t.stopped
	t.mu.Unlock()
	if stopped || r.URL.Path == "/oauth/token" {
		return t.next.RoundTrip(r)
	}
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.calls = append(t.calls, recordedCall{method: r.Method, url: r.URL.String(), header: r.Header.Clone(), body: body, status: resp.StatusCode})
	t.mu.Unlock()
	return resp, nil
}

func (t *recordingTransport) take() []recordedCall {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.calls
	t.calls = nil
	return c
}

func (t *recordingTransport) stop() {
	t.mu.Lock()
	t.stopped = true
	t.mu.Unlock()
}
