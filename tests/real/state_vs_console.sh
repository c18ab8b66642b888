#!/bin/bash
# The kernel state vmreport collects agrees with what the crashed kernel
# printed on its console (the ground truth the rig keeps), on every rig dump
# (every rig kernel) in every form, QEMU's own dumps included (against the
# console of their own boot): release, CPUs, the panic message, the
# panicking CPU, PID and command, the module list and module taints, the
# kernel's taint letters, blocked tasks and uptime. A dump that lost pages
# (filtered -d 31) must still give these, and say what it missed.
set -u
source "$(dirname "$0")/lib.sh"
VMREPORT=${VMREPORT:-${VR_BUILD_DIR:-build}/vmreport}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail=0
checked=0
for dir in $(rig_all_dirs); do
	[ -f "$dir/console.log" ] && [ -f "$dir/meta.txt" ] || continue
	# Where the report stayed in a per-CPU printk buffer, the console
	# cannot say what the crash was: the rig's own facts do.
	reported=1
	rig_console_report "$dir" || reported=0
	pattern=$(rig_expect "$(basename "$dir")")
	# Each form with the kernel's vmlinux; the compressed ones also without
	# any (symbols from kallsyms, types from BTF), and Debian 12's forms of
	# a kernel newer than Debian 12's makedumpfile.
	for form in elf zlib lzo flat filtered.elf qemu.elf qemu.kdump zlib- lzo- \
		debian12/vmcore.zlib debian12/vmcore.filtered.elf; do
		case $form in
		qemu.*) dump=$dir/$form console=$dir/qemu.console.log ;;
		debian12/*) dump=$dir/$form console=$dir/console.log ;;
		*) dump=$dir/vmcore.${form%-} console=$dir/console.log ;;
		esac
		[ -f "$dump" ] && [ -f "$console" ] || continue
		# Debian 12's forms that came out the same as the main ones (hard
		# links) are tested as those.
		[[ $form == debian12/* && $dump -ef $dir/${form#debian12/} ]] && continue
		vmlinux=$(sed -n 's/^vmlinux=//p' "$dir/meta.txt")
		[ -f "$vmlinux" ] || vmlinux=
		if [[ $form == *- ]]; then
			VMREPORT_NO_DISCOVERY=1 "$VMREPORT" --format json "$dump" >"$tmp/r.json" 2>"$tmp/err.txt"
		else
			"$VMREPORT" --format json "$dump" $vmlinux >"$tmp/r.json" 2>"$tmp/err.txt"
		fi
		rc=$?
		if [ $rc -ne 0 ]; then
			echo "FAIL: $dump: vmreport exited $rc: $(head -3 "$tmp/err.txt")"
			fail=1
			continue
		fi
		label=$dump
		[[ $form == *- ]] && label="$dump (no vmlinux)"
		python3 - "$console" "$dir/meta.txt" "$tmp/r.json" "$label" "$reported" "$pattern" <<'PY' || fail=1
import json, re, sys
console, meta_path, report, dump = sys.argv[1:5]
reported, pattern = sys.argv[5] == "1", sys.argv[6]
lines = [l.rstrip("\r\n") for l in open(console, errors="replace")]
# The crashed kernel's part: up to the capture kernel's "Linux version".
boots = [i for i, l in enumerate(lines) if re.search(r"\] Linux version ", l)]
if len(boots) > 1:
    lines = lines[:boots[1]]
meta = dict(l.rstrip("\n").split("=", 1) for l in open(meta_path) if "=" in l)
r = json.load(open(report))
s, p = r["system"], r["panic"]
bad = []
def check(what, ok, mine, theirs):
    if not ok:
        bad.append(f"{what}: vmreport {mine!r}, console {theirs!r}")
def text(l):
    return re.sub(r"^\[\s*\d+\.\d+\] ", "", l)

rel = re.search(r"Linux version (\S+)", lines[boots[0]] if boots else "")
check("release", rel and s["release"] == rel.group(1), s["release"], rel and rel.group(1))
check("cpus", str(s["cpus"]) == meta.get("cpus"), s["cpus"], meta.get("cpus"))

panics = [text(l) for l in lines if "Kernel panic - not syncing: " in l and "---[ end Kernel panic" not in l]
if not reported:
    check("panic.message", p["message"] and re.search(pattern, p["message"]), p["message"], pattern)
elif panics:
    want = panics[-1].split("Kernel panic - not syncing: ", 1)[1]
    check("panic.message", p["message"] == want, p["message"], want)
else:
    want = meta.get("crash_line", "")
    check("panic.message", p["message"] == want, p["message"], want)

cpu_lines = [re.search(r"CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (\S+)", l) for l in lines]
cpu_lines = [m for m in cpu_lines if m]
if not reported:
    check("panic.cpu", str(p["cpu"]) == meta.get("panic_cpu"), p["cpu"], meta.get("panic_cpu"))
    check("panic.comm", p["comm"] == meta.get("comm"), p["comm"], meta.get("comm"))
elif cpu_lines:
    cpu, pid, comm = cpu_lines[-1].groups()
    check("panic.cpu", p["cpu"] == int(cpu), p["cpu"], cpu)
    check("panic.pid", p["pid"] == int(pid), p["pid"], pid)
    check("panic.comm", p["comm"] == comm, p["comm"], comm)
else:
    bad.append("no CPU: line in the console")

mods = [l.split("Modules linked in:", 1)[1].split() for l in lines if "Modules linked in:" in l]
if mods:
    want = {}
    for m in mods[-1]:
        mm = re.match(r"([\w-]+)(?:\((\w+)\))?", m)
        if mm:
            want[mm.group(1)] = mm.group(2) or ""
    # the console prints the module list; a module only the kernel's
    # address tree holds (listed: false, hidden from the list) is not in it
    mine = {m["name"]: m["taints"] or "" for m in r["modules"] if m.get("listed", True) is not False}
    check("modules", mine == want, mine, want)

tainted = [re.search(r"Tainted: ([A-Z ]+?)\s+\d", l) for l in lines]
tainted = [m.group(1).replace(" ", "") for m in tainted if m]
if tainted:
    check("taint", s["taint"]["letters"] and set(tainted[-1]) <= set(s["taint"]["letters"]),
          s["taint"]["letters"], tainted[-1])

for l in lines:
    m = re.search(r"INFO: task (.+):(\d+) blocked for more than (\d+) seconds", l)
    if m:
        b = [t for t in r["blocked_tasks"] if t["pid"] == int(m.group(2))]
        check(f"blocked task {m.group(2)}", b and b[0]["comm"] == m.group(1) and
              (b[0].get("blocked_s") is None or b[0]["blocked_s"] >= int(m.group(3))),
              b, m.group(0))

ts = [float(m.group(1)) for m in (re.match(r"\[\s*(\d+\.\d+)\]", l) for l in lines) if m]
if ts and s["uptime_s"] is not None:
    check("uptime", ts[-1] - 0.5 <= s["uptime_s"] <= ts[-1] + 10, s["uptime_s"], ts[-1])

steps = {a["name"]: a for a in r["analyzers"]}
for name in ("system", "log", "modules", "tasks", "panic"):
    st = steps.get(name, {}).get("status")
    if st == "partial" and not r["warnings"] and not steps[name].get("reason"):
        bad.append(f"step {name} is partial without a reason or warning")
    if st in (None, "error"):
        bad.append(f"step {name}: {st} {steps.get(name, {}).get('reason')}")
if bad:
    print(f"FAIL: {dump}:\n  " + "\n  ".join(bad))
    sys.exit(1)
PY
		checked=$((checked + 1))
	done
done
# A dump cut short (the second half of memory missing, as when a capture
# runs out of disk) still gives what it holds, and says what it lost.
for dir in $(rig_all_dirs | grep '/sysrq$'); do
	[ -f "$dir/vmcore.elf" ] || continue
	size=$(stat -c %s "$dir/vmcore.elf")
	head -c $((size / 2)) "$dir/vmcore.elf" >"$tmp/cut.elf"
	"$VMREPORT" --format json "$tmp/cut.elf" >"$tmp/r.json" 2>"$tmp/err.txt"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "FAIL: $dir/vmcore.elf cut in half: vmreport exited $rc: $(head -3 "$tmp/err.txt")"
		fail=1
		continue
	fi
	python3 - "$tmp/r.json" "$dir" <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))
bad = []
if not r["input"]["partial"]:
    bad.append("input.partial is not set")
if not r["system"]["release"] or not r["panic"]["message"] or r["panic"]["pid"] is None:
    bad.append(f"lost facts that are in the first half: {r['system']['release']!r} {r['panic']!r}")
if not r["warnings"]:
    bad.append("no warnings")
for a in r["analyzers"]:
    if a["status"] == "partial" and not a.get("reason"):
        bad.append(f"step {a['name']} partial without a reason")
if r["log"] is None or r["log"]["records"] < 100:
    bad.append("the log is lost")
if bad:
    print(f"FAIL: {sys.argv[2]}/vmcore.elf cut in half:\n  " + "\n  ".join(bad))
    sys.exit(1)
PY
	checked=$((checked + 1))
done

if [ $checked -eq 0 ]; then
	echo "FAIL: no rig dumps (tests/run.sh makes them with tests/rig/rig.sh)"
	exit 1
fi
[ $fail -eq 0 ] && echo "ok: $checked dumps agree with their console logs"
exit $fail
