// Package topology is the one place that names and provisions what zuora-sync keeps in JetStream: the contract's
// streams, the internal retry stream, the KV buckets, and the durable consumers of the runtime. The runtime
// (consumer/), the bridge and the operator commands provision through it, so every process agrees on names,
// subject shapes and limits.
package topology

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/internal/envvar"
)

// Stream names. The first four are part of the external contract (docs/CONTRACT.md).
const (
	StreamStigg    = "STIGG"
	StreamZuora    = "ZUORA"
	StreamOutcomes = "ZUORASYNC_OUT"
	StreamDLQ      = "ZUORASYNC_DLQ"
	// StreamRetry holds copies of parked events until they are due (internal).
	StreamRetry = "ZUORASYNC_RETRY"
)

// Subject prefixes of the streams the runtime writes.
const (
	PrefixRetry = "zuorasync.retry"
	PrefixDLQ   = "zuorasync.dlq"
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

// Default is what the binaries use unless told otherwise.
func Default() Topology {
	return Topology{
		Partitions:      16,
		MaxAge:          30 * 24 * time.Hour,
		DuplicateWindow: 5 * time.Minute,
		AckWait:         30 * time.Second,
		Replicas:        1,
	}
}

// Validate reports a topology the server or the runtime cannot work with.
func (t Topology) Validate() error {
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

func (t Topology) replicas() int { return max(t.Replicas, 1) }

// FromEnv is Default with the replica count of ZUORASYNC_REPLICAS (1 to 5; default 1): 3 on a three-node cluster
// makes every stream, KV bucket and durable consumer the processes provision R3. Provisioning raises the
// replicas of what exists and never lowers them. ZUORASYNC_ACK_WAIT (a Go duration ≥ 1s; default 30s) is how long
// the server waits before redelivering an unacknowledged message: after a process is killed, its partitions'
// in-flight events wait that long before another instance takes them.
func FromEnv() (Topology, error) {
	t := Default()
	ackWait, err := envvar.Duration("ZUORASYNC_ACK_WAIT", t.AckWait)
	if err != nil {
		return t, err
	}
	t.AckWait = ackWait
	if err := t.Validate(); err != nil {
		return Default(), fmt.Errorf("ZUORASYNC_ACK_WAIT: %w", err)
	}
	// 5 is JetStream's limit.
	if t.Replicas, err = envvar.Int("ZUORASYNC_REPLICAS", t.Replicas, 1, 5, "replicas"); err != nil {
		return t, err
	}
	return t, nil
}

// Input is an input stream whose events are handled in per-key order.
type Input struct {
	Stream string
	Prefix string // first subject token: "stigg" or "zuora"
}

// Inputs are the input streams, in the order the runtime starts them.
var Inputs = []Input{{StreamStigg, "stigg"}, {StreamZuora, "zuora"}}

// InputFor returns the input stream whose subjects start with prefix.
func InputFor(stream string) (Input, bool) {
	i := slices.IndexFunc(Inputs, func(in Input) bool { return in.Stream == stream })
	if i < 0 {
		return Input{}, false
	}
	return Inputs[i], true
}

// Subjects an input stream accepts: the keyed shape prefix.entity.action.key and the unkeyed prefix.entity.action
// the contract allows for publishers that cannot compute a key. Every other shape under prefix.> is refused at
// publish (the publisher gets "no response from stream"), so nothing is stored that no consumer reads.
func (in Input) subjects() []string { return []string{in.Prefix + ".*.*", in.Prefix + ".*.*.*"} }

// partitionTransform appends the partition of the key token (the 4th) to keyed subjects:
// stigg.customer.created.cust-1 is stored as stigg.customer.created.cust-1.<p>.
func (t Topology) partitionTransform(prefix string) *jetstream.SubjectTransformConfig {
	return &jetstream.SubjectTransformConfig{
		Source:      prefix + ".*.*.*",
		Destination: fmt.Sprintf("%s.{{wildcard(1)}}.{{wildcard(2)}}.{{wildcard(3)}}.{{partition(%d,3)}}", prefix, t.Partitions),
	}
}

// Partition is the partition the stream's transform gives a key token (the encoded key, as it appears in the
// subject). It mirrors the server's partition function (FNV-1a, 32 bit, modulo the count), so the runtime can
// tell a transformed subject from one a publisher wrote with a partition token of its own.
func (t Topology) Partition(keyToken string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(keyToken))
	return int(h.Sum32() % uint32(t.Partitions))
}

func (t Topology) streamConfig(name string, subjects []string, transform *jetstream.SubjectTransformConfig, desc string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:             name,
		Description:      desc,
		Subjects:         subjects,
		Retention:        jetstream.LimitsPolicy,
		Storage:          jetstream.FileStorage,
		MaxAge:           t.MaxAge,
		Duplicates:       t.DuplicateWindow,
		Replicas:         t.replicas(),
		SubjectTransform: transform,
	}
}

func (t Topology) inputStreamConfig(in Input) jetstream.StreamConfig {
	return t.streamConfig(in.Stream, in.subjects(), t.partitionTransform(in.Prefix),
		"zuora-sync input: "+in.Prefix+" events, partitioned by ordering key")
}

// EnsureStreams creates or updates every stream. It is safe to run from many processes at once. It refuses to
// change the partition count of an existing input stream.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, t Topology) error {
	if err := t.Validate(); err != nil {
		return err
	}
	for _, in := range Inputs {
		if err := ensureStream(ctx, js, t.inputStreamConfig(in)); err != nil {
			return err
		}
	}
	others := []jetstream.StreamConfig{
		t.streamConfig(StreamOutcomes, []string{"zuorasync.out.>"}, nil, "zuora-sync outcomes: what was done in Zuora"),
		t.streamConfig(StreamRetry, []string{PrefixRetry + ".>"}, nil, "zuora-sync parked events waiting for a dependency (internal)"),
		t.streamConfig(StreamDLQ, []string{PrefixDLQ + ".>"}, nil, "zuora-sync dead letters: events that could not be handled, with the reason"),
	}
	for _, cfg := range others {
		if err := ensureStream(ctx, js, cfg); err != nil {
			return err
		}
	}
	return nil
}

// EnsureStream provisions a single input stream by name (the bridge only needs ZUORA).
func EnsureStream(ctx context.Context, js jetstream.JetStream, t Topology, name string) error {
	if err := t.Validate(); err != nil {
		return err
	}
	in, ok := InputFor(name)
	if !ok {
		return fmt.Errorf("topology: unknown input stream %q", name)
	}
	return ensureStream(ctx, js, t.inputStreamConfig(in))
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
	if streamUpToDate(have, cfg) {
		// Every instance provisions at start; updating a live stream to the config it already has is not free for
		// the server (it re-applies the config under traffic), so only a real difference is sent.
		return nil
	}
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("update stream %s: %w", cfg.Name, err)
	}
	return nil
}

// streamUpToDate reports whether have already carries every field this process enforces in want.
func streamUpToDate(have, want jetstream.StreamConfig) bool {
	sameTransform := (have.SubjectTransform == nil) == (want.SubjectTransform == nil) &&
		(want.SubjectTransform == nil || *have.SubjectTransform == *want.SubjectTransform)
	return sameTransform && have.Description == want.Description && slices.Equal(have.Subjects, want.Subjects) &&
		have.Retention == want.Retention && have.Storage == want.Storage && have.MaxAge == want.MaxAge &&
		have.Duplicates == want.Duplicates && have.Replicas == want.Replicas
}

// Durable consumer names.
const RetryConsumerName = "zuorasync-retry"

// PartitionConsumerName names the durable consumer that owns one partition of an input stream.
func PartitionConsumerName(stream string, p int) string {
	return fmt.Sprintf("zuorasync-%s-p%d", strings.ToLower(stream), p)
}

// RekeyConsumerName names the consumer that moves unkeyed events (prefix.entity.action) onto keyed subjects.
func RekeyConsumerName(stream string) string {
	return fmt.Sprintf("zuorasync-%s-rekey", strings.ToLower(stream))
}

// StrayConsumerName names the consumer that dead-letters messages stored under a shape no other consumer reads
// (a backlog from before the stream refused them).
func StrayConsumerName(stream string) string {
	return fmt.Sprintf("zuorasync-%s-stray", strings.ToLower(stream))
}

// PartitionConsumers lists the partition consumer names of every input stream.
func (t Topology) PartitionConsumers() map[string][]string {
	out := map[string][]string{}
	for _, in := range Inputs {
		for p := range t.Partitions {
			out[in.Stream] = append(out[in.Stream], PartitionConsumerName(in.Stream, p))
		}
	}
	return out
}

// durable is the shape every runtime consumer shares: explicit acks, the runtime alone decides when an event is
// dead-lettered (MaxDeliver -1: the server never drops one by itself), delivery from the start.
func (t Topology) durable(name, desc string, maxAckPending int, filters ...string) jetstream.ConsumerConfig {
	c := jetstream.ConsumerConfig{
		Durable:       name,
		Description:   desc,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       t.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: maxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		Replicas:      t.replicas(),
	}
	if len(filters) == 1 {
		c.FilterSubject = filters[0]
	} else {
		c.FilterSubjects = filters
	}
	return c
}

// RetryConsumer puts parked events back on their input subjects when due. Parked events wait (Nak'ed with a
// delay) side by side; none holds up another.
func (t Topology) RetryConsumer() jetstream.ConsumerConfig {
	return t.durable(RetryConsumerName, "zuora-sync: puts parked events back on their input subjects when due",
		10000, PrefixRetry+".>")
}

// PartitionConsumer reads one partition of an input stream. One outstanding event per partition, cluster-wide,
// is what keeps per-key order.
func (t Topology) PartitionConsumer(in Input, p int) jetstream.ConsumerConfig {
	return t.durable(PartitionConsumerName(in.Stream, p),
		fmt.Sprintf("zuora-sync: partition %d of %s, one event at a time", p, in.Stream),
		1, fmt.Sprintf("%s.*.*.*.%d", in.Prefix, p))
}

// RekeyConsumer moves events without a partition token onto the keyed, partitioned subject: events published
// unkeyed (prefix.entity.action) and a keyed backlog stored before the stream had its transform. One at a time,
// so unkeyed events keep their relative order when they are moved.
func (t Topology) RekeyConsumer(in Input) jetstream.ConsumerConfig {
	return t.durable(RekeyConsumerName(in.Stream),
		fmt.Sprintf("zuora-sync: moves %s events without a partition token onto keyed subjects", in.Stream),
		1, in.Prefix+".*.*", in.Prefix+".*.*.*")
}

// StrayConsumer reads the shapes the stream refuses today but an older configuration (prefix.>) stored: two
// tokens, and six or more. The runtime dead-letters them with a reason.
func (t Topology) StrayConsumer(in Input) jetstream.ConsumerConfig {
	return t.durable(StrayConsumerName(in.Stream),
		fmt.Sprintf("zuora-sync: dead-letters %s messages stored under an invalid subject", in.Stream),
		100, in.Prefix+".*", in.Prefix+".*.*.*.*.>")
}

// EnsureConsumer creates a durable consumer, or updates the mutable fields of an existing one without touching
// its start position (a replay may have moved it).
func EnsureConsumer(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
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
	cfg.Replicas = max(cfg.Replicas, have.Replicas) // raised, never lowered
	if have.AckWait == cfg.AckWait && have.MaxAckPending == cfg.MaxAckPending && have.MaxDeliver == cfg.MaxDeliver &&
		have.FilterSubject == cfg.FilterSubject && slices.Equal(have.FilterSubjects, cfg.FilterSubjects) &&
		max(have.Replicas, 1) == max(cfg.Replicas, 1) {
		return c, nil
	}
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		c, err = js.UpdateConsumer(ctx, stream, cfg)
		if !replicasExceedStream(err) {
			break
		}
		// The stream's own replicas were raised just before: the server scales it up in the background and
		// refuses a consumer with more replicas until then. Wait for it, within ctx.
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("update consumer %s on %s: the stream has not reached %d replicas: %w", cfg.Durable,
				stream, cfg.Replicas, errors.Join(err, ctx.Err()))
		case <-time.After(wait):
		}
	}
	if err != nil {
		return nil, fmt.Errorf("update consumer %s on %s: %w", cfg.Durable, stream, err)
	}
	return c, nil
}

// errCodeReplicasExceedStream is JetStream's refusal of a consumer with more replicas than its stream has now.
const errCodeReplicasExceedStream jetstream.ErrorCode = 10126

func replicasExceedStream(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeReplicasExceedStream
}
