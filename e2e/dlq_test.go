package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/consumer"
	"github.com/zuora-sync/zuora-sync/topology"
)

// stallProxy forwards NATS client connections to the server and, once armed, holds back the first answer to a
// client that mentions marker for delay: a slow read on a loaded machine, made deterministic.
type stallProxy struct {
	t      *testing.T
	ln     net.Listener
	target string
	marker []byte
	delay  atomic.Int64 // nanoseconds; 0 = disarmed
	fired  atomic.Int32
	done   chan struct{}
	wg     sync.WaitGroup
}

func newStallProxy(t *testing.T, target, marker string) *stallProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{t: t, ln: ln, target: target, marker: []byte(marker), done: make(chan struct{})}
	p.wg.Go(p.accept)
	t.Cleanup(func() { close(p.done); ln.Close(); p.wg.Wait() })
	return p
}

func (p *stallProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.wg.Go(func() { io.Copy(s, c); s.Close() })
		p.wg.Go(func() { p.serverToClient(c, s); c.Close() })
	}
}

func (p *stallProxy) serverToClient(c, s net.Conn) {
	buf, tail := make([]byte, 64<<10), []byte{}
	for {
		n, err := s.Read(buf)
		if n > 0 {
			seen := append(tail, buf[:n]...) // the marker may straddle two reads
			if d := time.Duration(p.delay.Load()); d > 0 && bytes.Contains(seen, p.marker) && p.delay.CompareAndSwap(int64(d), 0) {
				p.fired.Add(1)
				select {
				case <-time.After(d):
				case <-p.done:
					return
				}
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
			tail = append([]byte{}, seen[max(0, len(seen)-len(p.marker)):]...)
		}
		if err != nil {
			return
		}
	}
}

func (p *stallProxy) connect() jetstream.JetStream {
	nc, err := nats.Connect("nats://"+p.ln.Addr().String(), nats.Name(p.t.Name()+"-proxied"))
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		p.t.Fatal(err)
	}
	return js
}

// ListDLQ used to stop at the first fetch that took longer than a second, silently returning the entries read
// so far. It must read up to the last entry stored, wait for a slow answer, and fail rather than come back short.
func TestListDLQReadsToTheEndOrFails(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := topology.EnsureStreams(ctx, h.js, h.cfg.Runner.Topology); err != nil {
		t.Fatal(err)
	}
	// Stigg and Zuora entries alternate; the stream ends with a Stigg one, so a Zuora filter ends before the
	// stream does. The slow entry sits in the middle.
	var subjects []string
	for i := range 7 {
		input := "stigg.customer.created"
		if i%2 == 1 {
			input = "zuora.invoice.paid"
		}
		key := fmt.Sprintf("key-%d", i)
		if i == 2 {
			key = "slow-entry"
		}
		subj := fmt.Sprintf("%s.%s.%s.0", topology.PrefixDLQ, input, key)
		msg := nats.NewMsg(subj)
		msg.Header.Set(consumer.HeaderDLQClass, "permanent")
		msg.Header.Set(consumer.HeaderDLQReason, fmt.Sprintf("entry %d", i))
		h.publishMsg(msg)
		subjects = append(subjects, subj)
	}
	list := func(js jetstream.JetStream, d time.Duration, filter string, limit int) ([]string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		dl, err := consumer.ListDLQ(ctx, js, filter, limit)
		var out []string
		for _, e := range dl {
			out = append(out, e.Subject)
		}
		return out, err
	}
	want := func(what string, got []string, err error, want ...string) {
		t.Helper()
		if err != nil || strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: %v, %v; want %v", what, got, err, want)
		}
	}

	got, err := list(h.js, 10*time.Second, "", 0)
	want("all", got, err, subjects...)
	got, err = list(h.js, 10*time.Second, topology.PrefixDLQ+".stigg.>", 0)
	want("stigg filter", got, err, subjects[0], subjects[2], subjects[4], subjects[6])
	got, err = list(h.js, 10*time.Second, topology.PrefixDLQ+".zuora.>", 2)
	want("zuora filter, limit 2", got, err, subjects[1], subjects[3])
	got, err = list(h.js, 10*time.Second, topology.PrefixDLQ+".zuora.>", 0)
	want("zuora filter, ending before the stream", got, err, subjects[1], subjects[3], subjects[5])

	// The slow entry's answer takes 2.5 s: longer than the old fetch wait (1 s, and 1 s of client grace) that
	// ended the listing, shorter than the caller's deadline.
	p := newStallProxy(t, strings.TrimPrefix(h.nats.ClientURL(), "nats://"), "slow-entry")
	js := p.connect()
	p.delay.Store(int64(2500 * time.Millisecond))
	got, err = list(js, 10*time.Second, "", 0)
	if p.fired.Load() != 1 {
		t.Fatalf("the slow answer was not simulated (stalls: %d)", p.fired.Load())
	}
	want("all, one slow answer", got, err, subjects...)

	// An answer slower than the caller's deadline is an error, not the entries read until then.
	p.delay.Store(int64(3 * time.Second))
	got, err = list(js, time.Second, "", 0)
	if p.fired.Load() != 2 || err == nil || len(got) != 0 {
		t.Fatalf("listing past its deadline: %v, err %v (stalls %d); want an error and no entries", got, err, p.fired.Load())
	}
}
