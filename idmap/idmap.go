// Package idmap keeps the Stigg id ⇄ Zuora id mapping in the zuorasync-ids KV bucket. Handlers consult it before
// they write to Zuora, which together with Zuora-side lookups makes redelivery and replay create nothing twice.
package idmap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zuora-sync/zuora-sync/topology"
)

// ErrNotFound means no mapping exists yet.
var ErrNotFound = errors.New("idmap: no mapping")

// ErrConflict means the mapping changed since it was read: another writer got there first. It is transient;
// the retry reads the mapping again.
var ErrConflict = errors.New("idmap: mapping changed since it was read")

// Entry maps one Stigg object to its Zuora counterpart.
type Entry struct {
	StiggID     string `json:"stiggId"`
	ZuoraID     string `json:"zuoraId"`
	ZuoraNumber string `json:"zuoraNumber,omitempty"`
	// Extra holds ids of dependent Zuora objects (e.g. rate plan per billing period) and content hashes.
	Extra         map[string]string `json:"extra,omitempty"`
	SourceEventID string            `json:"sourceEventId,omitempty"`
	UpdatedAt     time.Time         `json:"updatedAt"`
	// Revision is the KV revision the entry was read at (0: not stored yet); Put compares and sets on it.
	Revision uint64 `json:"-"`
}

// Store reads and writes mappings.
type Store struct{ kv jetstream.KeyValue }

// New wraps a KV bucket.
func New(kv jetstream.KeyValue) *Store { return &Store{kv: kv} }

// Get returns the mapping of a Stigg object of the given kind ("customer", "package", "subscription", …).
func (s *Store) Get(ctx context.Context, kind, stiggID string) (*Entry, error) {
	return s.get(ctx, Key(kind, stiggID))
}

// StiggIDOf returns the Stigg id mapped to a Zuora id.
func (s *Store) StiggIDOf(ctx context.Context, kind, zuoraID string) (string, error) {
	e, err := s.get(ctx, reverseKey(kind, zuoraID))
	if err != nil {
		return "", err
	}
	return e.StiggID, nil
}

func (s *Store) get(ctx context.Context, key string) (*Entry, error) {
	kve, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("idmap: get %s: %w", key, err)
	}
	var e Entry
	if err := json.Unmarshal(kve.Value(), &e); err != nil {
		return nil, fmt.Errorf("idmap: corrupt entry %s: %w", key, err)
	}
	e.Revision = kve.Revision()
	return &e, nil
}

// Put writes the mapping both ways. The forward entry is a compare-and-set on e.Revision (0: it must not exist
// yet), so a writer that read an older mapping cannot overwrite a newer one; ErrConflict says it lost. On success
// e.Revision is the new revision, so the same entry can be written again. The reverse entry goes first so that a
// crash in between leaves nothing that points forward without a way back.
func (s *Store) Put(ctx context.Context, kind string, e *Entry) error {
	if e.StiggID == "" || e.ZuoraID == "" {
		return fmt.Errorf("idmap: %s mapping needs both ids (stigg %q, zuora %q)", kind, e.StiggID, e.ZuoraID)
	}
	e.UpdatedAt = time.Now().UTC()
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, reverseKey(kind, e.ZuoraID), b); err != nil {
		return fmt.Errorf("idmap: put reverse %s: %w", kind, err)
	}
	key := Key(kind, e.StiggID)
	var rev uint64
	if e.Revision == 0 {
		rev, err = s.kv.Create(ctx, key, b)
	} else {
		rev, err = s.kv.Update(ctx, key, b, e.Revision)
	}
	var apiErr *jetstream.APIError
	if errors.Is(err, jetstream.ErrKeyExists) || errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return fmt.Errorf("%w: %s (read at revision %d)", ErrConflict, key, e.Revision)
	}
	if err != nil {
		return fmt.Errorf("idmap: put %s: %w", key, err)
	}
	e.Revision = rev
	return nil
}

// Key is the KV key of a Stigg object's mapping, as `nats kv get zuorasync-ids <key>` takes it.
func Key(kind, stiggID string) string { return "stigg." + kind + "." + topology.KVKey(stiggID) }

func reverseKey(kind, zuoraID string) string { return "zuora." + kind + "." + topology.KVKey(zuoraID) }
