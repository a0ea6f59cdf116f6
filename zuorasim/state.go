package zuorasim

import (
	"maps"
	"slices"
	"sync"
)

// store holds the tenant's data. One mutex guards everything: the simulator favours simple, obviously-correct
// locking over throughput. Resource files add their collections here and to State.
type store struct {
	mu sync.RWMutex

	customFields map[string]map[string]bool // object -> defined custom field names

	accounts      []*Account          // creation order
	accountsByID  map[string]*Account // id -> account
	accountsByNum map[string]*Account // account_number -> account
	contacts      map[string]*Contact // id -> contact
	accountSeq    int                 // last generated account number
	paymentTerms  []PaymentTerm
	// payment methods (payment_methods.go), in creation order and by id; accounts and orders reference them
	paymentMethods     []*PaymentMethod
	paymentMethodsByID map[string]*PaymentMethod
	signer             *hostedPageSigner // the tenant's hosted-page key pair (hosted_pages.go); kept by reset
	currencies         []string          // currencies enabled in the tenant
	cat                catalogStore      // products, plans, charges (= prices), units of measure: catalog.go
	ord                orderStore        // subscriptions, orders, invoices, payments, notifications: orders.go
	usage              usageStore        // usage records: usage.go
	ntf                notificationStore // notification set-up and callout history: notification_store.go
	kick               func()            // wakes the callout dispatcher (callout_delivery.go); kept by reset
}

func newStore(customFields map[string][]string, currencies []string) *store {
	st := &store{signer: &hostedPageSigner{}}
	st.reset(customFields, currencies)
	return st
}

func (st *store) reset(customFields map[string][]string, currencies []string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.customFields = map[string]map[string]bool{}
	for obj, names := range customFields {
		st.customFields[obj] = map[string]bool{}
		for _, n := range names {
			st.customFields[obj][n] = true
		}
	}
	st.accounts = nil
	st.accountsByID = map[string]*Account{}
	st.accountsByNum = map[string]*Account{}
	st.contacts = map[string]*Contact{}
	st.accountSeq = 0
	st.paymentTerms = defaultPaymentTerms()
	st.paymentMethods = nil
	st.paymentMethodsByID = map[string]*PaymentMethod{}
	st.currencies = normalizeCurrencies(currencies)
	st.cat = newCatalogStore()
	st.ord = newOrderStore()
	st.usage = newUsageStore()
	st.ntf = newNotificationStore()
}

func (st *store) defineCustomField(object, name string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.customFields[object] == nil {
		st.customFields[object] = map[string]bool{}
	}
	st.customFields[object][name] = true
}

// customFieldDefined reports whether object defines the custom field name. Caller holds st.mu.
func (st *store) customFieldDefined(object, name string) bool { return st.customFields[object][name] }

// customFieldNames lists the defined custom fields of object, sorted. Caller holds st.mu.
func (st *store) customFieldNames(object string) []string {
	return slices.Sorted(maps.Keys(st.customFields[object]))
}

// State is a snapshot of every collection, each object shaped as Zuora's own API returns it (Quickstart objects
// in snake_case with custom_fields). Collections without an implementation yet are empty lists.
type State struct {
	Accounts                []Account                `json:"accounts"`
	Products                []Product                `json:"products"`
	Plans                   []Plan                   `json:"plans"`
	Prices                  []Price                  `json:"prices"`
	ProductRatePlanCharges  []V1Charge               `json:"productRatePlanCharges"`
	UnitsOfMeasure          []UnitOfMeasure          `json:"unitsOfMeasure"`
	Subscriptions           []V1Subscription         `json:"subscriptions"`
	Orders                  []V1Order                `json:"orders"`
	Invoices                []V1Invoice              `json:"invoices"`
	Payments                []V1Payment              `json:"payments"`
	PaymentMethods          []PaymentMethod          `json:"paymentMethods"`
	UsageRecords            []UsageRecord            `json:"usageRecords"`
	EventTriggers           []EventTrigger           `json:"eventTriggers"`
	CalloutTemplates        []CalloutTemplate        `json:"calloutTemplates"` // passwords masked
	NotificationDefinitions []NotificationDefinition `json:"notificationDefinitions"`
	CustomObjectDefinitions []CustomObjectDefinition `json:"customObjectDefinitions"`
	CalloutHistory          []CalloutHistoryEntry    `json:"calloutHistory"` // deliveries with their attempts
}

// State returns a deep copy of the tenant's data. Accounts carry their bill_to and sold_to contacts expanded.
func (s *Sim) State() State {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	st := State{
		Accounts:                make([]Account, 0, len(s.store.accounts)),
		EventTriggers:           s.store.eventTriggerState(),
		CalloutTemplates:        s.store.calloutTemplateState(),
		NotificationDefinitions: s.store.notificationDefinitionState(),
		CustomObjectDefinitions: s.store.customObjectState(),
		CalloutHistory:          s.store.calloutHistoryState(),
	}
	for _, a := range s.store.accounts {
		st.Accounts = append(st.Accounts, s.store.renderAccount(a, expandSet{"bill_to": true, "sold_to": true}))
	}
	s.store.catalogState(&st, s.today())
	s.store.orderState(&st, s.today()) // payments included
	st.PaymentMethods = s.store.paymentMethodState()
	st.UsageRecords = s.store.usageState(s.today())
	return st
}
