package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/consumer"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/topology"
)

// partitionRow is one durable consumer of the overview.
type partitionRow struct {
	Stream, Consumer        string
	Pending, AckPending     uint64
	Redelivered             int
	OldestAge               string // age of the oldest event not yet acknowledged; "" when none
	oldestSeq               uint64 // the first unacknowledged stream sequence
	filter                  string
	LastActive, Description string
}

// partitions lists every zuora-sync consumer of the input streams and the retry stream, one consumer listing per
// stream, plus one read per consumer that has something pending (the age of its oldest event).
func (c *Console) partitions(ctx context.Context) ([]partitionRow, error) {
	var rows []partitionRow
	streams := []string{topology.StreamStigg, topology.StreamZuora, topology.StreamRetry}
	for _, name := range streams {
		s, err := c.cfg.JS.Stream(ctx, name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("console: stream %s: %w", name, err)
		}
		list := s.ListConsumers(ctx)
		var infos []*jetstream.ConsumerInfo
		for info := range list.Info() {
			if strings.HasPrefix(info.Name, "zuorasync-") {
				infos = append(infos, info)
			}
		}
		if err := list.Err(); err != nil {
			return nil, fmt.Errorf("console: consumers of %s: %w", name, err)
		}
		for _, info := range infos {
			row := partitionRow{Stream: name, Consumer: info.Name, Pending: info.NumPending,
				AckPending: uint64(info.NumAckPending), Redelivered: info.NumRedelivered,
				oldestSeq: info.AckFloor.Stream + 1, filter: info.Config.FilterSubject}
			if info.Delivered.Last != nil {
				row.LastActive = ago(*info.Delivered.Last)
			}
			if row.Pending+row.AckPending > 0 {
				opts := []jetstream.GetMsgOpt{}
				if row.filter != "" {
					opts = append(opts, jetstream.WithGetMsgSubject(row.filter))
				} else if len(info.Config.FilterSubjects) > 0 {
					opts = append(opts, jetstream.WithGetMsgSubject(info.Config.FilterSubjects[0]))
				}
				if m, err := s.GetMsg(ctx, row.oldestSeq, opts...); err == nil {
					row.OldestAge = ago(m.Time)
				}
			}
			rows = append(rows, row)
		}
	}
	slices.SortStableFunc(rows, func(a, b partitionRow) int {
		if a.Stream != b.Stream {
			return compareStrings(a.Stream, b.Stream)
		}
		return compareConsumers(a.Consumer, b.Consumer)
	})
	return rows, nil
}

// compareConsumers orders zuorasync-stigg-p2 before zuorasync-stigg-p10.
func compareConsumers(a, b string) int {
	if len(a) != len(b) && strings.TrimRight(a, "0123456789") == strings.TrimRight(b, "0123456789") {
		return len(a) - len(b)
	}
	return compareStrings(a, b)
}

func ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := time.Since(t)
	switch {
	case d < time.Second:
		return "now"
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// dlqSummary counts the newest entries by class and reason.
type dlqSummary struct {
	Total   uint64
	Sampled int  // entries counted (the newest ones)
	Partial bool // the DLQ holds more than were counted
	Rows    []summaryRow
}

type summaryRow struct {
	Class, Reason string
	Count         int
}

const summarySample = 500

func (c *Console) dlqSummary(ctx context.Context) (dlqSummary, error) {
	var sum dlqSummary
	s, err := c.cfg.JS.Stream(ctx, topology.StreamDLQ)
	if err != nil {
		return sum, fmt.Errorf("console: %w", err)
	}
	state := s.CachedInfo().State
	sum.Total = state.Msgs
	if state.Msgs == 0 {
		return sum, nil
	}
	after := uint64(0)
	if state.LastSeq > summarySample {
		after = state.LastSeq - summarySample
	}
	page, err := consumer.PageDLQ(ctx, c.cfg.JS, consumer.DLQFilter{}, after, summarySample)
	if err != nil {
		return sum, err
	}
	counts := map[summaryRow]int{}
	for _, dl := range page.Entries {
		counts[summaryRow{Class: dl.Class, Reason: reasonGroup(dl.Reason)}]++
	}
	sum.Sampled = len(page.Entries)
	sum.Partial = uint64(sum.Sampled) < sum.Total
	for r, n := range counts {
		r.Count = n
		sum.Rows = append(sum.Rows, r)
	}
	slices.SortFunc(sum.Rows, func(a, b summaryRow) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return compareStrings(a.Class+a.Reason, b.Class+b.Reason)
	})
	return sum, nil
}

// reasonGroup shortens a reason to what entries of one cause share: its first clause, without ids after it.
func reasonGroup(reason string) string {
	r := reason
	if i := strings.Index(r, ": "); i > 0 && i < 80 {
		// "gave up after 20 attempts: zuora POST …" → keep two clauses, enough to tell causes apart.
		if j := strings.Index(r[i+2:], ": "); j > 0 {
			r = r[:i+2+j]
		}
	}
	if len(r) > 100 {
		r = r[:100] + "…"
	}
	return r
}

// parkedRow is one entity waiting for a dependency.
type parkedRow struct {
	Entity string
	Events []parkedEvent
	Since  time.Time
}

type parkedEvent struct {
	ID, Reason, NextTry string
	Deferrals           string
}

const maxParkedKeys = 500

// parked reads the parked queues (at most maxParkedKeys) and, from the retry stream, what their events wait for.
func (c *Console) parkedQueues(ctx context.Context) ([]parkedRow, bool, error) {
	kv, err := c.cfg.JS.KeyValue(ctx, topology.BucketParked)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("console: %w", err)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("console: list parked queues: %w", err)
	}
	var rows []parkedRow
	truncated := false
	for k := range keys.Keys() {
		if len(rows) == maxParkedKeys {
			truncated = true
			break
		}
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue // released meanwhile
		}
		var ids []string
		if json.Unmarshal(e.Value(), &ids) != nil || len(ids) == 0 {
			continue
		}
		row := parkedRow{Entity: k, Since: e.Created()}
		for _, id := range ids {
			row.Events = append(row.Events, parkedEvent{ID: id})
		}
		rows = append(rows, row)
	}
	_ = keys.Stop()
	c.waitingFor(ctx, rows)
	slices.SortFunc(rows, func(a, b parkedRow) int { return a.Since.Compare(b.Since) })
	return rows, truncated, nil
}

// waitingFor adds, from the parked copies in the retry stream (at most maxParkedKeys*4 read), each event's reason,
// deferral count and next try.
func (c *Console) waitingFor(ctx context.Context, rows []parkedRow) {
	if len(rows) == 0 {
		return
	}
	byID := map[string]*parkedEvent{}
	for i := range rows {
		for j := range rows[i].Events {
			byID[rows[i].Events[j].ID] = &rows[i].Events[j]
		}
	}
	msgs, err := readFiltered(ctx, c.cfg.JS, topology.StreamRetry, topology.PrefixRetry+".>", 0, maxParkedKeys*4)
	if err != nil {
		c.log.Warn("parked copies not read", "err", err)
		return
	}
	for _, m := range msgs {
		ev := byID[m.Header.Get("ce-id")]
		if ev == nil {
			if e, err := events.FromMsg(m.Header, m.Data); err == nil {
				ev = byID[e.ID()]
			}
		}
		if ev == nil {
			continue
		}
		ev.Reason = m.Header.Get(consumer.HeaderDeferReason)
		ev.Deferrals = m.Header.Get(consumer.HeaderDeferrals)
		if nb, err := time.Parse(time.RFC3339Nano, m.Header.Get(consumer.HeaderNotBefore)); err == nil {
			ev.NextTry = nb.UTC().Format(time.RFC3339)
		}
	}
}

// reconcileStatus is the callout reconciliation's progress (KV zuorasync-reconcile, key callouts).
type reconcileStatus struct {
	Enabled  bool
	LastRun  string
	Running  string
	Resent   int
	ReadErr  string
	Interval string
}

func (c *Console) reconcile(ctx context.Context) reconcileStatus {
	st := reconcileStatus{Enabled: c.cfg.Reconcile}
	if !st.Enabled {
		return st
	}
	kv, err := c.cfg.JS.KeyValue(ctx, topology.BucketReconcile)
	if err != nil {
		st.ReadErr = err.Error()
		return st
	}
	e, err := kv.Get(ctx, "callouts")
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		st.LastRun = "never"
		return st
	}
	if err != nil {
		st.ReadErr = err.Error()
		return st
	}
	var prog struct {
		LastRun time.Time `json:"lastRun"`
		Claim   *struct {
			Holder string    `json:"holder"`
			Until  time.Time `json:"until"`
		} `json:"claim"`
		Resent map[string]json.RawMessage `json:"resent"`
	}
	if err := json.Unmarshal(e.Value(), &prog); err != nil {
		st.ReadErr = "unreadable progress record"
		return st
	}
	st.LastRun = "never"
	if !prog.LastRun.IsZero() {
		st.LastRun = prog.LastRun.UTC().Format(time.RFC3339) + " (" + ago(prog.LastRun) + " ago)"
	}
	if prog.Claim != nil && time.Now().Before(prog.Claim.Until) {
		st.Running = "a round is running"
	}
	st.Resent = len(prog.Resent)
	return st
}
