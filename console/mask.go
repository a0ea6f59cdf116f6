package console

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"

	"github.com/nats-io/nats.go"
)

// What the console never renders: secrets in headers (Authorization and the like), raw card data and secrets in
// bodies. The runtime already withholds the body of an event refused for card data; masking here is the second
// line, for anything else that reached a stream.

const masked = "•••• (masked)"

// secretHeader tells whether a header carries a credential.
func secretHeader(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"authorization", "cookie", "token", "secret", "password", "passwd", "credential",
		"signature", "api-key", "apikey", "x-api-key", "session"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

type headerRow struct{ Name, Value string }

// headerRows lists the headers sorted by name, credentials masked.
func headerRows(h nats.Header) []headerRow {
	var rows []headerRow
	for name, vals := range h {
		for _, v := range vals {
			if secretHeader(name) {
				v = masked
			} else if !runtimeHeader(name) {
				v, _ = maskCardNumbers(v)
			}
			rows = append(rows, headerRow{name, v})
		}
	}
	slices.SortStableFunc(rows, func(a, b headerRow) int { return compareStrings(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return rows
}

// secretKeys are JSON member names (lower case, without '_' and '-') whose values are never shown: card numbers,
// security codes, and credentials.
var secretKeys = map[string]bool{"number": true, "cardnumber": true, "pan": true, "primaryaccountnumber": true,
	"cvc": true, "cvv": true, "cvv2": true, "securitycode": true, "cardsecuritycode": true, "expirationmonth": false,
	"password": true, "secret": true, "clientsecret": true, "apikey": true, "accesstoken": true,
	"refreshtoken": true, "authorization": true, "privatekey": true, "signingkey": true}

// cardNumber finds digit runs that look like a card number (13 to 19 digits, optionally grouped).
var cardNumber = regexp.MustCompile(`\b(?:\d[ -]?){12,18}\d\b`)

// prettyBody renders a message body for display: JSON indented with secret members masked; anything else as
// text with card-like digit runs masked. The second result says something was masked.
func prettyBody(data []byte) (string, bool) {
	if len(data) == 0 {
		return "", false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err == nil && !dec.More() {
		hit := maskJSON(&v)
		b, err := json.MarshalIndent(v, "", "  ")
		if err == nil {
			s, hit2 := maskCardNumbers(string(b))
			return s, hit || hit2
		}
	}
	s := strings.ToValidUTF8(string(data), "�")
	if len(s) > 64<<10 {
		s = s[:64<<10] + "\n… (cut at 64 KiB)"
	}
	return maskCardNumbers(s)
}

// maskCardNumbers masks digit runs that pass the Luhn check card numbers carry.
func maskCardNumbers(s string) (string, bool) {
	hit := false
	out := cardNumber.ReplaceAllStringFunc(s, func(m string) string {
		if !luhn(m) {
			return m
		}
		hit = true
		return masked
	})
	return out, hit
}

func luhn(s string) bool {
	sum, n := 0, 0
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if c < '0' || c > '9' {
			continue
		}
		d := int(c - '0')
		if n%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		n++
	}
	return n >= 13 && sum%10 == 0
}

// runtimeHeader: headers zuora-sync and NATS write (sequences, origins with nanosecond times), not event data.
func runtimeHeader(name string) bool {
	n := strings.ToLower(name)
	return strings.HasPrefix(n, "zuorasync-") || strings.HasPrefix(n, "nats-")
}

// maskJSON replaces the values of secret members in place.
func maskJSON(v *any) bool {
	hit := false
	switch x := (*v).(type) {
	case map[string]any:
		for k, val := range x {
			norm := strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(k))
			if secretKeys[norm] && val != nil && val != "" {
				x[k] = masked
				hit = true
				continue
			}
			if maskJSON(&val) {
				x[k] = val
				hit = true
			}
		}
	case []any:
		for i := range x {
			if maskJSON(&x[i]) {
				hit = true
			}
		}
	}
	return hit
}

// withheld tells whether the runtime withheld the body of the entry (card data): then it is not shown at all.
func withheld(data []byte) bool {
	var w struct {
		Withheld string `json:"withheld"`
	}
	return json.Unmarshal(data, &w) == nil && w.Withheld != ""
}
