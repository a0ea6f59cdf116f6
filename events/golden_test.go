package events

import (
	"strings"
	"testing"
)

// Golden vectors: the literal subjects zuora-sync publishes and subscribes to. Messages stored before a deploy
// and consumers filtering on these subjects depend on them, and the key token picks an event's partition (so
// the order of one entity's events). The expectations are written out, never recomputed with the code under test.

type goldenKey struct {
	key              string
	token            string // EncodeKey(key) and KeyToken(key): equal below MaxKeyToken
	subject, outcome string // Subject("stigg","customer","created",key), OutcomeSubject("customer","synced",key)
	why              string // what breaks in production if the vector changes
}

var goldenKeys = []goldenKey{
	{"cust_123", "cust_123", "stigg.customer.created.cust_123", "zuorasync.out.customer.synced.cust_123",
		"plain ids move to another token: a new partition, so one entity's events interleave out of order"},
	{"cust.1", "cust%2E1", "stigg.customer.created.cust%2E1", "zuorasync.out.customer.synced.cust%2E1",
		"a '.' splits the key into two tokens: the stream refuses the subject or routes it to no consumer"},
	{"a*b", "a%2Ab", "stigg.customer.created.a%2Ab", "zuorasync.out.customer.synced.a%2Ab",
		"a raw '*' is a wildcard: the publish is refused"},
	{"a>b", "a%3Eb", "stigg.customer.created.a%3Eb", "zuorasync.out.customer.synced.a%3Eb",
		"a raw '>' is a wildcard: the publish is refused"},
	{"100%", "100%25", "stigg.customer.created.100%25", "zuorasync.out.customer.synced.100%25",
		"'%' stops round-tripping: ParseSubject decodes a different key than was published"},
	{"two words", "two%20words", "stigg.customer.created.two%20words", "zuorasync.out.customer.synced.two%20words",
		"a space ends the subject on the wire: the server closes the connection"},
	{"café", "caf%C3%A9", "stigg.customer.created.caf%C3%A9", "zuorasync.out.customer.synced.caf%C3%A9",
		"non-ASCII keys move partition, and Unicode white space could slip into a token"},
	{"nbsp\u00a0x", "nbsp%C2%A0x", "stigg.customer.created.nbsp%C2%A0x", "zuorasync.out.customer.synced.nbsp%C2%A0x",
		"U+00A0 must stay escaped or it reads as a space to tools"},
	{"tab\tnl\n\x7f", "tab%09nl%0A%7F", "stigg.customer.created.tab%09nl%0A%7F", "zuorasync.out.customer.synced.tab%09nl%0A%7F",
		"control bytes in a subject break the NATS protocol line"},
	{"a.b*c>d%e f", "a%2Eb%2Ac%3Ed%25e%20f", "stigg.customer.created.a%2Eb%2Ac%3Ed%25e%20f",
		"zuorasync.out.customer.synced.a%2Eb%2Ac%3Ed%25e%20f", "mixed keys move partition"},
	{"user@example.com", "user@example%2Ecom", "stigg.customer.created.user@example%2Ecom",
		"zuorasync.out.customer.synced.user@example%2Ecom", "e-mail keys move partition"},
	{"$JS:#~!-_/", "$JS:#~!-_/", "stigg.customer.created.$JS:#~!-_/", "zuorasync.out.customer.synced.$JS:#~!-_/",
		"ASCII punctuation that is legal in a token starts being escaped: readable ids move partition"},
	{"", "", "stigg.customer.created", "zuorasync.out.customer.synced",
		"an empty key gains a token: key-less publishers' events land on a subject the rekey consumer does not read"},
}

func TestGoldenSubjects(t *testing.T) {
	for _, g := range goldenKeys {
		if got := EncodeKey(g.key); got != g.token {
			t.Errorf("EncodeKey(%q) = %q, want %q: %s", g.key, got, g.token, g.why)
		}
		if got := KeyToken(g.key); got != g.token {
			t.Errorf("KeyToken(%q) = %q, want %q: %s", g.key, got, g.token, g.why)
		}
		if got := Subject(PrefixStigg, "customer", "created", g.key); got != g.subject {
			t.Errorf("Subject(stigg, customer, created, %q) = %q, want %q: %s", g.key, got, g.subject, g.why)
		}
		if got := OutcomeSubject("customer", "synced", g.key); got != g.outcome {
			t.Errorf("OutcomeSubject(customer, synced, %q) = %q, want %q: %s", g.key, got, g.outcome, g.why)
		}
	}
}

// Keys whose encoding is longer than MaxKeyToken are replaced by "~" and 40 hex digits of their SHA-256.
func TestGoldenKeyTokenBound(t *testing.T) {
	if MaxKeyToken != 765 {
		// A change moves the boundary: keys between the old and new bound change token and partition.
		t.Fatalf("MaxKeyToken = %d, want 765", MaxKeyToken)
	}
	dots255 := strings.Repeat(".", 255) // the longest valid id, every byte escaped: exactly MaxKeyToken
	dots256 := strings.Repeat(".", 256) // one byte more: 768 bytes encoded
	plain766 := strings.Repeat("k", 766)
	cases := []struct {
		key, encoded, token string
		why                 string // what breaks in production if the vector changes
	}{
		{dots255, strings.Repeat("%2E", 255), strings.Repeat("%2E", 255),
			"the longest valid key starts being hashed: its events change subject and partition"},
		{dots256, strings.Repeat("%2E", 256), "~128b7988706b783e52a0a8c29bbfc07e7ccaa591",
			"over-long keys stored or dead-lettered before the deploy no longer match their subject"},
		{plain766, plain766, "~abc52576c30e10df0c83d08cb2cde554aa7e4bcd",
			"over-long plain keys move subject"},
		{strings.Repeat("é", 128), strings.Repeat("%C3%A9", 128), "~e42dd264fd5cf1bc947505b995dceb9ae0a2d2a4",
			"over-long non-ASCII keys move subject"},
	}
	for _, tc := range cases {
		if got := EncodeKey(tc.key); got != tc.encoded {
			t.Errorf("EncodeKey(%d-byte key) = %q..., want %q...", len(tc.key), got[:min(len(got), 40)], tc.encoded[:40])
		}
		got := KeyToken(tc.key)
		if got != tc.token {
			t.Errorf("KeyToken(%d-byte key) = %q, want %q: %s", len(tc.key), got, tc.token, tc.why)
		}
		if want := "stigg.customer.created." + tc.token; Subject(PrefixStigg, "customer", "created", tc.key) != want {
			t.Errorf("Subject of the %d-byte key is not stigg.customer.created.<KeyToken>", len(tc.key))
		}
		if want := "zuorasync.out.customer.synced." + tc.token; OutcomeSubject("customer", "synced", tc.key) != want {
			t.Errorf("OutcomeSubject of the %d-byte key is not zuorasync.out.customer.synced.<KeyToken>", len(tc.key))
		}
	}
}
