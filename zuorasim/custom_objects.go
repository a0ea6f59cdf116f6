package zuorasim

import (
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// Custom object definitions (BEHAVIOUR.md §9): GET/POST /objects/definitions/default, GET/DELETE
// /objects/definitions/default/{object}. POST {"definitions": {"<type>": {object*, label*, properties{<field>__c:
// {type*, label*, ...}}, required[], filterable[], ...}}} creates each type and answers {count, definitions} with
// the types created; DELETE answers 200 with the definition's path as a JSON string (the spec's uri). These are V1-surface paths: errors are {success:false, processId, reasons, requestId} with
// real 4xx statuses (400, 404). A defined type is a base object for event triggers as default__<type>.
//
// Rules [inferred from Zuora's limits page]: type and field API names ≤ 64 characters, ≤ 50 custom fields, field
// names end in __c, field types string|integer|number|boolean|date|datetime|time (format may refine a string),
// required/filterable/unique/auditable name defined fields, a type that exists already is refused.
// Deviation: the definition's schema.properties lists the custom fields only; the system fields (Id, CreatedById,
// ...) Zuora adds are left out because the spec's schema (an allOf whose second part types every property as a
// custom field with origin "custom") would refuse them.

type customObjectField struct {
	Type        string `json:"type"`
	Label       string `json:"label"`
	Format      string `json:"format,omitempty"`
	MaxLength   *int   `json:"maxLength,omitempty"`
	Multiselect *bool  `json:"multiselect,omitempty"`
	DisplayName *bool  `json:"displayName,omitempty"`
	Origin      string `json:"origin,omitempty"`
}

type customObjectSchema struct {
	Object                     string                       `json:"object"`
	Label                      string                       `json:"label"`
	Type                       string                       `json:"type"`
	Properties                 map[string]customObjectField `json:"properties"`
	Required                   []string                     `json:"required"`
	Filterable                 []string                     `json:"filterable"`
	Unique                     []string                     `json:"unique"`
	Auditable                  []string                     `json:"auditable"`
	Relationships              []map[string]any             `json:"relationships"`
	EnableCreateRecordAuditing bool                         `json:"enableCreateRecordAuditing"`
	EnableDeleteRecordAuditing bool                         `json:"enableDeleteRecordAuditing"`
}

// CustomObjectDefinition is a definition as GET /objects/definitions/default/{object} returns it.
type CustomObjectDefinition struct {
	ID          string             `json:"Id"`
	Type        string             `json:"type"`
	Schema      customObjectSchema `json:"schema"`
	CreatedByID string             `json:"CreatedById"`
	CreatedDate string             `json:"CreatedDate"`
	UpdatedByID string             `json:"UpdatedById"`
	UpdatedDate string             `json:"UpdatedDate"`
}

type customObjectDefinition struct {
	CustomObjectDefinition
}

type customObjectsResponse struct {
	Count       int                               `json:"count"`
	Definitions map[string]CustomObjectDefinition `json:"definitions"`
}

type customObjectIn struct {
	Object                     *string                      `json:"object"`
	Label                      *string                      `json:"label"`
	Properties                 map[string]customObjectField `json:"properties"`
	Required                   []string                     `json:"required"`
	Filterable                 []string                     `json:"filterable"`
	Unique                     []string                     `json:"unique"`
	Auditable                  []string                     `json:"auditable"`
	Relationships              []map[string]any             `json:"relationships"`
	EnableCreateRecordAuditing *bool                        `json:"enableCreateRecordAuditing"`
	EnableDeleteRecordAuditing *bool                        `json:"enableDeleteRecordAuditing"`
}

var (
	customObjectName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)
	customFieldName  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,60}__c$`)
	customFieldTypes = map[string]bool{"string": true, "integer": true, "number": true, "boolean": true,
		"date": true, "datetime": true, "time": true}
)

// errObjects is a 400 in the V1 envelope (the custom object API answers refusals with a real 400).
func errObjects(e *apiError) *apiError { e.v1Status = http.StatusBadRequest; return e }

var customObjects = notifResource[customObjectDefinition, CustomObjectDefinition]{
	noun: "custom object definition", param: "object",
	rows: func(st *store) *[]*customObjectDefinition { return &st.ntf.objects },
	key:  func(d *customObjectDefinition) string { return d.Type }, view: (*customObjectDefinition).view}

// customObject finds a definition by type. Caller holds st.mu.
func (st *store) customObject(typ string) *customObjectDefinition { return customObjects.find(st, typ) }

func (st *store) validateCustomObject(typ string, in *customObjectIn) *apiError {
	p := "definitions." + typ
	switch {
	case !customObjectName.MatchString(typ):
		return errObjects(errInvalid(p, "'%s' is not a valid object API name (a letter, then letters, digits or _, at most 64)", typ))
	case in.Object == nil || *in.Object == "":
		return errObjects(errMissing(p + ".object"))
	case *in.Object != typ:
		return errObjects(errInvalid(p+".object", "'object' (%s) must equal the definition's key (%s)", *in.Object, typ))
	case in.Label == nil || strings.TrimSpace(*in.Label) == "":
		return errObjects(errMissing(p + ".label"))
	case len(*in.Label) > 64:
		return errObjects(errInvalid(p+".label", "'label' must be at most 64 characters"))
	case len(in.Properties) > 50:
		return errObjects(errInvalid(p+".properties", "a custom object has at most 50 custom fields; %d given", len(in.Properties)))
	case st.customObject(typ) != nil:
		return errObjects(errRule(p, "the custom object '%s' already exists", typ))
	}
	for _, name := range slices.Sorted(maps.Keys(in.Properties)) {
		f := in.Properties[name]
		fp := p + ".properties." + name
		switch {
		case !customFieldName.MatchString(name):
			return errObjects(errInvalid(fp, "'%s' is not a valid custom field name (it must end in __c, at most 64 characters)", name))
		case f.Type == "":
			return errObjects(errMissing(fp + ".type"))
		case !customFieldTypes[f.Type]:
			return errObjects(errInvalid(fp+".type", "'%s' is not a field type (string, integer, number, boolean, date, datetime, time)", f.Type))
		case f.Label == "":
			return errObjects(errMissing(fp + ".label"))
		}
	}
	for list, names := range map[string][]string{"required": in.Required, "filterable": in.Filterable,
		"unique": in.Unique, "auditable": in.Auditable} {
		for _, n := range names {
			if _, ok := in.Properties[n]; !ok {
				return errObjects(errInvalid(p+"."+list, "'%s' lists '%s', which is not a field of the object", list, n))
			}
		}
	}
	return nil
}

func (s *Sim) createCustomObjects(r *http.Request, st *store) (reply, *apiError) {
	var in struct {
		Definitions map[string]customObjectIn `json:"definitions"`
	}
	if e := decodeV1Body(r, &in); e != nil {
		return reply{}, errObjects(e)
	}
	if len(in.Definitions) == 0 {
		return reply{}, errObjects(errMissing("definitions"))
	}
	types := slices.Sorted(maps.Keys(in.Definitions))
	for _, typ := range types {
		d := in.Definitions[typ]
		if e := st.validateCustomObject(typ, &d); e != nil {
			return reply{}, e
		}
	}
	now := notifTime(s.Now())
	out := customObjectsResponse{Definitions: map[string]CustomObjectDefinition{}}
	for _, typ := range types {
		d := in.Definitions[typ]
		props := map[string]customObjectField{}
		for n, f := range d.Properties {
			f.Origin = "custom"
			props[n] = f
		}
		def := &customObjectDefinition{CustomObjectDefinition{ID: newUUID(), Type: typ,
			CreatedByID: simUserUUID, CreatedDate: now, UpdatedByID: simUserUUID, UpdatedDate: now,
			Schema: customObjectSchema{Object: typ, Label: *d.Label, Type: "object", Properties: props,
				Required: orEmpty(d.Required), Filterable: orEmpty(d.Filterable), Unique: orEmpty(d.Unique),
				Auditable: orEmpty(d.Auditable), Relationships: orEmpty(d.Relationships),
				EnableCreateRecordAuditing: boolOr(d.EnableCreateRecordAuditing, false),
				EnableDeleteRecordAuditing: boolOr(d.EnableDeleteRecordAuditing, false)}}}
		st.ntf.objects = append(st.ntf.objects, def)
		out.Definitions[typ] = def.view()
	}
	out.Count = len(out.Definitions)
	return replyOK(out), nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return slices.Clone(s)
}

// view is a deep copy for answers and state.
func (d *customObjectDefinition) view() CustomObjectDefinition {
	v := d.CustomObjectDefinition
	v.Schema.Properties = maps.Clone(v.Schema.Properties)
	v.Schema.Required = slices.Clone(v.Schema.Required)
	v.Schema.Filterable = slices.Clone(v.Schema.Filterable)
	v.Schema.Unique = slices.Clone(v.Schema.Unique)
	v.Schema.Auditable = slices.Clone(v.Schema.Auditable)
	v.Schema.Relationships = slices.Clone(v.Schema.Relationships)
	return v
}

func (s *Sim) listCustomObjects(r *http.Request, st *store) (reply, *apiError) {
	sel := r.URL.Query().Get("select")
	if sel != "" && sel != "type" {
		return reply{}, errObjects(errInvalid("select", "'select' must be 'type'"))
	}
	out := map[string]any{}
	for _, d := range st.ntf.objects {
		if sel == "type" {
			out[d.Type] = map[string]string{"type": d.Type}
			continue
		}
		out[d.Type] = d.view()
	}
	return replyOK(map[string]any{"count": len(out), "definitions": out}), nil
}

func (s *Sim) deleteCustomObject(r *http.Request, st *store) (reply, *apiError) {
	// Triggers on default__<type> stay (they no longer fire). The spec's answer is a JSON string (format uri):
	// the deleted definition's path.
	if _, e := customObjects.remove(r, st); e != nil {
		return reply{}, e
	}
	return replyOK(r.URL.Path), nil
}

func (st *store) customObjectState() []CustomObjectDefinition { return customObjects.state(st) }
