package topology

import (
	"strings"
	"testing"
	"time"
)

func TestFromEnvReadsAckWaitAndReplicas(t *testing.T) {
	for _, tc := range []struct {
		ackWait, replicas string
		want              time.Duration
		wantReplicas      int
		wantErr           string
	}{
		{"", "", 30 * time.Second, 1, ""},
		{"5s", "3", 5 * time.Second, 3, ""},
		{"500ms", "", 0, 0, "ZUORASYNC_ACK_WAIT"},
		{"soon", "", 0, 0, "ZUORASYNC_ACK_WAIT"},
		{"", "7", 0, 0, "ZUORASYNC_REPLICAS"},
	} {
		t.Setenv("ZUORASYNC_ACK_WAIT", tc.ackWait)
		t.Setenv("ZUORASYNC_REPLICAS", tc.replicas)
		got, err := FromEnv()
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ack wait %q replicas %q: err %v, want one naming %s", tc.ackWait, tc.replicas, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got.AckWait != tc.want || got.Replicas != tc.wantReplicas {
			t.Errorf("ack wait %q replicas %q: %s R%d %v, want %s R%d", tc.ackWait, tc.replicas, got.AckWait,
				got.Replicas, err, tc.want, tc.wantReplicas)
		}
	}
}
