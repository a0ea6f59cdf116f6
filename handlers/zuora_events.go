package handlers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/zuora-sync/zuora-sync/dispatch"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/idmap"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

// zuoraEvents turns the io.zuora.* events (Zuora's callouts, published by the bridge) into outcomes that name the
// Stigg objects. They are informational: the handler only reads Zuora, never writes, so a redelivery, a replay
// or a duplicate callout is harmless; it reports again, under the same source event id. What the outcome says
// comes from Zuora's state read now, never from the callout's fields: callouts arrive late, out of order and
// more than once, and a notification whose fact Zuora no longer confirms (an invoice "paid" that has a balance)
// becomes an io.zuorasync.<entity>.stale outcome with what Zuora says instead. Registered with HandleEach: every
// notification stands on its own, an older one arriving late is still reported.
//
// Stigg ids come from the id map (the reverse entries handlers write for every Zuora object they created), else
// from Zuora: the account's stiggCustomerId__c, the subscription's number (zuora-sync numbers the subscriptions
// it creates stigg-<subscriptionId>). A Zuora object Stigg does not know is reported with the Zuora ids and a
// reason, not failed: Zuora notifies about every account of the tenant.
type zuoraEvents struct{ deps Deps }

// zuoraEventTypes are the io.zuora.* types the handler reports on: every one the bridge publishes.
var zuoraEventTypes = []string{
	events.TypeZuoraInvoicePaid, events.TypeZuoraInvoicePosted, events.TypeZuoraPaymentFailed,
	events.TypeZuoraSubscriptionUpdated, events.TypeZuoraSubscriptionCanceled, events.TypeZuoraOrderScheduledCompleted,
	events.TypeZuoraAccountCanceled, events.TypeZuoraAccountPaymentMethodChanged,
}

// registerZuoraEvents routes the io.zuora.* types. HandleEach: each notification is reported on its own, and the
// runtime's claim still keeps one key's events from running at once.
func registerZuoraEvents(r *dispatch.Router, d Deps) {
	h := &zuoraEvents{deps: d}
	for _, t := range zuoraEventTypes {
		r.HandleEach(t, h)
	}
}

// Outcome results and actions of Zuora-originated events. Confirmed outcomes take the notification's action as
// their result (io.zuorasync.invoice.paid, …), except a failed payment: io.zuorasync.payment.failed already means
// that zuora-sync failed to handle an event, so Zuora's failed payment is io.zuorasync.payment.declined.
const (
	resultStale    = "stale"
	resultDeclined = "declined"

	actionConfirmed = "confirmed" // Zuora's current state agrees with the notification
	actionStale     = "stale"     // it does not: the outcome carries Zuora's state, the reason says what differs
)

// Keys of a Zuora-originated outcome's Zuora map besides the events.Zuora* ids: Zuora's values, and the Stigg ids
// the objects map to (the outcome's stiggId is the entity's own: the customer for invoices, payments, orders and
// accounts, the subscription for subscription events).
const (
	keyStatus              = "status"
	keyAmount              = "amount"
	keyBalance             = "balance"
	keyCurrency            = "currency"
	keyVersion             = "version"
	keyEndDate             = "subscriptionEndDate"
	keyGatewayResponse     = "gatewayResponse"
	keyGatewayResponseCode = "gatewayResponseCode"
	keyStiggCustomerID     = "stiggCustomerId"
	keyStiggSubscriptionID = "stiggSubscriptionId"
	keyStiggResourceID     = "stiggResourceId"
)

// Zuora's statuses the handler compares with (V1 payment and account status values).
const (
	paymentStatusError    = "Error"
	accountStatusCanceled = "Canceled"
)

// keyStiggSubscriptionOf is the key naming the Stigg subscription of one Zuora subscription (by its number), for
// outcomes that cover several: stiggSubscriptionId.<subscriptionNumber>.
func keyStiggSubscriptionOf(number string) string { return keyStiggSubscriptionID + "." + number }

func (h *zuoraEvents) Handle(ctx context.Context, in *dispatch.Input) (*dispatch.Result, error) {
	var (
		res *dispatch.Result
		err error
	)
	switch p := in.Payload.(type) {
	case *events.ZuoraInvoice:
		res, err = h.invoice(ctx, in, p)
	case *events.ZuoraPayment:
		res, err = h.payment(ctx, in, p)
	case *events.ZuoraSubscription:
		res, err = h.subscription(ctx, in, p)
	case *events.ZuoraOrder:
		res, err = h.order(ctx, in, p)
	case *events.ZuoraAccount:
		res, err = h.account(ctx, in, p.AccountID, p.AccountNumber)
	case *events.ZuoraPaymentMethodChanged:
		res, err = h.account(ctx, in, p.AccountID, p.AccountNumber)
	default:
		return nil, dispatch.Permanent(fmt.Errorf("the handler of Zuora's notifications got %T for %s", in.Payload, in.Event.Type()))
	}
	if err != nil {
		return nil, err
	}
	if in.Attempt > 1 {
		for i := range res.Outcomes {
			o := &res.Outcomes[i].Data
			o.Reason = joinNote(o.Reason, fmt.Sprintf("delivery %d of notification %s: the same notification as "+
				"any earlier outcome with this sourceEventId", in.Attempt, in.Event.ID()))
		}
	}
	return res, nil
}

// notice is one outcome of a Zuora-originated event in the making.
type notice struct {
	entity string
	result string // when Zuora confirms the notification
	stigg  string
	ids    map[string]string
	stale  []string // what Zuora says that contradicts the notification
	notes  []string // what a reader should know (Stigg ids that could not be found)
}

func newNotice(entity, result string) *notice {
	return &notice{entity: entity, result: result, ids: map[string]string{}}
}

// set records a Zuora value; empty values are left out (the outcome's map holds no empty ids).
func (n *notice) set(key, value string) {
	if value = outcomeText(value); value != "" {
		n.ids[key] = value
	}
}

// outcomeText makes a value Zuora sent fit an outcome's id rules (no control characters, at most
// events.MaxIDLength bytes): a gateway message with a line break must not make the outcome unpublishable, which
// would retry a read-only notification until it is dead-lettered.
func outcomeText(v string) string {
	v = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, v))
	for len(v) > events.MaxIDLength {
		_, size := utf8.DecodeLastRuneInString(v)
		v = v[:len(v)-size]
	}
	return v
}

func (n *notice) outcome() *dispatch.Result {
	data := events.Outcome{StiggID: n.stigg, Action: actionConfirmed, Zuora: n.ids}
	result := n.result
	if len(n.stale) > 0 {
		result, data.Action = resultStale, actionStale
	}
	data.Reason = strings.Join(append(append([]string{}, n.stale...), n.notes...), "; ")
	return &dispatch.Result{Outcomes: []dispatch.Outcome{{Entity: n.entity, Result: result, Data: data}}}
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// notInZuora makes a Zuora "not found" a permanent failure with a reason a person can act on: retrying cannot
// make the object appear, and the callout is not trusted for anything else.
func notInZuora(err error, what, key, eventType string) error {
	if zuoraapi.IsNotFound(err) {
		return dispatch.Permanent(fmt.Errorf("no %s %s in Zuora, which the %s notification names: the object was "+
			"deleted since, or the callout came from another Zuora tenant than the one zuora-sync reads "+
			"(check the callout template's bridge URL and credentials per tenant); nothing was changed, and "+
			"redriving this dead letter will fail the same way: %w", what, key, eventType, err))
	}
	return describe(err, "read Zuora "+what+" "+key)
}

// ---- invoices: GET /v1/object/invoice/{id} (or /v1/invoices/{number}) + GET /v1/invoices/{key}/items ----

func (h *zuoraEvents) invoice(ctx context.Context, in *dispatch.Input, p *events.ZuoraInvoice) (*dispatch.Result, error) {
	var inv *zuoraapi.InvoiceObject
	if p.InvoiceID != "" {
		obj, err := h.deps.Zuora.GetInvoiceObject(ctx, p.InvoiceID)
		if err != nil {
			return nil, notInZuora(err, "invoice", p.InvoiceID, in.Event.Type())
		}
		inv = obj
	} else {
		// CRUD reads take ids only; the V1 read takes the number and has the same fields.
		v1, err := h.deps.Zuora.GetInvoice(ctx, p.InvoiceNumber)
		if err != nil {
			return nil, notInZuora(err, "invoice", p.InvoiceNumber, in.Event.Type())
		}
		inv = &zuoraapi.InvoiceObject{ID: v1.ID, AccountID: v1.AccountID, InvoiceNumber: v1.InvoiceNumber,
			Currency: v1.Currency, Status: v1.Status, Amount: v1.Amount, Balance: v1.Balance, PaymentAmount: v1.PaymentAmount}
	}
	items, err := h.deps.Zuora.ListInvoiceItems(ctx, inv.ID)
	if err != nil {
		return nil, notInZuora(err, "invoice", inv.ID, in.Event.Type())
	}
	n := newNotice(events.EntityInvoice, events.Action(in.Event.Type()))
	n.set(events.ZuoraInvoiceID, inv.ID)
	n.set(events.ZuoraInvoiceNumber, inv.InvoiceNumber)
	n.set(events.ZuoraAccountID, inv.AccountID)
	n.set(keyStatus, inv.Status)
	n.set(keyAmount, inv.Amount.String())
	n.set(keyBalance, inv.Balance.String())
	n.set(keyCurrency, inv.Currency)
	if err := h.customer(ctx, n, inv.AccountID, "", false); err != nil {
		return nil, err
	}
	if err := h.invoiceSubscriptions(ctx, n, items); err != nil {
		return nil, err
	}
	switch in.Event.Type() {
	case events.TypeZuoraInvoicePaid:
		if inv.Status != zuoraapi.InvoiceStatusPosted || !inv.Balance.IsZero() {
			n.stale = append(n.stale, fmt.Sprintf("the notification says invoice %s is paid, but Zuora has it %s "+
				"with a balance of %s %s: the callout was stale or out of order", inv.InvoiceNumber, inv.Status,
				inv.Balance, inv.Currency))
		}
	case events.TypeZuoraInvoicePosted:
		if inv.Status != zuoraapi.InvoiceStatusPosted {
			n.stale = append(n.stale, fmt.Sprintf("the notification says invoice %s was posted, but Zuora has it %s",
				inv.InvoiceNumber, inv.Status))
		}
	}
	in.Logger.Info("Zuora invoice notification", "invoice", inv.InvoiceNumber, "status", inv.Status,
		"balance", inv.Balance.String(), "stale", len(n.stale) > 0)
	return n.outcome(), nil
}

// invoiceSubscriptions names the subscriptions the invoice's items bill, with their Stigg ids.
func (h *zuoraEvents) invoiceSubscriptions(ctx context.Context, n *notice, items []zuoraapi.InvoiceItem) error {
	var numbers []string
	ids := map[string]string{}
	for _, it := range items {
		if it.SubscriptionName == "" {
			continue
		}
		if _, seen := ids[it.SubscriptionName]; !seen {
			numbers = append(numbers, it.SubscriptionName)
		}
		if ids[it.SubscriptionName] == "" {
			ids[it.SubscriptionName] = it.SubscriptionID
		}
	}
	return h.subscriptionsOf(ctx, n, numbers, ids)
}

// subscriptionsOf records Zuora subscriptions (by number, with their ids where known) and their Stigg ids: every
// one as stiggSubscriptionId.<number>, and when there is exactly one also subscriptionNumber, subscriptionId and
// stiggSubscriptionId.
func (h *zuoraEvents) subscriptionsOf(ctx context.Context, n *notice, numbers []string, zuoraIDs map[string]string) error {
	for _, number := range numbers {
		stiggID, err := h.stiggSubscription(ctx, zuoraIDs[number], number)
		if err != nil {
			return err
		}
		if stiggID == "" {
			n.notes = append(n.notes, fmt.Sprintf("Zuora subscription %s has no Stigg subscription (zuora-sync did "+
				"not create it)", number))
			continue
		}
		n.set(keyStiggSubscriptionOf(number), stiggID)
		if len(numbers) == 1 {
			n.set(keyStiggSubscriptionID, stiggID)
		}
	}
	if len(numbers) == 1 {
		n.set(events.ZuoraSubscriptionNumber, numbers[0])
		n.set(events.ZuoraSubscriptionID, zuoraIDs[numbers[0]])
	}
	return nil
}

// ---- payments: GET /v1/payments/{key} ----

func (h *zuoraEvents) payment(ctx context.Context, in *dispatch.Input, p *events.ZuoraPayment) (*dispatch.Result, error) {
	key := p.PaymentID
	if key == "" {
		key = p.PaymentNumber
	}
	pay, err := h.deps.Zuora.GetPayment(ctx, key)
	if err != nil {
		return nil, notInZuora(err, "payment", key, in.Event.Type())
	}
	n := newNotice(events.EntityPayment, resultDeclined)
	n.set(events.ZuoraPaymentID, pay.ID)
	n.set(events.ZuoraPaymentNumber, pay.Number)
	n.set(events.ZuoraAccountID, pay.AccountID)
	n.set(events.ZuoraAccountNumber, pay.AccountNumber)
	n.set(keyStatus, pay.Status)
	n.set(keyAmount, pay.Amount.String())
	n.set(keyCurrency, pay.Currency)
	n.set(keyGatewayResponse, pay.GatewayResponse)
	n.set(keyGatewayResponseCode, pay.GatewayResponseCode)
	if err := h.customer(ctx, n, pay.AccountID, "", false); err != nil {
		return nil, err
	}
	if pay.Status != paymentStatusError {
		n.stale = append(n.stale, fmt.Sprintf("the notification says payment %s failed, but Zuora has it %s",
			pay.Number, pay.Status))
	}
	in.Logger.Info("Zuora payment notification", "payment", pay.Number, "status", pay.Status, "stale", len(n.stale) > 0)
	return n.outcome(), nil
}

// ---- subscriptions: GET /v1/subscriptions/{key} ----

func (h *zuoraEvents) subscription(ctx context.Context, in *dispatch.Input, p *events.ZuoraSubscription) (*dispatch.Result, error) {
	key := p.SubscriptionNumber
	if key == "" {
		key = p.SubscriptionID
	}
	sub, err := h.deps.Zuora.GetSubscriptionV1(ctx, key)
	if err != nil {
		return nil, notInZuora(err, "subscription", key, in.Event.Type())
	}
	n := newNotice(events.EntitySubscription, events.Action(in.Event.Type()))
	n.set(events.ZuoraSubscriptionID, sub.ID)
	n.set(events.ZuoraSubscriptionNumber, sub.SubscriptionNumber)
	n.set(events.ZuoraAccountID, sub.AccountID)
	n.set(events.ZuoraAccountNumber, sub.AccountNumber)
	n.set(keyStatus, sub.Status)
	n.set(keyVersion, fmt.Sprint(sub.Version))
	n.set(keyEndDate, sub.SubscriptionEndDate)
	n.set(keyStiggResourceID, customField(sub.CustomFields, FieldStiggResourceID))
	stiggID, err := h.stiggSubscription(ctx, sub.ID, sub.SubscriptionNumber)
	if err != nil {
		return nil, err
	}
	n.stigg = stiggID
	n.set(keyStiggSubscriptionID, stiggID)
	if stiggID == "" {
		n.notes = append(n.notes, fmt.Sprintf("Zuora subscription %s has no Stigg subscription (zuora-sync did not "+
			"create it)", sub.SubscriptionNumber))
	}
	// The subscription carries its customer's id too, so the account need not be read for it.
	if err := h.customer(ctx, n, sub.AccountID, customField(sub.CustomFields, FieldStiggCustomerID), false); err != nil {
		return nil, err
	}
	if in.Event.Type() == events.TypeZuoraSubscriptionCanceled && sub.Status != zuoraapi.SubscriptionStatusCancelled {
		n.stale = append(n.stale, fmt.Sprintf("the notification says subscription %s was cancelled, but Zuora has it %s",
			sub.SubscriptionNumber, sub.Status))
	}
	in.Logger.Info("Zuora subscription notification", "subscription", sub.SubscriptionNumber, "status", sub.Status,
		"version", sub.Version, "stale", len(n.stale) > 0)
	return n.outcome(), nil
}

// ---- scheduled orders: GET /v1/orders/{orderNumber} + GET /v2/accounts/{number} ----

func (h *zuoraEvents) order(ctx context.Context, in *dispatch.Input, p *events.ZuoraOrder) (*dispatch.Result, error) {
	o, err := h.deps.Zuora.GetOrder(ctx, p.OrderNumber)
	if err != nil {
		return nil, notInZuora(err, "order", p.OrderNumber, in.Event.Type())
	}
	n := newNotice(events.EntityOrder, events.Action(in.Event.Type()))
	n.set(events.ZuoraOrderNumber, o.OrderNumber)
	n.set(events.ZuoraAccountNumber, o.ExistingAccountNumber)
	n.set(keyStatus, o.Status)
	var numbers []string
	for _, s := range o.Subscriptions {
		if s.SubscriptionNumber != "" && !slices.Contains(numbers, s.SubscriptionNumber) {
			numbers = append(numbers, s.SubscriptionNumber)
		}
	}
	if err := h.subscriptionsOf(ctx, n, numbers, nil); err != nil {
		return nil, err
	}
	if o.ExistingAccountNumber != "" {
		// The order names its account by number; the id map's reverse entries are by id.
		acct, err := h.deps.Zuora.GetAccount(ctx, o.ExistingAccountNumber)
		if err != nil {
			return nil, notInZuora(err, "account", o.ExistingAccountNumber, in.Event.Type())
		}
		n.set(events.ZuoraAccountID, acct.ID)
		if err := h.customer(ctx, n, acct.ID, customField(acct.CustomFields, FieldStiggCustomerID), true); err != nil {
			return nil, err
		}
	}
	if o.Status != zuoraapi.OrderStatusCompleted {
		n.stale = append(n.stale, fmt.Sprintf("the notification says scheduled order %s completed, but Zuora has it %s",
			o.OrderNumber, o.Status))
	}
	in.Logger.Info("Zuora order notification", "order", o.OrderNumber, "status", o.Status, "stale", len(n.stale) > 0)
	return n.outcome(), nil
}

// ---- accounts: GET /v1/accounts/{key} ----

func (h *zuoraEvents) account(ctx context.Context, in *dispatch.Input, id, number string) (*dispatch.Result, error) {
	key := id
	if key == "" {
		key = number
	}
	acct, err := h.deps.Zuora.GetAccountV1(ctx, key)
	if err != nil {
		return nil, notInZuora(err, "account", key, in.Event.Type())
	}
	b := acct.BasicInfo
	n := newNotice(events.EntityAccount, events.Action(in.Event.Type()))
	n.set(events.ZuoraAccountID, b.ID)
	n.set(events.ZuoraAccountNumber, b.AccountNumber)
	n.set(keyStatus, b.Status)
	n.set(keyCurrency, acct.BillingAndPayment.Currency)
	n.set(events.ZuoraPaymentMethodID, acct.BillingAndPayment.DefaultPaymentMethodID)
	if err := h.customer(ctx, n, b.ID, customField(b.CustomFields, FieldStiggCustomerID), true); err != nil {
		return nil, err
	}
	switch in.Event.Type() {
	case events.TypeZuoraAccountCanceled:
		if b.Status != accountStatusCanceled {
			n.stale = append(n.stale, fmt.Sprintf("the notification says account %s was cancelled, but Zuora has it %s",
				b.AccountNumber, b.Status))
		}
	case events.TypeZuoraAccountPaymentMethodChanged:
		if acct.BillingAndPayment.DefaultPaymentMethodID == "" {
			n.notes = append(n.notes, fmt.Sprintf("account %s has no default payment method now", b.AccountNumber))
		}
	}
	in.Logger.Info("Zuora account notification", "account", b.AccountNumber, "status", b.Status, "stale", len(n.stale) > 0)
	return n.outcome(), nil
}

// ---- Stigg ids ----

// customer sets the Stigg customer of a Zuora account: the id map's reverse entry, else fromZuora (a
// stiggCustomerId__c the caller already read), else — unless accountRead says fromZuora was the account's own —
// the account's custom field (one v2 account read). It becomes the outcome's stiggId unless the entity has its
// own (a subscription).
func (h *zuoraEvents) customer(ctx context.Context, n *notice, accountID, fromZuora string, accountRead bool) error {
	stiggID := ""
	if accountID != "" {
		id, err := h.deps.IDs.StiggIDOf(ctx, KindCustomer, accountID)
		switch {
		case err == nil:
			stiggID = id
		case !errors.Is(err, idmap.ErrNotFound):
			return err
		}
	}
	if stiggID == "" {
		stiggID = fromZuora
	}
	if stiggID == "" && accountID != "" && !accountRead {
		acct, err := h.deps.Zuora.GetAccount(ctx, accountID)
		switch {
		case zuoraapi.IsNotFound(err):
			// The object named an account Zuora no longer has: report it, the object itself was found.
		case err != nil:
			return describe(err, "read Zuora account "+accountID)
		default:
			stiggID = customField(acct.CustomFields, FieldStiggCustomerID)
		}
	}
	if stiggID == "" {
		n.notes = append(n.notes, fmt.Sprintf("Zuora account %s is not linked to a Stigg customer (no id-map entry, "+
			"no %s)", accountID, FieldStiggCustomerID))
		return nil
	}
	n.set(keyStiggCustomerID, stiggID)
	if n.entity != events.EntitySubscription {
		n.stigg = stiggID
	}
	return nil
}

// stiggSubscription finds the Stigg subscription of a Zuora subscription: the id map's reverse entry (by the id of
// the version zuora-sync last wrote, or by the number it recorded before Zuora's id was known), else the number
// zuora-sync gives the subscriptions it creates (stigg-<subscriptionId>). "" when neither knows it.
func (h *zuoraEvents) stiggSubscription(ctx context.Context, zuoraID, number string) (string, error) {
	for _, key := range []string{zuoraID, number} {
		if key == "" {
			continue
		}
		id, err := h.deps.IDs.StiggIDOf(ctx, KindSubscription, key)
		switch {
		case err == nil:
			return id, nil
		case !errors.Is(err, idmap.ErrNotFound):
			return "", err
		}
	}
	if id, ok := strings.CutPrefix(number, "stigg-"); ok && id != "" && subscriptionNumberFor(id) == number {
		return id, nil
	}
	return "", nil
}

// customField reads a custom field as text ("" when absent or empty), fit for an outcome.
func customField(fields map[string]any, name string) string {
	v, ok := fields[name]
	if !ok || v == nil {
		return ""
	}
	return outcomeText(fmt.Sprint(v))
}

var _ dispatch.Handler = (*zuoraEvents)(nil)
