package zuorasim

import (
	"strings"
	"testing"
)

// FuzzParseFilter: any filter[] value either parses into a well-formed clause or is rejected; matching never
// panics.
func FuzzParseFilter(f *testing.F) {
	for _, seed := range []string{
		"stiggCustomerId__c.EQ:cust-1", "account_number.EQ:A00000001", "name.IN:[Amy,Bella]", "name.IN:[]",
		"updated_time.GT:2020-03-10T07:12:12-07:00", "quantity.LT:200", "a.b.c.SW:x:y", "items[account_id].EQ:1",
		"", ":", ".EQ:", "name.EQ:", "name.IN:[a", "nameEQ:x", "name.eq:x", "na me.EQ:x", "name.NE:\x00",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		fc, err := parseFilter(raw)
		if err != nil {
			return
		}
		if fc.Field == "" || !filterOps[fc.Op] || len(fc.Values) == 0 {
			t.Fatalf("parseFilter(%q) = %+v", raw, fc)
		}
		if fc.Op != "IN" && fc.Values[0] == "" {
			t.Fatalf("parseFilter(%q): empty value accepted", raw)
		}
		if !strings.HasPrefix(raw, fc.Field+"."+fc.Op+":") {
			t.Fatalf("parseFilter(%q) = %+v does not round-trip", raw, fc)
		}
		_, _ = matches([]filterClause{fc}, func(string) (string, bool) { return "value", true })
	})
}

// FuzzAccountBody: arbitrary create bodies are either rejected with a 400-class error or produce an account
// whose required fields are set; validation never panics.
func FuzzAccountBody(f *testing.F) {
	for _, seed := range []string{
		`{"name":"Amy","currency":"USD","bill_to":{"first_name":"Amy","last_name":"L"}}`,
		`{"name":"Amy","currency":"usd","bill_to":{"first_name":"Amy","last_name":"L"},"custom_fields":{"stiggCustomerId__c":"c1"}}`,
		`{"name":"","currency":"USD","bill_to":{}}`,
		`{"name":"A","currency":"USD","bill_to":{"first_name":"a","last_name":"b","address":{"line1":1}}}`,
		`{"name":"A","currency":"USD","bill_cycle_day":1.5,"bill_to":{"first_name":"a","last_name":"b"}}`,
		`{"custom_fields":{"x":null}}`, `[]`, `null`, `{"name":"A"} {}`, `{"sold_to":null,"payment_terms":"net 30"}`,
	} {
		f.Add([]byte(seed))
	}
	s := New(Config{})
	f.Fuzz(func(t *testing.T, body []byte) {
		var in accountInput
		if e := decodeJSON(body, &in); e != nil {
			if e.status != 400 {
				t.Fatalf("decode error status %d", e.status)
			}
			return
		}
		st := s.store
		st.mu.Lock()
		defer st.mu.Unlock()
		if e := st.validateAccountInput(&in, nil); e != nil {
			if e.status != 400 || e.message == "" {
				t.Fatalf("validation error %+v", e)
			}
			return
		}
		a := st.createAccount(&in, "2024-01-01T00:00:00Z")
		if a.Name == "" || len(a.Currency) != 3 || st.contacts[a.BillToID] == nil || a.AccountNumber == "" {
			t.Fatalf("created account = %+v", a)
		}
	})
}
