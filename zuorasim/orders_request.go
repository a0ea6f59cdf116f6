package zuorasim

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// The order request bodies ("POSTOrderRequestType", "POSTOrderPreviewRequestType"), decoded loosely: unknown
// members are ignored, as V1 does.

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
