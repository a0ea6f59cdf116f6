package bridge

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
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
// alternate in blocks so both see the same machine. Both are sequential (one request or publish at a time), so
// the ratio is the bridge's cost per callout: HTTP, auth, parse, the record lookup, the publish and the record
// write, against the publish alone. ns/op covers one callout plus one bare publish.
func BenchmarkCallouts(b *testing.B) {
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
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}

	run := fmt.Sprintf("%d", time.Now().UnixNano())
	callout := func(i int) time.Duration {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(invoicePaid(fmt.Sprintf("B-%s-%d", run, i))))
		req.SetBasicAuth(testUser, testPass)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(HeaderNotificationID, fmt.Sprintf("n%s%d", run, i))
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		el := time.Since(start)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("callout %d: %d", i, resp.StatusCode)
		}
		return el
	}
	bare := func(i int) time.Duration {
		// The same event the bridge would build, encoded before the clock starts: only the publish is timed.
		ev, err := events.New(events.TypeZuoraInvoicePaid, DefaultSource, "INV", "cust-1", invoicePaid(fmt.Sprintf("J-%s-%d", run, i)))
		if err != nil {
			b.Fatal(err)
		}
		ev.SetID(fmt.Sprintf("bare-%s-%d", run, i))
		msg, err := events.ToMsg("", ev)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := js.PublishMsg(ctx, msg, jetstream.WithExpectStream(topology.StreamZuora)); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	for i := range 200 { // warm up connections, the stream and the bucket
		callout(-1 - i)
		bare(-1 - i)
	}

	const block = 100
	lat := make([]time.Duration, 0, b.N)
	bareLat := make([]time.Duration, 0, b.N)
	var total, bareTotal time.Duration
	b.ResetTimer()
	for from := 0; from < b.N; from += block {
		to := min(from+block, b.N)
		start := time.Now()
		for i := from; i < to; i++ {
			bareLat = append(bareLat, bare(i))
		}
		bareTotal += time.Since(start)
		start = time.Now()
		for i := from; i < to; i++ {
			lat = append(lat, callout(i))
		}
		total += time.Since(start)
	}
	b.StopTimer()
	// Rates from the timed operations themselves (the bare loop's event encoding is not part of its rate).
	var sum, bareSum time.Duration
	for i := range lat {
		sum += lat[i]
		bareSum += bareLat[i]
	}
	rate, bareRate := float64(len(lat))/sum.Seconds(), float64(len(bareLat))/bareSum.Seconds()
	b.ReportMetric(rate, "callouts/s")
	b.ReportMetric(bareRate, "bare_pubs/s")
	b.ReportMetric(rate/bareRate, "ratio")
	b.ReportMetric(ms(percentile(lat, 50)), "p50_ms")
	b.ReportMetric(ms(percentile(lat, 99)), "p99_ms")
	b.ReportMetric(ms(percentile(bareLat, 50)), "bare_p50_ms")
	b.ReportMetric(ms(percentile(bareLat, 99)), "bare_p99_ms")
	_, _ = total, bareTotal
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
