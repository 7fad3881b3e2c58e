# The two commands: `make run` (server on the embedded profile) and
# `make test` (every test under AddressSanitizer + UBSan, the threads under
# ThreadSanitizer, then the fuzzers). Both install what is missing first.
JOBS ?= $(shell nproc)
RELEASE_DIR := build/release
ASAN_DIR := build/asan
TSAN_DIR := build/tsan
FUZZ_DIR := build/fuzz
FUZZ_HARNESSES := request_parser json
FUZZ_SECONDS ?= 45
# A fixed seed makes `make test` repeat the same mutations run after run, so
# CI stays reproducible; FUZZ_SEED=0 lets libFuzzer pick one (longer hunts).
FUZZ_SEED ?= 1
# Under ThreadSanitizer: the worker threads and the memory stages, in process
# and in the real server on the embedded profile; the redis family's pipeline
# (its I/O threads, the cluster's slot map and its refresher), stock shards
# and WAIT, on one Redis and on a cluster.
TSAN_TARGETS := flashsale-server flashsale_plugin_memory flashsale_plugin_sqlite flashsale-loadtest \
	flashsale-memory-tests flashsale-conformance core_tests integration_tests redis_tests redis_cluster_tests
TSAN_TESTS := memory:|sqlite-persist:|flashsale-memory-tests|core_tests|integration_tests:(2,000 concurrent|the same idem|after a restart|flashsale-loadtest finds|an unpaid order is cancelled|a cancel returns the stock)|redis_tests:(pipeline|sharded stock|redis durability|admit batches|64 threads|500 users)|redis_cluster_tests:redis cluster
CONFIG ?= etc/embedded.properties

.PHONY: deps build build-asan run run-stack test test-fuzz bench clean

deps:
	@bash scripts/install-deps.sh

$(RELEASE_DIR)/build.ninja $(RELEASE_DIR)/Makefile:
	cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF

$(ASAN_DIR)/Makefile:
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DFLASHSALE_SANITIZE=address,undefined

$(TSAN_DIR)/Makefile:
	cmake -S . -B $(TSAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DFLASHSALE_SANITIZE=thread

build: deps $(RELEASE_DIR)/Makefile
	cmake --build $(RELEASE_DIR) -j $(JOBS)

build-asan: deps $(ASAN_DIR)/Makefile
	cmake --build $(ASAN_DIR) -j $(JOBS)

run: build
	$(RELEASE_DIR)/bin/flashsale-server --config $(CONFIG)

# Redis + the dev broker + the server on etc/flashsale.properties; Ctrl-C stops all.
run-stack: build
	bash scripts/run-stack.sh

test: test-asan test-tsan test-fuzz

# Every test under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: build-asan
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS) --timeout 900

test-tsan: deps $(TSAN_DIR)/Makefile
	cmake --build $(TSAN_DIR) -j $(JOBS) --target $(TSAN_TARGETS)
	cd $(TSAN_DIR) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		ctest --output-on-failure -j $(JOBS) --timeout 900 -R '$(TSAN_TESTS)'

# The libFuzzer harnesses of the parsers that read network bytes (tests/fuzz/),
# each for FUZZ_SECONDS on a copy of its checked-in corpus: what the fuzzer
# adds to a corpus stays out of the repo. A crash, leak, hang or broken
# invariant fails the target and leaves its input in $(FUZZ_DIR)/artifacts/.
# libFuzzer is clang's, so this is a small project of its own built with clang.
test-fuzz: deps
	@bash scripts/install-deps.sh clang libclang-rt-14-dev
	cmake -S tests/fuzz -B $(FUZZ_DIR) -DCMAKE_CXX_COMPILER=clang++
	cmake --build $(FUZZ_DIR) -j $(JOBS)
	@mkdir -p $(FUZZ_DIR)/artifacts
	@set -e; work=$$(mktemp -d); trap 'rm -rf "$$work"' EXIT; \
	for harness in $(FUZZ_HARNESSES); do \
		cp -r tests/fuzz/corpus/$$harness $$work/$$harness; \
		echo "fuzzing $$harness for $(FUZZ_SECONDS) s"; \
		if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(FUZZ_DIR)/$${harness}_fuzz \
			-max_total_time=$(FUZZ_SECONDS) -seed=$(FUZZ_SEED) -timeout=5 -rss_limit_mb=2048 \
			-artifact_prefix=$(FUZZ_DIR)/artifacts/$$harness- $$work/$$harness >$$work/$$harness.log 2>&1; then \
			grep -h '^Done' $$work/$$harness.log; \
		else \
			tail -n 60 $$work/$$harness.log; echo "$$harness: the fuzzer failed (input in $(FUZZ_DIR)/artifacts/)"; exit 1; \
		fi; \
	done

# Micro-benchmarks and end-to-end comparisons, each beside its baseline; writes
# bench/RESULTS.md and bench/throughput.png (bench/README.md). Release at -O2:
# GCC 12 at -O3 reports a false -Werror=restrict in apps/loadtest.
BENCH_DIR := build/bench
bench: deps
	@bash scripts/install-deps.sh wrk gnuplot-nox redis-tools procps nginx
	cmake -S . -B $(BENCH_DIR) -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" \
		-DBUILD_TESTING=OFF -DFLASHSALE_BENCH=ON
	cmake --build $(BENCH_DIR) -j $(JOBS)
	python3 bench/e2e/run_bench.py --build $(BENCH_DIR)

clean:
	rm -rf build
