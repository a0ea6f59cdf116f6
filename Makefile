GO ?= go
# Fuzz targets run briefly on `make fuzz`; their seed corpora run on every `make test`.
FUZZTIME ?= 10s

.PHONY: run test vet build bench fuzz

## run: the whole system locally, no configuration (embedded NATS + Zuora simulator + consumer + bridge + samples)
run:
	$(GO) run ./cmd/consumer demo

## test: every test, with the race detector
test: vet
	$(GO) test -race -count=1 -timeout 15m ./...

vet:
	$(GO) vet ./...

build:
	$(GO) build -o bin/ ./cmd/...

## bench: the pipeline benchmark next to a bare JetStream consume+ack loop, same server, same run
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./e2e/

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzFromMsg -fuzztime $(FUZZTIME) ./events/
	$(GO) test -run '^$$' -fuzz FuzzKeyRoundTrip -fuzztime $(FUZZTIME) ./events/
	$(GO) test -run '^$$' -fuzz FuzzDecodeData -fuzztime $(FUZZTIME) ./events/
	$(GO) test -run '^$$' -fuzz FuzzEncodeKey -fuzztime $(FUZZTIME) ./idmap/
