package zuorasim

import (
	"strings"
	"testing"

	"github.com/zuora-sync/zuora-sync/events"
)

func envOf(m map[string]any) jexlEnv { return func(n string) any { return m[n] } }

func TestJEXLEvaluates(t *testing.T) {
	env := envOf(map[string]any{
		"changeType": "UPDATE", "Invoice.Status": "Posted", "Invoice.Status_old": "Draft",
		"Invoice.Balance": moneyValue(0), "Invoice.Balance_old": moneyValue(12.5), "Invoice.Amount": 12.5,
		"Subscription.Version": 2, "Invoice.InvoiceDate": "2026-03-01", "Invoice.Num": "42",
	})
	cases := []struct {
		cond string
		want bool
	}{
		{"changeType == 'UPDATE'", true},
		{`changeType == "INSERT"`, false},
		{"Invoice.Status == 'Posted' && Invoice.Status_old != 'Posted'", true},
		{"Invoice.Balance == 0 && Invoice.Balance_old != 0", true},
		{"Invoice.Amount > 12 && Invoice.Amount <= 12.5 && Invoice.Amount >= 12.5 && Invoice.Amount < 13", true},
		{"Invoice.Amount > -1", true},
		{"Subscription.Version > 1", true},
		{"Invoice.Missing == null", true},
		{"Invoice.Missing != null", false},
		{"Invoice.Missing > 0", false},
		{"Invoice.Missing < 0", false},
		{"Invoice.Status == null", false},
		{"!(changeType == 'INSERT')", true},
		{"!changeType", false},
		{"changeType == 'INSERT' || changeType == 'UPDATE' && Invoice.Status == 'Draft'", false}, // && binds tighter
		{"(changeType == 'INSERT' || changeType == 'UPDATE') && Invoice.Status == 'Posted'", true},
		{"Invoice.InvoiceDate >= '2026-01-01' && Invoice.InvoiceDate < '2026-12-31'", true},
		{"Invoice.Num == 42", true}, // a numeric string equals its number
		{"Invoice.Status == 42", false},
		{"Invoice.Status > 1", false},
		{"true && !false", true},
		{`'it\'s' == "it's"`, true},
	}
	for _, c := range cases {
		cond, err := parseJEXL(c.cond)
		if err != nil {
			t.Fatalf("%s: %v", c.cond, err)
		}
		if got := cond.holds(env); got != c.want {
			t.Errorf("%s = %v, want %v", c.cond, got, c.want)
		}
	}
}

func TestJEXLRefusesUnknownSyntax(t *testing.T) {
	for _, src := range []string{
		"", "changeType ==", "changeType = 'UPDATE'", "a == 'x", "size(Invoice.Items) > 0", "a =~ 'x'",
		"(a == 1", "a == 1)", "a == 1 == 2", "a ? b : c", "a + 1 > 2", "1x == 2", "a and b", "Invoice.Balance == [1]",
	} {
		if _, err := parseJEXL(src); err == nil {
			t.Errorf("%q parsed", src)
		}
	}
	if _, err := checkTriggerCondition("Invoice", "Account.Status == 'Active'"); err == nil || !strings.Contains(err.Error(), "base object") {
		t.Errorf("another object's field: %v", err)
	}
	if _, err := checkTriggerCondition("Invoice", "Invoice.Status == 'Posted' && changeType == 'UPDATE'"); err != nil {
		t.Error(err)
	}
}

// Every condition zuora-sync provisions parses and refers only to its base object.
func TestJEXLAcceptsProvisionedConditions(t *testing.T) {
	for _, s := range events.CalloutSpecs() {
		if _, err := checkTriggerCondition(s.BaseObject, s.Condition); err != nil {
			t.Errorf("%s: %q: %v", s.Type, s.Condition, err)
		}
	}
}

// Any input either parses or is refused; evaluation never panics.
func FuzzJEXL(f *testing.F) {
	for _, s := range events.CalloutSpecs() {
		f.Add(s.Condition)
	}
	for _, s := range []string{"", "(", "!", "'", "a == -", "((((a))))", "a.b_old != null || !!x", "1.5 >= -2"} {
		f.Add(s)
	}
	env := envOf(map[string]any{"changeType": "UPDATE", "Invoice.Status": "Posted", "Invoice.Balance": 0.0})
	f.Fuzz(func(t *testing.T, src string) {
		c, err := parseJEXL(src)
		if err != nil {
			return
		}
		c.holds(env)
	})
}
