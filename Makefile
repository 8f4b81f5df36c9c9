# beamline-router: the two commands a newcomer runs are `make run` and `make test`.
# Everything else (bench, sanitize, format) is for developers. Builds use CMake + Ninja + ccache.

BUILD_DIR ?= build
ASAN_DIR ?= build-asan
JOBS ?= 2
CMAKE_FLAGS ?= -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
RUN_DIR ?= .run

.PHONY: all deps build run test unit-test sanitize format format-check bench bench-check load clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Starts a local nats-server with JetStream and the router with an embedded SQLite store and the
# example policies (docs/QUICKSTART in README). Ctrl-C stops both.
run: build
	@scripts/run-local.sh $(BUILD_DIR) $(RUN_DIR)

# The whole suite: unit, integration (real gRPC over loopback), Python grpcio client.
test: build
	@scripts/run-tests.sh $(BUILD_DIR)

# Unit and integration tests under AddressSanitizer + UndefinedBehaviorSanitizer.
sanitize: deps
	cmake -S . -B $(ASAN_DIR) $(CMAKE_FLAGS) -DROUTER_SANITIZE=ON
	cmake --build $(ASAN_DIR) -j $(JOBS)
	@ROUTER_SANITIZE=1 scripts/run-tests.sh $(ASAN_DIR)

# Benchmarks at full length (bench/*_bench.cc, grpc_decide, nats_decide): prints the
# docs/PERFORMANCE.md tables; raw results in bench/results/<timestamp>/.
bench: build
	@bench/run_all.sh $(BUILD_DIR)

# Compares the newest bench/results/<timestamp>/summary.json (run `make bench` first) with the
# committed baseline of this machine class: throughput -10 %, p99 +20 %, any decide-core
# allocation, RSS +15 % fail (reliability-and-performance.md §1); exit 3 = inconclusive (the
# run's own echo / memory-latency baselines were out of bounds too: a slower host, rerun).
bench-check:
	@latest=$$(ls -d bench/results/*/summary.json 2>/dev/null | sort | tail -1); \
	  [ -n "$$latest" ] || { echo "no bench/results/*/summary.json: run make bench first" >&2; exit 2; }; \
	  base=bench/baseline/$$(python3 bench/check.py machine-class).json; \
	  [ -f "$$base" ] || { echo "no baseline $$base for this machine class" >&2; exit 2; }; \
	  echo "comparing $$latest with $$base"; python3 bench/check.py compare "$$base" "$$latest"

# The predecessor's load cases L1-L3 (reliability-and-performance.md §4) against a real
# nats-server; LOAD_SECONDS (60) sets the sustained run.
load: build
	@bench/load.sh $(BUILD_DIR)

format:
	@git ls-files '*.h' '*.cc' | xargs clang-format -i

format-check:
	@git ls-files '*.h' '*.cc' | xargs clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)

# nats-contracts.md §12 scenario 23: a real router process and nats-server under pushing decides
# paced at SOAK_RATE (2000)/s for a 10 s warm-up plus SOAK_SECONDS (60); zero errors, stream
# count = ok count, no duplicate id, outbox drained, RSS growth after warm-up < 10 %, S9 never
# active. Prints the achieved rate.
.PHONY: soak
soak: build
	ROUTER_SOAK=1 ROUTER_SOAK_SECONDS=$${SOAK_SECONDS:-60} ROUTER_SOAK_RATE=$${SOAK_RATE:-2000} \
	  $(BUILD_DIR)/integration_tests --gtest_filter='NatsRouterProcessTest.Scenario23Soak'
