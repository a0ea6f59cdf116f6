package zuorasim

import (
	"crypto/rand"
	"encoding/hex"
	"strings"

	"github.com/google/uuid"
)

// newID returns a 32-hex-digit id, the shape of Zuora object ids (e.g. "8ad09e208858b5cf0188595208151c63").
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// newRequestID returns a 36-char id for the Zuora-Request-Id header.
func newRequestID() string { return uuid.NewString() }

// newProcessID returns a 16-char upper-case hex id like the processId of V1 error bodies ("CBCFED6580B4E076").
func newProcessID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}
