package zuoraapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// The Quickstart (v2) resources share one shape of call: create (POST), read by id with expand[], partial update
// (PATCH), and filtered lists that follow next_page. These helpers are that shape once; each resource family
// file only names its path and types.

// quickstartObject is a Quickstart object as the client decodes it; every one Zuora returns has an id.
type quickstartObject[T any] interface {
	*T
	objectID() string
}

func (a *Account) objectID() string       { return a.ID }
func (p *PaymentMethod) objectID() string { return p.ID }
func (p *Plan) objectID() string          { return p.ID }
func (p *Price) objectID() string         { return p.ID }
func (p *Product) objectID() string       { return p.ID }
func (u *UsageRecord) objectID() string   { return u.ID }

// withID refuses an answer whose object has no id ({} or {"success":true} in a 2xx): the zero value would pass
// for the object Zuora made or holds, and a caller would record an empty id. Kind Unknown: a write's outcome is
// not known from such an answer.
func withID[T any, PT quickstartObject[T]](out PT, method, path string) (*T, error) {
	if out.objectID() == "" {
		return nil, &Error{Kind: KindUnknown, StatusCode: http.StatusOK, Method: method, Path: path,
			Message: "answered without the object's id"}
	}
	return out, nil
}

func qsCreate[T any, PT quickstartObject[T]](c *Client, ctx context.Context, step, path string, body any) (*T, error) {
	var out T
	if err := c.Do(ctx, Request{Method: http.MethodPost, Path: path, Body: body, Step: step}, &out); err != nil {
		return nil, err
	}
	return withID[T, PT](&out, http.MethodPost, path)
}

func qsGet[T any, PT quickstartObject[T]](c *Client, ctx context.Context, path, id string, expand []string) (*T, error) {
	var out T
	if err := c.Do(ctx, Request{Path: path + "/" + url.PathEscape(id), Query: expandQuery(expand)}, &out); err != nil {
		return nil, err
	}
	return withID[T, PT](&out, http.MethodGet, path+"/"+id)
}

func qsPatch[T any, PT quickstartObject[T]](c *Client, ctx context.Context, step, path, id string, body any) (*T, error) {
	var out T
	err := c.Do(ctx, Request{Method: http.MethodPatch, Path: path + "/" + url.PathEscape(id), Body: body, Step: step}, &out)
	if err != nil {
		return nil, err
	}
	return withID[T, PT](&out, http.MethodPatch, path+"/"+id)
}

// maxListPages bounds cursor following in list helpers, which are meant for narrow filtered look-ups.
const maxListPages = 20

// tooManyPages is the *Error of a list that goes on past its bound of pages, for the lists whose callers need
// every entry: Kind Unknown (Zuora did not refuse anything; a later read may find fewer pages).
func tooManyPages(path string, bound int) *Error {
	return &Error{Kind: KindUnknown, StatusCode: http.StatusOK, Method: http.MethodGet, Path: path,
		Message: fmt.Sprintf("more than %d pages", bound)}
}

// qsPage is one page of a Quickstart list.
type qsPage[T any] struct {
	Data     []T    `json:"data"`
	NextPage string `json:"next_page"`
}

// qsFind lists the rows matching all filters (Quickstart filter syntax, e.g. "sku.EQ:SKU-PRO"), following
// next_page up to maxListPages.
func qsFind[T any](c *Client, ctx context.Context, path string, filters []string) ([]T, error) {
	var all []T
	cursor := ""
	for range maxListPages {
		q := url.Values{"page_size": {"99"}}
		for _, f := range filters {
			if f = strings.TrimSpace(f); f != "" {
				q.Add("filter[]", f)
			}
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page qsPage[T]
		if err := c.Do(ctx, Request{Path: path, Query: q}, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Data...)
		if page.NextPage == "" || page.NextPage == cursor {
			break
		}
		cursor = page.NextPage
	}
	return all, nil
}

func expandQuery(expand []string) url.Values {
	if len(expand) == 0 {
		return nil
	}
	return url.Values{"expand[]": expand}
}

// emptyJSON tells whether a patch would send nothing.
func emptyJSON(v any) bool {
	b, err := json.Marshal(v)
	return err == nil && string(b) == "{}"
}
