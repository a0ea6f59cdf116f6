package consumer

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/zuora-sync/zuora-sync/events"
	"github.com/zuora-sync/zuora-sync/zuoraapi"
)

func TestClassifyDecidesEachMessagesFate(t *testing.T) {
	for _, c := range []struct {
		name  string
		err   error
		class Class
		floor time.Duration
	}{
		{"nil", nil, ClassSuccess, 0},
		{"permanent", Permanent(errors.New("bad")), ClassPermanent, 0},
		{"deferred", fmt.Errorf("wrapped: %w", Defer(errors.New("no account yet"))), ClassDeferred, 0},
		{"retry later", RetryLater(errors.New("busy"), 3*time.Second), ClassTransient, 3 * time.Second},
		{"validation", &events.ValidationError{Field: "email", Problem: "not an e-mail"}, ClassPermanent, 0},
		{"unknown type", fmt.Errorf("%w: x", events.ErrUnknownType), ClassPermanent, 0},
		{"zuora rate limited", &zuoraapi.Error{Kind: zuoraapi.KindRateLimited, RetryAfter: 7 * time.Second}, ClassTransient, 7 * time.Second},
		{"zuora 5xx", &zuoraapi.Error{Kind: zuoraapi.KindTransient}, ClassTransient, 0},
		{"zuora validation", fmt.Errorf("create: %w", &zuoraapi.Error{Kind: zuoraapi.KindValidation}), ClassPermanent, 0},
		{"deadline", context.DeadlineExceeded, ClassTransient, 0},
		{"anything else", errors.New("surprise"), ClassTransient, 0},
	} {
		class, floor := Classify(c.err)
		if class != c.class || floor != c.floor {
			t.Errorf("%s: got %s/%s, want %s/%s", c.name, class, floor, c.class, c.floor)
		}
	}
}

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
