// Package envvar reads the contract's environment variables for every binary the same way.
package envvar

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// Or returns the value of the environment variable key, or def when it is unset or empty.
func Or(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// Duration reads key as a Go duration ("5s", "250ms"), def when it is unset or empty. A value that is not a
// positive duration is an error naming the variable, so a typo stops the process instead of being ignored.
func Duration(key string, def time.Duration) (time.Duration, error) {
	v := os.Getenv(key)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive Go duration such as 5s or 500ms", key, v)
	}
	return d, nil
}

// Int reads key as a whole number within [lo, hi], def when it is unset or empty; what names it says what the
// number counts (in the error). Anything else is an error naming the variable.
func Int(key string, def, lo, hi int, what string) (int, error) {
	v := os.Getenv(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return def, fmt.Errorf("%s=%q: want a whole number of %s from %d to %d", key, v, what, lo, hi)
	}
	return n, nil
}
