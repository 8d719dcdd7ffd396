#!/usr/bin/env bash
# Recovery benchmarks (make bench runs this after run.sh):
#   1. time to recover (detection -> clone reported) and the memory digest's cost, for a
#      small C program and for a Python process holding a 500 MB heap;
#   2. scrubbing's overhead on a compute kernel (examples/matmul) at scrub interval 1000 ms,
#      against nmr-run -n 3 without scrubbing and native, in one hyperfine invocation.
#
#   ./bench/recovery.sh BUILD_DIR
#
# Figures come from nmr-run's own --report (recoveries[].ms, digest_ms, bytes_compared),
# median of RUNS runs (default 5). The table goes to stdout and bench/results/recovery.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
PY=/usr/bin/python3
RUNS=${RUNS:-5}
HEAP_MB=${HEAP_MB:-500}
OUT="$HERE/results/recovery.md"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One restart per run: replica 1 is killed at its first write (after the heap is built).
measure() {  # NAME ARGV...
  local name=$1; shift
  for i in $(seq "$RUNS"); do
    "$NMR" -n 3 --log-level error --report "$tmp/r$i.json" \
      --inject kind=kill,replica=1,at_vote=1,syscall=write -- "$@" >/dev/null
  done
  "$PY" - "$name" "$tmp" "$RUNS" <<'PY'
import json, statistics, sys
name, tmp, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
rec = [json.load(open(f"{tmp}/r{i}.json"))["recoveries"][0] for i in range(1, runs + 1)]
ms = statistics.median(r["ms"] for r in rec)
digest = statistics.median(r["digest_ms"] for r in rec)
mb = statistics.median(r["bytes_compared"] for r in rec) / 2**20
lo, hi = min(r["ms"] for r in rec), max(r["ms"] for r in rec)
print(f"| {name} | {runs} | {ms:.0f} ({lo:.0f}-{hi:.0f}) | {mb:.1f} | {digest:.0f} | {digest / mb * 1024:.0f} |")
PY
}

{
  echo "# nmr-run recovery benchmarks"
  echo
  echo "- machine: $(nproc) CPUs, kernel $(uname -r), load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- nmr commit $(git -C "$HERE" describe --always --dirty 2>/dev/null || echo unknown); $RUNS runs each, medians (min-max)"
  echo "- recovery: nmr-run -n 3, replica 1 killed at its first write; ms = detection to the clone reporting in;"
  echo "  digest = both surviving members' writable memory, digested to verify the donor (bytes and ms summed over the two)"
  echo
  echo "| program | runs | recovery ms | MiB digested | digest ms | digest ms per GiB |"
  echo "|---|---:|---:|---:|---:|---:|"
  measure "write_lines 50 (small C program)" "$BUILD_DIR/tests/programs/write_lines" 50
  measure "python3, ${HEAP_MB} MB bytearray heap" "$PY" -c \
    "x = bytearray(b'\x01') * ($HEAP_MB << 20); print('ready', flush=True); print(sum(x[::4096]))"
  echo
  echo "## Scrubbing overhead (examples/matmul, default size)"
  echo
  hyperfine --shell=none --runs "$RUNS" --warmup 1 --export-json "$tmp/h.json" \
    -n native "$BUILD_DIR/examples/matmul" \
    -n "nmr-run -n 3" "$NMR -n 3 --log-level error -- $BUILD_DIR/examples/matmul" \
    -n "nmr-run -n 3, scrub 1000 ms" "$NMR -n 3 --log-level error -p $HERE/scrub-1000.yaml -- $BUILD_DIR/examples/matmul" \
    >/dev/null 2>&1
  "$PY" - "$tmp/h.json" <<'PY'
import json, statistics, sys
results = json.load(open(sys.argv[1]))["results"]
base = statistics.median(results[1]["times"])
print("| variant | median s | min-max s | vs nmr-run -n 3 |")
print("|---|---:|---:|---:|")
for r in results:
    m = statistics.median(r["times"])
    print(f"| {r['command']} | {m:.3f} | {min(r['times']):.3f}-{max(r['times']):.3f} | {m / base:.2f}x |")
PY
} | tee "$OUT"
