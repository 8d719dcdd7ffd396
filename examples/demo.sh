#!/usr/bin/env bash
# make demo: runs a real program natively and under nmr-run -n 3 with one replica's vote
# corrupted (a bit flipped in the bytes it asks to write), and shows that the output is
# still right and what was outvoted.
set -euo pipefail
nmr=${1:-build/bin/nmr-run}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf 'pear\napple\nfig\nbanana\ncherry\n' >"$dir/fruit.txt"

echo "== sort fruit.txt, natively"
sort "$dir/fruit.txt" | tee "$dir/native.out"
echo
echo "== nmr-run -n 3 --inject kind=corrupt-vote,replica=1,syscall=write,at_vote=1 -- sort fruit.txt"
set +e
"$nmr" -n 3 --inject kind=corrupt-vote,replica=1,syscall=write,at_vote=1 \
  --report "$dir/report.json" -- sort "$dir/fruit.txt" | tee "$dir/nmr.out"
status=${PIPESTATUS[0]}
set -e
echo
if cmp -s "$dir/native.out" "$dir/nmr.out"; then
  echo "== output identical to the native run; nmr-run exited $status"
else
  echo "== OUTPUT DIFFERS from the native run (nmr-run exited $status)"; exit 1
fi
/usr/bin/python3 - "$dir/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"== report: {r['votes']['total']} agreed syscalls, {len(r['divergences'])} divergence(s)")
for i in r["injected"]:
    print(f"   injected: {i}")
for d in r["divergences"]:
    print(f"   outvoted: replica {d['replica']} at vote {d['seq']} (view {d['view']}): {d['detail']}")
print(f"   final view: replicas {r['views'][-1]['members']}")
PY
