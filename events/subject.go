package events

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
)

const upperHex = "0123456789ABCDEF"

// keyByteEscaped reports whether EncodeKey percent-encodes b. Besides what the contract
// requires ('.', '*', '>', '%', white space, control bytes) every byte >= 0x7F is encoded:
// subjects then stay pure printable ASCII, Unicode white space (U+00A0, U+2028, …) cannot slip
// into a token, and keys that are not valid UTF-8 still round-trip. ASCII ids stay readable.
func keyByteEscaped(b byte) bool {
	return b <= 0x20 || b >= 0x7f || b == '.' || b == '*' || b == '>' || b == '%'
}

// EncodeKey turns an ordering key into a single NATS subject token: bytes in
// [0x00-0x20], 0x7F-0xFF, '.', '*', '>' and '%' become %XX (upper-case hex), everything else
// is kept, so "cust_123" stays "cust_123" and "cust.1" becomes "cust%2E1".
// EncodeKey("") is "" — callers must treat an empty key as missing.
func EncodeKey(key string) string { return percentEncode(key, keyByteEscaped) }

// percentEncode writes every byte that escaped selects as %XX (upper-case hex) and keeps the rest; both the key
// alphabet and the header-value alphabet of the NATS binding use it.
func percentEncode(s string, escaped func(byte) bool) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if escaped(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if escaped(c) {
			b.WriteByte('%')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&0x0f])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// DecodeKey reverses EncodeKey. It accepts only the canonical encoding (upper-case hex, no
// needless escapes, no raw byte that must be escaped), so each key has exactly one token and
// therefore one partition. An empty token is an error wrapping ErrEmptyKey.
func DecodeKey(token string) (string, error) {
	if token == "" {
		return "", subjectErr("key", ErrEmptyKey, "ordering key is empty")
	}
	if !strings.Contains(token, "%") {
		for i := 0; i < len(token); i++ {
			if keyByteEscaped(token[i]) {
				return "", subjectErr("key", nil, "byte 0x%02X at offset %d must be percent-encoded", token[i], i)
			}
		}
		return token, nil
	}
	out := make([]byte, 0, len(token))
	for i := 0; i < len(token); i++ {
		c := token[i]
		if c != '%' {
			if keyByteEscaped(c) {
				return "", subjectErr("key", nil, "byte 0x%02X at offset %d must be percent-encoded", c, i)
			}
			out = append(out, c)
			continue
		}
		if i+2 >= len(token) {
			return "", subjectErr("key", nil, "truncated escape at offset %d", i)
		}
		hi, ok1 := upperHexVal(token[i+1])
		lo, ok2 := upperHexVal(token[i+2])
		if !ok1 || !ok2 {
			return "", subjectErr("key", nil, "bad escape %q at offset %d (want %%XX, upper-case hex)", token[i:i+3], i)
		}
		v := hi<<4 | lo
		if !keyByteEscaped(v) {
			return "", subjectErr("key", nil, "needless escape %q at offset %d (write %q)", token[i:i+3], i, string(rune(v)))
		}
		out = append(out, v)
		i += 2
	}
	return string(out), nil
}

func upperHexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Subject builds prefix.entity.action.<EncodeKey(key)>, e.g.
// Subject("stigg", "customer", "created", "cust.1") = "stigg.customer.created.cust%2E1".
// With an empty key it returns the key-less prefix.entity.action form, which the contract
// allows only for publishers that cannot compute a key; SubjectFor refuses it.
func Subject(prefix, entity, action, key string) string {
	s := prefix + "." + entity + "." + action
	if key != "" {
		s += "." + KeyToken(key)
	}
	return s
}

// MaxKeyToken bounds the key token of a subject zuora-sync builds. A subject longer than the server's control
// line (4 KB by default) makes the server close the connection for good; every valid key (at most MaxIDLength
// bytes, three bytes per escaped byte) fits.
const MaxKeyToken = 3 * MaxIDLength

// KeyToken is EncodeKey, bounded: a key whose encoding is longer than MaxKeyToken becomes "~" and the first 40
// hex digits of its SHA-256, so a key that is too long can still be routed, dead-lettered and reported.
// Deployed subjects depend on this: it must never change.
func KeyToken(key string) string {
	t := EncodeKey(key)
	if len(t) <= MaxKeyToken {
		return t
	}
	sum := sha256.Sum256([]byte(key))
	return "~" + hex.EncodeToString(sum[:20])
}

// OutcomeSubject returns zuorasync.out.<entity>.<result>.<EncodeKey(key)>.
func OutcomeSubject(entity, result, key string) string {
	return Subject(PrefixOutcome, entity, result, key)
}

// SubjectFor computes the publish subject of ev from its type and ordering key:
// io.stigg.* → stigg.<entity>.<action>.<key>, io.zuora.* → zuora.…,
// io.zuorasync.* → zuorasync.out.<entity>.<result>.<key>. The key is PartitionKey(ev).
func SubjectFor(ev event.Event) (string, error) {
	t := ev.Type()
	ns, entity, action, ok := splitType(t)
	if !ok {
		return "", attrErr("type", "%q is not io.<vendor>.<entity>.<action>", t)
	}
	prefix, ok := subjectPrefixFor(ns)
	if !ok {
		return "", attrErr("type", "no subject prefix for namespace %q", ns)
	}
	key, err := PartitionKey(ev)
	if err != nil {
		return "", err
	}
	return Subject(prefix, entity, action, key), nil
}

// ParsedSubject is a subject split into its parts. Key is decoded (the raw ordering key).
type ParsedSubject struct {
	Prefix    string // "stigg", "zuora", "zuorasync.out", "zuorasync.dlq"
	Entity    string
	Action    string
	Key       string
	Partition int // the partition token the stream's transform appended; -1 when absent
}

// String re-assembles the subject in canonical form (with the partition token when set).
func (s ParsedSubject) String() string {
	out := Subject(s.Prefix, s.Entity, s.Action, s.Key)
	if s.Partition >= 0 {
		out += "." + strconv.Itoa(s.Partition)
	}
	return out
}

// EventType returns the CloudEvents type the subject carries (io.stigg.customer.created for
// stigg.customer.created.…), or "" for a prefix without a type namespace.
func (s ParsedSubject) EventType() string {
	switch s.Prefix {
	case PrefixStigg:
		return NamespaceStigg + "." + s.Entity + "." + s.Action
	case PrefixZuora:
		return NamespaceZuora + "." + s.Entity + "." + s.Action
	case PrefixOutcome:
		return NamespaceZuoraSync + "." + s.Entity + "." + s.Action
	}
	return ""
}

// maxPartition bounds the partition token; deployments use tens of partitions.
const maxPartition = 1 << 20

// ParseSubject understands prefix.entity.action.key and the stored form
// prefix.entity.action.key.<p> (p = partition number appended by the stream transform).
// The prefix is one token, or two when the first is "zuorasync" (zuorasync.out, zuorasync.dlq).
// A subject without a key token returns the parts it has and an error wrapping ErrEmptyKey.
func ParseSubject(s string) (ParsedSubject, error) {
	out := ParsedSubject{Partition: -1}
	toks := strings.Split(s, ".")
	for i, t := range toks {
		if t == "" {
			return out, subjectErr("subject", nil, "%q has an empty token at position %d", s, i)
		}
		for j := 0; j < len(t); j++ {
			if c := t[j]; c <= 0x20 || c == 0x7f {
				return out, subjectErr("subject", nil, "%q contains white space or a control byte", s)
			}
		}
	}
	np := 1
	if toks[0] == "zuorasync" {
		np = 2
	}
	rest := toks[min(np, len(toks)):]
	if len(toks) < np+2 {
		return out, subjectErr("subject", nil, "%q is not <prefix>.<entity>.<action>.<key>", s)
	}
	out.Prefix = strings.Join(toks[:np], ".")
	out.Entity, out.Action = rest[0], rest[1]
	for _, t := range []string{out.Entity, out.Action} {
		if t == "*" || t == ">" {
			return out, subjectErr("subject", nil, "%q contains a wildcard", s)
		}
	}
	switch len(rest) {
	case 2:
		return out, subjectErr("key", ErrEmptyKey, "subject %q has no ordering key token", s)
	case 3, 4:
	default:
		return out, subjectErr("subject", nil, "%q has %d tokens after the prefix, want 3 or 4", s, len(rest))
	}
	key, err := DecodeKey(rest[2])
	if err != nil {
		return out, err
	}
	out.Key = key
	if len(rest) == 4 {
		p, err := parsePartition(rest[3])
		if err != nil {
			return out, err
		}
		out.Partition = p
	}
	return out, nil
}

func parsePartition(t string) (int, error) {
	if len(t) > 1 && t[0] == '0' {
		return 0, subjectErr("partition", nil, "partition token %q has a leading zero", t)
	}
	for i := 0; i < len(t); i++ {
		if !isDigit(t[i]) {
			return 0, subjectErr("partition", nil, "partition token %q is not a number", t)
		}
	}
	p, err := strconv.Atoi(t)
	if err != nil || p > maxPartition {
		return 0, subjectErr("partition", nil, "partition token %q is out of range", t)
	}
	return p, nil
}

// checkPublishSubject rejects subjects NATS would refuse or misroute on publish.
func checkPublishSubject(s string) error {
	if s == "" {
		return subjectErr("subject", nil, "NATS subject is empty")
	}
	for _, t := range strings.Split(s, ".") {
		if t == "" || t == "*" || t == ">" {
			return subjectErr("subject", nil, "%q is not a valid publish subject", s)
		}
		for j := 0; j < len(t); j++ {
			if c := t[j]; c <= 0x20 || c == 0x7f {
				return subjectErr("subject", nil, "%q contains white space or a control byte", s)
			}
		}
	}
	return nil
}
