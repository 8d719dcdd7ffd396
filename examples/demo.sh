#!/usr/bin/env bash
# make demo: a CRC-32 of 31 MB read from stdin (examples/checksum), natively and under
# nmr-run -n 3 while a soft error hits one replica in the middle of the run: bit 40 of its
# instruction pointer flips (it crashes). The output is still right, the replica is replaced
# by a clone of a verified healthy one, and the run ends with all three.
set -euo pipefail
nmr=${1:-build/bin/nmr-run}
checksum=${2:-build/examples/checksum}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
seq 1 4000000 >"$dir/input.txt"
flip="kind=bitflip-register,replica=1,at_vote=200,register=rip,bit=40,seed=1"

echo "== checksum < input.txt, natively"
"$checksum" <"$dir/input.txt" | tee "$dir/native.out"
echo
echo "== nmr-run -n 3 --inject $flip -- checksum < input.txt"
set +e
"$nmr" -n 3 --inject "$flip" --report "$dir/report.json" -- "$checksum" \
  <"$dir/input.txt" | tee "$dir/nmr.out"
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
print(f"== report: {r['votes']['total']} agreed syscalls")
for i in r["injected"]:
    print(f"   injected:  {i}")
for d in r["divergences"]:
    print(f"   detected:  replica {d['replica']} {d['reason']} at step {d['seq']} (view {d['view']}): {d['detail']}")
for c in r["recoveries"]:
    print(f"   recovered: replica {c['slot']} cloned from replica {c['donor']} (memory checked against "
          f"replica {c['verified_with']}, {c['bytes_compared']} bytes) in {c['ms']:.0f} ms; view {c['view_after']}")
print(f"   final view: replicas {r['views'][-1]['members']}")
PY
