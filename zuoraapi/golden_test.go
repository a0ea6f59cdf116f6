package zuoraapi

import (
	"strings"
	"testing"
)

// Golden vectors: the literal outputs of derivations that deployed systems depend on. Zuora keeps idempotency
// keys for 24 h and the track id is how an operator finds an event's calls in Zuora's logs, so a change here
// is a production incident even when every other test still passes. Never recompute the expectation with the
// function under test: if a vector has to change, the change needs a migration story.

func TestGoldenIdempotencyKey(t *testing.T) {
	cases := []struct {
		eventID, step, want string
		// what breaks in production if want changes
		why string
	}{
		{"evt-1", "account.create", "zs-c0781f7fcf0ee21fb7da410b36f318bc3457b895",
			"a retry in flight across the deploy creates a second Zuora account"},
		{"3f2c9a7e-0d1b-4c55-9e3a-8f1d2b3c4d5e", "order.schedule", "zs-a45ce134b04840f5512d0102a31a2c75dea8518c",
			"a redelivered subscription event places its order twice"},
		{"3f2c9a7e-0d1b-4c55-9e3a-8f1d2b3c4d5e#g1", "order.schedule", "zs-995a14905d0aba5c8efc30f0e0f90fd99cc99950",
			"an event moved to key generation 1 after a refusal writes twice on its next retry"},
		{"evt-1#g2#redrive1", "charge.create.month.seats", "zs-33685f32a4d5f7d0c8bef271410711f6ee857276",
			"a redriven catalog event creates a duplicate charge"},
		{"evt-1", "uom.create.Seat licence", "zs-0e896696104c3a6c6e1daf6cdca323a805a3bb1c",
			"a unit of measure whose name has a space is created twice"},
		{"ünïcode/evt", "account.update", "zs-8fd77655e17a6be86ad2492accd7685df343560d",
			"non-ASCII event ids (and ids containing the '/' separator) lose their dedupe"},
		{"evt-1", "", "zs-8bd08af02a71d7923ef3fe7af7e87f861bf6fed0",
			"the key of an empty step (refused by Do for writes, but reachable from callers) moves"},
	}
	for _, tc := range cases {
		if got := IdempotencyKey(tc.eventID, tc.step); got != tc.want {
			t.Errorf("IdempotencyKey(%q, %q) = %q, want %q: %s", tc.eventID, tc.step, got, tc.want, tc.why)
		}
	}
}

func TestGoldenTrackID(t *testing.T) {
	exactly64 := strings.Repeat("e", 64)
	tooLong := strings.Repeat("e", 65)
	cases := []struct {
		eventID, want string
		why           string // what breaks in production if want changes
	}{
		{"", "", "calls without an event would start sending an (invalid) empty Zuora-Track-Id"},
		{"evt-1", "evt-1", "operators can no longer search Zuora's logs for a plain event id"},
		{"3f2c9a7e-0d1b-4c55-9e3a-8f1d2b3c4d5e", "3f2c9a7e-0d1b-4c55-9e3a-8f1d2b3c4d5e",
			"a CloudEvent UUID is no longer findable in Zuora's logs as itself"},
		{"evt-1#g1#redrive2", "evt-1#g1#redrive2", "an idempotency base ('#' is allowed) is no longer sent as is"},
		{exactly64, exactly64, "the 64-character boundary moves: Zuora rejects or truncates the header"},
		{tooLong, "zs-sha256-4b0e2b2fdafc493130f0127810aa9247ea86a90c", "track ids of long events change, so log searches by the recorded hash miss"},
		{"a:b", "zs-sha256-6783a31eabf68ccc0660f935c0826282bdd2241f", "ids with ':' change track id (or get sent raw and rejected by Zuora)"},
		{`quote"d`, "zs-sha256-a31b87dcff3b4b3e6f530c9ba3d6c05c800f27eb", `ids with '"' change track id`},
		{"semi;colon", "zs-sha256-078f87a9ec49b3b9651e3175f5af462ceb228f0f", "ids with ';' change track id"},
		{"it's", "zs-sha256-24ceef1cb6b0cbc0b3321021318245760500d1b1", "ids with a quote change track id"},
		{"sp ace", "zs-sha256-ed7f8c6309c245d758893a8644a00c7a97203590", "ids with a space change track id (proxies trim spaces)"},
		{"ünïcode", "zs-sha256-b8be8967e4de3eb294835b174818452317976725", "non-ASCII ids change track id"},
	}
	for _, tc := range cases {
		if got := TrackID(tc.eventID); got != tc.want {
			t.Errorf("TrackID(%q) = %q, want %q: %s", tc.eventID, got, tc.want, tc.why)
		}
	}
}

// The same key must reach the wire: a refactor of Do that derived it from something else (the track id, the
// path, a different separator) would pass the unit vectors above and still break dedupe.
func TestGoldenIdempotencyKeyOnTheWire(t *testing.T) {
	f := newFake(t, nil)
	c := f.client(t)
	ctx := WithEventID(t.Context(), "evt-1")
	if err := c.Do(ctx, Request{Method: "POST", Path: "/v2/accounts", Body: map[string]string{}, Step: "account.create"}, nil); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	// A change means every write in flight across the deploy is repeated under a new key: duplicates in Zuora.
	if got := reqs[0].Header.Get("Idempotency-Key"); got != "zs-c0781f7fcf0ee21fb7da410b36f318bc3457b895" {
		t.Errorf("Idempotency-Key %q", got)
	}
	// A change means log searches by event id in Zuora find nothing.
	if got := reqs[0].Header.Get("Zuora-Track-Id"); got != "evt-1" {
		t.Errorf("Zuora-Track-Id %q", got)
	}
}
