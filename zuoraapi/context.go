package zuoraapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
)

type eventIDKey struct{}

// WithEventID records the id of the event being handled. Calls made with the returned context send it as
// Zuora-Track-Id and derive their idempotency keys from it.
func WithEventID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, eventIDKey{}, id)
}

// EventIDFrom returns the event id recorded by WithEventID, or "".
func EventIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(eventIDKey{}).(string)
	return id
}

// IdempotencyKey is the Idempotency-Key for one step of handling one event: the same event repeating the same
// step sends the same key, so Zuora replays its stored response for a redelivery (keys live 24 h).
func IdempotencyKey(eventID, step string) string {
	sum := sha256.Sum256([]byte(eventID + "/" + step))
	return "zs-" + hex.EncodeToString(sum[:])[:40]
}

// maxTrackIDLen is Zuora's documented limit for Zuora-Track-Id.
const maxTrackIDLen = 64

// TrackID turns an event id into a valid Zuora-Track-Id: at most 64 printable US-ASCII characters without
// `:` `;` `"` `'`. Ids that already comply are sent as they are (so they can be searched for in Zuora's
// logs); others are replaced by a hash, stable for the same id.
func TrackID(eventID string) string {
	if eventID == "" {
		return ""
	}
	if validTrackID(eventID) {
		return eventID
	}
	sum := sha256.Sum256([]byte(eventID))
	return "zs-sha256-" + hex.EncodeToString(sum[:])[:40]
}

func validTrackID(s string) bool {
	if len(s) > maxTrackIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x21 || c > 0x7e: // controls, space (trimmed by proxies), DEL, non-ASCII
			return false
		case c == ':' || c == ';' || c == '"' || c == '\'':
			return false
		}
	}
	return true
}

type fenceKey struct{}

// WithFence makes every call made with ctx first ask fence whether the caller may still act; a non-nil answer
// stops the call before anything is sent. The runtime fences handlers whose hold on their event (the ack
// deadline) may have lapsed, so that a paused instance cannot write after another one took the event over.
func WithFence(ctx context.Context, fence func() error) context.Context {
	return context.WithValue(ctx, fenceKey{}, fence)
}

func checkFence(ctx context.Context) error {
	if f, _ := ctx.Value(fenceKey{}).(func() error); f != nil {
		return f()
	}
	return nil
}
