# Sourced by the bench scripts (run.sh, recovery.sh, processes.sh), which take one argument,
# the build directory: sets HERE (bench/), BUILD_DIR and NMR (its nmr-run).
if [[ $# -ne 1 ]]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD_DIR=$(cd "$1" && pwd)
NMR="$BUILD_DIR/bin/nmr-run"
