# The two commands of the quick start, and the build they share.
#   make demo   installs what is missing, builds, runs an example under nmr-run -n 3 with one
#               replica's vote corrupted, and shows the outcome
#   make test   installs what is missing, builds, runs every test
#   make build  only builds (build/bin/nmr-run, build/lib/libnmr_shim.so)
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps build test demo bench clean fuzz

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300

demo: build
	@./examples/demo.sh $(BUILD)/bin/nmr-run $(BUILD)/examples/checksum

bench: build
	$(BUILD)/bin/nmr_vote_path_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
	./bench/run.sh $(BUILD)
	./bench/recovery.sh $(BUILD)
	./bench/processes.sh $(BUILD)

# make fuzz: the containment fuzzer (tests/fuzz/README.md): a clang + libFuzzer build of
# its own in FUZZ_BUILD, run for FUZZ_SECONDS. Installs clang if it is missing.
FUZZ_BUILD ?= /tmp/nmr-build-fuzz
FUZZ_SECONDS ?= 60
fuzz: deps
	./tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD)
