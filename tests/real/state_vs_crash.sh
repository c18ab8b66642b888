#!/bin/bash
# The kernel state vmreport collects agrees with crash's `sys`, `mod` and
# `ps` on every rig dump of every rig kernel crash opens (Debian 12's crash
# 8.0.2 opens 5.10 and 6.1, not 6.12 or 7.x: state_vs_console covers those),
# in every form: utsname, CPUs, memory, date, uptime, load average, panic
# message, module list (name, base, size), and each CPU's active task.
# crash cannot count 6.1's tasks (its PID hash walk fails: TASKS shows 3),
# so the task count is checked for consistency across forms instead.
# crash's answers are cached in the build tree (it takes most of a minute a
# dump).
set -u
source "$(dirname "$0")/lib.sh"
VMREPORT=${VMREPORT:-${VR_BUILD_DIR:-build}/vmreport}
CACHE=${VR_BUILD_DIR:-/tmp}/crash-oracle
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$CACHE"

if ! command -v crash >/dev/null; then
	echo "FAIL: crash is not installed (tests/deps.sh --rig installs it)"
	exit 1
fi

dirs=()
declare -A vmlinux_of
for rel in $(rig_kernels); do
	if ! why=$(rig_crash_opens "$rel"); then
		echo "$rel: crash cannot open its dumps ($why): not checked here"
		continue
	fi
	vmlinux_of[$rel]=$(rig_vmlinux "$rel")
	rig_require "${vmlinux_of[$rel]}"
	for s in $(rig_scenarios "$rel"); do
		rig_require "$(rig_dir "$rel")/$s/vmcore.elf"
		dirs+=("$(rig_dir "$rel")/$s")
	done
done
((${#dirs[@]})) || rig_fail "crash opened none of the rig kernels' dumps"

# crash's answers, two at a time, cached by dump path and mtime.
printf 'sys\nmod\nps\nquit\n' >"$tmp/cmds"
oracle() { # dir -> path of crash's output
	local key
	key=$(printf '%s %s' "$1" "$(stat -c %Y "$1/vmcore.elf")" | md5sum | cut -c1-16)
	echo "$CACHE/$key.txt"
}
pids=()
for dir in "${dirs[@]}"; do
	out=$(oracle "$dir")
	[ -s "$out" ] && grep -q 'MODULE' "$out" && continue
	rel=$(sed -n 's/^release=//p' "$dir/meta.txt")
	(timeout 300 crash -s "${vmlinux_of[$rel]}" "$dir/vmcore.elf" -i "$tmp/cmds" >"$out.tmp" 2>&1 &&
		mv "$out.tmp" "$out") &
	pids+=($!)
	if [ ${#pids[@]} -ge 2 ]; then
		wait "${pids[0]}"
		pids=("${pids[@]:1}")
	fi
done
wait

fail=0
checked=0
for dir in "${dirs[@]}"; do
	out=$(oracle "$dir")
	if [ ! -s "$out" ]; then
		echo "FAIL: crash gave no answer for $dir"
		fail=1
		continue
	fi
	rel=$(sed -n 's/^release=//p' "$dir/meta.txt")
	for form in elf zlib lzo flat filtered.elf; do
		dump=$dir/vmcore.$form
		[ -f "$dump" ] || continue
		"$VMREPORT" --format json "$dump" "${vmlinux_of[$rel]}" >"$tmp/r.json" 2>"$tmp/err.txt"
		rc=$?
		if [ $rc -ne 0 ]; then
			echo "FAIL: $dump: vmreport exited $rc: $(head -3 "$tmp/err.txt")"
			fail=1
			continue
		fi
		python3 - "$out" "$tmp/r.json" "$dump" "$tmp/counts" <<'PY' || fail=1
import datetime, json, re, sys
crash_out, report, dump, counts = sys.argv[1:5]
text = open(crash_out, errors="replace").read()
r = json.load(open(report))
bad = []
def check(what, ok, mine, theirs):
    if not ok:
        bad.append(f"{what}: vmreport {mine!r}, crash {theirs!r}")

sysf = dict(re.findall(r"^\s*([A-Z][A-Z ]+): (.*)$", text, re.M))
s = r["system"]
for key, field in (("RELEASE", "release"), ("VERSION", "version"), ("NODENAME", "nodename")):
    check(field, s[field] == sysf.get(key, "").strip(), s[field], sysf.get(key))
check("machine", sysf.get("MACHINE", "").split()[0] == s["machine"], s["machine"], sysf.get("MACHINE"))
check("cpus", str(s["cpus"]) == sysf.get("CPUS", "").strip(), s["cpus"], sysf.get("CPUS"))
m = re.match(r"([\d.]+) (MB|GB)", sysf.get("MEMORY", ""))
if m:
    unit = 1 << (20 if m.group(2) == "MB" else 30)
    check("memory", s["memory_bytes"] and abs(s["memory_bytes"] / unit - float(m.group(1))) < 0.06,
          s["memory_bytes"], sysf.get("MEMORY"))
else:
    bad.append(f"crash MEMORY unparsed: {sysf.get('MEMORY')!r}")
date = datetime.datetime.strptime(sysf["DATE"].strip(), "%a %b %d %H:%M:%S UTC %Y")
check("crash_time", s["crash_time"] == date.strftime("%Y-%m-%dT%H:%M:%SZ"), s["crash_time"], sysf["DATE"])
up = sysf["UPTIME"].strip()
d = re.match(r"(?:(\d+) days?, )?(\d+):(\d+):(\d+)", up)
up_s = int(d.group(1) or 0) * 86400 + int(d.group(2)) * 3600 + int(d.group(3)) * 60 + int(d.group(4))
# crash counts whole seconds of jiffies since boot (and jiffies start
# 5 minutes before 0 on some kernels): within two seconds.
check("uptime", s["uptime_s"] is not None and abs(s["uptime_s"] - up_s) <= 2, s["uptime_s"], up)
load = [float(x) for x in sysf["LOAD AVERAGE"].split(",")]
check("load_average", all(abs(a - b) <= 0.011 for a, b in zip(s["load_average"], load)), s["load_average"], load)
panic = sysf.get("PANIC", "").strip()
pm = re.match(r'"(.*)"', panic)
pmsg = pm.group(1) if pm else panic
p = r["panic"]
if pmsg.startswith("Kernel panic - not syncing: "):
    check("panic.message", p["message"] == pmsg[len("Kernel panic - not syncing: "):], p["message"], pmsg)
else:
    lines = r["log"]["lines"] if r.get("log") else []
    check("panic.message", p["message"] and any(pmsg in l for l in lines) and
          any(p["message"] in l for l in lines), p["message"], pmsg)

mods = {(n, int(b, 16), int(z)) for _, n, b, z in
        re.findall(r"^([0-9a-f]{16})\s+(\S+)\s+([0-9a-f]{16})\s+(\d+)\s", text, re.M)}
# crash's mod walks the module list; a module that took itself off it
# (listed false, found in the kernel's address tree) is not among them.
mine = {(m["name"], int(m["base"], 16), m["size"]) for m in r["modules"] if m.get("listed", True)}
check("modules", mods == mine, sorted(mine), sorted(mods))

cpus = {c["cpu"]: c for c in r["cpus"]}
for pid, cpu, task in re.findall(r"^>\s+(\d+)\s+-?\d+\s+(\d+)\s+([0-9a-f]+)\s+RU", text, re.M):
    c = cpus.get(int(cpu))
    check(f"active task of CPU {cpu}", c and c["pid"] == int(pid) and int(c["task"], 16) == int(task, 16),
          c and (c["pid"], c["task"]), (pid, task))
check("panic task is an active task", any(int(t, 16) == int(p["task"] or "0", 16) for _, _, t in
      re.findall(r"^>\s+(\d+)\s+-?\d+\s+(\d+)\s+([0-9a-f]+)", text, re.M)), p["task"], "ps >")
with open(counts, "a") as f:
    f.write(f"{dump.rsplit('/', 1)[0]} {s['tasks']}\n")
if bad:
    print(f"FAIL: {dump}:\n  " + "\n  ".join(bad))
    sys.exit(1)
PY
		checked=$((checked + 1))
	done
done

# Every form of one dump holds the same tasks.
if [ -f "$tmp/counts" ]; then
	while read -r d n; do
		if [ "$n" != "$(grep -m1 "^$d " "$tmp/counts" | cut -d' ' -f2)" ] || [ "$n" = None ] || [ "$n" -lt 20 ]; then
			echo "FAIL: $d: task counts differ between forms or are implausible: $(grep "^$d " "$tmp/counts" | cut -d' ' -f2 | tr '\n' ' ')"
			fail=1
			break
		fi
	done <"$tmp/counts"
fi
[ $fail -eq 0 ] && echo "ok: $checked dumps agree with crash (sys, mod, ps)"
exit $fail
