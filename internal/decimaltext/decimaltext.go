// Package decimaltext turns exact decimal text into one canonical spelling and compares such spellings.
//
// Money, prices and quantities travel as decimal text (JSON numbers, or strings holding one) and must compare
// exactly: "10.50", "10.5" and "1.05e1" are one value. Canonical writes every value one way — plain, without
// exponent, leading zeros in the integer part, trailing zeros in the fraction or a minus on zero ("10.5",
// "-0.0001", "0") — so equal values have equal text and == compares values. It never goes through float64
// and never rounds.
//
// events.Decimal (Stigg payloads, strict JSON syntax) and zuoraapi.Amount (Zuora requests and reads, lenient
// syntax) both keep their text in this form; this package depends on neither.
package decimaltext

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// MaxExp bounds the exponent accepted, so a hostile "1e999999999" cannot make us build a huge string.
const MaxExp = 64

// jsonMaxExpDigits bounds the digits of an exponent in JSON syntax, so huge ones are refused before conversion.
const jsonMaxExpDigits = 4

// Syntax is the set of spellings Canonical accepts. Both accept an optional leading "-" (never "+"), digits
// with at most one ".", and an optional exponent ("e" or "E", optional sign, digits) of at most MaxExp either way.
type Syntax int

const (
	// JSON is the JSON number grammar, -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, with an exponent of
	// at most 4 digits; nothing else, not even surrounding white space.
	JSON Syntax = iota
	// Lenient also accepts surrounding white space, leading zeros ("007"), a point with digits on one side
	// only ("5.", ".5") and an exponent with any number of (leading zero) digits. It refuses a value whose
	// plain spelling pads its significant digits with more than MaxExp zeros on either side ("1e64" is
	// accepted, "10e64" and "0.0001e-64" are not).
	Lenient
)

func (s Syntax) String() string {
	switch s {
	case JSON:
		return "JSON"
	case Lenient:
		return "Lenient"
	}
	return "Syntax(" + strconv.Itoa(int(s)) + ")"
}

// Reason says why text is not a decimal.
type Reason int

const (
	ReasonEmpty             Reason = iota + 1 // JSON only: the text is empty
	ReasonNoDigits                            // no digits before the exponent ("", "-", ".", "e5")
	ReasonUnexpectedChar                      // a character that is not part of the syntax
	ReasonLeadingZero                         // JSON only: "01"
	ReasonBarePoint                           // JSON only: a point without digits on both sides ("1.", ".5")
	ReasonMalformedExponent                   // "1e", "1e+", "1e5x" (Lenient)
	ReasonExponentRange                       // an exponent beyond ±MaxExp (or, in JSON, of more than 4 digits)
	ReasonTooManyDigits                       // Lenient only: see Lenient
)

var reasonText = map[Reason]string{
	ReasonEmpty:             "empty",
	ReasonNoDigits:          "no digits",
	ReasonUnexpectedChar:    "unexpected character",
	ReasonLeadingZero:       "leading zero",
	ReasonBarePoint:         "point without digits on both sides",
	ReasonMalformedExponent: "malformed exponent",
	ReasonExponentRange:     "exponent out of range",
	ReasonTooManyDigits:     "too many digits",
}

func (r Reason) String() string {
	if t, ok := reasonText[r]; ok {
		return t
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// Error is the error Canonical returns: the text as given, and why it is not a decimal.
type Error struct {
	Input  string
	Syntax Syntax
	Reason Reason
}

func (e *Error) Error() string { return fmt.Sprintf("%q is not a decimal: %s", e.Input, e.Reason) }

// Canonical returns the canonical spelling of the decimal s (see the package comment), or an *Error when s is
// not a decimal in syntax syn.
func Canonical(s string, syn Syntax) (string, error) {
	fail := func(r Reason) (string, error) { return "", &Error{Input: s, Syntax: syn, Reason: r} }
	t := s
	if syn == Lenient {
		t = strings.TrimSpace(t)
	} else if t == "" {
		return fail(ReasonEmpty)
	}
	neg := strings.HasPrefix(t, "-")
	if neg {
		t = t[1:]
	}
	mantissa, expText, hasExp := t, "", false
	if i := strings.IndexAny(t, "eE"); i >= 0 {
		mantissa, expText, hasExp = t[:i], t[i+1:], true
	}
	// JSON reads left to right, so a bad mantissa is reported before a bad exponent; Lenient has always
	// looked at the exponent first. The order only decides which reason an input with two faults gets.
	exp, expWhy := 0, Reason(0)
	if hasExp {
		exp, expWhy = exponent(expText, syn)
	}
	if syn == Lenient && expWhy != 0 {
		return fail(expWhy)
	}
	intPart, frac, why := splitMantissa(mantissa, syn)
	if why == 0 {
		why = expWhy
	}
	if why != 0 {
		return fail(why)
	}

	// The value is digits × 10^(point − len(digits)), with point the position of the decimal point in digits.
	digits := intPart + frac
	point := len(intPart) + exp
	lead := len(digits) - len(strings.TrimLeft(digits, "0"))
	digits, point = strings.TrimRight(digits[lead:], "0"), point-lead
	if digits == "" {
		return "0", nil
	}
	if syn == Lenient && (point > len(digits)+MaxExp || point < -MaxExp) {
		return fail(ReasonTooManyDigits)
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

// splitMantissa splits the text before the exponent into its integer and fraction digits.
func splitMantissa(m string, syn Syntax) (intPart, frac string, why Reason) {
	i := digitsAt(m, 0)
	intPart = m[:i]
	point := i < len(m) && m[i] == '.'
	if point {
		j := digitsAt(m, i+1)
		frac, i = m[i+1:j], j
	}
	switch {
	case i != len(m):
		return "", "", ReasonUnexpectedChar
	case intPart == "" && frac == "":
		return "", "", ReasonNoDigits
	case syn == Lenient:
		return intPart, frac, 0
	case intPart == "" || point && frac == "":
		return "", "", ReasonBarePoint
	case len(intPart) > 1 && intPart[0] == '0':
		return "", "", ReasonLeadingZero
	}
	return intPart, frac, 0
}

// exponent reads the text after "e"/"E".
func exponent(t string, syn Syntax) (int, Reason) {
	var e int
	if syn == Lenient {
		var err error
		if e, err = strconv.Atoi(t); err != nil {
			return 0, ReasonMalformedExponent
		}
	} else {
		start := 0
		if start < len(t) && (t[0] == '+' || t[0] == '-') {
			start++
		}
		end := digitsAt(t, start)
		switch {
		case end == start:
			return 0, ReasonMalformedExponent
		case end-start > jsonMaxExpDigits:
			return 0, ReasonExponentRange
		}
		e, _ = strconv.Atoi(t[:end]) // at most 4 digits
		if e >= -MaxExp && e <= MaxExp && end != len(t) {
			return 0, ReasonUnexpectedChar
		}
	}
	if e > MaxExp || e < -MaxExp {
		return 0, ReasonExponentRange
	}
	return e, 0
}

// digitsAt returns the end of the run of ASCII digits starting at s[i].
func digitsAt(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// Sign returns -1, 0 or +1 for a canonical spelling.
func Sign(canonical string) int {
	switch {
	case strings.HasPrefix(canonical, "-"):
		return -1
	case canonical == "0" || canonical == "":
		return 0
	}
	return 1
}

// Rat returns the exact value of a canonical spelling ("" is 0); nil if it is not one.
func Rat(canonical string) *big.Rat {
	if canonical == "" {
		return new(big.Rat)
	}
	r, ok := new(big.Rat).SetString(canonical)
	if !ok {
		return nil
	}
	return r
}

// Compare compares two canonical spellings by value: -1, 0 or +1. ("" is 0; so is text that is not canonical.)
func Compare(a, b string) int {
	ra, rb := Rat(a), Rat(b)
	if ra == nil {
		ra = new(big.Rat)
	}
	if rb == nil {
		rb = new(big.Rat)
	}
	return ra.Cmp(rb)
}

// FromRat returns the canonical spelling of r when r is a finite decimal (its denominator has no prime factors
// other than 2 and 5); ok is false otherwise (e.g. 1/3), or when the spelling would break the bounds of Lenient.
func FromRat(r *big.Rat) (canonical string, ok bool) {
	den := new(big.Int).Set(r.Denom())
	twos, fives := stripFactor(den, 2), stripFactor(den, 5)
	if !den.IsInt64() || den.Int64() != 1 {
		return "", false
	}
	// 1/(2^i * 5^j) needs max(i, j) fractional digits, so FloatString at that precision is exact.
	c, err := Canonical(r.FloatString(max(twos, fives)), Lenient)
	return c, err == nil
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
