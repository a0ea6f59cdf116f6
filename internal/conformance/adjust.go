package conformance

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// adjustSpec works around quirks of Zuora's documents that would make valid traffic fail. Each adjustment is
// narrow and returned as one line for (*Checker).Adjustments; nothing else in the documents is changed.
//
//  1. Servers (both specs): the documents list Zuora's production and sandbox hosts (V1 bare hosts, Quickstart
//     hosts + "/v2", and 18 V1 operations on payment-retry.apps.zuora.com). Tests talk to a simulator on
//     127.0.0.1, so document-, path- and operation-level servers are removed and operations are routed by path
//     alone; the "/v2" prefix is stripped by the Checker before routing Quickstart requests.
//
//  2. "oneOf" whose alternatives extend one another (V1: callout templates and notification-definition callouts,
//     e.g. POSTPublicCalloutTemplateRequest = oneOf[Common, BasicAuthentication, Oauth2Authentication] where
//     BasicAuthentication = allOf[Common, {requiredAuth, calloutAuth}]). Common does not forbid extra properties,
//     so a body valid for an extending alternative also matches Common, and oneOf fails with "matches more than
//     one schema". Applies only where there is no discriminator and every other alternative is allOf[base, ...]
//     of one base alternative; then:
//     a. if every extension requires a property of its own (the POST forms require requiredAuth or
//     requiredOauth2), the base alternative, in that oneOf only (the shared component is untouched), becomes
//     allOf[base] + not{anyOf[{required: [p]}...]} over those properties: plain applies only when no
//     extension's marker is present. oneOf semantics and all type checks are kept;
//     b. if no extension requires anything (the PUT forms and the bulk POST /notifications/callout-templates/
//     import items), every body matches every alternative, so oneOf becomes allOf of the alternatives: the base
//     and the extensions' property types are all checked; only their mutual exclusion is not;
//     c. mixed cases are left alone (none exist in the current documents).
//
//  3. Cross-cutting V1 error statuses: Zuora's V1 error-handling guide documents 401 (token missing or expired),
//     429 (rate or concurrency limit, with Retry-After) and 500/502/503/504 as possible on every call, but only
//     some V1 operations list them (429 on 2 of 713 operations; GET /notifications/callout-templates/{id} lists
//     200, 400, 404, 405, 415 and 500).
//     Where a V1 operation lists neither that status, nor its range (4XX/5XX), nor default, a response without
//     content is added for it, so the status is accepted and its body (whose V1 shape the guide leaves
//     unconfirmed) is not checked. Operation-specific statuses (400, 404, 409, ...) stay strict, and statuses an
//     operation does list keep their schema. Quickstart lists all of these on every operation already.
//
//  4. Numeric V1 error codes: Zuora's V1 error-handling guide and error-code reference show reasons[].code as a
//     JSON number (e.g. {"code": 53100320, ...}), and that is what Zuora sends, but most V1 error schemas
//     (25 schemas, among them CommonResponse, the 4XX response of most operations) type it as string, so every
//     realistic V1 error body would fail. Where an object has a "reasons" array whose items have a "code" typed
//     plain string (no format, pattern or enum), that code also accepts an integer. Every other field of the
//     envelope, and string codes such as the notification APIs' "MissingRequiredField", are checked as before.
//
//  5. decimal(22,9) written as bounds: a few V1 number fields (e.g. PostOrderResponseType.writeOff[].amount)
//     carry minimum 9 and maximum 22 — the precision and scale of Zuora's decimal columns, not a value range —
//     so any real write-off amount outside 9..22 would fail. On number schemas with exactly those two bounds the
//     bounds are dropped; the type is still checked.
//
//  6. Untyped custom-field values: custom-field maps (e.g. SubscriptionObjectCustomFields) are objects whose
//     additionalProperties is the empty schema {}. OpenAPI 3.0.3 says nullable only matters where a type is
//     given, so {} admits null, and Zuora answers an unset custom field as null; kin-openapi rejects null unless
//     nullable is set. Where additionalProperties is exactly {} (no type, no properties, no composition), it is
//     marked nullable; typed values stay as strict as before.
//
// Not adjusted, deliberately: defaults of the wrong type (e.g. GETSubscriptionTypeWithSuccess default false on
// a string) only break doc.Validate, which is not called, and request defaults are never applied
// (SkipSettingDefaults). Formats kin-openapi does not know (decimal, BigDecimal, URL, UUID, datetime, ...) are
// ignored by the validator already, so they need no change. Quickstart's custom_objects values are
// oneOf[listCustomObjectResponse, custom_object], and a list-shaped value matches both; left alone because the
// integration neither sends nor reads custom_objects on Quickstart objects (it would show as "matches more
// than one schema").
func adjustSpec(name Spec, doc *openapi3.T) []string {
	var out []string

	servers := len(doc.Servers)
	doc.Servers = nil
	pathServers, opServers := 0, 0
	for _, item := range doc.Paths.Map() {
		if len(item.Servers) > 0 {
			pathServers++
			item.Servers = nil
		}
		for _, op := range item.Operations() {
			if op.Servers != nil && len(*op.Servers) > 0 {
				opServers++
				op.Servers = nil
			}
		}
	}
	out = append(out, fmt.Sprintf("%s: removed %d document servers and the servers of %d paths and %d operations; routing by path only", name, servers, pathServers, opServers))

	if name == SpecV1 {
		out = append(out, addCrossCuttingStatuses(name, doc)...)
		out = append(out, numericReasonCodes(name, doc)...)
		out = append(out, precisionBounds(name, doc)...)
	}
	out = append(out, untypedAdditionalValues(name, doc)...)

	_ = doc.WalkSchemas(func(pointer string, ref *openapi3.SchemaRef) error {
		s := ref.Value
		if s.Discriminator != nil || len(s.OneOf) < 2 {
			return nil
		}
		base := extendedBase(s.OneOf)
		if base < 0 {
			return nil
		}
		baseRef := s.OneOf[base]
		markers, ok := extensionMarkers(s.OneOf, base)
		switch {
		case !ok:
			return nil
		case markers == nil:
			s.AllOf, s.OneOf = append(s.AllOf, s.OneOf...), nil
			out = append(out, fmt.Sprintf("%s: %s: oneOf -> allOf (the alternatives extending %s require nothing of their own)",
				name, describeSchema(pointer, ref), altName(baseRef)))
			return nil
		}
		exclusions := make(openapi3.SchemaRefs, len(markers))
		for i, m := range markers {
			exclusions[i] = &openapi3.SchemaRef{Value: &openapi3.Schema{Required: []string{m}}}
		}
		s.OneOf[base] = &openapi3.SchemaRef{Value: &openapi3.Schema{
			Title: "conformance: " + altName(baseRef) + " without " + strings.Join(markers, ", "),
			AllOf: openapi3.SchemaRefs{baseRef},
			Not:   &openapi3.SchemaRef{Value: &openapi3.Schema{AnyOf: exclusions}},
		}}
		out = append(out, fmt.Sprintf("%s: %s: oneOf alternative %s excluded when %s is present",
			name, describeSchema(pointer, ref), altName(baseRef), strings.Join(markers, " or ")))
		return nil
	})
	return out
}

// extendedBase returns the index of the alternative that every other alternative includes through allOf, or -1.
func extendedBase(alts openapi3.SchemaRefs) int {
	for b, base := range alts {
		if base == nil || base.Value == nil {
			continue
		}
		extendsBase := func(i int, alt *openapi3.SchemaRef) bool {
			return i == b || (alt != nil && alt.Value != nil && slices.ContainsFunc(alt.Value.AllOf, func(part *openapi3.SchemaRef) bool {
				return part != nil && part.Value == base.Value
			}))
		}
		ok := true
		for i, alt := range alts {
			if !extendsBase(i, alt) {
				ok = false
				break
			}
		}
		if ok {
			return b
		}
	}
	return -1
}

// extensionMarkers lists the properties the extending alternatives require beyond the base. ok is false when
// some extensions require properties and others do not (no adjustment fits); markers is nil when none does.
func extensionMarkers(alts openapi3.SchemaRefs, base int) (markers []string, ok bool) {
	withOwn, without := 0, 0
	for i, alt := range alts {
		if i == base {
			continue
		}
		var own []string
		for _, part := range alt.Value.AllOf {
			if part.Value != alts[base].Value {
				own = append(own, part.Value.Required...)
			}
		}
		if len(own) == 0 {
			without++
			continue
		}
		withOwn++
		for _, p := range own {
			if !slices.Contains(markers, p) {
				markers = append(markers, p)
			}
		}
	}
	return markers, withOwn == 0 || without == 0
}

func describeSchema(pointer string, ref *openapi3.SchemaRef) string {
	if ref.Ref != "" {
		return ref.Ref
	}
	return pointer
}

func altName(ref *openapi3.SchemaRef) string {
	if ref.Ref != "" {
		return ref.Ref
	}
	if ref.Value != nil && ref.Value.Title != "" {
		return ref.Value.Title
	}
	return "an inline schema"
}

func numericReasonCodes(name Spec, doc *openapi3.T) []string {
	var schemas []string
	_ = doc.WalkSchemas(func(pointer string, ref *openapi3.SchemaRef) error {
		reasons := ref.Value.Properties["reasons"]
		if reasons == nil || reasons.Value == nil || reasons.Value.Items == nil || reasons.Value.Items.Value == nil {
			return nil
		}
		code := reasons.Value.Items.Value.Properties["code"]
		if code == nil || code.Value == nil {
			return nil
		}
		c := code.Value
		if c.Type == nil || !c.Type.Is(openapi3.TypeString) || c.Format != "" || c.Pattern != "" || len(c.Enum) != 0 {
			return nil
		}
		c.Type = &openapi3.Types{openapi3.TypeString, openapi3.TypeInteger}
		schemas = append(schemas, describeSchema(pointer, ref))
		return nil
	})
	if len(schemas) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%s: reasons[].code accepts string or integer in %d schemas: %s", name, len(schemas), strings.Join(schemas, ", "))}
}

// crossCuttingV1Statuses are the statuses Zuora's V1 error-handling guide says any call can return.
var crossCuttingV1Statuses = []int{401, 429, 500, 502, 503, 504}

func addCrossCuttingStatuses(name Spec, doc *openapi3.T) []string {
	added := map[int]int{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.Responses == nil || op.Responses.Default() != nil {
				continue
			}
			for _, status := range crossCuttingV1Statuses {
				if op.Responses.Status(status) != nil {
					continue
				}
				desc := "Added by internal/conformance: documented for every call in Zuora's V1 error-handling guide."
				op.Responses.Set(strconv.Itoa(status), &openapi3.ResponseRef{Value: &openapi3.Response{Description: &desc}})
				added[status]++
			}
		}
	}
	var out []string
	for _, status := range crossCuttingV1Statuses {
		if n := added[status]; n > 0 {
			out = append(out, fmt.Sprintf("%s: status %d (no body schema) added to %d operations that did not list it", name, status, n))
		}
	}
	return out
}

// precisionBounds drops minimum 9 / maximum 22 from number schemas (adjustment 5).
func precisionBounds(name Spec, doc *openapi3.T) []string {
	var out []string
	_ = doc.WalkSchemas(func(pointer string, ref *openapi3.SchemaRef) error {
		for prop, p := range ref.Value.Properties {
			v := p.Value
			if v == nil || !v.Type.Is(openapi3.TypeNumber) || v.Min == nil || v.Max == nil || *v.Min != 9 || *v.Max != 22 {
				continue
			}
			v.Min, v.Max = nil, nil
			out = append(out, fmt.Sprintf("%s: %s.%s: dropped minimum 9 / maximum 22 (decimal precision, not a range)",
				name, describeSchema(pointer, ref), prop))
		}
		return nil
	})
	slices.Sort(out)
	return out
}

// untypedAdditionalValues marks additionalProperties schemas that are exactly {} nullable (adjustment 6).
func untypedAdditionalValues(name Spec, doc *openapi3.T) []string {
	n := 0
	_ = doc.WalkSchemas(func(_ string, ref *openapi3.SchemaRef) error {
		ap := ref.Value.AdditionalProperties.Schema
		if ap == nil || ap.Value == nil {
			return nil
		}
		v := ap.Value
		if v.Type == nil && len(v.Properties) == 0 && v.Items == nil && len(v.AllOf)+len(v.AnyOf)+len(v.OneOf) == 0 &&
			v.Not == nil && len(v.Enum) == 0 && !v.Nullable {
			v.Nullable = true
			n++
		}
		return nil
	})
	return []string{fmt.Sprintf("%s: %d untyped additionalProperties schemas ({}) accept null, as OpenAPI 3.0.3 and Zuora's unset custom fields have it", name, n)}
}
