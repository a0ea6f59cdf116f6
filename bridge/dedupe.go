package bridge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/topology"
)

// Deduplication of Zuora's retries, in two layers.
//
// The CloudEvent id of a callout is derived from the notification, never from the attempt: "zuora-notification:"
// + the Zuora-Notification-Id header, which Zuora keeps across the retries of one notification (Zuora-Request-Id
// changes every attempt), or, without that header, "zuora-callout:" + a hash of the event type and the validated
// payload. The id is also the Nats-Msg-Id, so JetStream drops a retry that comes within the stream's duplicate
// window (5 min).
//
// Zuora's retries come at least 30 min apart, long after that window, so the bridge also records every id it
// has delivered in the KV bucket zuorasync-callouts (7 days): after the PubAck the id is written; a callout whose
// id is recorded is answered 200 and not published again.
//
// The window left: the bridge crashes (or loses NATS) after the PubAck and before the record is written, and
// Zuora, having had no 200, retries after the duplicate window. The retry is then stored a second time. Likewise a
// publish whose PubAck was lost (a timeout answered 503) may have been stored, and its retry is stored again. Both
// are harmless: the consumer's io.zuora.* handlers do not trust the callout's fields but read the object's current
// state from Zuora, and their outcomes are idempotent, so a second copy re-reads the same state and reports the
// same thing. The opposite failure — a record without a stored event, which would lose the callout — cannot
// happen, because the record is written only after the PubAck.

// MaxNotificationIDLength bounds a Zuora-Notification-Id used as it is. Zuora's are 32 hex digits; a longer (or
// odd) header becomes a hash, so a hostile header never becomes a huge event id, key or subject.
const MaxNotificationIDLength = 64

const (
	notificationIDPrefix = "zuora-notification:"
	contentIDPrefix      = "zuora-callout:"
	// HeaderNotificationID is stable across Zuora's retries of one notification.
	HeaderNotificationID = "Zuora-Notification-Id"
	// HeaderRequestID is new on every attempt (logged, never part of the id).
	HeaderRequestID = "Zuora-Request-Id"
)

// calloutID derives the event id of a callout (see the comment above) from its headers, or its type and data:
// the validated payload as encoding/json writes it (struct fields in declaration order, empty members left out),
// so the same callout hashes the same whatever the order and spacing of the body Zuora rendered.
func calloutID(h http.Header, eventType string, data []byte) (string, error) {
	if n := h.Get(HeaderNotificationID); n != "" {
		if len(n) <= MaxNotificationIDLength && plainToken(n) {
			return notificationIDPrefix + n, nil
		}
		sum := sha256.Sum256([]byte(n))
		return notificationIDPrefix + "~" + hex.EncodeToString(sum[:]), nil
	}
	if len(data) == 0 {
		return "", errors.New("callout without data")
	}
	sum := sha256.New()
	sum.Write([]byte(eventType))
	sum.Write([]byte{0})
	sum.Write(data)
	return contentIDPrefix + hex.EncodeToString(sum.Sum(nil)), nil
}

// plainToken: letters, digits and - _ . : only, so an id from the header stays readable and safe everywhere.
func plainToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// deliveryRecord is the value kept per delivered callout: where the event is, for an operator.
type deliveryRecord struct {
	Type      string    `json:"type"`
	Stream    string    `json:"stream"`
	Sequence  uint64    `json:"seq"`
	Delivered time.Time `json:"delivered"`
	RequestID string    `json:"zuoraRequestId,omitempty"`
}

// delivered reports whether the callout with this event id has been recorded as delivered.
func delivered(ctx context.Context, kv jetstream.KeyValue, id string) (bool, error) {
	_, err := kv.Get(ctx, topology.KVKey(id))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("read %s: %w", topology.BucketCallouts, err)
	}
}

// record writes the delivery of a callout whose event the stream has acknowledged.
func record(ctx context.Context, kv jetstream.KeyValue, id string, rec deliveryRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if _, err := kv.Put(ctx, topology.KVKey(id), b); err != nil {
		return fmt.Errorf("write %s: %w", topology.BucketCallouts, err)
	}
	return nil
}
