package dispatch

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
		{"zuora rate limited", &zuoraapi.Error{Kind: zuoraapi.KindRateLimited, RetryAfter: 7 * time.Second}, ClassWait, 7 * time.Second},
		{"wrapped rate limit", fmt.Errorf("create account: %w", &zuoraapi.Error{Kind: zuoraapi.KindRateLimited}), ClassWait, 0},
		{"zuora 5xx", &zuoraapi.Error{Kind: zuoraapi.KindTransient}, ClassTransient, 0},
		{"zuora validation", fmt.Errorf("create: %w", &zuoraapi.Error{Kind: zuoraapi.KindValidation}), ClassPermanent, 0},
		{"zuora not found", &zuoraapi.Error{Kind: zuoraapi.KindNotFound, StatusCode: 404}, ClassPermanent, 0},
		{"zuora permission denied", &zuoraapi.Error{Kind: zuoraapi.KindAuth, StatusCode: 403}, ClassPermanent, 0},
		{"zuora credentials", &zuoraapi.Error{Kind: zuoraapi.KindAuth, StatusCode: 401}, ClassTransient, 0},
		{"zuora unreadable answer", &zuoraapi.Error{Kind: zuoraapi.KindUnknown, StatusCode: 201}, ClassTransient, 0},
		{"zuora huge retry-after", &zuoraapi.Error{Kind: zuoraapi.KindRateLimited, RetryAfter: time.Hour}, ClassWait, MaxRetryDelay},
		{"deferred around permanent", Defer(Permanent(errors.New("x"))), ClassDeferred, 0},
		{"joined", errors.Join(errors.New("a"), Permanent(errors.New("b"))), ClassPermanent, 0},
		{"panic", &PanicError{Value: "boom"}, ClassPermanent, 0},
		{"deadline", context.DeadlineExceeded, ClassTransient, 0},
		{"anything else", errors.New("surprise"), ClassTransient, 0},
	} {
		class, floor := Classify(c.err)
		if class != c.class || floor != c.floor {
			t.Errorf("%s: got %s/%s, want %s/%s", c.name, class, floor, c.class, c.floor)
		}
	}
}
