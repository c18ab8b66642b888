#!/bin/bash
# The reports of this tree's vmreport against those of a revision, on every
# dump the rig has cached (every release, scenario and form; with the
# vmlinux found, without one, and with --modules for the kdump-compressed
# dump), in every format: for a change that must not alter any report
# (speed, memory). Prints each report that differs and exits 1 when one
# does. Not part of the suite: which revision to compare with is the
# change's own question.
#
#   tests/tools/compare-reports.sh REV [VMREPORT]
#       REV       a git revision of this repository, built in a temporary
#                 directory
#       VMREPORT  the vmreport to compare (default: build/vmreport)
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rev=${1:?usage: compare-reports.sh REV [VMREPORT]}
new=${2:-$src/build/vmreport}
cache=${VR_RIG_CACHE:-/var/cache/vmreport-rig}
[[ -x $new ]] || { echo "compare-reports: $new is not built" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

git -C "$src" archive "$rev" | tar -x -C "$tmp" --one-top-level=src
cmake -S "$tmp/src" -B "$tmp/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$tmp/build" -j2 --target vmreport >/dev/null
old=$tmp/build/vmreport

run() { # BIN OUTDIR NAME ENV... -- ARGS...
	local bin=$1 out=$2 name=$3 rc=0
	shift 3
	local env=()
	while [[ $1 != -- ]]; do
		env+=("$1")
		shift
	done
	shift
	env "${env[@]}" "$bin" -o json:"$out/$name.json" -o text:"$out/$name.txt" -o markdown:"$out/$name.md" \
		-o email:"$out/$name.eml" "$@" >/dev/null 2>&1 || rc=$?
	echo "$rc" >"$out/$name.rc"
}

mkdir -p "$tmp/old" "$tmp/new"
n=0
for d in "$cache"/*-r[0-9]*/*/; do
	d=${d%/}
	[[ -f $d/meta.json ]] || continue
	rel=$(basename "$(dirname "$d")") scen=$(basename "$d")
	for f in vmcore.elf vmcore.zlib vmcore.lzo vmcore.flat vmcore.filtered.elf qemu.elf qemu.kdump \
		qemu.reassembled.kdump console.log dmesg.txt; do
		[[ -e $d/$f ]] || continue
		for mode in vmlinux none modules; do
			[[ $mode == modules && $f != vmcore.zlib ]] && continue
			env=() args=()
			[[ $mode == none ]] && env=(VMREPORT_NO_DISCOVERY=1)
			[[ $mode == modules ]] && args=(--modules "$d")
			name=$rel.$scen.$f.$mode
			run "$old" "$tmp/old" "$name" "${env[@]}" -- "${args[@]}" "$d/$f"
			run "$new" "$tmp/new" "$name" "${env[@]}" -- "${args[@]}" "$d/$f"
			n=$((n + 1))
		done
	done
done
if diff -rq "$tmp/old" "$tmp/new"; then
	echo "compare-reports: $n dumps, 4 formats each: every report equals $rev's"
	exit 0
fi
echo "compare-reports: reports differ from $rev's (above)"
exit 1
