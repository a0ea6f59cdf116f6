package zuoraapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// V1 Orders API: POST /v1/orders, POST /v1/orders/preview, GET /v1/orders/{orderNumber},
// GET /v1/orders/subscription/{subscriptionNumber} and PUT /v1/orders/{orderNumber}/cancel. Field names follow
// the V1 spec's POSTOrderRequestType / CreateOrderOrderAction (requests) and Order / OrderAction (reads); one
// set of Go types serves both directions because the two schemas agree on every field used here, and the few
// read-only fields (ids, sequence, versions) are omitted from requests when unset.

// DateLayout is how V1 writes dates (orderDate, trigger dates, term start, ...).
const DateLayout = "2006-01-02"

// Order statuses (Order.status; the create response only uses the first four).
const (
	OrderStatusDraft     = "Draft"
	OrderStatusPending   = "Pending"
	OrderStatusCompleted = "Completed"
	OrderStatusScheduled = "Scheduled"
	OrderStatusExecuting = "Executing"
	OrderStatusFailed    = "Failed"
	OrderStatusCancelled = "Cancelled"
)

// Order action types (CreateOrderOrderAction.type). Each needs the matching action object, and Zuora rejects an
// action that carries the object of another type.
const (
	OrderActionCreateSubscription = "CreateSubscription"
	OrderActionTermsAndConditions = "TermsAndConditions"
	OrderActionAddProduct         = "AddProduct"
	OrderActionUpdateProduct      = "UpdateProduct"
	OrderActionRemoveProduct      = "RemoveProduct"
	OrderActionRenewSubscription  = "RenewSubscription"
	OrderActionCancelSubscription = "CancelSubscription"
)

// Trigger date names (TriggerDate.name).
const (
	TriggerContractEffective  = "ContractEffective"
	TriggerServiceActivation  = "ServiceActivation"
	TriggerCustomerAcceptance = "CustomerAcceptance"
)

// Cancellation policies (CancelSubscription.cancellationPolicy).
const (
	CancelEndOfCurrentTerm       = "EndOfCurrentTerm"
	CancelEndOfLastInvoicePeriod = "EndOfLastInvoicePeriod"
	CancelSpecificDate           = "SpecificDate"
)

// Terms (createSubscription.terms).
const (
	TermTypeTermed    = "TERMED"
	TermTypeEvergreen = "EVERGREEN"

	RenewWithSpecificTerm = "RENEW_WITH_SPECIFIC_TERM"
	RenewToEvergreen      = "RENEW_TO_EVERGREEN"

	PeriodTypeMonth = "Month"
	PeriodTypeYear  = "Year"
	PeriodTypeDay   = "Day"
	PeriodTypeWeek  = "Week"
)

// ScheduledDatePolicySpecificDate is the only schedulingOptions.scheduledDatePolicy.
const ScheduledDatePolicySpecificDate = "SpecificDate"

// Order tier price formats. Orders spell them without a space, unlike the catalog's CRUD "Flat Fee"/"Per Unit".
const (
	OrderPriceFormatFlatFee = "FlatFee"
	OrderPriceFormatPerUnit = "PerUnit"
)

// Order preview options (PreviewOptions).
const (
	PreviewThruSpecificDate    = "SpecificDate"
	PreviewThruTermEnd         = "TermEnd" // invalid when a subscription in the order is evergreen
	PreviewThruNumberOfPeriods = "NumberOfPeriods"

	PreviewTypeBillingDocs       = "BillingDocs"
	PreviewTypeChargeMetrics     = "ChargeMetrics"
	PreviewTypeOrderMetrics      = "OrderMetrics"
	PreviewTypeOrderDeltaMetrics = "OrderDeltaMetrics"
)

// ---- requests ----

// OrderRequest is the body of POST /v1/orders (POSTOrderRequestType). OrderDate is required; the invoice owner
// is ExistingAccountNumber (creating accounts through orders is not used here).
type OrderRequest struct {
	OrderDate             string `json:"orderDate"`
	OrderNumber           string `json:"orderNumber,omitempty"`
	ExistingAccountNumber string `json:"existingAccountNumber,omitempty"`
	// Description is in Zuora's Orders reference (BEHAVIOUR.md §5) but not in the V1 spec file; the spec's
	// request schema allows unlisted members, and it is only sent when set.
	Description  string         `json:"description,omitempty"`
	Category     string         `json:"category,omitempty"` // NewSales | Return
	ReasonCode   string         `json:"reasonCode,omitempty"`
	CustomFields map[string]any `json:"customFields,omitempty"`
	// Status defaults to Completed on Zuora's side; Scheduled needs SchedulingOptions.
	Status            string             `json:"status,omitempty"`
	SchedulingOptions *SchedulingOptions `json:"schedulingOptions,omitempty"`
	// ProcessingOptions are not supported on draft orders.
	ProcessingOptions *ProcessingOptions  `json:"processingOptions,omitempty"`
	Subscriptions     []OrderSubscription `json:"subscriptions,omitempty"`
}

// SchedulingOptions make a Scheduled order run on ScheduledDate.
type SchedulingOptions struct {
	ScheduledDate       string `json:"scheduledDate,omitempty"`
	ScheduledDatePolicy string `json:"scheduledDatePolicy,omitempty"` // SpecificDate
}

// ProcessingOptions (processingOptionsOrdersWithDelayedCapturePayment): billing, payment, refund and write-off
// run with the order. Write-off lives here, not on CancelSubscription; when it fails the order itself still
// succeeds and OrderResponse.WriteOff reports the failure. CollectPayment needs RunBilling, and cannot be
// combined with Refund.
type ProcessingOptions struct {
	RunBilling               *bool                     `json:"runBilling,omitempty"`
	CollectPayment           *bool                     `json:"collectPayment,omitempty"`
	BillingOptions           *BillingOptions           `json:"billingOptions,omitempty"`
	ElectronicPaymentOptions *ElectronicPaymentOptions `json:"electronicPaymentOptions,omitempty"`
	ApplyCredit              *bool                     `json:"applyCredit,omitempty"`
	ApplyCreditBalance       *bool                     `json:"applyCreditBalance,omitempty"`
	Refund                   *bool                     `json:"refund,omitempty"`
	RefundAmount             *Amount                   `json:"refundAmount,omitempty"`
	RefundReasonCode         string                    `json:"refundReasonCode,omitempty"`
	WriteOff                 *bool                     `json:"writeOff,omitempty"` // needs Invoice Settlement
	WriteOffBehavior         *WriteOffBehavior         `json:"writeOffBehavior,omitempty"`
}

// BillingOptions says how the order's bill run goes.
type BillingOptions struct {
	TargetDate           string `json:"targetDate,omitempty"`
	DocumentDate         string `json:"documentDate,omitempty"`
	GenerateDraftInvoice *bool  `json:"generateDraftInvoice,omitempty"`
	CreditMemoReasonCode string `json:"creditMemoReasonCode,omitempty"`
}

// ElectronicPaymentOptions picks the payment method and gateway for CollectPayment.
type ElectronicPaymentOptions struct {
	PaymentMethodID  string `json:"paymentMethodId,omitempty"`
	PaymentGatewayID string `json:"paymentGatewayId,omitempty"`
}

// WriteOffBehavior carries the accounting codes of the write-off credit memo.
type WriteOffBehavior struct {
	FinanceInformation *WriteOffFinanceInformation `json:"financeInformation,omitempty"`
}

// WriteOffFinanceInformation is writeOffBehavior.financeInformation.
type WriteOffFinanceInformation struct {
	DeferredRevenueAccountingCode   string `json:"deferredRevenueAccountingCode,omitempty"`
	OnAccountAccountingCode         string `json:"onAccountAccountingCode,omitempty"`
	RecognizedRevenueAccountingCode string `json:"recognizedRevenueAccountingCode,omitempty"`
	RevenueRecognitionRuleName      string `json:"revenueRecognitionRuleName,omitempty"`
}

// OrderSubscription is one subscriptions[] entry: the actions on one subscription (SubscriptionNumber empty
// for a new one, unless the CreateSubscription action names the number itself).
type OrderSubscription struct {
	SubscriptionNumber string         `json:"subscriptionNumber,omitempty"`
	CustomFields       map[string]any `json:"customFields,omitempty"`
	Notes              string         `json:"notes,omitempty"`
	OrderActions       []OrderAction  `json:"orderActions,omitempty"`

	// Read only (Order.subscriptions[]).
	BaseVersion *int `json:"baseVersion,omitempty"`
	NewVersion  *int `json:"newVersion,omitempty"`
}

// OrderAction is one order action; set Type and the one matching action object.
type OrderAction struct {
	Type               string                   `json:"type"`
	TriggerDates       []OrderTriggerDate       `json:"triggerDates,omitempty"`
	ChangeReason       string                   `json:"changeReason,omitempty"`
	CustomFields       map[string]any           `json:"customFields,omitempty"`
	CreateSubscription *OrderCreateSubscription `json:"createSubscription,omitempty"`
	AddProduct         *OrderRatePlan           `json:"addProduct,omitempty"`
	UpdateProduct      *OrderRatePlanUpdate     `json:"updateProduct,omitempty"`
	RemoveProduct      *OrderRemoveProduct      `json:"removeProduct,omitempty"`
	CancelSubscription *OrderCancelSubscription `json:"cancelSubscription,omitempty"`
	TermsAndConditions *OrderTermsAndConditions `json:"termsAndConditions,omitempty"`

	// Read only (Order.subscriptions[].orderActions[]).
	ID       string `json:"id,omitempty"`
	Sequence *int   `json:"sequence,omitempty"`
}

// OrderTriggerDate is one billing trigger date of an action.
type OrderTriggerDate struct {
	Name        string `json:"name"`
	TriggerDate string `json:"triggerDate"`
}

// OrderCreateSubscription is the createSubscription action (CreateOrderCreateSubscription). The spec names the
// rate plans subscribeToRatePlans; Zuora's newer alias subscribeToProducts is not in the spec, so it is not used.
type OrderCreateSubscription struct {
	SubscriptionNumber             string          `json:"subscriptionNumber,omitempty"`
	SubscriptionOwnerAccountNumber string          `json:"subscriptionOwnerAccountNumber,omitempty"`
	InvoiceOwnerAccountNumber      string          `json:"invoiceOwnerAccountNumber,omitempty"`
	BillToContactID                string          `json:"billToContactId,omitempty"`
	SoldToContactID                string          `json:"soldToContactId,omitempty"`
	PaymentTerm                    string          `json:"paymentTerm,omitempty"`
	Currency                       string          `json:"currency,omitempty"`
	InvoiceSeparately              *bool           `json:"invoiceSeparately,omitempty"`
	Notes                          string          `json:"notes,omitempty"`
	Terms                          *OrderTerms     `json:"terms,omitempty"`
	SubscribeToRatePlans           []OrderRatePlan `json:"subscribeToRatePlans,omitempty"`
}

// OrderTerms are a new subscription's terms. InitialTerm is required; RenewalTerms is needed with
// RENEW_WITH_SPECIFIC_TERM.
type OrderTerms struct {
	InitialTerm    OrderTerm          `json:"initialTerm"`
	AutoRenew      *bool              `json:"autoRenew,omitempty"`
	RenewalSetting string             `json:"renewalSetting,omitempty"`
	RenewalTerms   []OrderRenewalTerm `json:"renewalTerms,omitempty"`
}

// OrderTerm is an initial (or, in TermsAndConditions, last) term. Period and PeriodType only for TERMED.
type OrderTerm struct {
	TermType   string `json:"termType"`
	Period     int    `json:"period,omitempty"`
	PeriodType string `json:"periodType,omitempty"`
	StartDate  string `json:"startDate,omitempty"`
	EndDate    string `json:"endDate,omitempty"`
}

// OrderRenewalTerm is one renewal term.
type OrderRenewalTerm struct {
	Period     int    `json:"period,omitempty"`
	PeriodType string `json:"periodType,omitempty"`
}

// OrderRatePlan is a rate plan to subscribe to (createSubscription.subscribeToRatePlans[], addProduct;
// CreateOrderRatePlanOverride). ProductRatePlanID or ProductRatePlanNumber picks the catalog plan; a preview's
// addProduct requires the id.
type OrderRatePlan struct {
	ProductRatePlanID          string                `json:"productRatePlanId,omitempty"`
	ProductRatePlanNumber      string                `json:"productRatePlanNumber,omitempty"`
	SubscriptionRatePlanNumber string                `json:"subscriptionRatePlanNumber,omitempty"`
	UniqueToken                string                `json:"uniqueToken,omitempty"`
	ChargeOverrides            []OrderChargeOverride `json:"chargeOverrides,omitempty"`
	CustomFields               map[string]any        `json:"customFields,omitempty"`

	// Read only: the subscription rate plan the action created (Order reads).
	NewRatePlanID string `json:"newRatePlanId,omitempty"`
}

// OrderChargeOverride overrides one catalog charge of a rate plan being added (CreateOrderChargeOverride).
type OrderChargeOverride struct {
	ProductRatePlanChargeID     string         `json:"productRatePlanChargeId"`
	ProductRatePlanChargeNumber string         `json:"productRatePlanChargeNumber,omitempty"`
	ChargeNumber                string         `json:"chargeNumber,omitempty"`
	UniqueToken                 string         `json:"uniqueToken,omitempty"`
	Pricing                     *OrderPricing  `json:"pricing,omitempty"`
	CustomFields                map[string]any `json:"customFields,omitempty"`

	// Read only (Order reads echo them).
	Name        string `json:"name,omitempty"`
	ChargeModel string `json:"chargeModel,omitempty"`
	ChargeType  string `json:"chargeType,omitempty"`
}

// OrderPricing holds the price of one charge; set the one member matching the charge's model and type (see
// OrderPricingFor). The same shape serves overrides (CreateOrderChargeOverride.pricing) and updates
// (CreateOrderPricingUpdate).
type OrderPricing struct {
	RecurringFlatFee *OrderPrice `json:"recurringFlatFee,omitempty"`
	RecurringPerUnit *OrderPrice `json:"recurringPerUnit,omitempty"`
	RecurringTiered  *OrderPrice `json:"recurringTiered,omitempty"`
	RecurringVolume  *OrderPrice `json:"recurringVolume,omitempty"`
	UsagePerUnit     *OrderPrice `json:"usagePerUnit,omitempty"`
	UsageTiered      *OrderPrice `json:"usageTiered,omitempty"`
	UsageVolume      *OrderPrice `json:"usageVolume,omitempty"`
}

// OrderPrice is the union of the pricing members used: ListPrice (flat fee, per unit), Quantity (per unit,
// tiered, volume), Tiers (tiered, volume). ListPriceBase is for overrides only.
type OrderPrice struct {
	ListPrice         *Amount           `json:"listPrice,omitempty"`
	Quantity          *Amount           `json:"quantity,omitempty"`
	Tiers             []OrderChargeTier `json:"tiers,omitempty"`
	ListPriceBase     string            `json:"listPriceBase,omitempty"`
	PriceChangeOption string            `json:"priceChangeOption,omitempty"`
}

// OrderChargeTier is one tier of a tiered or volume price (ChargeTier); every field but EndingUnit is required.
type OrderChargeTier struct {
	Tier         int     `json:"tier"`
	StartingUnit Amount  `json:"startingUnit"`
	EndingUnit   *Amount `json:"endingUnit,omitempty"`
	Price        Amount  `json:"price"`
	PriceFormat  string  `json:"priceFormat"` // FlatFee | PerUnit
}

// OrderRatePlanUpdate is the updateProduct action (CreateOrderRatePlanUpdate): the subscription rate plan by
// RatePlanID (ids change with every subscription version: take it from the latest) or
// SubscriptionRatePlanNumber, and the charges to change.
type OrderRatePlanUpdate struct {
	RatePlanID                 string              `json:"ratePlanId,omitempty"`
	SubscriptionRatePlanNumber string              `json:"subscriptionRatePlanNumber,omitempty"`
	ProductRatePlanNumber      string              `json:"productRatePlanNumber,omitempty"`
	UniqueToken                string              `json:"uniqueToken,omitempty"`
	SpecificUpdateDate         string              `json:"specificUpdateDate,omitempty"`
	ChargeUpdates              []OrderChargeUpdate `json:"chargeUpdates,omitempty"`
	CustomFields               map[string]any      `json:"customFields,omitempty"`

	NewRatePlanID string `json:"newRatePlanId,omitempty"` // read only
}

// OrderChargeUpdate changes one charge of a subscription rate plan (CreateOrderChargeUpdate).
type OrderChargeUpdate struct {
	ChargeNumber            string              `json:"chargeNumber,omitempty"`
	ProductRatePlanChargeID string              `json:"productRatePlanChargeId,omitempty"`
	UniqueToken             string              `json:"uniqueToken,omitempty"`
	Pricing                 *OrderPricing       `json:"pricing,omitempty"`
	EffectiveDate           *OrderTriggerParams `json:"effectiveDate,omitempty"`
	CustomFields            map[string]any      `json:"customFields,omitempty"`
}

// OrderTriggerParams says when a charge update takes effect.
type OrderTriggerParams struct {
	TriggerEvent        string `json:"triggerEvent,omitempty"` // ContractEffective | ServiceActivation | CustomerAcceptance | SpecificDate
	SpecificTriggerDate string `json:"specificTriggerDate,omitempty"`
}

// OrderRemoveProduct is the removeProduct action (RemoveProduct).
type OrderRemoveProduct struct {
	RatePlanID                 string         `json:"ratePlanId,omitempty"`
	SubscriptionRatePlanNumber string         `json:"subscriptionRatePlanNumber,omitempty"`
	ProductRatePlanNumber      string         `json:"productRatePlanNumber,omitempty"`
	UniqueToken                string         `json:"uniqueToken,omitempty"`
	CustomFields               map[string]any `json:"customFields,omitempty"`
}

// OrderCancelSubscription is the cancelSubscription action; CancellationEffectiveDate only with SpecificDate.
type OrderCancelSubscription struct {
	CancellationPolicy        string `json:"cancellationPolicy"`
	CancellationEffectiveDate string `json:"cancellationEffectiveDate,omitempty"`
}

// OrderTermsAndConditions changes a subscription's terms (CreateOrderTermsAndConditions), e.g. when the billing
// period, and so the term length, changes.
type OrderTermsAndConditions struct {
	AutoRenew      *bool              `json:"autoRenew,omitempty"`
	LastTerm       *OrderTerm         `json:"lastTerm,omitempty"`
	RenewalSetting string             `json:"renewalSetting,omitempty"`
	RenewalTerms   []OrderRenewalTerm `json:"renewalTerms,omitempty"`
}

// ---- responses ----

// OrderResponse is the answer to POST /v1/orders (PostOrderResponseType). A failed order comes back as HTTP 200
// with success:false, which CreateOrder returns as *Error, so a returned OrderResponse is a successful one.
type OrderResponse struct {
	Success       bool   `json:"success"`
	OrderNumber   string `json:"orderNumber"`
	AccountNumber string `json:"accountNumber"`
	Status        string `json:"status"` // Draft | Pending | Completed | Scheduled
	// Subscriptions is sent from Zuora-Version 223.0 on (the client's default); older versions send
	// SubscriptionNumbers instead. AllSubscriptionNumbers reads either.
	Subscriptions       []OrderResponseSubscription `json:"subscriptions,omitempty"`
	SubscriptionNumbers []string                    `json:"subscriptionNumbers,omitempty"`
	InvoiceNumbers      []string                    `json:"invoiceNumbers,omitempty"`
	CreditMemoNumbers   []string                    `json:"creditMemoNumbers,omitempty"`
	PaymentNumber       string                      `json:"paymentNumber,omitempty"`
	PaidAmount          *Amount                     `json:"paidAmount,omitempty"` // a string in the spec
	WriteOff            []OrderWriteOff             `json:"writeOff,omitempty"`
	Refunds             []OrderRefund               `json:"refunds,omitempty"`

	// With returnIds=true (always asked for).
	OrderID         string   `json:"orderId,omitempty"`
	AccountID       string   `json:"accountId,omitempty"`
	SubscriptionIDs []string `json:"subscriptionIds,omitempty"`
	InvoiceIDs      []string `json:"invoiceIds,omitempty"`
	CreditMemoIDs   []string `json:"creditMemoIds,omitempty"`
	PaymentID       string   `json:"paymentId,omitempty"`
}

// OrderResponseSubscription is one subscription the order touched.
type OrderResponseSubscription struct {
	SubscriptionNumber string `json:"subscriptionNumber"`
	SubscriptionID     string `json:"subscriptionId,omitempty"`
	// Status: Active | Pending Activation | Pending Acceptance | Cancelled | Suspended.
	Status string `json:"status,omitempty"`
}

// OrderWriteOff reports one invoice written off by processingOptions.writeOff.
type OrderWriteOff struct {
	Amount                   *Amount `json:"amount,omitempty"`
	InvoiceNumber            string  `json:"invoiceNumber,omitempty"`
	Status                   string  `json:"status,omitempty"` // Success | Failed
	FailedReason             string  `json:"failedReason,omitempty"`
	WriteOffCreditMemoNumber string  `json:"writeOffCreditMemoNumber,omitempty"`
}

// OrderRefund reports one refund made by processingOptions.refund.
type OrderRefund struct {
	Number               string   `json:"number,omitempty"`
	RefundInvoiceNumbers []string `json:"refundInvoiceNumbers,omitempty"`
	Status               string   `json:"status,omitempty"` // Success | Error
}

// AllSubscriptionNumbers returns the numbers of the subscriptions the order touched, whichever response form
// Zuora used.
func (r *OrderResponse) AllSubscriptionNumbers() []string {
	if len(r.Subscriptions) == 0 {
		return r.SubscriptionNumbers
	}
	out := make([]string, 0, len(r.Subscriptions))
	for _, s := range r.Subscriptions {
		out = append(out, s.SubscriptionNumber)
	}
	return out
}

// Order is an order as GET /v1/orders/{orderNumber} and the order lists return it (Order schema).
type Order struct {
	OrderNumber           string              `json:"orderNumber"`
	OrderDate             string              `json:"orderDate"`
	Status                string              `json:"status"`
	Description           string              `json:"description,omitempty"` // see OrderRequest.Description
	Category              string              `json:"category,omitempty"`
	ReasonCode            string              `json:"reasonCode,omitempty"`
	Currency              string              `json:"currency,omitempty"`
	ExistingAccountNumber string              `json:"existingAccountNumber,omitempty"`
	CreatedDate           string              `json:"createdDate,omitempty"` // "YYYY-MM-DD HH:MM:SS"
	CreatedBy             string              `json:"createdBy,omitempty"`
	UpdatedDate           string              `json:"updatedDate,omitempty"`
	UpdatedBy             string              `json:"updatedBy,omitempty"`
	CustomFields          map[string]any      `json:"customFields,omitempty"`
	SchedulingOptions     *SchedulingOptions  `json:"schedulingOptions,omitempty"`
	Subscriptions         []OrderSubscription `json:"subscriptions,omitempty"`
}

type orderEnvelope struct {
	Order Order `json:"order"`
}

type ordersPage struct {
	Orders   []Order `json:"orders"`
	NextPage string  `json:"nextPage"`
}

// ---- preview ----

// OrderPreviewRequest is the body of POST /v1/orders/preview (POSTOrderPreviewRequestType): an order without
// processing, for an existing account (ExistingAccountNumber) or a hypothetical one (PreviewAccountInfo).
type OrderPreviewRequest struct {
	OrderDate             string              `json:"orderDate"`
	ExistingAccountNumber string              `json:"existingAccountNumber,omitempty"`
	PreviewAccountInfo    *PreviewAccountInfo `json:"previewAccountInfo,omitempty"`
	PreviewOptions        OrderPreviewOptions `json:"previewOptions"`
	Category              string              `json:"category,omitempty"`
	CustomFields          map[string]any      `json:"customFields,omitempty"`
	Subscriptions         []OrderSubscription `json:"subscriptions,omitempty"`
}

// PreviewAccountInfo describes the account of a preview without one; BillCycleDay and Currency are required.
type PreviewAccountInfo struct {
	BillCycleDay  int             `json:"billCycleDay"`
	Currency      string          `json:"currency"`
	SoldToContact *PreviewContact `json:"soldToContact,omitempty"`
	ShipToContact *PreviewContact `json:"shipToContact,omitempty"`
	CustomFields  map[string]any  `json:"customFields,omitempty"`
}

// PreviewContact is the address that decides tax in a preview (PreviewContactInfo).
type PreviewContact struct {
	Address1   string `json:"address1,omitempty"`
	Address2   string `json:"address2,omitempty"`
	City       string `json:"city,omitempty"`
	County     string `json:"county,omitempty"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postalCode,omitempty"`
	Country    string `json:"country,omitempty"`
	TaxRegion  string `json:"taxRegion,omitempty"`
}

// OrderPreviewOptions (PreviewOptions): how far to preview and what to compute.
type OrderPreviewOptions struct {
	PreviewThruType         string   `json:"previewThruType,omitempty"`
	PreviewNumberOfPeriods  int      `json:"previewNumberOfPeriods,omitempty"`
	SpecificPreviewThruDate string   `json:"specificPreviewThruDate,omitempty"`
	PreviewTypes            []string `json:"previewTypes,omitempty"`
	SkipTax                 *bool    `json:"skipTax,omitempty"`
}

// OrderPreviewResponse is PostOrderPreviewResponseType.
type OrderPreviewResponse struct {
	Success       bool               `json:"success"`
	PreviewResult OrderPreviewResult `json:"previewResult"`
}

// OrderPreviewResult holds what the previewTypes asked for.
type OrderPreviewResult struct {
	Invoices      []PreviewBillingDocument    `json:"invoices,omitempty"`
	CreditMemos   []PreviewBillingDocument    `json:"creditMemos,omitempty"`
	ChargeMetrics []PreviewSubscriptionCharge `json:"chargeMetrics,omitempty"`
}

// PreviewBillingDocument is one previewed invoice or credit memo; Items holds invoiceItems or creditMemoItems.
type PreviewBillingDocument struct {
	Amount           Amount        `json:"amount"`
	AmountWithoutTax Amount        `json:"amountWithoutTax"`
	TaxAmount        Amount        `json:"taxAmount"`
	TargetDate       string        `json:"targetDate,omitempty"`
	InvoiceItems     []PreviewItem `json:"invoiceItems,omitempty"`
	CreditMemoItems  []PreviewItem `json:"creditMemoItems,omitempty"`
}

// PreviewItem is one previewed invoice or credit memo item (InvoiceItemPreviewResult).
type PreviewItem struct {
	ServiceStartDate        string             `json:"serviceStartDate,omitempty"`
	ServiceEndDate          string             `json:"serviceEndDate,omitempty"`
	AmountWithoutTax        Amount             `json:"amountWithoutTax"`
	TaxAmount               Amount             `json:"taxAmount"`
	UnitPrice               *Amount            `json:"unitPrice,omitempty"`
	ChargeName              string             `json:"chargeName,omitempty"`
	ChargeNumber            string             `json:"chargeNumber,omitempty"`
	ChargeDescription       string             `json:"chargeDescription,omitempty"`
	ProductName             string             `json:"productName,omitempty"`
	ProductRatePlanChargeID string             `json:"productRatePlanChargeId,omitempty"`
	SubscriptionNumber      string             `json:"subscriptionNumber,omitempty"`
	ProcessingType          string             `json:"processingType,omitempty"` // Charge | Discount | Tax
	AdditionalInfo          *PreviewItemDetail `json:"additionalInfo,omitempty"`
}

// PreviewItemDetail is an item's additionalInfo.
type PreviewItemDetail struct {
	Quantity      *Amount `json:"quantity,omitempty"`
	UnitOfMeasure string  `json:"unitOfMeasure,omitempty"`
}

// PreviewSubscriptionCharge is one chargeMetrics entry: the charges of one subscription.
type PreviewSubscriptionCharge struct {
	SubscriptionNumber string                `json:"subscriptionNumber"`
	Charges            []PreviewChargeMetric `json:"charges,omitempty"`
}

// PreviewChargeMetric is ChargePreviewMetrics.
type PreviewChargeMetric struct {
	ChargeNumber               string         `json:"chargeNumber,omitempty"`
	OriginRatePlanID           string         `json:"originRatePlanId,omitempty"`
	ProductRatePlanChargeID    string         `json:"productRatePlanChargeId,omitempty"`
	ProductRatePlanID          string         `json:"productRatePlanId,omitempty"`
	SubscriptionRatePlanNumber string         `json:"subscriptionRatePlanNumber,omitempty"`
	CMRR                       *PreviewMetric `json:"cmrr,omitempty"`
	Tax                        *PreviewMetric `json:"tax,omitempty"`
	TCB                        *PreviewMetric `json:"tcb,omitempty"`
	TCV                        *PreviewMetric `json:"tcv,omitempty"`
}

// PreviewMetric is one metric, regular and discount, with the change the order makes.
type PreviewMetric struct {
	Regular       *Amount `json:"regular,omitempty"`
	RegularDelta  *Amount `json:"regularDelta,omitempty"`
	Discount      *Amount `json:"discount,omitempty"`
	DiscountDelta *Amount `json:"discountDelta,omitempty"`
}

// ---- calls ----

// CreateOrder creates an order (POST /v1/orders?returnIds=true). A business failure (HTTP 200 with
// success:false) is a *Error whose Kind follows the reason code's category (Validation for invalid values and
// rule restrictions), with Code and Reasons as Zuora sent them.
func (c *Client) CreateOrder(ctx context.Context, step string, req *OrderRequest) (*OrderResponse, error) {
	var out OrderResponse
	err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/v1/orders", Query: url.Values{"returnIds": {"true"}},
		Body: req, Step: step}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// PreviewOrder previews an order without saving it (POST /v1/orders/preview). It is a POST, so it needs a
// step too; the key only makes a repeated preview return Zuora's stored answer.
func (c *Client) PreviewOrder(ctx context.Context, step string, req *OrderPreviewRequest) (*OrderPreviewResponse, error) {
	var out OrderPreviewResponse
	if err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/v1/orders/preview", Body: req, Step: step}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetOrder fetches one order (GET /v1/orders/{orderNumber}).
func (c *Client) GetOrder(ctx context.Context, orderNumber string) (*Order, error) {
	var out orderEnvelope
	if err := c.Do(ctx, Request{Path: "/v1/orders/" + url.PathEscape(orderNumber)}, &out); err != nil {
		return nil, err
	}
	return &out.Order, nil
}

// ordersPageSize is the spec's maximum pageSize for the order lists.
const ordersPageSize = 40

// ListSubscriptionOrders lists the orders that touched a subscription (GET /v1/orders/subscription/
// {subscriptionNumber}), all pages. status filters by order status ("" = all); it may be given as the status
// reads (OrderStatusScheduled) and is sent in the spec's lower case. More pages than a sane bound is an error
// rather than a silently short list, because callers use the list to find every pending scheduled order.
func (c *Client) ListSubscriptionOrders(ctx context.Context, subscriptionNumber, status string) ([]Order, error) {
	path := "/v1/orders/subscription/" + url.PathEscape(subscriptionNumber)
	var all []Order
	for page := 1; page <= maxListPages; page++ {
		q := url.Values{"page": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(ordersPageSize)}}
		if status != "" {
			q.Set("status", strings.ToLower(status))
		}
		var out ordersPage
		if err := c.Do(ctx, Request{Path: path, Query: q}, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Orders...)
		// nextPage is a URL; paging by number keeps requests on our own base URL.
		if out.NextPage == "" || len(out.Orders) == 0 {
			return all, nil
		}
	}
	return nil, tooManyPages(path, maxListPages)
}

// CancelOrder cancels a Draft or Scheduled order (PUT /v1/orders/{orderNumber}/cancel). A PUT carries no
// Idempotency-Key (Zuora accepts keys on POST and PATCH only), so a retry after a lost answer may find the order
// already cancelled: Zuora then refuses, as it does for an order that is not Draft or Scheduled. That refusal
// is a *Error for which IsOrderNotCancellable is true; EnsureOrderCancelled resolves it.
func (c *Client) CancelOrder(ctx context.Context, orderNumber, reason string) error {
	body := struct {
		CancelReason string `json:"cancelReason,omitempty"`
	}{reason}
	return c.Do(ctx, Request{Method: http.MethodPut, Path: "/v1/orders/" + url.PathEscape(orderNumber) + "/cancel", Body: body}, nil)
}

// IsOrderNotCancellable reports whether err is Zuora refusing an order cancellation on business grounds: a
// validation-kind *Error from PUT /v1/orders/{n}/cancel. Zuora documents the refusal ("only valid for draft or
// scheduled orders") but not its code, so the kind and the call identify it; the order's status says why.
func IsOrderNotCancellable(err error) bool {
	e, ok := AsError(err)
	return ok && e.Kind == KindValidation && e.Method == http.MethodPut && strings.HasSuffix(e.Path, "/cancel") &&
		strings.HasPrefix(e.Path, "/v1/orders/")
}

// ErrOrderNotCancellable is wrapped by EnsureOrderCancelled when the order has moved past Draft/Scheduled.
var ErrOrderNotCancellable = errors.New("zuoraapi: order is no longer Draft or Scheduled")

// EnsureOrderCancelled cancels an order and treats one that is already Cancelled as done, so replays are
// harmless. When Zuora refuses and the order is in another status (it completed, is executing, ...), the error
// wraps ErrOrderNotCancellable and the refusal. order is the order as read after a refusal, nil when the
// cancellation itself went through.
func (c *Client) EnsureOrderCancelled(ctx context.Context, orderNumber, reason string) (order *Order, err error) {
	cerr := c.CancelOrder(ctx, orderNumber, reason)
	if cerr == nil {
		return nil, nil
	}
	if !IsOrderNotCancellable(cerr) {
		return nil, cerr
	}
	o, gerr := c.GetOrder(ctx, orderNumber)
	if gerr != nil {
		return nil, errors.Join(cerr, gerr)
	}
	if o.Status == OrderStatusCancelled {
		return o, nil
	}
	return o, fmt.Errorf("%w (order %s is %s): %w", ErrOrderNotCancellable, orderNumber, o.Status, cerr)
}

// ---- builders ----

// FormatDate writes t's calendar date as V1 expects it.
func FormatDate(t time.Time) string { return t.Format(DateLayout) }

// TriggerDatesOn sets all three billing trigger dates to date, for a caller without separate activation or
// acceptance steps: a tenant that requires either date would otherwise leave the order Pending and the
// subscription Pending Activation/Acceptance.
func TriggerDatesOn(date string) []OrderTriggerDate {
	return []OrderTriggerDate{
		{Name: TriggerContractEffective, TriggerDate: date},
		{Name: TriggerServiceActivation, TriggerDate: date},
		{Name: TriggerCustomerAcceptance, TriggerDate: date},
	}
}

// NewCreateSubscriptionAction is a CreateSubscription action effective on date.
func NewCreateSubscriptionAction(date string, cs *OrderCreateSubscription) OrderAction {
	return OrderAction{Type: OrderActionCreateSubscription, TriggerDates: TriggerDatesOn(date), CreateSubscription: cs}
}

// NewAddProductAction is an AddProduct action effective on date.
func NewAddProductAction(date string, rp *OrderRatePlan) OrderAction {
	return OrderAction{Type: OrderActionAddProduct, TriggerDates: TriggerDatesOn(date), AddProduct: rp}
}

// NewUpdateProductAction is an UpdateProduct action effective on date.
func NewUpdateProductAction(date string, u *OrderRatePlanUpdate) OrderAction {
	return OrderAction{Type: OrderActionUpdateProduct, TriggerDates: TriggerDatesOn(date), UpdateProduct: u}
}

// NewRemoveProductAction is a RemoveProduct action effective on date.
func NewRemoveProductAction(date string, r *OrderRemoveProduct) OrderAction {
	return OrderAction{Type: OrderActionRemoveProduct, TriggerDates: TriggerDatesOn(date), RemoveProduct: r}
}

// NewCancelSubscriptionAction is a CancelSubscription action. The cancellation is dated by its policy (and
// effectiveDate for SpecificDate), not by trigger dates, so none are set; effectiveDate is ignored for the
// other policies.
func NewCancelSubscriptionAction(policy, effectiveDate string) (OrderAction, error) {
	cs := &OrderCancelSubscription{CancellationPolicy: policy}
	switch policy {
	case CancelSpecificDate:
		if effectiveDate == "" {
			return OrderAction{}, fmt.Errorf("zuoraapi: cancellation policy %s needs an effective date", policy)
		}
		cs.CancellationEffectiveDate = effectiveDate
	case CancelEndOfCurrentTerm, CancelEndOfLastInvoicePeriod:
	default:
		return OrderAction{}, fmt.Errorf("zuoraapi: unknown cancellation policy %q", policy)
	}
	return OrderAction{Type: OrderActionCancelSubscription, CancelSubscription: cs}, nil
}

// TermForBillingPeriod returns the terms of a new subscription one charge billing period long (Month → 1
// Month, Annual → 12 Month), TERMED and auto-renewing with the same term, so each term ends where a billing
// period does. billingPeriod is a V1 charge BillingPeriod (BillingPeriodMonth or BillingPeriodAnnual).
func TermForBillingPeriod(billingPeriod string) (*OrderTerms, error) {
	var months int
	switch billingPeriod {
	case BillingPeriodMonth:
		months = 1
	case BillingPeriodAnnual:
		months = 12
	default:
		return nil, fmt.Errorf("zuoraapi: no subscription term for billing period %q (want %s or %s)", billingPeriod,
			BillingPeriodMonth, BillingPeriodAnnual)
	}
	return &OrderTerms{
		InitialTerm:    OrderTerm{TermType: TermTypeTermed, Period: months, PeriodType: PeriodTypeMonth},
		AutoRenew:      new(true),
		RenewalSetting: RenewWithSpecificTerm,
		RenewalTerms:   []OrderRenewalTerm{{Period: months, PeriodType: PeriodTypeMonth}},
	}, nil
}

// OrderPricingFor puts price into the OrderPricing member that matches a charge's model and type. chargeModel
// may be spelled as the catalog writes it ("Per Unit Pricing") or as V1 reads return it ("PerUnit");
// chargeType is Recurring or Usage. One-time and other models are not used by the integration and are errors.
func OrderPricingFor(chargeModel, chargeType string, price OrderPrice) (*OrderPricing, error) {
	model := chargeModel
	if read := ChargeModelRead(chargeModel); read != "" {
		model = read
	}
	p := &price // price is the caller's copy already
	var out OrderPricing
	switch chargeType + "/" + model {
	case ChargeTypeRecurring + "/" + ChargeModelReadFlatFee:
		out.RecurringFlatFee = p
	case ChargeTypeRecurring + "/" + ChargeModelReadPerUnit:
		out.RecurringPerUnit = p
	case ChargeTypeRecurring + "/" + ChargeModelReadTiered:
		out.RecurringTiered = p
	case ChargeTypeRecurring + "/" + ChargeModelReadVolume:
		out.RecurringVolume = p
	case ChargeTypeUsage + "/" + ChargeModelReadPerUnit:
		out.UsagePerUnit = p
	case ChargeTypeUsage + "/" + ChargeModelReadTiered:
		out.UsageTiered = p
	case ChargeTypeUsage + "/" + ChargeModelReadVolume:
		out.UsageVolume = p
	default:
		return nil, fmt.Errorf("zuoraapi: no order pricing for a %s charge with model %q", chargeType, chargeModel)
	}
	return &out, nil
}

// QuantityAmount turns a whole quantity into an Amount.
func QuantityAmount(n int64) Amount { return MustAmount(strconv.FormatInt(n, 10)) }
