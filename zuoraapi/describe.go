package zuoraapi

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/url"
)

// GET /v1/describe/{object} (GET_Describe): an object's fields, as XML. It is how a tenant's custom fields can be
// checked: Zuora has no REST operation that defines custom fields on its standard objects.

// DescribedField is one field of a described object.
type DescribedField struct {
	Name  string `xml:"name"`
	Label string `xml:"label"`
	Type  string `xml:"type"`
}

// DescribeFields lists the fields of a Zuora object (Account, Subscription, Product, ...).
func (c *Client) DescribeFields(ctx context.Context, object string) ([]DescribedField, error) {
	var raw RawBody
	h := http.Header{"Accept": {"text/xml"}}
	if err := c.Do(ctx, Request{Path: "/v1/describe/" + url.PathEscape(object), Header: h}, &raw); err != nil {
		return nil, err
	}
	// The root must be <object>: a proxy's HTML page is well-formed XML often enough, and would read as an
	// object without fields (so every custom field would seem missing).
	var doc struct {
		XMLName xml.Name         `xml:"object"`
		Fields  []DescribedField `xml:"fields>field"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		return nil, &Error{Kind: KindUnknown, StatusCode: http.StatusOK, Method: http.MethodGet, Path: "/v1/describe/" + object,
			Message: "decoding the object description: " + err.Error(), err: err}
	}
	return doc.Fields, nil
}
