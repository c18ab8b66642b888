#!/bin/bash
# The unwinder's DWARF CFI fallback against ORC on real kernels: the entries
# derived from the vmlinux's .debug_frame must give the same caller SP as the
# kernel's own ORC tables, and a walk by CFI alone (as on a kernel without
# ORC) must find, for every CPU it can walk, the same frames in the same
# order as the walk by ORC.
set -u
. "$(dirname "$0")/lib.sh"
probe=${VR_BUILD_DIR:?}/probe_cfi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for k in $(rig_kernels); do
	dir=$(rig_dir "$k") || exit 1
	dump=$dir/busy-cpu/vmcore.lzo
	rig_require "$dump"
	rel=$(sed -n 's/^release=//p' "$dir/busy-cpu/meta.txt")
	vmlinux=$(rig_vmlinux "$rel")
	[[ -r $vmlinux ]] || { echo "FAIL: no $vmlinux"; fail=1; continue; }
	out=$("$probe" entries "$dump" "$vmlinux") || { echo "FAIL: $k: probe_cfi entries failed"; fail=1; continue; }
	echo "$k: $out"
	read -r compared agree <<<"$(sed -n 's/^compared \([0-9]*\) agree \([0-9]*\).*/\1 \2/p' <<<"$out")"
	if [[ -z $compared ]] || ((compared < 1000 || agree * 100 < compared * 99)); then
		echo "FAIL: $k: CFI and ORC agree at $agree of $compared addresses"
		fail=1
	fi
	"$probe" bt "$dump" "$vmlinux" orc >"$tmp/orc" 2>/dev/null
	"$probe" bt "$dump" "$vmlinux" cfi >"$tmp/cfi" 2>/dev/null
	/usr/bin/python3 - "$k" "$tmp/orc" "$tmp/cfi" <<'PY' || fail=1
import sys
k, orc, cfi = sys.argv[1], open(sys.argv[2]).read().splitlines(), open(sys.argv[3]).read().splitlines()
bad = walked = 0
for o, c in zip(orc, cfi):
    cpu, ofr = o.split(":", 1)
    cfr = c.split(":", 1)[1].split()
    ofr = ofr.split()
    if len(cfr) < 3:
        continue  # CFI has no rows for entry code: this CPU stops early
    walked += 1
    n = len(cfr)
    if not any(ofr[i:i + n] == cfr for i in range(len(ofr) - n + 1)):
        print(f"FAIL: {k} {cpu}: CFI walk {cfr} is not part of the ORC walk {ofr}")
        bad += 1
if walked == 0:
    print(f"FAIL: {k}: the CFI walk got nowhere on any CPU")
    bad += 1
print(f"{k}: {walked} CPUs walked by CFI alone agree with ORC" if not bad else "")
sys.exit(1 if bad else 0)
PY
done
exit $fail
