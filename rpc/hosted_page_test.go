package rpc

import (
	"encoding/json"
	"testing"

	"github.com/zuora-sync/zuora-sync/handlers"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// The hosted-page request answers what a browser needs to render Zuora's form, with a signature the page's own
// public key verifies; a customer not in Zuora yet and an unknown page come back as JSON errors.
func TestHostedPageIsSignedForTheCustomer(t *testing.T) {
	e := newEnv(t, Config{})
	r := e.request(SubjectHostedPage, handlers.HostedPageRequest{CustomerID: "cust-1"}, nil)
	if r.Error != nil {
		t.Fatalf("hosted page: %s", r.Raw)
	}
	var page handlers.HostedPage
	if err := json.Unmarshal(r.Raw, &page); err != nil {
		t.Fatal(err)
	}
	if page.PageID == "" || page.Token == "" || page.TenantID == "" || page.Key == "" || page.URL == "" {
		t.Fatalf("incomplete answer %+v", page)
	}
	sig := &zuoraapi.RSASignature{Signature: page.Signature, Token: page.Token, TenantID: page.TenantID, Key: page.Key}
	if err := zuoraapi.VerifyHostedPageSignature(sig, page.URL, page.PageID); err != nil {
		t.Fatalf("the signature does not verify with the page's key: %v", err)
	}
	tampered := *sig
	tampered.Token += "x"
	if zuoraapi.VerifyHostedPageSignature(&tampered, page.URL, page.PageID) == nil {
		t.Fatal("a tampered token still verifies")
	}
	e.request(SubjectHostedPage, handlers.HostedPageRequest{CustomerID: "cust-nobody"}, nil).wantError(t, "not_synced", "409", true)
	e.request(SubjectHostedPage, handlers.HostedPageRequest{CustomerID: "cust-1", PageID: "no-such-page"}, nil).
		wantError(t, "not_found", "404", false)
	e.request(SubjectHostedPage, []byte(`{"customer":"cust-1"}`), nil).wantError(t, "bad_request", "400", false)
}
