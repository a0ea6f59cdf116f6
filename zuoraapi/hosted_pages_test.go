package zuoraapi_test

import (
	"testing"

	"github.com/zuora-sync/zuora-sync/zuoraapi"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

const hostedPageURI = "https://apisandbox.zuora.com/apps/PublicHostedPageLite.do"

func TestHostedPagesAgainstSimulator(t *testing.T) {
	_, c := simClient(t)
	ctx := evt("evt-hpm-1")
	pages, err := c.ListHostedPages(ctx, "")
	if err != nil || len(pages) != 2 || pages[0].PageID != zuorasim.HostedPageCreditCardID || pages[0].PageType != "Credit Card" {
		t.Fatalf("pages %+v, %v", pages, err)
	}
	if v2, err := c.ListHostedPages(ctx, "2"); err != nil || len(v2) != 2 {
		t.Fatalf("version 2 pages %+v, %v", v2, err)
	}
	acct := newAccount(t, c, "Acme")
	req := &zuoraapi.RSASignatureRequest{URI: hostedPageURI, PageID: zuorasim.HostedPageCreditCardID,
		AccountID: acct.ID, Currency: "USD"}
	sig, err := c.CreateRSASignature(ctx, "signature", req)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig.Token) != 32 || sig.TenantID != zuorasim.TenantID || sig.Key == "" {
		t.Fatalf("signature %+v", sig)
	}
	if err := zuoraapi.VerifyHostedPageSignature(sig, hostedPageURI, zuorasim.HostedPageCreditCardID); err != nil {
		t.Fatal(err)
	}
	// The signature binds token, page and uri.
	forged := *sig
	forged.Token = "A" + sig.Token[1:]
	if forged.Token == sig.Token {
		forged.Token = "B" + sig.Token[1:]
	}
	for name, check := range map[string]func() error{
		"another token": func() error {
			return zuoraapi.VerifyHostedPageSignature(&forged, hostedPageURI, zuorasim.HostedPageCreditCardID)
		},
		"another page": func() error {
			return zuoraapi.VerifyHostedPageSignature(sig, hostedPageURI, zuorasim.HostedPageACHID)
		},
		"another uri": func() error {
			return zuoraapi.VerifyHostedPageSignature(sig, "https://evil.example/apps/PublicHostedPageLite.do", zuorasim.HostedPageCreditCardID)
		},
		"no key": func() error {
			return zuoraapi.VerifyHostedPageSignature(&zuoraapi.RSASignature{Signature: sig.Signature}, hostedPageURI, zuorasim.HostedPageCreditCardID)
		},
	} {
		if check() == nil {
			t.Errorf("%s: the signature verified", name)
		}
	}
	// The same event's step again: the stored answer, token included.
	if again, err := c.CreateRSASignature(ctx, "signature", req); err != nil || again.Token != sig.Token {
		t.Fatalf("replay %+v, %v", again, err)
	}
	_, err = c.CreateRSASignature(ctx, "unknown-page", &zuoraapi.RSASignatureRequest{URI: hostedPageURI, PageID: "8ad0nope"})
	if !zuoraapi.IsNotFound(err) {
		t.Fatalf("unknown page: %v", err)
	}
	if e, _ := zuoraapi.AsError(err); e == nil || !e.Refused() || e.StatusCode != 200 {
		t.Fatalf("unknown page: %+v", e)
	}
}
