#!/bin/bash
# Stack traces of every CPU against crash's "bt -a": for each real dump of
# each rig kernel crash opens (Debian 12's crash 8.0.2 opens 5.10 and 6.1,
# not 6.12 or 7.x, whose traces bt_vs_console checks against the console),
# the functions crash shows for a CPU appear, in the same order, among
# vmreport's frames for that CPU (cpus[].frames[].symbol, reliable or not),
# with the vmlinux, and for the scenarios with module code on a stack also
# without it (no vmlinux looked for).
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

report, crash_out, label, nm = sys.argv[1:5]
# Several names for one address are one frame: crash and the kernel choose
# among them differently (5.10's asm_call_on_stack, asm_call_irq_on_stack
# and asm_call_sysvec_on_stack). nm(1) of the vmlinux says which are one.
addr_of = {}
for line in open(nm):
    parts = line.split()
    if len(parts) == 3 and parts[1] in "tTwW":
        addr_of.setdefault(parts[2], parts[0])
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
        while j < len(mine) and mine[j] != name and base(mine[j]) != base(name) and \
                not (mine[j] in addr_of and addr_of.get(mine[j]) == addr_of.get(name)):
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

printf 'bt -a\nquit\n' >"$tmp/cmds"
cache=${VR_BUILD_DIR:-/tmp}/crash-oracle
mkdir -p "$cache"
kernels=0
for rel in $(rig_kernels); do
	if ! why=$(rig_crash_opens "$rel"); then
		echo "$rel: crash cannot open its dumps ($why): not checked here"
		continue
	fi
	kernels=$((kernels + 1))
	dir=$(rig_dir "$rel")
	vmlinux=$(rig_vmlinux "$rel")
	rig_require "$vmlinux"
	nm "$vmlinux" >"$tmp/nm"
	for s in $(rig_scenarios "$rel"); do
		d=$dir/$s
		rig_require "$d/vmcore.elf"
		# crash's answer, cached in the build tree by dump path and mtime
		out=$cache/bt-$(printf '%s %s' "$d" "$(stat -c %Y "$d/vmcore.elf")" | md5sum | cut -c1-16).txt
		if ! grep -q '^PID:' "$out" 2>/dev/null; then
			timeout 300 crash -s "$vmlinux" "$d/vmcore.elf" -i "$tmp/cmds" >"$out" 2>&1 </dev/null || true
		fi
		cp "$out" "$tmp/crash.out"
		# Without the vmlinux too where module code is on a stack.
		variants=("$vmlinux")
		[[ $s == busy-cpu || $s == null-deref ]] && variants+=("")
		for v in "${variants[@]}"; do
			label="$rel $s vmcore.elf${v:+ +vmlinux}"
			runs=$((runs + 1))
			rc=0
			if [[ -n $v ]]; then
				"$VMREPORT" --format json "$d/vmcore.elf" "$v" >"$tmp/r.json" 2>"$tmp/err" || rc=$?
			else
				VMREPORT_NO_DISCOVERY=1 "$VMREPORT" --format json "$d/vmcore.elf" >"$tmp/r.json" 2>"$tmp/err" || rc=$?
			fi
			if ((rc != 0 && rc != 3)); then
				echo "FAIL: $label: vmreport exited $rc: $(head -3 "$tmp/err")" >&2
				errors=$((errors + 1))
				continue
			fi
			python3 "$tmp/check.py" "$tmp/r.json" "$tmp/crash.out" "$label" "$tmp/nm" || errors=$((errors + 1))
		done
	done
done
((kernels > 0)) || rig_fail "crash opened none of the rig kernels' dumps"
echo "$((runs - errors)) passed, $errors failed"
((errors == 0)) || rig_fail "$errors run(s) disagree with crash"
