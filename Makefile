# The two commands: `make run` (server on the embedded profile) and
# `make test` (every test, under AddressSanitizer + UBSan). Both install what
# is missing first.
JOBS ?= $(shell nproc)
RELEASE_DIR := build/release
ASAN_DIR := build/asan
CONFIG ?= etc/embedded.properties

.PHONY: deps build build-asan run run-stack test clean

deps:
	@bash scripts/install-deps.sh

$(RELEASE_DIR)/build.ninja $(RELEASE_DIR)/Makefile:
	cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF

$(ASAN_DIR)/Makefile:
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DFLASHSALE_SANITIZE=address,undefined

build: deps $(RELEASE_DIR)/Makefile
	cmake --build $(RELEASE_DIR) -j $(JOBS)

build-asan: deps $(ASAN_DIR)/Makefile
	cmake --build $(ASAN_DIR) -j $(JOBS)

run: build
	$(RELEASE_DIR)/bin/flashsale-server --config $(CONFIG)

# Redis + the dev broker + the server on etc/flashsale.properties; Ctrl-C stops all.
run-stack: build
	bash scripts/run-stack.sh

test: build-asan
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS) --timeout 900

clean:
	rm -rf build
