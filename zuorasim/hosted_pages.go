package zuorasim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Hosted payment pages (Payment Pages 2.0), V1: GET /v1/hostedpages ("GetHostedPagesType") and
// POST /v1/rsa-signatures ("POSTRSASignatureType" → "POSTRSASignatureResponseType"); BEHAVIOUR.md §8.
//
// The tenant has the pages of HostedPages, with fixed ids. POST /v1/rsa-signatures answers, for a configured
// page, a fresh 32-character token, the tenant id, the tenant's public key and a signature made with the
// private key:
//   - key: the base64 (standard encoding) DER of the public key as an X.509 SubjectPublicKeyInfo;
//   - signature: the base64 (standard encoding) RSASSA-PKCS1-v1_5 signature with SHA-256 of the message
//     HostedPageSignedMessage(uri, tenantId, token, pageId) = uri + "#" + tenantId + "#" + token + "#" + pageId.
//     Zuora does not document what this signature covers; the layout follows its documented basic callback
//     signature (parts joined by "#"). A uri may therefore not contain "#".
//
// The key pair is a real 2048-bit RSA key, one per simulator (Zuora documents no size), made when the first
// signature is asked for and kept for the simulator's life (a reset keeps it: it is tenant configuration, not
// data). Requests: uri (an absolute http(s) URL, the page's Zuora URL, e.g.
// https://<zuora>/apps/PublicHostedPageLite.do), method (POST: the only one Zuora supports) and pageId are
// required; accountId and currency, when given, must name an account and an enabled currency (the client-side
// parameter validation). An unknown pageId answers the V1 not-found failure (HTTP 200, success:false,
// 50000040), as a body reference to a missing object does.

// TenantID is the simulated tenant's id, as POST /v1/rsa-signatures returns it.
const TenantID = "12270"

// The ids of the simulated tenant's hosted pages.
const (
	HostedPageCreditCardID = "8ad09be48db5aba7018db604776d4854"
	HostedPageACHID        = "8ad09be48db5aba7018db604776d4855"
)

// HostedPage is one configured Payment Pages page, as GET /v1/hostedpages lists it.
type HostedPage struct {
	PageID      string `json:"pageId"`
	PageName    string `json:"pageName"`
	PageType    string `json:"pageType"`
	PageVersion string `json:"pageVersion"`
}

// HostedPages are the pages the simulated tenant has configured.
func HostedPages() []HostedPage {
	return []HostedPage{
		{PageID: HostedPageCreditCardID, PageName: "Credit card", PageType: "Credit Card", PageVersion: "2.0"},
		{PageID: HostedPageACHID, PageName: "ACH", PageType: "ACH", PageVersion: "2.0"},
	}
}

// HostedPageSignedMessage is the message POST /v1/rsa-signatures signs (see the file comment).
func HostedPageSignedMessage(uri, tenantID, token, pageID string) string {
	return uri + "#" + tenantID + "#" + token + "#" + pageID
}

// hostedPageSigner holds the tenant's key pair, made on first use.
type hostedPageSigner struct {
	once sync.Once
	key  *rsa.PrivateKey
	pub  string // base64 SubjectPublicKeyInfo
	err  error
}

const hostedPageKeyBits = 2048

func (h *hostedPageSigner) keys() (*rsa.PrivateKey, string, error) {
	h.once.Do(func() {
		h.key, h.err = rsa.GenerateKey(rand.Reader, hostedPageKeyBits)
		if h.err != nil {
			return
		}
		der, err := x509.MarshalPKIXPublicKey(&h.key.PublicKey)
		if err != nil {
			h.err = err
			return
		}
		h.pub = base64.StdEncoding.EncodeToString(der)
	})
	return h.key, h.pub, h.err
}

type hostedPagesResponse struct {
	Success     bool         `json:"success"`
	HostedPages []HostedPage `json:"hostedpages"`
}

// listHostedPages answers the configured pages; versionNumber (1 or 2) keeps the pages of that Payment Pages
// version.
func (s *Sim) listHostedPages(r *http.Request, _ *store) (reply, *apiError) {
	pages := HostedPages()
	if v := r.URL.Query().Get("versionNumber"); v != "" {
		if v != "1" && v != "2" {
			return reply{}, invalidQuery("versionNumber", "'versionNumber' must be 1 (Payment Pages 1.0) or 2 (Payment Pages 2.0)")
		}
		var kept []HostedPage
		for _, p := range pages {
			if major, _, _ := strings.Cut(p.PageVersion, "."); major == v {
				kept = append(kept, p)
			}
		}
		pages = kept
	}
	if pages == nil {
		pages = []HostedPage{}
	}
	return replyOK(hostedPagesResponse{Success: true, HostedPages: pages}), nil
}

// rsaSignatureIn is "POSTRSASignatureType" (the client parameters the simulator does not validate are ignored).
type rsaSignatureIn struct {
	URI       *string `json:"uri"`
	Method    *string `json:"method"`
	PageID    *string `json:"pageId"`
	AccountID *string `json:"accountId"`
	Currency  *string `json:"currency"`
}

type rsaSignatureResponse struct {
	Success   bool   `json:"success"`
	Signature string `json:"signature"`
	Token     string `json:"token"`
	TenantID  string `json:"tenantId"`
	Key       string `json:"key"`
}

func (s *Sim) createRSASignature(r *http.Request, st *store) (reply, *apiError) {
	var in rsaSignatureIn
	if e := decodeV1Body(r, &in); e != nil {
		return reply{}, e
	}
	switch {
	case in.URI == nil || *in.URI == "":
		return reply{}, errMissing("uri")
	case in.Method == nil || *in.Method == "":
		return reply{}, errMissing("method")
	case in.PageID == nil || *in.PageID == "":
		return reply{}, errMissing("pageId")
	}
	if u, err := url.Parse(*in.URI); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		strings.Contains(*in.URI, "#") {
		return reply{}, errInvalid("uri", "'uri' must be the absolute http(s) URL the payment page is served from, without a fragment")
	}
	if *in.Method != http.MethodPost {
		return reply{}, errInvalid("method", "'method' must be POST")
	}
	known := false
	for _, p := range HostedPages() {
		known = known || p.PageID == *in.PageID
	}
	if !known {
		e := errNotFound("hosted page", *in.PageID)
		e.v1Status = http.StatusOK // a body reference: a business failure
		return reply{}, e
	}
	if in.AccountID != nil && *in.AccountID != "" && st.lookupAccount(*in.AccountID) == nil {
		return reply{}, errReferenceNotFound("accountId", *in.AccountID)
	}
	if in.Currency != nil && *in.Currency != "" && !slices.ContainsFunc(st.currencies, func(c string) bool { return strings.EqualFold(c, *in.Currency) }) {
		return reply{}, errInvalid("currency", "'currency' must be a currency enabled in the tenant; '%s' is not", *in.Currency)
	}
	key, pub, err := st.signer.keys()
	if err != nil {
		return reply{}, errStatus(http.StatusInternalServerError, "generating the tenant key: "+err.Error())
	}
	token := newHostedPageToken()
	digest := sha256.Sum256([]byte(HostedPageSignedMessage(*in.URI, TenantID, token, *in.PageID)))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return reply{}, errStatus(http.StatusInternalServerError, "signing: "+err.Error())
	}
	return replyOK(rsaSignatureResponse{Success: true, Signature: base64.StdEncoding.EncodeToString(sig),
		Token: token, TenantID: TenantID, Key: pub}), nil
}

// hostedPageTokenAlphabet is what the 32-character tokens are made of (Zuora's samples are alphanumeric).
const hostedPageTokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func newHostedPageToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = hostedPageTokenAlphabet[int(c)%len(hostedPageTokenAlphabet)]
	}
	return string(out)
}
