package jsbound_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// Every method of the three interfaces is either bounded or passed through on purpose. A nats.go upgrade that
// adds one fails here until it is put on one side (and, if bounded, in TestBoundsEveryRequestToASilentServer).
func TestEveryMethodIsDecided(t *testing.T) {
	for _, c := range []struct {
		iface            reflect.Type
		bounded, through string
	}{
		{reflect.TypeFor[jetstream.JetStream](),
			"AccountInfo Publish PublishMsg Stream CreateStream UpdateStream CreateOrUpdateStream DeleteStream " +
				"StreamNameBySubject KeyValue CreateKeyValue UpdateKeyValue CreateOrUpdateKeyValue DeleteKeyValue",
			// async publishing; consumers; paged listers; object stores; the handle itself
			"PublishAsync PublishMsgAsync PublishAsyncPending PublishAsyncComplete CleanupPublisher " +
				"Consumer CreateConsumer UpdateConsumer CreateOrUpdateConsumer OrderedConsumer DeleteConsumer " +
				"PauseConsumer ResumeConsumer ResetConsumer ResetConsumerToSequence PushConsumer CreatePushConsumer " +
				"UpdatePushConsumer CreateOrUpdatePushConsumer ListStreams StreamNames KeyValueStores KeyValueStoreNames " +
				"ObjectStore CreateObjectStore UpdateObjectStore CreateOrUpdateObjectStore DeleteObjectStore " +
				"ObjectStores ObjectStoreNames Conn Options"},
		{reflect.TypeFor[jetstream.Stream](),
			"Info Purge GetMsg GetLastMsgForSubject DeleteMsg SecureDeleteMsg",
			"CachedInfo Consumer ConsumerNames ListConsumers CreateConsumer UpdateConsumer CreateOrUpdateConsumer " +
				"OrderedConsumer DeleteConsumer PauseConsumer ResumeConsumer ResetConsumer ResetConsumerToSequence " +
				"UnpinConsumer PushConsumer CreatePushConsumer UpdatePushConsumer CreateOrUpdatePushConsumer"},
		{reflect.TypeFor[jetstream.KeyValue](),
			"Get GetRevision Put PutString Create Update Delete Purge Status",
			// watchers and what is built on them
			"Watch WatchAll WatchFiltered Keys ListKeys ListKeysFiltered History PurgeDeletes Bucket"},
	} {
		decided := append(strings.Fields(c.bounded), strings.Fields(c.through)...)
		var have []string
		for i := range c.iface.NumMethod() {
			m := c.iface.Method(i).Name
			have = append(have, m)
			if !slices.Contains(decided, m) {
				t.Errorf("%s.%s is neither bounded nor passed through on purpose", c.iface, m)
			}
		}
		for _, m := range decided {
			if !slices.Contains(have, m) {
				t.Errorf("%s has no method %s any more", c.iface, m)
			}
		}
	}
}
