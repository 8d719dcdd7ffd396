#!/usr/bin/env bash
# Whole-process wall-time benchmark of nmr-run against the same programs run natively.
#
#   ./bench/run.sh BUILD_DIR        (what `make bench` runs, with BUILD_DIR=build)
#
# For each benchmark, one hyperfine invocation times every variant (native, nmr-run -n 1,
# nmr-run -n 3, and for dd also strace -f as the ptrace reference), so the ratios compare
# runs taken minutes apart under the same machine load. Each variant reports the MEDIAN of
# its timed runs. The table goes to stdout and to bench/results/latest.md.
#
# Knobs (environment variables; defaults keep the run to a couple of minutes on 2 cores):
#   DD_COUNT=5000       dd blocks of 64 bytes (about 2 syscalls per block)
#   DD_RUNS=10          timed runs per dd variant        (DD_WARMUP=2)
#   XZ_KIB=2048         size of the generated text xz -9 compresses, in KiB
#   XZ_RUNS=7           timed runs per xz variant        (XZ_WARMUP=1)
#   PY_RUNS=10          timed runs per python3 variant   (PY_WARMUP=2)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
PY=/usr/bin/python3
RESULTS_DIR="$HERE/results"
RESULTS="$RESULTS_DIR/latest.md"

DD_COUNT=${DD_COUNT:-5000}
DD_RUNS=${DD_RUNS:-10}
DD_WARMUP=${DD_WARMUP:-2}
XZ_KIB=${XZ_KIB:-2048}
XZ_RUNS=${XZ_RUNS:-7}
XZ_WARMUP=${XZ_WARMUP:-1}
PY_RUNS=${PY_RUNS:-10}
PY_WARMUP=${PY_WARMUP:-2}

for tool in hyperfine strace dd xz "$PY"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "bench: '$tool' not found (hyperfine, strace, dd, xz and /usr/bin/python3 are needed)" >&2
        exit 1
    fi
done
if [[ ! -x "$NMR" ]]; then
    echo "bench: $NMR not found; run 'make build' first" >&2
    exit 1
fi

LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)  # before anything of ours runs
TMP=$(mktemp -d "${TMPDIR:-/tmp}/nmr-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# Absolute paths so hyperfine (run with --shell=none, since nmr-run cannot run a shell's
# fork) execs exactly these binaries.
DD=$(command -v dd)
XZ=$(command -v xz)
STRACE=$(command -v strace)

# ---------------------------------------------------------------- input data for xz
# Deterministic, moderately compressible text (about 4.5:1 with xz -9): lines of made-up
# words drawn with a Zipf-like frequency from a seeded PRNG. /usr/share/dict is not on
# every machine, and seq output is too regular (over 25:1).
XZ_DATA="$TMP/words.txt"
"$PY" - "$XZ_DATA" "$((XZ_KIB * 1024))" <<'PYGEN'
import random, sys
path, size = sys.argv[1], int(sys.argv[2])
r = random.Random(20240601)
syl = ["ka", "to", "ri", "men", "sa", "lo", "vi", "dor", "el", "an", "qu", "is",
       "ber", "nu", "pha", "ste", "o", "ix", "gra", "wen", "tu", "zel"]
vocab = ["".join(r.choice(syl) for _ in range(r.randint(1, 4))) for _ in range(6000)]
weights = [1.0 / (i + 1) for i in range(len(vocab))]
out, n = [], 0
while n < size:
    line = " ".join(r.choices(vocab, weights=weights, k=r.randint(6, 14))) + "\n"
    out.append(line)
    n += len(line)
with open(path, "w") as f:
    f.write("".join(out)[:size])
PYGEN
XZ_SHA=$(sha256sum "$XZ_DATA" | cut -c1-16)

# ---------------------------------------------------------------- commands
DD_CMD="$DD if=/dev/zero of=/dev/null bs=64 count=$DD_COUNT status=none"
XZ_CMD="$XZ -9 -c $XZ_DATA"
PY_CMD="$PY -c pass"

nmr_cmd() { # N CMD
    echo "$NMR -n $1 --log-level error -- $2"
}

# ---------------------------------------------------------------- preflight
# One run of every nmr-run variant with --report, before timing: it checks that nmr-run
# completes the program (a variant that fails is reported with its exact command and error,
# and left out of the timing), and its report's votes.total gives the agreed syscalls.
declare -A FAILED=()
preflight() { # KEY N CMD
    local key=$1 n=$2 cmd=$3 rc=0
    # shellcheck disable=SC2086  # the command line is split on purpose
    "$NMR" -n "$n" --log-level error --report "$TMP/$key.report.json" -- $cmd \
        >/dev/null 2>"$TMP/$key.stderr" || rc=$?
    if [[ $rc -ne 0 ]]; then
        FAILED[$key]=1
        {
            echo "bench: nmr-run FAILED (exit $rc), left out of the timing:"
            echo "  command: $(nmr_cmd "$n" "$cmd")"
            sed 's/^/  stderr: /' "$TMP/$key.stderr" | tail -n 5
        } | tee -a "$TMP/failures.txt" >&2
    fi
}

echo "bench: preflight (one reported run of each nmr-run variant)..."
for n in 1 3; do
    preflight "dd-n$n" "$n" "$DD_CMD"
    preflight "xz-n$n" "$n" "$XZ_CMD"
    preflight "py-n$n" "$n" "$PY_CMD"
done

# Syscalls dd makes natively (all of them, not only the ones nmr votes on), counted once.
# shellcheck disable=SC2086  # the command line is split on purpose
"$STRACE" -c -f -o "$TMP/dd.strace-c" $DD_CMD >/dev/null 2>"$TMP/dd.strace-c.stderr" || {
    echo "bench: strace -c -f $DD_CMD failed:" >&2
    cat "$TMP/dd.strace-c.stderr" >&2
    exit 1
}
DD_SYSCALLS=$(awk '$NF == "total" { print $4 }' "$TMP/dd.strace-c")

# ---------------------------------------------------------------- timing
# bench NAME RUNS WARMUP VARIANT CMD [VARIANT CMD]...
bench() {
    local name=$1 runs=$2 warmup=$3
    shift 3
    local args=() variant cmd
    while [[ $# -gt 0 ]]; do
        variant=$1 cmd=$2
        shift 2
        if [[ -n "${FAILED[$name-$variant]:-}" ]]; then
            continue
        fi
        args+=(--command-name "$variant" "$cmd")
    done
    echo
    echo "bench: $name: $runs runs (+$warmup warmup) of each variant..."
    # --ignore-failure: a run that exits non-zero is still timed; the report leaves it out
    # of the median and says how many there were, instead of aborting the whole benchmark.
    hyperfine --shell=none --style basic --output null --ignore-failure \
        --warmup "$warmup" --runs "$runs" \
        --export-json "$TMP/$name.json" "${args[@]}"
}

# Variant names n1/n3 match the preflight keys (dd-n1, ...).
bench dd "$DD_RUNS" "$DD_WARMUP" \
    native "$DD_CMD" \
    strace "$STRACE -f -o /dev/null $DD_CMD" \
    n1 "$(nmr_cmd 1 "$DD_CMD")" \
    n3 "$(nmr_cmd 3 "$DD_CMD")"
bench xz "$XZ_RUNS" "$XZ_WARMUP" \
    native "$XZ_CMD" \
    n1 "$(nmr_cmd 1 "$XZ_CMD")" \
    n3 "$(nmr_cmd 3 "$XZ_CMD")"
bench py "$PY_RUNS" "$PY_WARMUP" \
    native "$PY_CMD" \
    n1 "$(nmr_cmd 1 "$PY_CMD")" \
    n3 "$(nmr_cmd 3 "$PY_CMD")"

# ---------------------------------------------------------------- report
mkdir -p "$RESULTS_DIR"
export TMP DD_COUNT DD_RUNS DD_WARMUP XZ_KIB XZ_RUNS XZ_WARMUP PY_RUNS PY_WARMUP \
    DD_SYSCALLS XZ_SHA DD_CMD XZ_CMD PY_CMD NMR
HYPERFINE_VERSION=$(hyperfine --version)
NPROC=$(nproc)
KERNEL=$(uname -r)
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
COMMIT=$(git -C "$HERE/.." rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git -C "$HERE/.." diff --quiet HEAD -- 2>/dev/null; then
    COMMIT="$COMMIT+dirty"
fi
export HYPERFINE_VERSION NPROC KERNEL CPU LOADAVG COMMIT
"$PY" - >"$TMP/latest.md" <<'PYREPORT'
import json, os, statistics

env = os.environ
tmp = env["TMP"]

def load(name):
    path = os.path.join(tmp, name + ".json")
    if not os.path.exists(path):
        return {}
    out = {}
    for r in json.load(open(path))["results"]:
        times = r["times"]
        codes = r.get("exit_codes") or [0] * len(times)
        ok = [t for t, c in zip(times, codes) if c == 0]
        out[r["command"]] = {
            "runs": len(times),
            "failed": len(times) - len(ok),
            "median": statistics.median(ok) if ok else None,
            "min": min(ok) if ok else None,
            "max": max(ok) if ok else None,
        }
    return out

def votes(key):
    path = os.path.join(tmp, key + ".report.json")
    try:
        return json.load(open(path))["votes"]["total"]
    except (OSError, ValueError, KeyError):
        return None

def ms(s):
    return "—" if s is None else f"{s * 1e3:,.1f}"

def ratio(a, b):
    return "—" if a is None or b is None else f"{a / b:.2f}×"

benches = [
    ("dd", f"dd bs=64 count={env['DD_COUNT']} (syscall-heavy)", env["DD_CMD"]),
    ("xz", f"xz -9 -c, {env['XZ_KIB']} KiB text (compute-bound)", env["XZ_CMD"]),
    ("py", "python3 -c pass (interpreter start-up)", env["PY_CMD"]),
]
labels = {"native": "native", "strace": "strace -f", "n1": "nmr-run -n 1", "n3": "nmr-run -n 3"}
failures = open(os.path.join(tmp, "failures.txt")).read() if os.path.exists(os.path.join(tmp, "failures.txt")) else ""

L = []
L.append("# nmr-run benchmark: whole-process wall time")
L.append("")
L.append(f"- machine: {env['NPROC']} CPUs ({env['CPU']}), kernel {env['KERNEL']}, "
         f"load average at start {env['LOADAVG']}")
L.append(f"- nmr commit {env['COMMIT']}; {env['HYPERFINE_VERSION']}, `--shell=none`, output to /dev/null")
L.append(f"- runs per variant (after warmup): dd {env['DD_RUNS']} (+{env['DD_WARMUP']}), "
         f"xz {env['XZ_RUNS']} (+{env['XZ_WARMUP']}), python3 {env['PY_RUNS']} (+{env['PY_WARMUP']}); "
         "all variants of a benchmark in one hyperfine invocation")
L.append("- reported: the MEDIAN wall time of the runs that exited 0 (min–max alongside); "
         "ratios are median / median of native (and of strace -f for dd); votes = agreed syscalls "
         "in the nmr-run `--report` of one untimed run")
L.append(f"- xz input: {env['XZ_KIB']} KiB of generated text, sha256 {env['XZ_SHA']}…; "
         "nmr variants: `nmr-run -n N --log-level error -- PROGRAM ARGS`")
L.append("")
L.append("| benchmark | variant | runs | median ms | min–max ms | vs native | vs strace | votes |")
L.append("|---|---|---:|---:|---:|---:|---:|---:|")
results = {}
for key, title, _ in benches:
    res = load(key)
    results[key] = res
    native = res.get("native", {}).get("median")
    strace = res.get("strace", {}).get("median")
    variants = ["native", "strace", "n1", "n3"] if key == "dd" else ["native", "n1", "n3"]
    for v in variants:
        r = res.get(v)
        if r is None:
            L.append(f"| {title} | {labels[v]} | — | FAILED (see below) | | | | |")
            continue
        runs = str(r["runs"]) + (f" ({r['failed']} failed)" if r["failed"] else "")
        spread = "—" if r["min"] is None else f"{ms(r['min'])}–{ms(r['max'])}"
        vs_strace = ratio(r["median"], strace) if key == "dd" else ""
        nv = votes(f"{key}-{v}") if v in ("n1", "n3") else None
        L.append(f"| {title} | {labels[v]} | {runs} | {ms(r['median'])} | {spread} | "
                 f"{ratio(r['median'], native)} | {vs_strace} | {'' if nv is None else nv} |")

dd = results["dd"]
native = dd.get("native", {}).get("median")
sc = int(env["DD_SYSCALLS"]) if env.get("DD_SYSCALLS") else None
L.append("")
L.append("## dd: syscall rate and cost per agreed syscall")
L.append("")
L.append(f"- syscalls dd makes natively (`strace -c -f`, once): {sc if sc is not None else '—'}")
L.append("")
L.append("| variant | syscalls counted | syscalls/s | overhead µs per syscall |")
L.append("|---|---:|---:|---:|")
def rate(n, t):
    return "—" if n is None or not t else f"{n / t:,.0f}"
for v in ["native", "strace", "n1", "n3"]:
    t = dd.get(v, {}).get("median")
    if v in ("native", "strace"):
        n, what = sc, "strace -c"
    else:
        n, what = votes("dd-" + v), "votes.total"
    if t is None:
        L.append(f"| {labels[v]} | — (variant failed) | — | — |")
        continue
    over = "—"
    if v != "native" and n and t is not None and native is not None:
        over = f"{(t - native) / n * 1e6:.1f}"
    L.append(f"| {labels[v]} | {n if n is not None else '—'} ({what}) | {rate(n, t)} | {over} |")
L.append("")
L.append("Overhead per syscall = (median of the variant − median native) / syscalls; for nmr-run the "
         "divisor is the report's `votes.total` (syscalls the replicas agreed on, each executed once), "
         "for strace -f it is the native strace -c count.")
if failures:
    L.append("")
    L.append("## Failures")
    L.append("")
    L.append("```")
    L.append(failures.rstrip())
    L.append("```")
print("\n".join(L))
PYREPORT

cp "$TMP/latest.md" "$RESULTS"
echo
cat "$RESULTS"
echo
echo "bench: written to $RESULTS"
