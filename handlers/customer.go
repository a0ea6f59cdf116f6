package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/idmap"
	"github.com/zuora-sync/zuora-sync/topology"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// customers turns io.stigg.customer.created/updated into a Zuora billing account. Both types run the same
// upsert: created and updated may arrive in either order on replay, and the result must be the same.
type customers struct {
	deps  Deps
	terms *paymentTerms
}

func newCustomers(d Deps) *customers {
	return &customers{deps: d, terms: &paymentTerms{zuora: d.Zuora, ttl: d.PaymentTermsTTL}}
}

// Outcome actions of the customer handler.
const (
	actionCreated   = "created"
	actionUpdated   = "updated"
	actionUnchanged = "unchanged"
)

func (h *customers) Handle(ctx context.Context, in *dispatch.Input) (*dispatch.Result, error) {
	c, ok := in.Payload.(*events.Customer)
	if !ok {
		return nil, dispatch.Permanent(fmt.Errorf("customer handler got %T", in.Payload))
	}
	termName, err := h.terms.nameFor(ctx, c.InvoiceDaysUntilDue)
	if err != nil {
		return nil, err
	}
	acct, mapped, err := h.find(ctx, c)
	if err != nil {
		return nil, err
	}

	action := actionUnchanged
	if acct == nil {
		req := h.createRequest(c, termName)
		if acct, err = h.deps.Zuora.CreateAccount(ctx, "account.create", req); err != nil {
			return nil, describe(err, "create the Zuora account for customer "+c.CustomerID)
		}
		action = actionCreated
	} else if patch := accountPatch(acct, c, termName); !patch.IsEmpty() {
		updated, err := h.deps.Zuora.UpdateAccount(ctx, "account.update", acct.ID, patch)
		if err != nil {
			return nil, describe(err, "update Zuora account "+acct.ID)
		}
		acct, action = updated, actionUpdated
	}
	if c.Currency != "" && acct.Currency != "" && !strings.EqualFold(acct.Currency, c.Currency) {
		in.Logger.Warn("Zuora account currency differs from Stigg and cannot be changed in place",
			"zuora_currency", acct.Currency, "stigg_currency", c.Currency, "account_id", acct.ID)
	}
	number := acct.AccountNumber
	if number == "" {
		v1, err := h.deps.Zuora.GetAccountV1(ctx, acct.ID)
		if err != nil {
			return nil, describe(err, "read the number of Zuora account "+acct.ID)
		}
		number = v1.BasicInfo.AccountNumber
	}
	if mapped == nil || mapped.ZuoraID != acct.ID || mapped.ZuoraNumber != number {
		e := &idmap.Entry{StiggID: c.CustomerID, ZuoraID: acct.ID, ZuoraNumber: number, SourceEventID: in.Event.ID()}
		if mapped != nil {
			e.Revision = mapped.Revision
		}
		if err := h.deps.IDs.Put(ctx, KindCustomer, e); err != nil {
			return nil, err
		}
	}
	in.Logger.Info("customer synced", "action", action, "account_id", acct.ID, "account_number", number)
	return &dispatch.Result{Outcomes: []dispatch.Outcome{{
		Entity: events.EntityCustomer, Result: events.ResultSynced,
		Data: events.Outcome{StiggID: c.CustomerID, Action: action, Zuora: map[string]string{
			events.ZuoraAccountID: acct.ID, events.ZuoraAccountNumber: number,
		}},
	}}}, nil
}

// find locates the customer's Zuora account: the id map first, then the billingId link, then Zuora itself by the
// stiggCustomerId__c custom field — so a replay after the map was lost, or after a crash between creating the
// account and recording it, still finds the account instead of creating a second one.
func (h *customers) find(ctx context.Context, c *events.Customer) (*zuoraapi.Account, *idmap.Entry, error) {
	mapped, err := h.deps.IDs.Get(ctx, KindCustomer, c.CustomerID)
	switch {
	case err == nil:
		acct, err := h.deps.Zuora.GetAccount(ctx, mapped.ZuoraID, "bill_to")
		if zuoraapi.IsNotFound(err) {
			return nil, nil, dispatch.Permanent(fmt.Errorf("customer %s is mapped to Zuora account %s, which no longer "+
				"exists; delete the mapping (nats kv del %s %s) and redrive to create a new account",
				c.CustomerID, mapped.ZuoraID, topology.BucketIDs, idmap.Key(KindCustomer, c.CustomerID)))
		}
		if err != nil {
			return nil, nil, describe(err, "read mapped Zuora account "+mapped.ZuoraID)
		}
		return acct, mapped, nil
	case !errors.Is(err, idmap.ErrNotFound):
		return nil, nil, err
	}

	if c.BillingID != "" {
		acct, err := h.deps.Zuora.GetAccount(ctx, c.BillingID, "bill_to")
		if zuoraapi.IsNotFound(err) {
			return nil, nil, dispatch.Permanent(fmt.Errorf("customer %s links to billingId %q, but Zuora has no such "+
				"account; fix the billing id in Stigg", c.CustomerID, c.BillingID))
		}
		if err != nil {
			return nil, nil, describe(err, "read linked Zuora account "+c.BillingID)
		}
		return acct, nil, nil
	}

	found, err := h.deps.Zuora.FindAccounts(ctx, FieldStiggCustomerID+".EQ:"+c.CustomerID)
	if err != nil {
		return nil, nil, describe(err, "search Zuora accounts of customer "+c.CustomerID)
	}
	if len(found) == 0 {
		return nil, nil, nil
	}
	if len(found) > 1 {
		h.deps.Logger.Warn("several Zuora accounts carry the same Stigg customer id; using the first",
			"customer_id", c.CustomerID, "accounts", len(found))
	}
	acct, err := h.deps.Zuora.GetAccount(ctx, found[0].ID, "bill_to")
	if err != nil {
		return nil, nil, describe(err, "read Zuora account "+found[0].ID)
	}
	return acct, nil, nil
}

func (h *customers) createRequest(c *events.Customer, termName string) *zuoraapi.AccountCreateRequest {
	first, last := splitName(displayName(c))
	currency := strings.ToUpper(c.Currency)
	if currency == "" {
		currency = h.deps.DefaultCurrency
	}
	req := &zuoraapi.AccountCreateRequest{
		Name:         displayName(c),
		Currency:     currency,
		PaymentTerms: termName,
		BillTo: &zuoraapi.Contact{
			FirstName: first, LastName: last, WorkEmail: c.Email, Address: address(c.BillingAddress),
		},
		CustomFields: customFields(c),
	}
	return req
}

// accountPatch lists what differs between the account and the customer. Only what Stigg states is compared: a
// field Stigg leaves empty is not cleared in Zuora, where someone may have filled it in by hand.
func accountPatch(a *zuoraapi.Account, c *events.Customer, termName string) *zuoraapi.AccountPatch {
	p := &zuoraapi.AccountPatch{}
	if c.Name != "" && a.Name != c.Name {
		p.Name = new(c.Name)
	}
	if termName != "" && a.PaymentTerms != termName {
		p.PaymentTerms = new(termName)
	}
	want := customFields(c)
	for k, v := range want {
		if fmt.Sprint(a.CustomFields[k]) != fmt.Sprint(v) || a.CustomFields[k] == nil {
			if p.CustomFields == nil {
				p.CustomFields = map[string]any{}
			}
			p.CustomFields[k] = v
		}
	}
	var bt zuoraapi.ContactPatch
	have := a.BillTo
	if have == nil {
		have = &zuoraapi.Contact{}
	}
	changed := false
	if c.Name != "" {
		first, last := splitName(c.Name)
		if have.FirstName != first {
			bt.FirstName, changed = new(first), true
		}
		if have.LastName != last {
			bt.LastName, changed = new(last), true
		}
	}
	if c.Email != "" && have.WorkEmail != c.Email {
		bt.WorkEmail, changed = new(c.Email), true
	}
	if ap := addressPatch(have.Address, c.BillingAddress); ap != nil {
		bt.Address, changed = ap, true
	}
	if changed {
		p.BillTo = &bt
	}
	return p
}

func addressPatch(have *zuoraapi.Address, want *events.Address) *zuoraapi.AddressPatch {
	if want == nil {
		return nil
	}
	if have == nil {
		have = &zuoraapi.Address{}
	}
	var p zuoraapi.AddressPatch
	changed := false
	set := func(dst **string, cur, v string) {
		if v != "" && cur != v {
			*dst, changed = new(v), true
		}
	}
	set(&p.Line1, have.Line1, want.Line1)
	set(&p.Line2, have.Line2, want.Line2)
	set(&p.City, have.City, want.City)
	set(&p.State, have.State, want.State)
	set(&p.PostalCode, have.PostalCode, want.PostalCode)
	set(&p.Country, have.Country, want.Country)
	if !changed {
		return nil
	}
	return &p
}

func customFields(c *events.Customer) map[string]any {
	f := map[string]any{FieldStiggCustomerID: c.CustomerID}
	if c.EntityURL != "" {
		f[FieldStiggEntityURL] = c.EntityURL
	}
	return f
}

func address(a *events.Address) *zuoraapi.Address {
	if a == nil {
		return nil
	}
	return &zuoraapi.Address{Line1: a.Line1, Line2: a.Line2, City: a.City, State: a.State,
		PostalCode: a.PostalCode, Country: a.Country}
}

// displayName is the account name: Zuora requires one, Stigg customers may have none.
func displayName(c *events.Customer) string {
	switch {
	case c.Name != "":
		return c.Name
	case c.Email != "":
		return c.Email
	}
	return c.CustomerID
}

// splitName derives the bill-to contact's first and last name (both required by Zuora) from one display name.
func splitName(name string) (first, last string) {
	name = strings.TrimSpace(name)
	if i := strings.LastIndexByte(name, ' '); i > 0 {
		return strings.TrimSpace(name[:i]), strings.TrimSpace(name[i+1:])
	}
	return name, name
}

// describe adds what the handler was doing to a Zuora error, keeping it inspectable with errors.As; whether the
// failure is permanent is the error's own behaviour (zuoraapi.Error.Permanent), not relabelled here.
func describe(err error, doing string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// paymentTermsMissRefresh: a term missing from a list older than this is looked up again before giving up.
const paymentTermsMissRefresh = 5 * time.Second

// paymentTerms maps Stigg's invoiceDaysUntilDue onto the name of one of the tenant's payment terms.
type paymentTerms struct {
	zuora *zuoraapi.Client
	ttl   time.Duration

	mu      sync.Mutex
	byDays  map[int]string
	fetched time.Time
}

func (p *paymentTerms) nameFor(ctx context.Context, days *int) (string, error) {
	if days == nil {
		return "", nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	refresh := p.byDays == nil || time.Since(p.fetched) > p.ttl
	if !refresh {
		if name, ok := p.byDays[*days]; ok {
			return name, nil
		}
		// The term may have been added since the last read (the fix the error below asks for): read again.
		refresh = time.Since(p.fetched) > paymentTermsMissRefresh
	}
	if refresh {
		terms, err := p.zuora.ListPaymentTerms(ctx)
		if err != nil {
			return "", describe(err, "list Zuora payment terms")
		}
		p.byDays = map[int]string{}
		for _, t := range terms {
			if !t.Active {
				continue
			}
			if _, taken := p.byDays[t.DueDays]; !taken || t.UseDefault {
				p.byDays[t.DueDays] = t.Name
			}
		}
		p.fetched = time.Now()
	}
	if name, ok := p.byDays[*days]; ok {
		return name, nil
	}
	return "", dispatch.Permanent(fmt.Errorf("no active Zuora payment term is due in %d days; add one in Zuora "+
		"(Billing Settings > Payment Terms) or change the customer's invoice terms in Stigg, then redrive", *days))
}

var _ dispatch.Handler = (*customers)(nil)
