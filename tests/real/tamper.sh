#!/bin/bash
# The tamper analyzer on the rig's dumps.
#
# No false alarms: every dump of every scenario but rootkit, on every rig
# kernel and in every form (with its vmlinux, and the compressed one also
# with kallsyms alone), gives no tamper finding, and every check that the
# form allows ran (its analyzers[] entry says what it covered).
#
# Each check finds its part of the rootkit scenario (tests/rig/module/vrbug.c:
# a sys_call_table entry pointed at the module, an ftrace hook on
# __x64_sys_kill, a kprobe on commit_creds, the module taken off the module
# list, CR0.WP cleared, modprobe_path changed, a user's task and its
# parent given root),
# with evidence naming the address, the expected and actual targets and the
# module, checked against what does not come from vmreport: the vmlinux's
# System.map (plus the KASLR offset the evidence's own table address gives),
# the console log the crashed kernel printed, and the scenario's facts in
# meta.json. The user's task was given root by ids written into its
# credentials, its parent shell the kernel's own init_cred.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

VMREPORT=${VMREPORT:-$VR_BUILD_DIR/vmreport}
[[ -x $VMREPORT ]] || rig_fail "vmreport binary not found (set VMREPORT)"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

checks=0
errors=0
fail() {
	echo "FAIL: $*" >&2
	errors=$((errors + 1))
}

# Memory forms must run these checks (status ok or partial, never
# skipped); the kernel-text check also needs the vmlinux.
clean_py=$(
	cat <<'PY'
import json, sys
rep = json.load(open(sys.argv[1]))
where, memory, vmlinux = sys.argv[2], sys.argv[3] == "1", sys.argv[4] == "1"
bad = []
for f in rep.get("findings") or []:
    if f["rule"].startswith("tamper-"):
        bad.append(f"finding {f['rule']}: {(f.get('evidence') or [''])[0]}")
steps = {a["name"]: a for a in rep.get("analyzers") or []}
names = ["syscall-table", "idt", "hooks", "kernel-text", "modules", "taint", "ebpf",
         "cpu-protection", "helper-paths", "credentials", "user-exec"]
for n in names:
    a = steps.get("tamper." + n)
    if a is None:
        bad.append(f"no analyzers[] entry tamper.{n}")
        continue
    if not a.get("covered"):
        bad.append(f"tamper.{n} says nothing of what it covered")
    must = memory and n not in ("cpu-protection", "user-exec") and (n != "kernel-text" or vmlinux)
    if must and a["status"] not in ("ok", "partial"):
        bad.append(f"tamper.{n} {a['status']}: {a.get('reason')}")
    if a["status"] != "ok" and not a.get("reason"):
        bad.append(f"tamper.{n} {a['status']} without a reason")
for b in bad:
    print(f"{where}: {b}")
sys.exit(1 if bad else 0)
PY
)

for rel in $(rig_kernels); do
	dir=$(rig_dir "$rel")
	for s in $(rig_scenarios "$rel"); do
		if [[ $s == rootkit ]]; then
			continue
		fi
		d=$dir/$s
		rig_require "$d/meta.json" "$d/vmcore.zlib" "$d/dmesg.txt"
		vmlinux=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("vmlinux") or "")' "$d/meta.json")
		rig_require "$vmlinux"
		runs=()
		for form in vmcore.elf vmcore.zlib vmcore.lzo vmcore.flat vmcore.filtered.elf \
			qemu.elf qemu.kdump qemu.reassembled.kdump; do
			[[ -e $d/$form ]] && runs+=("$form:1:1")
		done
		runs+=("vmcore.zlib:1:0" "dmesg.txt:0:0" "console.log:0:0")
		for r in "${runs[@]}"; do
			IFS=: read -r form memory withvm <<<"$r"
			json=$out/r.json
			rc=0
			if ((withvm)); then
				"$VMREPORT" --format json "$d/$form" "$vmlinux" >"$json" 2>"$out/err" || rc=$?
			elif ((memory)); then
				VMREPORT_NO_DISCOVERY=1 "$VMREPORT" --format json "$d/$form" >"$json" 2>"$out/err" || rc=$?
			else
				"$VMREPORT" --format json "$d/$form" >"$json" 2>"$out/err" || rc=$?
			fi
			checks=$((checks + 1))
			where="$rel $s $form"
			((memory && !withvm)) && where+=" (kallsyms)"
			if ((rc != 0)); then
				fail "$where: vmreport exited $rc: $(head -c 300 "$out/err")"
				continue
			fi
			python3 -c "$clean_py" "$json" "$where" "$memory" "$withvm" >&2 || errors=$((errors + 1))
		done
	done
done
echo "no tamper finding in $checks runs of scenarios other than rootkit"

# ---- the rootkit scenario ----
rootkit_py=$(
	cat <<'PY'
import json, re, sys
rep = json.load(open(sys.argv[1]))
meta = json.load(open(sys.argv[2]))
sysmap = sys.argv[3]
console = open(sys.argv[4], errors="replace").read()
where, memory, vmlinux = sys.argv[5], sys.argv[6] == "1", sys.argv[7] == "1"
extra = meta.get("extra") or {}
bad = []
found = {f["rule"]: f for f in rep.get("findings") or [] if f["rule"].startswith("tamper-")}

link = {}
for line in open(sysmap):
    a, _, name = line.split()[:3]
    link[name] = int(a, 16)

def need(rule, severity=None):
    f = found.get(rule)
    if not f:
        bad.append(f"no {rule} finding (found: {sorted(found)})")
        return None
    if severity and f["severity"] != severity:
        bad.append(f"{rule}: severity {f['severity']}, want {severity}")
    if not f.get("advice"):
        bad.append(f"{rule}: no advice")
    return "\n".join(f.get("evidence") or [])

def has(rule, ev, *words):
    for w in words:
        if w not in ev:
            bad.append(f"{rule}: evidence lacks {w!r}:\n{ev}")

mod = extra["hidden_module"]
# The crashed kernel names the module's function itself (through its own
# address tree): the hidden module is the one the console's RIP names.
if f"[{mod}]" not in console or not re.search(r"Modules linked in:(?!.*\b%s\b)" % mod, console):
    bad.append(f"the console does not show {mod} running while absent from 'Modules linked in'")

if memory:
    # System call table: sys_call_table[62] holds a function of the module;
    # the vmlinux (or the symbols) say __x64_sys_kill.
    nr = extra["syscall_table_entry"]
    kaslr = None
    ev = need("tamper-syscall-table", "critical")
    if ev:
        m = re.search(r"sys_call_table\[%s\][^\n]* at (0x[0-9a-f]{16}) holds (0x[0-9a-f]{16}) \((\S+)\+0x0 \[%s\], module %s, which is not on the module list\)" % (nr, mod, mod), ev)
        if not m:
            bad.append(f"tamper-syscall-table: no entry {nr} naming a function of {mod}:\n{ev}")
        else:
            slot, got, fn = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
            kaslr = slot - 8 * int(nr) - link["sys_call_table"]
            if kaslr % (1 << 21):
                bad.append(f"tamper-syscall-table: the table at 0x{slot - 8 * int(nr):x} is not System.map's moved by a KASLR offset")
            if not fn.startswith("vrbug_"):
                bad.append(f"tamper-syscall-table: the entry names {fn}, not a function of the module")
            if vmlinux:
                want = link[extra["hooked_function"]] + kaslr
                if f"the vmlinux says 0x{want:016x} ({extra['hooked_function']}+0x0, kernel text)" not in ev:
                    bad.append(f"tamper-syscall-table: the expected target is not System.map's {extra['hooked_function']} 0x{want:016x}:\n{ev}")
    # ftrace: the module's callback on __x64_sys_kill, allowed to move the IP.
    ev = need("tamper-ftrace-hook")
    if ev:
        has("tamper-ftrace-hook", ev, "IPMODIFY", f"[{mod}], module {mod}, which is not on the module list",
            extra["hooked_function"] + "+", "(syscall-entry)")
    # kprobes: the module's pre-handler on commit_creds.
    ev = need("tamper-kprobe-hook")
    if ev:
        has("tamper-kprobe-hook", ev, extra["probed_function"] + "+", "(credentials)", "pre_handler",
            f"[{mod}], module {mod}")
        m = re.search(r"kprobe at (0x[0-9a-f]{16}) on %s\+0x([0-9a-f]+)" % extra["probed_function"], ev)
        if not m or kaslr is None:
            bad.append(f"tamper-kprobe-hook: no probed address to check:\n{ev}")
        elif int(m.group(1), 16) - int(m.group(2), 16) != link[extra["probed_function"]] + kaslr:
            bad.append(f"tamper-kprobe-hook: the probed address is not System.map's {extra['probed_function']}")
    # The hidden module: in the address tree, off the list by list_del().
    ev = need("tamper-hidden-module", "critical")
    if ev:
        has("tamper-hidden-module", ev, f"module {mod} (struct module at 0x", "mod_tree", "LIST_POISON1")
    mods = [m for m in rep.get("modules") or [] if m["name"] == mod]
    if not mods or mods[0].get("listed") is not False:
        bad.append(f"modules[] does not hold {mod} with listed false: {mods}")
    ev = need("tamper-taint", "warning")
    if ev:
        has("tamper-taint", ev, "tainted O", f"module {mod}, which is not on the module list, carries it")
    # modprobe_path: what init.sh wrote, and the vmlinux's own value.
    ev = need("tamper-helper-path")
    if ev:
        has("tamper-helper-path", ev, "modprobe_path at 0x", '"%s"' % extra["modprobe_path"])
        if vmlinux:
            has("tamper-helper-path", ev, 'the vmlinux was built with "/sbin/modprobe"')
    # The task given root: the panicking task, which the console names.
    ev = need("tamper-credentials", "critical")
    if ev:
        pid = (meta.get("observed") or {}).get("pid")
        has("tamper-credentials", ev, f"task {meta['comm']} (pid {pid})", "uid 0 euid 0",
            f"still says uid {extra['raised_uid']}")
        # Its parent was handed init_cred: the evidence's address is
        # System.map's init_cred moved by the KASLR offset.
        m = re.search(r"task %s \(pid \d+\) at 0x[0-9a-f]+, a user task [^\n]* init_cred at (0x[0-9a-f]{16})"
                      % re.escape(extra["init_cred_comm"]), ev)
        # A filter that left kernel data out (the makedumpfiles 7.x dumps
        # are filtered by drop slab pages) may take the parent's task or
        # credentials with it: then the check must say it could not read
        # every task's credentials, and the report why.
        step = next((a for a in rep["analyzers"] if a["name"] == "tamper.credentials"), {})
        lost = step.get("status") == "partial" and "could not be read" in (step.get("reason") or "") and \
            any(re.search(r"the dump.s filter.* excluded .* of kernel data", w) for w in rep["warnings"])
        if not m and not lost:
            bad.append(f"tamper-credentials: {extra['init_cred_comm']} is not named sharing init_cred:\n{ev}")
        elif m and kaslr is not None and int(m.group(1), 16) != link["init_cred"] + kaslr:
            bad.append("tamper-credentials: the init_cred address is not System.map's")

# CR0.WP: the crash's register dump, as the console printed it; from the
# log alone too.
m = re.search(r"CR0: ([0-9a-f]{16})", console)
ev = need("tamper-cpu-protection", "critical")
if ev and m:
    has("tamper-cpu-protection", ev, f"CR0 0x{m.group(1)} has WP (bit 16) clear")
if m and int(m.group(1), 16) & (1 << 16):
    bad.append("the console's CR0 has WP set: the scenario did not run as written")

for b in bad:
    print(f"{where}: {b}")
sys.exit(1 if bad else 0)
PY
)

rootkit=0
for rel in $(rig_kernels); do
	dir=$(rig_dir "$rel")
	d=$dir/rootkit
	rig_require "$d/meta.json" "$d/console.log" "$d/dmesg.txt" "$d/vmcore.elf" "$d/vmcore.zlib"
	sysmap=$(rig_system_map "$rel")
	vmlinux=$(rig_vmlinux "$rel")
	rig_require "$sysmap" "$vmlinux"
	runs=()
	for form in vmcore.elf vmcore.zlib vmcore.lzo vmcore.flat vmcore.filtered.elf; do
		[[ -e $d/$form ]] && runs+=("$form:1:1")
	done
	runs+=("vmcore.zlib:1:0" "dmesg.txt:0:0")
	for r in "${runs[@]}"; do
		IFS=: read -r form memory withvm <<<"$r"
		json=$out/rk.json
		rc=0
		if ((withvm)); then
			"$VMREPORT" --format json "$d/$form" "$vmlinux" >"$json" 2>"$out/err" || rc=$?
		elif ((memory)); then
			VMREPORT_NO_DISCOVERY=1 "$VMREPORT" --format json "$d/$form" >"$json" 2>"$out/err" || rc=$?
		else
			"$VMREPORT" --format json "$d/$form" >"$json" 2>"$out/err" || rc=$?
		fi
		checks=$((checks + 1))
		rootkit=$((rootkit + 1))
		where="$rel rootkit $form"
		((memory && !withvm)) && where+=" (kallsyms)"
		if ((rc != 0)); then
			fail "$where: vmreport exited $rc: $(head -c 300 "$out/err")"
			continue
		fi
		python3 -c "$rootkit_py" "$json" "$d/meta.json" "$sysmap" "$d/console.log" "$where" "$memory" "$withvm" >&2 ||
			errors=$((errors + 1))
	done
done
((rootkit > 0)) || rig_fail "no rootkit dump was checked"
echo "$checks runs, $errors failed"
((errors == 0)) || rig_fail "$errors run(s) of the tamper checks failed"
