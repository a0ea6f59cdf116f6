//go:build !race

package conformance

// raceEnabled is true when the race detector is on; it slows YAML parsing several times over.
const raceEnabled = false
