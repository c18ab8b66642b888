#!/bin/bash
# The panicking CPU's stack trace against the kernel's own account of it:
# for every real dump (each rig kernel, each scenario, each dump form,
# with the vmlinux and without one: no vmlinux looked for), the reliable
# frames of the last "Call Trace:" the crashed kernel printed on its
# console appear, in the same order, in vmreport's trace of the panicking
# CPU (cpus[].frames[].symbol). Where the report never reached the console
# (it stayed in a per-CPU printk buffer), the kernel's own text is cut out
# of the dump's raw bytes instead (rig_buried_report).
# Also: the CPU busy in module code in scenario busy-cpu shows that module
# function, and the task blocked in scenario hungtask shows its function.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ -x ${VMREPORT:-} ]] || rig_fail "VMREPORT is not set to the vmreport binary"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
errors=0
runs=0

# check.py JSON CONSOLE META FORM: exit 0 when the trace matches
cat >"$tmp/check.py" <<'EOF'
import json, re, sys

report, console_path, meta_path, label = sys.argv[1:5]
with open(report) as f:
    rep = json.load(f)
with open(meta_path) as f:
    meta = json.load(f)
with open(console_path, errors="replace") as f:
    lines = f.read().splitlines()

# The crashed kernel's part of the console: up to the capture kernel's boot.
boots = [i for i, l in enumerate(lines) if "Linux version" in l]
if len(boots) > 1:
    lines = lines[:boots[1]]
starts = [i for i, l in enumerate(lines) if l.rstrip().endswith("Call Trace:")]
if not starts:
    print(f"{label}: the console has no Call Trace")
    sys.exit(1)
# "[ time] [ caller] frame": the time and caller id are optional (a per-CPU
# buffer's lines have neither)
frame_re = re.compile(r"^(?:\[\s*[\d.]+\]\s*)?(?:\[\s*[CT]\d+\]\s*)?\s(\? )?([A-Za-z0-9_.$]+)\+0x[0-9a-f]+/0x[0-9a-f]+( \[\w+\])?\s*$")
console = []
for l in lines[starts[-1] + 1:]:
    if "</TASK>" in l or "---[ end" in l or "Kernel Offset" in l or "Call Trace:" in l:
        break
    m = frame_re.match(l)
    if m and not m.group(1):
        console.append(m.group(2))

def base(name):
    return name.split(".")[0] if name else name

cpus = rep.get("cpus") or []
panic = [c for c in cpus if c.get("panic")]
if len(panic) != 1:
    print(f"{label}: {len(panic)} cpus marked panic (want 1)")
    sys.exit(1)
ours = [f.get("symbol") for f in panic[0].get("frames") or []]

# Frames printed before the dump was taken (dump_stack_lvl, show_stack...)
# are no longer on the stack: drop leading console frames vmreport lacks.
skipped = []
while console and console[0] not in ours and base(console[0]) not in map(base, ours) \
        and len(skipped) < 3:
    skipped.append(console.pop(0))
if len(console) < 2:
    print(f"{label}: too few console frames to compare ({console}, skipped {skipped})")
    sys.exit(1)
pos = 0
for name in console:
    j = pos
    while j < len(ours) and ours[j] != name and base(ours[j]) != base(name):
        j += 1
    if j == len(ours):
        print(f"{label}: console frame {name} missing or out of order in vmreport's "
              f"cpu {panic[0].get('cpu')} trace")
        print(f"  console: {console}")
        print(f"  vmreport: {ours}")
        sys.exit(1)
    pos = j + 1

extra = meta.get("extra") or {}
if extra.get("busy_function"):
    want_cpu = int(extra.get("busy_cpu", -1))
    busy = [c for c in cpus if c.get("cpu") == want_cpu]
    names = [f.get("symbol") for f in (busy[0].get("frames") or [])] if busy else []
    if not any(n and base(n) == extra["busy_function"] for n in names):
        print(f"{label}: cpu {want_cpu} trace lacks {extra['busy_function']}: {names}")
        sys.exit(1)
if extra.get("blocked_function"):
    found = False
    for t in rep.get("blocked_tasks") or []:
        if t.get("comm") == extra.get("blocked_comm"):
            names = [f.get("symbol") for f in t.get("frames") or []]
            found = any(n and base(n) == extra["blocked_function"] for n in names)
    if not found:
        print(f"{label}: blocked task {extra.get('blocked_comm')} has no frame "
              f"{extra['blocked_function']}")
        sys.exit(1)
print(f"{label}: ok ({len(console)} console frames in order"
      + (f", skipped {skipped}" if skipped else "") + ")")
EOF

check() { # LABEL DUMP CONSOLE META [VMLINUX]
	local label=$1 dump=$2 console=$3 meta=$4 vmlinux=${5:-}
	runs=$((runs + 1))
	local rc=0
	if [[ -n $vmlinux ]]; then
		"$VMREPORT" --format json "$dump" "$vmlinux" >"$tmp/r.json" 2>"$tmp/err" || rc=$?
	else
		VMREPORT_NO_DISCOVERY=1 "$VMREPORT" --format json "$dump" >"$tmp/r.json" 2>"$tmp/err" || rc=$?
	fi
	if ((rc != 0 && rc != 3)); then
		echo "FAIL: $label: vmreport exited $rc: $(head -3 "$tmp/err")" >&2
		errors=$((errors + 1))
		return
	fi
	if ! python3 "$tmp/check.py" "$tmp/r.json" "$console" "$meta" "$label"; then
		errors=$((errors + 1))
	fi
}

for rel in $(rig_kernels); do
	dir=$(rig_dir "$rel")
	vmlinux=$(rig_vmlinux "$rel")
	rig_require "$vmlinux"
	for s in $(rig_scenarios "$rel"); do
		d=$dir/$s
		rig_require "$d/vmcore.elf" "$d/console.log" "$d/meta.json"
		console=$d/console.log
		if ! rig_console_report "$d"; then
			rig_buried_report "$d" >"$tmp/buried.txt" || rig_fail "$rel $s: no report in the dump's raw bytes"
			console=$tmp/buried.txt
		fi
		for f in vmcore.elf vmcore.zlib vmcore.lzo vmcore.flat vmcore.filtered.elf \
			debian12/vmcore.zlib debian12/vmcore.filtered.elf; do
			[[ -s $d/$f ]] || continue
			# Debian 12's forms that came out the same as the main ones
			# (hard links) are tested as those.
			[[ $f == debian12/* && $d/$f -ef $d/${f#debian12/} ]] && continue
			check "$rel $s $f" "$d/$f" "$console" "$d/meta.json"
		done
		check "$rel $s vmcore.elf +vmlinux" "$d/vmcore.elf" "$console" "$d/meta.json" "$vmlinux"
		if [[ -s $d/qemu.console.log ]]; then
			for f in qemu.elf qemu.kdump qemu.reassembled.kdump; do
				[[ -s $d/$f ]] || continue
				check "$rel $s $f" "$d/$f" "$d/qemu.console.log" "$d/meta.json"
				[[ -n $vmlinux && $f == qemu.elf ]] &&
					check "$rel $s $f +vmlinux" "$d/$f" "$d/qemu.console.log" "$d/meta.json" "$vmlinux"
			done
		fi
	done
done
echo "$((runs - errors)) passed, $errors failed"
((errors == 0)) || rig_fail "$errors trace(s) disagree with the console"
