package consumer

import (
	"testing"

	"github.com/nats-io/nats.go"
)

// Sequences compare only within one incarnation of a stream: a re-created stream restarts them, and its events
// are later than every event of the old one.
func TestOriginOrder(t *testing.T) {
	old := Origin{Stream: "STIGG", Epoch: 100, Seq: 40}
	for _, c := range []struct {
		o      Origin
		before bool
	}{
		{Origin{Stream: "STIGG", Epoch: 100, Seq: 12}, true},  // a replayed older event
		{Origin{Stream: "STIGG", Epoch: 100, Seq: 40}, false}, // the same event again
		{Origin{Stream: "STIGG", Epoch: 100, Seq: 41}, false}, // a newer event
		{Origin{Stream: "STIGG", Epoch: 200, Seq: 12}, false}, // the stream was recreated
		{Origin{Stream: "STIGG", Epoch: 50, Seq: 900}, true},  // from an older incarnation
		{Origin{Stream: "ZUORA", Epoch: 100, Seq: 1}, false},  // another stream: not ordered
	} {
		if got := c.o.Before(old); got != c.before {
			t.Errorf("%s before %s = %v, want %v", c.o, old, got, c.before)
		}
	}
	if (Origin{}).Before(old) != false || old.Before(Origin{}) {
		t.Error("a zero origin orders against nothing of another stream")
	}
}

// Golden vector: parked, dead-lettered and redriven copies in flight carry this form across deploys.
func TestOriginHeaderForm(t *testing.T) {
	o := Origin{Stream: "STIGG", Epoch: 1764600000123456789, Seq: 42}
	if o.String() != "STIGG/1764600000123456789/42" {
		t.Fatalf("origin renders as %q", o)
	}
	back, err := ParseOrigin(o.String())
	if err != nil || back != o {
		t.Fatalf("round trip: %v %v", back, err)
	}
	for _, bad := range []string{"", "STIGG", "STIGG/x/1", "STIGG/1/0", "/1/2", "STIGG/1/2/3"} {
		if _, err := ParseOrigin(bad); err == nil {
			t.Errorf("ParseOrigin(%q) accepted", bad)
		}
	}
	// A copy's header wins over its own place; a garbled or foreign one does not.
	h := nats.Header{}
	h.Set(HeaderOrigin, o.String())
	if got := originOf(h, "STIGG", 9, 500); got != o {
		t.Errorf("copy: %v", got)
	}
	h.Set(HeaderOrigin, "nonsense")
	if got := originOf(h, "STIGG", 9, 500); got != (Origin{Stream: "STIGG", Epoch: 9, Seq: 500}) {
		t.Errorf("garbled header: %v", got)
	}
	h.Set(HeaderOrigin, "ZUORA/1/2")
	if got := originOf(h, "STIGG", 9, 500); got.Stream != "STIGG" || got.Seq != 500 {
		t.Errorf("foreign stream: %v", got)
	}
}

func FuzzParseOrigin(f *testing.F) {
	for _, s := range []string{"STIGG/1/2", "", "a/b/c", "STIGG/-1/18446744073709551615"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOrigin(s)
		if err != nil {
			return
		}
		if back, err := ParseOrigin(o.String()); err != nil || back != o {
			t.Fatalf("%q parsed as %v, which does not round-trip (%v)", s, o, err)
		}
	})
}
