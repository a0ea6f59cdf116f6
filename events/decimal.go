package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Decimal is an exact decimal number for money, prices and quantities.
//
// Why not float64: Stigg amounts and Zuora charge prices are decimal (0.1 + 0.2 must equal 0.3,
// unit prices such as 0.0001 must survive), usage DELTAs are summed, and handlers compare the
// desired price with Zuora's to decide whether to write anything, so values must compare exactly.
// Why not json.Number: it keeps the sender's spelling ("10.50" vs "10.5" vs "1.05e1"), which
// makes equal amounts compare unequal; Decimal keeps one canonical plain spelling.
//
// It decodes from a JSON number or a JSON string holding one (Zuora callouts send strings).
// Decoding never fails: a value that is not a decimal is kept as given and reported by Err,
// so Validate can name the field with its full JSON path. It encodes as a JSON number.
// The zero value is 0.
type Decimal struct {
	text string // canonical form when valid; the raw JSON text otherwise
	bad  string // why text is not a decimal; empty when valid
}

// maxDecimalExp bounds the exponent accepted, so "1e999999999" cannot allocate a huge string.
const maxDecimalExp = 64

// ParseDecimal parses a decimal in JSON number syntax (exponent allowed) into canonical form.
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
	r, ok := new(big.Rat).SetString(d.String())
	if !ok {
		return nil
	}
	return r
}

// Sign returns -1, 0 or +1; 0 for invalid values.
func (d Decimal) Sign() int {
	if d.bad != "" {
		return 0
	}
	s := d.String()
	switch {
	case strings.HasPrefix(s, "-"):
		return -1
	case s == "0":
		return 0
	default:
		return 1
	}
}

// Cmp compares exactly; invalid values compare as 0.
func (d Decimal) Cmp(o Decimal) int {
	a, b := d.Rat(), o.Rat()
	if a == nil {
		a = new(big.Rat)
	}
	if b == nil {
		b = new(big.Rat)
	}
	return a.Cmp(b)
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

// canonicalDecimal accepts -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? and returns the
// plain form without exponent, leading zeros or trailing fractional zeros.
func canonicalDecimal(s string) (string, error) {
	if s == "" {
		return "", errors.New("not a decimal number: empty")
	}
	i := 0
	neg := false
	if s[0] == '-' {
		neg = true
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart := s[start:i]
	if intPart == "" || (len(intPart) > 1 && intPart[0] == '0') {
		return "", fmt.Errorf("not a decimal number: %q", s)
	}
	frac := ""
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		frac = s[fs:i]
		if frac == "" {
			return "", fmt.Errorf("not a decimal number: %q", s)
		}
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		es := i
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		ds := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if ds == i {
			return "", fmt.Errorf("not a decimal number: %q", s)
		}
		// Bound the digit count before converting, so huge exponents are rejected cheaply.
		if i-ds > 4 {
			return "", fmt.Errorf("decimal exponent out of range: %q", s)
		}
		e, _ := strconv.Atoi(s[es:i])
		if e > maxDecimalExp || e < -maxDecimalExp {
			return "", fmt.Errorf("decimal exponent out of range: %q", s)
		}
		exp = e
	}
	if i != len(s) {
		return "", fmt.Errorf("not a decimal number: %q", s)
	}
	digits := intPart + frac
	point := len(intPart) + exp // position of the decimal point within digits
	var whole, fraction string
	switch {
	case point <= 0:
		whole, fraction = "0", strings.Repeat("0", -point)+digits
	case point >= len(digits):
		whole, fraction = digits+strings.Repeat("0", point-len(digits)), ""
	default:
		whole, fraction = digits[:point], digits[point:]
	}
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	fraction = strings.TrimRight(fraction, "0")
	out := whole
	if fraction != "" {
		out += "." + fraction
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return out, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
