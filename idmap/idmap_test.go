package idmap

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/internal/natstest"
)

func TestPutGetBothWays(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "ids"})
	if err != nil {
		t.Fatal(err)
	}
	s := New(kv)
	if _, err := s.Get(ctx, "customer", "cust.1 *x>"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	if err := s.Put(ctx, "customer", &Entry{StiggID: "cust.1 *x>", ZuoraID: "8a1", ZuoraNumber: "A00000001"}); err != nil {
		t.Fatal(err)
	}
	e, err := s.Get(ctx, "customer", "cust.1 *x>")
	if err != nil || e.ZuoraID != "8a1" || e.ZuoraNumber != "A00000001" {
		t.Fatalf("got %+v, %v", e, err)
	}
	id, err := s.StiggIDOf(ctx, "customer", "8a1")
	if err != nil || id != "cust.1 *x>" {
		t.Fatalf("reverse: %q %v", id, err)
	}
	if err := s.Put(ctx, "customer", &Entry{StiggID: "x"}); err == nil {
		t.Fatal("a mapping without a Zuora id must be refused")
	}
}

// Defect 9: a writer that read an older mapping cannot overwrite a newer one (a blind put could roll a mapping
// back after a paused instance wakes up); it gets ErrConflict and re-reads on retry.
func TestPutIsCompareAndSet(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "ids"})
	if err != nil {
		t.Fatal(err)
	}
	s := New(kv)
	first := &Entry{StiggID: "sub-1", ZuoraID: "A"}
	if err := s.Put(ctx, "subscription", first); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "subscription", &Entry{StiggID: "sub-1", ZuoraID: "B"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("creating over an existing mapping: %v, want ErrConflict", err)
	}
	stale, _ := s.Get(ctx, "subscription", "sub-1")
	fresh, _ := s.Get(ctx, "subscription", "sub-1")
	fresh.ZuoraNumber = "newer"
	if err := s.Put(ctx, "subscription", fresh); err != nil {
		t.Fatal(err)
	}
	stale.ZuoraNumber = "older"
	if err := s.Put(ctx, "subscription", stale); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale write: %v, want ErrConflict", err)
	}
	// The same entry can be written again: Put moves its revision along.
	fresh.ZuoraNumber = "newest"
	if err := s.Put(ctx, "subscription", fresh); err != nil {
		t.Fatalf("second write of the same entry: %v", err)
	}
	if got, _ := s.Get(ctx, "subscription", "sub-1"); got.ZuoraNumber != "newest" {
		t.Fatalf("stored %q", got.ZuoraNumber)
	}
}
