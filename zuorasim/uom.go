package zuorasim

import (
	"net/http"
	"slices"
	"strings"
)

// Units of measure: CRUD POST /v1/object/unit-of-measure and GET /v1/object/unit-of-measure/{id}. Neither is in
// the OpenAPI specs (they belong to Zuora's older CRUD reference; see conformance.DocumentedOnly). Implemented from
// Zuora's UnitOfMeasure object reference: UomName (required, unique, shown in the UI and used by charges' UOM),
// DecimalPlaces (required, 0–9), DisplayedAs (≤ 50 characters, defaults to UomName), RoundingMode (Up|Down,
// default Up), Active (default true). A second unit with the same name fails with the CRUD error code
// DUPLICATE_VALUE ("a duplicate value was found for a value that must be unique", Zuora's ErrorCode list).
// UomName is limited to 25 characters because the charge's UOM field that refers to it is (maxLength 25).

// UnitOfMeasure is the CRUD UnitOfMeasure object.
type UnitOfMeasure struct {
	ID            string `json:"Id"`
	UomName       string `json:"UomName"`
	DisplayedAs   string `json:"DisplayedAs"`
	DecimalPlaces int    `json:"DecimalPlaces"`
	RoundingMode  string `json:"RoundingMode"`
	Active        bool   `json:"Active"`
	CreatedByID   string `json:"CreatedById"`
	CreatedDate   string `json:"CreatedDate"`
	UpdatedByID   string `json:"UpdatedById"`
	UpdatedDate   string `json:"UpdatedDate"`
}

type uomInput struct {
	UomName       *string `json:"UomName"`
	DisplayedAs   *string `json:"DisplayedAs"`
	DecimalPlaces *int    `json:"DecimalPlaces"`
	RoundingMode  *string `json:"RoundingMode"`
	Active        *bool   `json:"Active"`
}

var uomFields = map[string]bool{"UomName": true, "DisplayedAs": true, "DecimalPlaces": true, "RoundingMode": true, "Active": true}

func (s *Sim) createUOM(r *http.Request, st *store) (reply, *apiError) {
	body, err := readBody(r)
	if err != nil {
		return reply{}, errMalformed(err)
	}
	if r.URL.Query().Get("rejectUnknownFields") == "true" {
		var raw map[string]any
		if decodeJSONLoose(body, &raw) == nil {
			for k := range raw {
				if !uomFields[k] {
					return replyWith(http.StatusBadRequest, map[string]string{"message": errUnrecognisedFields.Error()}), nil
				}
			}
		}
	}
	var in uomInput
	if e := decodeJSONLoose(body, &in); e != nil {
		return reply{}, e
	}
	if e := st.validateUOM(&in); e != nil {
		return reply{}, e
	}
	now := s.timestamp()
	u := &UnitOfMeasure{ID: newID(), UomName: *in.UomName, DisplayedAs: *in.UomName, DecimalPlaces: *in.DecimalPlaces,
		RoundingMode: "Up", Active: true, CreatedByID: simUserID, CreatedDate: now, UpdatedByID: simUserID, UpdatedDate: now}
	setStr(&u.DisplayedAs, in.DisplayedAs)
	setStr(&u.RoundingMode, in.RoundingMode)
	if in.Active != nil {
		u.Active = *in.Active
	}
	st.cat.addUOM(u)
	return replyOK(proxyCreateResponse{Success: true, ID: u.ID}), nil
}

func (st *store) validateUOM(in *uomInput) *apiError {
	switch {
	case in.UomName == nil || strings.TrimSpace(*in.UomName) == "":
		return errMissing("UomName")
	case in.DecimalPlaces == nil:
		return errMissing("DecimalPlaces")
	case len(*in.UomName) > 25:
		return errInvalid("UomName", "'UomName' must be at most 25 characters")
	case *in.DecimalPlaces < 0 || *in.DecimalPlaces > 9:
		return errInvalid("DecimalPlaces", "'DecimalPlaces' must be an integer between 0 and 9")
	case in.DisplayedAs != nil && len(*in.DisplayedAs) > 50:
		return errInvalid("DisplayedAs", "'DisplayedAs' must be at most 50 characters")
	case in.RoundingMode != nil && !slices.Contains([]string{"Up", "Down"}, *in.RoundingMode):
		return errInvalid("RoundingMode", "'RoundingMode' must be Up or Down")
	}
	if st.cat.uomsByName[*in.UomName] != nil {
		e := errInvalid("UomName", "a unit of measure named '%s' already exists", *in.UomName)
		e.crudCode = "DUPLICATE_VALUE"
		return e
	}
	return nil
}

func (s *Sim) getUOM(r *http.Request, st *store) (reply, *apiError) {
	u := st.cat.uomsByID[r.PathValue("id")]
	if u == nil {
		return crudNoData(), nil
	}
	return replyOK(*u), nil
}

// addUOM records a new unit of measure. Caller holds st.mu.
func (c *catalogStore) addUOM(u *UnitOfMeasure) {
	c.uoms = append(c.uoms, u)
	c.uomsByID[u.ID] = u
	c.uomsByName[u.UomName] = u
}

// UnitsOfMeasure lists the tenant's units of measure.
func (s *Sim) UnitsOfMeasure() []UnitOfMeasure {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	out := make([]UnitOfMeasure, 0, len(s.store.cat.uoms))
	for _, u := range s.store.cat.uoms {
		out = append(out, *u)
	}
	return out
}
