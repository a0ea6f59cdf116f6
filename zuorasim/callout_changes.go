package zuorasim

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// What a state change fires. The simulator records a Notification where its state changes (notifications.go);
// each one is also described as Zuora's custom event triggers see it, a change of one record of a base object:
//
//	notification                  base object   changeType  fields before the change (_old)
//	invoice.posted                Invoice       UPDATE      Status Draft
//	invoice.paid                  Invoice       UPDATE      Balance (the balance before the payment)
//	subscription.created          Subscription  INSERT      — (version 1)
//	subscription.updated          Subscription  INSERT      — (a new version, Version > 1, Active)
//	subscription.canceled         Subscription  INSERT      — (the new version, Status Cancelled)
//	order.scheduled               Order         INSERT      —
//	order.scheduled_completed     Order         UPDATE      Status Scheduled
//	order.scheduled_failed        Order         UPDATE      Status Scheduled
//	order.cancelled               Order         UPDATE      Status (PreviousStatus, default Scheduled)
//	payment.failed                Payment       INSERT      — (Status Error)
//	account.canceled              Account       UPDATE      Status Active
//	account.payment_method_changed Account      UPDATE      DefaultPaymentMethodId
//
// An UPDATE's _old of a field that did not change is its current value; an INSERT has no _old values (null).
// Every active trigger on the base object whose condition holds fires its event type; every active,
// calloutActive notification definition of that type (namespace user.notification) queues one delivery per
// active callout (its calloutTemplateIds' templates, then its inline callout), rendered now from the record and
// its account: merge fields {{DataSource.<Object>.<Field>}} of the base object or Account (custom fields
// included) become the field's value as a string, anything unknown or unset "". The deliveries are sent by
// callout_delivery.go once the store is unlocked.

// moneyValue is a currency amount: compared as a number, rendered with two decimals.
type moneyValue float64

// objectChange is one changed record as triggers see it.
type objectChange struct {
	object     string // base object: Invoice, Subscription, ...
	changeType string // INSERT | UPDATE
	id         string
	accountID  string
	fields     map[string]any
	old        map[string]any // UPDATE: the fields whose value changed, before the change
}

func (c *objectChange) env(name string) any {
	if name == "changeType" {
		return c.changeType
	}
	obj, field, ok := strings.Cut(name, ".")
	if !ok || obj != c.object {
		return nil
	}
	if f, isOld := strings.CutSuffix(field, "_old"); isOld {
		if _, direct := c.fields[field]; !direct {
			if c.changeType != "UPDATE" {
				return nil
			}
			if v, ok := c.old[f]; ok {
				return v
			}
			return c.fields[f]
		}
	}
	return c.fields[field]
}

func accountFields(a *Account) map[string]any {
	m := map[string]any{"Id": a.ID, "AccountNumber": a.AccountNumber, "Name": a.Name, "Currency": a.Currency,
		"Status": "Active", "DefaultPaymentMethodId": a.DefaultPaymentMethodID, "AutoPay": a.AutoPay,
		"BillCycleDay": a.BillCycleDay, "Balance": moneyValue(a.RemainingInvoiceBalance),
		"PaymentTerm": a.PaymentTerms, "Batch": a.Batch, "CrmId": a.CrmID, "UpdatedDate": a.UpdatedTime}
	if !a.Enabled {
		m["Status"] = "Canceled"
	}
	for k, v := range a.CustomFields {
		m[k] = v
	}
	return m
}

func invoiceFields(inv *invoice) map[string]any {
	return map[string]any{"Id": inv.ID, "InvoiceNumber": inv.Number, "AccountId": inv.AccountID,
		"Amount": moneyValue(inv.Amount), "Balance": moneyValue(inv.Balance), "Status": inv.Status,
		"InvoiceDate": inv.InvoiceDate, "DueDate": inv.DueDate, "PostedDate": inv.PostedDate,
		"TargetDate": inv.TargetDate, "PaymentAmount": moneyValue(inv.PaymentAmount), "Currency": inv.Currency,
		"SourceId": inv.SourceID}
}

func subscriptionFields(v *subVersion) map[string]any {
	m := map[string]any{"Id": v.ID, "Name": v.Number, "Version": v.Version, "Status": v.Status,
		"AccountId": v.AccountID, "TermStartDate": v.TermStartDate, "TermEndDate": v.TermEndDate,
		"SubscriptionStartDate": v.SubscriptionStartDate, "SubscriptionEndDate": v.SubscriptionEndDate,
		"ContractEffectiveDate": v.ContractEffectiveDate, "CancelledDate": v.CancelledDate,
		"TermType": v.TermType, "AutoRenew": v.AutoRenew, "Currency": v.Currency}
	for k, val := range v.CustomFields {
		m[k] = val
	}
	return m
}

func orderFields(o *order) map[string]any {
	m := map[string]any{"Id": o.ID, "OrderNumber": o.Number, "Status": o.Status, "AccountId": o.AccountID,
		"OrderDate": o.OrderDate, "Description": o.Description, "Category": o.Category, "ScheduledDate": ""}
	if o.Scheduling != nil {
		m["ScheduledDate"] = o.Scheduling.ScheduledDate
	}
	for k, v := range o.CustomFields {
		m[k] = fmt.Sprint(v)
	}
	return m
}

func paymentFields(p *payment) map[string]any {
	return map[string]any{"Id": p.ID, "PaymentNumber": p.Number, "AccountId": p.AccountID,
		"Amount": moneyValue(p.Amount), "Status": p.status(), "Type": p.paymentType(),
		"EffectiveDate": p.EffectiveDate, "PaymentMethodId": p.PaymentMethodID, "Currency": p.Currency,
		"GatewayResponse": p.GatewayResponse, "GatewayResponseCode": p.GatewayResponseCode}
}

// changeOf describes a notification as a record change (nil when no trigger can see it). Caller holds st.mu.
func (st *store) changeOf(event string, params map[string]string) *objectChange {
	switch event {
	case "invoice.posted", "invoice.paid":
		inv := st.invoiceByID(params["InvoiceId"])
		if inv == nil {
			return nil
		}
		c := &objectChange{object: "Invoice", changeType: "UPDATE", id: inv.ID, accountID: inv.AccountID,
			fields: invoiceFields(inv), old: map[string]any{"Status": "Draft"}}
		if event == "invoice.paid" {
			paid, _ := strconv.ParseFloat(params["Amount"], 64)
			c.old = map[string]any{"Balance": moneyValue(roundMoney(inv.Balance + paid))}
		}
		return c
	case "subscription.created", "subscription.updated", "subscription.canceled":
		sub := st.ord.subsByVersionID[params["SubscriptionId"]]
		if sub == nil {
			return nil
		}
		for _, v := range sub.versions {
			if v.ID == params["SubscriptionId"] {
				return &objectChange{object: "Subscription", changeType: "INSERT", id: v.ID, accountID: v.AccountID,
					fields: subscriptionFields(v)}
			}
		}
	case "order.scheduled", "order.scheduled_completed", "order.scheduled_failed", "order.cancelled":
		o := st.ord.order(params["OrderNumber"])
		if o == nil {
			return nil
		}
		c := &objectChange{object: "Order", changeType: "UPDATE", id: o.ID, accountID: o.AccountID,
			fields: orderFields(o), old: map[string]any{"Status": "Scheduled"}}
		switch event {
		case "order.scheduled":
			c.changeType, c.old = "INSERT", nil
		case "order.cancelled":
			if prev := params["PreviousStatus"]; prev != "" {
				c.old["Status"] = prev
			}
		}
		return c
	case "payment.failed":
		for _, p := range st.ord.payments {
			if p.ID == params["PaymentId"] {
				return &objectChange{object: "Payment", changeType: "INSERT", id: p.ID, accountID: p.AccountID,
					fields: paymentFields(p)}
			}
		}
	case "account.canceled":
		a := st.accountsByID[params["AccountId"]]
		if a == nil {
			return nil
		}
		return &objectChange{object: "Account", changeType: "UPDATE", id: a.ID, accountID: a.ID,
			fields: accountFields(a), old: map[string]any{"Status": "Active"}}
	case "account.payment_method_changed":
		a := st.accountsByID[params["AccountId"]]
		if a == nil {
			return nil
		}
		return &objectChange{object: "Account", changeType: "UPDATE", id: a.ID, accountID: a.ID,
			fields: accountFields(a), old: map[string]any{"DefaultPaymentMethodId": params["PreviousDefaultPaymentMethodId"]}}
	}
	return nil
}

// fireCallouts evaluates the triggers on a notification's change and queues the deliveries it causes. Caller
// holds st.mu for writing.
func (st *store) fireCallouts(at time.Time, event string, params map[string]string) {
	if len(st.ntf.triggers) == 0 || len(st.ntf.definitions) == 0 {
		return
	}
	c := st.changeOf(event, params)
	if c == nil {
		return
	}
	var account map[string]any
	if a := st.accountsByID[c.accountID]; a != nil {
		account = accountFields(a)
	}
	queued := false
	for _, t := range st.ntf.triggers {
		if !t.Active || t.BaseObject != c.object || t.cond == nil || !t.cond.holds(c.env) {
			continue
		}
		for _, d := range st.ntf.definitions {
			if !d.Active || !d.CalloutActive || d.EventTypeName != t.EventType.Name || d.EventTypeNamespace != "user.notification" {
				continue
			}
			for _, id := range d.CalloutTemplateIDs {
				if tpl := st.template(id); tpl != nil && tpl.Active {
					st.queueCallout(at, c, account, d, t, tpl.ID, tpl.calloutSpec())
					queued = true
				}
			}
			if cl := d.Callout; cl != nil && cl.Active {
				st.queueCallout(at, c, account, d, t, "", inlineCalloutSpec(cl))
				queued = true
			}
		}
	}
	if queued {
		st.kickCallouts()
	}
}

// calloutSpec is what a delivery is rendered from: a template or a definition's inline callout.
type calloutSpec struct {
	method, url string
	params      map[string]string
	headers     map[string]string
	customBody  string // used when set (useCustomRequestBody)
	auth        *CalloutAuth
	retry       bool
}

func (t *calloutTemplate) calloutSpec() calloutSpec {
	s := calloutSpec{method: t.HTTPMethod, url: t.CalloutBaseurl, params: t.CalloutParams, headers: t.CalloutHeaders,
		retry: t.CalloutRetry}
	if t.UseCustomRequestBody && t.CustomRequestBody != nil {
		s.customBody = *t.CustomRequestBody
	}
	if t.RequiredAuth && t.CalloutAuth != nil {
		a := *t.CalloutAuth
		s.auth = &a
	}
	return s
}

func inlineCalloutSpec(c *NotificationCallout) calloutSpec {
	s := calloutSpec{method: c.HTTPMethod, url: c.CalloutBaseurl, params: c.CalloutParams, retry: c.CalloutRetry}
	if c.RequiredAuth && c.CalloutAuth != nil {
		a := *c.CalloutAuth
		s.auth = &a
	}
	return s
}

var mergeFieldPattern = regexp.MustCompile(`\{\{\s*DataSource\.([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)\s*\}\}`)

// renderMerge replaces the merge fields of s; escape, when set, is applied to each value (URLs).
func renderMerge(s string, c *objectChange, account map[string]any, escape func(string) string) string {
	return mergeFieldPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := mergeFieldPattern.FindStringSubmatch(m)
		var v any
		switch sub[1] {
		case c.object:
			v = c.fields[sub[2]]
		case "Account":
			v = account[sub[2]]
		}
		out := mergeValue(v)
		if escape != nil {
			out = escape(out)
		}
		return out
	})
}

func mergeValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case moneyValue:
		return money(float64(x))
	case int:
		return strconv.Itoa(x)
	case float64:
		return formatNumber(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// queueCallout renders one delivery and adds it to the history as pending.
func (st *store) queueCallout(at time.Time, c *objectChange, account map[string]any, d *notificationDefinition,
	t *eventTrigger, templateID string, spec calloutSpec) {
	params := make(map[string]string, len(spec.params))
	for k, v := range spec.params {
		params[k] = renderMerge(v, c, account, nil)
	}
	headers := make(map[string]string, len(spec.headers))
	for k, v := range spec.headers {
		headers[k] = renderMerge(v, c, account, nil)
	}
	target := renderMerge(spec.url, c, account, url.PathEscape)
	var body []byte
	switch {
	case spec.customBody != "":
		body = []byte(renderMerge(spec.customBody, c, account, jsonEscape))
	case spec.method == "GET":
		if len(params) > 0 { // a GET carries its parameters in the query [inferred]
			q := url.Values{}
			for k, v := range params {
				q.Set(k, v)
			}
			sep := "?"
			if strings.Contains(target, "?") {
				sep = "&"
			}
			target += sep + q.Encode()
		}
	default:
		body, _ = json.Marshal(params)
	}
	rec := &calloutRecord{CalloutHistoryEntry: CalloutHistoryEntry{ID: newID(), NotificationID: newID(), // 32 hex digits, like Zuora-Request-Id without its hyphens
		Notification: d.Name, NotificationDefinitionID: d.ID, CalloutTemplateID: templateID,
		EventCategory: d.EventTypeNamespace + ":" + t.EventType.Name, BaseObject: c.object, ObjectID: c.id,
		ChangeType: c.changeType, RequestMethod: spec.method, RequestURL: target, RequestBody: string(body),
		Parameters: params, Status: CalloutPending, CreateTime: at},
		headers: headers, auth: spec.auth, retry: spec.retry, nextAt: at}
	st.ntf.history = append(st.ntf.history, rec)
	st.ntf.historyByID[rec.ID] = rec
}

// jsonEscape makes a value safe inside a JSON string of a custom request body.
func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
