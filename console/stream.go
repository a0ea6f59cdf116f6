package console

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// rawMsg is a stored message as the console reads it.
type rawMsg struct {
	Stream  string
	Subject string
	Seq     uint64
	Time    time.Time
	Header  nats.Header
	Data    []byte
}

// throwaway creates an ephemeral, unacknowledged consumer of stream from startSeq (0: the first) over filter and
// returns it with a function that deletes it.
func throwaway(ctx context.Context, s jetstream.Stream, filter string, startSeq uint64) (jetstream.Consumer, func(), error) {
	cfg := jetstream.ConsumerConfig{
		AckPolicy:         jetstream.AckNonePolicy,
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		FilterSubject:     filter,
		InactiveThreshold: time.Minute,
		MemoryStorage:     true,
		Replicas:          1,
		Description:       "zuora-sync console: a bounded read (throw-away)",
	}
	if startSeq > 1 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, startSeq
	}
	c, err := s.CreateConsumer(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("console: read %s: %w", filter, err)
	}
	return c, func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = s.DeleteConsumer(dctx, c.CachedInfo().Name)
	}, nil
}

// readFiltered reads at most n messages of stream matching filter from startSeq on, oldest first.
func readFiltered(ctx context.Context, js jetstream.JetStream, stream, filter string, startSeq uint64, n int) ([]rawMsg, error) {
	s, err := js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("console: stream %s: %w", stream, err)
	}
	c, done, err := throwaway(ctx, s, filter, startSeq)
	if err != nil {
		return nil, err
	}
	defer done()
	return fetch(ctx, stream, c, int(min(uint64(n), c.CachedInfo().NumPending)))
}

func fetch(ctx context.Context, stream string, c jetstream.Consumer, want int) ([]rawMsg, error) {
	var out []rawMsg
	for len(out) < want {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		got, err := fetchBatch(stream, c, min(want-len(out), 256), &out)
		if err != nil {
			return out, fmt.Errorf("console: fetch from %s: %w", stream, err)
		}
		if got == 0 {
			break // removed meanwhile
		}
	}
	return out, nil
}

func fetchBatch(stream string, c jetstream.Consumer, n int, out *[]rawMsg) (int, error) {
	// No wait: the messages are stored, so the server delivers them at once and says when there are no more.
	batch, err := c.FetchNoWait(n)
	if err != nil {
		return 0, err
	}
	got := 0
	for m := range batch.Messages() {
		got++
		meta, err := m.Metadata()
		if err != nil {
			return got, err
		}
		*out = append(*out, rawMsg{Stream: stream, Subject: m.Subject(), Seq: meta.Sequence.Stream,
			Time: meta.Timestamp, Header: m.Headers(), Data: m.Data()})
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
		return got, err
	}
	return got, nil
}

// lastFiltered reads the newest (at most) n messages of stream matching filter, oldest first. The server counts
// what matches from a start sequence (a throw-away consumer's pending count), so it probes start sequences going
// back from the end (spans growing 8-fold), then narrows the start by bisection until at most 4n messages are
// read — a few consumer creations instead of a scan, whatever the stream's size. It reports whether older
// matching messages exist.
func lastFiltered(ctx context.Context, js jetstream.JetStream, stream, filter string, n int) ([]rawMsg, bool, error) {
	s, err := js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("console: stream %s: %w", stream, err)
	}
	state := s.CachedInfo().State
	if state.Msgs == 0 || n <= 0 {
		return nil, false, nil
	}
	count := func(start uint64) (uint64, error) {
		c, done, err := throwaway(ctx, s, filter, start)
		if err != nil {
			return 0, err
		}
		done()
		return c.CachedInfo().NumPending, nil
	}
	const maxProbes = 16
	probes := 0
	want := uint64(n)
	// lo: a start with at least n matches from it (or the first message); hi: a start with fewer than n.
	var lo, plo uint64 // set by the loop below, which always ends through its break
	hi := state.LastSeq + 1
	for span := want * 4; ; span *= 8 {
		start := state.FirstSeq
		if state.LastSeq+1 > span && state.LastSeq+1-span > state.FirstSeq && probes < maxProbes/2 {
			start = state.LastSeq + 1 - span
		}
		p, err := count(start)
		probes++
		if err != nil {
			return nil, false, err
		}
		if p >= want || start == state.FirstSeq {
			lo, plo = start, p
			break
		}
		hi = start
	}
	for plo > 4*want && hi-lo > 1 && probes < maxProbes {
		mid := lo + (hi-lo)/2
		p, err := count(mid)
		probes++
		if err != nil {
			return nil, false, err
		}
		if p >= want {
			lo, plo = mid, p
		} else {
			hi = mid
		}
	}
	c, done, err := throwaway(ctx, s, filter, lo)
	if err != nil {
		return nil, false, err
	}
	defer done()
	pending := c.CachedInfo().NumPending
	msgs, err := fetch(ctx, stream, c, int(min(pending, 4*want)))
	if err != nil {
		return nil, false, err
	}
	older := lo > state.FirstSeq || len(msgs) > n
	if len(msgs) > n {
		msgs = msgs[len(msgs)-n:]
	}
	return msgs, older, nil
}
