package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/zuora-sync/zuora-sync/internal/decimaltext"
)

// Decimal is an exact decimal number for money, prices and quantities.
//
// Why not float64: Stigg amounts and Zuora charge prices are decimal (0.1 + 0.2 must equal 0.3,
// unit prices such as 0.0001 must survive), usage DELTAs are summed, and handlers compare the
// desired price with Zuora's to decide whether to write anything, so values must compare exactly.
// Why not json.Number: it keeps the sender's spelling ("10.50" vs "10.5" vs "1.05e1"), which
// makes equal amounts compare unequal; Decimal keeps one canonical plain spelling (internal/decimaltext,
// shared with zuoraapi.Amount).
//
// It decodes from a JSON number or a JSON string holding one (Zuora callouts send strings).
// Decoding never fails: a value that is not a decimal is kept as given and reported by Err,
// so Validate can name the field with its full JSON path. It encodes as a JSON number.
// The zero value is 0.
type Decimal struct {
	text string // canonical form when valid; the raw JSON text otherwise
	bad  string // why text is not a decimal; empty when valid
}

// ParseDecimal parses a decimal in JSON number syntax (exponent allowed, at most ±64) into canonical form.
func ParseDecimal(s string) (Decimal, error) {
	c, err := canonicalDecimal(s)
	if err != nil {
		return Decimal{}, err
	}
	return Decimal{text: c}, nil
}

// MustDecimal is ParseDecimal for constants and tests; it panics on a bad literal.
func MustDecimal(s string) Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// DecimalPtr is a convenience for optional fields: DecimalPtr("9.99").
func DecimalPtr(s string) *Decimal {
	d := MustDecimal(s)
	return &d
}

// String returns the canonical text ("12.5", "-0.0001", "0"), or the raw input when invalid.
func (d Decimal) String() string {
	if d.text == "" && d.bad == "" {
		return "0"
	}
	return d.text
}

// Err reports why the value is not a decimal, or nil.
func (d Decimal) Err() error {
	if d.bad == "" {
		return nil
	}
	return errors.New(d.bad)
}

// Rat returns the exact value; nil when the value is invalid.
func (d Decimal) Rat() *big.Rat {
	if d.bad != "" {
		return nil
	}
	return decimaltext.Rat(d.String())
}

// Sign returns -1, 0 or +1; 0 for invalid values.
func (d Decimal) Sign() int {
	if d.bad != "" {
		return 0
	}
	return decimaltext.Sign(d.String())
}

// Cmp compares exactly; invalid values compare as 0.
func (d Decimal) Cmp(o Decimal) int { return decimaltext.Compare(d.valueText(), o.valueText()) }

// valueText is the canonical text, "0" for an invalid value.
func (d Decimal) valueText() string {
	if d.bad != "" {
		return "0"
	}
	return d.String()
}

// MarshalJSON writes a JSON number; an invalid value is written back as the string it came as,
// so re-encoding never produces invalid JSON.
func (d Decimal) MarshalJSON() ([]byte, error) {
	if d.bad != "" {
		return json.Marshal(d.text)
	}
	return []byte(d.String()), nil
}

// UnmarshalJSON accepts a number or a string; see the type comment.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil // leave as is, like encoding/json does for null
	}
	text := string(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			*d = Decimal{text: text, bad: "not a JSON string"}
			return nil
		}
		text = s
	}
	c, err := canonicalDecimal(text)
	if err != nil {
		*d = Decimal{text: text, bad: err.Error()}
		return nil
	}
	*d = Decimal{text: c}
	return nil
}

// canonicalDecimal is decimaltext.Canonical in JSON syntax, with this package's error texts.
func canonicalDecimal(s string) (string, error) {
	c, err := decimaltext.Canonical(s, decimaltext.JSON)
	if err == nil {
		return c, nil
	}
	var de *decimaltext.Error
	if errors.As(err, &de) {
		switch de.Reason {
		case decimaltext.ReasonEmpty:
			return "", errors.New("not a decimal number: empty")
		case decimaltext.ReasonExponentRange:
			return "", fmt.Errorf("decimal exponent out of range: %q", s)
		}
	}
	return "", fmt.Errorf("not a decimal number: %q", s)
}

// isDigit is used by the subject parser.
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
