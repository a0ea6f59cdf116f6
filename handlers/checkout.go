package handlers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/idmap"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// HostedPageRequest asks for what a browser needs to render Zuora's hosted payment page for a customer.
type HostedPageRequest struct {
	CustomerID string `json:"customerId"`
	// PageID picks one of the tenant's hosted pages; empty takes the first one Zuora lists.
	PageID string `json:"pageId,omitempty"`
}

// HostedPage is the answer: the page, Zuora's signature over it, the one-time token, the tenant, the public key
// that verifies the signature, and the URL the form posts to.
type HostedPage struct {
	PageID    string `json:"pageId"`
	Signature string `json:"signature"`
	Token     string `json:"token"`
	TenantID  string `json:"tenantId"`
	Key       string `json:"key"`
	URL       string `json:"url"`
}

// hostedPagePath is where Zuora serves hosted payment pages (Payment Pages 2.0).
const hostedPagePath = "/apps/PublicHostedPageLite.do"

// Checkout answers hosted-page requests. The tenant's page list is cached and read again when a page is not in it.
type Checkout struct {
	deps Deps
	ttl  time.Duration

	mu      sync.Mutex
	pages   []zuoraapi.HostedPage
	fetched time.Time
}

// NewCheckout builds the service.
func NewCheckout(d Deps) *Checkout { return &Checkout{deps: d.withDefaults(), ttl: 10 * time.Minute} }

// HostedPage signs the customer's hosted payment page. A customer without a Zuora account is not synced yet; an
// unknown page is not found.
func (c *Checkout) HostedPage(ctx context.Context, req *HostedPageRequest) (*HostedPage, error) {
	if strings.TrimSpace(req.CustomerID) == "" {
		return nil, badRequest("customerId is required")
	}
	acct, err := c.deps.IDs.Get(ctx, KindCustomer, req.CustomerID)
	if errors.Is(err, idmap.ErrNotFound) {
		return nil, dispatch.Defer(fmt.Errorf("customer %s has no Zuora account yet", req.CustomerID))
	}
	if err != nil {
		return nil, err
	}
	pageID, err := c.page(ctx, req.PageID)
	if err != nil {
		return nil, err
	}
	url := c.deps.Zuora.BaseURL() + hostedPagePath
	sig, err := c.deps.Zuora.CreateRSASignature(ctx, "rsa.signature", &zuoraapi.RSASignatureRequest{
		URI: url, Method: "POST", PageID: pageID, AccountID: acct.ZuoraID})
	if zuoraapi.IsNotFound(err) {
		c.forget()
		return nil, fmt.Errorf("%w: Zuora has no hosted page %s", ErrNotFound, pageID)
	}
	if err != nil {
		return nil, describe(err, "sign hosted page "+pageID)
	}
	return &HostedPage{PageID: pageID, Signature: sig.Signature, Token: sig.Token, TenantID: sig.TenantID, Key: sig.Key,
		URL: url}, nil
}

// page resolves the requested page (or the default one) against the cached list, reading it again once when the
// page is missing or the list is old.
func (c *Checkout) page(ctx context.Context, want string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for attempt := 0; attempt < 2; attempt++ {
		if attempt == 1 || c.pages == nil || time.Since(c.fetched) > c.ttl {
			pages, err := c.deps.Zuora.ListHostedPages(ctx, "2")
			if err != nil {
				return "", describe(err, "list Zuora hosted pages")
			}
			c.pages, c.fetched = pages, time.Now()
		}
		if want == "" && len(c.pages) > 0 {
			return c.pages[0].PageID, nil
		}
		if want != "" && slices.ContainsFunc(c.pages, func(p zuoraapi.HostedPage) bool { return p.PageID == want }) {
			return want, nil
		}
	}
	if want == "" {
		return "", fmt.Errorf("%w: the Zuora tenant has no hosted payment page; create one in Zuora (Payment Pages 2.0)", ErrNotFound)
	}
	return "", fmt.Errorf("%w: Zuora has no hosted page %s", ErrNotFound, want)
}

func (c *Checkout) forget() {
	c.mu.Lock()
	c.pages = nil
	c.mu.Unlock()
}
