package zuorasim

import (
	"fmt"
	"hash/fnv"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Payment methods: Quickstart POST /v2/payment_methods, GET /v2/payment_methods (list),
// GET /v2/payment_methods/{payment_method_id} and PATCH /v2/payment_methods/{payment_method_id}
// ("paymentMethodCreateRequest", "paymentMethodPatchRequest", "paymentMethod", "paymentMethodListResponse" of the
// Quickstart spec).
//
// Only cc_ref payment methods (credit card reference transactions: a card tokenised at the gateway, e.g. a
// Stripe customer as `token` and its payment method as `second_token`) are simulated; other types are refused.
// Raw card data is never accepted or stored: a `card` hash (the spec's type-card body, which carries
// card_number and security_code) is refused, and so are card_number and security_code inside cc_ref.card
// (which the spec does not define); the answers name the field, never its value.
//
// Rules (Zuora's documentation does not settle these; chosen as the most plausible and marked [inferred]):
//   - cc_ref.token is required; cc_ref.second_token is required when the token is a gateway customer profile
//     (the spec's "conditionally required"; recognised by Stripe's "cus_" prefix) [inferred].
//   - cc_ref.card holds display data only: brand (the spec's enum), expiry_month 1–12, expiry_year of two or
//     four digits (two digits mean 20YY). last_4 is read-only: Zuora reads it from the gateway, and the
//     simulated gateway makes up a stable one per token (a hash of second_token, else token) [inferred].
//   - account_id or account_number (both: the same account) attach the payment method to an account; without
//     either it is an orphan, as hosted pages create them. is_default: true needs an account and makes the
//     payment method the account's default_payment_method_id. The spec's paymentMethod has no is_default field:
//     an account's default is read from, and later changed through, the account (PATCH /v2/accounts/{id}).
//     A new payment method does not become the default on its own [inferred].
//   - PATCH can move the payment method to another account (account_id / account_number), except while it is
//     its current account's default [inferred: the account would be left with a default it does not own].
//     cc_ref.second_token and the mandate can change; the card's display data cannot (the spec's ccRefUpdate
//     has no card).
//   - A payment method is usable for an electronic payment while its state is active, it belongs to the paying
//     account and its card has not expired (the end of the expiry month, simulated time): usablePaymentMethod.
//   - Custom fields must be defined on the tenant's "PaymentMethod" object (none are by default).

// BillingAddress is the Quickstart "AddressFieldDefinitions" of a payment method's billing details.
type BillingAddress struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	Country    string `json:"country,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
}

// BillingDetails is the Quickstart "BillingDetails" object.
type BillingDetails struct {
	Name    string          `json:"name,omitempty"`
	Email   string          `json:"email,omitempty"`
	Phone   string          `json:"phone,omitempty"`
	Address *BillingAddress `json:"address,omitempty"`
}

// Mandate is the Quickstart "Mandate" object.
type Mandate struct {
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason,omitempty"`
	State  string `json:"state,omitempty"`
}

// CcRefCard is the display data of the card behind a cc_ref payment method ("CcRefCard").
type CcRefCard struct {
	Brand       string `json:"brand,omitempty"`
	ExpiryMonth int    `json:"expiry_month,omitempty"`
	ExpiryYear  int    `json:"expiry_year,omitempty"`
	Last4       string `json:"last_4,omitempty"`
}

// CcRef is the cc_ref hash of a payment method ("CcRef").
type CcRef struct {
	Token       string     `json:"token"`
	SecondToken string     `json:"second_token,omitempty"`
	Mandate     *Mandate   `json:"mandate,omitempty"`
	Card        *CcRefCard `json:"card,omitempty"`
}

// PaymentMethod is a Quickstart payment method as Zuora renders it. The gateway settings are kept but not
// rendered (the spec's paymentMethod has no gateway fields).
type PaymentMethod struct {
	ID                       string            `json:"id"`
	Type                     string            `json:"type"`
	AccountID                string            `json:"account_id,omitempty"`
	BillingDetails           *BillingDetails   `json:"billing_details,omitempty"`
	CcRef                    *CcRef            `json:"cc_ref,omitempty"`
	State                    string            `json:"state"`
	MaximumPaymentAttempts   *float64          `json:"maximum_payment_attempts,omitempty"`
	PaymentRetryInterval     *int              `json:"payment_retry_interval,omitempty"`
	UseDefaultRetryRule      bool              `json:"use_default_retry_rule"`
	DeviceSessionID          string            `json:"device_session_id,omitempty"`
	IPAddress                string            `json:"ip_address,omitempty"`
	BankIdentificationNumber string            `json:"bank_identification_number,omitempty"`
	CustomFields             map[string]string `json:"custom_fields"`
	CreatedByID              string            `json:"created_by_id"`
	CreatedTime              string            `json:"created_time"`
	UpdatedByID              string            `json:"updated_by_id"`
	UpdatedTime              string            `json:"updated_time"`

	gatewayID      string
	gatewayOptions map[string]string
}

const (
	paymentMethodCcRef  = "cc_ref"
	paymentMethodActive = "active"
)

var cardBrands = []string{"visa", "mastercard", "american_express", "discover", "jcb", "diners"}

// ---- request bodies ----

type billingAddressInput struct {
	Line1      *string `json:"line1"`
	Line2      *string `json:"line2"`
	City       *string `json:"city"`
	State      *string `json:"state"`
	Country    *string `json:"country"`
	PostalCode *string `json:"postal_code"`
}

type billingDetailsInput struct {
	Name    *string              `json:"name"`
	Email   *string              `json:"email"`
	Phone   *string              `json:"phone"`
	Address *billingAddressInput `json:"address"`
}

type mandateInput struct {
	ID     *string `json:"id"`
	Reason *string `json:"reason"`
	State  ignored `json:"state"` // read-only
}

type ccRefCardInput struct {
	Brand       *string  `json:"brand"`
	ExpiryMonth *float64 `json:"expiry_month"`
	ExpiryYear  *float64 `json:"expiry_year"`
	Last4       ignored  `json:"last_4"` // read-only: the gateway's
	// Raw card data: not in the schema, named here only to refuse it with a clear answer.
	CardNumber   ignored `json:"card_number"`
	SecurityCode ignored `json:"security_code"`
}

type ccRefInput struct {
	Token       *string         `json:"token"`
	SecondToken *string         `json:"second_token"`
	Mandate     *mandateInput   `json:"mandate"`
	Card        *ccRefCardInput `json:"card"`
}

// paymentMethodInput is "paymentMethodCreateRequest". The hashes of the types that are not simulated are
// named so that they are refused as such rather than as unknown parameters.
type paymentMethodInput struct {
	quickstartInputBase
	Type                     *string              `json:"type"`
	CustomType               *string              `json:"custom_type"`
	AccountID                *string              `json:"account_id"`
	AccountNumber            *string              `json:"account_number"`
	Account                  ignored              `json:"account"`
	BillingDetails           *billingDetailsInput `json:"billing_details"`
	MaximumPaymentAttempts   *float64             `json:"maximum_payment_attempts"`
	PaymentRetryInterval     *int                 `json:"payment_retry_interval"`
	DeviceSessionID          *string              `json:"device_session_id"`
	IPAddress                *string              `json:"ip_address"`
	BankIdentificationNumber *string              `json:"bank_identification_number"`
	Card                     ignored              `json:"card"` // raw card data: always refused
	CcRef                    *ccRefInput          `json:"cc_ref"`
	IsDefault                *bool                `json:"is_default"`
	GatewayID                *string              `json:"gateway_id"`
	GatewayOptions           map[string]string    `json:"gateway_options"`

	PaypalExpressNative ignored `json:"paypal_express_native"`
	PaypalExpress       ignored `json:"paypal_express"`
	PaypalAdaptive      ignored `json:"paypal_adaptive"`
	SepaDebit           ignored `json:"sepa_debit"`
	ApplePay            ignored `json:"apple_pay"`
	GooglePay           ignored `json:"google_pay"`
	AchDebit            ignored `json:"ach_debit"`
	BetalingsDebit      ignored `json:"betalings_debit"`
	AutogiroDebit       ignored `json:"autogiro_debit"`
	BacsDebit           ignored `json:"bacs_debit"`
	AuBecsDebit         ignored `json:"au_becs_debit"`
	NzBecsDebit         ignored `json:"nz_becs_debit"`
	PadDebit            ignored `json:"pad_debit"`
}

type ccRefPatchInput struct {
	SecondToken *string       `json:"second_token"`
	Mandate     *mandateInput `json:"mandate"`
}

// paymentMethodPatchInput is "paymentMethodPatchRequest".
type paymentMethodPatchInput struct {
	BillingDetails *billingDetailsInput `json:"billing_details"`
	AccountID      *string              `json:"account_id"`
	AccountNumber  *string              `json:"account_number"`
	CustomFields   customFieldValues    `json:"custom_fields"`
	Card           ignored              `json:"card"` // a type-card update: refused
	CcRef          *ccRefPatchInput     `json:"cc_ref"`
	Mandate        *struct {
		ID *string `json:"id"`
	} `json:"mandate"`
	AchDebit               ignored           `json:"ach_debit"`
	MaximumPaymentAttempts *float64          `json:"maximum_payment_attempts"`
	PaymentRetryInterval   *int              `json:"payment_retry_interval"`
	DeviceSessionID        *string           `json:"device_session_id"`
	GatewayOptions         map[string]string `json:"gateway_options"`
	Currency               *string           `json:"currency"`
	GatewayID              *string           `json:"gateway_id"`
}

// errRawCardData refuses card data: the message names the parameter, never the value.
func errRawCardData(param string) *apiError {
	return errInvalid(param, "'%s': zuorasim accepts no raw card data; tokenise the card at the gateway and create a cc_ref payment method with its token", param)
}

// ---- endpoints ----

func (s *Sim) createPaymentMethod(r *http.Request, st *store) (reply, *apiError) {
	var in paymentMethodInput
	if e := decodeBody(r, &in); e != nil {
		return reply{}, e
	}
	acct, e := st.validatePaymentMethodInput(&in)
	if e != nil {
		return reply{}, e
	}
	pm := st.createPaymentMethod(&in, acct, s.timestamp())
	return replyCreated(project(st.renderPaymentMethod(pm), parseFields(r, "payment_method"), nil)), nil
}

func (s *Sim) getPaymentMethod(r *http.Request, st *store) (reply, *apiError) {
	pm := st.paymentMethod(r.PathValue("payment_method_id"))
	if pm == nil {
		return reply{}, errNotFound("payment method", r.PathValue("payment_method_id"))
	}
	return replyOK(project(st.renderPaymentMethod(pm), parseFields(r, "payment_method"), nil)), nil
}

func (s *Sim) patchPaymentMethod(r *http.Request, st *store) (reply, *apiError) {
	var in paymentMethodPatchInput
	if e := decodeBody(r, &in); e != nil {
		return reply{}, e
	}
	pm := st.paymentMethod(r.PathValue("payment_method_id"))
	if pm == nil {
		return reply{}, errNotFound("payment method", r.PathValue("payment_method_id"))
	}
	target, e := st.validatePaymentMethodPatch(pm, &in)
	if e != nil {
		return reply{}, e
	}
	st.patchPaymentMethod(pm, &in, target, s.timestamp())
	return replyOK(project(st.renderPaymentMethod(pm), parseFields(r, "payment_method"), nil)), nil
}

// paymentMethodFilters are the filterable fields of GET /v2/payment_methods.
var paymentMethodFilters = filterFields("PaymentMethod", "id", "type", "account_id", "state", "created_time",
	"updated_time")

func (s *Sim) listPaymentMethods(r *http.Request, st *store) (reply, *apiError) {
	p, e := parseListParams(r, "payment_method")
	if e != nil {
		return reply{}, e
	}
	return listOf(st, p, st.paymentMethods, paymentMethodFilters,
		func(pm *PaymentMethod) any { return st.renderPaymentMethod(pm) })
}

// ---- store methods (caller holds st.mu; for writing where they change something) ----

// paymentMethod is the payment method with this id, or nil.
func (st *store) paymentMethod(id string) *PaymentMethod { return st.paymentMethodsByID[id] }

// accountOf resolves the account_id / account_number pair of a payment method body: nil when neither is given.
func (st *store) accountOf(id, number *string) (*Account, *apiError) {
	var byID, byNum *Account
	if id != nil {
		if byID = st.accountsByID[*id]; byID == nil {
			return nil, errReferenceNotFound("account_id", *id)
		}
	}
	if number != nil {
		if byNum = st.accountsByNum[*number]; byNum == nil {
			return nil, errReferenceNotFound("account_number", *number)
		}
	}
	if byID != nil && byNum != nil && byID != byNum {
		return nil, errInvalid("account_number", "'account_id' and 'account_number' name different accounts")
	}
	if byID != nil {
		return byID, nil
	}
	return byNum, nil
}

func (st *store) validatePaymentMethodInput(in *paymentMethodInput) (*Account, *apiError) {
	if in.Card != nil {
		return nil, errRawCardData("card")
	}
	if in.Type == nil {
		return nil, errMissing("type")
	}
	if *in.Type != paymentMethodCcRef {
		return nil, errInvalid("type", "zuorasim simulates only cc_ref payment methods; '%s' is not simulated", *in.Type)
	}
	others := map[string]ignored{"paypal_express_native": in.PaypalExpressNative, "paypal_express": in.PaypalExpress,
		"paypal_adaptive": in.PaypalAdaptive, "sepa_debit": in.SepaDebit, "apple_pay": in.ApplePay,
		"google_pay": in.GooglePay, "ach_debit": in.AchDebit, "betalings_debit": in.BetalingsDebit,
		"autogiro_debit": in.AutogiroDebit, "bacs_debit": in.BacsDebit, "au_becs_debit": in.AuBecsDebit,
		"nz_becs_debit": in.NzBecsDebit, "pad_debit": in.PadDebit}
	for _, name := range slices.Sorted(maps.Keys(others)) {
		if others[name] != nil {
			return nil, errInvalid(name, "'%s' does not apply to a cc_ref payment method", name)
		}
	}
	if in.Account != nil {
		return nil, errInvalid("account", "zuorasim does not create an account with a payment method; create the account first and give its account_id")
	}
	if in.CustomType != nil {
		return nil, errInvalid("custom_type", "'custom_type' applies to Universal Payment Connector payment methods, not to cc_ref")
	}
	acct, e := st.accountOf(in.AccountID, in.AccountNumber)
	if e != nil {
		return nil, e
	}
	if in.IsDefault != nil && *in.IsDefault && acct == nil {
		return nil, errInvalid("is_default", "'is_default' needs an account: give account_id or account_number")
	}
	if e := validateCcRef(in.CcRef); e != nil {
		return nil, e
	}
	if e := validateBillingDetails(in.BillingDetails); e != nil {
		return nil, e
	}
	if e := validateRetryRule(in.MaximumPaymentAttempts, in.PaymentRetryInterval); e != nil {
		return nil, e
	}
	if b := in.BankIdentificationNumber; b != nil && !isDigits(*b, 6, 8) {
		return nil, errInvalid("bank_identification_number", "'bank_identification_number' must be the first 6 to 8 digits of the card")
	}
	return acct, st.validateCustomFields("PaymentMethod", "custom_fields", in.CustomFields)
}

func validateCcRef(c *ccRefInput) *apiError {
	if c == nil {
		return errMissing("cc_ref")
	}
	if c.Token == nil || strings.TrimSpace(*c.Token) == "" {
		return errMissing("cc_ref.token")
	}
	if len(*c.Token) > 255 {
		return errInvalid("cc_ref.token", "'cc_ref.token' must be at most 255 characters")
	}
	if c.SecondToken != nil && len(*c.SecondToken) > 255 {
		return errInvalid("cc_ref.second_token", "'cc_ref.second_token' must be at most 255 characters")
	}
	if strings.HasPrefix(*c.Token, "cus_") && (c.SecondToken == nil || strings.TrimSpace(*c.SecondToken) == "") {
		return errMissing("cc_ref.second_token")
	}
	if card := c.Card; card != nil {
		switch {
		case card.CardNumber != nil:
			return errRawCardData("cc_ref.card.card_number")
		case card.SecurityCode != nil:
			return errRawCardData("cc_ref.card.security_code")
		case card.Brand != nil && !slices.Contains(cardBrands, *card.Brand):
			return errInvalid("cc_ref.card.brand", "'cc_ref.card.brand' must be one of %s", strings.Join(cardBrands, ", "))
		case card.ExpiryMonth != nil && (!whole(*card.ExpiryMonth) || *card.ExpiryMonth < 1 || *card.ExpiryMonth > 12):
			return errInvalid("cc_ref.card.expiry_month", "'cc_ref.card.expiry_month' must be a month from 1 to 12")
		case card.ExpiryYear != nil && !validExpiryYear(*card.ExpiryYear):
			return errInvalid("cc_ref.card.expiry_year", "'cc_ref.card.expiry_year' must be a two- or four-digit year")
		}
	}
	return nil
}

func whole(v float64) bool { return v == float64(int(v)) }

func validExpiryYear(y float64) bool {
	return whole(y) && ((y >= 0 && y <= 99) || (y >= 1000 && y <= 9999))
}

func isDigits(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	return strings.Trim(s, "0123456789") == ""
}

func validateBillingDetails(b *billingDetailsInput) *apiError {
	if b == nil {
		return nil
	}
	if b.Email != nil && *b.Email != "" && !looksLikeEmail(*b.Email) {
		return errInvalid("billing_details.email", "'billing_details.email' is not a valid email address")
	}
	if b.Name != nil && len(*b.Name) > 255 {
		return errInvalid("billing_details.name", "'billing_details.name' must be at most 255 characters")
	}
	return nil
}

func validateRetryRule(attempts *float64, interval *int) *apiError {
	if attempts != nil && (!whole(*attempts) || *attempts < 1 || *attempts > 1000) {
		return errInvalid("maximum_payment_attempts", "'maximum_payment_attempts' must be a whole number from 1 to 1000")
	}
	if interval != nil && (*interval < 1 || *interval > 1000) {
		return errInvalid("payment_retry_interval", "'payment_retry_interval' must be from 1 to 1000 hours")
	}
	return nil
}

// createPaymentMethod stores a validated create body. Caller holds st.mu for writing.
func (st *store) createPaymentMethod(in *paymentMethodInput, acct *Account, now string) *PaymentMethod {
	pm := &PaymentMethod{ID: newID(), Type: paymentMethodCcRef, State: paymentMethodActive,
		UseDefaultRetryRule: true, CustomFields: map[string]string{},
		CreatedByID: simUserID, CreatedTime: now, UpdatedByID: simUserID, UpdatedTime: now}
	if acct != nil {
		pm.AccountID = acct.ID
	}
	c := in.CcRef
	pm.CcRef = &CcRef{Token: *c.Token}
	if c.SecondToken != nil {
		pm.CcRef.SecondToken = *c.SecondToken
	}
	pm.CcRef.Mandate = applyMandate(nil, c.Mandate)
	if card := c.Card; card != nil {
		out := &CcRefCard{Last4: gatewayLast4(pm.CcRef)}
		if card.Brand != nil {
			out.Brand = *card.Brand
		}
		if card.ExpiryMonth != nil {
			out.ExpiryMonth = int(*card.ExpiryMonth)
		}
		if card.ExpiryYear != nil {
			out.ExpiryYear = int(*card.ExpiryYear)
			if out.ExpiryYear < 100 {
				out.ExpiryYear += 2000
			}
		}
		pm.CcRef.Card = out
	}
	pm.BillingDetails = applyBillingDetails(nil, in.BillingDetails)
	setRetryRule(pm, in.MaximumPaymentAttempts, in.PaymentRetryInterval)
	setIf(&pm.DeviceSessionID, in.DeviceSessionID)
	setIf(&pm.IPAddress, in.IPAddress)
	setIf(&pm.BankIdentificationNumber, in.BankIdentificationNumber)
	setIf(&pm.gatewayID, in.GatewayID)
	pm.gatewayOptions = maps.Clone(in.GatewayOptions)
	mergeCustomFields(pm.CustomFields, in.CustomFields)
	st.paymentMethods = append(st.paymentMethods, pm)
	st.paymentMethodsByID[pm.ID] = pm
	if acct != nil && in.IsDefault != nil && *in.IsDefault {
		prev := acct.DefaultPaymentMethodID
		acct.DefaultPaymentMethodID = pm.ID
		acct.UpdatedTime, acct.UpdatedByID = now, simUserID
		st.notifyDefaultPaymentMethod(now, acct, prev)
	}
	return pm
}

// gatewayLast4 is the simulated gateway's last four digits of the card behind a token: stable per token.
func gatewayLast4(c *CcRef) string {
	key := c.SecondToken
	if key == "" {
		key = c.Token
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return fmt.Sprintf("%04d", h.Sum32()%10000)
}

func setIf(dst *string, src *string) {
	if src != nil {
		*dst = *src
	}
}

func setRetryRule(pm *PaymentMethod, attempts *float64, interval *int) {
	if attempts != nil {
		v := *attempts
		pm.MaximumPaymentAttempts = &v
	}
	if interval != nil {
		v := *interval
		pm.PaymentRetryInterval = &v
	}
	pm.UseDefaultRetryRule = pm.MaximumPaymentAttempts == nil && pm.PaymentRetryInterval == nil
}

func applyMandate(m *Mandate, in *mandateInput) *Mandate {
	if in == nil {
		return m
	}
	if m == nil {
		m = &Mandate{}
	}
	setIf(&m.ID, in.ID)
	setIf(&m.Reason, in.Reason)
	return m
}

func applyBillingDetails(b *BillingDetails, in *billingDetailsInput) *BillingDetails {
	if in == nil {
		return b
	}
	if b == nil {
		b = &BillingDetails{}
	}
	setIf(&b.Name, in.Name)
	setIf(&b.Email, in.Email)
	setIf(&b.Phone, in.Phone)
	if ad := in.Address; ad != nil {
		if b.Address == nil {
			b.Address = &BillingAddress{}
		}
		setIf(&b.Address.Line1, ad.Line1)
		setIf(&b.Address.Line2, ad.Line2)
		setIf(&b.Address.City, ad.City)
		setIf(&b.Address.State, ad.State)
		setIf(&b.Address.Country, ad.Country)
		setIf(&b.Address.PostalCode, ad.PostalCode)
	}
	return b
}

// validatePaymentMethodPatch checks a patch body; target is the account the payment method moves to (nil: it
// stays).
func (st *store) validatePaymentMethodPatch(pm *PaymentMethod, in *paymentMethodPatchInput) (*Account, *apiError) {
	switch {
	case in.Card != nil:
		return nil, errRawCardData("card")
	case in.AchDebit != nil:
		return nil, errInvalid("ach_debit", "'ach_debit' does not apply to a cc_ref payment method")
	}
	target, e := st.accountOf(in.AccountID, in.AccountNumber)
	if e != nil {
		return nil, e
	}
	if target != nil && target.ID != pm.AccountID && pm.AccountID != "" {
		if cur := st.accountsByID[pm.AccountID]; cur != nil && cur.DefaultPaymentMethodID == pm.ID {
			return nil, errInvalid("account_id", "payment method '%s' is the default payment method of account '%s'; make another payment method the default before moving it",
				pm.ID, cur.AccountNumber)
		}
	}
	if c := in.CcRef; c != nil && c.SecondToken != nil && (strings.TrimSpace(*c.SecondToken) == "" || len(*c.SecondToken) > 255) {
		return nil, errInvalid("cc_ref.second_token", "'cc_ref.second_token' must be 1 to 255 characters")
	}
	if in.Currency != nil && !slices.Contains(st.currencies, strings.ToUpper(*in.Currency)) {
		return nil, errInvalid("currency", "'currency' must be a currency enabled in the tenant; '%s' is not", *in.Currency)
	}
	if e := validateBillingDetails(in.BillingDetails); e != nil {
		return nil, e
	}
	if e := validateRetryRule(in.MaximumPaymentAttempts, in.PaymentRetryInterval); e != nil {
		return nil, e
	}
	return target, st.validateCustomFields("PaymentMethod", "custom_fields", in.CustomFields)
}

// patchPaymentMethod applies a validated patch body. Caller holds st.mu for writing.
func (st *store) patchPaymentMethod(pm *PaymentMethod, in *paymentMethodPatchInput, target *Account, now string) {
	if target != nil {
		pm.AccountID = target.ID
	}
	if c := in.CcRef; c != nil {
		if c.SecondToken != nil {
			pm.CcRef.SecondToken = *c.SecondToken
		}
		pm.CcRef.Mandate = applyMandate(pm.CcRef.Mandate, c.Mandate)
	}
	if in.Mandate != nil {
		pm.CcRef.Mandate = applyMandate(pm.CcRef.Mandate, &mandateInput{ID: in.Mandate.ID})
	}
	pm.BillingDetails = applyBillingDetails(pm.BillingDetails, in.BillingDetails)
	if in.MaximumPaymentAttempts != nil || in.PaymentRetryInterval != nil {
		setRetryRule(pm, in.MaximumPaymentAttempts, in.PaymentRetryInterval)
	}
	setIf(&pm.DeviceSessionID, in.DeviceSessionID)
	setIf(&pm.gatewayID, in.GatewayID)
	if in.GatewayOptions != nil {
		pm.gatewayOptions = maps.Clone(in.GatewayOptions)
	}
	mergeCustomFields(pm.CustomFields, in.CustomFields)
	pm.UpdatedTime, pm.UpdatedByID = now, simUserID
}

// renderPaymentMethod returns a deep copy of pm. Caller holds st.mu.
func (st *store) renderPaymentMethod(pm *PaymentMethod) PaymentMethod {
	out := *pm
	out.CustomFields = maps.Clone(pm.CustomFields)
	out.gatewayOptions = nil
	if b := pm.BillingDetails; b != nil {
		bd := *b
		if b.Address != nil {
			ad := *b.Address
			bd.Address = &ad
		}
		out.BillingDetails = &bd
	}
	if c := pm.CcRef; c != nil {
		cc := *c
		if c.Mandate != nil {
			m := *c.Mandate
			cc.Mandate = &m
		}
		if c.Card != nil {
			card := *c.Card
			cc.Card = &card
		}
		out.CcRef = &cc
	}
	if pm.MaximumPaymentAttempts != nil {
		v := *pm.MaximumPaymentAttempts
		out.MaximumPaymentAttempts = &v
	}
	if pm.PaymentRetryInterval != nil {
		v := *pm.PaymentRetryInterval
		out.PaymentRetryInterval = &v
	}
	return out
}

// expired reports whether the card behind pm expired before today (it is valid through its expiry month).
func (pm *PaymentMethod) expired(today time.Time) bool {
	c := pm.CcRef
	if c == nil || c.Card == nil || c.Card.ExpiryYear == 0 || c.Card.ExpiryMonth == 0 {
		return false
	}
	firstAfter := time.Date(c.Card.ExpiryYear, time.Month(c.Card.ExpiryMonth)+1, 1, 0, 0, 0, 0, time.UTC)
	return !today.Before(firstAfter)
}

// usablePaymentMethod checks that the payment method id can pay for account a now; param names the field the
// id came from. Failures are business-rule failures (V1: HTTP 200, success:false), except an id that names no
// payment method. Caller holds st.mu.
func (st *store) usablePaymentMethod(id string, a *Account, param string, now time.Time) (*PaymentMethod, *apiError) {
	pm := st.paymentMethod(id)
	switch {
	case pm == nil:
		return nil, errReferenceNotFound(param, id)
	case pm.AccountID != a.ID:
		return nil, errRule(param, "payment method '%s' does not belong to account %s", id, a.AccountNumber)
	case pm.State != paymentMethodActive:
		return nil, errRule(param, "payment method '%s' is %s and cannot be used for a payment", id, pm.State)
	case pm.expired(now):
		return nil, errRule(param, "the card of payment method '%s' expired in %02d/%d", id, pm.CcRef.Card.ExpiryMonth, pm.CcRef.Card.ExpiryYear)
	}
	return pm, nil
}

// PaymentMethods returns every payment method as GET /v2/payment_methods/{id} shows it, in creation order.
func (s *Sim) PaymentMethods() []PaymentMethod {
	st := s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.paymentMethodState()
}

// paymentMethodState renders every payment method for a State snapshot. Caller holds st.mu.
func (st *store) paymentMethodState() []PaymentMethod {
	out := make([]PaymentMethod, 0, len(st.paymentMethods))
	for _, pm := range st.paymentMethods {
		out = append(out, st.renderPaymentMethod(pm))
	}
	return out
}
