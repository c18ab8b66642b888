#!/bin/bash
# Stack traces of every CPU against crash's "bt -a": for each 6.1 real dump
# (crash 8.0.2 cannot open 6.12 dumps), the functions crash shows for a CPU
# appear, in the same order, among vmreport's frames for that CPU
# (cpus[].frames[].symbol, reliable or not), with the vmlinux, and for the
# scenarios with module code on a stack also without it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ -x ${VMREPORT:-} ]] || rig_fail "VMREPORT is not set to the vmreport binary"
command -v crash >/dev/null || rig_fail "crash is not installed (the oracle of this test)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
errors=0
runs=0

cat >"$tmp/check.py" <<'EOF'
import json, re, sys

report, crash_out, label = sys.argv[1:4]
with open(report) as f:
    rep = json.load(f)
# crash prints, per CPU:
#   PID: 0  TASK: ffff...  CPU: 1  COMMAND: "swapper/1"
#    #0 [fffffe0000048ea8] crash_nmi_callback at ffffffff9f86058c
head_re = re.compile(r"^PID:\s+\d+\s+TASK:\s+[0-9a-f]+\s+CPU:\s+(\d+)\s+COMMAND:")
frame_re = re.compile(r"^\s*#\d+\s+\[[0-9a-f]+\]\s+(\S+)\s+at\s+[0-9a-f]+")
crash = {}
cpu = None
with open(crash_out, errors="replace") as f:
    for line in f:
        m = head_re.match(line)
        if m:
            cpu = int(m.group(1))
            crash[cpu] = []
            continue
        m = frame_re.match(line)
        # The same function twice in a row is crash's own artifact: after an
        # exception frame it marks "possibly bogus", it also lists a stale
        # return address of the interrupted function found on the stack.
        if m and cpu is not None and not (crash[cpu] and crash[cpu][-1] == m.group(1)):
            crash[cpu].append(m.group(1))
if not crash:
    print(f"{label}: crash printed no backtrace")
    sys.exit(1)

def base(name):
    # crash names some entry code without its asm_ prefix
    # (asm_sysvec_apic_timer_interrupt as sysvec_apic_timer_interrupt).
    if not name:
        return name
    name = name.split(".")[0]
    return name[4:] if name.startswith("asm_") else name

ours = {c.get("cpu"): [f.get("symbol") for f in c.get("frames") or []]
        for c in rep.get("cpus") or []}
bad = 0
for cpu, names in sorted(crash.items()):
    mine = ours.get(cpu)
    if mine is None:
        print(f"{label}: cpu {cpu} is in crash's bt -a but not in vmreport's cpus")
        bad += 1
        continue
    pos = 0
    for name in names:
        j = pos
        while j < len(mine) and mine[j] != name and base(mine[j]) != base(name):
            j += 1
        if j == len(mine):
            print(f"{label}: cpu {cpu}: crash's {name} missing or out of order")
            print(f"  crash:    {names}")
            print(f"  vmreport: {mine}")
            bad += 1
            break
        pos = j + 1
    else:
        print(f"{label}: cpu {cpu}: {len(names)} crash frames in order")
sys.exit(1 if bad else 0)
EOF

rel=$(VR_RIG_KERNELS=6.1 rig_kernels)
dir=$(rig_dir "$rel")
vmlinux=/usr/lib/debug/boot/vmlinux-$rel
rig_require "$vmlinux"
printf 'bt -a\nquit\n' >"$tmp/cmds"
for s in $(rig_scenarios); do
	d=$dir/$s
	rig_require "$d/vmcore.elf"
	timeout 300 crash -s "$vmlinux" "$d/vmcore.elf" -i "$tmp/cmds" >"$tmp/crash.out" 2>&1 </dev/null ||
		true
	# Without the vmlinux too where module code is on a stack.
	variants=("$vmlinux")
	[[ $s == busy-cpu || $s == null-deref ]] && variants+=("")
	for v in "${variants[@]}"; do
		label="$rel $s vmcore.elf${v:+ +vmlinux}"
		runs=$((runs + 1))
		rc=0
		"$VMREPORT" --format json "$d/vmcore.elf" ${v:+"$v"} >"$tmp/r.json" 2>"$tmp/err" || rc=$?
		if ((rc != 0 && rc != 3)); then
			echo "FAIL: $label: vmreport exited $rc: $(head -3 "$tmp/err")" >&2
			errors=$((errors + 1))
			continue
		fi
		python3 "$tmp/check.py" "$tmp/r.json" "$tmp/crash.out" "$label" || errors=$((errors + 1))
	done
done
echo "$((runs - errors)) passed, $errors failed"
((errors == 0)) || rig_fail "$errors run(s) disagree with crash"
