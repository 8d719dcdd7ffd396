#!/usr/bin/env bash
# The campaign behind docs/campaign/README.md: K trials per fault kind on each example
# program (examples/), unprotected (nmr-run -n 1) and under TMR with restart, then the merged
# table and chart.   ./docs/campaign/run.sh BUILD_DIR [K] [JOBS]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
k=${2:-63}
jobs=${3:-2}
here=$(cd "$(dirname "$0")" && pwd)
examples=$(cd "$here/../../examples" && pwd)
out="$here/results"
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
seq 1 4000000 >"$work/checksum-input.txt"
campaign=("$build/bin/nmr-campaign" --trials "$k" --seed 2026 -j "$jobs" --min-timeout 3
          --policy "$here/policy.yaml")
cd "$work"
# The store and the JSON summary go to /dev/null: every trial must start from the same state.
"${campaign[@]}" --stdin "$work/checksum-input.txt" --json "$out/checksum.json" \
  --chart "$here/checksum.svg" -- "$build/examples/checksum"
"${campaign[@]}" --json "$out/matmul.json" --chart "$here/matmul.svg" -- "$build/examples/matmul"
"${campaign[@]}" --stdin "$examples/kvstore/commands.txt" --json "$out/kvstore.json" \
  --chart "$here/kvstore.svg" -- "$build/examples/kvstore" /dev/null
"${campaign[@]}" --json "$out/python.json" --chart "$here/python.svg" \
  -- /usr/bin/python3 "$examples/python/wordfreq.py" "$examples/python/input.txt" /dev/null
# One table over the four programs (merge is for shards of one campaign: same program).
/usr/bin/python3 - "$out" >"$out/summary.md" <<'PY'
import json, sys
outcomes = ["benign", "corrected", "detected", "sdc", "crash", "hang"]
print("| program | mode | trials | " + " | ".join(outcomes) + " |")
print("|---|---|---:|" + "---:|" * len(outcomes))
total = {"native": dict.fromkeys(outcomes, 0), "tmr": dict.fromkeys(outcomes, 0)}
for name in ["checksum", "matmul", "kvstore", "python"]:
    doc = json.load(open(f"{sys.argv[1]}/{name}.json"))
    for mode, label in (("native", "unprotected (N=1)"), ("tmr", "TMR (N=3, restart)")):
        counts = doc[mode]
        for o in outcomes:
            total[mode][o] += counts[o]
        print(f"| {name} | {label} | {sum(counts.values())} | " +
              " | ".join(str(counts[o]) for o in outcomes) + " |")
for mode, label in (("native", "unprotected (N=1)"), ("tmr", "TMR (N=3, restart)")):
    print(f"| **all** | {label} | {sum(total[mode].values())} | " +
          " | ".join(str(total[mode][o]) for o in outcomes) + " |")
PY
# And one chart over the four programs.
/usr/bin/python3 - "$out" "$here/chart.svg" "$build/lib/nmr-campaign" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[3])
import campaign_chart, campaign_core
docs = [json.load(open(f"{sys.argv[1]}/{n}.json")) for n in ["checksum", "matmul", "kvstore", "python"]]
combined = {"program": ["the four examples: checksum, matmul, kvstore, python"], "seed": docs[0]["seed"],
            "kinds": docs[0]["kinds"], "trials_per_kind": sum(d["trials_per_kind"] for d in docs),
            "trials": [t for d in docs for t in d["trials"]]}
campaign_chart.draw_chart(campaign_core.with_counts(combined), sys.argv[2])
PY
cat "$out/summary.md"
