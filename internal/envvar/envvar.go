// Package envvar reads the contract's environment variables for every binary the same way.
package envvar

import "os"

// Or returns the value of the environment variable key, or def when it is unset or empty.
func Or(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
