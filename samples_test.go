package zuorasync

import (
	"encoding/json"
	"testing"

	"github.com/zuora-sync/zuora-sync/events"
)

// The samples are what `make run` publishes and what the tests build on: every one must be a valid payload.
func TestSamplesAreValidPayloads(t *testing.T) {
	for file, newPayload := range map[string]func() events.Payload{
		"testdata/customers.json": func() events.Payload { return &events.Customer{} },
		"testdata/catalog.json":   func() events.Payload { return &events.PackagePublished{} },
	} {
		raw, err := Samples.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(items) == 0 {
			t.Fatalf("%s has no samples", file)
		}
		for i, item := range items {
			p := newPayload()
			if err := json.Unmarshal(item, p); err != nil {
				t.Fatalf("%s[%d]: %v", file, i, err)
			}
			if err := p.Validate(); err != nil {
				t.Errorf("%s[%d]: %v", file, i, err)
			}
		}
	}
}
