#!/bin/bash
# Benchmark: vmreport against drgn and crash on the same real dumps,
# interleaved over several rounds; prints medians, max RSS and the ratios
# (tests/bench/bench.py says what each tool does). Timings never decide a
# test's outcome; this is for people, and its output on a known machine is
# kept in docs/performance.md.
#
#   tests/bench/bench.sh [--rounds N] [--no-others] [DUMP...]
#                     (default: the rig's 6.1 sysrq and null-deref dumps,
#                      then the 512 MiB / 4 GiB comparison and --batch)
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
for tool in crash drgn /usr/bin/time; do
	command -v "$tool" >/dev/null || {
		echo "bench: installing crash, python3-drgn, time" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			crash python3-drgn time >&2
		break
	}
done
exec /usr/bin/python3 "$src/tests/bench/bench.py" "$@"
