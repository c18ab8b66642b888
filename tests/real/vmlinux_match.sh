#!/bin/bash
# The vmlinux match check on real dumps of every rig kernel: the dump's own
# vmlinux is "yes" (found by discovery too where the kernel is installed;
# an unpacked one is not found and the report says so), another kernel's
# vmlinux is "no" with evidence and is not used.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD=${VR_BUILD_DIR:?VR_BUILD_DIR not set}
PROBE=$BUILD/probe_types
[[ -x $PROBE ]] || rig_fail "$PROBE not built"

# Escapes for grep -E ("6.12.117+deb12" holds a '+').
re() { printf '%s' "$1" | sed 's/[].[^$*+?(){}|\\/]/\\&/g'; }

fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# expect DUMP VMLINUX|- MATCH USED PATTERN...: every PATTERN (grep -E) must be
# in the probe's output.
expect() {
	local dump=$1 vml=$2 match=$3 used=$4
	shift 4
	if [[ $vml == - ]]; then
		"$PROBE" match "$dump" >"$out" 2>&1
	else
		"$PROBE" match "$dump" "$vml" >"$out" 2>&1
	fi || { echo "FAIL: probe failed on $dump $vml:"; cat "$out"; fail=1; return; }
	local ok=1 p
	grep -qx "match: $match" "$out" || ok=0
	grep -qx "used: $used" "$out" || ok=0
	for p in "$@"; do
		grep -qE -- "$p" "$out" || { echo "missing: $p"; ok=0; }
	done
	if [[ $ok == 0 ]]; then
		echo "FAIL: $dump with vmlinux $vml: want match $match, used $used; got:"
		cat "$out"
		fail=1
	fi
}

mapfile -t rels < <(rig_kernels)
((${#rels[@]} >= 2)) || rig_fail "vmlinux_match needs two rig kernels (VR_RIG_KERNELS)"
for i in "${!rels[@]}"; do
	rel=${rels[$i]} other=${rels[$(((i + 1) % ${#rels[@]}))]}
	dir=$(rig_dir "$rel") || exit 1
	v=$(rig_vmlinux "$rel") vo=$(rig_vmlinux "$other")
	rig_require "$dir/sysrq/vmcore.elf" "$dir/sysrq/vmcore.zlib" "$v" "$vo"
	r=$(re "$rel") ro=$(re "$other") rv=$(re "$v") rvo=$(re "$vo")
	# The right vmlinux, given.
	expect "$dir/sysrq/vmcore.elf" "$v" yes yes \
		"^evidence: build-id [0-9a-f]{40} equals the dump's BUILD-ID" \
		"^evidence: linux_banner in the dump equals the vmlinux's" \
		"^path: $rv\$"
	# Found by discovery, through a compressed dump, where it is installed.
	if [[ $v == /usr/lib/debug/* ]]; then
		expect "$dir/sysrq/vmcore.zlib" - yes yes "^path: $rv\$"
	else
		expect "$dir/sysrq/vmcore.zlib" - unknown no "^warning: no vmlinux found \(looked for .*vmlinux-$r"
	fi
	# Another kernel's vmlinux: reported with its evidence, not used.
	expect "$dir/sysrq/vmcore.elf" "$vo" no no \
		"^evidence: build-id [0-9a-f]{40} differs from the dump's BUILD-ID [0-9a-f]{40}" \
		"^evidence: release $ro in the vmlinux's linux_banner differs from the dump's OSRELEASE $r" \
		"^evidence: linux_banner in the dump differs" \
		"^warning: vmlinux $rvo does not belong to the dump and is not used" \
		"^path: $rvo\$"
	echo "$rel: its own vmlinux matches, $other's does not"
done
dir=$(rig_dir "${rels[0]}") || exit 1
# Not a vmlinux at all.
expect "$dir/sysrq/vmcore.elf" "$dir/sysrq/dmesg.txt" unknown no \
	"^warning: vmlinux .*dmesg.txt not used: .*not an ELF file" "^path: \(null\)"

# The report shows the same facts once the JSON output carries them.
if [[ -x ${VMREPORT:-} ]]; then
	json=$("$VMREPORT" --format json "$dir/sysrq/vmcore.elf" "$(rig_vmlinux "${rels[1]}")" 2>/dev/null)
	if [[ $json == *'"vmlinux"'* ]]; then
		echo "$json" | python3 -c '
import json, sys
v = json.load(sys.stdin)["input"]["vmlinux"]
assert v["match"] == "no", v
assert any("differs" in e for e in v["evidence"]), v
' || { echo "FAIL: vmreport JSON input.vmlinux does not say match no with evidence"; fail=1; }
	fi
fi

[[ $fail == 0 ]] || exit 1
echo "vmlinux_match: right vmlinux yes (given and discovered), other kernels' no with evidence"
