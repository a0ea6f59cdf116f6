package ratelimit

import (
	"net/http"
	"strings"
)

// Class is a Zuora concurrency-limit class. Each class has its own pool of in-flight slots.
type Class string

// The classes of Zuora's concurrency limits, plus ClassAuth for the token endpoint, which Zuora does not count
// against any concurrency limit but rate limits separately (AUTH budget).
const (
	ClassDefault     Class = "default"
	ClassHighVolume  Class = "high-volume"
	ClassObjectQuery Class = "object-query"
	ClassAuth        Class = "auth"
)

// Surface names an API surface with its own circuit breaker, e.g. "v1-accounts", "v2-accounts", "oauth".
type Surface string

// Classify maps a request onto its concurrency class and breaker surface. It assumes a bare-host base URL, as
// all of Zuora's REST hosts are (V1 paths carry /v1, Quickstart paths /v2).
//
// Surfaces are one per resource family ("v1-orders", "v2-accounts", "notifications", ...): a failing Zuora
// service (orders, say) trips only its breaker, so account sync keeps working, while the set stays small and
// bounded by the paths the client calls. /v1/object/* shares "v1-object" (the older CRUD stack).
func Classify(req *http.Request) (Class, Surface) {
	segs := splitPath(req.URL.Path)
	if len(segs) == 0 {
		return ClassDefault, "other"
	}
	switch segs[0] {
	case "oauth":
		return ClassAuth, "oauth"
	case "v2":
		// All Quickstart requests count toward the Object Query limit.
		return ClassObjectQuery, surface("v2", segs[1:])
	case "object-query":
		return ClassObjectQuery, "object-query"
	case "v1":
		rest := segs[1:]
		return classifyV1(req.Method, rest), surface("v1", rest)
	case "notifications", "events", "objects", "query", "workflows":
		return ClassDefault, Surface(segs[0])
	}
	return ClassDefault, "other"
}

// classifyV1 recognises Zuora's documented high-volume transactions: create account, create/preview order,
// create/preview/update/cancel/renew subscription, RSA signatures; payments are counted here too.
func classifyV1(method string, segs []string) Class {
	if len(segs) == 0 {
		return ClassDefault
	}
	post, put := method == http.MethodPost, method == http.MethodPut
	switch segs[0] {
	case "orders":
		if post && (len(segs) == 1 || (len(segs) == 2 && segs[1] == "preview")) {
			return ClassHighVolume
		}
	case "async":
		if post && len(segs) >= 2 && segs[1] == "orders" {
			return ClassHighVolume
		}
	case "accounts":
		if post && len(segs) == 1 {
			return ClassHighVolume
		}
	case "rsa-signatures":
		if post {
			return ClassHighVolume
		}
	case "payments":
		if post && len(segs) == 1 {
			return ClassHighVolume
		}
	case "subscriptions":
		switch {
		case post && len(segs) == 1: // create
			return ClassHighVolume
		case post && segs[len(segs)-1] == "preview": // /subscriptions/preview, /subscriptions/{key}/preview
			return ClassHighVolume
		case put && len(segs) == 2: // update
			return ClassHighVolume
		case put && len(segs) == 3 && (segs[2] == "cancel" || segs[2] == "renew"):
			return ClassHighVolume
		}
	}
	return ClassDefault
}

func surface(prefix string, rest []string) Surface {
	if len(rest) == 0 {
		return Surface(prefix)
	}
	seg := rest[0]
	if !isSimpleSegment(seg) {
		return Surface(prefix + "-other")
	}
	return Surface(prefix + "-" + seg)
}

// isSimpleSegment keeps surface names readable and bounded (they label logs and metrics).
func isSimpleSegment(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func splitPath(p string) []string {
	var segs []string
	for s := range strings.SplitSeq(p, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	return segs
}
