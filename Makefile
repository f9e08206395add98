# The test command the README gives and CI runs: unit and integration tests
# with franz-go against in-process brokers, then the compatibility suite
# (Kafka's own Java tools and client, librdkafka, sarama, kafka-go, kafkajs,
# kafka-python), which fetches its tools on first use and caches them.
.PHONY: build test gotest compat fuzz

build:
	go build -o samsa ./cmd/samsa

test: gotest compat

gotest:
	go vet ./...
	go test -count=1 -timeout 20m ./...

compat:
	@if [ -x compat/run.sh ]; then compat/run.sh; else echo "compat/run.sh missing"; exit 1; fi

# Short fuzzing of every decoder (the seed corpora also run in `go test`).
fuzz:
	go test -run '^$$' -fuzz FuzzValidate -fuzztime 30s ./internal/record
	go test -run '^$$' -fuzz FuzzParseFrames -fuzztime 30s ./internal/metadata
	go test -run '^$$' -fuzz FuzzRecover -fuzztime 30s ./internal/storage
	go test -run '^$$' -fuzz FuzzRequest -fuzztime 30s ./internal/broker
