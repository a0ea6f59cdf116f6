package topology

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// KV bucket names. BucketIDs is part of the external contract; the others are the runtime's own.
const (
	BucketIDs = "zuorasync-ids"
	// BucketParked holds, per entity, the queue of events parked while a dependency is missing.
	BucketParked = "zuorasync-parked"
	// BucketIdem holds the idempotency-key generation of events whose Zuora write was refused.
	BucketIdem = "zuorasync-idem"
	// BucketApplied holds, per entity, the origin of the last event applied: the ordering guard.
	BucketApplied = "zuorasync-applied"
	// BucketUsage holds, per subscription, feature and billing period, the usage events counted, their total
	// and what Zuora was given.
	BucketUsage = "zuorasync-usage"
	// BucketCallouts holds the ids of the Zuora callouts the bridge has delivered to the ZUORA stream, so a retry
	// of one (Zuora retries at least 30 min apart, past the stream's duplicate window) is answered without being
	// published again. The bridge alone provisions and uses it.
	BucketCallouts = "zuorasync-callouts"
	// BucketReconcile holds the progress of the consumer's periodic jobs (the recovery of missed callouts), so
	// it survives restarts and two instances do not run one round at once.
	BucketReconcile = "zuorasync-reconcile"
	// BucketInstances holds one key per live consumer instance, refreshed by a heartbeat (ratelimit.Join): the
	// instances divide the Zuora tenant's budget by their number.
	BucketInstances = "zuorasync-instances"
	// InstancesTTL drops what a crashed instance left (the registry itself stops counting a key after three
	// missed heartbeats).
	InstancesTTL = time.Minute
	// CalloutsTTL is how long a delivered callout is remembered: longer than Zuora's whole retry schedule (at
	// most 5 attempts, at most 24 h apart) and a resend an operator asks for in the days after.
	CalloutsTTL = 7 * 24 * time.Hour
)

// Buckets are the KV buckets the consumer process uses.
type Buckets struct {
	IDs, Parked, Idem, Applied, Usage, Reconcile, Instances jetstream.KeyValue
}

func (t Topology) bucketConfigs() []jetstream.KeyValueConfig {
	return []jetstream.KeyValueConfig{
		{Bucket: BucketIDs, Description: "zuora-sync: Stigg id <-> Zuora id mapping", History: 5},
		{Bucket: BucketParked, Description: "zuora-sync: per-entity queues of events parked while a dependency is missing"},
		// Longer than Zuora keeps an idempotency key (24 h).
		{Bucket: BucketIdem, Description: "zuora-sync: idempotency-key generation of events whose Zuora write was refused", TTL: 48 * time.Hour},
		{Bucket: BucketApplied, Description: "zuora-sync: origin (stream, epoch, sequence) of the last event applied per entity"},
		// No TTL: the events kept are what dedupes a replay, however late.
		{Bucket: BucketUsage, Description: "zuora-sync: usage counted per subscription, feature and billing period, and what Zuora was given"},
		{Bucket: BucketReconcile, Description: "zuora-sync: progress of periodic reconciliation (missed Zuora callouts)"},
		{Bucket: BucketInstances, Description: "zuora-sync: live consumer instances sharing the Zuora tenant's budget", TTL: InstancesTTL},
	}
}

// EnsureBuckets creates the KV buckets (or binds existing ones) and makes every read of them go to the stream
// leader: the buckets decide order and dedupe (is an event parked? was it applied? does a mapping exist before a
// create?), and a direct get served by a lagging follower could miss a write made milliseconds earlier.
func EnsureBuckets(ctx context.Context, js jetstream.JetStream, t Topology) (*Buckets, error) {
	var kvs []jetstream.KeyValue
	for _, cfg := range t.bucketConfigs() {
		cfg.Storage, cfg.Replicas = jetstream.FileStorage, t.replicas()
		kv, err := ensureBucket(ctx, js, cfg)
		if err != nil {
			return nil, err
		}
		kvs = append(kvs, kv)
	}
	return &Buckets{IDs: kvs[0], Parked: kvs[1], Idem: kvs[2], Applied: kvs[3], Usage: kvs[4], Reconcile: kvs[5], Instances: kvs[6]}, nil
}

// EnsureCalloutsBucket creates (or binds) the bridge's record of delivered callouts, with leader reads like the
// other buckets: whether a callout was delivered decides whether it is published again.
func EnsureCalloutsBucket(ctx context.Context, js jetstream.JetStream, t Topology) (jetstream.KeyValue, error) {
	return ensureBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket:      BucketCallouts,
		Description: "zuora-sync: ids of the Zuora callouts the bridge has published to " + StreamZuora,
		TTL:         CalloutsTTL,
		Storage:     jetstream.FileStorage,
		Replicas:    t.replicas(),
	})
}

func ensureBucket(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	if _, err := js.KeyValue(ctx, cfg.Bucket); errors.Is(err, jetstream.ErrBucketNotFound) {
		if _, err := js.CreateKeyValue(ctx, cfg); err != nil && !errors.Is(err, jetstream.ErrBucketExists) {
			return nil, fmt.Errorf("create KV bucket %s: %w", cfg.Bucket, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("look up KV bucket %s: %w", cfg.Bucket, err)
	}
	s, err := js.Stream(ctx, "KV_"+cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("KV bucket %s: %w", cfg.Bucket, err)
	}
	if sc := s.CachedInfo().Config; sc.AllowDirect || sc.Replicas < cfg.Replicas {
		// Leader reads, and the replicas raised to the topology's (never lowered).
		sc.AllowDirect, sc.Replicas = false, max(sc.Replicas, cfg.Replicas)
		if _, err := js.UpdateStream(ctx, sc); err != nil {
			return nil, fmt.Errorf("KV bucket %s: route reads to the leader with %d replicas: %w", cfg.Bucket, sc.Replicas, err)
		}
	}
	// Bound after the update: the client decides between direct and leader reads when it binds.
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("bind KV bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}

// MaxKVKeyToken bounds one encoded id in a KV key. Keys become subjects ($KV.<bucket>.<key>) on the wire, and a
// subject longer than the server's control line (4 KB by default) makes the server close the connection.
const MaxKVKeyToken = 200

// KVKey makes an id safe as one KV key token: letters, digits, '-' and '_' stay as they are, every other byte
// becomes =XX, so ordinary ids stay readable in `nats kv ls`. An id whose encoding is longer than MaxKVKeyToken
// becomes "=H" followed by the hex SHA-256 of the id (no encoding of a short id starts that way, since =XX
// always has hex digits). Deployed keys depend on this: it must never change.
func KVKey(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "=%02X", c)
		}
		if b.Len() > MaxKVKeyToken {
			sum := sha256.Sum256([]byte(id))
			return "=H" + hex.EncodeToString(sum[:])
		}
	}
	if b.Len() == 0 {
		return "=" // an empty id still needs a non-empty token
	}
	return b.String()
}
