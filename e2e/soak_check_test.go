package e2e

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zuora-sync/zuora-sync/consumer"
	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/handlers"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
	"github.com/zuora-sync/zuora-sync/zuorasim"
)

// soakFates is what became of every published event: the outcome the consumer reported or the dead letter.
type soakFates struct {
	outcomes    map[string][]soakOutcome // by source event id (a copy handled again may report twice)
	deadLetters map[string]consumer.DeadLetter
	// paidOutcomes counts io.zuorasync.invoice.paid outcomes by invoice number.
	paidOutcomes map[string]int
}

type soakOutcome struct {
	typ string
	events.Outcome
}

func (h *harness) soakFates() soakFates {
	h.t.Helper()
	f := soakFates{outcomes: map[string][]soakOutcome{}, deadLetters: map[string]consumer.DeadLetter{}, paidOutcomes: map[string]int{}}
	for _, ev := range h.outcomes() {
		var o events.Outcome
		if err := json.Unmarshal(ev.Data(), &o); err != nil {
			h.t.Fatalf("outcome %s: %v", ev.ID(), err)
		}
		f.outcomes[o.SourceEventID] = append(f.outcomes[o.SourceEventID], soakOutcome{ev.Type(), o})
		if ev.Type() == events.TypeOutInvoicePaid {
			f.paidOutcomes[o.Zuora[events.ZuoraInvoiceNumber]]++
		}
	}
	for _, dl := range h.dlq() {
		f.deadLetters[dl.EventID] = dl
	}
	return f
}

// soakFindings collects every way Zuora's state or the event fates differ from the workload.
type soakFindings struct{ problems []string }

func (f *soakFindings) add(format string, args ...any) {
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
}

// checkSoakEffects compares the simulator's final state with what the workload (and its payments) demand.
func (h *harness) checkSoakEffects(w *soakWorkload, zc *zuoraapi.Client, pays []soakPayment) *soakFindings {
	h.t.Helper()
	f := &soakFindings{}
	st := h.sim.State()
	accounts := map[string][]zuorasim.Account{}
	for _, a := range st.Accounts {
		if c := a.CustomFields[handlers.FieldStiggCustomerID]; c != "" {
			accounts[c] = append(accounts[c], a)
		}
	}
	methods := map[string][]zuorasim.PaymentMethod{}
	for _, pm := range st.PaymentMethods {
		methods[pm.AccountID] = append(methods[pm.AccountID], pm)
	}
	for _, id := range sortedKeys(w.customers) {
		c := w.customers[id]
		as := accounts[id]
		if len(as) != 1 {
			f.add("customer %s: %d Zuora accounts, want 1", id, len(as))
			continue
		}
		a := as[0]
		if a.Name != c.latest.Name {
			f.add("customer %s: account name %q, want the latest %q", id, a.Name, c.latest.Name)
		}
		if a.BillTo == nil || a.BillTo.WorkEmail != c.latest.Email {
			f.add("customer %s: bill-to email %v, want %q", id, a.BillTo, c.latest.Email)
		}
		if want := soakTermName(*c.latest.InvoiceDaysUntilDue); a.PaymentTerms != want {
			f.add("customer %s: payment terms %q, want %q", id, a.PaymentTerms, want)
		}
		pms := methods[a.ID]
		switch {
		case c.paymentMethod == nil && len(pms) != 0:
			f.add("customer %s: %d payment methods, want none", id, len(pms))
		case c.paymentMethod != nil && len(pms) != 1:
			f.add("customer %s: %d payment methods, want 1", id, len(pms))
		case c.paymentMethod != nil && (pms[0].CcRef == nil || pms[0].CcRef.SecondToken != c.paymentMethod.Stripe.PaymentMethodID ||
			a.DefaultPaymentMethodID != pms[0].ID):
			f.add("customer %s: payment method %+v (default %s), want the card %s as default", id, pms[0].CcRef,
				a.DefaultPaymentMethodID, c.paymentMethod.Stripe.PaymentMethodID)
		}
	}

	subsByNumber := map[string]int{}
	for _, s := range st.Subscriptions {
		if s.IsLatestVersion {
			subsByNumber[s.SubscriptionNumber]++
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctx = zuoraapi.WithEventID(ctx, "soak-check")
	for _, id := range sortedKeys(w.subs) {
		s := w.subs[id]
		number := "stigg-" + id
		if n := subsByNumber[number]; n != 1 {
			f.add("subscription %s: %d Zuora subscriptions, want 1", id, n)
			continue
		}
		z, err := zc.GetSubscriptionV1(ctx, number)
		if err != nil {
			f.add("subscription %s: read: %v", id, err)
			continue
		}
		pending, err := zc.ListSubscriptionOrders(ctx, number, zuoraapi.OrderStatusScheduled)
		if err != nil {
			f.add("subscription %s: list orders: %v", id, err)
			continue
		}
		if s.cancelled {
			if z.Status != zuoraapi.SubscriptionStatusCancelled || len(pending) != 0 {
				f.add("subscription %s: status %s with %d pending orders, want cancelled and none", id, z.Status, len(pending))
			}
			continue
		}
		q := quantities(z)
		if got := strings.Join(q["Pro (Monthly)"], ","); !strings.Contains(got, strconv.FormatInt(s.seats, 10)) || len(q) != 3 {
			f.add("subscription %s: rate plans %v, want Pro with %d seats and both add-ons", id, q, s.seats)
		}
		if want := map[bool]int{true: 1, false: 0}[s.scheduled]; len(pending) != want {
			f.add("subscription %s: %d pending scheduled orders, want %d; its orders: %s; its key's order calls: %s", id,
				len(pending), want, h.soakOrdersOf(ctx, zc, number), w.soakCallsOf(s.customer, h.sim.Requests(), "/v1/orders"))
		}
		if got, _, _ := h.zuoraUsage(number); got.Cmp(s.usage) != 0 {
			f.add("subscription %s: usage %s in Zuora, want exactly %s", id, got.FloatString(2), s.usage.FloatString(2))
		}
	}

	// One payment per request, each invoice paid in full, each paid invoice one outcome back from Zuora.
	paysByInvoice := map[string][]zuorasim.V1Payment{}
	for _, p := range st.Payments {
		for _, inv := range p.PaidInvoices {
			paysByInvoice[inv.InvoiceNumber] = append(paysByInvoice[inv.InvoiceNumber], p)
		}
	}
	balance := map[string]float64{}
	for _, inv := range st.Invoices {
		balance[inv.InvoiceNumber] = inv.Balance
	}
	fates := h.soakFates()
	for _, p := range pays {
		if n := len(paysByInvoice[p.invoice]); n != 1 {
			f.add("invoice %s: %d payments, want 1", p.invoice, n)
		}
		if balance[p.invoice] != 0 {
			f.add("invoice %s: balance %v after its payment", p.invoice, balance[p.invoice])
		}
		if n := fates.paidOutcomes[p.invoice]; n != 1 {
			f.add("invoice %s: %d %s outcomes from Zuora's callouts, want 1", p.invoice, n, events.TypeOutInvoicePaid)
		}
	}

	// The catalog: the plan's latest version is what Zuora prices.
	if pro := w.catalog["plan-pro"]; pro != nil {
		h.checkSeatPrice(f, pro, fates)
	}
	return f
}

// checkSeatPrice finds the monthly per-seat charge the plan's latest outcome names and compares its USD price.
func (h *harness) checkSeatPrice(f *soakFindings, pro *events.PackagePublished, fates soakFates) {
	want := ""
	for _, p := range pro.Prices {
		if p.FeatureID == "feature-seats" && p.BillingPeriod == events.BillingPeriodMonthly && p.Currency == "USD" {
			want = p.Amount.String()
		}
	}
	var charge string
	for _, outs := range fates.outcomes {
		for _, o := range outs {
			if o.StiggID == pro.PackageID && o.Zuora["charge.MONTHLY.PER_UNIT.feature-seats"] != "" {
				charge = o.Zuora["charge.MONTHLY.PER_UNIT.feature-seats"]
			}
		}
	}
	c, ok := h.sim.Charge(charge)
	if !ok {
		f.add("plan %s: the seat charge %q named by its outcomes is not in Zuora", pro.PackageID, charge)
		return
	}
	for _, tier := range c.Tiers {
		if tier.Currency == "USD" && strconv.FormatFloat(tier.Price, 'f', -1, 64) != want {
			f.add("plan %s: seat price USD %v in Zuora, want version %d's %s", pro.PackageID, tier.Price, pro.Version, want)
		}
	}
}

func soakTermName(days int) string {
	if days == 0 {
		return "Due Upon Receipt"
	}
	return "Net " + strconv.Itoa(days)
}

// soakEventFates checks that every published event is accounted for: handled (an outcome), superseded by a newer
// event of its key (an outcome saying so), or dead-lettered with a reason; and that the dead letters are exactly
// the poison events.
func (w *soakWorkload) checkFates(f *soakFindings, fates soakFates, allowedDead map[string]bool) (superseded int) {
	for id, ref := range w.seq {
		outs, dead := fates.outcomes[id], fates.deadLetters[id]
		failed := slices.ContainsFunc(outs, func(o soakOutcome) bool { return strings.HasSuffix(o.typ, ".failed") })
		switch {
		case len(outs) > 0 && !failed && dead.EventID == "":
			if slices.ContainsFunc(outs, func(o soakOutcome) bool { return o.Action == consumer.ActionSuperseded }) {
				superseded++
			}
		case dead.EventID != "" || failed:
			// A dead-lettered event also reports a failed outcome: either says the event was not applied.
			reason := dead.Reason
			for _, o := range outs {
				reason = cmp.Or(reason, o.Reason)
			}
			if !allowedDead[id] {
				f.add("event %s (%s, key %s, #%d of its key): not applied: %s", id, ref.typ, ref.key, ref.index, reason)
			} else if reason == "" {
				f.add("event %s: dead-lettered without a reason", id)
			}
		default:
			f.add("event %s (%s, key %s, #%d of its key): lost, no outcome and no dead letter", id, ref.typ, ref.key, ref.index)
		}
	}
	return superseded
}

// checkOrder reads Zuora's request log: the writes each event caused (its Zuora-Track-Id is the event id) must
// follow the order of the events within their key. It returns the number of violations, each also a finding.
func (w *soakWorkload) checkOrder(f *soakFindings, log []zuorasim.RequestRecord) (checked, violations int) {
	last := map[string]soakEventRef{}
	for _, r := range log {
		if r.Method == "GET" || r.Status < 200 || r.Status > 299 || r.Replayed {
			continue
		}
		ref, ok := w.seq[r.TrackID]
		if !ok {
			continue
		}
		checked++
		if prev, seen := last[ref.key]; seen && ref.index < prev.index {
			violations++
			f.add("key %s: %s %s by event #%d (%s) after a write of event #%d (%s)", ref.key, r.Method, r.Path,
				ref.index, ref.typ, prev.index, prev.typ)
		}
		last[ref.key] = ref
	}
	return checked, violations
}

// writesSince are the Zuora writes (applied, not answered from the idempotency store) in the log after index from.
func zuoraWrites(log []zuorasim.RequestRecord) []string {
	var out []string
	for _, r := range log {
		if r.Method != "GET" && r.Status >= 200 && r.Status <= 299 && !r.Replayed && !strings.HasPrefix(r.Path, "/oauth") {
			out = append(out, r.Method+" "+r.Path+" (track "+r.TrackID+")")
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// soakOrdersOf lists a subscription's orders with their status, for a finding.
func (h *harness) soakOrdersOf(ctx context.Context, zc *zuoraapi.Client, number string) string {
	orders, err := zc.ListSubscriptionOrders(ctx, number, "")
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, o := range orders {
		out = append(out, o.OrderNumber+" "+o.Status)
	}
	return strings.Join(out, ", ")
}

// soakCallsOf lists the Zuora calls of a key's events under a path prefix, in log order, for a finding.
func (w *soakWorkload) soakCallsOf(key string, log []zuorasim.RequestRecord, prefix string) string {
	var out []string
	for _, r := range log {
		ref, ok := w.seq[strings.SplitN(r.TrackID, "#", 2)[0]]
		if !ok || ref.key != key || !strings.HasPrefix(r.Path, prefix) {
			continue
		}
		out = append(out, fmt.Sprintf("[#%d %s %s %s → %d%s%s]", ref.index, ref.typ[len("io.stigg."):], r.Method, r.Path,
			r.Status, map[bool]string{true: " replayed"}[r.Replayed], map[bool]string{true: " fault " + r.Fault}[r.Fault != ""]))
	}
	return strings.Join(out, " ")
}
