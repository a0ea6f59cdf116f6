package app

import (
	"strings"
	"testing"
	"time"
)

func TestFromEnvReadsTheRuntimeKnobs(t *testing.T) {
	t.Setenv("ZUORASYNC_RETRY_BASE", "200ms")
	t.Setenv("ZUORASYNC_RETRY_MAX", "3s")
	t.Setenv("ZUORA_REQUEST_TIMEOUT", "4s")
	t.Setenv("ZUORASYNC_ACK_WAIT", "5s")
	t.Setenv("ZUORASYNC_MAX_ATTEMPTS", "50")
	cfg := FromEnv()
	if cfg.envErr != nil {
		t.Fatal(cfg.envErr)
	}
	if b := cfg.Runner.Backoff; b.Base != 200*time.Millisecond || b.Max != 3*time.Second {
		t.Errorf("backoff %+v, want 200ms to 3s", b)
	}
	if cfg.Runner.MaxAttempts != 50 {
		t.Errorf("max attempts %d, want 50", cfg.Runner.MaxAttempts)
	}
	if cfg.ZuoraRequestTimeout != 4*time.Second || cfg.Runner.Topology.AckWait != 5*time.Second {
		t.Errorf("request timeout %s, ack wait %s", cfg.ZuoraRequestTimeout, cfg.Runner.Topology.AckWait)
	}
}

func TestFromEnvRefusesABackoffThatShrinks(t *testing.T) {
	t.Setenv("ZUORASYNC_RETRY_BASE", "10s")
	t.Setenv("ZUORASYNC_RETRY_MAX", "1s")
	if err := FromEnv().envErr; err == nil || !strings.Contains(err.Error(), "ZUORASYNC_RETRY_BASE") {
		t.Fatalf("err %v, want one naming ZUORASYNC_RETRY_BASE", err)
	}
	t.Setenv("ZUORASYNC_RETRY_BASE", "")
	t.Setenv("ZUORASYNC_RETRY_MAX", "")
	t.Setenv("ZUORASYNC_MAX_ATTEMPTS", "0")
	if err := FromEnv().envErr; err == nil || !strings.Contains(err.Error(), "ZUORASYNC_MAX_ATTEMPTS") {
		t.Fatalf("err %v, want one naming ZUORASYNC_MAX_ATTEMPTS", err)
	}
	t.Setenv("ZUORASYNC_MAX_ATTEMPTS", "")
	t.Setenv("ZUORASYNC_RETRY_MAX", "never")
	if err := FromEnv().envErr; err == nil || !strings.Contains(err.Error(), "ZUORASYNC_RETRY_MAX") {
		t.Fatalf("err %v, want one naming ZUORASYNC_RETRY_MAX", err)
	}
}
