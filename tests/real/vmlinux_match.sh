#!/bin/bash
# The vmlinux match check on real dumps: the dump's own vmlinux is "yes"
# (found by discovery too), another kernel's vmlinux is "no" with evidence
# and is not used.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD=${VR_BUILD_DIR:?VR_BUILD_DIR not set}
PROBE=$BUILD/probe_types
[[ -x $PROBE ]] || rig_fail "$PROBE not built"

dir61=$(rig_dir 6.1) || exit 1
dir612=$(rig_dir 6.12) || exit 1
rel_of() { local r; r=$(basename "$1"); echo "${r%-r*}"; }
rel61=$(rel_of "$dir61")
rel612=$(rel_of "$dir612")
v61=/usr/lib/debug/boot/vmlinux-$rel61
v612=/usr/lib/debug/boot/vmlinux-$rel612
rig_require "$dir61/sysrq/vmcore.elf" "$dir61/sysrq/vmcore.zlib" "$dir612/sysrq/vmcore.elf" "$v61" "$v612"

# Escapes for grep -E ("6.12.117+deb12" holds a '+').
re() { printf '%s' "$1" | sed 's/[].[^$*+?(){}|\\/]/\\&/g'; }
r61=$(re "$rel61"); r612=$(re "$rel612"); rv61=$(re "$v61"); rv612=$(re "$v612")

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

# The right vmlinux, given.
expect "$dir61/sysrq/vmcore.elf" "$v61" yes yes \
	"^evidence: build-id [0-9a-f]{40} equals the dump's BUILD-ID" \
	"^evidence: linux_banner in the dump equals the vmlinux's" \
	"^path: $rv61\$"
# Found by discovery, through a compressed dump.
expect "$dir61/sysrq/vmcore.zlib" - yes yes "^path: $rv61\$"
# Another kernel's vmlinux: reported with its evidence, not used.
expect "$dir61/sysrq/vmcore.elf" "$v612" no no \
	"^evidence: build-id [0-9a-f]{40} differs from the dump's BUILD-ID [0-9a-f]{40}" \
	"^evidence: release $r612 in the vmlinux's linux_banner differs from the dump's OSRELEASE $r61" \
	"^evidence: linux_banner in the dump differs" \
	"^warning: vmlinux $rv612 does not belong to the dump and is not used" \
	"^path: $rv612\$"
expect "$dir612/sysrq/vmcore.elf" "$v61" no no "differs from the dump's BUILD-ID"
expect "$dir612/sysrq/vmcore.elf" - yes yes "^path: $rv612\$"
# Not a vmlinux at all.
expect "$dir61/sysrq/vmcore.elf" "$dir61/sysrq/dmesg.txt" unknown no \
	"^warning: vmlinux .*dmesg.txt not used: .*not an ELF file" "^path: \(null\)"

# The report shows the same facts once the JSON output carries them.
if [[ -x ${VMREPORT:-} ]]; then
	json=$("$VMREPORT" --format json "$dir61/sysrq/vmcore.elf" "$v612" 2>/dev/null)
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
