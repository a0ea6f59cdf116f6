package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// The usage truth: one KV entry (bucket zuorasync-usage) per Stigg subscription, feature and billing period. It
// keeps the events counted, so a redelivery, a replay or a second instance counts nothing twice, the total they
// make, and what Zuora was last given; the handler only counts (usage.go), the flusher writes Zuora
// (usage_flush.go). Every change is a compare-and-set on the entry's revision.
//
// The total is the latest SET by timestamp plus every DELTA whose timestamp is not before that SET's (a DELTA
// reported at the very instant of a SET adds to it); without a SET, the sum of the DELTAs. Two SETs at the same
// instant: the one whose event-id hash is larger wins — arbitrary, but the same whatever the order of arrival.
// Events before the winning SET can never matter again (a SET only gives way to a later one), so they are dropped:
// a redelivered one is older than the SET and changes nothing, exactly as when it was first counted.

const (
	// maxUsageEvents bounds the events one period keeps (after SETs dropped what they replace).
	maxUsageEvents = 20000
	// maxUsagePacked bounds their encoded size, well below NATS' default 1 MB payload limit.
	maxUsagePacked = 768 << 10
	// usageCASAttempts is how often a change is tried against a moving revision before giving up (transient).
	usageCASAttempts = 6
	// usageRetention is how long after its period ended an entry is kept once Zuora has its total; the flusher
	// then deletes it. A report for a period that ended longer ago is refused (usage.go): what would dedupe it is
	// gone. It exceeds the input streams' retention (30 days by default), so a replay never reaches a deleted
	// period's events; only a report published that late can.
	usageRetention = 90 * 24 * time.Hour
)

// usageExpired reports whether a period ending (exclusive) on periodEnd is past the retention at now.
func usageExpired(periodEnd string, now time.Time) bool {
	return periodEnd != "" && periodEnd <= now.Add(-usageRetention).UTC().Format(time.DateOnly)
}

// usageKey is the entry's KV key. Deployed entries are found by it: it must never change.
func usageKey(subscriptionID, featureID, periodStart string) string {
	return topology.KVKey(subscriptionID + "/" + featureID + "/" + periodStart)
}

// usageEvent is one counted report.
type usageEvent struct {
	hash  [8]byte // of the CloudEvent id
	at    int64   // timestamp, Unix ns
	set   bool
	value zuoraapi.Amount
}

func usageEventHash(eventID string) (h [8]byte) {
	sum := sha256.Sum256([]byte(eventID))
	copy(h[:], sum[:8])
	return h
}

// wins tells whether SET a replaces SET b.
func (a usageEvent) wins(b usageEvent) bool {
	return a.at > b.at || a.at == b.at && string(a.hash[:]) > string(b.hash[:])
}

// usageTarget is the Zuora usage charge the entry's records are written to.
type usageTarget struct {
	SubscriptionNumber string `json:"subscriptionNumber"`
	AccountID          string `json:"accountId"`
	ItemID             string `json:"itemId"`
	UOM                string `json:"unitOfMeasure"`
}

// usageFailure is a write Zuora refused; the flusher tries again when the total changes or after a while.
type usageFailure struct {
	Reason string          `json:"reason"`
	Total  zuoraapi.Amount `json:"total"`
	At     time.Time       `json:"at"`
}

// usageClaim says which flusher is writing the entry to Zuora, so two never write one entry at once.
type usageClaim struct {
	By    string    `json:"by"`
	Until time.Time `json:"until"`
}

// usageEntry is the stored entry.
type usageEntry struct {
	SubscriptionID string          `json:"subscriptionId"`
	FeatureID      string          `json:"featureId"`
	PeriodStart    string          `json:"periodStart"` // YYYY-MM-DD, the billing period holding the events
	PeriodEnd      string          `json:"periodEnd"`   // exclusive
	Target         usageTarget     `json:"zuora"`
	Total          zuoraapi.Amount `json:"total"`
	// Written is the total Zuora's records account for after the last flush; nil: nothing was written yet.
	Written  *zuoraapi.Amount `json:"written,omitempty"`
	RecordID string           `json:"recordId,omitempty"` // the pending (or last) record written
	// KeyGen moves the create's idempotency key on after a refusal, which Zuora stores under the key too.
	KeyGen    int           `json:"keyGen,omitempty"`
	Failure   *usageFailure `json:"failure,omitempty"`
	Claim     *usageClaim   `json:"claim,omitempty"`
	Count     int           `json:"eventCount"`
	Packed    string        `json:"events"` // packed events, see pack
	UpdatedAt time.Time     `json:"updatedAt"`

	events []usageEvent
}

// dirty tells whether Zuora has not been given the total yet.
func (e *usageEntry) dirty() bool {
	if e.Written == nil {
		return !e.Total.IsZero()
	}
	return !e.Written.Equal(e.Total)
}

// usageCounted is what counting one event did.
type usageCounted int

const (
	usageAdded      usageCounted = iota // the total may have changed
	usageDuplicate                      // the event id was counted before
	usageSuperseded                     // older than the SET that decides the total: it changes nothing
)

// errUsageFull refuses an event beyond the period's bound.
var errUsageFull = errors.New("usage period full")

// count adds ev and derives the total again.
func (e *usageEntry) count(ev usageEvent) (usageCounted, error) {
	base := -1
	for i, x := range e.events {
		if x.hash == ev.hash {
			return usageDuplicate, nil
		}
		if x.set && (base < 0 || x.wins(e.events[base])) {
			base = i
		}
	}
	if base >= 0 && (ev.at < e.events[base].at || ev.set && !ev.wins(e.events[base])) {
		return usageSuperseded, nil
	}
	if !ev.set {
		if len(e.events) >= maxUsageEvents {
			return 0, fmt.Errorf("%w: %d events", errUsageFull, len(e.events))
		}
		e.events = append(e.events, ev)
		e.Total = e.Total.Add(ev.value) // a DELTA not before the SET always adds
		return usageAdded, nil
	}
	kept := slices.DeleteFunc(slices.Clone(e.events), func(x usageEvent) bool { return x.set || x.at < ev.at })
	if len(kept) >= maxUsageEvents {
		return 0, fmt.Errorf("%w: %d events", errUsageFull, len(kept))
	}
	e.events = append(kept, ev)
	e.Total = usageTotal(e.events)
	return usageAdded, nil
}

// usageTotal derives the total from the kept events (the SET, if any, plus the DELTAs not before it).
func usageTotal(evs []usageEvent) zuoraapi.Amount {
	var base *usageEvent
	for i := range evs {
		if evs[i].set && (base == nil || evs[i].wins(*base)) {
			base = &evs[i]
		}
	}
	var total zuoraapi.Amount
	if base != nil {
		total = base.value
	}
	for _, x := range evs {
		if !x.set && (base == nil || x.at >= base.at) {
			total = total.Add(x.value)
		}
	}
	return total
}

// pack encodes the events compactly (a period may hold thousands): per event the 8-byte id hash, the timestamp
// as a zig-zag varint of nanoseconds from the period start, a flag byte (1 = SET) and the value's decimal text
// with a length prefix; all base64, behind a format tag.
func (e *usageEntry) pack() error {
	epoch := periodEpoch(e.PeriodStart)
	buf := make([]byte, 0, len(e.events)*24)
	for _, x := range e.events {
		buf = append(buf, x.hash[:]...)
		buf = binary.AppendVarint(buf, x.at-epoch)
		flag := byte(0)
		if x.set {
			flag = 1
		}
		buf = append(buf, flag)
		v := x.value.String()
		buf = binary.AppendUvarint(buf, uint64(len(v)))
		buf = append(buf, v...)
	}
	packed := "1:" + base64.StdEncoding.EncodeToString(buf)
	if len(packed) > maxUsagePacked {
		return fmt.Errorf("%w: %d bytes of events", errUsageFull, len(packed))
	}
	e.Packed, e.Count = packed, len(e.events)
	return nil
}

func (e *usageEntry) unpack() error {
	e.events = nil
	if e.Packed == "" {
		return nil
	}
	if len(e.Packed) < 2 || e.Packed[:2] != "1:" {
		return fmt.Errorf("unknown usage event format %.8q", e.Packed)
	}
	buf, err := base64.StdEncoding.DecodeString(e.Packed[2:])
	if err != nil {
		return err
	}
	epoch := periodEpoch(e.PeriodStart)
	for len(buf) > 0 {
		var x usageEvent
		if len(buf) < 8 {
			return errors.New("truncated usage event")
		}
		copy(x.hash[:], buf[:8])
		buf = buf[8:]
		d, n := binary.Varint(buf)
		if n <= 0 || len(buf) < n+1 {
			return errors.New("truncated usage event")
		}
		x.at, x.set = epoch+d, buf[n] == 1
		buf = buf[n+1:]
		l, n := binary.Uvarint(buf)
		if n <= 0 || uint64(len(buf)-n) < l {
			return errors.New("truncated usage event")
		}
		if x.value, err = zuoraapi.ParseAmount(string(buf[n : n+int(l)])); err != nil {
			return err
		}
		buf = buf[n+int(l):]
		e.events = append(e.events, x)
	}
	return nil
}

func periodEpoch(day string) int64 {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return 0
	}
	return t.UnixNano()
}

// ---- the store ----

// errUsageConflict: the entry changed since it was read.
var errUsageConflict = errors.New("usage entry changed since it was read")

type usageStore struct{ kv jetstream.KeyValue }

// get returns the entry and its revision; nil when there is none.
func (s usageStore) get(ctx context.Context, key string) (*usageEntry, uint64, error) {
	kve, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("usage: get %s: %w", key, err)
	}
	var e usageEntry
	if err := json.Unmarshal(kve.Value(), &e); err != nil {
		return nil, 0, fmt.Errorf("usage: corrupt entry %s: %w", key, err)
	}
	if err := e.unpack(); err != nil {
		return nil, 0, fmt.Errorf("usage: corrupt events in %s: %w", key, err)
	}
	return &e, kve.Revision(), nil
}

// put writes e over revision rev (0: the entry must not exist yet).
func (s usageStore) put(ctx context.Context, key string, e *usageEntry, rev uint64) (uint64, error) {
	if err := e.pack(); err != nil {
		return 0, err
	}
	e.UpdatedAt = time.Now().UTC()
	b, err := json.Marshal(e)
	if err != nil {
		return 0, err
	}
	if rev == 0 {
		rev, err = s.kv.Create(ctx, key, b)
	} else {
		rev, err = s.kv.Update(ctx, key, b, rev)
	}
	var apiErr *jetstream.APIError
	if errors.Is(err, jetstream.ErrKeyExists) || errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return 0, errUsageConflict
	}
	if err != nil {
		return 0, fmt.Errorf("usage: put %s: %w", key, err)
	}
	return rev, nil
}

// purge deletes the entry if it is still at revision rev; false when it changed meanwhile.
func (s usageStore) purge(ctx context.Context, key string, rev uint64) (bool, error) {
	err := s.kv.Purge(ctx, key, jetstream.LastRevision(rev))
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("usage: purge %s: %w", key, err)
	}
	return true, nil
}

// modify reads the entry (nil when missing), lets change edit it and writes it back when change says so,
// reading again when another writer got there first. It returns the entry as stored (or as read, unchanged).
func (s usageStore) modify(ctx context.Context, key string, change func(e *usageEntry) (*usageEntry, bool, error)) (*usageEntry, uint64, error) {
	for range usageCASAttempts {
		cur, rev, err := s.get(ctx, key)
		if err != nil {
			return nil, 0, err
		}
		next, write, err := change(cur)
		if err != nil || !write {
			return next, rev, err
		}
		rev, err = s.put(ctx, key, next, rev)
		if errors.Is(err, errUsageConflict) {
			continue
		}
		return next, rev, err
	}
	return nil, 0, fmt.Errorf("usage: %s: %w %d times in a row", key, errUsageConflict, usageCASAttempts)
}
