// Package idmap keeps the Stigg id ⇄ Zuora id mapping in the zuorasync-ids KV bucket. Handlers consult it before
// they write to Zuora, which together with Zuora-side lookups makes redelivery and replay create nothing twice.
package idmap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrNotFound means no mapping exists yet.
var ErrNotFound = errors.New("idmap: no mapping")

// Entry maps one Stigg object to its Zuora counterpart.
type Entry struct {
	StiggID     string `json:"stiggId"`
	ZuoraID     string `json:"zuoraId"`
	ZuoraNumber string `json:"zuoraNumber,omitempty"`
	// Extra holds ids of dependent Zuora objects (e.g. rate plan per billing period) and content hashes.
	Extra         map[string]string `json:"extra,omitempty"`
	SourceEventID string            `json:"sourceEventId,omitempty"`
	UpdatedAt     time.Time         `json:"updatedAt"`
}

// Store reads and writes mappings.
type Store struct{ kv jetstream.KeyValue }

// New wraps a KV bucket.
func New(kv jetstream.KeyValue) *Store { return &Store{kv: kv} }

// Get returns the mapping of a Stigg object of the given kind ("customer", "package", "subscription", …).
func (s *Store) Get(ctx context.Context, kind, stiggID string) (*Entry, error) {
	return s.get(ctx, forwardKey(kind, stiggID))
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
	return &e, nil
}

// Put writes the mapping both ways. The reverse entry goes first so that a crash in between leaves nothing that
// points forward without a way back.
func (s *Store) Put(ctx context.Context, kind string, e Entry) error {
	if e.StiggID == "" || e.ZuoraID == "" {
		return fmt.Errorf("idmap: %s mapping needs both ids (stigg %q, zuora %q)", kind, e.StiggID, e.ZuoraID)
	}
	if e.UpdatedAt.IsZero() {
		e.UpdatedAt = time.Now().UTC()
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, reverseKey(kind, e.ZuoraID), b); err != nil {
		return fmt.Errorf("idmap: put reverse %s: %w", kind, err)
	}
	if _, err := s.kv.Put(ctx, forwardKey(kind, e.StiggID), b); err != nil {
		return fmt.Errorf("idmap: put %s: %w", kind, err)
	}
	return nil
}

func forwardKey(kind, stiggID string) string { return "stigg." + kind + "." + EncodeKey(stiggID) }
func reverseKey(kind, zuoraID string) string { return "zuora." + kind + "." + EncodeKey(zuoraID) }

// EncodeKey makes an id safe as one KV key token: letters, digits, '-' and '_' stay as they are, every other byte
// becomes =XX, so ordinary ids stay readable in `nats kv ls`.
func EncodeKey(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "=%02X", c)
	}
	if b.Len() == 0 {
		return "=" // an empty id still needs a non-empty token
	}
	return b.String()
}
