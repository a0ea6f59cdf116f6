package zuoraapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"github.com/zuora-sync/zuora-sync/internal/conformance"
)

// checkedClient is the fake's client with Zuora's OpenAPI specs validating every request and response on the
// way, so a body the spec rejects fails the test even when the fake would accept it.
func (f *fakeZuora) checkedClient(t *testing.T) *Client {
	t.Helper()
	checker := conformance.Load(t)
	return f.client(t, func(c *Config) {
		c.Transport = checker.Transport(t, specRequestIDs{c.Transport})
	})
}

// specRequestIDs stamps responses with a UUID Zuora-Request-Id: the specs document exactly 36 characters,
// and the shared fake's ids are shorter.
type specRequestIDs struct{ next http.RoundTripper }

func (s specRequestIDs) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if err == nil {
		resp.Header.Set("Zuora-Request-Id", uuid.NewString())
	}
	return resp, err
}

// sameJSON fails unless got and want are the same JSON value (member order and spacing aside).
func sameJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %q: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		gi, _ := json.MarshalIndent(g, "", "  ")
		wi, _ := json.MarshalIndent(w, "", "  ")
		t.Fatalf("JSON differs\n got: %s\nwant: %s", gi, wi)
	}
}

// lastRequest returns the fake's most recent API request.
func (f *fakeZuora) lastRequest(t *testing.T) recorded {
	t.Helper()
	reqs := f.requests()
	if len(reqs) == 0 {
		t.Fatal("no API request was made")
	}
	return reqs[len(reqs)-1]
}
