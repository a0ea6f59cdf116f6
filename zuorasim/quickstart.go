package zuorasim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Helpers shared by the Quickstart (/v2) endpoints: strict body decoding, list parameters, fields[] and expand[].

// decodeBody decodes a JSON body into v, rejecting unknown fields (the spec's request schemas have
// additionalProperties: false) and reporting wrong types against the offending parameter.
func decodeBody(r *http.Request, v any) *apiError {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return errMalformed(err)
	}
	return decodeJSON(body, v)
}

func decodeJSON(body []byte, v any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return errMalformed(errors.New("empty body"))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			// encoding/json names a promoted field's path with its embedded struct; Zuora names the body field.
			param := strings.ReplaceAll(typeErr.Field, "quickstartInputBase.", "")
			if param == "" {
				return errMalformed(errors.New("the body must be a JSON object"))
			}
			return errInvalid(param, "'%s' must be of type %s", param, jsonTypeName(typeErr.Type.String()))
		}
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return errUnknownParam(strings.Trim(name, `"`))
		}
		return errMalformed(err)
	}
	if dec.More() {
		return errMalformed(errors.New("unexpected data after the JSON object"))
	}
	return nil
}

func jsonTypeName(goType string) string {
	goType = strings.TrimLeft(goType, "*")
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "integer"
	case strings.HasPrefix(goType, "float"):
		return "number"
	case goType == "bool":
		return "boolean"
	case goType == "string":
		return "string"
	case strings.HasPrefix(goType, "[]"):
		return "array"
	default:
		return "object"
	}
}

// listParams are the common Quickstart list query parameters.
type listParams struct {
	pageSize int
	offset   int
	filters  []filterClause
	fields   []string
	expand   expandSet
}

// defaultPageSize is used when page_size is absent. Inferred: the spec only bounds page_size to 1..99.
const defaultPageSize = 10

func parseListParams(r *http.Request, object string) (listParams, *apiError) {
	q := r.URL.Query()
	p := listParams{pageSize: defaultPageSize, fields: parseFields(r, object), expand: parseExpand(r)}
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 99 {
			return p, errInvalid("page_size", "'page_size' must be an integer between 1 and 99")
		}
		p.pageSize = n
	}
	if c := q.Get("cursor"); c != "" {
		off, err := decodeCursor(c)
		if err != nil {
			return p, errInvalid("cursor", "'cursor' is not a valid cursor")
		}
		p.offset = off
	}
	for _, raw := range q["filter[]"] {
		fc, err := parseFilter(raw)
		if err != nil {
			return p, errInvalid("filter[]", "%s", err.Error())
		}
		p.filters = append(p.filters, fc)
	}
	return p, nil
}

// Cursors are opaque to clients; the simulator encodes the offset of the next page.
func encodeCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset)))
}

func decodeCursor(c string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, fmt.Errorf("decode cursor: %w", err)
	}
	n, ok := strings.CutPrefix(string(b), "offset:")
	if !ok {
		return 0, errors.New("decode cursor: bad prefix")
	}
	off, err := strconv.Atoi(n)
	if err != nil || off < 0 {
		return 0, errors.New("decode cursor: bad offset")
	}
	return off, nil
}

// page cuts one page out of items and returns the next_page cursor (nil on the last page).
func page[T any](items []T, p listParams) ([]T, *string) {
	if p.offset >= len(items) {
		return []T{}, nil
	}
	end := min(p.offset+p.pageSize, len(items))
	out := items[p.offset:end]
	if end < len(items) {
		c := encodeCursor(end)
		return out, &c
	}
	return out, nil
}

// expandSet is the set of expand[] names of a request.
type expandSet map[string]bool

func parseExpand(r *http.Request) expandSet {
	set := expandSet{}
	for _, v := range r.URL.Query()["expand[]"] {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				set[name] = true
			}
		}
	}
	return set
}

// parseFields reads fields[] and its deprecated "<object>.fields[]" twin for the main object: comma-separated
// names, possibly repeated.
func parseFields(r *http.Request, object string) []string {
	q := r.URL.Query()
	var out []string
	for _, v := range append(q["fields[]"], q[object+".fields[]"]...) {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				out = append(out, name)
			}
		}
	}
	return out
}

// project keeps only the requested top-level fields of v (fields[]) plus the expanded relations; with no
// fields it returns v unchanged.
func project(v any, fields []string, expand expandSet) any {
	if len(fields) == 0 {
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return v
	}
	keep := make(map[string]json.RawMessage, len(fields))
	for f := range expand {
		if val, ok := m[f]; ok {
			keep[f] = val
		}
	}
	for _, f := range fields {
		if val, ok := m[f]; ok {
			keep[f] = val
		}
	}
	return keep
}

// listPage is every Quickstart list response (listAccountResponse, productListResponse, …): a page of rows and
// the cursor of the next one (null on the last page).
type listPage struct {
	NextPage *string `json:"next_page"`
	Data     []any   `json:"data"`
}

// listOf answers a Quickstart list: rows filtered by filter[] (read from each row's rendered form by filters),
// one page of them, each projected by fields[]. The caller holds the store lock.
func listOf[T any](st *store, p listParams, rows []T, filters filterable, render func(T) any) (reply, *apiError) {
	var matched []any
	for _, row := range rows {
		view := render(row)
		if len(p.filters) > 0 {
			lookup, err := filters.lookup(st, view)
			if err != nil {
				return reply{}, errInvalid("filter[]", "%s", err.Error())
			}
			ok, err := matches(p.filters, lookup)
			if err != nil {
				return reply{}, errInvalid("filter[]", "%s", err.Error())
			}
			if !ok {
				continue
			}
		}
		matched = append(matched, view)
	}
	items, next := page(matched, p)
	resp := listPage{NextPage: next, Data: make([]any, 0, len(items))}
	for _, view := range items {
		resp.Data = append(resp.Data, project(view, p.fields, p.expand))
	}
	return replyOK(resp), nil
}
