package envvar

import (
	"strings"
	"testing"
)

func TestInt(t *testing.T) {
	for _, tc := range []struct {
		value   string
		want    int
		wantErr bool
	}{{"", 7, false}, {"3", 3, false}, {"1", 1, false}, {"5", 5, false}, {"0", 7, true}, {"6", 7, true}, {"three", 7, true}, {"2.5", 7, true}} {
		t.Setenv("ENVVAR_TEST_INT", tc.value)
		got, err := Int("ENVVAR_TEST_INT", 7, 1, 5, "replicas")
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("%q: %d, %v; want %d, error %v", tc.value, got, err, tc.want, tc.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "ENVVAR_TEST_INT") {
			t.Errorf("%q: the error does not name the variable: %v", tc.value, err)
		}
	}
}
