# shellcheck shell=bash
# Helpers for real-dump tests; source this file.
#
#   dir=$(rig_dir [RELEASE])   the rig's dump directory for RELEASE ("5.10",
#                              "6.1", "6.12", "newest" or a full release;
#                              default 6.1), running tests/rig/rig.sh first
#                              if the dumps are not cached yet
#   rig_require FILE...        fail unless every FILE exists and is non-empty
#   rig_scenarios RELEASE      the names of the scenarios run on RELEASE, one a line
#   rig_kernels                the releases to test: $VR_RIG_KERNELS, or the
#                              newest 5.10 (Debian 11), 6.1, 6.12 cloud
#                              kernels and the archive's newest
#   rig_vmlinux RELEASE        the release's vmlinux with DWARF (-dbg)
#   rig_system_map RELEASE     its System.map
#   rig_debug_modules RELEASE  the directory of its modules' debug files
#   rig_all_dirs               every scenario directory of every rig kernel,
#                              one a line
#   rig_console_report DIR     whether the scenario's crash report reached
#                              the console and the log (meta.json
#                              console_report; false where the report stayed
#                              in a per-CPU printk buffer)
#   rig_buried_report DIR      where the crash report stayed in a per-CPU
#                              buffer (rig_console_report false): that text,
#                              cut out of the raw bytes of vmcore.elf (an
#                              oracle independent of vmreport), lines as the
#                              kernel wrote them, without KERN_ levels
#   rig_crash_opens RELEASE    whether crash (the oracle of bt_vs_crash and
#                              state_vs_crash) opens the release's dumps
#                              (Debian 12's crash 8.0.2 opens 5.10 and 6.1,
#                              not 6.12 or 7.x); prints crash's complaint
#                              when not. Cached in $VR_BUILD_DIR.
#   rig_expect SCENARIO        the console line (grep -E) proving the crash
#   rig_fail MESSAGE           print "FAIL: MESSAGE" and exit 1
#
# A real-dump test never passes by skipping: when the dumps cannot be made
# or are missing, these helpers fail the test with the reason.

VR_SOURCE_DIR=${VR_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
RIG_SCRIPT=$VR_SOURCE_DIR/tests/rig/rig.sh

rig_fail() {
	echo "FAIL: $*" >&2
	exit 1
}

rig_dir() {
	local want=${1:-6.1} dir
	dir=$(bash "$RIG_SCRIPT" -k "$want") ||
		rig_fail "no real dumps for kernel $want: tests/rig/rig.sh -k $want failed (see above)"
	[[ -n $dir && -d $dir ]] || rig_fail "tests/rig/rig.sh -k $want printed no dump directory"
	echo "$dir"
}

rig_require() {
	local f
	for f in "$@"; do
		[[ -e $f ]] || rig_fail "real dump file $f is missing (run tests/rig/rig.sh)"
		[[ -s $f ]] || rig_fail "real dump file $f is empty"
	done
}

rig_scenarios() { # RELEASE
	bash "$RIG_SCRIPT" --list "${1:?rig_scenarios needs the release}"
}

rig_expect() {
	bash "$RIG_SCRIPT" --expect "$1"
}

RIG_KERNELS_DEFAULT="5.10 6.1 6.12 newest"

rig_kernels() {
	local k
	for k in ${VR_RIG_KERNELS:-$RIG_KERNELS_DEFAULT}; do
		bash "$RIG_SCRIPT" --resolve "$k"
	done
}

rig_files_key() { # RELEASE KEY
	bash "$RIG_SCRIPT" --files "$1" | sed -n "s/^$2=//p"
}

rig_vmlinux() {
	rig_files_key "$1" vmlinux
}

rig_system_map() {
	rig_files_key "$1" system_map
}

rig_debug_modules() {
	rig_files_key "$1" debug_modules
}

rig_crash_opens() {
	local rel=$1 dir vmlinux memo out
	dir=$(rig_dir "$rel")
	vmlinux=$(rig_vmlinux "$rel")
	memo=${VR_BUILD_DIR:-/tmp}/crash-oracle/opens-$rel-$(stat -c %Y "$dir/sysrq/vmcore.elf")
	if [[ ! -f $memo ]]; then
		mkdir -p "${memo%/*}"
		local rc=0
		out=$(printf 'sys\nquit\n' | timeout 300 crash -s "$vmlinux" "$dir/sysrq/vmcore.elf" 2>&1) || rc=$?
		if grep -q "RELEASE: $rel\$" <<<"$out"; then
			echo yes >"$memo"
		else
			{
				echo no
				echo "crash exited with status $rc${out:+: $(grep -v '^ *$' <<<"$out" | tail -n 1)}"
			} >"$memo"
		fi
	fi
	[[ $(head -n 1 "$memo") == yes ]] && return 0
	tail -n +2 "$memo"
	return 1
}

rig_buried_report() {
	python3 - "$1/vmcore.elf" "$(rig_expect "$(basename "$1")")" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
# The report starts with the crash line (after its KERN_ level) and runs
# to the end of the buffer's text (a NUL); other copies of the line (a
# format buffer on a stack) have no Call Trace after them.
for m in re.finditer(sys.argv[2].encode(), data):
    start = m.start() - 2 if data[m.start() - 2:m.start() - 1] == b"\x01" else m.start()
    end = data.find(b"\0", m.end())
    text = data[start:end].decode("ascii", "replace")
    if "\nCall Trace:" not in text:
        continue
    # KERN_SOH and its level or flag, at line starts and where pr_cont joined
    text = re.sub("\x01.", "", text)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.exit(0)
sys.exit(1)
PY
}

rig_all_dirs() {
	local rel dir s
	for rel in $(rig_kernels); do
		dir=$(rig_dir "$rel")
		for s in $(rig_scenarios "$rel"); do
			echo "$dir/$s"
		done
	done
}

rig_console_report() {
	python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])).get("console_report", True) else 1)' \
		"$1/meta.json"
}
