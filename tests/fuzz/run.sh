#!/usr/bin/env bash
# make fuzz: builds nmr_channel_fuzz with clang and libFuzzer in a separate build directory
# and runs it for FUZZ_SECONDS. Usage: tests/fuzz/run.sh BUILD_DIR SECONDS
# Installs clang (Debian: clang, libclang-rt-dev) if clang++ cannot link -fsanitize=fuzzer.
set -euo pipefail
build=${1:-/tmp/nmr-build-fuzz}
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

have_libfuzzer() {
  command -v clang++ >/dev/null 2>&1 || return 1
  local dir
  dir=$(mktemp -d)
  printf '#include <cstddef>\n#include <cstdint>\nextern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n' \
    >"$dir/probe.cc"
  clang++ -fsanitize=fuzzer "$dir/probe.cc" -o "$dir/probe" >/dev/null 2>&1
  local status=$?
  rm -rf "$dir"
  return $status
}

if ! have_libfuzzer; then
  echo "fuzz: clang++ with libFuzzer not found; installing clang and libclang-rt-dev" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  if ! { $sudo apt-get update -qq &&
         $sudo apt-get install -y -qq --no-install-recommends clang libclang-rt-dev >/dev/null; } ||
     ! have_libfuzzer; then
    echo "fuzz: cannot get clang++ with libFuzzer (-fsanitize=fuzzer). Install clang and its" >&2
    echo "      compiler runtime (Debian/Ubuntu: apt-get install clang libclang-rt-dev), then" >&2
    echo "      run make fuzz again." >&2
    exit 1
  fi
fi

if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DNMR_FUZZ=ON
fi
cmake --build "$build" --target nmr_channel_fuzz

# The seeds (tests/fuzz/corpus, checked in) stay read-only; what the fuzzer finds goes to
# $build/corpus; a crashing input to $build/artifacts.
mkdir -p "$build/corpus" "$build/artifacts"
echo "fuzz: running nmr_channel_fuzz for ${seconds}s (corpus $build/corpus)" >&2
status=0
"$build/bin/nmr_channel_fuzz" "$build/corpus" "$here/corpus" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=8192 \
  -artifact_prefix="$build/artifacts/" -print_final_stats=1 || status=$?
if [ $status -ne 0 ]; then
  echo "fuzz: nmr_channel_fuzz failed; reproduce with" >&2
  echo "      $build/bin/nmr_channel_fuzz $build/artifacts/<crash-file>" >&2
  echo "      (copy the file into tests/fuzz/corpus/ to replay it in nmr_unit_tests)" >&2
fi
exit $status
