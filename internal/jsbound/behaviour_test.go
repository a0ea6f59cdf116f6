package jsbound_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/internal/jsbound"
	"github.com/zuora-sync/zuora-sync/internal/natstest"
)

// must(call())(t) is call's value, or the test's end.
func must[T any](v T, err error) func(testing.TB) T {
	return func(tb testing.TB) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: %v, want %v", what, err, want)
	}
}

func wrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// Through the wrapper, a server that answers gives exactly what it gives without it: values, revisions, sequences
// and the jetstream sentinel and API errors callers branch on.
func TestKeyValueBehavesAsBefore(t *testing.T) {
	srv := natstest.Start(t)
	_, raw := srv.Connect(t)
	js := jsbound.New(raw, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	_, err := js.KeyValue(ctx, "nope")
	wantErr(t, "lookup of a missing bucket", err, jetstream.ErrBucketNotFound)
	kv := must(js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "b", History: 5}))(t)
	if kv.Bucket() != "b" {
		t.Errorf("bucket %q", kv.Bucket())
	}
	_, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "b", History: 1})
	wantErr(t, "creating it again, differently", err, jetstream.ErrBucketExists)

	_, err = kv.Get(ctx, "k")
	wantErr(t, "get of a missing key", err, jetstream.ErrKeyNotFound)
	if rev := must(kv.Put(ctx, "k", []byte("one")))(t); rev != 1 {
		t.Errorf("put: revision %d, want 1", rev)
	}
	if rev := must(kv.PutString(ctx, "k", "two"))(t); rev != 2 {
		t.Errorf("put string: revision %d, want 2", rev)
	}
	if e := must(kv.Get(ctx, "k"))(t); string(e.Value()) != "two" || e.Revision() != 2 {
		t.Errorf("get: %q at %d", e.Value(), e.Revision())
	}
	if e := must(kv.GetRevision(ctx, "k", 1))(t); string(e.Value()) != "one" {
		t.Errorf("get revision 1: %q", e.Value())
	}
	_, err = kv.Create(ctx, "k", []byte("x"))
	wantErr(t, "create of an existing key", err, jetstream.ErrKeyExists)
	if _, err := kv.Update(ctx, "k", []byte("x"), 1); !wrongSequence(err) {
		t.Errorf("update on a stale revision: %v, want a wrong last sequence APIError", err)
	}
	if rev := must(kv.Update(ctx, "k", []byte("three"), 2))(t); rev != 3 {
		t.Errorf("update: revision %d, want 3", rev)
	}
	if err := kv.Delete(ctx, "k", jetstream.LastRevision(1)); !wrongSequence(err) {
		t.Errorf("delete on a stale revision: %v", err)
	}
	if err := kv.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	_, err = kv.Get(ctx, "k")
	wantErr(t, "get of a deleted key", err, jetstream.ErrKeyNotFound)
	if rev := must(kv.Create(ctx, "k", []byte("again")))(t); rev != 5 {
		t.Errorf("create over a delete marker: revision %d, want 5", rev)
	}
	if err := kv.Purge(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if st := must(kv.Status(ctx))(t); st.Bucket() != "b" || st.History() != 5 {
		t.Errorf("status: bucket %q history %d", st.Bucket(), st.History())
	}

	// Watchers pass through untouched.
	if _, err := kv.Put(ctx, "w", []byte("watched")); err != nil {
		t.Fatal(err)
	}
	w := must(kv.Watch(ctx, "w"))(t)
	defer w.Stop()
	select {
	case e := <-w.Updates():
		if e == nil || string(e.Value()) != "watched" {
			t.Errorf("watch: %v", e)
		}
	case <-ctx.Done():
		t.Fatal("watch: nothing")
	}
	if keys := must(kv.Keys(ctx))(t); len(keys) != 1 || keys[0] != "w" {
		t.Errorf("keys: %v", keys)
	}

	bcfg := jetstream.KeyValueConfig{Bucket: "b", History: 5}
	for name, kv := range map[string]jetstream.KeyValue{
		"update bucket":           must(js.UpdateKeyValue(ctx, bcfg))(t),
		"create or update bucket": must(js.CreateOrUpdateKeyValue(ctx, bcfg))(t),
		"lookup":                  must(js.KeyValue(ctx, "b"))(t),
	} {
		if e := must(kv.Get(ctx, "w"))(t); string(e.Value()) != "watched" {
			t.Errorf("%s: get %q", name, e.Value())
		}
	}
	if err := js.DeleteKeyValue(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	_, err = js.KeyValue(ctx, "b")
	wantErr(t, "lookup of a deleted bucket", err, jetstream.ErrBucketNotFound)
}

func TestStreamsAndPublishesBehaveAsBefore(t *testing.T) {
	srv := natstest.Start(t)
	_, raw := srv.Connect(t)
	js := jsbound.New(raw, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	_, err := js.Stream(ctx, "NOPE")
	wantErr(t, "lookup of a missing stream", err, jetstream.ErrStreamNotFound)
	cfg := jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, AllowDirect: false}
	s := must(js.CreateStream(ctx, cfg))(t)
	if s.CachedInfo().Config.Name != "S" {
		t.Errorf("cached info: %+v", s.CachedInfo().Config)
	}
	ack := must(js.Publish(ctx, "s.a", []byte("1")))(t)
	if ack.Stream != "S" || ack.Sequence != 1 {
		t.Errorf("publish: %+v", ack)
	}
	ack = must(js.PublishMsg(ctx, &nats.Msg{Subject: "s.b", Data: []byte("2")}, jetstream.WithMsgID("two")))(t)
	if ack.Sequence != 2 {
		t.Errorf("publish msg: %+v", ack)
	}
	if ack := must(js.PublishMsg(ctx, &nats.Msg{Subject: "s.b", Data: []byte("2")}, jetstream.WithMsgID("two")))(t); !ack.Duplicate {
		t.Errorf("a duplicate msg id: %+v", ack)
	}
	_, err = js.PublishMsg(ctx, &nats.Msg{Subject: "s.c"}, jetstream.WithExpectLastSequence(1))
	if !wrongSequence(err) {
		t.Errorf("publish on a stale sequence: %v", err)
	}
	_, err = js.Publish(ctx, "nowhere", nil)
	wantErr(t, "publish to no stream", err, jetstream.ErrNoStreamResponse)
	if name := must(js.StreamNameBySubject(ctx, "s.x"))(t); name != "S" {
		t.Errorf("stream by subject: %q", name)
	}

	if m := must(s.GetMsg(ctx, 1))(t); string(m.Data) != "1" || m.Subject != "s.a" {
		t.Errorf("get msg 1: %s %q", m.Subject, m.Data)
	}
	_, err = s.GetMsg(ctx, 99)
	wantErr(t, "get of a missing msg", err, jetstream.ErrMsgNotFound)
	if m := must(s.GetLastMsgForSubject(ctx, "s.b"))(t); m.Sequence != 2 {
		t.Errorf("last msg for s.b: seq %d", m.Sequence)
	}
	if err := s.DeleteMsg(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMsg(ctx, 1); !errors.Is(err, jetstream.ErrMsgDeleteUnsuccessful) {
		t.Errorf("deleting it again: %v", err)
	}
	if err := s.SecureDeleteMsg(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if info := must(s.Info(ctx))(t); info.State.Msgs != 0 || info.State.LastSeq != 2 {
		t.Errorf("info: %+v", info.State)
	}
	must(js.Publish(ctx, "s.a", []byte("3")))(t)
	if err := s.Purge(ctx, jetstream.WithPurgeSubject("s.a")); err != nil {
		t.Fatal(err)
	}

	// Consumers pass through untouched.
	must(js.Publish(ctx, "s.a", []byte("4")))(t)
	c := must(s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy}))(t)
	batch := must(c.Fetch(1, jetstream.FetchMaxWait(5*time.Second)))(t)
	for m := range batch.Messages() {
		if string(m.Data()) != "4" {
			t.Errorf("fetched %q", m.Data())
		}
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	}
	must(js.Consumer(ctx, "S", "d"))(t)

	cfg.Description = "changed"
	for name, s := range map[string]jetstream.Stream{
		"update":           must(js.UpdateStream(ctx, cfg))(t),
		"create or update": must(js.CreateOrUpdateStream(ctx, cfg))(t),
		"lookup":           must(js.Stream(ctx, "S"))(t),
	} {
		if m := must(s.GetLastMsgForSubject(ctx, "s.a"))(t); string(m.Data) != "4" {
			t.Errorf("%s: last msg %q", name, m.Data)
		}
	}
	if info := must(js.AccountInfo(ctx))(t); info.Streams != 1 {
		t.Errorf("account info: %d streams", info.Streams)
	}
	if err := js.DeleteStream(ctx, "S"); err != nil {
		t.Fatal(err)
	}
	_, err = js.Stream(ctx, "S")
	wantErr(t, "lookup of a deleted stream", err, jetstream.ErrStreamNotFound)
}
