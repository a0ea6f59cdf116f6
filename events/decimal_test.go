package events

import (
	"encoding/json"
	"math/big"
	"testing"
)

func TestDecimal(t *testing.T) {
	for in, want := range map[string]string{
		"0": "0", "-0": "0", "10.50": "10.5", "1e2": "100", "1.5E-3": "0.0015", "1e-7": "0.0000001",
		"-12.000": "-12", "0.000": "0", "123456789012345678901234567890.123456789": "123456789012345678901234567890.123456789",
		"25e-1": "2.5",
	} {
		d, err := ParseDecimal(in)
		if err != nil || d.String() != want {
			t.Errorf("ParseDecimal(%q) = %q, %v; want %q", in, d, err, want)
		}
	}
	for _, bad := range []string{"", "+1", "01", "1.", ".5", "1e", "1e99999", "NaN", "1,5", "0x10", " 1"} {
		if _, err := ParseDecimal(bad); err == nil {
			t.Errorf("ParseDecimal(%q) accepted", bad)
		}
	}
	var v struct {
		A, B, C Decimal
		D       *Decimal
	}
	if err := json.Unmarshal([]byte(`{"A":0.1,"B":"0.2","C":{"x":1},"D":null}`), &v); err != nil {
		t.Fatal(err)
	}
	sum := new(big.Rat).Add(v.A.Rat(), v.B.Rat())
	if sum.Cmp(MustDecimal("0.3").Rat()) != 0 {
		t.Error("0.1 + 0.2 != 0.3")
	}
	if v.C.Err() == nil || v.D != nil {
		t.Errorf("C should be invalid, D nil: %+v", v)
	}
	out, _ := json.Marshal(v)
	if string(out) != `{"A":0.1,"B":0.2,"C":"{\"x\":1}","D":null}` {
		t.Errorf("marshal: %s", out)
	}
	if MustDecimal("2").Cmp(MustDecimal("10")) >= 0 || MustDecimal("-1").Sign() != -1 || (Decimal{}).String() != "0" {
		t.Error("Cmp/Sign/zero")
	}
}

func TestDecimalErrorText(t *testing.T) {
	for in, want := range map[string]string{
		"":        "not a decimal number: empty",
		"01":      `not a decimal number: "01"`,
		"1e":      `not a decimal number: "1e"`,
		"1e65":    `decimal exponent out of range: "1e65"`,
		"1e99999": `decimal exponent out of range: "1e99999"`,
	} {
		if _, err := ParseDecimal(in); err == nil || err.Error() != want {
			t.Errorf("ParseDecimal(%q): %v, want %s", in, err, want)
		}
	}
	var d Decimal
	if err := json.Unmarshal([]byte(`"1.2.3"`), &d); err != nil || d.Err() == nil || d.Err().Error() != `not a decimal number: "1.2.3"` ||
		d.String() != "1.2.3" || d.Sign() != 0 || d.Rat() != nil || d.Cmp(MustDecimal("0")) != 0 {
		t.Errorf("invalid decimal: %v %v", err, d.Err())
	}
}
