package zuorasim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Orders: POST /v1/orders, GET /v1/orders/{orderNumber}, GET /v1/orders/subscription/{subscriptionNumber},
// PUT /v1/orders/{orderNumber}/cancel and POST /v1/orders/preview ("POSTOrderRequestType",
// "PostOrderResponseType", "GetOrderResponse", "GetOrdersResponse", "PutOrderCancelResponse",
// "POSTOrderPreviewRequestType", "PostOrderPreviewResponseType").
//
// Simulated order actions: CreateSubscription, AddProduct, UpdateProduct, RemoveProduct, CancelSubscription;
// the others (TermsAndConditions, RenewSubscription, OwnerTransfer, Suspend, Resume, ChangePlan) and newAccount
// are refused as not simulated. An order is atomic: its actions run on copies of the subscriptions, and
// nothing (subscriptions, numbers, invoices, payments) is stored unless every action and the processing
// options succeed. Business failures answer HTTP 200 with success:false and an 8-digit code whose last two
// digits are Zuora's category (20 invalid value, 22 missing, 30 rule restriction, 40 referenced object not
// found); Zuora does not document the resource part of order codes, so it is the generic 500000 except for
// termType (531003, Zuora's own example).
//
// Statuses: Completed (default: applied at once), Draft (stored, not applied, not validated beyond the body;
// activation is not simulated), Scheduled (validated against the current state, stored, and applied when the
// simulator clock reaches schedulingOptions.scheduledDate: see runDueOrders), Cancelled (PUT .../cancel, only
// from Draft or Scheduled), Failed (a scheduled order that no longer applies when it runs). A scheduled order may
// not create a subscription [inferred: Zuora's scheduled orders change existing subscriptions].
//
// Dates: an action's ContractEffective trigger date defaults to the order date; ServiceActivation defaults to
// it and CustomerAcceptance to ServiceActivation (the tenant does not require activation or acceptance, so no
// order is Pending). A charge starts on the trigger date its catalog trigger event names.
//
// Processing options: runBilling posts one invoice for the subscriptions the order touched (billing.go, target
// date billingOptions.targetDate or the execution date; no invoice when nothing is due); collectPayment pays it
// with the account's default payment method (or electronicPaymentOptions.paymentMethodId) and fails the whole
// order when there is none, as Zuora rolls back an order whose payment fails; writeOff (with a
// CancelSubscription in the order) writes off the open balance of the account's posted invoices that bill a
// subscription the order cancels, one credit memo each; refund is not simulated.
//
// Responses: Zuora-Version ≥ 223.0 gets subscriptions[{subscriptionNumber, status}], older versions (and no
// header: Zuora uses its minimum version) subscriptionNumbers[]; returnIds=true adds the ids.

// ---- request bodies (decoded loosely: unknown members are ignored, as V1 does) ----

type orderIn struct {
	OrderDate             *string           `json:"orderDate,omitempty"`
	OrderNumber           string            `json:"orderNumber,omitempty"`
	ExistingAccountNumber string            `json:"existingAccountNumber,omitempty"`
	ExistingAccountID     string            `json:"existingAccountId,omitempty"`
	NewAccount            json.RawMessage   `json:"newAccount,omitempty"`
	Description           string            `json:"description,omitempty"`
	Category              string            `json:"category,omitempty"`
	ReasonCode            string            `json:"reasonCode,omitempty"`
	CustomFields          map[string]any    `json:"customFields,omitempty"`
	Status                string            `json:"status,omitempty"`
	SchedulingOptions     *schedulingIn     `json:"schedulingOptions,omitempty"`
	ProcessingOptions     *processingIn     `json:"processingOptions,omitempty"`
	Subscriptions         []orderSubIn      `json:"subscriptions,omitempty"`
	OrderLineItems        []json.RawMessage `json:"orderLineItems,omitempty"`
	// Preview only.
	PreviewAccountInfo *previewAccountIn `json:"previewAccountInfo,omitempty"`
	PreviewOptions     *previewOptionsIn `json:"previewOptions,omitempty"`
}

type schedulingIn struct {
	ScheduledDate       string `json:"scheduledDate,omitempty"`
	ScheduledDatePolicy string `json:"scheduledDatePolicy,omitempty"`
}

type processingIn struct {
	RunBilling     *bool `json:"runBilling,omitempty"`
	CollectPayment *bool `json:"collectPayment,omitempty"`
	BillingOptions *struct {
		TargetDate           string `json:"targetDate,omitempty"`
		DocumentDate         string `json:"documentDate,omitempty"`
		GenerateDraftInvoice *bool  `json:"generateDraftInvoice,omitempty"`
	} `json:"billingOptions,omitempty"`
	ElectronicPaymentOptions *struct {
		PaymentMethodID string `json:"paymentMethodId,omitempty"`
	} `json:"electronicPaymentOptions,omitempty"`
	Refund   *bool `json:"refund,omitempty"`
	WriteOff *bool `json:"writeOff,omitempty"`
}

type previewAccountIn struct {
	BillCycleDay *int   `json:"billCycleDay,omitempty"`
	Currency     string `json:"currency,omitempty"`
}

type previewOptionsIn struct {
	PreviewThruType         string   `json:"previewThruType,omitempty"`
	PreviewNumberOfPeriods  *int     `json:"previewNumberOfPeriods,omitempty"`
	SpecificPreviewThruDate string   `json:"specificPreviewThruDate,omitempty"`
	PreviewTypes            []string `json:"previewTypes,omitempty"`
}

type orderSubIn struct {
	SubscriptionNumber string         `json:"subscriptionNumber,omitempty"`
	CustomFields       map[string]any `json:"customFields,omitempty"`
	Notes              string         `json:"notes,omitempty"`
	OrderActions       []actionIn     `json:"orderActions,omitempty"`
}

type triggerDateIn struct {
	Name        string `json:"name"`
	TriggerDate string `json:"triggerDate"`
}

type actionIn struct {
	Type               string           `json:"type"`
	TriggerDates       []triggerDateIn  `json:"triggerDates,omitempty"`
	ChangeReason       string           `json:"changeReason,omitempty"`
	CustomFields       map[string]any   `json:"customFields,omitempty"`
	CreateSubscription *createSubIn     `json:"createSubscription,omitempty"`
	AddProduct         *ratePlanIn      `json:"addProduct,omitempty"`
	UpdateProduct      *ratePlanUpdIn   `json:"updateProduct,omitempty"`
	RemoveProduct      *removeProductIn `json:"removeProduct,omitempty"`
	CancelSubscription *cancelIn        `json:"cancelSubscription,omitempty"`
	TermsAndConditions json.RawMessage  `json:"termsAndConditions,omitempty"`
	RenewSubscription  json.RawMessage  `json:"renewSubscription,omitempty"`
	OwnerTransfer      json.RawMessage  `json:"ownerTransfer,omitempty"`
	Suspend            json.RawMessage  `json:"suspend,omitempty"`
	Resume             json.RawMessage  `json:"resume,omitempty"`
	ChangePlan         json.RawMessage  `json:"changePlan,omitempty"`
}

type createSubIn struct {
	SubscriptionNumber             string       `json:"subscriptionNumber,omitempty"`
	SubscriptionOwnerAccountNumber string       `json:"subscriptionOwnerAccountNumber,omitempty"`
	InvoiceOwnerAccountNumber      string       `json:"invoiceOwnerAccountNumber,omitempty"`
	Currency                       string       `json:"currency,omitempty"`
	Notes                          string       `json:"notes,omitempty"`
	PaymentTerm                    string       `json:"paymentTerm,omitempty"`
	InvoiceSeparately              *bool        `json:"invoiceSeparately,omitempty"`
	Terms                          *termsIn     `json:"terms,omitempty"`
	SubscribeToRatePlans           []ratePlanIn `json:"subscribeToRatePlans,omitempty"`
	SubscribeToProducts            []ratePlanIn `json:"subscribeToProducts,omitempty"`
}

type termsIn struct {
	InitialTerm    *termIn     `json:"initialTerm,omitempty"`
	AutoRenew      *bool       `json:"autoRenew,omitempty"`
	RenewalSetting string      `json:"renewalSetting,omitempty"`
	RenewalTerms   []renewalIn `json:"renewalTerms"`
}

type termIn struct {
	TermType   string `json:"termType"`
	Period     *int   `json:"period,omitempty"`
	PeriodType string `json:"periodType,omitempty"`
	StartDate  string `json:"startDate,omitempty"`
}

type renewalIn struct {
	Period     *int   `json:"period,omitempty"`
	PeriodType string `json:"periodType,omitempty"`
}

type ratePlanIn struct {
	ProductRatePlanID          string             `json:"productRatePlanId,omitempty"`
	ProductRatePlanNumber      string             `json:"productRatePlanNumber,omitempty"`
	SubscriptionRatePlanNumber string             `json:"subscriptionRatePlanNumber,omitempty"`
	UniqueToken                string             `json:"uniqueToken,omitempty"`
	ChargeOverrides            []chargeOverrideIn `json:"chargeOverrides,omitempty"`
	CustomFields               map[string]any     `json:"customFields,omitempty"`
	NewRatePlanID              string             `json:"newRatePlanId,omitempty"` // read only
}

type chargeOverrideIn struct {
	ProductRatePlanChargeID     string         `json:"productRatePlanChargeId,omitempty"`
	ProductRatePlanChargeNumber string         `json:"productRatePlanChargeNumber,omitempty"`
	ChargeNumber                string         `json:"chargeNumber,omitempty"`
	UniqueToken                 string         `json:"uniqueToken,omitempty"`
	Pricing                     pricingIn      `json:"pricing,omitempty"`
	CustomFields                map[string]any `json:"customFields,omitempty"`
}

// pricingIn is an order pricing object: one member named after the charge's type and model
// (recurringFlatFee, recurringPerUnit, recurringTiered, recurringVolume, usagePerUnit, oneTimeFlatFee, ...).
type pricingIn map[string]*priceIn

type priceIn struct {
	ListPrice         *float64 `json:"listPrice,omitempty"`
	Quantity          *float64 `json:"quantity,omitempty"`
	Tiers             []tierIn `json:"tiers,omitempty"`
	ListPriceBase     string   `json:"listPriceBase,omitempty"`
	PriceChangeOption string   `json:"priceChangeOption,omitempty"`
}

type tierIn struct {
	Tier         *int     `json:"tier,omitempty"`
	StartingUnit *float64 `json:"startingUnit,omitempty"`
	EndingUnit   *float64 `json:"endingUnit,omitempty"`
	Price        *float64 `json:"price,omitempty"`
	PriceFormat  string   `json:"priceFormat,omitempty"`
}

type ratePlanUpdIn struct {
	RatePlanID                 string         `json:"ratePlanId,omitempty"`
	SubscriptionRatePlanNumber string         `json:"subscriptionRatePlanNumber,omitempty"`
	ProductRatePlanNumber      string         `json:"productRatePlanNumber,omitempty"`
	UniqueToken                string         `json:"uniqueToken,omitempty"`
	SpecificUpdateDate         string         `json:"specificUpdateDate,omitempty"`
	ChargeUpdates              []chargeUpdIn  `json:"chargeUpdates,omitempty"`
	CustomFields               map[string]any `json:"customFields,omitempty"`
	NewRatePlanID              string         `json:"newRatePlanId,omitempty"` // read only
}

type chargeUpdIn struct {
	ChargeNumber            string         `json:"chargeNumber,omitempty"`
	ProductRatePlanChargeID string         `json:"productRatePlanChargeId,omitempty"`
	UniqueToken             string         `json:"uniqueToken,omitempty"`
	Pricing                 pricingIn      `json:"pricing,omitempty"`
	CustomFields            map[string]any `json:"customFields,omitempty"`
	EffectiveDate           *struct {
		TriggerEvent        string `json:"triggerEvent,omitempty"`
		SpecificTriggerDate string `json:"specificTriggerDate,omitempty"`
	} `json:"effectiveDate,omitempty"`
}

type removeProductIn struct {
	RatePlanID                 string `json:"ratePlanId,omitempty"`
	SubscriptionRatePlanNumber string `json:"subscriptionRatePlanNumber,omitempty"`
	ProductRatePlanNumber      string `json:"productRatePlanNumber,omitempty"`
	UniqueToken                string `json:"uniqueToken,omitempty"`
}

type cancelIn struct {
	CancellationPolicy        string `json:"cancellationPolicy"`
	CancellationEffectiveDate string `json:"cancellationEffectiveDate,omitempty"`
}

// decodeV1Body decodes a V1 JSON body loosely (unknown members ignored); an empty body is {} when allowed.
func decodeV1Body(r *http.Request, v any) *apiError {
	body, err := readBody(r)
	if err != nil {
		return errMalformed(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return decodeJSONLoose(body, v)
}

// ---- store ----

// seqs are the counters behind generated numbers. An order works on a copy and stores it back on success.
type seqs struct {
	sub, order, ratePlan, charge, invoice, creditMemo, payment int
}

// orderStore holds subscriptions, orders and the billing documents. Caller holds store.mu for every access.
type orderStore struct {
	seq             seqs
	subs            []*subscription
	subsByNum       map[string]*subscription
	subsByVersionID map[string]*subscription
	orders          []*order
	ordersByNum     map[string]*order
	invoices        []*invoice
	payments        []*payment
	creditMemos     []*creditMemo
	notifications   []Notification
}

func newOrderStore() orderStore {
	return orderStore{subsByNum: map[string]*subscription{}, subsByVersionID: map[string]*subscription{},
		ordersByNum: map[string]*order{}}
}

// order is a stored order.
type order struct {
	ID, Number    string
	OrderDate     string
	AccountID     string
	AccountNumber string
	Currency      string
	Status        string
	Description   string
	Category      string
	ReasonCode    string
	CustomFields  map[string]any
	Scheduling    *schedulingIn
	CancelReason  string
	in            *orderIn // the request: a Scheduled order runs it later
	subs          []orderSubRecord
	created       time.Time // sim time
	updated       time.Time
	activation    map[string]any // scheduledOrderActivationResponse once a scheduled order ran
}

// orderSubRecord is one subscriptions[] entry of an order read.
type orderSubRecord struct {
	Number       string
	Base, New    int // 0 = unknown (not applied yet)
	CustomFields map[string]any
	Notes        string
	Actions      []map[string]any
}

const (
	orderCompleted = "Completed"
	orderScheduled = "Scheduled"
	orderDraft     = "Draft"
	orderCancelled = "Cancelled"
	orderFailed    = "Failed"

	termTermed    = "TERMED"
	termEvergreen = "EVERGREEN"

	changeAdd    = "Add"
	changeUpdate = "Update"
	changeRemove = "Remove"

	resourceTermType = 531003 // Zuora's example code 53100320 is subscription.termType
)

// ---- errors ----

func (e *apiError) withCategory(c int) *apiError { e.category = c; return e }

// errRule is a business rule the order breaks (category 30), answered with HTTP 200 like every V1 business
// failure.
func errRule(param, format string, args ...any) *apiError {
	return errInvalid(param, format, args...).withCategory(catRule)
}

// ---- handlers ----

// responseForm is how the create-order response is shaped.
type responseForm struct {
	returnIDs   bool
	newSubsForm bool // Zuora-Version >= 223.0
}

func formOf(r *http.Request) responseForm {
	v, _ := strconv.ParseFloat(strings.TrimSpace(r.Header.Get("Zuora-Version")), 64)
	return responseForm{returnIDs: r.URL.Query().Get("returnIds") == "true", newSubsForm: v >= 223}
}

func (s *Sim) handleCreateOrder(w http.ResponseWriter, r *http.Request) {
	s.runDueOrders()
	var in orderIn
	if e := decodeV1Body(r, &in); e != nil {
		s.fail(w, r, e)
		return
	}
	st := s.store
	st.mu.Lock()
	resp, e := s.createOrder(&in, formOf(r))
	st.mu.Unlock()
	if e != nil {
		s.fail(w, r, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// createOrder validates and stores (and, unless Draft or Scheduled, applies) an order. Caller holds st.mu.
func (s *Sim) createOrder(in *orderIn, form responseForm) (map[string]any, *apiError) {
	st := s.store
	today := s.today()
	a, e := st.validateOrderHead(in, today, false)
	if e != nil {
		return nil, e
	}
	status := in.Status
	if status == "" {
		status = orderCompleted
	}
	o := &order{ID: newID(), OrderDate: *in.OrderDate, AccountID: a.ID, AccountNumber: a.AccountNumber,
		Currency: a.Currency, Status: status, Description: in.Description, Category: in.Category,
		ReasonCode: in.ReasonCode, CustomFields: in.CustomFields, Scheduling: in.SchedulingOptions, in: in,
		created: s.Now(), updated: s.Now()}
	if o.Category == "" {
		o.Category = "NewSales"
	}
	sg := st.newStage(in, a, today, s.timestamp())
	if status == orderDraft {
		// Drafts are stored as given; Zuora validates them when they are activated.
		o.Number = sg.orderNumber()
		o.subs = sg.pendingRecords()
		st.ord.seq = sg.seq
		st.storeOrder(o)
		return orderResponseBody(o, a, nil, form), nil
	}
	if status == orderScheduled {
		for _, sub := range in.Subscriptions {
			for _, act := range sub.OrderActions {
				if act.Type == "CreateSubscription" {
					return nil, errRule("status", "a Scheduled order cannot create a subscription")
				}
			}
		}
	}
	if e := sg.run(); e != nil {
		return nil, e
	}
	if e := sg.checkProcessing(); e != nil {
		return nil, e
	}
	if status == orderScheduled {
		seq := st.ord.seq // the dry run's numbers are not used: only the order number is taken
		o.Number = sg.orderNumber()
		seq.order = sg.seq.order
		st.ord.seq = seq
		o.subs = sg.pendingRecords()
		st.storeOrder(o)
		st.notify(s.Now(), "order.scheduled", map[string]string{"OrderNumber": o.Number,
			"AccountNumber": a.AccountNumber, "ScheduledDate": in.SchedulingOptions.ScheduledDate})
		return orderResponseBody(o, a, nil, form), nil
	}
	o.Number = sg.orderNumber()
	res := sg.commit(o, s.Now())
	st.storeOrder(o)
	return orderResponseBody(o, a, res, form), nil
}

// validateOrderHead checks the order-level members and returns the invoice owner account (a stand-in account
// for a preview with previewAccountInfo). Caller holds st.mu.
func (st *store) validateOrderHead(in *orderIn, today string, preview bool) (*Account, *apiError) {
	if in.OrderDate == nil || *in.OrderDate == "" {
		return nil, errMissing("orderDate")
	}
	if !validDate(*in.OrderDate) {
		return nil, errInvalid("orderDate", "'orderDate' must be a date in the format YYYY-MM-DD")
	}
	if len(in.NewAccount) > 0 && string(in.NewAccount) != "null" {
		return nil, errInvalid("newAccount", "zuorasim does not simulate creating an account in an order; use existingAccountNumber")
	}
	if len(in.OrderLineItems) > 0 {
		return nil, errInvalid("orderLineItems", "zuorasim does not simulate order line items")
	}
	if in.Category != "" {
		if e := oneOf("category", in.Category, []string{"NewSales", "Return"}); e != nil {
			return nil, e
		}
	}
	var a *Account
	switch {
	case in.ExistingAccountNumber != "":
		if a = st.accountsByNum[in.ExistingAccountNumber]; a == nil {
			return nil, errReferenceNotFound("existingAccountNumber", in.ExistingAccountNumber)
		}
	case in.ExistingAccountID != "":
		if a = st.accountsByID[in.ExistingAccountID]; a == nil {
			return nil, errReferenceNotFound("existingAccountId", in.ExistingAccountID)
		}
	case preview && in.PreviewAccountInfo != nil:
		pa := in.PreviewAccountInfo
		if pa.Currency == "" {
			return nil, errMissing("previewAccountInfo.currency")
		}
		if pa.BillCycleDay == nil {
			return nil, errMissing("previewAccountInfo.billCycleDay")
		}
		if *pa.BillCycleDay < 0 || *pa.BillCycleDay > 31 {
			return nil, errInvalid("previewAccountInfo.billCycleDay", "'billCycleDay' must be between 0 and 31")
		}
		cur := strings.ToUpper(pa.Currency)
		if !st.currencyEnabled(cur) {
			return nil, errInvalid("previewAccountInfo.currency", "currency '%s' is not enabled in the tenant", pa.Currency)
		}
		a = &Account{Currency: cur, BillCycleDay: *pa.BillCycleDay, CustomFields: map[string]string{}}
	case preview:
		return nil, errMissing("existingAccountNumber")
	default:
		return nil, errMissing("existingAccountNumber")
	}
	if in.OrderNumber != "" {
		if len(in.OrderNumber) > 100 {
			return nil, errInvalid("orderNumber", "'orderNumber' must be at most 100 characters")
		}
		if !preview && st.ord.ordersByNum[in.OrderNumber] != nil {
			return nil, errRule("orderNumber", "an order with number '%s' already exists", in.OrderNumber)
		}
	}
	if e := st.validateCustomFieldMap("Order", "customFields", in.CustomFields); e != nil {
		return nil, e
	}
	if len(in.Subscriptions) == 0 {
		return nil, errMissing("subscriptions")
	}
	if preview {
		return a, nil
	}
	switch in.Status {
	case "", orderCompleted, orderDraft:
	case orderScheduled:
		so := in.SchedulingOptions
		if so == nil || so.ScheduledDate == "" {
			return nil, errMissing("schedulingOptions.scheduledDate")
		}
		if !validDate(so.ScheduledDate) {
			return nil, errInvalid("schedulingOptions.scheduledDate", "'scheduledDate' must be a date in the format YYYY-MM-DD")
		}
		if so.ScheduledDatePolicy != "" && so.ScheduledDatePolicy != "SpecificDate" {
			return nil, errInvalid("schedulingOptions.scheduledDatePolicy", "'scheduledDatePolicy' must be SpecificDate")
		}
		if so.ScheduledDate <= today {
			return nil, errRule("schedulingOptions.scheduledDate", "'scheduledDate' must be after today (%s)", today)
		}
	case "Pending", "Executing", "Failed":
		return nil, errInvalid("status", "an order cannot be created with status %s", in.Status)
	default:
		return nil, errInvalid("status", "'status' must be one of Draft, Pending, Completed, Scheduled, Executing, Failed")
	}
	if in.SchedulingOptions != nil && in.Status != orderScheduled {
		return nil, errInvalid("schedulingOptions", "'schedulingOptions' is only valid with status Scheduled")
	}
	if p := in.ProcessingOptions; p != nil {
		if in.Status == orderDraft {
			return nil, errInvalid("processingOptions", "'processingOptions' is not supported on draft orders")
		}
		if isTrue(p.Refund) {
			return nil, errInvalid("processingOptions.refund", "zuorasim does not simulate refunds")
		}
		if isTrue(p.CollectPayment) && !isTrue(p.RunBilling) {
			return nil, errInvalid("processingOptions.collectPayment", "'collectPayment' can only be true when 'runBilling' is true")
		}
		if bo := p.BillingOptions; bo != nil && bo.TargetDate != "" && !validDate(bo.TargetDate) {
			return nil, errInvalid("processingOptions.billingOptions.targetDate", "'targetDate' must be a date in the format YYYY-MM-DD")
		}
	}
	return a, nil
}

func isTrue(b *bool) bool { return b != nil && *b }

// validateCustomFieldMap checks a V1 customFields container against the fields object defines. Values must be
// strings (or null).
func (st *store) validateCustomFieldMap(object, param string, m map[string]any) *apiError {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !st.customFieldDefined(object, k) {
			return errUnknownParam(param + "." + k)
		}
		switch v := m[k].(type) {
		case nil:
		case string:
			if len(v) > 255 {
				return errInvalid(param+"."+k, "'%s.%s' must be at most 255 characters", param, k)
			}
		default:
			return errInvalid(param+"."+k, "'%s.%s' must be a string", param, k)
		}
	}
	return nil
}

func mergeAnyCustomFields(dst map[string]string, src map[string]any) {
	for k, v := range src {
		if s, ok := v.(string); ok {
			dst[k] = s
		} else {
			delete(dst, k)
		}
	}
}

// storeOrder adds a new order. Caller holds st.mu for writing.
func (st *store) storeOrder(o *order) {
	st.ord.orders = append(st.ord.orders, o)
	st.ord.ordersByNum[o.Number] = o
}

// ---- the stage: an order applied to copies ----

type stage struct {
	st        *store
	seq       seqs
	in        *orderIn
	account   *Account
	date      string // execution date: today, or the scheduled date
	now       string // RFC 3339 timestamp of the change
	working   map[string]*subVersion
	base      map[string]int // subscription number -> base version (0: created by this order)
	steps     map[string]int // actions applied per subscription
	touched   []string       // subscription numbers in first-touch order
	cancelled map[string]bool
	tokens    map[string]*subRatePlan // rate plan uniqueToken -> rate plan
	records   []orderSubRecord
	newIDs    map[*actionIn]string  // rate plan id an AddProduct/UpdateProduct produced
	added     map[*subRatePlan]bool // rate plans this order adds
}

func (st *store) newStage(in *orderIn, a *Account, date, now string) *stage {
	return &stage{st: st, seq: st.ord.seq, in: in, account: a, date: date, now: now,
		working: map[string]*subVersion{}, base: map[string]int{}, steps: map[string]int{},
		cancelled: map[string]bool{}, tokens: map[string]*subRatePlan{}, newIDs: map[*actionIn]string{},
		added: map[*subRatePlan]bool{}}
}

func (sg *stage) orderNumber() string {
	if sg.in.OrderNumber != "" {
		return sg.in.OrderNumber
	}
	for {
		sg.seq.order++
		n := fmt.Sprintf("O-%08d", sg.seq.order)
		if sg.st.ord.ordersByNum[n] == nil {
			return n
		}
	}
}

// triggerDates resolves an action's three trigger dates (defaults: order date, then each other).
func (sg *stage) triggerDates(act *actionIn, param string) (ce, sa, ca string, e *apiError) {
	ce = *sg.in.OrderDate
	for i, td := range act.TriggerDates {
		p := fmt.Sprintf("%s.triggerDates[%d]", param, i)
		if !validDate(td.TriggerDate) {
			return "", "", "", errInvalid(p+".triggerDate", "'triggerDate' must be a date in the format YYYY-MM-DD")
		}
		switch td.Name {
		case "ContractEffective":
			ce = td.TriggerDate
		case "ServiceActivation":
			sa = td.TriggerDate
		case "CustomerAcceptance":
			ca = td.TriggerDate
		default:
			return "", "", "", errInvalid(p+".name", "'name' must be one of ContractEffective, ServiceActivation, CustomerAcceptance")
		}
	}
	if sa == "" {
		sa = ce
	}
	if ca == "" {
		ca = sa
	}
	return ce, sa, ca, nil
}

// resolvedTriggerDates renders the trigger dates an action ran with, for order reads.
func (sg *stage) resolvedTriggerDates(act *actionIn) []triggerDateIn {
	ce, sa, ca, e := sg.triggerDates(act, "")
	if e != nil {
		return act.TriggerDates
	}
	return []triggerDateIn{{"ContractEffective", ce}, {"ServiceActivation", sa}, {"CustomerAcceptance", ca}}
}

// startFor picks the trigger date a catalog trigger event names.
func startFor(event, ce, sa, ca string) string {
	switch event {
	case "ServiceActivation":
		return sa
	case "CustomerAcceptance":
		return ca
	}
	return ce
}

// run applies every action to copies. Caller holds st.mu.
func (sg *stage) run() *apiError {
	for i := range sg.in.Subscriptions {
		osub := &sg.in.Subscriptions[i]
		p := fmt.Sprintf("subscriptions[%d]", i)
		if len(osub.OrderActions) == 0 {
			return errMissing(p + ".orderActions")
		}
		if e := sg.st.validateCustomFieldMap("Subscription", p+".customFields", osub.CustomFields); e != nil {
			return e
		}
		number := osub.SubscriptionNumber
		rec := orderSubRecord{CustomFields: osub.CustomFields, Notes: osub.Notes}
		for j := range osub.OrderActions {
			act := &osub.OrderActions[j]
			ap := fmt.Sprintf("%s.orderActions[%d]", p, j)
			if e := checkActionShape(act, ap); e != nil {
				return e
			}
			if act.Type == "CreateSubscription" {
				if j != 0 {
					return errRule(ap+".type", "CreateSubscription must be the first action of its subscription")
				}
				n, e := sg.createSubscription(act, number, osub, ap)
				if e != nil {
					return e
				}
				number = n
			} else {
				if number == "" {
					return errMissing(p + ".subscriptionNumber")
				}
				v, e := sg.workingCopy(number, p+".subscriptionNumber")
				if e != nil {
					return e
				}
				if v.cancelled() {
					return errRule(ap, "subscription '%s' is cancelled and cannot be changed", number)
				}
				if e := sg.apply(v, act, ap); e != nil {
					return e
				}
				if j == 0 && len(osub.CustomFields) > 0 {
					mergeAnyCustomFields(v.CustomFields, osub.CustomFields)
				}
				if osub.Notes != "" {
					v.Notes = osub.Notes
				}
			}
			sg.steps[number]++
		}
		rec.Number = number
		sg.records = append(sg.records, rec)
	}
	return nil
}

// checkActionShape checks that an action carries exactly the object of its type.
func checkActionShape(act *actionIn, p string) *apiError {
	objects := map[string]bool{
		"createSubscription": act.CreateSubscription != nil, "addProduct": act.AddProduct != nil,
		"updateProduct": act.UpdateProduct != nil, "removeProduct": act.RemoveProduct != nil,
		"cancelSubscription": act.CancelSubscription != nil, "termsAndConditions": len(act.TermsAndConditions) > 0,
		"renewSubscription": len(act.RenewSubscription) > 0, "ownerTransfer": len(act.OwnerTransfer) > 0,
		"suspend": len(act.Suspend) > 0, "resume": len(act.Resume) > 0, "changePlan": len(act.ChangePlan) > 0,
	}
	want := map[string]string{"CreateSubscription": "createSubscription", "AddProduct": "addProduct",
		"UpdateProduct": "updateProduct", "RemoveProduct": "removeProduct", "CancelSubscription": "cancelSubscription"}
	switch act.Type {
	case "":
		return errMissing(p + ".type")
	case "TermsAndConditions", "RenewSubscription", "OwnerTransfer", "Suspend", "Resume", "ChangePlan":
		return errInvalid(p+".type", "zuorasim does not simulate the order action %s", act.Type)
	}
	obj, ok := want[act.Type]
	if !ok {
		return errInvalid(p+".type", "'type' must be one of CreateSubscription, TermsAndConditions, AddProduct, UpdateProduct, RemoveProduct, RenewSubscription, CancelSubscription, OwnerTransfer, Suspend, Resume, ChangePlan")
	}
	if !objects[obj] {
		return errMissing(p + "." + obj)
	}
	for _, name := range slices.Sorted(maps.Keys(objects)) {
		if objects[name] && name != obj {
			return errInvalid(p+"."+name, "'%s' does not belong to an order action of type %s", name, act.Type)
		}
	}
	return nil
}

// workingCopy returns the copy of an existing subscription this order changes, making it on first use.
func (sg *stage) workingCopy(number, param string) (*subVersion, *apiError) {
	if v := sg.working[number]; v != nil {
		return v, nil
	}
	sub := sg.st.ord.subsByNum[number]
	if sub == nil {
		return nil, errReferenceNotFound(param, number)
	}
	v := sub.latest().clone()
	sg.working[number] = v
	sg.base[number] = v.Version
	sg.touched = append(sg.touched, number)
	return v, nil
}

func (sg *stage) apply(v *subVersion, act *actionIn, p string) *apiError {
	ce, sa, ca, e := sg.triggerDates(act, p)
	if e != nil {
		return e
	}
	switch act.Type {
	case "AddProduct":
		rp, e := sg.newRatePlan(v, act.AddProduct, p+".addProduct", ce, sa, ca)
		if e != nil {
			return e
		}
		rp.LastChangeType = changeAdd
		sg.added[rp] = true
		v.RatePlans = append(v.RatePlans, rp)
		sg.newIDs[act] = rp.ID
	case "UpdateProduct":
		return sg.updateProduct(v, act, p+".updateProduct", ce, sa, ca)
	case "RemoveProduct":
		rm := act.RemoveProduct
		rp, e := sg.findRatePlan(v, rm.RatePlanID, rm.SubscriptionRatePlanNumber, rm.ProductRatePlanNumber, rm.UniqueToken, p+".removeProduct")
		if e != nil {
			return e
		}
		rp.LastChangeType = changeRemove
		for _, c := range rp.Charges {
			if c.EffectiveEndDate == "" || ce < c.EffectiveEndDate {
				c.EffectiveEndDate = max(ce, c.EffectiveStartDate)
			}
		}
	case "CancelSubscription":
		return sg.cancel(v, act.CancelSubscription, p+".cancelSubscription", ce)
	}
	return nil
}

// createSubscription builds a new subscription (version 1 plus any further actions of the same order).
func (sg *stage) createSubscription(act *actionIn, number string, osub *orderSubIn, p string) (string, *apiError) {
	cs := act.CreateSubscription
	p += ".createSubscription"
	ce, sa, ca, e := sg.triggerDates(act, strings.TrimSuffix(p, ".createSubscription"))
	if e != nil {
		return "", e
	}
	if sg.account.ID == "" && sg.account.AccountNumber == "" && cs.SubscriptionOwnerAccountNumber != "" {
		return "", errInvalid(p+".subscriptionOwnerAccountNumber", "a preview without an account cannot name a subscription owner")
	}
	owner := sg.account
	if n := cs.SubscriptionOwnerAccountNumber; n != "" {
		if owner = sg.st.accountsByNum[n]; owner == nil {
			return "", errReferenceNotFound(p+".subscriptionOwnerAccountNumber", n)
		}
	}
	if n := cs.InvoiceOwnerAccountNumber; n != "" && n != sg.account.AccountNumber {
		return "", errInvalid(p+".invoiceOwnerAccountNumber", "zuorasim does not simulate an invoice owner other than the order's account")
	}
	if cs.SubscriptionNumber != "" {
		number = cs.SubscriptionNumber
	}
	if number != "" {
		if sg.st.ord.subsByNum[number] != nil || sg.working[number] != nil {
			return "", errRule(p+".subscriptionNumber", "a subscription with number '%s' already exists", number)
		}
		if len(number) > 100 {
			return "", errInvalid(p+".subscriptionNumber", "'subscriptionNumber' must be at most 100 characters")
		}
	} else {
		for {
			sg.seq.sub++
			number = fmt.Sprintf("A-S%08d", sg.seq.sub)
			if sg.st.ord.subsByNum[number] == nil && sg.working[number] == nil {
				break
			}
		}
	}
	currency := owner.Currency
	if cs.Currency != "" {
		currency = strings.ToUpper(cs.Currency)
		if !sg.st.currencyEnabled(currency) {
			return "", errInvalid(p+".currency", "currency '%s' is not enabled in the tenant", cs.Currency)
		}
	}
	if currency == "" {
		return "", errMissing(p + ".currency")
	}
	v := &subVersion{Number: number, Status: subStatusActive, AccountID: owner.ID, AccountNumber: owner.AccountNumber,
		AccountName: owner.Name, Currency: currency, Notes: cs.Notes, PaymentTerm: cs.PaymentTerm,
		ContractEffectiveDate: ce, ServiceActivationDate: sa, CustomerAcceptanceDate: ca,
		CustomFields: map[string]string{}}
	if v.PaymentTerm == "" {
		v.PaymentTerm = owner.PaymentTerms
	}
	if cs.InvoiceSeparately != nil {
		v.InvoiceSeparately = *cs.InvoiceSeparately
	}
	if e := sg.applyTerms(v, cs.Terms, p+".terms", ce); e != nil {
		return "", e
	}
	mergeAnyCustomFields(v.CustomFields, osub.CustomFields)
	plans := append(slices.Clone(cs.SubscribeToRatePlans), cs.SubscribeToProducts...)
	for i := range plans {
		rp, e := sg.newRatePlan(v, &plans[i], fmt.Sprintf("%s.subscribeToRatePlans[%d]", p, i), ce, sa, ca)
		if e != nil {
			return "", e
		}
		v.RatePlans = append(v.RatePlans, rp)
	}
	cs.SubscriptionNumber = number // order reads show the number the action created
	sg.working[number] = v
	sg.base[number] = 0
	sg.touched = append(sg.touched, number)
	return number, nil
}

var termPeriodTypes = []string{"Month", "Year", "Day", "Week"}

func (sg *stage) applyTerms(v *subVersion, t *termsIn, p, ce string) *apiError {
	if t == nil {
		return errMissing(p)
	}
	if t.InitialTerm == nil {
		return errMissing(p + ".initialTerm")
	}
	it := t.InitialTerm
	switch it.TermType {
	case "":
		return errMissing(p + ".initialTerm.termType")
	case termTermed, termEvergreen:
	default:
		return errInvalid(p+".initialTerm.termType", "'termType' value should be one of: TERMED, EVERGREEN").forResource(resourceTermType)
	}
	start := ce
	if it.StartDate != "" {
		if !validDate(it.StartDate) {
			return errInvalid(p+".initialTerm.startDate", "'startDate' must be a date in the format YYYY-MM-DD")
		}
		start = it.StartDate
	}
	v.TermType, v.SubscriptionStartDate, v.TermStartDate = it.TermType, start, start
	v.AutoRenew = isTrue(t.AutoRenew)
	if it.TermType == termEvergreen {
		v.RenewalSetting = ""
		return nil
	}
	if it.Period == nil || *it.Period < 1 {
		return errInvalid(p+".initialTerm.period", "'period' must be a positive integer for a TERMED subscription")
	}
	v.InitialTerm, v.InitialTermPeriodType = *it.Period, it.PeriodType
	if v.InitialTermPeriodType == "" {
		v.InitialTermPeriodType = "Month"
	}
	if e := oneOf(p+".initialTerm.periodType", v.InitialTermPeriodType, termPeriodTypes); e != nil {
		return e
	}
	v.RenewalSetting = t.RenewalSetting
	if v.RenewalSetting == "" {
		v.RenewalSetting = "RENEW_WITH_SPECIFIC_TERM"
	}
	if e := oneOf(p+".renewalSetting", v.RenewalSetting, []string{"RENEW_WITH_SPECIFIC_TERM", "RENEW_TO_EVERGREEN"}); e != nil {
		return e
	}
	v.RenewalTerm, v.RenewalTermPeriodType = v.InitialTerm, v.InitialTermPeriodType
	if len(t.RenewalTerms) > 0 {
		rt := t.RenewalTerms[0]
		if rt.Period != nil {
			if *rt.Period < 1 {
				return errInvalid(p+".renewalTerms[0].period", "'period' must be a positive integer")
			}
			v.RenewalTerm = *rt.Period
		}
		if rt.PeriodType != "" {
			if e := oneOf(p+".renewalTerms[0].periodType", rt.PeriodType, termPeriodTypes); e != nil {
				return e
			}
			v.RenewalTermPeriodType = rt.PeriodType
		}
	}
	v.TermEndDate = addTerm(start, v.InitialTerm, v.InitialTermPeriodType)
	v.SubscriptionEndDate = v.TermEndDate
	return nil
}

// newRatePlan builds a subscription rate plan from a catalog plan and its charge overrides.
func (sg *stage) newRatePlan(v *subVersion, in *ratePlanIn, p, ce, sa, ca string) (*subRatePlan, *apiError) {
	cat := sg.st.cat
	var pl *Plan
	switch {
	case in.ProductRatePlanID != "":
		if pl = cat.plansByID[in.ProductRatePlanID]; pl == nil {
			return nil, errReferenceNotFound(p+".productRatePlanId", in.ProductRatePlanID)
		}
	case in.ProductRatePlanNumber != "":
		if pl = cat.plansByNum[in.ProductRatePlanNumber]; pl == nil {
			return nil, errReferenceNotFound(p+".productRatePlanNumber", in.ProductRatePlanNumber)
		}
	default:
		return nil, errMissing(p + ".productRatePlanId")
	}
	if !activeOn(pl.StartDate, pl.EndDate, ce) {
		return nil, errRule(p+".productRatePlanId", "product rate plan '%s' is not effective on %s", pl.ID, ce)
	}
	if e := sg.st.validateCustomFieldMap("RatePlan", p+".customFields", in.CustomFields); e != nil {
		return nil, e
	}
	prod := cat.productsByID[pl.ProductID]
	rp := &subRatePlan{ID: newID(), ProductRatePlanID: pl.ID, Name: pl.Name, CustomFields: map[string]string{}}
	if prod != nil {
		rp.ProductID, rp.ProductName, rp.ProductSKU = prod.ID, prod.Name, prod.SKU
	}
	mergeAnyCustomFields(rp.CustomFields, in.CustomFields)
	if in.SubscriptionRatePlanNumber != "" {
		rp.Number = in.SubscriptionRatePlanNumber
	} else {
		sg.seq.ratePlan++
		rp.Number = fmt.Sprintf("SRP-%08d", sg.seq.ratePlan)
	}
	var catCharges []*Charge
	for _, c := range cat.charges {
		if c.PlanID == pl.ID {
			catCharges = append(catCharges, c)
		}
	}
	overrides := map[string]*chargeOverrideIn{}
	overrideIdx := map[string]int{}
	for i := range in.ChargeOverrides {
		co := &in.ChargeOverrides[i]
		op := fmt.Sprintf("%s.chargeOverrides[%d]", p, i)
		var c *Charge
		switch {
		case co.ProductRatePlanChargeID != "":
			c = cat.chargesByID[co.ProductRatePlanChargeID]
			if c == nil {
				return nil, errReferenceNotFound(op+".productRatePlanChargeId", co.ProductRatePlanChargeID)
			}
		case co.ProductRatePlanChargeNumber != "":
			c = cat.chargesByNum[co.ProductRatePlanChargeNumber]
			if c == nil {
				return nil, errReferenceNotFound(op+".productRatePlanChargeNumber", co.ProductRatePlanChargeNumber)
			}
		default:
			return nil, errMissing(op + ".productRatePlanChargeId")
		}
		if c.PlanID != pl.ID {
			return nil, errRule(op+".productRatePlanChargeId", "product rate plan charge '%s' is not part of product rate plan '%s'", c.ID, pl.ID)
		}
		if overrides[c.ID] != nil {
			return nil, errRule(op+".productRatePlanChargeId", "product rate plan charge '%s' is overridden twice", c.ID)
		}
		overrides[c.ID], overrideIdx[c.ID] = co, i
	}
	for _, c := range catCharges {
		op := p
		co := overrides[c.ID]
		if co != nil {
			op = fmt.Sprintf("%s.chargeOverrides[%d]", p, overrideIdx[c.ID])
		}
		sc, e := sg.newCharge(v, c, op, startFor(c.TriggerEvent, ce, sa, ca))
		if e != nil {
			return nil, e
		}
		if co != nil {
			if co.ChargeNumber != "" {
				sc.Number = co.ChargeNumber
			}
			if e := sg.st.validateCustomFieldMap("RatePlanCharge", op+".customFields", co.CustomFields); e != nil {
				return nil, e
			}
			mergeAnyCustomFields(sc.CustomFields, co.CustomFields)
			if e := applyPricing(sc, co.Pricing, op+".pricing"); e != nil {
				return nil, e
			}
		}
		if e := checkQuantity(sc, op); e != nil {
			return nil, e
		}
		rp.Charges = append(rp.Charges, sc)
	}
	if in.UniqueToken != "" {
		sg.tokens[in.UniqueToken] = rp
	}
	return rp, nil
}

// newCharge makes a subscription charge from a catalog charge, priced in the subscription's currency.
func (sg *stage) newCharge(v *subVersion, c *Charge, p, start string) (*subCharge, *apiError) {
	ts := c.tiersOf(v.Currency)
	if len(ts) == 0 {
		return nil, errRule(p, "product rate plan charge '%s' has no price in %s", c.ID, v.Currency)
	}
	sg.seq.charge++
	sc := &subCharge{ID: newID(), Number: fmt.Sprintf("C-%08d", sg.seq.charge), ProductRatePlanChargeID: c.ID,
		Name: c.Name, Description: c.Description, Type: c.ChargeType, Model: c.ChargeModel, UOM: c.UOM,
		BillingPeriod: c.BillingPeriod, SpecificBillingPeriod: c.SpecificBillingPeriod, BillingTiming: c.BillingTiming,
		ListPriceBase: c.ListPriceBase, TriggerEvent: c.TriggerEvent, Currency: v.Currency,
		MinQuantity: clonePtr(c.MinQuantity), MaxQuantity: clonePtr(c.MaxQuantity), AccountingCode: c.AccountingCode,
		EffectiveStartDate: start, Segment: 1, Version: 1, CustomFields: map[string]string{}}
	if c.tiered() {
		sc.Tiers = (&Charge{Tiers: ts}).clone().Tiers
	} else {
		price := ts[0].Price
		sc.Price = &price
	}
	if c.ChargeModel != modelFlatFee && c.ChargeType != typeUsage {
		q := 1.0
		if c.DefaultQuantity != nil {
			q = *c.DefaultQuantity
		}
		sc.Quantity = &q
	}
	return sc, nil
}

// pricingKey is the pricing member a charge takes: recurringPerUnit, usageTiered, oneTimeFlatFee, ...
func pricingKey(c *subCharge) string {
	prefix := map[string]string{typeRecurring: "recurring", typeUsage: "usage", typeOneTime: "oneTime"}[c.Type]
	return prefix + v1ModelNames[c.Model]
}

var listPriceBases = map[string]string{"Per_Billing_Period": "Per Billing Period", "Per_Month": "Per Month",
	"Per_Week": "Per Week", "Per_Year": "Per Year"}

// applyPricing applies an override or update pricing object to a charge.
func applyPricing(c *subCharge, pr pricingIn, p string) *apiError {
	if len(pr) == 0 {
		return nil
	}
	want := pricingKey(c)
	keys := slices.Sorted(maps.Keys(pr))
	if len(keys) != 1 || keys[0] != want {
		return errInvalid(p, "the pricing of charge %s (%s %s) must be given as '%s'", c.Number, c.Type, v1ModelNames[c.Model], want)
	}
	pi := pr[want]
	p += "." + want
	if pi == nil {
		return nil
	}
	if pi.ListPrice != nil {
		if c.Model != modelFlatFee && c.Model != modelPerUnit {
			return errInvalid(p+".listPrice", "'listPrice' does not apply to a %s charge; give tiers", v1ModelNames[c.Model])
		}
		if *pi.ListPrice < 0 || math.IsNaN(*pi.ListPrice) {
			return errInvalid(p+".listPrice", "'listPrice' must not be negative")
		}
		v := *pi.ListPrice
		c.Price = &v
	}
	if pi.Quantity != nil {
		if c.Model == modelFlatFee || c.Type == typeUsage {
			return errInvalid(p+".quantity", "'quantity' does not apply to a %s %s charge", c.Type, v1ModelNames[c.Model])
		}
		if *pi.Quantity < 0 || math.IsNaN(*pi.Quantity) {
			return errInvalid(p+".quantity", "'quantity' must not be negative")
		}
		q := *pi.Quantity
		c.Quantity = &q
	}
	if pi.ListPriceBase != "" {
		lpb, ok := listPriceBases[pi.ListPriceBase]
		if !ok || c.Type != typeRecurring {
			return errInvalid(p+".listPriceBase", "'listPriceBase' must be one of Per_Billing_Period, Per_Month, Per_Week, Per_Year on a recurring charge")
		}
		c.ListPriceBase = lpb
	}
	if len(pi.Tiers) > 0 {
		if c.Model != modelTiered && c.Model != modelVolume {
			return errInvalid(p+".tiers", "'tiers' only apply to tiered and volume charges")
		}
		ts, e := orderTiers(pi.Tiers, c.Currency, p+".tiers")
		if e != nil {
			return e
		}
		c.Tiers = ts
	}
	return nil
}

// orderTiers checks order tiers (numbered 1..n in order, first starting at 0, each starting after the previous
// one's end, only the last open-ended) and converts them to catalog tiers.
func orderTiers(in []tierIn, currency, p string) ([]ChargeTier, *apiError) {
	out := make([]ChargeTier, 0, len(in))
	for i, t := range in {
		tp := fmt.Sprintf("%s[%d]", p, i)
		switch {
		case t.Tier == nil:
			return nil, errMissing(tp + ".tier")
		case t.StartingUnit == nil:
			return nil, errMissing(tp + ".startingUnit")
		case t.Price == nil:
			return nil, errMissing(tp + ".price")
		case t.PriceFormat == "":
			return nil, errMissing(tp + ".priceFormat")
		case *t.Tier != i+1:
			return nil, errInvalid(tp+".tier", "tiers must be numbered 1, 2, ... in order")
		case *t.Price < 0:
			return nil, errInvalid(tp+".price", "'price' must not be negative")
		case i == 0 && *t.StartingUnit != 0:
			return nil, errInvalid(tp+".startingUnit", "the first tier must start at 0")
		case i == len(in)-1 && t.EndingUnit != nil:
			return nil, errInvalid(tp+".endingUnit", "the last tier must not have an 'endingUnit'")
		case i < len(in)-1 && t.EndingUnit == nil:
			return nil, errInvalid(tp+".endingUnit", "only the last tier may be open-ended")
		case t.EndingUnit != nil && *t.EndingUnit < *t.StartingUnit:
			return nil, errInvalid(tp+".endingUnit", "tier %d ends before it starts", i+1)
		case i > 0 && *t.StartingUnit <= *in[i-1].EndingUnit:
			return nil, errInvalid(tp+".startingUnit", "tier %d must start after the previous tier's 'endingUnit'", i+1)
		}
		var f string
		switch t.PriceFormat {
		case "FlatFee":
			f = formatFlatFee
		case "PerUnit":
			f = formatPerUnit
		default:
			return nil, errInvalid(tp+".priceFormat", "'priceFormat' must be one of FlatFee, PerUnit")
		}
		out = append(out, ChargeTier{Currency: currency, Tier: i + 1, StartingUnit: *t.StartingUnit,
			EndingUnit: clonePtr(t.EndingUnit), Price: *t.Price, PriceFormat: f})
	}
	return out, nil
}

// checkQuantity enforces the catalog charge's minimum and maximum quantity.
func checkQuantity(c *subCharge, p string) *apiError {
	if c.Quantity == nil {
		return nil
	}
	q := *c.Quantity
	if c.MinQuantity != nil && q < *c.MinQuantity {
		return errInvalid(p+".pricing", "quantity %s of charge %s is below its minimum quantity %s", num(q), c.Name, num(*c.MinQuantity))
	}
	if c.MaxQuantity != nil && q > *c.MaxQuantity {
		return errInvalid(p+".pricing", "quantity %s of charge %s is above its maximum quantity %s", num(q), c.Name, num(*c.MaxQuantity))
	}
	return nil
}

// findRatePlan finds the rate plan an UpdateProduct/RemoveProduct names. Removed rate plans cannot be changed.
func (sg *stage) findRatePlan(v *subVersion, id, number, prpNumber, token, p string) (*subRatePlan, *apiError) {
	var rp *subRatePlan
	switch {
	case id != "":
		i := slices.IndexFunc(v.RatePlans, func(x *subRatePlan) bool { return x.ID == id })
		if i < 0 {
			return nil, errReferenceNotFound(p+".ratePlanId", id)
		}
		rp = v.RatePlans[i]
	case number != "":
		i := slices.IndexFunc(v.RatePlans, func(x *subRatePlan) bool { return x.Number == number })
		if i < 0 {
			return nil, errReferenceNotFound(p+".subscriptionRatePlanNumber", number)
		}
		rp = v.RatePlans[i]
	case prpNumber != "":
		pl := sg.st.cat.plansByNum[prpNumber]
		var hits []*subRatePlan
		for _, x := range v.RatePlans {
			if pl != nil && x.ProductRatePlanID == pl.ID && x.LastChangeType != changeRemove {
				hits = append(hits, x)
			}
		}
		switch len(hits) {
		case 0:
			return nil, errReferenceNotFound(p+".productRatePlanNumber", prpNumber)
		case 1:
			rp = hits[0]
		default:
			return nil, errRule(p+".productRatePlanNumber", "the subscription has %d rate plans of product rate plan '%s'; name one by ratePlanId", len(hits), prpNumber)
		}
	case token != "":
		rp = sg.tokens[token]
		if rp == nil || !slices.Contains(v.RatePlans, rp) {
			return nil, errReferenceNotFound(p+".uniqueToken", token)
		}
	default:
		return nil, errMissing(p + ".ratePlanId")
	}
	if rp.LastChangeType == changeRemove {
		return nil, errRule(p, "rate plan '%s' has been removed from subscription %s", rp.ID, v.Number)
	}
	return rp, nil
}

func (sg *stage) updateProduct(v *subVersion, act *actionIn, p, ce, sa, ca string) *apiError {
	u := act.UpdateProduct
	rp, e := sg.findRatePlan(v, u.RatePlanID, u.SubscriptionRatePlanNumber, u.ProductRatePlanNumber, u.UniqueToken, p)
	if e != nil {
		return e
	}
	if u.SpecificUpdateDate != "" && !validDate(u.SpecificUpdateDate) {
		return errInvalid(p+".specificUpdateDate", "'specificUpdateDate' must be a date in the format YYYY-MM-DD")
	}
	if len(u.ChargeUpdates) == 0 && len(u.CustomFields) == 0 {
		return errMissing(p + ".chargeUpdates")
	}
	if e := sg.st.validateCustomFieldMap("RatePlan", p+".customFields", u.CustomFields); e != nil {
		return e
	}
	mergeAnyCustomFields(rp.CustomFields, u.CustomFields)
	for i := range u.ChargeUpdates {
		cu := &u.ChargeUpdates[i]
		cp := fmt.Sprintf("%s.chargeUpdates[%d]", p, i)
		var c *subCharge
		for _, x := range rp.Charges {
			if (cu.ChargeNumber != "" && x.Number == cu.ChargeNumber) ||
				(cu.ChargeNumber == "" && cu.ProductRatePlanChargeID != "" && x.ProductRatePlanChargeID == cu.ProductRatePlanChargeID) {
				c = x
				break
			}
		}
		if c == nil {
			switch {
			case cu.ChargeNumber != "":
				return errReferenceNotFound(cp+".chargeNumber", cu.ChargeNumber)
			case cu.ProductRatePlanChargeID != "":
				return errReferenceNotFound(cp+".productRatePlanChargeId", cu.ProductRatePlanChargeID)
			}
			return errMissing(cp + ".chargeNumber")
		}
		if ed := cu.EffectiveDate; ed != nil && ed.TriggerEvent == "SpecificDate" && !validDate(ed.SpecificTriggerDate) {
			return errInvalid(cp+".effectiveDate.specificTriggerDate", "'specificTriggerDate' must be a date in the format YYYY-MM-DD")
		}
		if e := sg.st.validateCustomFieldMap("RatePlanCharge", cp+".customFields", cu.CustomFields); e != nil {
			return e
		}
		mergeAnyCustomFields(c.CustomFields, cu.CustomFields)
		if e := applyPricing(c, cu.Pricing, cp+".pricing"); e != nil {
			return e
		}
		if e := checkQuantity(c, cp); e != nil {
			return e
		}
		c.Segment++
		c.Version++
	}
	if !sg.added[rp] {
		rp.LastChangeType = changeUpdate
	}
	sg.newIDs[act] = rp.ID
	return nil
}

func (sg *stage) cancel(v *subVersion, cs *cancelIn, p, ce string) *apiError {
	var date string
	switch cs.CancellationPolicy {
	case "":
		return errMissing(p + ".cancellationPolicy")
	case "EndOfCurrentTerm":
		if v.TermType != termTermed {
			return errRule(p+".cancellationPolicy", "EndOfCurrentTerm is not valid for the evergreen subscription %s", v.Number)
		}
		date = v.TermEndDate
	case "EndOfLastInvoicePeriod":
		date = ce
		billed := ""
		for _, rp := range v.RatePlans {
			for _, c := range rp.Charges {
				billed = max(billed, c.ChargedThroughDate)
			}
		}
		if billed != "" {
			date = billed
		}
	case "SpecificDate":
		if cs.CancellationEffectiveDate == "" {
			return errMissing(p + ".cancellationEffectiveDate")
		}
		if !validDate(cs.CancellationEffectiveDate) {
			return errInvalid(p+".cancellationEffectiveDate", "'cancellationEffectiveDate' must be a date in the format YYYY-MM-DD")
		}
		date = cs.CancellationEffectiveDate
	default:
		return errInvalid(p+".cancellationPolicy", "'cancellationPolicy' must be one of EndOfCurrentTerm, EndOfLastInvoicePeriod, SpecificDate")
	}
	if date < v.ContractEffectiveDate {
		return errRule(p+".cancellationEffectiveDate", "the cancellation date %s is before the subscription's start %s", date, v.ContractEffectiveDate)
	}
	v.Status, v.CancelledDate, v.SubscriptionEndDate = subStatusCancelled, date, date
	for _, rp := range v.RatePlans {
		for _, c := range rp.Charges {
			if c.EffectiveEndDate == "" || date < c.EffectiveEndDate {
				c.EffectiveEndDate = max(date, c.EffectiveStartDate)
			}
		}
	}
	sg.cancelled[v.Number] = true
	return nil
}

// checkProcessing validates the processing options against the account before anything is stored, so a
// failing payment fails the whole order.
func (sg *stage) checkProcessing() *apiError {
	p := sg.in.ProcessingOptions
	if p == nil || !isTrue(p.CollectPayment) {
		return nil
	}
	if _, e := sg.paymentMethod(); e != nil {
		return e
	}
	return nil
}

func (sg *stage) paymentMethod() (string, *apiError) {
	p := sg.in.ProcessingOptions
	if epo := p.ElectronicPaymentOptions; epo != nil && epo.PaymentMethodID != "" {
		if !sg.st.paymentMethods[epo.PaymentMethodID] {
			return "", errReferenceNotFound("processingOptions.electronicPaymentOptions.paymentMethodId", epo.PaymentMethodID)
		}
		return epo.PaymentMethodID, nil
	}
	if sg.account.DefaultPaymentMethodID == "" {
		return "", errRule("processingOptions.collectPayment", "account %s has no default payment method to collect the payment with", sg.account.AccountNumber)
	}
	return sg.account.DefaultPaymentMethodID, nil
}

// pendingRecords are the subscriptions[] of an order that has not run (Draft, Scheduled).
func (sg *stage) pendingRecords() []orderSubRecord {
	clear(sg.newIDs) // a dry run's rate plans are not the ones the order will make
	var out []orderSubRecord
	for i := range sg.in.Subscriptions {
		osub := &sg.in.Subscriptions[i]
		rec := orderSubRecord{Number: osub.SubscriptionNumber, CustomFields: osub.CustomFields, Notes: osub.Notes}
		if sub := sg.st.ord.subsByNum[osub.SubscriptionNumber]; sub != nil {
			rec.Base = sub.latest().Version
		}
		for j := range osub.OrderActions {
			rec.Actions = append(rec.Actions, sg.renderAction(&osub.OrderActions[j], j+1))
		}
		out = append(out, rec)
	}
	return out
}

// orderResult is what committing an order produced.
type orderResult struct {
	subs     []*subVersion
	invoices []*invoice
	payment  *payment
	writeOff []map[string]any
	memos    []*creditMemo
}

// commit stores the staged versions and runs the processing options. Caller holds st.mu for writing.
func (sg *stage) commit(o *order, at time.Time) *orderResult {
	st := sg.st
	res := &orderResult{}
	for _, number := range sg.touched {
		v := sg.working[number]
		v.ID = newID()
		v.Version = sg.base[number] + sg.steps[number]
		v.OrderNumber = o.Number
		v.UpdatedTime = sg.now
		sub := st.ord.subsByNum[number]
		if sub == nil {
			v.CreatedTime = sg.now
			sub = &subscription{}
			st.ord.subs = append(st.ord.subs, sub)
			st.ord.subsByNum[number] = sub
		}
		sub.versions = append(sub.versions, v)
		st.ord.subsByVersionID[v.ID] = sub
		res.subs = append(res.subs, v)
	}
	for i := range sg.records {
		rec := &sg.records[i]
		rec.Base, rec.New = sg.base[rec.Number], sg.working[rec.Number].Version
		osub := &sg.in.Subscriptions[i]
		for j := range osub.OrderActions {
			rec.Actions = append(rec.Actions, sg.renderAction(&osub.OrderActions[j], j+1))
		}
	}
	o.subs = sg.records
	if p := sg.in.ProcessingOptions; p != nil && isTrue(p.RunBilling) {
		target := sg.date
		draft := false
		if bo := p.BillingOptions; bo != nil {
			if bo.TargetDate != "" {
				target = bo.TargetDate
			}
			draft = isTrue(bo.GenerateDraftInvoice)
		}
		items := billSubscriptions(res.subs, billLimit{through: target})
		if len(items) > 0 {
			inv := st.newInvoice(&sg.seq, sg.account, items, target, sg.now, o.Number, draft)
			for _, b := range items {
				b.charge.ChargedThroughDate = b.chargedUntil
			}
			st.ord.invoices = append(st.ord.invoices, inv)
			res.invoices = append(res.invoices, inv)
			if !draft {
				sg.account.RemainingInvoiceBalance = roundMoney(sg.account.RemainingInvoiceBalance + inv.Amount)
				st.notify(at, "invoice.posted", map[string]string{"InvoiceNumber": inv.Number, "InvoiceId": inv.ID,
					"AccountNumber": inv.AccountNumber, "AccountId": inv.AccountID, "Amount": money(inv.Amount),
					"Balance": money(inv.Balance), "Status": inv.Status, "Currency": inv.Currency})
				if isTrue(p.CollectPayment) && inv.Balance > 0 {
					res.payment = sg.collect(inv, at)
				}
			}
		}
	}
	if p := sg.in.ProcessingOptions; p != nil && isTrue(p.WriteOff) && len(sg.cancelled) > 0 {
		sg.writeOff(res)
	}
	for _, v := range res.subs {
		params := map[string]string{"SubscriptionNumber": v.Number, "SubscriptionId": v.ID,
			"SubscriptionVersion": strconv.Itoa(v.Version), "SubscriptionStatus": v.Status,
			"AccountNumber": v.AccountNumber, "AccountId": v.AccountID, "OrderNumber": o.Number,
			"StiggCustomerId": v.CustomFields["stiggCustomerId__c"]}
		event := "subscription.updated"
		switch {
		case sg.base[v.Number] == 0:
			event = "subscription.created"
		case sg.cancelled[v.Number]:
			event = "subscription.canceled"
			params["CancelledDate"] = v.CancelledDate
		}
		st.notify(at, event, params)
	}
	st.ord.seq = sg.seq
	return res
}

func (sg *stage) collect(inv *invoice, at time.Time) *payment {
	st := sg.st
	pm, _ := sg.paymentMethod() // checked by checkProcessing
	sg.seq.payment++
	pay := &payment{ID: newID(), Number: fmt.Sprintf("P-%08d", sg.seq.payment), AccountID: inv.AccountID,
		AccountNumber: inv.AccountNumber, Amount: inv.Balance, Currency: inv.Currency, EffectiveDate: sg.date,
		PaymentMethodID: pm, InvoiceNumber: inv.Number, InvoiceID: inv.ID, CreatedTime: sg.now}
	inv.PaymentAmount = roundMoney(inv.PaymentAmount + pay.Amount)
	inv.Balance = 0
	sg.account.RemainingInvoiceBalance = roundMoney(sg.account.RemainingInvoiceBalance - pay.Amount)
	st.ord.payments = append(st.ord.payments, pay)
	st.notify(at, "invoice.paid", map[string]string{"InvoiceNumber": inv.Number, "InvoiceId": inv.ID,
		"AccountNumber": inv.AccountNumber, "PaymentNumber": pay.Number, "Amount": money(pay.Amount), "Balance": money(0)})
	return pay
}

// writeOff writes off the open balance of the posted invoices that bill a subscription the order cancels.
func (sg *stage) writeOff(res *orderResult) {
	st := sg.st
	for _, inv := range st.ord.invoices {
		if inv.AccountID != sg.account.ID || inv.Status != "Posted" || inv.Balance <= 0 {
			continue
		}
		if !slices.ContainsFunc(inv.Items, func(it invoiceItem) bool { return sg.cancelled[it.SubscriptionNumber] }) {
			continue
		}
		sg.seq.creditMemo++
		cm := &creditMemo{ID: newID(), Number: fmt.Sprintf("CM%08d", sg.seq.creditMemo), InvoiceNumber: inv.Number,
			Amount: inv.Balance}
		st.ord.creditMemos = append(st.ord.creditMemos, cm)
		res.memos = append(res.memos, cm)
		res.writeOff = append(res.writeOff, map[string]any{"amount": cm.Amount, "invoiceNumber": inv.Number,
			"status": "Success", "writeOffCreditMemoNumber": cm.Number})
		inv.CreditMemoAmount = roundMoney(inv.CreditMemoAmount + cm.Amount)
		sg.account.RemainingInvoiceBalance = roundMoney(sg.account.RemainingInvoiceBalance - inv.Balance)
		inv.Balance = 0
	}
}

// renderAction is an order action as order reads show it (OrderAction): the request's action object, its
// resolved trigger dates, an id and its sequence; newRatePlanId on AddProduct/UpdateProduct.
func (sg *stage) renderAction(act *actionIn, sequence int) map[string]any {
	m := toMap(act)
	m["id"] = newID()
	m["sequence"] = sequence
	if act.Type != "CancelSubscription" {
		m["triggerDates"] = toMapList(sg.resolvedTriggerDates(act))
	}
	if id := sg.newIDs[act]; id != "" {
		if obj, ok := m[map[string]string{"AddProduct": "addProduct", "UpdateProduct": "updateProduct"}[act.Type]].(map[string]any); ok {
			obj["newRatePlanId"] = id
		}
	}
	fixRatePlanOverrides := func(rp any) {
		obj, _ := rp.(map[string]any)
		cos, _ := obj["chargeOverrides"].([]any)
		for _, co := range cos {
			if com, ok := co.(map[string]any); ok {
				// The spec's read schema (ChargeOverride) requires the member spelt "productRateplanChargeId";
				// both spellings are sent so that readers of either find it.
				com["productRateplanChargeId"] = com["productRatePlanChargeId"]
			}
		}
	}
	if cs, ok := m["createSubscription"].(map[string]any); ok {
		rps, _ := cs["subscribeToRatePlans"].([]any)
		if extra, ok := cs["subscribeToProducts"].([]any); ok {
			rps = append(rps, extra...)
			delete(cs, "subscribeToProducts")
			cs["subscribeToRatePlans"] = rps
		}
		for _, rp := range rps {
			fixRatePlanOverrides(rp)
		}
		if terms, ok := cs["terms"].(map[string]any); ok && terms["renewalTerms"] == nil {
			terms["renewalTerms"] = []any{} // required by the read schema
		}
	}
	fixRatePlanOverrides(m["addProduct"])
	if rm, ok := m["removeProduct"].(map[string]any); ok {
		delete(rm, "customFields") // the read schema types its values as objects
	}
	return m
}

func toMapList[T any](xs []T) []any {
	out := make([]any, 0, len(xs))
	for _, x := range xs {
		out = append(out, toMap(x))
	}
	return out
}

// orderResponseBody is the POST /v1/orders answer.
func orderResponseBody(o *order, a *Account, res *orderResult, form responseForm) map[string]any {
	m := map[string]any{"success": true, "orderNumber": o.Number, "accountNumber": a.AccountNumber, "status": o.Status}
	var numbers, ids []string
	var subs []map[string]any
	if res != nil {
		for _, v := range res.subs {
			numbers, ids = append(numbers, v.Number), append(ids, v.ID)
			s := map[string]any{"subscriptionNumber": v.Number, "status": v.Status}
			if form.returnIDs {
				s["subscriptionId"] = v.ID
			}
			subs = append(subs, s)
		}
	} else {
		for _, rec := range o.subs {
			if rec.Number != "" && !slices.Contains(numbers, rec.Number) {
				numbers = append(numbers, rec.Number)
				subs = append(subs, map[string]any{"subscriptionNumber": rec.Number})
			}
		}
	}
	if form.newSubsForm {
		if len(subs) > 0 {
			m["subscriptions"] = subs
		}
	} else if len(numbers) > 0 {
		m["subscriptionNumbers"] = numbers
	}
	if form.returnIDs {
		m["orderId"], m["accountId"] = o.ID, a.ID
		if len(ids) > 0 {
			m["subscriptionIds"] = ids
		}
	}
	if res == nil {
		return m
	}
	if len(res.invoices) > 0 {
		var nums, iids []string
		for _, inv := range res.invoices {
			nums, iids = append(nums, inv.Number), append(iids, inv.ID)
		}
		m["invoiceNumbers"] = nums
		if form.returnIDs {
			m["invoiceIds"] = iids
		}
	}
	if res.payment != nil {
		// The spec types paidAmount as a string of 9 to 22 characters: a decimal(22,9), as Zuora writes it.
		m["paymentNumber"], m["paidAmount"] = res.payment.Number, strconv.FormatFloat(res.payment.Amount, 'f', 9, 64)
		if form.returnIDs {
			m["paymentId"] = res.payment.ID
		}
	}
	if len(res.writeOff) > 0 {
		m["writeOff"] = res.writeOff
		var nums, mids []string
		for _, cm := range res.memos {
			nums, mids = append(nums, cm.Number), append(mids, cm.ID)
		}
		m["creditMemoNumbers"] = nums
		if form.returnIDs {
			m["creditMemoIds"] = mids
		}
	}
	return m
}

// ---- scheduled orders ----

// runDueOrders applies the Scheduled orders whose scheduled date the simulator clock has reached, oldest date
// first (then in creation order), each as of its scheduled date. It runs inside Advance and at the start of the
// order and subscription endpoints, so no background timer is needed. An order that no longer applies (e.g. its
// subscription was cancelled meanwhile) becomes Failed, as Zuora marks a scheduled order it cannot execute.
func (s *Sim) runDueOrders() {
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	today := s.today()
	var due []*order
	for _, o := range st.ord.orders {
		if o.Status == orderScheduled && o.Scheduling.ScheduledDate <= today {
			due = append(due, o)
		}
	}
	slices.SortStableFunc(due, func(a, b *order) int { return strings.Compare(a.Scheduling.ScheduledDate, b.Scheduling.ScheduledDate) })
	for _, o := range due {
		s.executeScheduled(o)
	}
}

func (s *Sim) executeScheduled(o *order) {
	st := s.store
	at := s.Now()
	a := st.accountsByID[o.AccountID]
	sg := st.newStage(o.in, a, o.Scheduling.ScheduledDate, at.Format(time.RFC3339))
	e := sg.run()
	if e == nil {
		e = sg.checkProcessing()
	}
	o.updated = at
	if e != nil {
		o.Status = orderFailed
		o.activation = map[string]any{"success": false, "processId": newProcessID(),
			"reasons": []map[string]any{{"code": strconv.Itoa(e.v1Code()), "message": e.message}}}
		st.notify(at, "order.scheduled_failed", map[string]string{"OrderNumber": o.Number,
			"AccountNumber": o.AccountNumber, "Reason": e.message})
		return
	}
	res := sg.commit(o, at)
	o.Status = orderCompleted
	o.activation = orderResponseBody(o, a, res, responseForm{newSubsForm: true})
	var numbers []string
	for _, v := range res.subs {
		numbers = append(numbers, v.Number)
	}
	st.notify(at, "order.scheduled_completed", map[string]string{"OrderNumber": o.Number,
		"AccountNumber": o.AccountNumber, "ScheduledDate": o.Scheduling.ScheduledDate,
		"SubscriptionNumbers": strings.Join(numbers, ","), "Status": o.Status})
}

// ---- reads ----

// V1Order is an order as GET /v1/orders/{orderNumber} returns it ("Order"; createdDate/updatedDate are
// "YYYY-MM-DD HH:MM:SS" as in Zuora's examples).
type V1Order struct {
	OrderNumber                      string                `json:"orderNumber"`
	OrderDate                        string                `json:"orderDate"`
	Status                           string                `json:"status"`
	Description                      string                `json:"description,omitempty"`
	Category                         string                `json:"category"`
	ReasonCode                       string                `json:"reasonCode,omitempty"`
	Currency                         string                `json:"currency"`
	ExistingAccountNumber            string                `json:"existingAccountNumber"`
	CreatedBy                        string                `json:"createdBy"`
	CreatedDate                      string                `json:"createdDate"`
	UpdatedBy                        string                `json:"updatedBy"`
	UpdatedDate                      string                `json:"updatedDate"`
	CustomFields                     map[string]any        `json:"customFields"`
	SchedulingOptions                *schedulingIn         `json:"schedulingOptions,omitempty"`
	ScheduledOrderActivationResponse map[string]any        `json:"scheduledOrderActivationResponse,omitempty"`
	CancelReason                     string                `json:"cancelReason,omitempty"`
	Subscriptions                    []V1OrderSubscription `json:"subscriptions"`
}

// V1OrderSubscription is one subscriptions[] entry of an order read.
type V1OrderSubscription struct {
	SubscriptionNumber string           `json:"subscriptionNumber"`
	BaseVersion        *int             `json:"baseVersion,omitempty"`
	NewVersion         *int             `json:"newVersion,omitempty"`
	Sequence           int              `json:"sequence"`
	CustomFields       map[string]any   `json:"customFields"`
	Notes              string           `json:"notes,omitempty"`
	OrderActions       []map[string]any `json:"orderActions"`
}

const orderTimeLayout = "2006-01-02 15:04:05"

func (o *order) view() V1Order {
	out := V1Order{OrderNumber: o.Number, OrderDate: o.OrderDate, Status: o.Status, Description: o.Description,
		Category: o.Category, ReasonCode: o.ReasonCode, Currency: o.Currency, ExistingAccountNumber: o.AccountNumber,
		CreatedBy: simUserID, CreatedDate: o.created.Format(orderTimeLayout), UpdatedBy: simUserID,
		UpdatedDate: o.updated.Format(orderTimeLayout), CustomFields: maps.Clone(o.CustomFields),
		SchedulingOptions: o.Scheduling, ScheduledOrderActivationResponse: o.activation, CancelReason: o.CancelReason,
		Subscriptions: []V1OrderSubscription{}}
	if out.CustomFields == nil {
		out.CustomFields = map[string]any{}
	}
	if out.SchedulingOptions != nil && out.SchedulingOptions.ScheduledDatePolicy == "" {
		so := *out.SchedulingOptions
		so.ScheduledDatePolicy = "SpecificDate"
		out.SchedulingOptions = &so
	}
	for i, rec := range o.subs {
		vs := V1OrderSubscription{SubscriptionNumber: rec.Number, Sequence: i + 1, CustomFields: maps.Clone(rec.CustomFields),
			Notes: rec.Notes, OrderActions: rec.Actions}
		if vs.CustomFields == nil {
			vs.CustomFields = map[string]any{}
		}
		if vs.OrderActions == nil {
			vs.OrderActions = []map[string]any{}
		}
		if rec.New > 0 {
			b, n := rec.Base, rec.New
			vs.BaseVersion, vs.NewVersion = &b, &n
		} else if rec.Base > 0 {
			b := rec.Base
			vs.BaseVersion = &b
		}
		out.Subscriptions = append(out.Subscriptions, vs)
	}
	return out
}

func (s *Sim) handleGetOrder(w http.ResponseWriter, r *http.Request) {
	s.runDueOrders()
	st := s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	o := st.ord.ordersByNum[r.PathValue("order_number")]
	if o == nil {
		s.fail(w, r, errNotFound("order", r.PathValue("order_number")))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "order": o.view()})
}

// order list paging: pageSize defaults to 20 and may not exceed 40 (the operation's parameters).
const (
	ordersDefaultPageSize = 20
	ordersMaxPageSize     = 40
)

var orderStatusFilter = map[string]string{"cancelled": orderCancelled, "completed": orderCompleted, "draft": orderDraft,
	"executing": "Executing", "failed": orderFailed, "pending": "Pending", "scheduled": orderScheduled}

func (s *Sim) handleListSubscriptionOrders(w http.ResponseWriter, r *http.Request) {
	s.runDueOrders()
	q := r.URL.Query()
	pageNo, pageSize := 1, ordersDefaultPageSize
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.fail(w, r, invalidQuery("page", "'page' must be a positive integer"))
			return
		}
		pageNo = n
	}
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > ordersMaxPageSize {
			s.fail(w, r, invalidQuery("pageSize", fmt.Sprintf("'pageSize' must be an integer between 1 and %d", ordersMaxPageSize)))
			return
		}
		pageSize = n
	}
	status := ""
	if v := strings.ToLower(q.Get("status")); v != "" && v != "all" {
		st, ok := orderStatusFilter[v]
		if !ok {
			s.fail(w, r, invalidQuery("status", "'status' must be one of all, cancelled, completed, draft, executing, failed, pending, scheduled"))
			return
		}
		status = st
	}
	dateField := q.Get("dateFilterOption")
	if dateField != "" && dateField != "orderDate" && dateField != "updatedDate" {
		s.fail(w, r, invalidQuery("dateFilterOption", "'dateFilterOption' must be orderDate or updatedDate"))
		return
	}
	start, end := q.Get("startDate"), q.Get("endDate")
	for _, d := range []struct{ name, v string }{{"startDate", start}, {"endDate", end}} {
		if d.v != "" && !validDate(d.v) {
			s.fail(w, r, invalidQuery(d.name, fmt.Sprintf("'%s' must be a date in the format YYYY-MM-DD", d.name)))
			return
		}
	}
	number := r.PathValue("subscription_number")
	st := s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	if st.ord.subsByNum[number] == nil {
		s.fail(w, r, errNotFound("subscription", number))
		return
	}
	var matched []*order
	for _, o := range st.ord.orders {
		if !slices.ContainsFunc(o.subs, func(rec orderSubRecord) bool { return rec.Number == number }) {
			continue
		}
		if status != "" && o.Status != status {
			continue
		}
		day := o.OrderDate
		if dateField == "updatedDate" {
			day = o.updated.Format(dateLayout)
		}
		if (start != "" && day < start) || (end != "" && day > end) {
			continue
		}
		matched = append(matched, o)
	}
	resp := map[string]any{"success": true}
	orders := []V1Order{}
	from := (pageNo - 1) * pageSize
	for i := from; i < len(matched) && i < from+pageSize; i++ {
		orders = append(orders, matched[i].view())
	}
	resp["orders"] = orders
	if from+pageSize < len(matched) {
		next := url.Values{"page": {strconv.Itoa(pageNo + 1)}, "pageSize": {strconv.Itoa(pageSize)}}
		for _, k := range []string{"status", "dateFilterOption", "startDate", "endDate"} {
			if v := q.Get(k); v != "" {
				next.Set(k, v)
			}
		}
		resp["nextPage"] = "/v1/orders/subscription/" + url.PathEscape(number) + "?" + next.Encode()
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Sim) handleCancelOrder(w http.ResponseWriter, r *http.Request) {
	s.runDueOrders()
	var in struct {
		CancelReason string `json:"cancelReason"`
	}
	if e := decodeV1Body(r, &in); e != nil {
		s.fail(w, r, e)
		return
	}
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	o := st.ord.ordersByNum[r.PathValue("order_number")]
	if o == nil {
		s.fail(w, r, errNotFound("order", r.PathValue("order_number")))
		return
	}
	if o.Status != orderDraft && o.Status != orderScheduled {
		s.fail(w, r, errRule("orderNumber", "order %s is %s: only draft or scheduled orders can be cancelled", o.Number, o.Status))
		return
	}
	o.Status, o.CancelReason, o.updated = orderCancelled, in.CancelReason, s.Now()
	st.notify(s.Now(), "order.cancelled", map[string]string{"OrderNumber": o.Number, "AccountNumber": o.AccountNumber})
	resp := map[string]any{"success": true, "orderNumber": o.Number, "accountNumber": o.AccountNumber,
		"status": orderCancelled}
	if in.CancelReason != "" {
		resp["cancelReason"] = in.CancelReason
	}
	writeJSON(w, http.StatusOK, resp)
}

// ---- preview ----

func (s *Sim) handlePreviewOrder(w http.ResponseWriter, r *http.Request) {
	s.runDueOrders()
	var in orderIn
	if e := decodeV1Body(r, &in); e != nil {
		s.fail(w, r, e)
		return
	}
	st := s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	resp, e := s.previewOrder(&in)
	if e != nil {
		s.fail(w, r, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// previewOrder runs the order on copies (nothing is stored) and rates the subscriptions it touches: new ones
// from their start, existing ones from their next unbilled period. Invoices are one per bill date. Caller
// holds st.mu.
func (s *Sim) previewOrder(in *orderIn) (map[string]any, *apiError) {
	st := s.store
	opts := in.PreviewOptions
	if opts == nil {
		return nil, errMissing("previewOptions")
	}
	a, e := st.validateOrderHead(in, s.today(), true)
	if e != nil {
		return nil, e
	}
	types := opts.PreviewTypes
	if len(types) == 0 {
		types = []string{"BillingDocs"} // [inferred] default
	}
	for i, t := range types {
		if e := oneOf(fmt.Sprintf("previewOptions.previewTypes[%d]", i), t,
			[]string{"ChargeMetrics", "BillingDocs", "OrderDeltaMetrics", "OrderMetrics", "RampMetrics", "RampDeltaMetrics"}); e != nil {
			return nil, e
		}
	}
	sg := st.newStage(in, a, s.today(), s.timestamp())
	if e := sg.run(); e != nil {
		return nil, e
	}
	var vs []*subVersion
	for _, n := range sg.touched {
		vs = append(vs, sg.working[n])
	}
	var items []billItem
	switch opts.PreviewThruType {
	case "", "NumberOfPeriods":
		n := 1
		if opts.PreviewNumberOfPeriods != nil {
			n = *opts.PreviewNumberOfPeriods
			if n < 1 {
				return nil, errInvalid("previewOptions.previewNumberOfPeriods", "'previewNumberOfPeriods' must be a positive integer")
			}
		}
		items = billSubscriptions(vs, billLimit{periods: n})
	case "SpecificDate":
		if opts.SpecificPreviewThruDate == "" {
			return nil, errMissing("previewOptions.specificPreviewThruDate")
		}
		if !validDate(opts.SpecificPreviewThruDate) {
			return nil, errInvalid("previewOptions.specificPreviewThruDate", "'specificPreviewThruDate' must be a date in the format YYYY-MM-DD")
		}
		items = billSubscriptions(vs, billLimit{through: opts.SpecificPreviewThruDate})
	case "TermEnd":
		for _, v := range vs {
			if v.TermType != termTermed {
				return nil, errRule("previewOptions.previewThruType", "TermEnd is not valid: subscription %s is evergreen", v.Number)
			}
			end := v.TermEndDate
			if v.SubscriptionEndDate != "" && v.SubscriptionEndDate < end {
				end = v.SubscriptionEndDate
			}
			items = append(items, billSubscriptions([]*subVersion{v}, billLimit{through: inclusiveEnd(end)})...)
		}
	default:
		return nil, errInvalid("previewOptions.previewThruType", "'previewThruType' must be one of SpecificDate, TermEnd, NumberOfPeriods")
	}
	result := map[string]any{}
	if slices.Contains(types, "BillingDocs") {
		invoices := []any{}
		for _, doc := range groupByBillDate(items) {
			total := 0.0
			its := []any{}
			for _, b := range doc.items {
				total = roundMoney(total + b.amount)
				it := map[string]any{"serviceStartDate": b.start, "serviceEndDate": inclusiveEnd(b.end),
					"amountWithoutTax": b.amount, "taxAmount": 0, "chargeName": b.charge.Name,
					"chargeNumber": b.charge.Number, "chargeDescription": b.charge.Description,
					"productName": b.ratePlan.ProductName, "ratePlanName": b.ratePlan.Name,
					"productRatePlanChargeId": b.charge.ProductRatePlanChargeID,
					"subscriptionNumber":      b.sub.Number, "processingType": "Charge"}
				if b.unitPrice != nil {
					it["unitPrice"] = *b.unitPrice
				}
				info := map[string]any{}
				if b.quantity != nil {
					info["quantity"] = *b.quantity
				}
				if b.charge.UOM != "" {
					info["unitOfMeasure"] = b.charge.UOM
				}
				if len(info) > 0 {
					it["additionalInfo"] = info
				}
				its = append(its, it)
			}
			invoices = append(invoices, map[string]any{"amount": total, "amountWithoutTax": total, "taxAmount": 0,
				"targetDate": doc.date, "invoiceItems": its})
		}
		result["invoices"] = invoices
	}
	if slices.Contains(types, "ChargeMetrics") {
		result["chargeMetrics"] = st.chargeMetrics(sg, vs)
	}
	return map[string]any{"success": true, "previewResult": result}, nil
}

// chargeMetrics is previewResult.chargeMetrics: per charge the contracted MRR and TCV after the order, and
// their change from the version before it (tax is always 0).
func (st *store) chargeMetrics(sg *stage, vs []*subVersion) []any {
	out := []any{}
	for _, v := range vs {
		before := map[string]*subCharge{}
		var baseV *subVersion
		if sub := st.ord.subsByNum[v.Number]; sub != nil {
			baseV = sub.latest()
			for _, rp := range baseV.RatePlans {
				for _, c := range rp.Charges {
					before[c.ID] = c
				}
			}
		}
		charges := []any{}
		for _, rp := range v.RatePlans {
			for _, c := range rp.Charges {
				mrr, tcv := 0.0, c.tcv(v)
				if c.Type == typeRecurring && (c.EffectiveEndDate == "" || c.EffectiveEndDate > sg.date) {
					mrr = c.mrr()
				}
				mrrDelta, tcvDelta := mrr, tcv
				if b := before[c.ID]; b != nil {
					bm := 0.0
					if b.Type == typeRecurring && (b.EffectiveEndDate == "" || b.EffectiveEndDate > sg.date) {
						bm = b.mrr()
					}
					mrrDelta, tcvDelta = roundMoney(mrr-bm), roundMoney(tcv-b.tcv(baseV))
				}
				charges = append(charges, map[string]any{"chargeNumber": c.Number,
					"productRatePlanChargeId": c.ProductRatePlanChargeID, "productRatePlanId": rp.ProductRatePlanID,
					"originRatePlanId": rp.ID, "subscriptionRatePlanNumber": rp.Number,
					"cmrr": map[string]any{"regular": mrr, "regularDelta": mrrDelta, "discount": 0, "discountDelta": 0},
					"tcv":  map[string]any{"regular": tcv, "regularDelta": tcvDelta, "discount": 0, "discountDelta": 0},
					"tax":  map[string]any{"regular": 0, "regularDelta": 0, "discount": 0, "discountDelta": 0}})
			}
		}
		out = append(out, map[string]any{"subscriptionNumber": v.Number, "charges": charges})
	}
	return out
}

// ---- Go helpers ----

// Orders returns every order as GET /v1/orders/{orderNumber} shows it, in creation order.
func (s *Sim) Orders() []V1Order {
	st := s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make([]V1Order, 0, len(st.ord.orders))
	for _, o := range st.ord.orders {
		out = append(out, o.view())
	}
	return out
}

// orderState fills the order collections of a State snapshot. Caller holds st.mu.
func (st *store) orderState(out *State, today string) {
	out.Subscriptions = make([]V1Subscription, 0, len(st.ord.subs))
	for _, sub := range st.ord.subs {
		out.Subscriptions = append(out.Subscriptions, st.v1SubscriptionView(sub.latest(), true, today))
	}
	out.Orders = make([]V1Order, 0, len(st.ord.orders))
	for _, o := range st.ord.orders {
		out.Orders = append(out.Orders, o.view())
	}
	out.Invoices = make([]V1Invoice, 0, len(st.ord.invoices))
	for _, inv := range st.ord.invoices {
		out.Invoices = append(out.Invoices, inv.view())
	}
	out.Payments = make([]V1Payment, 0, len(st.ord.payments))
	for _, p := range st.ord.payments {
		out.Payments = append(out.Payments, p.view())
	}
}
