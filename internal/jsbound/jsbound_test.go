package jsbound_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/internal/jsbound"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
)

// blackhole forwards NATS client connections to a server until silenced. Silenced, it keeps reading both ways
// and drops every byte, closing nothing: what a client sees of a node that died with its request in flight (the
// connection lives on, the answer never comes).
type blackhole struct {
	ln     net.Listener
	target string
	silent atomic.Bool
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

func newBlackhole(t *testing.T, target string) *blackhole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &blackhole{ln: ln, target: target}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *blackhole) accept() {
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
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(s, c); s.Close() })
		p.wg.Go(func() { p.pipe(c, s); c.Close() })
	}
}

func (p *blackhole) pipe(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.silent.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *blackhole) connect(t *testing.T) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect("nats://"+p.ln.Addr().String(), nats.Name(t.Name()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

const bucket, streamName = "bounded", "BOUNDED"

// provision creates the test's bucket (one key, k) and stream (one message, on s.one).
func provision(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.PutString(ctx, "k", "v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: streamName, Subjects: []string{"s.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "s.one", []byte("m1")); err != nil {
		t.Fatal(err)
	}
}

// handles binds the bucket and the stream through js while the server still answers.
func handles(t *testing.T, js jetstream.JetStream) (jetstream.KeyValue, jetstream.Stream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, streamName)
	if err != nil {
		t.Fatal(err)
	}
	return kv, s
}

type call func(ctx context.Context, js jetstream.JetStream, kv jetstream.KeyValue, s jetstream.Stream) error

// requests are the calls the wrapper bounds, each one request answered by the server.
var requests = map[string]call{
	"KV get": func(ctx context.Context, _ jetstream.JetStream, kv jetstream.KeyValue, _ jetstream.Stream) error {
		_, err := kv.Get(ctx, "k")
		return err
	},
	"KV get revision": func(ctx context.Context, _ jetstream.JetStream, kv jetstream.KeyValue, _ jetstream.Stream) error {
		_, err := kv.GetRevision(ctx, "k", 1)
		return err
	},
	"KV put": func(ctx context.Context, _ jetstream.JetStream, kv jetstream.KeyValue, _ jetstream.Stream) error {
		_, err := kv.Put(ctx, "k", []byte("v2"))
		return err
	},
	"KV put string": func(ctx context.Context, _ jetstream.JetStream, kv jetstream.KeyValue, _ jetstream.Stream) error {
		_, err := kv.PutString(ctx, "k", "v2")
		return err
	},
	"KV create": func(ctx context.Context, _ jetstream.JetStream, kv jetstream.KeyValue, _ jetstream.Stream) error {
		_, err := kv.Create(ctx, "new", []byte("v"))
		return err
	},
	"KV update": func(ctx context.Context, _ jetstream.JetStream, kv jetstream.KeyValue, _ jetstream.Stream) error {
		_, err := kv.Update(ctx, "k", []byte("v2"), 1)
		return err
	},
	"KV delete": func(ctx context.Context, _ jetstream.JetStream, kv jetstream.KeyValue, _ jetstream.Stream) error {
		return kv.Delete(ctx, "k")
	},
	"KV purge": func(ctx context.Context, _ jetstream.JetStream, kv jetstream.KeyValue, _ jetstream.Stream) error {
		return kv.Purge(ctx, "k")
	},
	"KV status": func(ctx context.Context, _ jetstream.JetStream, kv jetstream.KeyValue, _ jetstream.Stream) error {
		_, err := kv.Status(ctx)
		return err
	},
	"KV lookup": func(ctx context.Context, js jetstream.JetStream, _ jetstream.KeyValue, _ jetstream.Stream) error {
		_, err := js.KeyValue(ctx, bucket)
		return err
	},
	"KV create or update bucket": func(ctx context.Context, js jetstream.JetStream, _ jetstream.KeyValue, _ jetstream.Stream) error {
		_, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket})
		return err
	},
	"publish": func(ctx context.Context, js jetstream.JetStream, _ jetstream.KeyValue, _ jetstream.Stream) error {
		_, err := js.Publish(ctx, "s.two", []byte("m2"))
		return err
	},
	"publish msg": func(ctx context.Context, js jetstream.JetStream, _ jetstream.KeyValue, _ jetstream.Stream) error {
		_, err := js.PublishMsg(ctx, &nats.Msg{Subject: "s.two", Data: []byte("m2")})
		return err
	},
	"stream lookup": func(ctx context.Context, js jetstream.JetStream, _ jetstream.KeyValue, _ jetstream.Stream) error {
		_, err := js.Stream(ctx, streamName)
		return err
	},
	"stream update": func(ctx context.Context, js jetstream.JetStream, _ jetstream.KeyValue, _ jetstream.Stream) error {
		_, err := js.UpdateStream(ctx, jetstream.StreamConfig{Name: streamName, Subjects: []string{"s.>"}})
		return err
	},
	"stream name by subject": func(ctx context.Context, js jetstream.JetStream, _ jetstream.KeyValue, _ jetstream.Stream) error {
		_, err := js.StreamNameBySubject(ctx, "s.one")
		return err
	},
	"stream delete": func(ctx context.Context, js jetstream.JetStream, _ jetstream.KeyValue, _ jetstream.Stream) error {
		return js.DeleteStream(ctx, streamName)
	},
	"KV delete bucket": func(ctx context.Context, js jetstream.JetStream, _ jetstream.KeyValue, _ jetstream.Stream) error {
		return js.DeleteKeyValue(ctx, bucket)
	},
	"account info": func(ctx context.Context, js jetstream.JetStream, _ jetstream.KeyValue, _ jetstream.Stream) error {
		_, err := js.AccountInfo(ctx)
		return err
	},
	"stream get msg": func(ctx context.Context, _ jetstream.JetStream, _ jetstream.KeyValue, s jetstream.Stream) error {
		_, err := s.GetMsg(ctx, 1)
		return err
	},
	"stream get last msg": func(ctx context.Context, _ jetstream.JetStream, _ jetstream.KeyValue, s jetstream.Stream) error {
		_, err := s.GetLastMsgForSubject(ctx, "s.one")
		return err
	},
	"stream delete msg": func(ctx context.Context, _ jetstream.JetStream, _ jetstream.KeyValue, s jetstream.Stream) error {
		return s.DeleteMsg(ctx, 1)
	},
	"stream secure delete msg": func(ctx context.Context, _ jetstream.JetStream, _ jetstream.KeyValue, s jetstream.Stream) error {
		return s.SecureDeleteMsg(ctx, 1)
	},
	"stream info": func(ctx context.Context, _ jetstream.JetStream, _ jetstream.KeyValue, s jetstream.Stream) error {
		_, err := s.Info(ctx)
		return err
	},
	"stream purge": func(ctx context.Context, _ jetstream.JetStream, _ jetstream.KeyValue, s jetstream.Stream) error {
		return s.Purge(ctx)
	},
}

type result struct {
	took time.Duration
	err  error
}

// runAll runs every request at once, each under its own context of ctxTimeout, and returns how each ended.
func runAll(js jetstream.JetStream, kv jetstream.KeyValue, s jetstream.Stream, ctxTimeout time.Duration, only ...string) map[string]result {
	var mu sync.Mutex
	out := map[string]result{}
	var wg sync.WaitGroup
	for name, c := range requests {
		if len(only) > 0 && !slices.Contains(only, name) {
			continue
		}
		wg.Go(func() {
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), ctxTimeout)
			defer cancel()
			err := c(ctx, js, kv, s)
			mu.Lock()
			out[name] = result{time.Since(start), err}
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// A server that never answers: through the wrapper, every request ends after the wrapper's timeout although
// its caller would wait a minute, with an error that is a deadline and says which call it was. The same calls
// without the wrapper are still waiting then: under a caller's deadline, the jetstream client's own default
// timeout does not apply, so they wait out all of it (3 s here, to keep the test short; the handler's 2 minutes
// in production).
func TestBoundsEveryRequestToASilentServer(t *testing.T) {
	srv := natstest.Start(t)
	p := newBlackhole(t, srv.Addr().String())
	raw := p.connect(t)
	const timeout = 500 * time.Millisecond
	js := jsbound.New(raw, timeout)
	provision(t, raw)
	kv, s := handles(t, js)
	rawKV, rawS := handles(t, raw)
	p.silent.Store(true)

	const control = 3 * time.Second
	var bounded, unbounded map[string]result
	var wg sync.WaitGroup
	wg.Go(func() { bounded = runAll(js, kv, s, time.Minute) })
	wg.Go(func() { unbounded = runAll(raw, rawKV, rawS, control, "KV get", "KV update", "publish msg") })
	wg.Wait()

	for name, r := range bounded {
		t.Logf("%-26s through the wrapper: %s, %v", name, r.took.Round(time.Millisecond), r.err)
		if !errors.Is(r.err, context.DeadlineExceeded) {
			t.Errorf("%s: %v, want a context.DeadlineExceeded", name, r.err)
		}
		if r.took < timeout || r.took > timeout+2*time.Second {
			t.Errorf("%s returned after %s, want about the wrapper's %s", name, r.took.Round(time.Millisecond), timeout)
		}
		if r.err != nil && !strings.Contains(r.err.Error(), "no reply within "+timeout.String()) {
			t.Errorf("%s: %q does not say the call was bounded", name, r.err)
		}
		// The runtime retries it (transient) like any other failed request, wrapped as its callers wrap.
		if class, _ := dispatch.Classify(fmt.Errorf("ordering guard: read k: %w", r.err)); class != dispatch.ClassTransient {
			t.Errorf("%s: classified %v, want transient", name, class)
		}
	}
	if len(bounded) != len(requests) {
		t.Errorf("%d of %d requests ran", len(bounded), len(requests))
	}
	for name, r := range unbounded {
		t.Logf("%-26s without the wrapper: %s, %v", name, r.took.Round(time.Millisecond), r.err)
		if r.took < control || !errors.Is(r.err, context.DeadlineExceeded) {
			t.Errorf("control %s without the wrapper: %v after %s, want it to wait out its caller's %s", name, r.err,
				r.took.Round(time.Millisecond), control)
		}
	}
}

// The caller's own deadline or cancellation still ends a call first, and is reported as the caller's (no
// "no reply within" of the wrapper's).
func TestCallersDeadlineStillWins(t *testing.T) {
	srv := natstest.Start(t)
	p := newBlackhole(t, srv.Addr().String())
	raw := p.connect(t)
	js := jsbound.New(raw, time.Minute)
	provision(t, raw)
	kv, _ := handles(t, js)
	p.silent.Store(true)

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := kv.Get(ctx, "k")
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > 2*time.Second {
		t.Errorf("get under a 300ms caller deadline: %v after %s", err, took)
	}
	if err != nil && strings.Contains(err.Error(), "no reply within") {
		t.Errorf("the caller's deadline is reported as the wrapper's: %v", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: "s.two"}); !errors.Is(err, context.Canceled) {
		t.Errorf("publish cancelled by its caller: %v, want context.Canceled", err)
	}
}
