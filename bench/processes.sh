#!/usr/bin/env bash
# Process starts under nmr-run against native, in the same hyperfine invocation (so the
# ratios compare runs taken under the same machine load): fork+exec-heavy work, the kind a
# shell script or a build does.
#
#   ./bench/processes.sh BUILD_DIR      (part of `make bench`)
#
#   loop200   bash -c 'for i in $(seq 200); do /bin/true; done'   (200 forks + execs)
#   make-j2   make -j2 of a three-file C program with gcc (cc1, as, collect2, ld per file)
#
# Each variant reports the median of RUNS timed runs (and min-max: with more replicas than
# cores, runs are bimodal). Results: stdout and bench/results/processes.md.
#   RUNS=7 WARMUP=1
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
RUNS=${RUNS:-7}
WARMUP=${WARMUP:-1}
for tool in hyperfine bash make gcc python3; do
    command -v "$tool" >/dev/null || { echo "bench: '$tool' not found" >&2; exit 1; }
done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/nmr-bench-proc.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# The C project: rebuilt from clean before every timed run (hyperfine --prepare).
mkdir -p "$TMP/proj"
cat >"$TMP/proj/Makefile" <<'MK'
CFLAGS = -O2
prog: main.o a.o b.o
	$(CC) -o $@ $^
%.o: %.c lib.h
	$(CC) $(CFLAGS) -c -o $@ $<
MK
printf 'int a(int);\nint b(int);\n' >"$TMP/proj/lib.h"
printf '#include <stdio.h>\n#include "lib.h"\nint main(void) { printf("%%d\\n", a(2) + b(3)); return 0; }\n' >"$TMP/proj/main.c"
printf '#include "lib.h"\nint a(int x) { return x * x; }\n' >"$TMP/proj/a.c"
printf '#include "lib.h"\nint b(int x) { return x + 1; }\n' >"$TMP/proj/b.c"

LOOP="bash -c 'for i in \$(seq 200); do /bin/true; done'"
MAKE="make -s -C $TMP/proj -j2"
CLEAN="rm -f $TMP/proj/prog $TMP/proj/main.o $TMP/proj/a.o $TMP/proj/b.o"
nmr() { echo "$NMR -n $1 --log-level error -- $2"; }

hyperfine --style basic --runs "$RUNS" --warmup "$WARMUP" --export-json "$TMP/loop.json" \
    -n native "$LOOP" -n n1 "$(nmr 1 "$LOOP")" -n n3 "$(nmr 3 "$LOOP")"
hyperfine --style basic --runs "$RUNS" --warmup "$WARMUP" --prepare "$CLEAN" \
    --export-json "$TMP/make.json" \
    -n native "$MAKE" -n n1 "$(nmr 1 "$MAKE")" -n n3 "$(nmr 3 "$MAKE")"

mkdir -p "$HERE/results"
COMMIT=$(git -C "$HERE/.." rev-parse --short HEAD 2>/dev/null || echo unknown)
python3 - "$TMP" "$COMMIT" "$RUNS" >"$HERE/results/processes.md" <<'PY'
import json, statistics, sys, os
tmp, commit, runs = sys.argv[1], sys.argv[2], sys.argv[3]
print(f"# Process starts under nmr-run (commit {commit}, {os.cpu_count()} CPUs, {runs} runs each)\n")
print("| workload | variant | median s | min-max s | ratio to native |")
print("|---|---|---|---|---|")
for name, label in (("loop", "loop200: 200 x fork+exec /bin/true"), ("make", "make -j2, 3 C files")):
    results = {r["command"]: r for r in json.load(open(os.path.join(tmp, name + ".json")))["results"]}
    native = statistics.median(results["native"]["times"])
    for variant in ("native", "n1", "n3"):
        t = results[variant]["times"]
        m = statistics.median(t)
        print(f"| {label} | {variant} | {m:.3f} | {min(t):.3f}-{max(t):.3f} | {m / native:.1f}x |")
PY
cat "$HERE/results/processes.md"
