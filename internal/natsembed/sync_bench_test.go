package natsembed

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// BenchmarkSyncPolicy measures what fsyncing every write costs: acknowledged publishes per second to a
// file-backed stream with sync_interval: always (server.Options.SyncAlways) and with the default (the server
// syncs every 2 minutes), in one run, each with one publisher waiting for every PubAck (how the bridge and the
// consumer's outcome writes publish) and with 16 concurrent publishers (a busy Stigg). docs/OPERATIONS.md,
// "NATS in production", records the figures of this machine and the policy chosen from them:
//
//	go test -run '^$' -bench SyncPolicy -benchtime 3s ./internal/natsembed/
func BenchmarkSyncPolicy(b *testing.B) {
	for _, policy := range []struct {
		name   string
		always bool
	}{{"default", false}, {"always", true}} {
		for _, publishers := range []int{1, 16} {
			b.Run(fmt.Sprintf("sync=%s/publishers=%d", policy.name, publishers), func(b *testing.B) {
				benchPublish(b, policy.always, publishers)
			})
		}
	}
}

func benchPublish(b *testing.B, syncAlways bool, publishers int) {
	ns, err := Start(Options{StoreDir: b.TempDir(), SyncAlways: syncAlways})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BENCH", Subjects: []string{"bench.>"},
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute}); err != nil {
		b.Fatal(err)
	}
	// A CloudEvent of the size Stigg sends (about 600 bytes of JSON).
	body := []byte(`{"customerId":"cust-1","name":"` + strings.Repeat("x", 560) + `"}`)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	per := (b.N + publishers - 1) / publishers
	start := time.Now()
	for p := range publishers {
		wg.Go(func() {
			for i := range per {
				if _, err := js.Publish(ctx, fmt.Sprintf("bench.customer.created.c%d-%d", p, i), body); err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	b.ReportMetric(float64(per*publishers)/elapsed.Seconds(), "publishes/s")
}

func cmpErr(have, err error) error {
	if have != nil {
		return have
	}
	return err
}
