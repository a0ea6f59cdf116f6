package zuoraapi

import (
	"encoding/json"
	"math/big"
	"testing"
)

func TestParseAmountCanonical(t *testing.T) {
	cases := map[string]string{
		"0": "0", "-0": "0", "0.000": "0", "00012.500": "12.5", "10.50": "10.5", "1.05e1": "10.5",
		"1E3": "1000", "12e-4": "0.0012", "-0.0001": "-0.0001", ".5": "0.5", "5.": "5", " 7 ": "7",
		"123456789012345678901234567890.123456789": "123456789012345678901234567890.123456789",
		"0.1e+2": "10",
	}
	for in, want := range cases {
		a, err := ParseAmount(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if a.String() != want {
			t.Errorf("%q → %q, want %q", in, a, want)
		}
	}
	for _, in := range []string{"", "-", ".", "abc", "1.2.3", "1e", "1e999", "+1", "1,5", "0x10", "NaN", "Infinity", "1/3"} {
		if _, err := ParseAmount(in); err == nil {
			t.Errorf("%q should not parse", in)
		}
	}
}

func TestAmountCompare(t *testing.T) {
	if !MustAmount("10.50").Equal(MustAmount("10.5")) || MustAmount("10.50") != MustAmount("1.05e1") {
		t.Fatal("equal values must compare equal")
	}
	if (Amount{}) != MustAmount("0.00") || !MustAmount("-0").IsZero() {
		t.Fatal("the zero value is 0")
	}
	if MustAmount("0.1").Cmp(MustAmount("0.09")) != 1 || MustAmount("-1").Cmp(MustAmount("0")) != -1 {
		t.Fatal("Cmp")
	}
	if got := MustAmount("0.1").Add(MustAmount("0.2")); got != MustAmount("0.3") {
		t.Fatalf("0.1+0.2 = %s", got)
	}
	if got := MustAmount("1000").Add(MustAmount("0.01")); got.String() != "1000.01" {
		t.Fatalf("got %s", got)
	}
}

func TestAmountFromRat(t *testing.T) {
	if a, ok := AmountFromRat(big.NewRat(1, 8)); !ok || a.String() != "0.125" {
		t.Fatalf("1/8 → %s %v", a, ok)
	}
	if a, ok := AmountFromRat(big.NewRat(-7, 20)); !ok || a.String() != "-0.35" {
		t.Fatalf("-7/20 → %s %v", a, ok)
	}
	if _, ok := AmountFromRat(big.NewRat(1, 3)); ok {
		t.Fatal("1/3 is not a finite decimal")
	}
}

func TestAmountJSON(t *testing.T) {
	var v struct {
		A Amount            `json:"a"`
		B *Amount           `json:"b"`
		C *Amount           `json:"c"`
		M map[string]Amount `json:"m"`
		S Amount            `json:"s"`
		E Amount            `json:"e"`
	}
	v.S = MustAmount("9")
	err := json.Unmarshal([]byte(`{"a":0.0001,"b":"12.500000000","c":null,"m":{"USD":10,"EUR":"1e-2"},"s":null,"e":""}`), &v)
	if err != nil {
		t.Fatal(err)
	}
	if v.A.String() != "0.0001" || v.B.String() != "12.5" || v.C != nil || v.M["EUR"].String() != "0.01" || v.S.String() != "9" || !v.E.IsZero() {
		t.Fatalf("decoded %+v", v)
	}
	out, err := json.Marshal(map[string]any{"p": MustAmount("0.10"), "q": AmountPtr("123456789.000000001"), "z": Amount{}})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"p":0.1,"q":123456789.000000001,"z":0}` {
		t.Fatalf("encoded %s", out)
	}
	if err := json.Unmarshal([]byte(`{"a":"ten"}`), &v); err == nil {
		t.Fatal("a non-decimal string must not decode")
	}
	if err := json.Unmarshal([]byte(`{"a":true}`), &v); err == nil {
		t.Fatal("a boolean must not decode")
	}
}

func TestParseAmountErrorText(t *testing.T) {
	for in, want := range map[string]string{
		"":        `zuoraapi: "" is not a decimal: no digits`,
		" 1e999 ": `zuoraapi: " 1e999 " is not a decimal: exponent out of range`,
		"1,5":     `zuoraapi: "1,5" is not a decimal: unexpected character`,
		"1e":      `zuoraapi: "1e" is not a decimal: malformed exponent`,
		"10e64":   `zuoraapi: "10e64" is not a decimal: too many digits`,
	} {
		if _, err := ParseAmount(in); err == nil || err.Error() != want {
			t.Errorf("ParseAmount(%q): %v, want %s", in, err, want)
		}
	}
}
