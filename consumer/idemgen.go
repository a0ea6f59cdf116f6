package consumer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// Idempotency-key generations. A handler's Zuora writes carry keys derived from the event id, so a redelivery
// after a lost response gets Zuora's stored answer instead of writing twice. But Zuora stores failed answers
// too (24 h), so after Zuora *answered* a write with a refusal, repeating the key would only replay it. The
// runtime then moves the event to a new key generation: the refused write did not happen, and the handlers look
// before they write. Only answers that say the write was not done count (4xx other than 409, 429, and HTTP 200
// with success:false); a 5xx, a timeout or a network error leaves the outcome unknown — Zuora may have committed
// the write before failing — so the key stays, and a duplicate stays impossible. A failure stored under such a
// key is cleared by the operator's redrive, which always starts a fresh generation.
const BucketIdemGen = "zuorasync-idem"

type idemGens struct{ kv jetstream.KeyValue }

func ensureIdemBucket(ctx context.Context, js jetstream.JetStream, t Topology) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      BucketIdemGen,
		Description: "zuora-sync: idempotency-key generation of events whose Zuora write was answered with a failure",
		TTL:         48 * time.Hour, // longer than Zuora keeps a key
		Storage:     jetstream.FileStorage,
		Replicas:    max(t.Replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("create KV bucket %s: %w", BucketIdemGen, err)
	}
	return kv, nil
}

func (g *idemGens) get(ctx context.Context, eventID string) (int, error) {
	e, err := g.kv.Get(ctx, kvToken(eventID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("idempotency generation of %s: %w", eventID, err)
	}
	n, _ := strconv.Atoi(string(e.Value()))
	return n, nil
}

func (g *idemGens) bump(ctx context.Context, eventID string, current int) error {
	_, err := g.kv.Put(ctx, kvToken(eventID), []byte(strconv.Itoa(current+1)))
	return err
}

// answeredWriteFailure tells whether err is Zuora's answer to a write (not an unknown outcome): the write did not
// happen, and its key now holds that failure.
func answeredWriteFailure(err error) bool {
	var zerr *zuoraapi.Error
	if !errors.As(err, &zerr) {
		return false
	}
	write := zerr.Method == http.MethodPost || zerr.Method == http.MethodPatch
	return write && zerr.StatusCode > 0 && zerr.StatusCode < 500 && zerr.StatusCode != http.StatusConflict
}

// idempotencyBase is what a handler's idempotency keys derive from: the event id, its key generation and its
// redrive count (an operator redrives after fixing the cause, so the stored failure must not come back).
func idempotencyBase(eventID string, gen int, redrive string) string {
	id := eventID
	if gen > 0 {
		id += "#g" + strconv.Itoa(gen)
	}
	if redrive != "" {
		id += "#redrive" + redrive
	}
	return id
}
