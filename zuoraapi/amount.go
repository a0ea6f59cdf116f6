package zuoraapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
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
// values. The zero value is 0. The package keeps its own type rather than importing events.Decimal so that
// zuoraapi stays free of the event model.
type Amount struct {
	s string // canonical; "" means 0
}

// maxAmountExp bounds exponents so a hostile "1e999999999" cannot make us build a huge string.
const maxAmountExp = 64

// ParseAmount parses a decimal in JSON number syntax (an exponent is allowed; "5." and ".5" are tolerated).
func ParseAmount(s string) (Amount, error) {
	c, err := canonicalAmount(s)
	if err != nil {
		return Amount{}, err
	}
	if c == "0" {
		c = ""
	}
	return Amount{s: c}, nil
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
	den := new(big.Int).Set(r.Denom())
	twos, fives := stripFactor(den, 2), stripFactor(den, 5)
	if !den.IsInt64() || den.Int64() != 1 {
		return Amount{}, false
	}
	// 1/(2^i * 5^j) needs max(i, j) fractional digits, so FloatString at that precision is exact.
	a, err := ParseAmount(r.FloatString(max(twos, fives)))
	return a, err == nil
}

// stripFactor divides n by p as often as it can, in place, and returns how often.
func stripFactor(n *big.Int, p int64) int {
	bp, m, c := big.NewInt(p), new(big.Int), 0
	for n.Sign() != 0 && m.Mod(n, bp).Sign() == 0 {
		n.Quo(n, bp)
		c++
	}
	return c
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
func (a Amount) Rat() *big.Rat {
	r, _ := new(big.Rat).SetString(a.String()) // canonical text always parses
	return r
}

// Cmp compares a and b: -1, 0 or +1.
func (a Amount) Cmp(b Amount) int { return a.Rat().Cmp(b.Rat()) }

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

// canonicalAmount turns decimal text into its canonical plain spelling: no exponent, no leading zeros in
// the integer part, no trailing zeros in the fraction, no "-0".
func canonicalAmount(in string) (string, error) {
	s := strings.TrimSpace(in)
	bad := func(why string) (string, error) { return "", fmt.Errorf("zuoraapi: %q is not a decimal: %s", in, why) }
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	exp := 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil {
			return bad("malformed exponent")
		}
		if e > maxAmountExp || e < -maxAmountExp {
			return bad("exponent out of range")
		}
		exp, s = e, s[:i]
	}
	intPart, fracPart, _ := strings.Cut(s, ".")
	if intPart == "" && fracPart == "" {
		return bad("no digits")
	}
	for _, part := range []string{intPart, fracPart} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return bad("unexpected character")
			}
		}
	}
	digits := intPart + fracPart
	point := len(intPart) + exp // position of the decimal point within digits
	lead := len(digits) - len(strings.TrimLeft(digits, "0"))
	digits, point = digits[lead:], point-lead
	digits = strings.TrimRight(digits, "0")
	if digits == "" {
		return "0", nil
	}
	if point > len(digits)+maxAmountExp || point < -maxAmountExp {
		return bad("too many digits")
	}
	var out string
	switch {
	case point <= 0:
		out = "0." + strings.Repeat("0", -point) + digits
	case point >= len(digits):
		out = digits + strings.Repeat("0", point-len(digits))
	default:
		out = digits[:point] + "." + digits[point:]
	}
	if neg {
		out = "-" + out
	}
	return out, nil
}
