// Package zuorasync holds the project's sample data, shared by `make run` (cmd/consumer demo) and the tests.
package zuorasync

import "embed"

// Samples holds testdata/*.json: realistic Stigg payloads (customers, and later the catalog).
//
//go:embed testdata/*.json
var Samples embed.FS
