package zuorasim

import (
	"net/http"
	"strconv"
	"strings"
)

// V1 GET /v1/accounts/{account-key} ("GETAccountType"). Custom fields sit inside basicInfo and contacts; the
// defined ones that are unset are null, as Zuora returns them. Not found answers 404 with code 50000040: the
// spec lists 4XX (CommonResponse) for this operation.

type v1BillingAndPayment struct {
	BillCycleDay              int      `json:"billCycleDay"`
	BcdSettingOption          string   `json:"bcdSettingOption"`
	Currency                  string   `json:"currency"`
	PaymentTerm               string   `json:"paymentTerm"`
	AutoPay                   bool     `json:"autoPay"`
	DefaultPaymentMethodID    string   `json:"defaultPaymentMethodId,omitempty"`
	PaymentGateway            string   `json:"paymentGateway,omitempty"`
	InvoiceDeliveryPrefsEmail bool     `json:"invoiceDeliveryPrefsEmail"`
	InvoiceDeliveryPrefsPrint bool     `json:"invoiceDeliveryPrefsPrint"`
	AdditionalEmailAddresses  []string `json:"additionalEmailAddresses"`
}

type v1Metrics struct {
	Balance                   string  `json:"balance"`
	TotalInvoiceBalance       string  `json:"totalInvoiceBalance"`
	CreditBalance             string  `json:"creditBalance"`
	ContractedMrr             string  `json:"contractedMrr"`
	TotalDebitMemoBalance     string  `json:"totalDebitMemoBalance"`
	UnappliedCreditMemoAmount string  `json:"unappliedCreditMemoAmount"`
	UnappliedPaymentAmount    string  `json:"unappliedPaymentAmount"`
	ReservedPaymentAmount     float64 `json:"reservedPaymentAmount"`
}

type v1Account struct {
	Success           bool                `json:"success"`
	BasicInfo         map[string]any      `json:"basicInfo"`
	BillingAndPayment v1BillingAndPayment `json:"billingAndPayment"`
	Metrics           v1Metrics           `json:"metrics"`
	BillToContact     map[string]any      `json:"billToContact"`
	SoldToContact     map[string]any      `json:"soldToContact"`
}

func (s *Sim) v1GetAccount(r *http.Request, st *store) (reply, *apiError) {
	a := st.lookupAccount(r.PathValue("account_key"))
	if a == nil {
		return reply{}, errNotFound("account", r.PathValue("account_key"))
	}
	return replyOK(st.v1AccountView(a)), nil
}

func money(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// v1AccountView renders a in the V1 shape. Caller holds st.mu.
func (st *store) v1AccountView(a *Account) v1Account {
	basic := map[string]any{"id": a.ID, "accountNumber": a.AccountNumber, "name": a.Name, "status": v1AccountStatus(a)}
	putIf(basic, "batch", a.Batch)
	putIf(basic, "crmId", a.CrmID)
	putIf(basic, "salesRep", a.SalesRep)
	putIf(basic, "parentId", a.ParentAccountID)
	putIf(basic, "communicationProfileId", a.CommunicationProfileID)
	putIf(basic, "sequenceSetId", a.SequenceSetID)
	bds := a.BillingDocumentSettings
	if bds == nil {
		bds = &BillingDocumentSettings{}
	}
	putIf(basic, "invoiceTemplateId", bds.InvoiceTemplateID)
	putIf(basic, "creditMemoTemplateId", bds.CreditMemoTemplateID)
	putIf(basic, "debitMemoTemplateId", bds.DebitMemoTemplateID)
	addV1CustomFields(basic, st.customFieldNames("Account"), a.CustomFields)

	bcd := "ManualSet"
	if a.BillCycleDay == 0 {
		bcd = "AutoSet"
	}
	balance := a.RemainingInvoiceBalance + a.RemainingDebitMemoBalance
	return v1Account{
		Success:   true,
		BasicInfo: basic,
		BillingAndPayment: v1BillingAndPayment{
			BillCycleDay: a.BillCycleDay, BcdSettingOption: bcd, Currency: a.Currency, PaymentTerm: a.PaymentTerms,
			AutoPay: a.AutoPay, DefaultPaymentMethodID: a.DefaultPaymentMethodID, PaymentGateway: a.PaymentGateway,
			InvoiceDeliveryPrefsEmail: bds.EmailDocuments, InvoiceDeliveryPrefsPrint: bds.PrintDocuments,
			AdditionalEmailAddresses: append([]string{}, bds.AdditionalEmail...),
		},
		Metrics: v1Metrics{
			Balance: money(balance), TotalInvoiceBalance: money(a.RemainingInvoiceBalance),
			CreditBalance: money(0), ContractedMrr: money(0), TotalDebitMemoBalance: money(a.RemainingDebitMemoBalance),
			UnappliedCreditMemoAmount: money(a.RemainingCreditMemoBalance),
			UnappliedPaymentAmount:    money(a.RemainingPaymentBalance),
		},
		BillToContact: st.v1ContactView(a.BillToID),
		SoldToContact: st.v1ContactView(a.SoldToID),
	}
}

func (st *store) v1ContactView(id string) map[string]any {
	c, ok := st.contacts[id]
	if !ok {
		return map[string]any{}
	}
	m := map[string]any{"id": c.ID}
	putIf(m, "firstName", c.FirstName)
	putIf(m, "lastName", c.LastName)
	putIf(m, "personalEmail", c.Email)
	putIf(m, "workEmail", c.WorkEmail)
	putIf(m, "workPhone", c.WorkPhone)
	putIf(m, "homePhone", c.HomePhone)
	putIf(m, "mobilePhone", c.MobilePhone)
	putIf(m, "otherPhone", c.OtherPhone)
	if c.OtherPhoneType != "" { // V1 spells the enum capitalised
		m["otherPhoneType"] = strings.ToUpper(c.OtherPhoneType[:1]) + c.OtherPhoneType[1:]
	}
	putIf(m, "nickname", c.Nickname)
	putIf(m, "taxRegion", c.TaxRegion)
	putIf(m, "fax", c.Fax)
	if ad := c.Address; ad != nil {
		putIf(m, "address1", ad.Line1)
		putIf(m, "address2", ad.Line2)
		putIf(m, "city", ad.City)
		putIf(m, "state", ad.State)
		putIf(m, "country", ad.Country)
		putIf(m, "county", ad.County)
		putIf(m, "zipCode", ad.PostalCode)
	}
	addV1CustomFields(m, st.customFieldNames("Contact"), c.CustomFields)
	return m
}

// putIf sets m[k] when v is not empty: the V1 schemas type these as non-nullable strings.
func putIf(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func addV1CustomFields(m map[string]any, defined []string, values map[string]string) {
	for _, name := range defined {
		if v, ok := values[name]; ok {
			m[name] = v
		} else {
			m[name] = nil
		}
	}
}
