package zuorasim

import (
	"encoding/xml"
	"net/http"
	"strings"
)

// GET /v1/describe/{object}: an object's fields as XML (GET_Describe), with the tenant's custom fields. Zuora has
// no REST operation that defines custom fields on standard objects, so this is how a client checks them; the
// simulator's come from Config.CustomFields (DefaultCustomFields) and POST /_sim/custom-fields.

// describedObjects are the standard objects the simulator describes, with a few of their standard fields, and
// the name its custom fields are kept under.
var describedObjects = map[string]struct {
	customAs string
	standard []string
}{
	"Account":         {"Account", []string{"Id", "AccountNumber", "Name", "Currency", "Status", "DefaultPaymentMethodId"}},
	"Subscription":    {"Subscription", []string{"Id", "Name", "AccountId", "Status", "Version", "TermEndDate"}},
	"Product":         {"Product", []string{"Id", "Name", "SKU", "Description"}},
	"ProductRatePlan": {"Plan", []string{"Id", "Name", "ProductId", "Description"}},
	"Order":           {"Order", []string{"Id", "OrderNumber", "Status", "OrderDate"}},
	"Invoice":         {"Invoice", []string{"Id", "InvoiceNumber", "Amount", "Balance", "Status", "DueDate"}},
}

type describeField struct {
	Name     string   `xml:"name"`
	Label    string   `xml:"label"`
	Type     string   `xml:"type"`
	Contexts []string `xml:"contexts>context"`
}

type describeObject struct {
	XMLName xml.Name        `xml:"object"`
	Name    string          `xml:"name"`
	Label   string          `xml:"label"`
	Fields  []describeField `xml:"fields>field"`
}

func (s *Sim) describe(r *http.Request, st *store) (reply, *apiError) {
	name := r.PathValue("object")
	obj, ok := describedObjects[name]
	if !ok {
		return reply{}, errNotFound("object", name)
	}
	out := describeObject{Name: name, Label: name}
	for _, f := range obj.standard {
		out.Fields = append(out.Fields, describeField{Name: f, Label: f, Type: "text", Contexts: []string{"soap", "export"}})
	}
	for _, f := range st.customFieldNames(obj.customAs) {
		out.Fields = append(out.Fields, describeField{Name: f, Label: strings.TrimSuffix(f, "__c"), Type: "text",
			Contexts: []string{"soap", "export"}})
	}
	b, _ := xml.MarshalIndent(out, "", "  ") // of plain strings: cannot fail
	return replyOK(rawBody{contentType: "text/xml; charset=utf-8", data: append([]byte(xml.Header), b...)}), nil
}
