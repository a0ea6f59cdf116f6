package consumer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
)

// HeaderOrigin carries an event's origin on every copy the runtime makes of it (parked, requeued, rekeyed,
// dead-lettered, redriven): copies get new stream sequences, so only the origin tells how old they are.
const HeaderOrigin = "Zuorasync-Origin"

// Origin is where an event first entered an input stream: the stream, the incarnation of the stream (its
// creation time; sequences restart when an operator recreates a stream) and the stream sequence. Within one
// entity, a later origin is a later event.
type Origin struct {
	Stream string
	Epoch  int64 // stream creation time, Unix nanoseconds
	Seq    uint64
}

// String is the header form: STREAM/epoch/seq.
func (o Origin) String() string { return fmt.Sprintf("%s/%d/%d", o.Stream, o.Epoch, o.Seq) }

// IsZero reports an unknown origin.
func (o Origin) IsZero() bool { return o.Seq == 0 }

// Before reports whether o is an earlier event than p of the same stream. Origins of different streams are not
// ordered (an entity's events all come from one stream).
func (o Origin) Before(p Origin) bool {
	if o.Stream != p.Stream {
		return false
	}
	if o.Epoch != p.Epoch {
		return o.Epoch < p.Epoch
	}
	return o.Seq < p.Seq
}

// ParseOrigin reads the header form.
func ParseOrigin(s string) (Origin, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 || parts[0] == "" {
		return Origin{}, fmt.Errorf("origin %q is not STREAM/epoch/seq", s)
	}
	epoch, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return Origin{}, fmt.Errorf("origin %q: epoch: %w", s, err)
	}
	seq, err := strconv.ParseUint(parts[2], 10, 64)
	if err != nil || seq == 0 {
		return Origin{}, fmt.Errorf("origin %q: sequence must be a positive number", s)
	}
	return Origin{Stream: parts[0], Epoch: epoch, Seq: seq}, nil
}

// originOf is the origin of a delivered message: the header a copy carries, or else the message's own place.
// A header that does not parse is ignored (the message's own place is a safe, later origin).
func originOf(h nats.Header, stream string, epoch int64, seq uint64) Origin {
	if v := h.Get(HeaderOrigin); v != "" {
		if o, err := ParseOrigin(v); err == nil && o.Stream == stream {
			return o
		}
	}
	return Origin{Stream: stream, Epoch: epoch, Seq: seq}
}

// copyHeaders clones h without the given keys.
func copyHeaders(h nats.Header, drop ...string) nats.Header {
	out := nats.Header{}
	for k, v := range h {
		// Nats-Expected-* are preconditions of the original publish (the bridge expects the ZUORA stream); kept,
		// they would make every copy's write fail (a DLQ entry, a parked or rekeyed copy) and the event loop.
		if dropped(k, drop) || strings.HasPrefix(strings.ToLower(k), "nats-expected-") {
			continue
		}
		out[k] = append([]string(nil), v...)
	}
	return out
}

func dropped(k string, drop []string) bool {
	for _, d := range drop {
		if strings.EqualFold(k, d) || strings.HasSuffix(d, "*") && strings.HasPrefix(k, strings.TrimSuffix(d, "*")) {
			return true
		}
	}
	return false
}
