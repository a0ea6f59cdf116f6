package handlers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// Recovery of missed callouts. Zuora retries a callout only a few times (3 by default, at least 30 min apart) and
// then gives up; a bridge outage longer than that would lose Zuora's notifications. Every interval
// (ZUORASYNC_RECONCILE_INTERVAL, default 15 min) the reconciler reads Zuora's callout history (failed deliveries
// of the last 24 hours, or since the last round when that is longer ago), keeps the deliveries of zuora-sync's own
// notifications whose attempts are used up, and asks Zuora to resend them. A resend goes to the bridge under the
// notification's Zuora-Notification-Id, so a notification that did arrive after all (its 200 was lost) is
// recognised there and not stored twice: the bridge's record is what dedupes, the reconciler needs no copy of it.
//
// Its progress — when it last ran, which deliveries it had resent and at how many attempts — is one KV entry
// (bucket zuorasync-reconcile), written with compare-and-set: it survives restarts, and of two instances only the
// one that claims a round runs it.

// CalloutReconcileConfig configures the reconciler; zero values take the defaults.
type CalloutReconcileConfig struct {
	// Interval between rounds (ZUORASYNC_RECONCILE_INTERVAL); default 15 min.
	Interval time.Duration
	// MaxAttempts is Zuora's "Maximum Number of Delivery Attempts" (tenant setting; default 3): a delivery with
	// fewer failed attempts is still Zuora's to retry.
	MaxAttempts int
	// MaxResends bounds how often one delivery is resent; default 3. After that it is logged as lost.
	MaxResends int
}

func (c CalloutReconcileConfig) withDefaults() CalloutReconcileConfig {
	c.Interval = cmp.Or(c.Interval, 15*time.Minute)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, 3)
	c.MaxResends = cmp.Or(c.MaxResends, 3)
	return c
}

// reconcileKey is the progress entry's key.
const reconcileKey = "callouts"

// calloutProgress is the stored progress.
type calloutProgress struct {
	LastRun time.Time `json:"lastRun"`
	// Claim is the instance running a round, until when.
	Claim *usageClaim `json:"claim,omitempty"`
	// Resent is, per history id, the attempts it had when last resent and how often it was; entries older than
	// two days are dropped (Zuora's history window is one day).
	Resent map[string]resentDelivery `json:"resent,omitempty"`
}

type resentDelivery struct {
	Attempts int       `json:"attempts"`
	Times    int       `json:"times"`
	At       time.Time `json:"at"`
}

// CalloutReconciler recovers callouts Zuora gave up on.
type CalloutReconciler struct {
	zuora *zuoraapi.Client
	kv    jetstream.KeyValue
	cfg   CalloutReconcileConfig
	log   *slog.Logger
	id    string
	now   func() time.Time
}

// NewCalloutReconciler builds the reconciler over Deps.Zuora and the progress bucket.
func NewCalloutReconciler(d Deps, progress jetstream.KeyValue, cfg CalloutReconcileConfig) *CalloutReconciler {
	d = d.withDefaults()
	host, _ := os.Hostname()
	return &CalloutReconciler{zuora: d.Zuora, kv: progress, cfg: cfg.withDefaults(), now: time.Now,
		log: d.Logger.With("component", "callout-reconcile"), id: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), uuid.NewString()[:8])}
}

// Run reconciles at once and then every interval until ctx ends; it returns nil then. A failed round is logged
// and the next one tries again.
func (r *CalloutReconciler) Run(ctx context.Context) error {
	runRounds(ctx, r.cfg.Interval, func(ctx context.Context) error { _, err := r.Reconcile(ctx); return err },
		func(err error) {
			r.log.Warn("missed-callout reconciliation failed; the next round tries again", "err", err)
		})
	return nil
}

// CalloutReconcileStats is what one round did.
type CalloutReconcileStats struct {
	Failed, Ours, Resent, GaveUp int
	Skipped                      bool // another instance holds the round
}

// errRoundTaken: another instance runs this round.
var errRoundTaken = errors.New("another instance is reconciling callouts")

// Reconcile runs one round.
func (r *CalloutReconciler) Reconcile(ctx context.Context) (CalloutReconcileStats, error) {
	var st CalloutReconcileStats
	now := r.now()
	prog, rev, err := r.claim(ctx, now)
	if errors.Is(err, errRoundTaken) {
		st.Skipped = true
		return st, nil
	}
	if err != nil {
		return st, err
	}
	var q zuoraapi.CalloutHistoryQuery
	if !prog.LastRun.IsZero() && now.Sub(prog.LastRun) > 23*time.Hour {
		// Down for longer than Zuora's default window: look back to the last round (an hour of margin).
		q.StartTime = prog.LastRun.Add(-time.Hour)
	}
	hist, err := r.zuora.ListCalloutHistory(zuoraapi.WithEventID(ctx, "reconcile/"+now.UTC().Format(time.RFC3339)), q)
	if err != nil {
		r.release(ctx, prog, rev, false)
		return st, fmt.Errorf("read Zuora's callout history: %w", err)
	}
	st.Failed = len(hist)
	var ids []string
	for _, h := range hist {
		if !ownNotification(h) || h.ID == "" {
			continue
		}
		st.Ours++
		attempts, _ := strconv.Atoi(h.AttemptedNum)
		prev, resent := prog.Resent[h.ID]
		switch {
		case attempts < r.cfg.MaxAttempts && !resent, resent && attempts < prev.Attempts+r.cfg.MaxAttempts:
			continue // Zuora still retries it (or our resend's round is still running)
		case resent && prev.Times >= r.cfg.MaxResends:
			if prev.Times == r.cfg.MaxResends {
				st.GaveUp++
				r.log.Error("a Zuora callout could not be delivered after every retry and resend: the bridge did not "+
					"take it; find it in Zuora's callout history and resend it once the bridge is healthy",
					"history_id", h.ID, "notification", h.Notification, "notification_id", h.NotificationID,
					"attempts", attempts, "response_code", h.ResponseCode)
				prev.Times++ // logged once
				prog.Resent[h.ID] = prev
			}
			continue
		}
		ids = append(ids, h.ID)
		prog.Resent[h.ID] = resentDelivery{Attempts: attempts, Times: prev.Times + 1, At: now}
	}
	if len(ids) > 0 {
		slices.Sort(ids)
		refused, err := r.zuora.ResendCallouts(zuoraapi.WithEventID(ctx, "reconcile/"+now.UTC().Format(time.RFC3339Nano)),
			"callouts.resend", ids)
		if err != nil {
			r.release(ctx, prog, rev, false)
			return st, fmt.Errorf("ask Zuora to resend %d callouts: %w", len(ids), err)
		}
		for id, why := range refused {
			delete(prog.Resent, id) // tried again next round
			r.log.Warn("Zuora refused to resend a callout", "history_id", id, "code", why.Code, "reason", why.Message)
		}
		st.Resent = len(ids) - len(refused)
		r.log.Info("asked Zuora to resend the callouts it had given up on", "resent", st.Resent, "refused", len(refused))
	}
	for id, d := range prog.Resent {
		if now.Sub(d.At) > 48*time.Hour {
			delete(prog.Resent, id)
		}
	}
	if err := r.release(ctx, prog, rev, true); err != nil {
		return st, err
	}
	return st, nil
}

// ownNotification: a delivery of a notification definition provisioning created.
func ownNotification(h zuoraapi.CalloutHistory) bool {
	return ownedName(h.Notification) || strings.Contains(h.EventCategory, events.CalloutEventPrefix)
}

// claim reads the progress and takes the round (compare-and-set); errRoundTaken when another instance holds it.
func (r *CalloutReconciler) claim(ctx context.Context, now time.Time) (*calloutProgress, uint64, error) {
	if r.kv == nil {
		return nil, 0, errors.New("callout reconciliation: no progress bucket configured")
	}
	prog := &calloutProgress{}
	var rev uint64
	e, err := r.kv.Get(ctx, reconcileKey)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		return nil, 0, fmt.Errorf("read reconcile progress: %w", err)
	default:
		rev = e.Revision()
		if err := json.Unmarshal(e.Value(), prog); err != nil {
			return nil, 0, fmt.Errorf("corrupt reconcile progress: %w", err)
		}
	}
	if prog.Claim != nil && prog.Claim.By != r.id && now.Before(prog.Claim.Until) {
		return nil, 0, errRoundTaken
	}
	prog.Claim = &usageClaim{By: r.id, Until: now.Add(min(r.cfg.Interval, 5*time.Minute))}
	if prog.Resent == nil {
		prog.Resent = map[string]resentDelivery{}
	}
	next, err := r.put(ctx, prog, rev)
	if err != nil {
		return nil, 0, err
	}
	return prog, next, nil
}

// release stores the round's progress and gives the claim up; done says the round completed (LastRun moves).
func (r *CalloutReconciler) release(ctx context.Context, prog *calloutProgress, rev uint64, done bool) error {
	out := *prog
	out.Claim = nil
	out.Resent = maps.Clone(prog.Resent)
	if done {
		out.LastRun = r.now()
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err := r.put(cctx, &out, rev)
	return err
}

func (r *CalloutReconciler) put(ctx context.Context, prog *calloutProgress, rev uint64) (uint64, error) {
	b, err := json.Marshal(prog)
	if err != nil {
		return 0, err
	}
	var next uint64
	if rev == 0 {
		next, err = r.kv.Create(ctx, reconcileKey, b)
	} else {
		next, err = r.kv.Update(ctx, reconcileKey, b, rev)
	}
	var apiErr *jetstream.APIError
	if errors.Is(err, jetstream.ErrKeyExists) || errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return 0, errRoundTaken
	}
	if err != nil {
		return 0, fmt.Errorf("write reconcile progress: %w", err)
	}
	return next, nil
}
