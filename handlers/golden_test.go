package handlers

import (
	"strings"
	"testing"

	"github.com/zuora-sync/zuora-sync/idmap"
)

// Golden vectors: literal outputs of the derivations by which handlers find what they created in Zuora and in the
// id map. A change does not fail loudly in production: the handler simply stops finding the existing object and
// creates a second one. The expectations are written out, never recomputed with the code under test.

func TestGoldenSubscriptionNumber(t *testing.T) {
	id58 := strings.Repeat("s", 58) // "stigg-" + 58 bytes = 64, the longest number kept readable
	id59 := strings.Repeat("s", 59)
	id100 := strings.Repeat("0123456789", 10)
	cases := []struct {
		stiggID, want string
		why           string // what breaks in production if want changes
	}{
		{"sub-123", "stigg-sub-123",
			"a replay after Zuora forgot the idempotency key no longer finds the subscription: a second one is created"},
		{"3f2c9a7e-0d1b-4c55-9e3a-8f1d2b3c4d5e", "stigg-3f2c9a7e-0d1b-4c55-9e3a-8f1d2b3c4d5e",
			"UUID-shaped Stigg ids get a different number: duplicate subscriptions"},
		{id58, "stigg-" + id58, "the 64-character boundary moves: ids near it change number, duplicate subscriptions"},
		{id59, "stigg-796ce54292d88c32727eecf04de08fd0", "long ids change number: duplicate subscriptions"},
		{id100, "stigg-9cfe7faff7054298ca87557e15a10262", "100-byte ids change number: duplicate subscriptions"},
		{"sub/1", "stigg-edd2de5a17eae52e3791b768e07cd8b3", "ids with '/' change number (or are sent raw and break the URL path)"},
		{"sub 1", "stigg-e792dd72d6562f135c332a78bb768734", "ids with a space change number"},
		{"sub?1", "stigg-29a253ecf2de819e11d528c0773f2996", "ids with '?' change number (or truncate the path at the query)"},
		{"sub#1", "stigg-18324b0970abce9a0eb0c412b08e12b3", "ids with '#' change number (or truncate the path at the fragment)"},
		{"sub%1", "stigg-9930f18020f285dc59f390779c81b037", "ids with '%' change number (or are unescaped into another id)"},
		{"sübscription", "stigg-sübscription", "non-ASCII ids change number: duplicate subscriptions"},
	}
	for _, tc := range cases {
		if got := subscriptionNumberFor(tc.stiggID); got != tc.want {
			t.Errorf("subscriptionNumberFor(%q) = %q, want %q: %s", tc.stiggID, got, tc.want, tc.why)
		}
	}
}

func TestGoldenIDMapKey(t *testing.T) {
	long := strings.Repeat("x", 201) // encodes past topology.MaxKVKeyToken
	cases := []struct {
		kind, id, want string
		why            string // what breaks in production if want changes
	}{
		{KindCustomer, "cust-1", "stigg.customer.cust-1",
			"customers mapped before the deploy are not found: a second Zuora account per customer"},
		{KindCustomer, "cust.1@acme.test", "stigg.customer.cust=2E1=40acme=2Etest",
			"customers with punctuation in their id lose their mapping"},
		{KindSubscription, "sub_1/a b", "stigg.subscription.sub_1=2Fa=20b",
			"subscriptions lose their mapping (and the stored Zuora number): duplicate orders"},
		{KindPackage, "plan-pro", "stigg.package.plan-pro", "packages lose their product, plans and charges: duplicate catalog"},
		{KindUOM, "Seat licence", "stigg.uom.Seat=20licence", "units of measure are created again (Zuora refuses the duplicate)"},
		{KindPackageProgress, "plan-pro", "stigg.package-progress.plan-pro", "half-synced packages restart from scratch"},
		{KindCustomer, "ünï", "stigg.customer.=C3=BCn=C3=AF", "non-ASCII ids lose their mapping"},
		{KindCustomer, "", "stigg.customer.=", "the empty-id sentinel moves"},
		{KindCustomer, long, "stigg.customer.=H84a0678c90937f5dcf9994d5866668da6b995109c8ad845410559b48a4ecafed",
			"over-long ids lose their mapping"},
	}
	for _, tc := range cases {
		if got := idmap.Key(tc.kind, tc.id); got != tc.want {
			t.Errorf("idmap.Key(%q, %q) = %q, want %q: %s", tc.kind, tc.id, got, tc.want, tc.why)
		}
	}
}

func TestGoldenProductSKU(t *testing.T) {
	// A change makes a package whose id map entry was lost create a second product instead of finding its SKU.
	if got := productSKU("plan-pro"); got != "stigg-plan-pro" {
		t.Errorf("productSKU(plan-pro) = %q", got)
	}
	if got := productSKU("pkg.1/a-b"); got != "stigg-pkg.1/a-b" {
		t.Errorf("productSKU(pkg.1/a-b) = %q", got)
	}
	// Too long for Zuora's 50-character SKU, or unsafe in the sku.EQ: filter: hashed.
	for id, want := range map[string]string{
		"pkg.1/a b":             "stigg-517c3e768aba83f4e56982732543cec0",
		strings.Repeat("p", 45): "stigg-1d6de33a92128c8807f806748227096c",
	} {
		if got := productSKU(id); got != want {
			t.Errorf("productSKU(%q) = %q, want %q", id, got, want)
		}
		if got := productSKU(id); len(got) > 50 {
			t.Errorf("productSKU(%q) = %q is longer than Zuora's SKU", id, got)
		}
	}
}

func TestGoldenScheduleStep(t *testing.T) {
	cases := []struct {
		base      string
		cancelled []string
		want      string
		why       string // what breaks in production if want changes
	}{
		{"order.schedule", nil, "order.schedule",
			"a scheduled change retried across the deploy gets a fresh key: a second scheduled order"},
		{"order.schedule", []string{"O-00000001"}, "order.schedule/after-01eed9eb32d4fc4a",
			"a retry after cancelling a pending order replays, or duplicates, the scheduled order"},
		{"order.cancel", []string{"O-00000001", "O-00000002"}, "order.cancel/after-45002e50fea3a701",
			"a cancellation retried after cancelling pending orders creates a second cancel order"},
	}
	for _, tc := range cases {
		if got := scheduleStep(tc.base, tc.cancelled); got != tc.want {
			t.Errorf("scheduleStep(%q, %q) = %q, want %q: %s", tc.base, tc.cancelled, got, tc.want, tc.why)
		}
	}
}
