package consumer

import (
	"testing"
	"time"
)

func TestBackoffGrowsWithJitterWithinItsCapAndFloor(t *testing.T) {
	b := Backoff{Base: time.Second, Max: 5 * time.Minute}
	for attempt := 1; attempt <= 25; attempt++ {
		ceiling := min(time.Second<<(min(attempt, 20)-1), 5*time.Minute)
		for range 50 {
			d := b.Delay(attempt, 0)
			if d < ceiling/2 || d > ceiling {
				t.Fatalf("attempt %d: delay %s outside [%s, %s]", attempt, d, ceiling/2, ceiling)
			}
		}
	}
	if d := b.Delay(1, 42*time.Second); d != 42*time.Second {
		t.Fatalf("Retry-After must be a floor: got %s", d)
	}
}
