package conformance

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// XML bodies. A few V1 operations answer text/xml (GET /v1/describe/{object}), which kin-openapi cannot decode.
// The decoder below reads XML into the shape its schema describes, so those answers are checked like JSON ones:
// an object's properties are its child elements, an array's items are the children of its element (whatever they
// are called: <fields><field/><field/></fields>), a primitive is an element's text; a root element named after a
// property of the schema is that property.

var registerXML sync.Once

func registerXMLDecoder() {
	registerXML.Do(func() {
		openapi3filter.RegisterBodyDecoder("text/xml", decodeXMLBody)
		openapi3filter.RegisterBodyDecoder("application/xml", decodeXMLBody)
	})
}

// xmlNode is an element with its children and text.
type xmlNode struct {
	XMLName  xml.Name
	Children []xmlNode `xml:",any"`
	Text     string    `xml:",chardata"`
}

func decodeXMLBody(body io.Reader, _ http.Header, schema *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	var root xmlNode
	if err := xml.NewDecoder(body).Decode(&root); err != nil {
		return nil, fmt.Errorf("malformed XML: %w", err)
	}
	s := schema.Value
	if s != nil && s.Properties[root.XMLName.Local] != nil && root.XMLName.Local != "" {
		return map[string]any{root.XMLName.Local: xmlValue(root, s.Properties[root.XMLName.Local])}, nil
	}
	return xmlValue(root, schema), nil
}

func xmlValue(n xmlNode, ref *openapi3.SchemaRef) any {
	var s *openapi3.Schema
	if ref != nil {
		s = ref.Value
	}
	switch {
	case s != nil && s.Type.Is("array"):
		out := make([]any, 0, len(n.Children))
		for _, c := range n.Children {
			out = append(out, xmlValue(c, s.Items))
		}
		return out
	case s != nil && s.Type.Is("object") || len(n.Children) > 0:
		out := map[string]any{}
		for _, c := range n.Children {
			var prop *openapi3.SchemaRef
			if s != nil {
				prop = s.Properties[c.XMLName.Local]
			}
			out[c.XMLName.Local] = xmlValue(c, prop)
		}
		return out
	}
	text := strings.TrimSpace(n.Text)
	switch {
	case s != nil && s.Type.Is("boolean"):
		if b, err := strconv.ParseBool(text); err == nil {
			return b
		}
	case s != nil && (s.Type.Is("integer") || s.Type.Is("number")):
		if f, err := strconv.ParseFloat(text, 64); err == nil {
			return f
		}
	}
	return text
}
