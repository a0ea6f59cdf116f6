package idmap

import (
	"context"
	"errors"
	"fmt"
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
	if err := s.Put(ctx, "customer", Entry{StiggID: "cust.1 *x>", ZuoraID: "8a1", ZuoraNumber: "A00000001"}); err != nil {
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
	if err := s.Put(ctx, "customer", Entry{StiggID: "x"}); err == nil {
		t.Fatal("a mapping without a Zuora id must be refused")
	}
}

func FuzzEncodeKey(f *testing.F) {
	for _, s := range []string{"", "cust-1", "a.b", "*", ">", "=3D", "ünï", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		k := EncodeKey(id)
		for i := 0; i < len(k); i++ {
			c := k[i]
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '='
			if !ok {
				t.Fatalf("EncodeKey(%q) = %q has byte %q outside the KV token alphabet", id, k, c)
			}
		}
		// Injective: the key decodes back to the id, so two ids never share a key.
		if id != "" && decodeKey(t, k) != id {
			t.Fatalf("EncodeKey(%q) = %q does not decode back", id, k)
		}
	})
}

func decodeKey(t *testing.T, k string) string {
	var out []byte
	for i := 0; i < len(k); i++ {
		if k[i] != '=' {
			out = append(out, k[i])
			continue
		}
		var b byte
		if _, err := fmt.Sscanf(k[i+1:i+3], "%02X", &b); err != nil {
			t.Fatalf("bad escape in %q: %v", k, err)
		}
		out = append(out, b)
		i += 2
	}
	return string(out)
}
