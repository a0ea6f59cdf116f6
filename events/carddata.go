package events

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Raw card data never passes through zuora-sync: cards reach Zuora tokenised (Stripe) or through Zuora's hosted
// page. An event whose data carries a card number or security code is refused, and since storing it anywhere
// (a dead letter, a log line) would spread it, the error says the body must be withheld.

// CardDataError is the refusal of an event that carries raw card data. Its message names the JSON path, never
// the value.
type CardDataError struct{ Path string }

func (e *CardDataError) Error() string {
	return "events: data field " + e.Path + " looks like raw card data, which zuora-sync does not accept: send a " +
		"Stripe token or a Zuora payment method id; the event body was not stored"
}

// Permanent: the same event is refused again.
func (e *CardDataError) Permanent() bool { return true }

// Sensitive tells the runtime to store and log nothing of the event's body.
func (e *CardDataError) Sensitive() bool { return true }

// cardDataKeys are member names (lower case, without '_' and '-') that carry a card number or security code.
var cardDataKeys = map[string]bool{"number": true, "cardnumber": true, "pan": true, "primaryaccountnumber": true,
	"cvc": true, "cvv": true, "cvv2": true, "securitycode": true, "cardsecuritycode": true}

// findCardData returns the JSON path of the first member of data that carries card data, or "".
func findCardData(data []byte) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return ""
	}
	return cardDataIn(v, "")
}

func cardDataIn(v any, path string) string {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			norm := strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(k))
			if cardDataKeys[norm] && val != nil && val != "" {
				return at(path, k)
			}
			if p := cardDataIn(val, at(path, k)); p != "" {
				return p
			}
		}
	case []any:
		for i, val := range x {
			if p := cardDataIn(val, idx(path, i)); p != "" {
				return p
			}
		}
	}
	return ""
}
