package zuoraapi

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Hosted payment pages (Payment Pages 2.0), V1: GET /v1/hostedpages (`GetHostedPagesType`) and
// POST /v1/rsa-signatures (`POSTRSASignatureType` → `POSTRSASignatureResponseType`). A page is rendered by the
// browser with the signature, token, tenant id and key that CreateRSASignature returns.

// HostedPage is one Payment Pages page of the tenant.
type HostedPage struct {
	PageID      string `json:"pageId"`
	PageName    string `json:"pageName,omitempty"`
	PageType    string `json:"pageType,omitempty"` // e.g. Credit Card, ACH, Bank Transfer
	PageVersion string `json:"pageVersion,omitempty"`
}

// ListHostedPages lists the tenant's hosted pages (GET /v1/hostedpages); versionNumber "1" or "2" keeps the
// pages of that Payment Pages version, "" lists all.
func (c *Client) ListHostedPages(ctx context.Context, versionNumber string) ([]HostedPage, error) {
	var q url.Values
	if versionNumber != "" {
		q = url.Values{"versionNumber": {versionNumber}}
	}
	var out struct {
		HostedPages []HostedPage `json:"hostedpages"`
	}
	if err := c.Do(ctx, Request{Path: "/v1/hostedpages", Query: q}, &out); err != nil {
		return nil, err
	}
	return out.HostedPages, nil
}

// RSASignatureRequest is the body of POST /v1/rsa-signatures: URI (the URL the page is served from, e.g.
// https://<zuora host>/apps/PublicHostedPageLite.do) and PageID are required; Method is POST (filled in when
// empty). The optional client parameters are validated by Zuora against what the page later submits.
type RSASignatureRequest struct {
	URI            string `json:"uri"`
	Method         string `json:"method"`
	PageID         string `json:"pageId"`
	AccountID      string `json:"accountId,omitempty"`
	Currency       string `json:"currency,omitempty"`
	PaymentGateway string `json:"paymentGateway,omitempty"`
	Locale         string `json:"locale,omitempty"`
}

// RSASignature is the answer of POST /v1/rsa-signatures: Key is the base64 public key (X.509
// SubjectPublicKeyInfo), Signature the base64 signature, Token the page's one-time token.
type RSASignature struct {
	Signature string `json:"signature"`
	Token     string `json:"token"`
	TenantID  string `json:"tenantId"`
	Key       string `json:"key"`
}

// CreateRSASignature asks for the signature, token and key of a hosted page (POST /v1/rsa-signatures).
func (c *Client) CreateRSASignature(ctx context.Context, step string, req *RSASignatureRequest) (*RSASignature, error) {
	body := *req
	if body.Method == "" {
		body.Method = http.MethodPost
	}
	var out RSASignature
	if err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/v1/rsa-signatures", Body: &body, Step: step}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// HostedPageSignedMessage is the message whose RSA-SHA256 signature VerifyHostedPageSignature checks: the
// parts uri, tenant id, token and page id joined by "#". Zuora does not document what the rsa-signatures
// signature covers; this is the layout the simulator (zuorasim) signs, modelled on Zuora's documented basic
// callback signature (parts joined by "#").
func HostedPageSignedMessage(uri, tenantID, token, pageID string) string {
	return uri + "#" + tenantID + "#" + token + "#" + pageID
}

// VerifyHostedPageSignature checks sig with the key it carries: the key must be an RSA SubjectPublicKeyInfo and
// the signature an RSASSA-PKCS1-v1_5 SHA-256 signature of HostedPageSignedMessage(uri, sig.TenantID,
// sig.Token, pageID), uri and pageID being those of the request. It proves the answer's parts belong together
// and to that page; against real Zuora it holds only if Zuora signs the same message (see
// HostedPageSignedMessage).
func VerifyHostedPageSignature(sig *RSASignature, uri, pageID string) error {
	if sig == nil || sig.Key == "" || sig.Signature == "" {
		return errors.New("zuoraapi: hosted page signature: no key or no signature")
	}
	der, err := base64.StdEncoding.DecodeString(sig.Key)
	if err != nil {
		return fmt.Errorf("zuoraapi: hosted page signature: key: %w", err)
	}
	parsed, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return fmt.Errorf("zuoraapi: hosted page signature: key: %w", err)
	}
	pub, ok := parsed.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("zuoraapi: hosted page signature: key is %T, not RSA", parsed)
	}
	raw, err := base64.StdEncoding.DecodeString(sig.Signature)
	if err != nil {
		return fmt.Errorf("zuoraapi: hosted page signature: %w", err)
	}
	digest := sha256.Sum256([]byte(HostedPageSignedMessage(uri, sig.TenantID, sig.Token, pageID)))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], raw); err != nil {
		return fmt.Errorf("zuoraapi: hosted page signature does not verify: %w", err)
	}
	return nil
}
