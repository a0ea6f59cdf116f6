// Package conformance is a test helper that checks HTTP traffic to and from Zuora against Zuora's published
// OpenAPI documents: the V1 API reference and the Quickstart (v2) API reference.
//
// The documents live outside the repository, in ../shared/zuora-openapi/ relative to the project root (the
// directory holding go.mod); ZUORA_OPENAPI_DIR overrides that location. They are loaded once per test process.
//
// Use Load in a test, then wrap the Zuora client's base transport with (*Checker).Transport or the simulator's
// handler with (*Checker).Middleware. Every request and response is matched to an operation of one of the two
// documents (see (*Checker).CheckRequest for the mapping) and validated: path, query and header parameters, the
// request body, the response status and, for JSON, the response body and the documented response headers.
// Security requirements are not checked; authentication is tested elsewhere.
//
// Endpoints that real Zuora serves but that neither document describes are listed in DocumentedOnly; traffic to
// them is counted but not validated. Traffic to any other endpoint is a violation ("unknown endpoint").
//
// The documents are adjusted after loading, narrowly, where a quirk would make valid traffic fail; see
// adjustSpec for the list.
package conformance

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Spec names one of Zuora's OpenAPI documents.
type Spec string

const (
	// SpecV1 is Zuora's V1 API reference (v1-openapi.yaml).
	SpecV1 Spec = "v1"
	// SpecQuickstart is Zuora's Quickstart API reference (quickstart-openapi.yaml), served under /v2.
	SpecQuickstart Spec = "quickstart"
)

// EnvDir names the environment variable that overrides where the OpenAPI documents are read from.
const EnvDir = "ZUORA_OPENAPI_DIR"

var specFiles = map[Spec]string{
	SpecV1:         "v1-openapi.yaml",
	SpecQuickstart: "quickstart-openapi.yaml",
}

// Checker validates Zuora traffic against the OpenAPI documents. It is safe for concurrent use.
type Checker struct {
	specs       map[Spec]*loadedSpec
	dir         string
	loadTime    time.Duration
	adjustments []string

	mu    sync.Mutex
	stats Stats
}

type loadedSpec struct {
	name   Spec
	doc    *openapi3.T
	router routers.Router
}

// Stats counts what a Checker has seen since the process started (the Checker is shared by all tests).
type Stats struct {
	// Validated counts requests matched to an operation of each spec.
	Validated map[Spec]int
	// DocumentedOnly counts requests to DocumentedOnly endpoints, keyed "METHOD pattern".
	DocumentedOnly map[string]int
	// Skipped counts requests to the simulator's /_sim/ admin paths.
	Skipped int
	// Unknown counts requests to endpoints in neither spec nor DocumentedOnly.
	Unknown int
}

var (
	loadOnce    sync.Once
	loaded      *Checker
	errLoad     error
	errNotFound = errors.New("the Zuora OpenAPI specs were not found")
)

// Load returns the process-wide Checker, loading the documents on first use. If they cannot be loaded the test
// fails (it does not skip: CI always has the documents).
func Load(tb testing.TB) *Checker {
	tb.Helper()
	loadOnce.Do(func() { registerXMLDecoder(); loaded, errLoad = load() })
	if errLoad != nil {
		tb.Fatalf("conformance: %v", errLoad)
	}
	return loaded
}

// Dir is the directory the documents were read from.
func (c *Checker) Dir() string { return c.dir }

// LoadTime is how long reading, adjusting and indexing both documents took.
func (c *Checker) LoadTime() time.Duration { return c.loadTime }

// Adjustments lists the spec adjustments applied at load time, one line each, for logs and review.
func (c *Checker) Adjustments() []string { return append([]string(nil), c.adjustments...) }

// Stats returns a copy of the counters.
func (c *Checker) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{Validated: map[Spec]int{}, DocumentedOnly: map[string]int{}, Skipped: c.stats.Skipped, Unknown: c.stats.Unknown}
	for k, v := range c.stats.Validated {
		s.Validated[k] = v
	}
	for k, v := range c.stats.DocumentedOnly {
		s.DocumentedOnly[k] = v
	}
	return s
}

func (c *Checker) count(f func(*Stats)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stats.Validated == nil {
		c.stats.Validated = map[Spec]int{}
		c.stats.DocumentedOnly = map[string]int{}
	}
	f(&c.stats)
}

// specDir finds the documents: $ZUORA_OPENAPI_DIR, else ../shared/zuora-openapi next to the directory that
// holds go.mod, searching upwards from the working directory (go test runs in the package directory).
func specDir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Clean(filepath.Join(d, "..", "shared", "zuora-openapi")), nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod above %s, so the project root (and ../shared/zuora-openapi) is unknown; set %s", wd, EnvDir)
		}
		d = parent
	}
}

func load() (*Checker, error) {
	start := time.Now()
	dir, err := specDir()
	if err != nil {
		return nil, err
	}
	for _, f := range specFiles {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return nil, fmt.Errorf("%w: %v (the documents are expected in ../shared/zuora-openapi next to the project root, or in $%s)", errNotFound, err, EnvDir)
		}
	}

	// The two documents are independent; loading them in parallel roughly halves the wait.
	type result struct {
		spec *loadedSpec
		adj  []string
		err  error
	}
	results := make(map[Spec]*result, len(specFiles))
	var wg sync.WaitGroup
	for name, file := range specFiles {
		r := &result{}
		results[name] = r
		wg.Go(func() { r.spec, r.adj, r.err = loadSpec(name, filepath.Join(dir, file)) })
	}
	wg.Wait()

	c := &Checker{specs: map[Spec]*loadedSpec{}, dir: dir}
	for _, name := range []Spec{SpecV1, SpecQuickstart} {
		r := results[name]
		if r.err != nil {
			return nil, fmt.Errorf("loading %s spec: %w", name, r.err)
		}
		c.specs[name] = r.spec
		c.adjustments = append(c.adjustments, r.adj...)
	}
	sort.Strings(c.adjustments)
	c.loadTime = time.Since(start)
	return c, nil
}

func loadSpec(name Spec, file string) (*loadedSpec, []string, error) {
	loader := openapi3.NewLoader()
	// Both files are self-contained; never follow a $ref out of the file.
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromFile(file)
	if err != nil {
		return nil, nil, err
	}
	// doc.Validate is deliberately not called: it costs time and fails on documentation-only defects of Zuora's
	// files (responses without a description, a default of the wrong type) that do not affect traffic checks.
	adj := adjustSpec(name, doc)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("building router: %w", err)
	}
	return &loadedSpec{name: name, doc: doc, router: router}, adj, nil
}
