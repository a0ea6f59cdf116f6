package conformance

import (
	"errors"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/routers"
)

// DocumentedEndpoint is an endpoint that real Zuora serves but neither OpenAPI document describes. It was
// implemented from Zuora's documentation instead; Source names the page it was checked against.
type DocumentedEndpoint struct {
	Method string
	// Pattern is the request path; a segment written {name} matches any one non-empty segment.
	Pattern string
	Source  string
}

// DocumentedOnly lists the endpoints that pass without schema validation (they are counted in Stats). Add an
// endpoint here only after checking it against Zuora's documentation, and say where.
var DocumentedOnly = []DocumentedEndpoint{
	{
		Method:  http.MethodPost,
		Pattern: "/v1/object/unit-of-measure",
		Source:  `Zuora V1 API reference, "Older API" section: "CRUD: Create a unit of measure" (developer.zuora.com/v1-api-reference/older-api/operation/Object_POSTUnitOfMeasure)`,
	},
	{
		Method:  http.MethodGet,
		Pattern: "/v1/object/unit-of-measure/{id}",
		Source:  `Zuora V1 API reference, "Older API" section: "CRUD: Retrieve a unit of measure" (developer.zuora.com/v1-api-reference/older-api/operation/Object_GETUnitOfMeasure); fields per the UnitOfMeasure object reference (docs.zuora.com SOAP API object reference, UnitOfMeasure)`,
	},
	{
		Method:  http.MethodGet,
		Pattern: "/v1/object/invoice/{id}",
		Source:  `Zuora V1 API reference, "Older API" section: "CRUD: Retrieve an invoice" (developer.zuora.com/v1-api-reference/older-api/invoices/object_getinvoice)`,
	},
	{
		Method:  http.MethodGet,
		Pattern: "/v1/settings/payment-terms",
		Source:  `Zuora Settings API, payment terms (developer.zuora.com Settings API reference; docs.zuora.com "Define payment terms"); path as given in shared/zuora-openapi/README.md`,
	},
	{
		Method:  http.MethodPut,
		Pattern: "/objects/definitions/default/{object}",
		Source:  `Zuora V1 API reference, "Custom Object Definitions" tag (developer.zuora.com/v1-api-reference/api/tag/Custom-Object-Definitions/); this spec only has POST /objects/migrations for updates`,
	},
}

func (e DocumentedEndpoint) key() string { return e.Method + " " + e.Pattern }

func (e DocumentedEndpoint) matches(method, path string) bool {
	if method != e.Method {
		return false
	}
	want := strings.Split(strings.Trim(e.Pattern, "/"), "/")
	got := strings.Split(strings.Trim(path, "/"), "/")
	if len(want) != len(got) {
		return false
	}
	for i, w := range want {
		if strings.HasPrefix(w, "{") && strings.HasSuffix(w, "}") {
			if got[i] == "" {
				return false
			}
		} else if w != got[i] {
			return false
		}
	}
	return true
}

// Zuora also serves these V1 families under /v1 although the spec lists them without it (README).
var v1AliasPrefixes = []string{"/v1/notifications/", "/v1/events/"}

type matchKind int

const (
	matchSpec matchKind = iota
	matchDocumented
	matchSkip
	matchUnknown
)

type match struct {
	kind       matchKind
	spec       *loadedSpec
	route      *routers.Route
	params     map[string]string
	documented *DocumentedEndpoint
	// routed is the request as the spec's router saw it (the /v2 or /v1 alias prefix removed).
	routed *http.Request
	// reason explains matchUnknown.
	reason string
}

// find maps a request to an operation:
//   - /_sim/... is the simulator's admin API: skipped;
//   - /v2/... is Quickstart, routed without the /v2 prefix (the Quickstart servers end in /v2);
//   - everything else (/v1/..., /oauth/token, /notifications/..., /events/..., /objects/..., ...) is V1, whose
//     paths carry their own prefix; /v1/notifications/... and /v1/events/... fall back to the form without /v1;
//   - otherwise DocumentedOnly, otherwise unknown.
func (c *Checker) find(req *http.Request) match {
	path := req.URL.Path
	if path == "/_sim" || strings.HasPrefix(path, "/_sim/") {
		return match{kind: matchSkip}
	}

	var (
		spec   *loadedSpec
		prefix string
	)
	if path == "/v2" || strings.HasPrefix(path, "/v2/") {
		spec, prefix = c.specs[SpecQuickstart], "/v2"
	} else {
		spec = c.specs[SpecV1]
	}

	routed := withoutPrefix(req, prefix)
	route, params, err := spec.router.FindRoute(routed)
	if err != nil && spec.name == SpecV1 {
		for _, p := range v1AliasPrefixes {
			if strings.HasPrefix(path, p) {
				alias := withoutPrefix(req, "/v1")
				if r, ps, err2 := spec.router.FindRoute(alias); err2 == nil {
					route, params, err, routed = r, ps, nil, alias
				}
				break
			}
		}
	}
	if err == nil {
		return match{kind: matchSpec, spec: spec, route: route, params: params, routed: routed}
	}

	for i := range DocumentedOnly {
		if DocumentedOnly[i].matches(req.Method, path) {
			return match{kind: matchDocumented, spec: spec, documented: &DocumentedOnly[i]}
		}
	}

	reason := "unknown endpoint: the " + string(spec.name) + " spec has no such path"
	if errors.Is(err, routers.ErrMethodNotAllowed) {
		reason = "unknown endpoint: the " + string(spec.name) + " spec has this path but no " + req.Method + " operation on it"
	}
	return match{kind: matchUnknown, spec: spec, reason: reason + ", and it is not in conformance.DocumentedOnly"}
}

// withoutPrefix returns a shallow copy of req whose URL path lacks prefix (req itself is not modified).
func withoutPrefix(req *http.Request, prefix string) *http.Request {
	r := new(http.Request)
	*r = *req
	u := *req.URL
	if prefix != "" {
		u.Path = strings.TrimPrefix(u.Path, prefix)
		if u.RawPath != "" {
			u.RawPath = strings.TrimPrefix(u.RawPath, prefix)
		}
	}
	r.URL = &u
	return r
}
