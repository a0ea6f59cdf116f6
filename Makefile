GO ?= go
# Fuzz targets run briefly on `make fuzz`; their seed corpora run on every `make test`.
FUZZTIME ?= 10s

.PHONY: run test vet lint build bench fuzz

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

## bench: the pipeline benchmark next to a bare JetStream consume+ack loop, same server, same run
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./e2e/

## fuzz: every fuzz target for FUZZTIME each (their seed corpora also run on every `make test`)
fuzz:
	@set -e; for pkg in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for target in $$(grep -h '^func Fuzz' $$pkg/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "== $$pkg $$target"; $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done
