package decimaltext

import (
	"errors"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestCanonical(t *testing.T) {
	both := map[string]string{
		"0": "0", "-0": "0", "0.000": "0", "-0.0e5": "0", "10.50": "10.5", "1.05e1": "10.5", "1E3": "1000",
		"12e-4": "0.0012", "-0.0001": "-0.0001", "0.1e+2": "10", "25e-1": "2.5", "1e-7": "0.0000001",
		"-12.000": "-12", "1e64": "1" + strings.Repeat("0", 64), "1e-64": "0." + strings.Repeat("0", 63) + "1",
		"123456789012345678901234567890.123456789": "123456789012345678901234567890.123456789",
	}
	for in, want := range both {
		for _, syn := range []Syntax{JSON, Lenient} {
			if got, err := Canonical(in, syn); err != nil || got != want {
				t.Errorf("Canonical(%q, %v) = %q, %v; want %q", in, syn, got, err, want)
			}
		}
	}
	lenientOnly := map[string]string{"00012.500": "12.5", ".5": "0.5", "5.": "5", " 7 ": "7", "-.5": "-0.5", "1e00005": "100000"}
	for in, want := range lenientOnly {
		if got, err := Canonical(in, Lenient); err != nil || got != want {
			t.Errorf("Canonical(%q, Lenient) = %q, %v; want %q", in, got, err, want)
		}
		if _, err := Canonical(in, JSON); err == nil {
			t.Errorf("Canonical(%q, JSON) accepted", in)
		}
	}
	// JSON bounds the exponent only; Lenient also the zeros its plain spelling needs.
	for _, in := range []string{"10e64", "0.001e-63", "1" + strings.Repeat("0", 70)} {
		if _, err := Canonical(in, JSON); err != nil {
			t.Errorf("Canonical(%q, JSON): %v", in, err)
		}
		if _, err := Canonical(in, Lenient); !isReason(err, ReasonTooManyDigits) {
			t.Errorf("Canonical(%q, Lenient) = %v, want too many digits", in, err)
		}
	}
}

func isReason(err error, r Reason) bool {
	var e *Error
	return errors.As(err, &e) && e.Reason == r
}

func TestCanonicalErrors(t *testing.T) {
	cases := []struct {
		in            string
		json, lenient Reason
	}{
		{"", ReasonEmpty, ReasonNoDigits},
		{".", ReasonNoDigits, ReasonNoDigits},
		{"-", ReasonNoDigits, ReasonNoDigits},
		{".", ReasonNoDigits, ReasonNoDigits},
		{"e5", ReasonNoDigits, ReasonNoDigits},
		{"abc", ReasonUnexpectedChar, ReasonUnexpectedChar},
		{"1.2.3", ReasonUnexpectedChar, ReasonUnexpectedChar},
		{"+1", ReasonUnexpectedChar, ReasonUnexpectedChar},
		{"1,5", ReasonUnexpectedChar, ReasonUnexpectedChar},
		{"0x10", ReasonUnexpectedChar, ReasonUnexpectedChar},
		{"NaN", ReasonUnexpectedChar, ReasonUnexpectedChar},
		{"1/3", ReasonUnexpectedChar, ReasonUnexpectedChar},
		{"01", ReasonLeadingZero, 0},
		{"1.", ReasonBarePoint, 0},
		{".5", ReasonBarePoint, 0},
		{"1e", ReasonMalformedExponent, ReasonMalformedExponent},
		{"1e+", ReasonMalformedExponent, ReasonMalformedExponent},
		{"1e5x", ReasonUnexpectedChar, ReasonMalformedExponent},
		{"1e65", ReasonExponentRange, ReasonExponentRange},
		{"1e-65", ReasonExponentRange, ReasonExponentRange},
		{"1e99999", ReasonExponentRange, ReasonExponentRange},
		{"1e00005", ReasonExponentRange, 0},
		{"1e999x", ReasonExponentRange, ReasonMalformedExponent},
		// Which fault is named first: JSON reads left to right, Lenient the exponent first.
		{"x1e999", ReasonUnexpectedChar, ReasonExponentRange},
	}
	for _, tc := range cases {
		for syn, want := range map[Syntax]Reason{JSON: tc.json, Lenient: tc.lenient} {
			got, err := Canonical(tc.in, syn)
			if want == 0 {
				if err != nil {
					t.Errorf("Canonical(%q, %v): %v", tc.in, syn, err)
				}
				continue
			}
			var e *Error
			if !errors.As(err, &e) || e.Reason != want || e.Input != tc.in || e.Syntax != syn || got != "" {
				t.Errorf("Canonical(%q, %v) = %q, %v; want reason %v", tc.in, syn, got, err, want)
			}
		}
	}
	_, err := Canonical(" 1e999 ", Lenient)
	if want := `" 1e999 " is not a decimal: exponent out of range`; err == nil || err.Error() != want {
		t.Errorf("error text %v, want %s", err, want)
	}
}

func TestCompareSignRat(t *testing.T) {
	if Compare("0.1", "0.09") != 1 || Compare("-1", "0") != -1 || Compare("2", "10") != -1 || Compare("", "0") != 0 {
		t.Error("Compare")
	}
	if Compare("junk", "0") != 0 {
		t.Error("text that is not canonical compares as 0")
	}
	for s, want := range map[string]int{"-0.5": -1, "0": 0, "": 0, "3": 1} {
		if Sign(s) != want {
			t.Errorf("Sign(%q) = %d", s, Sign(s))
		}
	}
	if Rat("").Sign() != 0 || Rat("0.25").Cmp(big.NewRat(1, 4)) != 0 || Rat("x") != nil {
		t.Error("Rat")
	}
}

func TestFromRat(t *testing.T) {
	for r, want := range map[*big.Rat]string{big.NewRat(1, 8): "0.125", big.NewRat(-7, 20): "-0.35", big.NewRat(0, 1): "0", big.NewRat(300, 3): "100"} {
		if got, ok := FromRat(r); !ok || got != want {
			t.Errorf("FromRat(%v) = %q, %v; want %q", r, got, ok, want)
		}
	}
	if _, ok := FromRat(big.NewRat(1, 3)); ok {
		t.Error("1/3 is not a finite decimal")
	}
}

var canonicalForm = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$`)

// FuzzCanonical: the canonical form is canonical (shape, idempotent, accepted by both syntaxes), keeps the
// value (big.Rat reads the JSON spelling the same; FromRat gives the text back), and other spellings of the
// same number (shifted exponent, padding zeros) canonicalise and compare equal.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{"0", "-0", "10.50", "1.05e1", "1E3", "12e-4", "-0.0001", "00012.500", ".5", "5.", " 7 ",
		"1e64", "10e64", "1e-64", "0.001e-63", "1e00005", "x1e999", "1e5x", "", "-", ".", "+1", "123456789012345678901234567890.123456789"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		jc, jerr := Canonical(s, JSON)
		lc, lerr := Canonical(s, Lenient)
		if jerr == nil && lerr == nil && jc != lc {
			t.Fatalf("%q: JSON %q, Lenient %q", s, jc, lc)
		}
		if jerr == nil {
			wantCanonical(t, s, jc)
			if c2, err := Canonical(jc, JSON); err != nil || c2 != jc {
				t.Fatalf("not idempotent: %q → %q → %q, %v", s, jc, c2, err)
			}
			// JSON syntax is a subset of what big.Rat reads: the value survives.
			if r, ok := new(big.Rat).SetString(s); !ok || r.Cmp(Rat(jc)) != 0 {
				t.Fatalf("%q → %q changes the value (big.Rat %v)", s, jc, r)
			}
		}
		if lerr != nil {
			return
		}
		wantCanonical(t, s, lc)
		for _, syn := range []Syntax{Lenient, JSON} { // the canonical form is valid JSON
			if c2, err := Canonical(lc, syn); err != nil || c2 != lc {
				t.Fatalf("not idempotent: %q → %q → %q, %v (%v)", s, lc, c2, err, syn)
			}
		}
		if back, ok := FromRat(Rat(lc)); !ok || back != lc {
			t.Fatalf("round trip %q → %q, %v", lc, back, ok)
		}
		for _, alt := range respell(lc) {
			a, err := Canonical(alt, Lenient)
			if err != nil || a != lc || Compare(a, lc) != 0 {
				t.Fatalf("%q (spelt %q) → %q, %v; want %q", lc, alt, a, err, lc)
			}
		}
	})
}

func wantCanonical(t *testing.T, in, c string) {
	t.Helper()
	if !canonicalForm.MatchString(c) || c == "-0" {
		t.Fatalf("%q → %q is not in canonical form", in, c)
	}
}

// respell writes canonical c differently: padded with zeros, and as digits with an exponent (when in range).
func respell(c string) []string {
	sign, abs := "", c
	if strings.HasPrefix(c, "-") {
		sign, abs = "-", c[1:]
	}
	padded := "00" + abs
	if !strings.Contains(abs, ".") {
		padded += "."
	}
	out := []string{sign + padded + "00"}
	intPart, frac, _ := strings.Cut(abs, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		digits = "0"
	}
	if exp := -len(frac) - 1; exp >= -MaxExp { // 12.5 → 1250E-2, 0.05 → 50E-3
		out = append(out, " "+sign+digits+"0E"+strconv.Itoa(exp)+" ")
	}
	if len(intPart) > 1 && len(intPart) <= MaxExp && frac == "" { // 1200 → 1.2e3
		out = append(out, sign+intPart[:1]+"."+intPart[1:]+"e+"+strconv.Itoa(len(intPart)-1))
	}
	return out
}
