//go:build race

package e2e

// raceDetector: the race detector slows handling about sixfold; tests at scale shrink under it (make test runs
// them at full size without it as well).
const raceDetector = true
