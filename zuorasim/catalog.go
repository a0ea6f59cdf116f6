package zuorasim

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Catalog: Quickstart products (POST/GET/PATCH /v2/products[/{product_id}], GET /v2/products) and plans
// (POST/GET/PATCH /v2/plans[/{plan_id}], GET /v2/plans), following the Quickstart "product" and "plan" schemas.
// Prices and V1 product rate plan charges are one object (Charge, in charges.go and prices.go), as in Zuora; units
// of measure are in uom.go. Everything shares the store's lock.

// catalogStore holds the catalog collections. Caller holds store.mu for every access.
type catalogStore struct {
	products      []*Product          // creation order
	productsByID  map[string]*Product // id -> product
	productsBySKU map[string]*Product // sku -> product
	plans         []*Plan
	plansByID     map[string]*Plan
	plansByNum    map[string]*Plan // plan_number -> plan
	charges       []*Charge
	chargesByID   map[string]*Charge
	chargesByNum  map[string]*Charge // ProductRatePlanChargeNumber -> charge
	uoms          []*UnitOfMeasure
	uomsByID      map[string]*UnitOfMeasure
	uomsByName    map[string]*UnitOfMeasure
	productSeq    int // last generated SKU number
	planSeq       int // last generated plan number
	chargeSeq     int // last generated charge number
}

func newCatalogStore() catalogStore {
	return catalogStore{
		productsByID: map[string]*Product{}, productsBySKU: map[string]*Product{},
		plansByID: map[string]*Plan{}, plansByNum: map[string]*Plan{},
		chargesByID: map[string]*Charge{}, chargesByNum: map[string]*Charge{},
		uomsByID: map[string]*UnitOfMeasure{}, uomsByName: map[string]*UnitOfMeasure{},
	}
}

// DefaultCurrencies are the currencies a simulated tenant has enabled unless Config.Currencies says otherwise.
func DefaultCurrencies() []string { return []string{"USD", "EUR", "GBP"} }

func normalizeCurrencies(cs []string) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		if c = strings.ToUpper(strings.TrimSpace(c)); c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// SetCurrencies replaces the tenant's enabled currencies (Reset restores Config.Currencies).
func (s *Sim) SetCurrencies(currencies ...string) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	s.store.currencies = normalizeCurrencies(currencies)
}

// currencyEnabled reports whether the tenant has enabled c. Caller holds st.mu.
func (st *store) currencyEnabled(c string) bool { return slices.Contains(st.currencies, c) }

// Dates of catalog objects are YYYY-MM-DD. Zuora's catalog objects need an effective end date; the default is
// far in the future ([inferred]: the UI proposes a date ten years or more ahead; any distant date behaves alike).
const (
	dateLayout         = "2006-01-02"
	defaultCatalogEnd  = "2099-12-31"
	maxProductNameLen  = 100 // Zuora Product.Name
	maxSKULen          = 50  // Zuora Product.SKU
	maxDescriptionLen  = 500 // Zuora Product/ProductRatePlan/ProductRatePlanCharge.Description
	maxPlanNameLen     = 100 // Zuora ProductRatePlan.Name
	maxPlanNumberLen   = 100
	maxPlanCurrencies  = 4 // Zuora lets a product rate plan have up to four active currencies
	catalogCustomPlan  = "Plan"
	catalogCustomProd  = "Product"
	catalogCustomPrice = "ProductRatePlanCharge"
)

func (s *Sim) today() string { return s.Now().Format(dateLayout) }

// activeOn reports whether [start, end) contains day; all three are YYYY-MM-DD, so they compare as strings.
func activeOn(start, end, day string) bool { return start <= day && day < end }

func validDate(v string) bool {
	_, err := time.Parse(dateLayout, v)
	return err == nil
}

// validateDates checks start_date/end_date of a create or patch against each other and the stored values.
func validateDates(start, end *string, curStart, curEnd string) *apiError {
	if start != nil && !validDate(*start) {
		return errInvalid("start_date", "'start_date' must be a date in the format YYYY-MM-DD")
	}
	if end != nil && !validDate(*end) {
		return errInvalid("end_date", "'end_date' must be a date in the format YYYY-MM-DD")
	}
	s, e := curStart, curEnd
	if start != nil {
		s = *start
	}
	if end != nil {
		e = *end
	}
	if s != "" && e != "" && e <= s {
		return errInvalid("end_date", "'end_date' must be after 'start_date'")
	}
	return nil
}

func validateText(param string, v *string, required bool, maxLen int) *apiError {
	if v == nil {
		return nil
	}
	if required && strings.TrimSpace(*v) == "" {
		return errInvalid(param, "'%s' must not be empty", param)
	}
	if len(*v) > maxLen {
		return errInvalid(param, "'%s' must be at most %d characters", param, maxLen)
	}
	return nil
}

// ---- products ----

// Product is a Quickstart product. Active is derived from the dates; Plans is filled only when expanded.
type Product struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Description  string            `json:"description,omitempty"`
	SKU          string            `json:"sku"`
	Type         string            `json:"type"`
	StartDate    string            `json:"start_date"`
	EndDate      string            `json:"end_date"`
	Active       bool              `json:"active"`
	Plans        *listPage         `json:"plans,omitempty"`
	CustomFields map[string]string `json:"custom_fields"`
	CreatedByID  string            `json:"created_by_id"`
	CreatedTime  string            `json:"created_time"`
	UpdatedByID  string            `json:"updated_by_id"`
	UpdatedTime  string            `json:"updated_time"`
}

// productInput is productCreateRequest / productPatchRequest (identical but for the required name).
type productInput struct {
	quickstartInputBase
	StartDate   *string `json:"start_date"`
	EndDate     *string `json:"end_date"`
	Name        *string `json:"name"`
	Type        *string `json:"type"`
	SKU         *string `json:"sku"`
	Description *string `json:"description"`
}

func (s *Sim) createProduct(r *http.Request, st *store) (reply, *apiError) {
	var in productInput
	if e := decodeBody(r, &in); e != nil {
		return reply{}, e
	}
	if e := st.validateProductInput(&in, nil); e != nil {
		return reply{}, e
	}
	p := st.createProduct(&in, s.timestamp(), s.today())
	return replyCreated(s.productOut(r, st, p)), nil
}

func (s *Sim) getProduct(r *http.Request, st *store) (reply, *apiError) {
	p := st.cat.lookupProduct(r.PathValue("product_id"))
	if p == nil {
		return reply{}, errNotFound("product", r.PathValue("product_id"))
	}
	return replyOK(s.productOut(r, st, p)), nil
}

func (s *Sim) patchProduct(r *http.Request, st *store) (reply, *apiError) {
	var in productInput
	if e := decodeBody(r, &in); e != nil {
		return reply{}, e
	}
	p := st.cat.lookupProduct(r.PathValue("product_id"))
	if p == nil {
		return reply{}, errNotFound("product", r.PathValue("product_id"))
	}
	if e := st.validateProductInput(&in, p); e != nil {
		return reply{}, e
	}
	st.applyProduct(p, &in)
	p.UpdatedTime, p.UpdatedByID = s.timestamp(), simUserID
	return replyOK(s.productOut(r, st, p)), nil
}

// productFilters are the documented filterable fields of GET /v2/products.
var productFilters = filterFields(catalogCustomProd, "id", "name", "sku", "type", "description", "start_date",
	"end_date", "active", "created_time", "updated_time")

func (s *Sim) listProducts(r *http.Request, st *store) (reply, *apiError) {
	p, e := parseListParams(r, "product")
	if e != nil {
		return reply{}, e
	}
	today := s.today()
	return listOf(st, p, st.cat.allProducts(), productFilters,
		func(prod *Product) any { return st.renderProduct(prod, p.expand, today) })
}

// productOut is a product as the single-object endpoints answer it: rendered with expand[], projected by
// fields[]. Caller holds st.mu.
func (s *Sim) productOut(r *http.Request, st *store, p *Product) any {
	exp := parseExpand(r)
	return project(st.renderProduct(p, exp, s.today()), parseFields(r, "product"), exp)
}

// lookupProduct finds a product by id or SKU (the Quickstart path takes either). Caller holds st.mu.
func (c *catalogStore) lookupProduct(key string) *Product {
	if p, ok := c.productsByID[key]; ok {
		return p
	}
	return c.productsBySKU[key]
}

// allProducts lists the products in creation order. Caller holds st.mu.
func (c *catalogStore) allProducts() []*Product { return c.products }

// addProduct records a new product (its SKU is indexed by applyProduct). Caller holds st.mu for writing.
func (c *catalogStore) addProduct(p *Product) {
	c.products = append(c.products, p)
	c.productsByID[p.ID] = p
}

// nextSKU is the next free generated SKU, "SKU-%08d". Caller holds st.mu for writing.
func (c *catalogStore) nextSKU() string {
	for {
		c.productSeq++
		if sku := fmt.Sprintf("SKU-%08d", c.productSeq); c.productsBySKU[sku] == nil {
			return sku
		}
	}
}

func (st *store) validateProductInput(in *productInput, existing *Product) *apiError {
	if existing == nil && in.Name == nil {
		return errMissing("name")
	}
	if e := validateText("name", in.Name, true, maxProductNameLen); e != nil {
		return e
	}
	if e := validateText("description", in.Description, false, maxDescriptionLen); e != nil {
		return e
	}
	if in.Type != nil && !slices.Contains([]string{"base", "add_on", "other"}, *in.Type) {
		return errInvalid("type", "'type' must be one of base, add_on, other")
	}
	if in.SKU != nil {
		if e := validateText("sku", in.SKU, true, maxSKULen); e != nil {
			return e
		}
		// SKUs are unique in a tenant; Zuora refuses a second product with the same SKU.
		if other := st.cat.productsBySKU[*in.SKU]; other != nil && other != existing {
			return errInvalid("sku", "a product with sku '%s' already exists", *in.SKU)
		}
	}
	var curStart, curEnd string
	if existing != nil {
		curStart, curEnd = existing.StartDate, existing.EndDate
	}
	if e := validateDates(in.StartDate, in.EndDate, curStart, curEnd); e != nil {
		return e
	}
	return st.validateCustomFields(catalogCustomProd, "custom_fields", in.CustomFields)
}

// createProduct stores a validated create body. Zuora generates "SKU-%08d" when no SKU is given; today is the
// default start date. Caller holds st.mu for writing.
func (st *store) createProduct(in *productInput, now, today string) *Product {
	p := &Product{ID: newID(), Type: "base", StartDate: today, EndDate: defaultCatalogEnd,
		CustomFields: map[string]string{}, CreatedByID: simUserID, CreatedTime: now, UpdatedByID: simUserID, UpdatedTime: now}
	if in.SKU == nil {
		p.SKU = st.cat.nextSKU()
	}
	st.applyProduct(p, in)
	st.cat.addProduct(p)
	return p
}

func (st *store) applyProduct(p *Product, in *productInput) {
	if in.SKU != nil && *in.SKU != p.SKU {
		delete(st.cat.productsBySKU, p.SKU)
		p.SKU = *in.SKU
	}
	st.cat.productsBySKU[p.SKU] = p
	setStr(&p.Name, in.Name)
	setStr(&p.Description, in.Description)
	setStr(&p.Type, in.Type)
	setStr(&p.StartDate, in.StartDate)
	setStr(&p.EndDate, in.EndDate)
	mergeCustomFields(p.CustomFields, in.CustomFields)
}

func setStr(dst *string, src *string) {
	if src != nil {
		*dst = *src
	}
}

// renderProduct returns a deep copy of p with active computed and plans filled when expanded. Caller holds st.mu.
func (st *store) renderProduct(p *Product, exp expandSet, today string) Product {
	out := *p
	out.CustomFields = maps.Clone(p.CustomFields)
	out.Active = activeOn(p.StartDate, p.EndDate, today)
	out.Plans = nil
	if exp["plans"] {
		out.Plans = &listPage{Data: []any{}}
		for _, pl := range st.cat.plansOf(p.ID) {
			out.Plans.Data = append(out.Plans.Data, st.renderPlan(pl, nil, today))
		}
	}
	return out
}

// ---- plans (product rate plans) ----

// Plan is a Quickstart plan (a V1 product rate plan). Product and Prices are filled only when expanded.
type Plan struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Description      string            `json:"description,omitempty"`
	PlanNumber       string            `json:"plan_number"`
	ProductID        string            `json:"product_id"`
	StartDate        string            `json:"start_date"`
	EndDate          string            `json:"end_date"`
	ActiveCurrencies []string          `json:"active_currencies"`
	Active           bool              `json:"active"`
	Product          *Product          `json:"product,omitempty"`
	Prices           *listPage         `json:"prices,omitempty"`
	CustomFields     map[string]string `json:"custom_fields"`
	CreatedByID      string            `json:"created_by_id"`
	CreatedTime      string            `json:"created_time"`
	UpdatedByID      string            `json:"updated_by_id"`
	UpdatedTime      string            `json:"updated_time"`
}

type planInput struct {
	quickstartInputBase
	StartDate        *string   `json:"start_date"`
	EndDate          *string   `json:"end_date"`
	Name             *string   `json:"name"`
	PlanNumber       *string   `json:"plan_number"`
	Description      *string   `json:"description"`
	ActiveCurrencies *[]string `json:"active_currencies"`
	ProductID        *string   `json:"product_id"` // create only
}

func (s *Sim) createPlan(r *http.Request, st *store) (reply, *apiError) {
	var in planInput
	if e := decodeBody(r, &in); e != nil {
		return reply{}, e
	}
	if e := st.validatePlanInput(&in, nil); e != nil {
		return reply{}, e
	}
	pl := st.createPlan(&in, s.timestamp(), s.today())
	return replyCreated(s.planOut(r, st, pl)), nil
}

func (s *Sim) getPlan(r *http.Request, st *store) (reply, *apiError) {
	pl := st.cat.lookupPlan(r.PathValue("plan_id"))
	if pl == nil {
		return reply{}, errNotFound("plan", r.PathValue("plan_id"))
	}
	return replyOK(s.planOut(r, st, pl)), nil
}

func (s *Sim) patchPlan(r *http.Request, st *store) (reply, *apiError) {
	var in planInput
	if e := decodeBody(r, &in); e != nil {
		return reply{}, e
	}
	if in.ProductID != nil { // not part of planPatchRequest: a plan cannot move to another product
		return reply{}, errUnknownParam("product_id")
	}
	pl := st.cat.lookupPlan(r.PathValue("plan_id"))
	if pl == nil {
		return reply{}, errNotFound("plan", r.PathValue("plan_id"))
	}
	if e := st.validatePlanInput(&in, pl); e != nil {
		return reply{}, e
	}
	st.applyPlan(pl, &in)
	pl.UpdatedTime, pl.UpdatedByID = s.timestamp(), simUserID
	return replyOK(s.planOut(r, st, pl)), nil
}

// planFilters are the documented filterable fields of GET /v2/plans.
var planFilters = filterFields(catalogCustomPlan, "id", "name", "plan_number", "product_id", "description",
	"start_date", "end_date", "active", "created_time", "updated_time")

func (s *Sim) listPlans(r *http.Request, st *store) (reply, *apiError) {
	p, e := parseListParams(r, "plan")
	if e != nil {
		return reply{}, e
	}
	today := s.today()
	return listOf(st, p, st.cat.allPlans(), planFilters,
		func(pl *Plan) any { return st.renderPlan(pl, p.expand, today) })
}

// planOut is a plan as the single-object endpoints answer it: rendered with expand[], projected by fields[].
// Caller holds st.mu.
func (s *Sim) planOut(r *http.Request, st *store, pl *Plan) any {
	exp := parseExpand(r)
	return project(st.renderPlan(pl, exp, s.today()), parseFields(r, "plan"), exp)
}

// lookupPlan finds a plan by id or plan number. Caller holds st.mu.
func (c *catalogStore) lookupPlan(key string) *Plan {
	if pl, ok := c.plansByID[key]; ok {
		return pl
	}
	return c.plansByNum[key]
}

// allPlans lists the plans in creation order. Caller holds st.mu.
func (c *catalogStore) allPlans() []*Plan { return c.plans }

// plansOf lists the plans of a product in creation order. Caller holds st.mu.
func (c *catalogStore) plansOf(productID string) []*Plan {
	var out []*Plan
	for _, pl := range c.plans {
		if pl.ProductID == productID {
			out = append(out, pl)
		}
	}
	return out
}

// addPlan records a new plan (its number is indexed by applyPlan). Caller holds st.mu for writing.
func (c *catalogStore) addPlan(pl *Plan) {
	c.plans = append(c.plans, pl)
	c.plansByID[pl.ID] = pl
}

// nextPlanNumber is the next free generated plan number, "PRP-%08d". Caller holds st.mu for writing.
func (c *catalogStore) nextPlanNumber() string {
	for {
		c.planSeq++
		if n := fmt.Sprintf("PRP-%08d", c.planSeq); c.plansByNum[n] == nil {
			return n
		}
	}
}

func (st *store) validatePlanInput(in *planInput, existing *Plan) *apiError {
	if existing == nil {
		switch {
		case in.ProductID == nil:
			return errMissing("product_id")
		case in.Name == nil:
			return errMissing("name")
		}
		// A plan belongs to an existing product; Quickstart reports a dangling reference as resource_not_found.
		if st.cat.lookupProduct(*in.ProductID) == nil {
			return errReferenceNotFound("product_id", *in.ProductID)
		}
	}
	if e := validateText("name", in.Name, true, maxPlanNameLen); e != nil {
		return e
	}
	if e := validateText("description", in.Description, false, maxDescriptionLen); e != nil {
		return e
	}
	if in.PlanNumber != nil {
		if e := validateText("plan_number", in.PlanNumber, true, maxPlanNumberLen); e != nil {
			return e
		}
		if other := st.cat.plansByNum[*in.PlanNumber]; other != nil && other != existing {
			return errInvalid("plan_number", "a plan with plan number '%s' already exists", *in.PlanNumber)
		}
	}
	if in.ActiveCurrencies != nil {
		cs := *in.ActiveCurrencies
		if len(cs) > maxPlanCurrencies {
			return errInvalid("active_currencies", "a plan can have at most %d active currencies", maxPlanCurrencies)
		}
		for _, c := range cs {
			if !st.currencyEnabled(strings.ToUpper(c)) {
				return errInvalid("active_currencies", "currency '%s' is not enabled in the tenant", c)
			}
		}
		if existing != nil {
			for _, c := range st.chargeCurrencies(existing.ID) {
				if !slices.Contains(normalizeCurrencies(cs), c) {
					return errInvalid("active_currencies", "currency '%s' is used by the plan's prices and cannot be deactivated", c)
				}
			}
		}
	}
	var curStart, curEnd string
	if existing != nil {
		curStart, curEnd = existing.StartDate, existing.EndDate
	}
	if e := validateDates(in.StartDate, in.EndDate, curStart, curEnd); e != nil {
		return e
	}
	return st.validateCustomFields(catalogCustomPlan, "custom_fields", in.CustomFields)
}

// createPlan stores a validated create body; Zuora numbers plans "PRP-%08d". Caller holds st.mu for writing.
func (st *store) createPlan(in *planInput, now, today string) *Plan {
	prod := st.cat.lookupProduct(*in.ProductID)
	pl := &Plan{ID: newID(), ProductID: prod.ID, StartDate: today, EndDate: defaultCatalogEnd,
		ActiveCurrencies: []string{}, CustomFields: map[string]string{},
		CreatedByID: simUserID, CreatedTime: now, UpdatedByID: simUserID, UpdatedTime: now}
	if prod.StartDate > today { // a plan cannot be effective before its product
		pl.StartDate = prod.StartDate
	}
	if in.PlanNumber == nil {
		pl.PlanNumber = st.cat.nextPlanNumber()
	}
	st.applyPlan(pl, in)
	st.cat.addPlan(pl)
	return pl
}

func (st *store) applyPlan(pl *Plan, in *planInput) {
	if in.PlanNumber != nil && *in.PlanNumber != pl.PlanNumber {
		delete(st.cat.plansByNum, pl.PlanNumber)
		pl.PlanNumber = *in.PlanNumber
	}
	st.cat.plansByNum[pl.PlanNumber] = pl
	setStr(&pl.Name, in.Name)
	setStr(&pl.Description, in.Description)
	setStr(&pl.StartDate, in.StartDate)
	setStr(&pl.EndDate, in.EndDate)
	if in.ActiveCurrencies != nil {
		pl.ActiveCurrencies = normalizeCurrencies(*in.ActiveCurrencies)
	}
	mergeCustomFields(pl.CustomFields, in.CustomFields)
}

// activateCurrencies adds currencies a new price uses to its plan's active currencies, as Zuora does when a
// charge is priced in a currency the plan did not list yet. Caller holds st.mu for writing.
func (pl *Plan) activateCurrencies(cs []string) {
	for _, c := range cs {
		if !slices.Contains(pl.ActiveCurrencies, c) {
			pl.ActiveCurrencies = append(pl.ActiveCurrencies, c)
		}
	}
}

// renderPlan returns a deep copy of pl with active computed and product/prices filled when expanded. Caller
// holds st.mu.
func (st *store) renderPlan(pl *Plan, exp expandSet, today string) Plan {
	out := *pl
	out.ActiveCurrencies = slices.Clone(pl.ActiveCurrencies)
	out.CustomFields = maps.Clone(pl.CustomFields)
	out.Active = activeOn(pl.StartDate, pl.EndDate, today)
	out.Product, out.Prices = nil, nil
	if exp["product"] {
		if prod := st.cat.productsByID[pl.ProductID]; prod != nil {
			p := st.renderProduct(prod, nil, today)
			out.Product = &p
		}
	}
	if exp["prices"] {
		out.Prices = &listPage{Data: []any{}}
		for _, c := range st.cat.chargesOf(pl.ID) {
			out.Prices.Data = append(out.Prices.Data, st.priceView(c))
		}
	}
	return out
}

// catalogState fills the catalog collections of a State snapshot. Caller holds st.mu.
func (st *store) catalogState(out *State, today string) {
	out.Products = make([]Product, 0, len(st.cat.products))
	for _, p := range st.cat.products {
		out.Products = append(out.Products, st.renderProduct(p, nil, today))
	}
	out.Plans = make([]Plan, 0, len(st.cat.plans))
	for _, pl := range st.cat.plans {
		out.Plans = append(out.Plans, st.renderPlan(pl, nil, today))
	}
	out.Prices = make([]Price, 0, len(st.cat.charges))
	out.ProductRatePlanCharges = make([]V1Charge, 0, len(st.cat.charges))
	for _, c := range st.cat.charges {
		out.Prices = append(out.Prices, st.priceView(c))
		out.ProductRatePlanCharges = append(out.ProductRatePlanCharges, st.v1ChargeView(c))
	}
	out.UnitsOfMeasure = make([]UnitOfMeasure, 0, len(st.cat.uoms))
	for _, u := range st.cat.uoms {
		out.UnitsOfMeasure = append(out.UnitsOfMeasure, *u)
	}
}
