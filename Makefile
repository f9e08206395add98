# The test command the README gives and CI runs: unit and integration tests
# with franz-go against in-process brokers, then the compatibility suite
# (Kafka's own Java tools and client, librdkafka, sarama, kafka-go, kafkajs,
# kafka-python), which fetches its tools on first use and caches them, then
# the benchmark harness's smoke mode.
.PHONY: build test gotest compat benchsmoke fuzz

build:
	go build -o samsa ./cmd/samsa

test: gotest compat benchsmoke

gotest:
	go vet ./...
	go test -count=1 -timeout 20m ./...

compat:
	@if [ -x compat/run.sh ]; then compat/run.sh; else echo "compat/run.sh missing"; exit 1; fi

# The benchmark harness in smoke mode (every stage, tiny sizes, one round;
# about two minutes), so it cannot rot. The real runs: bench/run.sh.
benchsmoke:
	bench/smoke_test.sh

# Short fuzzing of every decoder (the seed corpora also run in `go test`).
fuzz:
	go test -run '^$$' -fuzz FuzzValidate -fuzztime 30s ./internal/record
	go test -run '^$$' -fuzz FuzzParseFrames -fuzztime 30s ./internal/metadata
	go test -run '^$$' -fuzz FuzzACLRecord -fuzztime 30s ./internal/metadata
	go test -run '^$$' -fuzz FuzzRecover -fuzztime 30s ./internal/storage
	go test -run '^$$' -fuzz FuzzKeyFile -fuzztime 30s ./internal/storage
	go test -run '^$$' -fuzz FuzzRequest -fuzztime 30s ./internal/broker
	go test -run '^$$' -fuzz FuzzTxnIndex -fuzztime 30s ./internal/storage
	go test -run '^$$' -fuzz FuzzReplay -fuzztime 30s ./internal/coordinator/txn
