#!/usr/bin/env bash
# shellcheck disable=SC2317
# Runs every example natively (the golden run), then under nmr-run once without a policy and
# once per policy file of that example, each in a fresh directory, and checks that stdout
# (byte for byte), the exit status and the files the program wrote are the golden run's.
#
#   examples/run-examples.sh [-e EXAMPLE]... [-p POLICY]... [-N] NMR_RUN BUILD_EXAMPLES_DIR
#
#   NMR_RUN             the nmr-run to test (build/bin/nmr-run)
#   BUILD_EXAMPLES_DIR  where the example programs were built (build/examples)
#   -e EXAMPLE          only this example (checksum, matmul, kvstore, python); repeatable
#   -p POLICY           run these policy files instead of each example's *.yaml; repeatable;
#                       `-p none` is a run without a policy
#   -N                  no nmr-run: each case runs natively again (checks determinism)
#
# Prints `PASS example/case` or `FAIL example/case` with what differed, one line per case;
# exits 1 if any case failed, 2 on a usage error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=/usr/bin/python3
case_timeout=${NMR_EXAMPLE_TIMEOUT:-300}

usage() {
  sed -n '/^#   examples\/run-examples.sh/,/^#   -N/s/^#   //p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

examples=() policies=() native_only=0
while getopts "e:p:Nh" opt; do
  case $opt in
    e) examples+=("$OPTARG") ;;
    p) [[ $OPTARG == none ]] && policies+=(none) || policies+=("$(realpath "$OPTARG")") ;;
    N) native_only=1 ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[[ $# -eq 2 ]] || usage
nmr_run=$(realpath "$1")
bin=$(realpath "$2")
[[ ${#examples[@]} -gt 0 ]] || examples=(checksum matmul kvstore python)
[[ $native_only -eq 1 || -x $nmr_run ]] || { echo "not executable: $nmr_run" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nmr-examples.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Each example: prepare_X WORKDIR puts its inputs into WORKDIR, and sets `cmd` (the program
# and its arguments, run inside WORKDIR) and `stdin_file`. They are called by name (SC2317).
prepare_checksum() {
  # 4,000,000 numbered lines, about 31 MB: about 470 reads of 64 KiB.
  [[ -f $tmp/checksum.in ]] || seq 1 4000000 >"$tmp/checksum.in"
  cmd=("$bin/checksum") stdin_file=$tmp/checksum.in
}
prepare_matmul() {
  cmd=("$bin/matmul") stdin_file=/dev/null
}
prepare_kvstore() {
  cp "$here/kvstore/seed.db" "$1/store.db"
  cmd=("$bin/kvstore" store.db) stdin_file=$here/kvstore/commands.txt
}
prepare_python() {
  cp "$here/python/input.txt" "$1/input.txt"
  cmd=("$python" "$here/python/wordfreq.py" input.txt summary.json) stdin_file=/dev/null
}

# run DIR [NMR_RUN_ARGS...]: a fresh DIR/work, the program inside it, DIR/{stdout,stderr,status}.
# With no NMR_RUN_ARGS (or -N) the program runs natively.
run() {
  local dir=$1 stdin_file status=0
  local -a cmd wrap=()
  shift
  mkdir -p "$dir/work"
  "prepare_$example" "$dir/work"
  if [[ $# -gt 0 && $native_only -eq 0 ]]; then
    wrap=("$nmr_run" "$@" --report "$dir/report.json" --)
  fi
  (cd "$dir/work" && exec timeout --foreground -k 5 "$case_timeout" "${wrap[@]}" "${cmd[@]}") \
    <"$stdin_file" >"$dir/stdout" 2>"$dir/stderr" || status=$?
  echo "$status" >"$dir/status"
}

# A summary of the report, if there is one: what was injected and what nmr did about it.
summarise() {
  [[ -s $1 ]] || return 0
  "$python" - "$1" <<'PY' 2>/dev/null || true
import json, sys
r = json.load(open(sys.argv[1]))
parts = [f"votes={r.get('votes', {}).get('total', '?')}"]
for key in ("injected", "divergences", "restarts"):
    v = r.get(key)
    if isinstance(v, (list, int)):
        parts.append(f"{key}={len(v) if isinstance(v, list) else v}")
print(" (" + " ".join(parts) + ")", end="")
PY
}

failures=0
check() {
  local name=$1 golden=$2 dir=$3 why=()
  cmp -s "$golden/stdout" "$dir/stdout" || why+=("stdout differs")
  cmp -s "$golden/status" "$dir/status" ||
    why+=("exit status $(cat "$dir/status"), expected $(cat "$golden/status")")
  [[ $(cat "$dir/status") != 124 ]] || why+=("timed out after ${case_timeout}s")
  diff -r -q "$golden/work" "$dir/work" >/dev/null 2>&1 || why+=("files differ")
  if [[ ${#why[@]} -eq 0 ]]; then
    echo "PASS $name$(summarise "$dir/report.json")"
    return
  fi
  failures=$((failures + 1))
  local reasons
  reasons=$(printf '%s; ' "${why[@]}")
  echo "FAIL $name: ${reasons%; }$(summarise "$dir/report.json")"
  if [[ -s $dir/stderr ]]; then
    echo "    stderr (last 10 lines):"
    tail -n 10 "$dir/stderr" | sed 's/^/    /'
  fi
  diff -u "$golden/stdout" "$dir/stdout" | head -n 12 | sed 's/^/    /' || true
  diff -r "$golden/work" "$dir/work" 2>&1 | head -n 12 | sed 's/^/    /' || true
}

for example in "${examples[@]}"; do
  declare -F "prepare_$example" >/dev/null || { echo "unknown example: $example" >&2; exit 2; }
  golden=$tmp/$example/golden
  run "$golden"
  if [[ $(cat "$golden/status") != 0 ]]; then
    echo "note: $example exits $(cat "$golden/status") natively; stderr:"
    sed 's/^/    /' "$golden/stderr"
  fi
  cases=("${policies[@]}")
  [[ ${#policies[@]} -gt 0 ]] || cases=(none "$here/$example"/*.yaml)
  [[ $native_only -eq 0 ]] || cases=(native-again)
  for policy in "${cases[@]}"; do
    label=$(basename "$policy")
    [[ $policy != none ]] || label=no-policy
    dir=$tmp/$example/$label
    case $policy in
      none) run "$dir" -n 3 ;;
      native-again) run "$dir" ;;
      *) run "$dir" -n 3 -p "$policy" ;;
    esac
    check "$example/$label" "$golden" "$dir"
    rm -rf "$dir"
  done
  rm -rf "${tmp:?}/$example"
done
exit $((failures > 0))
