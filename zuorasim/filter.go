package zuorasim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Quickstart list filters. The grammar "{field}.{operator}:{value}" and the operators EQ, NE, LT, GT, LE, GE, SW
// and IN (value "[a,b]") are from Zuora's "Filter lists" tutorial; several filter[] parameters are ANDed.
// Inferred, not documented: custom fields are filtered by their API name (stiggCustomerId__c.EQ:cust-1; the
// tutorial only says "any indexed custom field"), custom_fields.<name> is accepted as an alias, and LT/GT/LE/GE
// compare numbers, then RFC 3339 times, then strings.

type filterClause struct {
	Field  string
	Op     string
	Values []string // one value, or the IN list
}

var filterOps = map[string]bool{"EQ": true, "NE": true, "LT": true, "GT": true, "LE": true, "GE": true, "SW": true, "IN": true}

// parseFilter parses one filter[] value.
func parseFilter(raw string) (filterClause, error) {
	left, value, ok := strings.Cut(raw, ":")
	if !ok {
		return filterClause{}, fmt.Errorf("filter %q must have the form field.OPERATOR:value", raw)
	}
	dot := strings.LastIndexByte(left, '.')
	if dot <= 0 {
		return filterClause{}, fmt.Errorf("filter %q must have the form field.OPERATOR:value", raw)
	}
	field, op := left[:dot], left[dot+1:]
	if !filterOps[op] {
		return filterClause{}, fmt.Errorf("filter %q: unknown operator %q", raw, op)
	}
	for _, c := range field {
		if !(unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' || c == '.' || c == '[' || c == ']') {
			return filterClause{}, fmt.Errorf("filter %q: invalid field name %q", raw, field)
		}
	}
	if strings.ContainsFunc(value, unicode.IsControl) {
		return filterClause{}, fmt.Errorf("filter %q: value contains control characters", raw)
	}
	fc := filterClause{Field: field, Op: op}
	if op == "IN" {
		if len(value) < 2 || value[0] != '[' || value[len(value)-1] != ']' {
			return filterClause{}, fmt.Errorf("filter %q: IN takes a list like [a,b]", raw)
		}
		for v := range strings.SplitSeq(value[1:len(value)-1], ",") {
			fc.Values = append(fc.Values, v)
		}
		return fc, nil
	}
	if value == "" {
		return filterClause{}, fmt.Errorf("filter %q: missing value", raw)
	}
	fc.Values = []string{value}
	return fc, nil
}

// filterable describes a Quickstart collection's filter[] fields: the documented filterable fields, read from the
// row as the API renders it (its JSON names), and the custom fields the tenant defines on object (by name, or as
// custom_fields.<name>). One reader for every list endpoint, so a filter always sees what a client would.
type filterable struct {
	object string          // custom-field object: "Account", "Product", …
	fields map[string]bool // documented filterable fields
}

func filterFields(object string, fields ...string) filterable {
	f := filterable{object: object, fields: map[string]bool{}}
	for _, name := range fields {
		f.fields[name] = true
	}
	return f
}

// lookup reads the filter values of one rendered row. The caller holds the store lock.
func (f filterable) lookup(st *store, view any) (fieldLookup, error) {
	b, err := json.Marshal(view)
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, err
	}
	return func(field string) (string, bool) {
		if f.fields[field] {
			return filterText(obj[field]), true
		}
		name := strings.TrimPrefix(field, "custom_fields.")
		if !st.customFieldDefined(f.object, name) {
			return "", false
		}
		custom, _ := obj["custom_fields"].(map[string]any)
		return filterText(custom[name]), true
	}, nil
}

// filterText is a JSON value as a filter compares it: strings as they are, numbers in their shortest form,
// booleans as true/false, absent or null as "".
func filterText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// fieldLookup returns an object's value of a filterable field as a string, and whether the field is filterable.
// A filterable field the object has no value for returns ("", true).
type fieldLookup func(field string) (string, bool)

// matches reports whether the object passes every clause. An unknown field is an error (400 for the caller).
func matches(clauses []filterClause, lookup fieldLookup) (bool, error) {
	for _, c := range clauses {
		got, ok := lookup(c.Field)
		if !ok {
			return false, fmt.Errorf("field %q cannot be used in a filter", c.Field)
		}
		if !c.match(got) {
			return false, nil
		}
	}
	return true, nil
}

func (c filterClause) match(got string) bool {
	switch c.Op {
	case "EQ":
		return got == c.Values[0]
	case "NE":
		return got != c.Values[0]
	case "SW":
		return strings.HasPrefix(got, c.Values[0])
	case "IN":
		for _, v := range c.Values {
			if got == v {
				return true
			}
		}
		return false
	}
	if got == "" {
		return false
	}
	cmp := compareValues(got, c.Values[0])
	switch c.Op {
	case "LT":
		return cmp < 0
	case "GT":
		return cmp > 0
	case "LE":
		return cmp <= 0
	default: // GE
		return cmp >= 0
	}
}

// compareValues orders two values as numbers, as times, or as strings, whichever both parse as first.
func compareValues(a, b string) int {
	if fa, err := strconv.ParseFloat(a, 64); err == nil {
		if fb, err := strconv.ParseFloat(b, 64); err == nil {
			switch {
			case fa < fb:
				return -1
			case fa > fb:
				return 1
			}
			return 0
		}
	}
	if ta, err := time.Parse(time.RFC3339, a); err == nil {
		if tb, err := time.Parse(time.RFC3339, b); err == nil {
			return ta.Compare(tb)
		}
	}
	return strings.Compare(a, b)
}
