// Package jsbound bounds every JetStream request/reply call of a jetstream.JetStream by a timeout of its own, on
// top of the caller's context.
//
// A request in flight to a node that dies is never answered, and the jetstream client's default timeout
// (WithDefaultTimeout) applies only to a context without a deadline. A handler's context has one (the 2-minute
// consumer.Config.HandlerTimeout), so without a bound a KV read of the ordering guard, an id-map write or an
// outcome publish waits all of it out while the lease heartbeat keeps the event from going to another instance,
// and a SIGTERM cannot drain in time. Bounded, the call fails with an error that is a context.DeadlineExceeded,
// which the runtime treats as any transient failure: the event is retried.
//
// Bounded: Publish and PublishMsg; the stream and bucket lookups and administration (Stream, CreateStream,
// UpdateStream, CreateOrUpdateStream, DeleteStream, StreamNameBySubject, KeyValue, CreateKeyValue,
// UpdateKeyValue, CreateOrUpdateKeyValue, DeleteKeyValue, AccountInfo); on the jetstream.Stream they return:
// Info, Purge, GetMsg, GetLastMsgForSubject, DeleteMsg, SecureDeleteMsg; on the jetstream.KeyValue: Get,
// GetRevision, Put, PutString, Create, Update, Delete, Purge, Status.
//
// Passed through as they are: the async publishes (their acks have a timeout of their own); consumers (their
// creation, lookup and administration, Consumer handles, Fetch, Messages and Consume: a pull has its own expiry
// and heartbeats); watchers and what is built on them (Watch, Keys, ListKeys, History, PurgeDeletes: long-lived,
// or as long as the bucket is); the paged listers (ListStreams, StreamNames, KeyValueStores, KeyValueStoreNames:
// they page on the caller's context after returning); object stores.
package jsbound

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultTimeout bounds one request. A healthy cluster answers the slowest of them (a replicated KV write
// fsynced on every node, a stream update through the meta leader) in well under a second, so only a request whose
// answer was lost reaches it; for a call without a deadline it replaces the client's 5 s default. And it is far
// below the handler's 2 minutes and a shutdown's 30 s drain: the event is retried, or handed back, while its
// lease holds.
const DefaultTimeout = 10 * time.Second

// New returns js with every request/reply call bounded by timeout (the caller's earlier deadline still wins). A
// call cut off by the bound returns an error naming the call that wraps context.DeadlineExceeded; every other
// error, jetstream's sentinels and *jetstream.APIError included, is returned as it was.
func New(js jetstream.JetStream, timeout time.Duration) jetstream.JetStream {
	return &boundedJS{JetStream: js, b: bound(timeout)}
}

// bound runs one call under its own deadline.
type bound time.Duration

func (b bound) do(ctx context.Context, op string, f func(context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, time.Duration(b))
	defer cancel()
	err := f(cctx)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		// The bound, not the caller, ended it: say so, for the log line of the retry.
		return fmt.Errorf("jetstream %s: no reply within %s: %w", op, time.Duration(b), err)
	}
	return err
}

func call[T any](ctx context.Context, b bound, op string, f func(context.Context) (T, error)) (T, error) {
	var v T
	err := b.do(ctx, op, func(ctx context.Context) error {
		var err error
		v, err = f(ctx)
		return err
	})
	return v, err
}

type boundedJS struct {
	jetstream.JetStream
	b bound
}

func (j *boundedJS) AccountInfo(ctx context.Context) (*jetstream.AccountInfo, error) {
	return call(ctx, j.b, "account info", j.JetStream.AccountInfo)
}

func (j *boundedJS) Publish(ctx context.Context, subject string, payload []byte, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	return call(ctx, j.b, "publish to "+subject, func(ctx context.Context) (*jetstream.PubAck, error) {
		return j.JetStream.Publish(ctx, subject, payload, opts...)
	})
}

func (j *boundedJS) PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	return call(ctx, j.b, "publish to "+msg.Subject, func(ctx context.Context) (*jetstream.PubAck, error) {
		return j.JetStream.PublishMsg(ctx, msg, opts...)
	})
}

func (j *boundedJS) stream(ctx context.Context, op string, f func(context.Context) (jetstream.Stream, error)) (jetstream.Stream, error) {
	s, err := call(ctx, j.b, op, f)
	if err != nil {
		return nil, err
	}
	var name string
	if info := s.CachedInfo(); info != nil {
		name = info.Config.Name
	}
	return &boundedStream{Stream: s, b: j.b, name: name}, nil
}

func (j *boundedJS) Stream(ctx context.Context, name string) (jetstream.Stream, error) {
	return j.stream(ctx, "stream "+name, func(ctx context.Context) (jetstream.Stream, error) {
		return j.JetStream.Stream(ctx, name)
	})
}

func (j *boundedJS) CreateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	return j.stream(ctx, "create stream "+cfg.Name, func(ctx context.Context) (jetstream.Stream, error) {
		return j.JetStream.CreateStream(ctx, cfg)
	})
}

func (j *boundedJS) UpdateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	return j.stream(ctx, "update stream "+cfg.Name, func(ctx context.Context) (jetstream.Stream, error) {
		return j.JetStream.UpdateStream(ctx, cfg)
	})
}

func (j *boundedJS) CreateOrUpdateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	return j.stream(ctx, "create or update stream "+cfg.Name, func(ctx context.Context) (jetstream.Stream, error) {
		return j.JetStream.CreateOrUpdateStream(ctx, cfg)
	})
}

func (j *boundedJS) DeleteStream(ctx context.Context, name string) error {
	return j.b.do(ctx, "delete stream "+name, func(ctx context.Context) error { return j.JetStream.DeleteStream(ctx, name) })
}

func (j *boundedJS) StreamNameBySubject(ctx context.Context, subject string) (string, error) {
	return call(ctx, j.b, "stream of "+subject, func(ctx context.Context) (string, error) {
		return j.JetStream.StreamNameBySubject(ctx, subject)
	})
}

func (j *boundedJS) keyValue(ctx context.Context, op string, f func(context.Context) (jetstream.KeyValue, error)) (jetstream.KeyValue, error) {
	kv, err := call(ctx, j.b, op, f)
	if err != nil {
		return nil, err
	}
	return &boundedKV{KeyValue: kv, b: j.b}, nil
}

func (j *boundedJS) KeyValue(ctx context.Context, bucket string) (jetstream.KeyValue, error) {
	return j.keyValue(ctx, "KV bucket "+bucket, func(ctx context.Context) (jetstream.KeyValue, error) {
		return j.JetStream.KeyValue(ctx, bucket)
	})
}

func (j *boundedJS) CreateKeyValue(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	return j.keyValue(ctx, "create KV bucket "+cfg.Bucket, func(ctx context.Context) (jetstream.KeyValue, error) {
		return j.JetStream.CreateKeyValue(ctx, cfg)
	})
}

func (j *boundedJS) UpdateKeyValue(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	return j.keyValue(ctx, "update KV bucket "+cfg.Bucket, func(ctx context.Context) (jetstream.KeyValue, error) {
		return j.JetStream.UpdateKeyValue(ctx, cfg)
	})
}

func (j *boundedJS) CreateOrUpdateKeyValue(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	return j.keyValue(ctx, "create or update KV bucket "+cfg.Bucket, func(ctx context.Context) (jetstream.KeyValue, error) {
		return j.JetStream.CreateOrUpdateKeyValue(ctx, cfg)
	})
}

func (j *boundedJS) DeleteKeyValue(ctx context.Context, bucket string) error {
	return j.b.do(ctx, "delete KV bucket "+bucket, func(ctx context.Context) error { return j.JetStream.DeleteKeyValue(ctx, bucket) })
}
