package zuorasim

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"testing"
)

const pageURI = "https://sandbox.na.zuora.com/apps/PublicHostedPageLite.do"

func TestListHostedPages(t *testing.T) {
	h := newConformingHarness(t, Config{})
	pages := v1OK(t, h.do("GET", "/v1/hostedpages", nil))["hostedpages"].([]any)
	if len(pages) != 2 {
		t.Fatalf("pages %v", pages)
	}
	first := pages[0].(map[string]any)
	if first["pageId"] != HostedPageCreditCardID || first["pageType"] != "Credit Card" || first["pageVersion"] != "2.0" ||
		pages[1].(map[string]any)["pageId"] != HostedPageACHID {
		t.Fatalf("pages %v", pages)
	}
	if got := v1OK(t, h.do("GET", "/v1/hostedpages?versionNumber=2", nil))["hostedpages"].([]any); len(got) != 2 {
		t.Fatalf("version 2: %v", got)
	}
	if got := v1OK(t, h.do("GET", "/v1/hostedpages?versionNumber=1", nil))["hostedpages"].([]any); len(got) != 0 {
		t.Fatalf("version 1: %v", got)
	}
	if code := v1Err(t, h.do("GET", "/v1/hostedpages?versionNumber=3", nil), 200); code%100 != catInvalidQuery {
		t.Fatalf("version 3: code %d", code)
	}
}

// verifySignature checks an rsa-signatures answer with its own key, as a page would.
func verifySignature(t *testing.T, m map[string]any, uri, pageID string) *rsa.PublicKey {
	t.Helper()
	der, err := base64.StdEncoding.DecodeString(m["key"].(string))
	if err != nil {
		t.Fatalf("key is not base64: %v", err)
	}
	parsed, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatalf("key is not a SubjectPublicKeyInfo: %v", err)
	}
	pub, ok := parsed.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() != hostedPageKeyBits {
		t.Fatalf("key is %T of %d bits", parsed, pub.N.BitLen())
	}
	sig, err := base64.StdEncoding.DecodeString(m["signature"].(string))
	if err != nil {
		t.Fatalf("signature is not base64: %v", err)
	}
	digest := sha256.Sum256([]byte(HostedPageSignedMessage(uri, m["tenantId"].(string), m["token"].(string), pageID)))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	return pub
}

func TestRSASignature(t *testing.T) {
	h := newConformingHarness(t, Config{})
	body := map[string]any{"uri": pageURI, "method": "POST", "pageId": HostedPageCreditCardID}
	first := v1OK(t, h.do("POST", "/v1/rsa-signatures", body))
	if tok, _ := first["token"].(string); len(tok) != 32 || first["tenantId"] != TenantID {
		t.Fatalf("answer %v", first)
	}
	key := verifySignature(t, first, pageURI, HostedPageCreditCardID)
	// A second request: a new token, the same tenant key; the signature binds the page and uri.
	second := v1OK(t, h.do("POST", "/v1/rsa-signatures", body))
	if second["token"] == first["token"] || second["key"] != first["key"] {
		t.Fatalf("second answer %v", second)
	}
	if !key.Equal(verifySignature(t, second, pageURI, HostedPageCreditCardID)) {
		t.Fatal("the key changed between requests")
	}
	sig, _ := base64.StdEncoding.DecodeString(first["signature"].(string))
	other := sha256.Sum256([]byte(HostedPageSignedMessage(pageURI, TenantID, first["token"].(string), HostedPageACHID)))
	if rsa.VerifyPKCS1v15(key, crypto.SHA256, other[:], sig) == nil {
		t.Fatal("the signature also verifies for another page")
	}
	// The key survives a reset of the tenant data.
	h.sim.Reset()
	h.token = h.newToken()
	if again := v1OK(t, h.do("POST", "/v1/rsa-signatures", body)); again["key"] != first["key"] {
		t.Fatal("a reset changed the tenant key")
	}
}

func TestRSASignatureIdempotency(t *testing.T) {
	h := newConformingHarness(t, Config{})
	body := map[string]any{"uri": pageURI, "method": "POST", "pageId": HostedPageACHID}
	a := v1OK(t, h.do("POST", "/v1/rsa-signatures", body, "Idempotency-Key: sig-1"))
	b := v1OK(t, h.do("POST", "/v1/rsa-signatures", body, "Idempotency-Key: sig-1"))
	if a["token"] != b["token"] || a["signature"] != b["signature"] {
		t.Fatalf("a replay with the same key answered differently: %v / %v", a, b)
	}
}

func TestRSASignatureValidation(t *testing.T) {
	h := newConformingHarness(t, Config{})
	raw := h.bypass(t)
	acct := h.createAccount("cust-1")
	for _, tc := range []struct {
		name string
		h    *harness
		body map[string]any
		code int
	}{
		{"unknown page", h, map[string]any{"uri": pageURI, "method": "POST", "pageId": "8ad0nope"}, 50000040},
		{"no uri", raw, map[string]any{"method": "POST", "pageId": HostedPageCreditCardID}, 50000022},
		{"no page", raw, map[string]any{"uri": pageURI, "method": "POST"}, 50000022},
		{"relative uri", h, map[string]any{"uri": "/apps/PublicHostedPageLite.do", "method": "POST", "pageId": HostedPageCreditCardID}, 50000020},
		{"uri with a fragment", h, map[string]any{"uri": pageURI + "#x", "method": "POST", "pageId": HostedPageCreditCardID}, 50000020},
		{"GET", h, map[string]any{"uri": pageURI, "method": "GET", "pageId": HostedPageCreditCardID}, 50000020},
		{"unknown account", h, map[string]any{"uri": pageURI, "method": "POST", "pageId": HostedPageCreditCardID, "accountId": "nope"}, 50000040},
		{"disabled currency", h, map[string]any{"uri": pageURI, "method": "POST", "pageId": HostedPageCreditCardID, "currency": "XXX"}, 50000020},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := v1Err(t, tc.h.do("POST", "/v1/rsa-signatures", tc.body), 200); code != tc.code {
				t.Fatalf("code %d, want %d", code, tc.code)
			}
		})
	}
	ok := map[string]any{"uri": pageURI, "method": "POST", "pageId": HostedPageCreditCardID, "accountId": acct["id"],
		"currency": "USD", "passthrough1": "cust-1"}
	verifySignature(t, v1OK(t, h.do("POST", "/v1/rsa-signatures", ok)), pageURI, HostedPageCreditCardID)
}
