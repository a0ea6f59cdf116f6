package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestRefusesToStartWithoutCredentials(t *testing.T) {
	cases := []struct {
		user, pass, insecure string
		ok, warned           bool
	}{
		{"", "", "", false, false},
		{"zuora", "", "", false, false},
		{"", "secret", "", false, false},
		{"", "", "false", false, false},
		{"", "", "yes", false, false}, // a typo must not open the bridge
		{"zuora", "secret", "", true, false},
		{"", "", "true", true, true},
	}
	for _, tc := range cases {
		t.Setenv("BRIDGE_USERNAME", tc.user)
		t.Setenv("BRIDGE_PASSWORD", tc.pass)
		t.Setenv("BRIDGE_INSECURE_NO_AUTH", tc.insecure)
		var logs bytes.Buffer
		cfg, err := config(slog.New(slog.NewTextHandler(&logs, nil)))
		if (err == nil) != tc.ok {
			t.Errorf("%+v: err %v", tc, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("the error quotes the password: %v", err)
		}
		if got := strings.Contains(logs.String(), "WITHOUT authentication"); got != tc.warned {
			t.Errorf("%+v: warning logged %v, want %v (%s)", tc, got, tc.warned, logs.String())
		}
		if tc.ok && cfg.InsecureNoAuth != (tc.insecure == "true") {
			t.Errorf("%+v: InsecureNoAuth %v", tc, cfg.InsecureNoAuth)
		}
	}
}

func TestBodyCapAndTimeoutFromTheEnvironment(t *testing.T) {
	t.Setenv("BRIDGE_USERNAME", "zuora")
	t.Setenv("BRIDGE_PASSWORD", "secret")
	t.Setenv("BRIDGE_MAX_BODY_BYTES", "1024")
	t.Setenv("BRIDGE_PUBLISH_TIMEOUT", "2s")
	cfg, err := config(slog.New(slog.DiscardHandler))
	if err != nil || cfg.MaxBodyBytes != 1024 || cfg.PublishTimeout.String() != "2s" {
		t.Fatalf("%+v %v", cfg, err)
	}
	t.Setenv("BRIDGE_MAX_BODY_BYTES", "-1")
	if _, err := config(slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("a negative body cap must be refused")
	}
}
