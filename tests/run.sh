#!/bin/bash
# Build vmreport and run the whole test suite: unit tests, generated-fixture
# tests, fuzz-corpus replays, and the real-dump tier (kernels crashed under
# QEMU by tests/rig, cached under /var/cache/vmreport-rig). Installs missing
# Debian packages first. Warnings are errors here; the unit and fixture
# tiers, and the corruption sweeps on real dumps, also run under
# AddressSanitizer and UBSan.
#
#   tests/run.sh [-L REGEX]     run only the ctest labels matching REGEX
#                               (unit, fixture, real)
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
labels=
if [[ ${1:-} == -L ]]; then
	labels=$2
fi
jobs=$(nproc)

# The rig's packages and kernels, and the rig itself, only when the real
# tier runs: the unit and fixture tiers need neither QEMU nor a kernel.
if [[ -z $labels || real =~ $labels ]]; then
	# shellcheck disable=SC2086 # one release a word
	"$src/tests/deps.sh" --rig ${VR_RIG_KERNELS:-}
	# Crash the kernels once, before the tests run in parallel: every
	# real-dump test then reads the same cached dumps (a warm run costs
	# seconds). The kernels: Debian 11's newest 5.10, Debian 12's newest
	# 6.1 and 6.12, and the newest cloud kernel in Debian's archive
	# (tests/rig/rig.sh).
	for k in ${VR_RIG_KERNELS:-5.10 6.1 6.12 newest}; do
		echo "== crash rig: kernel $k" >&2
		"$src/tests/rig/rig.sh" -k "$k" >/dev/null
	done
else
	"$src/tests/deps.sh"
fi

cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVR_WERROR=ON >/dev/null
cmake --build "$src/build" -j"$jobs"

if [[ -z $labels || unit =~ $labels || fixture =~ $labels ]]; then
	cmake -S "$src" -B "$src/build-asan" -DCMAKE_BUILD_TYPE=Debug -DVR_WERROR=ON -DVR_SANITIZE=ON >/dev/null
	cmake --build "$src/build-asan" -j"$jobs"
	echo "== unit and fixture tests under ASan+UBSan" >&2
	(cd "$src/build-asan" && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$jobs" -L 'unit|fixture')
	# the real-dump corruption sweeps (tests/real/sweep.sh) run it too
	export VR_ASAN_BUILD_DIR=$src/build-asan
fi

echo "== all tests" >&2
cd "$src/build"
if [[ -n $labels ]]; then
	ctest --output-on-failure -j"$jobs" -L "$labels"
else
	ctest --output-on-failure -j"$jobs"
fi
