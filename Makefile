GO ?= go
# Fuzz targets run briefly on `make fuzz`; their seed corpora run on every `make test`.
FUZZTIME ?= 10s

.PHONY: run test vet lint build bench bench-rss soak fuzz

## run: the whole system locally, no configuration (embedded NATS + Zuora simulator + consumer + bridge + samples)
run:
	$(GO) run ./cmd/consumer demo

## test: every test, with the race detector; then the tests at scale at full size (they shrink under -race)
test: vet
	$(GO) test -race -count=1 -timeout 15m ./...
	$(GO) test -count=1 -timeout 5m -run 'AtScale' ./e2e/

vet:
	$(GO) vet ./...

## lint: staticcheck (installed from the Go module proxy on first use)
STATICCHECK_VERSION ?= v0.8.2
lint: vet
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

build:
	$(GO) build -o bin/ ./cmd/...

## bench: every performance figure of docs/PERFORMANCE.md, each measured side by side with its baseline in one run,
## then a table and one `ratio <name> <value>` line per figure (outputs kept in BENCH_OUT)
BENCH_OUT ?= bin/bench
BENCH_COUNT ?= 3
bench:
	@mkdir -p $(BENCH_OUT) && rm -f $(BENCH_OUT)/*.txt
	@echo "== router, flow, usage (e2e)"
	@$(GO) test -run '^$$' -bench '^BenchmarkRouter$$' -benchtime 4000x -count $(BENCH_COUNT) -timeout 10m ./e2e/ > $(BENCH_OUT)/router.txt 2>&1 || { cat $(BENCH_OUT)/router.txt; exit 1; }
	@$(GO) test -run '^$$' -bench '^BenchmarkFlow$$' -benchtime 400x -count $(BENCH_COUNT) -timeout 10m ./e2e/ > $(BENCH_OUT)/flow.txt 2>&1 || { cat $(BENCH_OUT)/flow.txt; exit 1; }
	@$(GO) test -run '^$$' -bench '^BenchmarkUsageBurst$$' -benchtime 4x -count 1 -timeout 10m ./e2e/ > $(BENCH_OUT)/usage.txt 2>&1 || { cat $(BENCH_OUT)/usage.txt; exit 1; }
	@if [ -f e2e/bench_budget_test.go ]; then echo "== budget (e2e)"; \
	  $(GO) test -run '^$$' -bench '^BenchmarkZuoraBudget$$' -benchtime 1x -count 1 -timeout 10m ./e2e/ > $(BENCH_OUT)/budget.txt 2>&1 || { cat $(BENCH_OUT)/budget.txt; exit 1; }; \
	else echo "== budget: e2e/bench_budget_test.go absent, not measured"; fi
	@echo "== bridge"
	@$(GO) test -run '^$$' -bench '^BenchmarkCallouts$$' -benchtime 2000x -count $(BENCH_COUNT) -timeout 10m ./bridge/ > $(BENCH_OUT)/bridge.txt 2>&1 || { cat $(BENCH_OUT)/bridge.txt; exit 1; }
	@echo "== peer-watermill (bench/, a module of its own)"
	@if (cd bench && $(GO) mod download github.com/ThreeDotsLabs/watermill github.com/ThreeDotsLabs/watermill-nats/v2) > $(BENCH_OUT)/peer-download.log 2>&1; then \
	  (cd bench && $(GO) test -run '^$$' -bench '^BenchmarkPeerWatermill$$' -benchtime 4000x -count $(BENCH_COUNT) -timeout 10m ./...) > $(BENCH_OUT)/peer.txt 2>&1 || { cat $(BENCH_OUT)/peer.txt; exit 1; }; \
	else echo "watermill-nats could not be fetched (see $(BENCH_OUT)/peer-download.log)"; fi
	@cat $(BENCH_OUT)/router.txt $(BENCH_OUT)/peer.txt $(BENCH_OUT)/flow.txt $(BENCH_OUT)/budget.txt $(BENCH_OUT)/bridge.txt $(BENCH_OUT)/usage.txt 2>/dev/null | grep -E '^(Benchmark|goos|goarch|cpu|pkg)' || true
	@echo
	@$(GO) run ./internal/benchreport $(BENCH_OUT)/router.txt $(BENCH_OUT)/flow.txt $(BENCH_OUT)/usage.txt \
	  $(BENCH_OUT)/budget.txt $(BENCH_OUT)/bridge.txt $(BENCH_OUT)/peer.txt 'peer-watermill=watermill-nats not available'

## bench-rss: RSS after 1M events over 100k keys and its growth per 100k (docs/PERFORMANCE.md); 10–20 minutes
bench-rss:
	@mkdir -p $(BENCH_OUT)
	@nice $(GO) test -run '^$$' -bench '^BenchmarkRSS$$' -benchtime 1x -count 1 -timeout 60m ./e2e/ > $(BENCH_OUT)/rss.log 2>&1 || { cat $(BENCH_OUT)/rss.log; exit 1; }
	@grep -E '^(rss|ratio|Benchmark)' $(BENCH_OUT)/rss.log

## soak: the reliability soak at full size — the real consumer and bridge binaries on a 3-node JetStream cluster
## with process kills, a node loss, leader changes and Zuora faults, then the effects checker, a full replay and
## a DLQ redrive — a few minutes, ending with its report (docs/OPERATIONS.md, The reliability soak). make test
## runs a smaller one.
soak:
	SOAK=full $(GO) test -count=1 -run '^TestSoak$$' -v -timeout 30m ./e2e/

## fuzz: every fuzz target for FUZZTIME each (their seed corpora also run on every `make test`)
fuzz:
	@set -e; for pkg in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for target in $$(grep -h '^func Fuzz' $$pkg/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "== $$pkg $$target"; $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done
