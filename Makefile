# The two commands: `make run` (server on the embedded profile) and
# `make test` (every test, under AddressSanitizer + UBSan). Both install what
# is missing first.
JOBS ?= $(shell nproc)
RELEASE_DIR := build/release
ASAN_DIR := build/asan
TSAN_DIR := build/tsan
# Under ThreadSanitizer: the worker threads and the memory stages, in process
# and in the real server on the embedded profile.
TSAN_TARGETS := flashsale-server flashsale_plugin_memory flashsale_plugin_sqlite flashsale-loadtest \
	flashsale-memory-tests flashsale-conformance core_tests integration_tests
TSAN_TESTS := memory:|sqlite-persist:|flashsale-memory-tests|core_tests|integration_tests:(2,000 concurrent|the same idem|after a restart|flashsale-loadtest finds)
CONFIG ?= etc/embedded.properties

.PHONY: deps build build-asan run run-stack test bench clean

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

test: test-asan test-tsan

# Every test under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: build-asan
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS) --timeout 900

test-tsan: deps $(TSAN_DIR)/Makefile
	cmake --build $(TSAN_DIR) -j $(JOBS) --target $(TSAN_TARGETS)
	cd $(TSAN_DIR) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp \
		ctest --output-on-failure -j $(JOBS) --timeout 900 -R '$(TSAN_TESTS)'

# Micro-benchmarks and end-to-end comparisons, each beside its baseline; writes
# bench/RESULTS.md and bench/throughput.png (README.md, "Benchmarks"). Release at -O2:
# GCC 12 at -O3 reports a false -Werror=restrict in apps/loadtest.
BENCH_DIR := build/bench
bench: deps
	@bash scripts/install-deps.sh wrk gnuplot-nox redis-tools procps
	cmake -S . -B $(BENCH_DIR) -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" \
		-DBUILD_TESTING=OFF -DFLASHSALE_BENCH=ON
	cmake --build $(BENCH_DIR) -j $(JOBS)
	python3 bench/e2e/run_bench.py --build $(BENCH_DIR)

clean:
	rm -rf build
