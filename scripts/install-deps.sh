#!/usr/bin/env bash
# Installs the Debian packages nmr needs to build, test and benchmark, when any is missing.
# Non-interactive; safe to run again. CI runs it as root on a fresh machine.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libspdlog-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libxxhash-dev nlohmann-json3-dev
  # programs the integration tests and benchmarks run
  coreutils gzip xz-utils sqlite3 python3 strace hyperfine bsdutils
  # gcore (on_divergence: quarantine writes core files with it)
  gdb
  python3-matplotlib
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
