package handlers

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// UsageFlushConfig configures the UsageFlusher; zero values take the defaults.
type UsageFlushConfig struct {
	// Interval between two rounds (USAGE_FLUSH_INTERVAL); default 5 s.
	Interval time.Duration
	// Concurrency is how many entries a round writes at once; default 4.
	Concurrency int
	// ClaimTTL is how long a flusher holds an entry it writes; default 1 min. EntryTimeout (default 20 s) bounds
	// the Zuora calls of one entry, so they end well before the claim does.
	ClaimTTL, EntryTimeout time.Duration
	// FailureRetry is how long an entry whose write Zuora refused waits, unless its total changes; default 10 min.
	FailureRetry time.Duration
}

func (c UsageFlushConfig) withDefaults() UsageFlushConfig {
	c.Interval = cmp.Or(c.Interval, 5*time.Second)
	c.Concurrency = cmp.Or(c.Concurrency, 4)
	c.ClaimTTL = cmp.Or(c.ClaimTTL, time.Minute)
	c.EntryTimeout = min(cmp.Or(c.EntryTimeout, 20*time.Second), c.ClaimTTL/2)
	c.FailureRetry = cmp.Or(c.FailureRetry, 10*time.Minute)
	return c
}

// UsageFlusher writes the usage totals counted in KV (usage_totals.go) to Zuora: every interval it lists the
// bucket and, for each entry whose total differs from what Zuora was given, writes the absolute quantity to the
// pending usage record of the entry's item, found by listing before writing, patched when it differs, created
// otherwise under an idempotency key derived from (subscription, feature, period) so two flushers racing make one
// record. A record Zuora processed is never changed: what it did not bill goes to a record in the item's open
// period. A failed write leaves the entry dirty for the next round; the first round after a start reads every
// entry, so totals counted before a crash are written after it.
//
// One flusher writes an entry at a time: it claims the entry (compare-and-set) before its Zuora calls, which end
// before the claim does, and releases it with the result. A flusher paused past its claim while a write was on
// the wire could still land a stale quantity after another one wrote; the claim (1 min) is far longer than a
// call may take (20 s), as with the consumer's leases.
type UsageFlusher struct {
	zuora *zuoraapi.Client
	store usageStore
	cfg   UsageFlushConfig
	log   *slog.Logger
	id    string
	now   func() time.Time

	seen map[string]seenEntry // owned by the goroutine running rounds
}

// seenEntry is an entry found clean at rev, or refused by Zuora: look again at rev change or after until.
// periodEnd tells when a clean one may be deleted (usageRetention).
type seenEntry struct {
	rev       uint64
	until     time.Time
	periodEnd string
}

// NewUsageFlusher builds the flusher over Deps.Zuora and Deps.Usage.
func NewUsageFlusher(d Deps, cfg UsageFlushConfig) *UsageFlusher {
	d = d.withDefaults()
	host, _ := os.Hostname()
	return &UsageFlusher{zuora: d.Zuora, store: usageStore{kv: d.Usage}, cfg: cfg.withDefaults(),
		log: d.Logger.With("component", "usage-flusher"), seen: map[string]seenEntry{}, now: time.Now,
		id: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), uuid.NewString()[:8])}
}

// Run flushes at once and then every interval until ctx ends; it returns nil then. Failures are logged: the
// entries stay dirty for the next round.
func (f *UsageFlusher) Run(ctx context.Context) error {
	runRounds(ctx, f.cfg.Interval, func(ctx context.Context) error { _, err := f.Flush(ctx); return err },
		func(err error) { f.log.Warn("usage flush round failed", "err", err) })
	return nil
}

// UsageFlushStats is what one round did.
type UsageFlushStats struct {
	Entries, Examined, Written, Writes, Failed int
	// Pruned counts entries deleted because their period ended more than usageRetention ago and Zuora has them.
	Pruned   int
	Duration time.Duration
}

// Flush runs one round. Entries already being written when ctx ends are finished (each within EntryTimeout), so
// their claims are released; no new ones are started.
func (f *UsageFlusher) Flush(ctx context.Context) (UsageFlushStats, error) {
	began, start := time.Now(), f.now()
	var st UsageFlushStats
	revs, err := f.list(ctx)
	if err != nil {
		return st, err
	}
	st.Entries = len(revs)
	for k := range f.seen {
		if _, ok := revs[k]; !ok {
			delete(f.seen, k)
		}
	}
	var todo []string
	for k, rev := range revs {
		if s, ok := f.seen[k]; !ok || s.rev != rev || !s.until.IsZero() && start.After(s.until) {
			todo = append(todo, k)
		}
	}
	slices.Sort(todo)
	st.Examined = len(todo)

	jobs := make(chan string)
	results := make(chan flushResult)
	var wg sync.WaitGroup
	for range min(f.cfg.Concurrency, len(todo)) {
		wg.Go(func() {
			for k := range jobs {
				results <- f.flushEntry(ctx, k)
			}
		})
	}
	go func() {
		defer close(results)
		defer wg.Wait()
		defer close(jobs)
		for _, k := range todo {
			select {
			case jobs <- k:
			case <-ctx.Done():
				return
			}
		}
	}()
	var pause time.Duration
	for r := range results {
		st.Writes += r.writes
		switch {
		case r.err != nil:
			st.Failed++
			pause = max(pause, r.pause)
		case r.clean:
			f.seen[r.key] = seenEntry{rev: r.rev, periodEnd: r.periodEnd}
			if r.writes > 0 {
				st.Written++
			}
		case !r.until.IsZero():
			f.seen[r.key] = seenEntry{rev: r.rev, until: r.until}
		}
	}
	st.Pruned = f.prune(ctx, start)
	st.Duration = time.Since(began)
	if st.Writes > 0 || st.Failed > 0 || st.Pruned > 0 {
		f.log.Info("usage flushed", "entries", st.Entries, "examined", st.Examined, "written", st.Written,
			"writes", st.Writes, "failed", st.Failed, "pruned", st.Pruned, "duration", st.Duration)
	}
	if pause > 0 {
		// Zuora asked to slow down: the next round waits for it.
		select {
		case <-ctx.Done():
		case <-time.After(min(pause, time.Minute)):
		}
	}
	return st, nil
}

// prune deletes the entries known clean whose period is past retention, each only if unchanged since it was
// seen clean (a report counted meanwhile keeps it).
func (f *UsageFlusher) prune(ctx context.Context, now time.Time) int {
	n := 0
	for k, s := range f.seen {
		if !s.until.IsZero() || !usageExpired(s.periodEnd, now) || ctx.Err() != nil {
			continue
		}
		ok, err := f.store.purge(ctx, k, s.rev)
		if err != nil {
			f.log.Warn("usage entry past retention not deleted; next round tries again", "key", k, "err", err)
			continue
		}
		delete(f.seen, k)
		if ok {
			n++
		}
	}
	return n
}

// list is every key of the bucket with its revision (meta-only: no values are read).
func (f *UsageFlusher) list(ctx context.Context) (map[string]uint64, error) {
	w, err := f.store.kv.WatchAll(ctx, jetstream.IgnoreDeletes(), jetstream.MetaOnly())
	if err != nil {
		return nil, fmt.Errorf("list usage entries: %w", err)
	}
	defer func() { _ = w.Stop() }()
	out := map[string]uint64{}
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("list usage entries: watcher closed")
			}
			if e == nil {
				return out, nil
			}
			out[e.Key()] = e.Revision()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// flushResult is one entry's round: clean at rev, refused until a time, or failed with err.
type flushResult struct {
	key       string
	rev       uint64
	periodEnd string
	clean     bool
	until     time.Time
	writes    int
	err       error
	pause     time.Duration
}

var errClaimExpired = errors.New("the usage entry's claim has run out")

func (f *UsageFlusher) flushEntry(ctx context.Context, key string) flushResult {
	res := flushResult{key: key}
	now := f.now()
	until := now.Add(f.cfg.ClaimTTL)
	claimed := false
	e, rev, err := f.store.modify(ctx, key, func(cur *usageEntry) (*usageEntry, bool, error) {
		claimed, res.clean, res.until = false, false, time.Time{}
		if cur != nil {
			res.periodEnd = cur.PeriodEnd
		}
		switch {
		case cur == nil || !cur.dirty():
			res.clean = true
		case cur.Failure != nil && cur.Failure.Total.Equal(cur.Total) && now.Before(cur.Failure.At.Add(f.cfg.FailureRetry)):
			res.until = cur.Failure.At.Add(f.cfg.FailureRetry)
		case cur.Claim != nil && cur.Claim.By != f.id && now.Before(cur.Claim.Until):
			// another flusher writes it; look again next round
		default:
			cur.Claim, claimed = &usageClaim{By: f.id, Until: until}, true
		}
		return cur, claimed, nil
	})
	res.rev = rev
	if err != nil || !claimed {
		res.err = err
		return res
	}

	// Detached from ctx: once claimed, the entry is finished and released even when the process is stopping.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.cfg.EntryTimeout)
	defer cancel()
	wctx = zuoraapi.WithFence(zuoraapi.WithEventID(wctx, "usage/"+key), func() error {
		if f.now().After(until.Add(-f.cfg.ClaimTTL / 4)) {
			return errClaimExpired
		}
		return nil
	})
	w := f.write(wctx, key, e, rev)
	res.writes, res.err = w.writes, w.err
	if ze, ok := zuoraapi.AsError(w.err); ok && ze.RetryAfter > 0 {
		res.pause = ze.RetryAfter
	}
	if w.err != nil {
		lvl := slog.LevelWarn
		if w.refused {
			lvl = slog.LevelError
		}
		f.log.Log(ctx, lvl, "usage flush of an entry failed", "key", key, "subscription", e.SubscriptionID,
			"feature", e.FeatureID, "period", e.PeriodStart, "total", e.Total.String(), "refused", w.refused, "err", w.err)
	}
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer ccancel()
	stored, rev, err := f.store.modify(cctx, key, func(cur *usageEntry) (*usageEntry, bool, error) {
		if cur == nil || cur.Claim == nil || cur.Claim.By != f.id {
			f.log.Warn("usage entry claim ran out before its result was stored; the flusher holding it now decides", "key", key)
			return cur, false, nil
		}
		cur.Claim = nil
		if w.written != nil {
			cur.Written, cur.Failure = w.written, nil
		}
		if w.gone && cur.RecordID == e.RecordID {
			cur.RecordID = ""
		}
		if w.recordID != "" {
			cur.RecordID = w.recordID
		}
		cur.KeyGen = max(cur.KeyGen, w.keyGen)
		if w.refused {
			cur.Failure = &usageFailure{Reason: w.err.Error(), Total: e.Total, At: now}
		}
		return cur, true, nil
	})
	if err != nil {
		res.err = errors.Join(res.err, err)
		return res
	}
	res.rev = rev
	if res.err == nil && stored != nil && !stored.dirty() {
		res.clean = true
	}
	if w.refused {
		res.until = now.Add(f.cfg.FailureRetry)
	}
	return res
}

// flushWrite is what the Zuora side of one entry's flush did.
type flushWrite struct {
	written  *zuoraapi.Amount // what Zuora's records of the entry now account for; nil: unknown
	recordID string
	writes   int
	keyGen   int  // the create's key generation: moved on past every key that holds a refusal or a stale record
	gone     bool // the record written last no longer exists
	refused  bool // Zuora refused: wait for a change or FailureRetry
	err      error
}

func (w *flushWrite) fail(err error, doing string) flushWrite {
	w.err = fmt.Errorf("%s: %w", doing, err)
	if c, _ := dispatch.Classify(err); c == dispatch.ClassPermanent {
		// Zuora stores a refusal under the idempotency key too: the next create needs another.
		w.refused = true
		w.keyGen++
	}
	return *w
}

// usageDescription marks the records of an entry (ASCII only, so Zuora returns it byte for byte). Deployed
// records are found by it: it must never change.
func usageDescription(key, periodStart string) string {
	sum := sha256.Sum256([]byte(key))
	return "Stigg usage of the period from " + periodStart + " (zs-" + hex.EncodeToString(sum[:10]) + ")"
}

// write brings Zuora to the entry's total: what processed records of the entry billed is settled, the rest goes
// to its one pending record. rev (the claimed revision) names the patch, so a later patch to another quantity
// gets its own idempotency key.
func (f *UsageFlusher) write(ctx context.Context, key string, e *usageEntry, rev uint64) flushWrite {
	w := flushWrite{keyGen: e.KeyGen}
	desc := usageDescription(key, e.PeriodStart)
	for attempt := 0; ; attempt++ {
		recs, err := f.zuora.ListUsageRecords(ctx, "subscription_item_id.EQ:"+e.Target.ItemID,
			"start_time.GE:"+e.PeriodStart+"T00:00:00Z")
		if err != nil {
			return w.fail(err, "list usage records of item "+e.Target.ItemID)
		}
		ours := slices.DeleteFunc(recs, func(r zuoraapi.UsageRecord) bool { return r.Description != desc })
		if e.RecordID != "" && !slices.ContainsFunc(ours, func(r zuoraapi.UsageRecord) bool { return r.ID == e.RecordID }) {
			// Zuora's search can lag behind its writes: read the record written last by its id.
			r, err := f.zuora.GetUsageRecord(ctx, e.RecordID)
			switch {
			case zuoraapi.IsNotFound(err):
				// Deleted in Zuora: a create under the old key would replay it.
				w.keyGen, w.gone = e.KeyGen+1, true
			case err != nil:
				return w.fail(err, "read usage record "+e.RecordID)
			case r.Description == desc:
				ours = append(ours, *r)
			}
		}
		var settled zuoraapi.Amount
		var pending []zuoraapi.UsageRecord
		for _, r := range ours {
			if r.Pending() {
				pending = append(pending, r)
			} else {
				settled = settled.Add(r.Quantity)
			}
		}
		want, over := amountSub(e.Total, settled)
		if over && !settled.IsZero() {
			f.log.Warn("Zuora processed more usage than the total counted; processed usage cannot be reduced",
				"key", key, "total", e.Total.String(), "processed", settled.String())
		}
		done := func(got zuoraapi.Amount) flushWrite {
			written := settled.Add(got)
			if over && got.IsZero() {
				written = e.Total // nothing more can be done
			}
			w.written = &written
			return w
		}
		// More than one pending record (a create repeated after Zuora forgot its key): keep the latest.
		slices.SortFunc(pending, func(a, b zuoraapi.UsageRecord) int {
			return cmp.Or(cmp.Compare(b.StartTime, a.StartTime), cmp.Compare(b.CreatedTime, a.CreatedTime))
		})
		for _, extra := range pending[min(1, len(pending)):] {
			w.writes++
			if err := f.zuora.DeleteUsageRecord(ctx, extra.ID); err != nil && !zuoraapi.IsNotFound(err) {
				return w.fail(err, "delete duplicate usage record "+extra.ID)
			}
		}
		if len(pending) > 0 {
			p := pending[0]
			w.recordID = p.ID
			if p.Quantity.Equal(want) {
				return done(p.Quantity)
			}
			w.writes++
			r, err := f.zuora.UpdateUsageRecord(ctx, "usage.patch/"+p.ID+"/"+strconv.FormatUint(rev, 10), p.ID,
				&zuoraapi.UsageRecordPatch{Quantity: &want})
			if ze, ok := zuoraapi.AsError(err); ok && ze.Refused() && attempt == 0 {
				continue // most likely processed since the list: look again
			}
			if err != nil {
				return w.fail(err, "update usage record "+p.ID)
			}
			return done(r.Quantity)
		}
		if want.IsZero() {
			return done(want)
		}
		start, err := f.openPeriodStart(ctx, e)
		if err != nil {
			return w.fail(err, "find the open period of item "+e.Target.ItemID)
		}
		w.writes++
		r, err := f.zuora.CreateUsageRecord(ctx, fmt.Sprintf("usage.create/%s/%d", start, w.keyGen), &zuoraapi.UsageRecordCreateRequest{
			AccountID: e.Target.AccountID, SubscriptionNumber: e.Target.SubscriptionNumber, SubscriptionItemID: e.Target.ItemID,
			Quantity: want, StartTime: start + "T00:00:00Z", UnitOfMeasure: e.Target.UOM, Description: desc})
		if err != nil {
			return w.fail(err, "create usage record")
		}
		if slices.ContainsFunc(ours, func(o zuoraapi.UsageRecord) bool { return o.ID == r.ID }) {
			// Zuora replayed the create of a record it has processed since: next round creates under a new key.
			w.keyGen++
			return w
		}
		w.recordID = r.ID
		return done(r.Quantity)
	}
}

// openPeriodStart is where the entry's next record starts: its own period, or, once Zuora has processed that,
// the item's open period (from its charged-through date), since a processed period is never written again.
func (f *UsageFlusher) openPeriodStart(ctx context.Context, e *usageEntry) (string, error) {
	sub, err := f.zuora.GetSubscription(ctx, e.Target.SubscriptionNumber, "subscription_plans", "subscription_plans.subscription_items")
	if err != nil {
		return "", err
	}
	for _, it := range sub.Items() {
		if it.ID == e.Target.ItemID {
			return max(e.PeriodStart, cmp.Or(it.ChargedThroughDate, it.ProcessedThroughDate, it.StartDate)), nil
		}
	}
	return "", dispatch.Permanent(fmt.Errorf("the Zuora subscription %s no longer has item %s", e.Target.SubscriptionNumber, e.Target.ItemID))
}

// amountSub is a − b, and whether b exceeded a (the result is then 0: Zuora takes no negative quantity).
func amountSub(a, b zuoraapi.Amount) (zuoraapi.Amount, bool) {
	d := new(big.Rat).Sub(a.Rat(), b.Rat())
	if d.Sign() < 0 {
		return zuoraapi.Amount{}, true
	}
	out, _ := zuoraapi.AmountFromRat(d) // a difference of finite decimals is finite
	return out, false
}
