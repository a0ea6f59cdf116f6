package jsbound

import (
	"context"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
)

// boundedStream bounds the stream's own requests; its consumer methods are the embedded ones.
type boundedStream struct {
	jetstream.Stream
	b    bound
	name string
}

func (s *boundedStream) op(what string) string { return what + " " + s.name }

func (s *boundedStream) Info(ctx context.Context, opts ...jetstream.StreamInfoOpt) (*jetstream.StreamInfo, error) {
	return call(ctx, s.b, s.op("info of stream"), func(ctx context.Context) (*jetstream.StreamInfo, error) {
		return s.Stream.Info(ctx, opts...)
	})
}

func (s *boundedStream) Purge(ctx context.Context, opts ...jetstream.StreamPurgeOpt) error {
	return s.b.do(ctx, s.op("purge stream"), func(ctx context.Context) error { return s.Stream.Purge(ctx, opts...) })
}

func (s *boundedStream) GetMsg(ctx context.Context, seq uint64, opts ...jetstream.GetMsgOpt) (*jetstream.RawStreamMsg, error) {
	return call(ctx, s.b, s.op("get message "+strconv.FormatUint(seq, 10)+" of stream"), func(ctx context.Context) (*jetstream.RawStreamMsg, error) {
		return s.Stream.GetMsg(ctx, seq, opts...)
	})
}

func (s *boundedStream) GetLastMsgForSubject(ctx context.Context, subject string) (*jetstream.RawStreamMsg, error) {
	return call(ctx, s.b, s.op("get last message on "+subject+" of stream"), func(ctx context.Context) (*jetstream.RawStreamMsg, error) {
		return s.Stream.GetLastMsgForSubject(ctx, subject)
	})
}

func (s *boundedStream) DeleteMsg(ctx context.Context, seq uint64) error {
	return s.b.do(ctx, s.op("delete message "+strconv.FormatUint(seq, 10)+" of stream"), func(ctx context.Context) error {
		return s.Stream.DeleteMsg(ctx, seq)
	})
}

func (s *boundedStream) SecureDeleteMsg(ctx context.Context, seq uint64) error {
	return s.b.do(ctx, s.op("secure delete message "+strconv.FormatUint(seq, 10)+" of stream"), func(ctx context.Context) error {
		return s.Stream.SecureDeleteMsg(ctx, seq)
	})
}

// boundedKV bounds the bucket's single requests; watchers and what is built on them are the embedded ones.
type boundedKV struct {
	jetstream.KeyValue
	b bound
}

func (kv *boundedKV) op(what, key string) string { return "KV " + what + " " + kv.Bucket() + "/" + key }

func (kv *boundedKV) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	return call(ctx, kv.b, kv.op("get", key), func(ctx context.Context) (jetstream.KeyValueEntry, error) {
		return kv.KeyValue.Get(ctx, key)
	})
}

func (kv *boundedKV) GetRevision(ctx context.Context, key string, revision uint64) (jetstream.KeyValueEntry, error) {
	return call(ctx, kv.b, kv.op("get revision", key), func(ctx context.Context) (jetstream.KeyValueEntry, error) {
		return kv.KeyValue.GetRevision(ctx, key, revision)
	})
}

func (kv *boundedKV) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	return call(ctx, kv.b, kv.op("put", key), func(ctx context.Context) (uint64, error) {
		return kv.KeyValue.Put(ctx, key, value)
	})
}

func (kv *boundedKV) PutString(ctx context.Context, key string, value string) (uint64, error) {
	return call(ctx, kv.b, kv.op("put", key), func(ctx context.Context) (uint64, error) {
		return kv.KeyValue.PutString(ctx, key, value)
	})
}

// Create may take up to three requests (a deleted key is re-created over its marker): one bound for all.
func (kv *boundedKV) Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error) {
	return call(ctx, kv.b, kv.op("create", key), func(ctx context.Context) (uint64, error) {
		return kv.KeyValue.Create(ctx, key, value, opts...)
	})
}

func (kv *boundedKV) Update(ctx context.Context, key string, value []byte, revision uint64) (uint64, error) {
	return call(ctx, kv.b, kv.op("update", key), func(ctx context.Context) (uint64, error) {
		return kv.KeyValue.Update(ctx, key, value, revision)
	})
}

func (kv *boundedKV) Delete(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error {
	return kv.b.do(ctx, kv.op("delete", key), func(ctx context.Context) error { return kv.KeyValue.Delete(ctx, key, opts...) })
}

func (kv *boundedKV) Purge(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error {
	return kv.b.do(ctx, kv.op("purge", key), func(ctx context.Context) error { return kv.KeyValue.Purge(ctx, key, opts...) })
}

func (kv *boundedKV) Status(ctx context.Context) (jetstream.KeyValueStatus, error) {
	return call(ctx, kv.b, "KV status of "+kv.Bucket(), kv.KeyValue.Status)
}
