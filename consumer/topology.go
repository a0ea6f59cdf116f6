package consumer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream and bucket names are part of the external contract (docs/CONTRACT.md).
const (
	StreamStigg    = "STIGG"
	StreamZuora    = "ZUORA"
	StreamOutcomes = "ZUORASYNC_OUT"
	StreamDLQ      = "ZUORASYNC_DLQ"

	BucketIDs = "zuorasync-ids"
)

// Topology describes what the service provisions in JetStream.
type Topology struct {
	// Partitions is the number of ordering partitions per input stream. It is fixed for the life of a stream:
	// changing it would let two partitions hold events of one key at once (see docs/ARCHITECTURE.md).
	Partitions int
	// MaxAge bounds how far back a replay can go.
	MaxAge time.Duration
	// DuplicateWindow is the Nats-Msg-Id dedupe window; the contract asks for at least two minutes.
	DuplicateWindow time.Duration
	// AckWait is how long the server waits for an ack before redelivering; handlers extend it with InProgress.
	AckWait time.Duration
	// Replicas for clustered deployments; 1 for a single server.
	Replicas int
}

// DefaultTopology is what the binaries use unless told otherwise.
func DefaultTopology() Topology {
	return Topology{
		Partitions:      16,
		MaxAge:          30 * 24 * time.Hour,
		DuplicateWindow: 5 * time.Minute,
		AckWait:         30 * time.Second,
		Replicas:        1,
	}
}

func (t Topology) validate() error {
	if t.Partitions < 1 || t.Partitions > 1024 {
		return fmt.Errorf("topology: partitions must be 1..1024, got %d", t.Partitions)
	}
	if t.DuplicateWindow < 2*time.Minute {
		return fmt.Errorf("topology: duplicate window must be at least 2m, got %s", t.DuplicateWindow)
	}
	if t.AckWait < time.Second {
		return fmt.Errorf("topology: ack wait must be at least 1s, got %s", t.AckWait)
	}
	return nil
}

// inputStream is an input stream whose events are handled in per-key order.
type inputStream struct {
	name   string
	prefix string // first subject token: "stigg" or "zuora"
}

var inputStreams = []inputStream{{StreamStigg, "stigg"}, {StreamZuora, "zuora"}}

// partitionTransform appends the partition of the key token (the 4th) to keyed subjects:
// stigg.customer.created.cust-1 is stored as stigg.customer.created.cust-1.<p>.
func (t Topology) partitionTransform(prefix string) *jetstream.SubjectTransformConfig {
	return &jetstream.SubjectTransformConfig{
		Source:      prefix + ".*.*.*",
		Destination: fmt.Sprintf("%s.{{wildcard(1)}}.{{wildcard(2)}}.{{wildcard(3)}}.{{partition(%d,3)}}", prefix, t.Partitions),
	}
}

func (t Topology) streamConfig(name, subject string, transform *jetstream.SubjectTransformConfig, desc string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:             name,
		Description:      desc,
		Subjects:         []string{subject},
		Retention:        jetstream.LimitsPolicy,
		Storage:          jetstream.FileStorage,
		MaxAge:           t.MaxAge,
		Duplicates:       t.DuplicateWindow,
		Replicas:         max(t.Replicas, 1),
		SubjectTransform: transform,
	}
}

// EnsureStreams creates or updates every stream of the contract. It is safe to run from many processes at once.
// It refuses to change the partition count of an existing input stream.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, t Topology) error {
	if err := t.validate(); err != nil {
		return err
	}
	for _, in := range inputStreams {
		cfg := t.streamConfig(in.name, in.prefix+".>", t.partitionTransform(in.prefix),
			"zuora-sync input: "+in.prefix+" events, partitioned by ordering key")
		if err := ensureStream(ctx, js, cfg); err != nil {
			return err
		}
	}
	if err := ensureStream(ctx, js, t.streamConfig(StreamOutcomes, "zuorasync.out.>", nil,
		"zuora-sync outcomes: what was done in Zuora")); err != nil {
		return err
	}
	if err := ensureStream(ctx, js, t.streamConfig(StreamRetry, "zuorasync.retry.>", nil,
		"zuora-sync parked events waiting for a dependency (internal)")); err != nil {
		return err
	}
	return ensureStream(ctx, js, t.streamConfig(StreamDLQ, "zuorasync.dlq.>", nil,
		"zuora-sync dead letters: events that could not be handled, with the reason"))
}

// EnsureStream provisions a single stream of the contract by name (the bridge only needs ZUORA).
func EnsureStream(ctx context.Context, js jetstream.JetStream, t Topology, name string) error {
	if err := t.validate(); err != nil {
		return err
	}
	for _, in := range inputStreams {
		if in.name == name {
			return ensureStream(ctx, js, t.streamConfig(in.name, in.prefix+".>", t.partitionTransform(in.prefix),
				"zuora-sync input: "+in.prefix+" events, partitioned by ordering key"))
		}
	}
	return fmt.Errorf("topology: unknown input stream %q", name)
}

func ensureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) error {
	existing, err := js.Stream(ctx, cfg.Name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		if _, err := js.CreateStream(ctx, cfg); err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("create stream %s: %w", cfg.Name, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("look up stream %s: %w", cfg.Name, err)
	}
	have := existing.CachedInfo().Config
	if cfg.SubjectTransform != nil && have.SubjectTransform != nil && *have.SubjectTransform != *cfg.SubjectTransform {
		return fmt.Errorf("stream %s is partitioned as %q but this process wants %q: the partition count of a live "+
			"stream cannot change without draining it first (docs/OPERATIONS.md)", cfg.Name,
			have.SubjectTransform.Destination, cfg.SubjectTransform.Destination)
	}
	// Keep operator-tuned limits that the contract does not fix; enforce the rest.
	cfg.MaxAge = max(cfg.MaxAge, have.MaxAge)
	cfg.Replicas = max(cfg.Replicas, have.Replicas)
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("update stream %s: %w", cfg.Name, err)
	}
	return nil
}

// EnsureBuckets creates the KV buckets of the contract.
func EnsureBuckets(ctx context.Context, js jetstream.JetStream, t Topology) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      BucketIDs,
		Description: "zuora-sync: Stigg id <-> Zuora id mapping",
		History:     5,
		Storage:     jetstream.FileStorage,
		Replicas:    max(t.Replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("create KV bucket %s: %w", BucketIDs, err)
	}
	return kv, nil
}

// ensureParkedBucket creates the bucket of parked-event queues (defer.go).
func ensureParkedBucket(ctx context.Context, js jetstream.JetStream, t Topology) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      BucketParked,
		Description: "zuora-sync: per-entity queues of events parked while a dependency is missing",
		Storage:     jetstream.FileStorage,
		Replicas:    max(t.Replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("create KV bucket %s: %w", BucketParked, err)
	}
	return kv, nil
}

func (t Topology) retryConsumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       retryConsumer,
		Description:   "zuora-sync: puts parked events back on their input subjects when due",
		FilterSubject: "zuorasync.retry.>",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       t.AckWait,
		MaxDeliver:    -1,
		// Parked events wait (Nak'ed with a delay) side by side; none holds up another.
		MaxAckPending: 10000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		Replicas:      max(t.Replicas, 1),
	}
}

// partitionConsumerName names the durable consumer that owns one partition of an input stream.
func partitionConsumerName(stream string, p int) string {
	return fmt.Sprintf("zuorasync-%s-p%d", strings.ToLower(stream), p)
}

// rekeyConsumerName names the consumer that moves unkeyed events (prefix.entity.action) onto keyed subjects.
func rekeyConsumerName(stream string) string {
	return fmt.Sprintf("zuorasync-%s-rekey", strings.ToLower(stream))
}

func (t Topology) partitionConsumerConfig(in inputStream, p int) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       partitionConsumerName(in.name, p),
		Description:   fmt.Sprintf("zuora-sync: partition %d of %s, one event at a time", p, in.name),
		FilterSubject: fmt.Sprintf("%s.*.*.*.%d", in.prefix, p),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       t.AckWait,
		// The runtime decides when an event is dead-lettered; the server never drops one by itself.
		MaxDeliver: -1,
		// One outstanding event per partition, cluster-wide: this is what keeps per-key order.
		MaxAckPending: 1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		Replicas:      max(t.Replicas, 1),
	}
}

func (t Topology) rekeyConsumerConfig(in inputStream) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       rekeyConsumerName(in.name),
		Description:   fmt.Sprintf("zuora-sync: moves unkeyed %s events onto keyed subjects by their partitionkey", in.name),
		FilterSubject: in.prefix + ".*.*",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       t.AckWait,
		MaxDeliver:    -1,
		// Unkeyed events keep their relative order when they are moved.
		MaxAckPending: 1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		Replicas:      max(t.Replicas, 1),
	}
}

// ensureConsumer creates a durable consumer, or updates the mutable fields of an existing one without touching its
// start position (a replay may have moved it).
func ensureConsumer(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	c, err := js.Consumer(ctx, stream, cfg.Durable)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		c, err = js.CreateConsumer(ctx, stream, cfg)
		if errors.Is(err, jetstream.ErrConsumerExists) {
			return js.Consumer(ctx, stream, cfg.Durable)
		}
		if err != nil {
			return nil, fmt.Errorf("create consumer %s on %s: %w", cfg.Durable, stream, err)
		}
		return c, nil
	case err != nil:
		return nil, fmt.Errorf("look up consumer %s on %s: %w", cfg.Durable, stream, err)
	}
	have := c.CachedInfo().Config
	cfg.DeliverPolicy, cfg.OptStartSeq, cfg.OptStartTime = have.DeliverPolicy, have.OptStartSeq, have.OptStartTime
	if have.AckWait == cfg.AckWait && have.MaxAckPending == cfg.MaxAckPending && have.MaxDeliver == cfg.MaxDeliver &&
		have.FilterSubject == cfg.FilterSubject {
		return c, nil
	}
	c, err = js.UpdateConsumer(ctx, stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("update consumer %s on %s: %w", cfg.Durable, stream, err)
	}
	return c, nil
}
