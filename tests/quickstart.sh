#!/bin/bash
# Build vmreport (installing any missing Debian packages first) and report
# on the real crash dump shipped in testdata/.
#
#   tests/quickstart.sh [BUILD_DIR]      (default: build)
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$src/build}
"$src/tests/deps.sh"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target vmreport
echo "== $build/vmreport $src/testdata/sample.vmcore" >&2
"$build/vmreport" "$src/testdata/sample.vmcore"
