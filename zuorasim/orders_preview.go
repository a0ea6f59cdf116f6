package zuorasim

import (
	"fmt"
	"net/http"
	"slices"
)

// POST /v1/orders/preview: the order run on copies and rated (billing.go), nothing stored.

func (s *Sim) previewOrder(r *http.Request, st *store) (reply, *apiError) {
	s.runDueOrdersLocked(st)
	var in orderIn
	if e := decodeV1Body(r, &in); e != nil {
		return reply{}, e
	}
	resp, e := s.orderPreview(st, &in)
	if e != nil {
		return reply{}, e
	}
	return replyOK(resp), nil
}

// orderPreview runs the order on copies (nothing is stored) and rates the subscriptions it touches: new ones
// from their start, existing ones from their next unbilled period. Invoices are one per bill date. Caller
// holds st.mu.
func (s *Sim) orderPreview(st *store, in *orderIn) (map[string]any, *apiError) {
	opts := in.PreviewOptions
	if opts == nil {
		return nil, errMissing("previewOptions")
	}
	a, e := st.validateOrderHead(in, s.today(), true)
	if e != nil {
		return nil, e
	}
	types := opts.PreviewTypes
	if len(types) == 0 {
		types = []string{"BillingDocs"} // [inferred] default
	}
	for i, t := range types {
		if e := oneOf(fmt.Sprintf("previewOptions.previewTypes[%d]", i), t,
			[]string{"ChargeMetrics", "BillingDocs", "OrderDeltaMetrics", "OrderMetrics", "RampMetrics", "RampDeltaMetrics"}); e != nil {
			return nil, e
		}
	}
	sg := st.newStage(in, a, s.today(), s.timestamp())
	if e := sg.run(); e != nil {
		return nil, e
	}
	var vs []*subVersion
	for _, n := range sg.touched {
		vs = append(vs, sg.working[n])
	}
	var items []billItem
	switch opts.PreviewThruType {
	case "", "NumberOfPeriods":
		n := 1
		if opts.PreviewNumberOfPeriods != nil {
			n = *opts.PreviewNumberOfPeriods
			if n < 1 {
				return nil, errInvalid("previewOptions.previewNumberOfPeriods", "'previewNumberOfPeriods' must be a positive integer")
			}
		}
		items = billSubscriptions(vs, billLimit{periods: n})
	case "SpecificDate":
		if opts.SpecificPreviewThruDate == "" {
			return nil, errMissing("previewOptions.specificPreviewThruDate")
		}
		if !validDate(opts.SpecificPreviewThruDate) {
			return nil, errInvalid("previewOptions.specificPreviewThruDate", "'specificPreviewThruDate' must be a date in the format YYYY-MM-DD")
		}
		items = billSubscriptions(vs, billLimit{through: opts.SpecificPreviewThruDate})
	case "TermEnd":
		for _, v := range vs {
			if v.TermType != termTermed {
				return nil, errRule("previewOptions.previewThruType", "TermEnd is not valid: subscription %s is evergreen", v.Number)
			}
			end := v.TermEndDate
			if v.SubscriptionEndDate != "" && v.SubscriptionEndDate < end {
				end = v.SubscriptionEndDate
			}
			items = append(items, billSubscriptions([]*subVersion{v}, billLimit{through: inclusiveEnd(end)})...)
		}
	default:
		return nil, errInvalid("previewOptions.previewThruType", "'previewThruType' must be one of SpecificDate, TermEnd, NumberOfPeriods")
	}
	result := map[string]any{}
	if slices.Contains(types, "BillingDocs") {
		invoices := []any{}
		for _, doc := range groupByBillDate(items) {
			total := 0.0
			its := []any{}
			for _, b := range doc.items {
				total = roundMoney(total + b.amount)
				it := map[string]any{"serviceStartDate": b.start, "serviceEndDate": inclusiveEnd(b.end),
					"amountWithoutTax": b.amount, "taxAmount": 0, "chargeName": b.charge.Name,
					"chargeNumber": b.charge.Number, "chargeDescription": b.charge.Description,
					"productName": b.ratePlan.ProductName, "ratePlanName": b.ratePlan.Name,
					"productRatePlanChargeId": b.charge.ProductRatePlanChargeID,
					"subscriptionNumber":      b.sub.Number, "processingType": "Charge"}
				if b.unitPrice != nil {
					it["unitPrice"] = *b.unitPrice
				}
				info := map[string]any{}
				if b.quantity != nil {
					info["quantity"] = *b.quantity
				}
				if b.charge.UOM != "" {
					info["unitOfMeasure"] = b.charge.UOM
				}
				if len(info) > 0 {
					it["additionalInfo"] = info
				}
				its = append(its, it)
			}
			invoices = append(invoices, map[string]any{"amount": total, "amountWithoutTax": total, "taxAmount": 0,
				"targetDate": doc.date, "invoiceItems": its})
		}
		result["invoices"] = invoices
	}
	if slices.Contains(types, "ChargeMetrics") {
		result["chargeMetrics"] = st.chargeMetrics(sg, vs)
	}
	return map[string]any{"success": true, "previewResult": result}, nil
}

// chargeMetrics is previewResult.chargeMetrics: per charge the contracted MRR and TCV after the order, and
// their change from the version before it (tax is always 0).
func (st *store) chargeMetrics(sg *stage, vs []*subVersion) []any {
	out := []any{}
	for _, v := range vs {
		before := map[string]*subCharge{}
		var baseV *subVersion
		if sub := st.ord.subscription(v.Number); sub != nil {
			baseV = sub.latest()
			for _, rp := range baseV.RatePlans {
				for _, c := range rp.Charges {
					before[c.ID] = c
				}
			}
		}
		charges := []any{}
		for _, rp := range v.RatePlans {
			for _, c := range rp.Charges {
				mrr, tcv := 0.0, c.tcv(v)
				if c.Type == typeRecurring && (c.EffectiveEndDate == "" || c.EffectiveEndDate > sg.date) {
					mrr = c.mrr()
				}
				mrrDelta, tcvDelta := mrr, tcv
				if b := before[c.ID]; b != nil {
					bm := 0.0
					if b.Type == typeRecurring && (b.EffectiveEndDate == "" || b.EffectiveEndDate > sg.date) {
						bm = b.mrr()
					}
					mrrDelta, tcvDelta = roundMoney(mrr-bm), roundMoney(tcv-b.tcv(baseV))
				}
				charges = append(charges, map[string]any{"chargeNumber": c.Number,
					"productRatePlanChargeId": c.ProductRatePlanChargeID, "productRatePlanId": rp.ProductRatePlanID,
					"originRatePlanId": rp.ID, "subscriptionRatePlanNumber": rp.Number,
					"cmrr": map[string]any{"regular": mrr, "regularDelta": mrrDelta, "discount": 0, "discountDelta": 0},
					"tcv":  map[string]any{"regular": tcv, "regularDelta": tcvDelta, "discount": 0, "discountDelta": 0},
					"tax":  map[string]any{"regular": 0, "regularDelta": 0, "discount": 0, "discountDelta": 0}})
			}
		}
		out = append(out, map[string]any{"subscriptionNumber": v.Number, "charges": charges})
	}
	return out
}
