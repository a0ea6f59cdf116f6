package consumer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/topology"
)

// ReplayFrom says where a replay starts: a stream sequence, or the first event stored at or after a time.
type ReplayFrom struct {
	Seq  uint64
	Time time.Time
}

// Replay moves every zuora-sync consumer of an input stream back to the given position, so that the events from
// there on are handled again. Handlers are idempotent and the ordering guard skips every event older than its
// entity's last applied one, so a replay repeats no Zuora write and reverts nothing: it re-applies each entity's
// latest event, which is how an operator re-syncs after fixing a mapping or restoring a Zuora sandbox. Running
// instances continue from the new position; the reset clears the server's pending set, and the guard's per-key
// claim keeps a key's next event waiting until the one still in flight has finished. It returns the sequence the
// consumers now start from and the consumers it reset.
func Replay(ctx context.Context, js jetstream.JetStream, stream string, from ReplayFrom) (uint64, []string, error) {
	if from.Seq == 0 && from.Time.IsZero() {
		return 0, nil, errors.New("replay: give a start sequence or a start time")
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, nil, fmt.Errorf("replay: stream %s: %w", stream, err)
	}
	seq := from.Seq
	if seq == 0 {
		if seq, err = firstSeqAtOrAfter(ctx, js, s, from.Time); err != nil {
			return 0, nil, err
		}
	}
	prefix := fmt.Sprintf("zuorasync-%s-", strings.ToLower(stream))
	names := s.ConsumerNames(ctx)
	var reset []string
	for name := range names.Name() {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		if _, err := js.ResetConsumerToSequence(ctx, stream, name, seq); err != nil {
			return seq, reset, fmt.Errorf("replay: reset %s to %d: %w", name, seq, err)
		}
		reset = append(reset, name)
	}
	if err := names.Err(); err != nil {
		return seq, reset, fmt.Errorf("replay: list consumers of %s: %w", stream, err)
	}
	return seq, reset, nil
}

// firstSeqAtOrAfter finds the first stream sequence stored at or after t, by letting the server do the time
// lookup for a throw-away ordered consumer.
func firstSeqAtOrAfter(ctx context.Context, js jetstream.JetStream, s jetstream.Stream, t time.Time) (uint64, error) {
	oc, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartTimePolicy,
		OptStartTime:  &t,
	})
	if err != nil {
		return 0, fmt.Errorf("replay: find start time: %w", err)
	}
	msg, err := oc.Next(jetstream.FetchMaxWait(2 * time.Second))
	if errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
		info, ierr := s.Info(ctx)
		if ierr != nil {
			return 0, ierr
		}
		return info.State.LastSeq + 1, nil // nothing stored since t: start with the next event
	}
	if err != nil {
		return 0, fmt.Errorf("replay: find start time: %w", err)
	}
	meta, err := msg.Metadata()
	if err != nil {
		return 0, err
	}
	return meta.Sequence.Stream, nil
}

// DeadLetter is one entry of the DLQ, with the reason it was written.
type DeadLetter struct {
	Seq             uint64      `json:"seq"`
	Subject         string      `json:"subject"`
	OriginalSubject string      `json:"originalSubject"`
	Stream          string      `json:"stream"`
	StreamSeq       uint64      `json:"streamSeq"`
	Class           string      `json:"class"`
	Reason          string      `json:"reason"`
	Attempts        int         `json:"attempts"`
	At              time.Time   `json:"at"`
	EventID         string      `json:"eventId,omitempty"`
	EventType       string      `json:"eventType,omitempty"`
	Origin          Origin      `json:"-"`
	Header          nats.Header `json:"-"`
	Data            []byte      `json:"-"`
	event           *event.Event
}

// ListDLQ returns up to limit dead letters whose subject matches filter (default: all), oldest first. It reads
// up to the last entry stored when it started, one leader read per entry (the DLQ stream has no direct gets): a
// slow answer is waited for within ctx rather than taken for the end, and a read that fails is an error, never a
// shorter list. Entries removed meanwhile (a concurrent redrive) are simply not listed.
func ListDLQ(ctx context.Context, js jetstream.JetStream, filter string, limit int) ([]DeadLetter, error) {
	if filter == "" {
		filter = topology.PrefixDLQ + ".>"
	}
	s, err := js.Stream(ctx, topology.StreamDLQ)
	if err != nil {
		return nil, fmt.Errorf("dlq: %w", err)
	}
	state := s.CachedInfo().State // fetched by the lookup just now
	if state.Msgs == 0 {
		return nil, nil
	}
	var out []DeadLetter
	for seq := state.FirstSeq; seq <= state.LastSeq && (limit <= 0 || len(out) < limit); {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break // nothing matches from seq on
		}
		if err != nil {
			return nil, fmt.Errorf("dlq: read %s from entry %d (listing up to %d): %w", filter, seq, state.LastSeq, err)
		}
		if m.Sequence > state.LastSeq {
			break // written after the listing started
		}
		out = append(out, deadLetterOf(m.Subject, m.Sequence, m.Header, m.Data))
		seq = m.Sequence + 1
	}
	return out, nil
}

func deadLetterOf(subject string, seq uint64, h nats.Header, data []byte) DeadLetter {
	dl := DeadLetter{
		Seq: seq, Subject: subject, Header: h, Data: data,
		OriginalSubject: h.Get(HeaderDLQSubject),
		Stream:          h.Get(HeaderDLQStream),
		Class:           h.Get(HeaderDLQClass),
		Reason:          h.Get(HeaderDLQReason),
		EventID:         h.Get("ce-id"),
		EventType:       h.Get("ce-type"),
	}
	dl.StreamSeq, _ = strconv.ParseUint(h.Get(HeaderDLQSeq), 10, 64)
	dl.Attempts, _ = strconv.Atoi(h.Get(HeaderDLQAttempts))
	dl.At, _ = time.Parse(time.RFC3339Nano, h.Get(HeaderDLQTime))
	dl.Origin, _ = ParseOrigin(h.Get(HeaderOrigin))
	if ev, err := events.FromMsg(h, data); err == nil {
		dl.EventID, dl.EventType = ev.ID(), ev.Type()
		dl.event = &ev
	}
	return dl
}

// RedriveOptions select and guard a redrive.
type RedriveOptions struct {
	// Filter is a DLQ subject filter (default: every entry); Seqs, when set, picks entries by DLQ sequence.
	Filter string
	Seqs   []uint64
	// Force redrives entries whose entity has applied a newer event since; without it they stay in the DLQ.
	// The forced event is applied even though it is older (the operator's explicit choice).
	Force bool
}

// RedriveResult says what a redrive did.
type RedriveResult struct {
	Redriven int
	// Superseded are entries left in the DLQ because a newer event of their entity was applied since.
	Superseded []DeadLetter
}

// Redrive publishes dead letters back onto their original subjects, exactly as they first arrived (with their
// origin, so the ordering guard still knows how old they are), and removes them from the DLQ once the input
// stream has acknowledged the write.
func Redrive(ctx context.Context, js jetstream.JetStream, opts RedriveOptions) (RedriveResult, error) {
	var out RedriveResult
	var entries []DeadLetter
	var err error
	if len(opts.Seqs) > 0 {
		entries, err = dlqEntries(ctx, js, opts.Filter, opts.Seqs) // the chosen entries only, not the whole DLQ
	} else {
		entries, err = ListDLQ(ctx, js, opts.Filter, 0)
	}
	if err != nil {
		return out, err
	}
	want := map[uint64]bool{}
	for _, s := range opts.Seqs {
		want[s] = true
	}
	s, err := js.Stream(ctx, topology.StreamDLQ)
	if err != nil {
		return out, err
	}
	applied, err := js.KeyValue(ctx, topology.BucketApplied)
	if err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		return out, fmt.Errorf("redrive: %w", err)
	}
	for _, dl := range entries {
		if len(want) > 0 && !want[dl.Seq] {
			continue
		}
		if dl.OriginalSubject == "" {
			return out, fmt.Errorf("redrive: DLQ entry %d has no %s header", dl.Seq, HeaderDLQSubject)
		}
		if !opts.Force && applied != nil {
			sup, err := supersededEntry(ctx, applied, dl)
			if err != nil {
				return out, fmt.Errorf("redrive: entry %d: %w", dl.Seq, err)
			}
			if sup {
				out.Superseded = append(out.Superseded, dl)
				continue
			}
		}
		msg := nats.NewMsg(dl.OriginalSubject)
		msg.Header = copyHeaders(dl.Header, "Zuorasync-Dlq-*", jetstream.MsgIDHeader, HeaderDeferrals, HeaderNotBefore,
			HeaderDeferReason, HeaderRequeueSubject, HeaderOverride)
		// A fresh dedupe id: the event's own id may still be inside the input stream's dedupe window.
		msg.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("redrive:%d:%s", dl.Seq, dl.EventID))
		// A new redrive generation gives the event fresh Zuora idempotency keys: Zuora keeps a failed write's
		// answer for 24 h under its key, and the operator redrives because the cause has been fixed.
		gen, _ := strconv.Atoi(dl.Header.Get(HeaderRedrive))
		msg.Header.Set(HeaderRedrive, strconv.Itoa(gen+1))
		if opts.Force {
			msg.Header.Set(HeaderOverride, "true")
		}
		msg.Data = dl.Data
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			return out, fmt.Errorf("redrive: publish DLQ entry %d to %s: %w", dl.Seq, dl.OriginalSubject, err)
		}
		if err := s.DeleteMsg(ctx, dl.Seq); err != nil {
			return out, fmt.Errorf("redrive: entry %d was republished but not removed from the DLQ: %w", dl.Seq, err)
		}
		out.Redriven++
	}
	return out, nil
}

// dlqEntries reads the given DLQ entries, oldest first, skipping those that are gone (redriven meanwhile) or
// whose subject does not match filter (when set).
func dlqEntries(ctx context.Context, js jetstream.JetStream, filter string, seqs []uint64) ([]DeadLetter, error) {
	s, err := js.Stream(ctx, topology.StreamDLQ)
	if err != nil {
		return nil, fmt.Errorf("dlq: %w", err)
	}
	seqs = slices.Clone(seqs)
	slices.Sort(seqs)
	var out []DeadLetter
	for _, seq := range slices.Compact(seqs) {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("dlq: read entry %d: %w", seq, err)
		}
		if filter != "" && !SubjectMatches(filter, m.Subject) {
			continue
		}
		out = append(out, deadLetterOf(m.Subject, m.Sequence, m.Header, m.Data))
	}
	return out, nil
}

// SubjectMatches tells whether a subject matches a NATS subject filter (tokens, '*' and a trailing '>').
func SubjectMatches(filter, subject string) bool {
	ft, st := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, f := range ft {
		if f == ">" {
			return len(st) > i
		}
		if i >= len(st) || f != "*" && f != st[i] {
			return false
		}
	}
	return len(ft) == len(st)
}

// supersededEntry tells whether the entity of a dead letter has applied a newer event since.
func supersededEntry(ctx context.Context, applied jetstream.KeyValue, dl DeadLetter) (bool, error) {
	if dl.event == nil || dl.Origin.IsZero() {
		return false, nil // undecodable, or written before origins existed: nothing to compare
	}
	key, err := events.PartitionKey(*dl.event)
	if err != nil {
		return false, nil
	}
	g := &guard{kv: applied}
	rec, _, err := g.read(ctx, guardRecordKey(dl.Origin.Stream, key))
	if err != nil {
		return false, err
	}
	have, _ := appliedOrigin(rec, entityOf(dl.event, key))
	return dl.Origin.Before(have), nil
}

// DLQFilter selects the dead letters of a page.
type DLQFilter struct {
	// Subject is a DLQ subject filter (default: every entry), Subjects more of them (any one matches); the
	// server applies them.
	Subject  string
	Subjects []string
	// Match, when set, keeps only the entries it accepts; it is applied while paging.
	Match func(DeadLetter) bool
	// MaxExamined bounds the entries read for one page when Match rejects some (default 2000). A page that hit
	// the bound says so (DLQPage.Bounded) and its Next continues after the last entry examined.
	MaxExamined int
}

// DLQPage is one page of dead letters, oldest first.
type DLQPage struct {
	Entries []DeadLetter
	// Next is the sequence to page on from (the after of the next page); 0 when there is nothing after this page.
	Next uint64
	// Examined counts the entries read from the stream for this page.
	Examined int
	// Bounded says the page stopped at MaxExamined before it was full.
	Bounded bool
	// Remaining is how many entries matching the subject filter were stored after `after` when the page started.
	Remaining uint64
	// Total is the size of the DLQ.
	Total uint64
}

const defaultMaxExamined = 2000

// PageDLQ reads one page of dead letters: those after the DLQ sequence afterSeq whose subject matches the filter
// (and that filter.Match accepts), at most limit of them. Unlike ListDLQ it reads only what the page needs: a
// throw-away consumer starting after afterSeq delivers at most limit+1 entries (the extra one tells whether there
// is a next page), or at most filter.MaxExamined when Match rejects entries, so a page costs the same with five or
// five million entries stored.
func PageDLQ(ctx context.Context, js jetstream.JetStream, filter DLQFilter, afterSeq uint64, limit int) (DLQPage, error) {
	var page DLQPage
	if limit <= 0 {
		limit = 50
	}
	subjects := filter.Subjects
	if filter.Subject != "" || len(subjects) == 0 {
		subjects = append([]string{cmp.Or(filter.Subject, topology.PrefixDLQ+".>")}, subjects...)
	}
	subject := strings.Join(subjects, " ")
	bound := limit + 1
	if filter.Match != nil {
		bound = max(cmp.Or(max(filter.MaxExamined, 0), defaultMaxExamined), limit+1)
	}
	s, err := js.Stream(ctx, topology.StreamDLQ)
	if err != nil {
		return page, fmt.Errorf("dlq page: %w", err)
	}
	state := s.CachedInfo().State
	page.Total = state.Msgs
	if state.Msgs == 0 || afterSeq >= state.LastSeq {
		return page, nil
	}
	c, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{
		AckPolicy:         jetstream.AckNonePolicy,
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       max(afterSeq+1, state.FirstSeq),
		FilterSubjects:    subjects,
		InactiveThreshold: time.Minute,
		MemoryStorage:     true,
		Replicas:          1,
		Description:       "zuora-sync: one page of dead letters (throw-away)",
	})
	if err != nil {
		return page, fmt.Errorf("dlq page: read %s after %d: %w", subject, afterSeq, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = s.DeleteConsumer(dctx, c.CachedInfo().Name)
	}()
	page.Remaining = c.CachedInfo().NumPending
	want := int(min(uint64(bound), page.Remaining))
	var last uint64
	for page.Examined < want {
		if err := ctx.Err(); err != nil {
			return page, fmt.Errorf("dlq page: %w", err)
		}
		n, full, err := page.fetch(c, min(want-page.Examined, 256), limit, filter.Match, &last)
		if err != nil {
			return page, fmt.Errorf("dlq page: fetch %s after %d: %w", subject, afterSeq, err)
		}
		if full {
			return page, nil
		}
		if n == 0 {
			break // entries removed meanwhile (a concurrent redrive): what is left was read
		}
	}
	switch more := uint64(page.Examined) < page.Remaining; {
	case more && len(page.Entries) == limit:
		page.Next = page.Entries[limit-1].Seq
	case more && page.Examined == bound:
		// Stopped by the bound before the page was full: more may match further on.
		page.Bounded, page.Next = true, last
	}
	return page, nil
}

// fetch reads one batch of at most n entries into the page. It reports how many it read, and full when it met
// the first entry past a full page (then Next is set).
func (page *DLQPage) fetch(c jetstream.Consumer, n, limit int, match func(DeadLetter) bool, last *uint64) (int, bool, error) {
	// No wait: the entries are stored, so the server delivers them at once and says when there are no more
	// (entries removed since the page started) instead of leaving the fetch to time out.
	batch, err := c.FetchNoWait(n)
	if err != nil {
		return 0, false, err
	}
	read := 0
	for m := range batch.Messages() {
		read++
		meta, err := m.Metadata()
		if err != nil {
			return read, false, err
		}
		page.Examined++
		*last = meta.Sequence.Stream
		if len(page.Entries) == limit {
			// The first entry past a full page: there is a next page, starting after the page's last entry.
			page.Next = page.Entries[limit-1].Seq
			return read, true, nil
		}
		dl := deadLetterOf(m.Subject(), meta.Sequence.Stream, m.Headers(), m.Data())
		if match == nil || match(dl) {
			page.Entries = append(page.Entries, dl)
		}
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
		return read, false, err
	}
	return read, false, nil
}

// Event is the dead letter's CloudEvent, when it decodes.
func (dl DeadLetter) Event() (event.Event, bool) {
	if dl.event == nil {
		return event.Event{}, false
	}
	return *dl.event, true
}

// GetDeadLetter reads one DLQ entry by its sequence; jetstream.ErrMsgNotFound when it is gone.
func GetDeadLetter(ctx context.Context, js jetstream.JetStream, seq uint64) (DeadLetter, error) {
	s, err := js.Stream(ctx, topology.StreamDLQ)
	if err != nil {
		return DeadLetter{}, fmt.Errorf("dlq: %w", err)
	}
	m, err := s.GetMsg(ctx, seq)
	if err != nil {
		return DeadLetter{}, fmt.Errorf("dlq: read entry %d: %w", seq, err)
	}
	return deadLetterOf(m.Subject, m.Sequence, m.Header, m.Data), nil
}
