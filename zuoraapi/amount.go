package zuoraapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/zuora-sync/zuora-sync/internal/decimaltext"
)

// Amount is an exact decimal (a price, a tier bound, a quantity) as it travels to and from Zuora.
//
// Both specs type money as a JSON number (V1 `Price` format double, Quickstart `money` values), so Amount
// encodes as a number literal, but it writes the decimal text itself rather than a float64: "0.0001" and
// "19.99" reach Zuora digit for digit, and no rounding ever happens in this package. Reading, it accepts a
// number or a string holding one, because V1 catalog reads send decimals as strings (format decimal) in some
// schemas and as numbers in others.
//
// The text is kept in one canonical spelling ("10.5", not "10.50" or "1.05e1"), so == and Equal compare
// values. The zero value is 0. Parsing and comparing are internal/decimaltext's, in its Lenient syntax.
type Amount struct {
	s string // canonical; "" means 0
}

// ParseAmount parses a decimal in JSON number syntax (an exponent of at most ±64 is allowed; surrounding
// white space, leading zeros, "5." and ".5" are tolerated: decimaltext.Lenient).
func ParseAmount(s string) (Amount, error) {
	c, err := canonicalAmount(s)
	if err != nil {
		return Amount{}, err
	}
	return fromCanonical(c), nil
}

// fromCanonical wraps a canonical spelling, keeping 0 as the zero value.
func fromCanonical(c string) Amount {
	if c == "0" {
		c = ""
	}
	return Amount{s: c}
}

// MustAmount is ParseAmount for literals; it panics on a malformed one.
func MustAmount(s string) Amount {
	a, err := ParseAmount(s)
	if err != nil {
		panic(err)
	}
	return a
}

// AmountPtr returns a pointer to MustAmount(s), for optional fields.
func AmountPtr(s string) *Amount {
	a := MustAmount(s)
	return &a
}

// AmountFromRat converts r to an Amount when r is a finite decimal (its denominator has no prime factors
// other than 2 and 5); ok is false otherwise (e.g. 1/3).
func AmountFromRat(r *big.Rat) (a Amount, ok bool) {
	c, ok := decimaltext.FromRat(r)
	if !ok {
		return Amount{}, false
	}
	return fromCanonical(c), true
}

// String returns the canonical text, e.g. "12.5", "-0.0001", "0".
func (a Amount) String() string {
	if a.s == "" {
		return "0"
	}
	return a.s
}

// IsZero reports whether a is 0.
func (a Amount) IsZero() bool { return a.s == "" }

// Rat returns the exact value.
func (a Amount) Rat() *big.Rat { return decimaltext.Rat(a.s) }

// Cmp compares a and b: -1, 0 or +1.
func (a Amount) Cmp(b Amount) int { return decimaltext.Compare(a.s, b.s) }

// Equal reports whether a and b are the same value.
func (a Amount) Equal(b Amount) bool { return a.s == b.s }

// Add returns a + b.
func (a Amount) Add(b Amount) Amount {
	out, _ := AmountFromRat(new(big.Rat).Add(a.Rat(), b.Rat())) // a sum of finite decimals is finite
	return out
}

// MarshalJSON writes the decimal as a JSON number literal.
func (a Amount) MarshalJSON() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalJSON reads a JSON number or a string holding one. null and "" leave a unchanged, as
// encoding/json does for other types.
func (a *Amount) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	text := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &text); err != nil {
			return err
		}
		if strings.TrimSpace(text) == "" {
			return nil
		}
	}
	v, err := ParseAmount(text)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// canonicalAmount is decimaltext.Canonical in lenient syntax, with this package's error prefix.
func canonicalAmount(in string) (string, error) {
	c, err := decimaltext.Canonical(in, decimaltext.Lenient)
	if err != nil {
		return "", fmt.Errorf("zuoraapi: %w", err)
	}
	return c, nil
}
