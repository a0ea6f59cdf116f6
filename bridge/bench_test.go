package bridge

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
	"github.com/zuora-sync/zuora-sync/topology"
)

// BenchmarkCallouts measures authenticated callouts per second through the bridge (real HTTP on loopback, keep-
// alive, to the 200 that follows the PubAck and the delivery record) next to a bare JetStream sync publish loop
// of the same CloudEvents into the same stream on the same embedded server, in the same run: the two loops
// alternate in blocks so both see the same machine. "sequential" runs one request (one publish) at a time, so the
// ratio is the bridge's cost per callout — HTTP, auth, parse, the record lookup, the publish and the record
// write — against the publish alone; "concurrent8" runs 8 callers of each, as Zuora delivers notifications in
// parallel. ns/op covers one callout plus one bare publish.
func BenchmarkCallouts(b *testing.B) {
	for _, conc := range []int{1, 8} {
		name := "sequential"
		if conc > 1 {
			name = fmt.Sprintf("concurrent%d", conc)
		}
		b.Run(name, func(b *testing.B) { benchCallouts(b, conc) })
	}
}

func benchCallouts(b *testing.B, conc int) {
	srv := natstest.Start(b)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	_, js := srv.Connect(b)
	br, err := New(nc, Config{Username: testUser, Password: testPass, Logger: discard(), Topology: topology.Default()})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- br.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	for !br.ready.Load() {
		time.Sleep(time.Millisecond)
	}
	url := "http://" + ln.Addr().String() + CalloutPath
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, DisableCompression: true}}

	// Bodies and messages are built before the clock starts: the loops time the request and the publish.
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	const warm = 400
	bodies, msgs := make([][]byte, b.N+warm), make([]*nats.Msg, b.N+warm)
	for i := range bodies {
		bodies[i] = invoicePaid(fmt.Sprintf("B-%s-%d", run, i))
		ev, err := events.New(events.TypeZuoraInvoicePaid, DefaultSource, "INV", "cust-1", invoicePaid(fmt.Sprintf("J-%s-%d", run, i)))
		if err != nil {
			b.Fatal(err)
		}
		ev.SetID(fmt.Sprintf("bare-%s-%d", run, i))
		if msgs[i], err = events.ToMsg("", ev); err != nil {
			b.Fatal(err)
		}
	}
	callout := func(i int) (time.Duration, error) {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(bodies[i+warm]))
		req.SetBasicAuth(testUser, testPass)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(HeaderNotificationID, fmt.Sprintf("n%s-%d", run, i))
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		el := time.Since(start)
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("callout %d: %d", i, resp.StatusCode)
		}
		return el, nil
	}
	bare := func(i int) (time.Duration, error) {
		start := time.Now()
		if _, err := js.PublishMsg(ctx, msgs[i+warm], jetstream.WithExpectStream(topology.StreamZuora)); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
	// runBlock runs ops from..to-1 on conc workers and returns their latencies and the block's wall time.
	runBlock := func(op func(int) (time.Duration, error), from, to int) ([]time.Duration, time.Duration) {
		lat := make([]time.Duration, to-from)
		errs := make(chan error, conc)
		start := time.Now()
		var wg sync.WaitGroup
		for w := range conc {
			wg.Go(func() {
				for i := from + w; i < to; i += conc {
					d, err := op(i)
					if err != nil {
						errs <- err
						return
					}
					lat[i-from] = d
				}
			})
		}
		wg.Wait()
		wall := time.Since(start)
		select {
		case err := <-errs:
			b.Fatal(err)
		default:
		}
		return lat, wall
	}
	runBlock(callout, -warm, 0) // warm up connections, the stream and the bucket
	runBlock(bare, -warm, 0)

	block := 100 * conc
	lat := make([]time.Duration, 0, b.N)
	bareLat := make([]time.Duration, 0, b.N)
	var wall, bareWall time.Duration
	b.ResetTimer()
	for from := 0; from < b.N; from += block {
		to := min(from+block, b.N)
		l, w := runBlock(bare, from, to)
		bareLat, bareWall = append(bareLat, l...), bareWall+w
		l, w = runBlock(callout, from, to)
		lat, wall = append(lat, l...), wall+w
	}
	b.StopTimer()
	rate, bareRate := float64(len(lat))/wall.Seconds(), float64(len(bareLat))/bareWall.Seconds()
	b.ReportMetric(rate, "callouts/s")
	b.ReportMetric(bareRate, "bare_pubs/s")
	b.ReportMetric(rate/bareRate, "ratio")
	b.ReportMetric(ms(percentile(lat, 50)), "p50_ms")
	b.ReportMetric(ms(percentile(lat, 99)), "p99_ms")
	b.ReportMetric(ms(percentile(bareLat, 50)), "bare_p50_ms")
	b.ReportMetric(ms(percentile(bareLat, 99)), "bare_p99_ms")
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
