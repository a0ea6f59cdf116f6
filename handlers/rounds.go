package handlers

import (
	"context"
	"time"
)

// runRounds runs round at once and then every interval (measured from the end of the previous round) until ctx
// ends; a failed round goes to failed unless ctx ended, and the next round tries again. The background jobs of a
// consumer process (usage flushing, missed-callout recovery) run this way.
func runRounds(ctx context.Context, interval time.Duration, round func(context.Context) error, failed func(error)) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := round(ctx); err != nil && ctx.Err() == nil {
			failed(err)
		}
		t.Reset(interval)
	}
}
