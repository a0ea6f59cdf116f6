package events

// Payloads of the io.zuora.* events the bridge builds from Zuora callouts. Callout templates
// substitute values as text, so everything is a string except amounts (Decimal reads
// numbers-in-strings). Validation covers only what identifies the object: the consumer
// re-reads the object from Zuora before acting, so the rest is informational.
// StiggCustomerID is filled when the callout template includes the account's
// stiggCustomerId__c custom field; it is the preferred ordering key.

// ZuoraInvoice is the data of io.zuora.invoice.paid and io.zuora.invoice.posted.
type ZuoraInvoice struct {
	AccountID          string   `json:"accountId,omitempty"`
	AccountNumber      string   `json:"accountNumber,omitempty"`
	StiggCustomerID    string   `json:"stiggCustomerId,omitempty"`
	InvoiceID          string   `json:"invoiceId,omitempty"`
	InvoiceNumber      string   `json:"invoiceNumber,omitempty"`
	SubscriptionNumber string   `json:"subscriptionNumber,omitempty"`
	Amount             *Decimal `json:"amount,omitempty"`
	Balance            *Decimal `json:"balance,omitempty"`
	Currency           string   `json:"currency,omitempty"`
	Status             string   `json:"status,omitempty"`
	InvoiceDate        string   `json:"invoiceDate,omitempty"`
	DueDate            string   `json:"dueDate,omitempty"`
}

func (z *ZuoraInvoice) Validate() error {
	var p problems
	p.eitherID("invoiceId", z.InvoiceID, "invoiceNumber", z.InvoiceNumber)
	return p.err()
}

// ZuoraPayment is the data of io.zuora.payment.failed.
type ZuoraPayment struct {
	AccountID           string   `json:"accountId,omitempty"`
	AccountNumber       string   `json:"accountNumber,omitempty"`
	StiggCustomerID     string   `json:"stiggCustomerId,omitempty"`
	PaymentID           string   `json:"paymentId,omitempty"`
	PaymentNumber       string   `json:"paymentNumber,omitempty"`
	InvoiceID           string   `json:"invoiceId,omitempty"`
	InvoiceNumber       string   `json:"invoiceNumber,omitempty"`
	Amount              *Decimal `json:"amount,omitempty"`
	Currency            string   `json:"currency,omitempty"`
	Status              string   `json:"status,omitempty"`
	GatewayResponse     string   `json:"gatewayResponse,omitempty"`
	GatewayResponseCode string   `json:"gatewayResponseCode,omitempty"`
}

func (z *ZuoraPayment) Validate() error {
	var p problems
	p.eitherID("paymentId", z.PaymentID, "paymentNumber", z.PaymentNumber)
	return p.err()
}

// ZuoraSubscription is the data of io.zuora.subscription.updated and .canceled.
type ZuoraSubscription struct {
	AccountID           string `json:"accountId,omitempty"`
	AccountNumber       string `json:"accountNumber,omitempty"`
	StiggCustomerID     string `json:"stiggCustomerId,omitempty"`
	StiggSubscriptionID string `json:"stiggSubscriptionId,omitempty"` // the subscription's Stigg id custom field, when sent
	SubscriptionID      string `json:"subscriptionId,omitempty"`
	SubscriptionNumber  string `json:"subscriptionNumber,omitempty"`
	Version             string `json:"version,omitempty"`
	Status              string `json:"status,omitempty"`
	CancelledDate       string `json:"cancelledDate,omitempty"`
	TermEndDate         string `json:"termEndDate,omitempty"`
}

func (z *ZuoraSubscription) Validate() error {
	var p problems
	p.eitherID("subscriptionNumber", z.SubscriptionNumber, "subscriptionId", z.SubscriptionID)
	return p.err()
}

// ZuoraOrder is the data of io.zuora.order.scheduled_completed.
type ZuoraOrder struct {
	AccountNumber      string `json:"accountNumber,omitempty"`
	StiggCustomerID    string `json:"stiggCustomerId,omitempty"`
	OrderID            string `json:"orderId,omitempty"`
	OrderNumber        string `json:"orderNumber"`
	SubscriptionNumber string `json:"subscriptionNumber,omitempty"`
	Status             string `json:"status,omitempty"`
	ScheduledDate      string `json:"scheduledDate,omitempty"`
}

func (z *ZuoraOrder) Validate() error {
	var p problems
	p.id("orderNumber", z.OrderNumber)
	return p.err()
}

// ZuoraAccount is the data of io.zuora.account.canceled.
type ZuoraAccount struct {
	AccountID       string `json:"accountId,omitempty"`
	AccountNumber   string `json:"accountNumber,omitempty"`
	StiggCustomerID string `json:"stiggCustomerId,omitempty"`
	Status          string `json:"status,omitempty"`
}

func (z *ZuoraAccount) Validate() error {
	var p problems
	p.eitherID("accountId", z.AccountID, "accountNumber", z.AccountNumber)
	return p.err()
}

// ZuoraPaymentMethodChanged is the data of io.zuora.account.payment_method_changed (Zuora's
// account change notification; field names follow its callout parameters).
type ZuoraPaymentMethodChanged struct {
	AccountID              string `json:"accountId,omitempty"`
	AccountNumber          string `json:"accountNumber,omitempty"`
	StiggCustomerID        string `json:"stiggCustomerId,omitempty"`
	DefaultPaymentMethodID string `json:"defaultPaymentMethodId,omitempty"`
	CreditCardType         string `json:"creditCardType,omitempty"`
	BankName               string `json:"bankName,omitempty"`
	MaskNumber             string `json:"maskNumber,omitempty"`
	ExpirationMonth        string `json:"expirationMonth,omitempty"`
	ExpirationYear         string `json:"expirationYear,omitempty"`
}

func (z *ZuoraPaymentMethodChanged) Validate() error {
	var p problems
	p.eitherID("accountId", z.AccountID, "accountNumber", z.AccountNumber)
	return p.err()
}
