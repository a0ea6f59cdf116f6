package zuorasim

import (
	"slices"
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
//
// Files: this one holds the orders' data and its store; orders_request.go the request bodies; orders_create.go
// POST /v1/orders (validation, the three ways an order is stored, the response); orders_engine.go the stage that
// applies an order's actions to copies of its subscriptions; orders_pricing.go the rate plans and charges an
// order adds, priced from the catalog and its overrides; orders_processing.go the commit (new versions, billing,
// payment collection, write-off, notifications); orders_scheduled.go scheduled orders run by the clock and order
// cancellation; orders_read.go the order reads and lists; orders_preview.go POST /v1/orders/preview.

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

// ---- orderStore access (caller holds st.mu; for writing where the method adds) ----

// order is the order with this number, or nil.
func (ord *orderStore) order(number string) *order { return ord.ordersByNum[number] }

// addOrder stores a new order.
func (ord *orderStore) addOrder(o *order) {
	ord.orders = append(ord.orders, o)
	ord.ordersByNum[o.Number] = o
}

// ordersOf lists the orders with a subscriptions[] entry for the subscription number, in creation order.
func (ord *orderStore) ordersOf(number string) []*order {
	var out []*order
	for _, o := range ord.orders {
		if slices.ContainsFunc(o.subs, func(rec orderSubRecord) bool { return rec.Number == number }) {
			out = append(out, o)
		}
	}
	return out
}

// dueOrders lists the Scheduled orders whose scheduled date is on or before today, oldest date first, then in
// creation order.
func (ord *orderStore) dueOrders(today string) []*order {
	var due []*order
	for _, o := range ord.orders {
		if o.Status == orderScheduled && o.Scheduling.ScheduledDate <= today {
			due = append(due, o)
		}
	}
	slices.SortStableFunc(due, func(a, b *order) int { return strings.Compare(a.Scheduling.ScheduledDate, b.Scheduling.ScheduledDate) })
	return due
}

// subscription is the subscription with this number, or nil.
func (ord *orderStore) subscription(number string) *subscription { return ord.subsByNum[number] }

// addVersion stores v as the new latest version of the subscription number, and the subscription itself when v
// is its first version (created reports that).
func (ord *orderStore) addVersion(number string, v *subVersion) (created bool) {
	sub := ord.subsByNum[number]
	if sub == nil {
		created = true
		sub = &subscription{}
		ord.subs = append(ord.subs, sub)
		ord.subsByNum[number] = sub
	}
	sub.versions = append(sub.versions, v)
	ord.subsByVersionID[v.ID] = sub
	return created
}

func (ord *orderStore) addInvoice(inv *invoice)      { ord.invoices = append(ord.invoices, inv) }
func (ord *orderStore) addPayment(p *payment)        { ord.payments = append(ord.payments, p) }
func (ord *orderStore) addCreditMemo(cm *creditMemo) { ord.creditMemos = append(ord.creditMemos, cm) }

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
