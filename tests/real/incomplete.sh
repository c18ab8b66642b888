#!/bin/bash
# Incomplete and damaged real dumps: what the report must still give.
# From each rig kernel's null-deref, hungtask and softlockup dumps:
#   - the kdump-compressed dump (Debian's makedumpfile -c -d 31) cut at 10%,
#     50% and 90% of its size;
#   - the same dump with four pages' worth of bytes overwritten;
#   - a dump written by a makedumpfile killed mid-write (SIGXFSZ at half the
#     full dump's size);
#   - a flattened dump with three record headers smashed;
#   - an ELF dump whose task list is cut at init_task both ways (its
#     tasks.next and tasks.prev overwritten): every task must still be
#     found, through the pid namespace, each CPU's current task and the
#     tasks' families;
#   - the kdump-compressed and the filtered ELF dump with init_task's page
#     taken out of them, as a makedumpfile that misreads a kernel's page
#     flags leaves kernel data out: a warning must name the cause and the
#     fix. The whole rig's
#     dumps must give that warning never;
#   - every scenario's ELF dump with the log lost (the printk ring buffer
#     pointer prb overwritten): the verdict must come from memory, the
#     panicking CPU's exception frame or its call to panic(), and be the
#     same as with the log (crash kind, blamed function).
# Each alone must give exit 0, valid JSON, the release, and input.partial;
# a cut or killed one input.incomplete. Laid out as kdump-utils saves them
# (vmcore beside vmcore-dmesg.txt, given as the directory or as the
# vmcore) and as kdump-tools does (dump.T beside dmesg.T, given as the
# dump), each must also give the panic message,
# the panicking task and its trace, the blocked task of the hang (its
# frames from the log where memory lacks them), and the verdict of the
# whole dump: crash kind, culprit module and function.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

VMREPORT=${VMREPORT:-$VR_BUILD_DIR/vmreport}
[[ -x $VMREPORT ]] || rig_fail "vmreport binary not found (set VMREPORT)"
command -v makedumpfile >/dev/null || rig_fail "makedumpfile is not installed"
SYMS=$VR_BUILD_DIR/probe_symbols
TYPES=$VR_BUILD_DIR/probe_types
[[ -x $SYMS && -x $TYPES ]] || rig_fail "$SYMS or $TYPES is not built"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

checks=0
errors=0
fail() {
	echo "FAIL: $*" >&2
	errors=$((errors + 1))
}

# ELF dump, physical address, hex bytes: writes the bytes where the dump
# holds that address; fails when no segment holds it
elf_poke() {
	python3 - "$@" <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    pa, data = int(sys.argv[2], 0), bytes.fromhex(sys.argv[3])
    eh = f.read(64)
    phoff, = struct.unpack_from("<Q", eh, 32)
    phentsize, phnum = struct.unpack_from("<HH", eh, 54)
    for i in range(phnum):
        f.seek(phoff + i * phentsize)
        typ, _, off, _, p0, filesz, _, _ = struct.unpack("<IIQQQQQQ", f.read(56))
        if typ == 1 and p0 <= pa < p0 + filesz:
            f.seek(off + pa - p0)
            f.write(data)
            sys.exit(0)
sys.exit(1)
PY
}

# name, dump file, meta.json, dmesg.txt, want incomplete (1/0)
check_case() {
	local name=$1 dump=$2 meta=$3 dmesg=$4 incomplete=$5 rc
	# alone
	rc=0
	"$VMREPORT" --format json "$dump" >"$work/alone.json" 2>"$work/err" || rc=$?
	checks=$((checks + 1))
	if ((rc != 0)); then
		fail "$name alone: exit $rc: $(head -c 300 "$work/err")"
		return
	fi
	python3 - "$meta" "$work/alone.json" "$name alone" "$incomplete" <<'PY' || errors=$((errors + 1))
import json, sys
meta, r, name, inc = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3], sys.argv[4] == "1"
bad = []
if r["system"]["release"] != meta["release"]:
    bad.append("release %r" % r["system"]["release"])
if not r["input"]["partial"]:
    bad.append("input.partial is false")
if inc and not r["input"]["incomplete"]:
    bad.append("input.incomplete is false")
if bad:
    print("FAIL: %s: %s" % (name, "; ".join(bad)), file=sys.stderr)
    sys.exit(1)
PY
	# in a save directory with its log, as kdump-utils lays it out (given
	# as the directory and as the dump in it) and as kdump-tools does
	rm -rf "$work/sd" "$work/kt"
	mkdir "$work/sd" "$work/kt"
	ln -s "$dump" "$work/sd/vmcore"
	cp "$dmesg" "$work/sd/vmcore-dmesg.txt"
	ln -s "$dump" "$work/kt/dump.202612071530"
	cp "$dmesg" "$work/kt/dmesg.202612071530"
	: >"$work/kt/dmesg.202612071529" # an older crash's empty log: not this one's
	check_saved "$name in a save directory" "$work/sd" "$meta"
	check_saved "$name as the vmcore of a save directory" "$work/sd/vmcore" "$meta"
	check_saved "$name as the dump.T of a kdump-tools directory" "$work/kt/dump.202612071530" "$meta"
}

# name, save directory or the dump in one, meta.json
check_saved() {
	local name=$1 path=$2 meta=$3 rc=0
	"$VMREPORT" --format json "$path" >"$work/sd.json" 2>"$work/err" || rc=$?
	checks=$((checks + 1))
	if ((rc != 0)); then
		fail "$name: exit $rc: $(head -c 300 "$work/err")"
		return
	fi
	python3 - "$meta" "$work/sd.json" "$name" <<'PY' || errors=$((errors + 1))
import json, sys
meta, r, name = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
bad = []
want_panic = meta["panic_line"].split("Kernel panic - not syncing: ", 1)[-1] if meta.get("panic_line") else None
if r["system"]["release"] != meta["release"]:
    bad.append("release %r" % r["system"]["release"])
if want_panic and r["panic"]["message"] != want_panic:
    bad.append("panic message %r" % r["panic"]["message"])
obs = meta.get("observed") or {}
if obs.get("pid") is not None and r["panic"]["pid"] != obs["pid"]:
    bad.append("panic pid %r, want %r" % (r["panic"]["pid"], obs["pid"]))
if obs.get("comm") and r["panic"]["comm"] != obs["comm"]:
    bad.append("panic comm %r, want %r" % (r["panic"]["comm"], obs["comm"]))
pc = [c for c in r["cpus"] if c["panic"]]
if not pc:
    bad.append("no panicking CPU")
elif len(pc[0]["frames"]) < 3:
    bad.append("the panicking CPU has %d frames" % len(pc[0]["frames"]))
elif pc[0]["comm"] != obs.get("comm", pc[0]["comm"]):
    bad.append("the panicking CPU's comm %r" % pc[0]["comm"])
elif obs.get("pid") is not None and pc[0]["pid"] != obs["pid"]:
    bad.append("the panicking CPU's pid %r, want %r" % (pc[0]["pid"], obs["pid"]))
else:
    f0 = pc[0]["frames"][0]
    # an exception frame from the log carries the register dump printed
    # after its RIP: line; the address it names is not an address
    if f0["source"] == "log" and f0["exception"]:
        regs = f0["registers"] or {}
        if "RSP" not in regs or "RAX" not in regs:
            bad.append("the log's exception frame lacks its registers: %r" % (regs,))
        elif "RIP" in regs and not f0["address"]:
            bad.append("RIP %r given for a frame without an address" % regs["RIP"])
c, b = r["crash"], r["blame"]
if c["kind"] != meta["kind"]:
    bad.append("kind %r, want %r" % (c["kind"], meta["kind"]))
if b["function"] != meta["function"] or b["module"] != meta["module"]:
    bad.append("blame %r in %r, want %r in %r" % (b["function"], b["module"], meta["function"], meta["module"]))
extra = meta.get("extra") or {}
if extra.get("blocked_comm"):
    t = [t for t in r["blocked_tasks"] if t["comm"] == extra["blocked_comm"]]
    if not t:
        bad.append("blocked task %s missing" % extra["blocked_comm"])
    elif not any(f["symbol"] == extra["blocked_function"] for f in t[0]["frames"]):
        bad.append("blocked task %s's frames lack %s" % (extra["blocked_comm"], extra["blocked_function"]))
    elif t[0]["source"] == "log" and any(f["source"] != "log" for f in t[0]["frames"]):
        bad.append("a task from the log with frames from memory")
if bad:
    print("FAIL: %s: %s" % (name, "; ".join(bad)), file=sys.stderr)
    sys.exit(1)
PY
}

for rel in $(rig_kernels); do
	dir=$(rig_dir "$rel")
	for s in null-deref hungtask softlockup; do
		d=$dir/$s
		rig_require "$d/meta.json" "$d/dmesg.txt" "$d/vmcore.zlib" "$d/vmcore.elf" "$d/vmcore.flat"
		size=$(stat -c %s "$d/vmcore.zlib")
		for pct in 10 50 90; do
			head -c $((size * pct / 100)) "$d/vmcore.zlib" >"$work/cut$pct"
			check_case "$rel $s cut at $pct%" "$work/cut$pct" "$d/meta.json" "$d/dmesg.txt" 1
		done
		# four pages' worth of bytes overwritten, spread over the data
		cp "$d/vmcore.zlib" "$work/over"
		for pct in 30 55 70 85; do
			head -c 4096 /dev/urandom | dd of="$work/over" bs=1 seek=$((size * pct / 100)) \
				conv=notrunc status=none
		done
		check_case "$rel $s with pages overwritten" "$work/over" "$d/meta.json" "$d/dmesg.txt" 0
		# makedumpfile killed mid-write: the file size limit stops it
		rm -f "$work/killed"
		(bash -c 'ulimit -f "$1"; exec makedumpfile --message-level 0 -c -d 31 "$2" "$3"' _ \
			$((size / 2 / 1024)) "$d/vmcore.elf" "$work/killed" >/dev/null 2>&1 || true) 2>/dev/null
		rig_require "$work/killed"
		check_case "$rel $s from a killed makedumpfile" "$work/killed" "$d/meta.json" "$d/dmesg.txt" 1
		# a flattened dump with three record headers smashed
		python3 - "$d/vmcore.flat" "$work/smashed" <<'PY'
import shutil, struct, sys
shutil.copy(sys.argv[1], sys.argv[2])
with open(sys.argv[2], "r+b") as f:
    pos, heads = 4096, []
    while True:
        f.seek(pos)
        h = f.read(16)
        if len(h) < 16:
            break
        off, n = struct.unpack(">qq", h)
        if off == -1:
            break
        heads.append(pos)
        pos += 16 + n
    for i in (len(heads) // 5, len(heads) // 2, len(heads) * 4 // 5):
        f.seek(heads[i] + 8 * (i % 2))
        f.write(b"\xff\x13\x37\x00\x00\x00\x00\x01")
PY
		check_case "$rel $s flattened with bad record headers" "$work/smashed" "$d/meta.json" "$d/dmesg.txt" 0
		[[ $s == hungtask || $s == softlockup ]] || continue
		# the task list cut at init_task, both ways
		vmlinux=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vmlinux"])' "$d/meta.json")
		pa=$("$SYMS" --vmlinux "$vmlinux" "$d/vmcore.elf" translate init_task | awk '$2 == "ok" { print $4 }')
		off=$("$TYPES" members dwarf "$vmlinux" - task_struct.tasks 2>/dev/null | awk '{ print $2 }')
		[[ -n $pa && -n $off ]] || rig_fail "$rel: init_task's physical address or tasks offset unknown"
		cp "$d/vmcore.elf" "$work/cutlist.elf"
		elf_poke "$work/cutlist.elf" $((pa + off)) 41414141414141414141414141414141 ||
			rig_fail "$rel: init_task.tasks not in the ELF"
		if [[ $s == hungtask ]]; then
			# init_task's page excluded: its bit cleared in the 2nd bitmap,
			# its page descriptor taken out of the table
			python3 - "$d/vmcore.zlib" "$work/misfiltered" $((pa / 4096)) <<'PY' || rig_fail "$rel: cannot rewrite $d/vmcore.zlib"
import shutil, struct, sys
shutil.copy(sys.argv[1], sys.argv[2])
pfn = int(sys.argv[3])
with open(sys.argv[2], "r+b") as f:
    h = f.read(4096)
    block, sub, blocks = struct.unpack_from("<III", h, 428)
    boff, blen = block * (1 + sub), block * blocks
    f.seek(boff + blen // 2)
    bm = bytearray(f.read(blen // 2))
    if not bm[pfn // 8] >> (pfn % 8) & 1:
        sys.exit(1)
    rank = sum(bin(b).count("1") for b in bm[: pfn // 8]) + bin(bm[pfn // 8] & ((1 << (pfn % 8)) - 1)).count("1")
    n = sum(bin(b).count("1") for b in bm)
    bm[pfn // 8] &= ~(1 << (pfn % 8)) & 0xff
    f.seek(boff + blen // 2)
    f.write(bm)
    doff = boff + blen
    f.seek(doff + 24 * (rank + 1))
    rest = f.read(24 * (n - rank - 1))
    f.seek(doff + 24 * rank)
    f.write(rest + bytes(24))
PY
			# the same in a filtered ELF dump (makedumpfile -E): the segments
			# that hold init_task's page end before it
			python3 - "$d/vmcore.filtered.elf" "$work/misfiltered.elf" "$pa" <<'PY' || rig_fail "$rel: cannot rewrite $d/vmcore.filtered.elf"
import shutil, struct, sys
shutil.copy(sys.argv[1], sys.argv[2])
pa = int(sys.argv[3], 0) & ~4095
cut = 0
with open(sys.argv[2], "r+b") as f:
    eh = f.read(64)
    phoff, = struct.unpack_from("<Q", eh, 32)
    phentsize, phnum = struct.unpack_from("<HH", eh, 54)
    for i in range(phnum):
        f.seek(phoff + i * phentsize)
        typ, _, off, _, p0, filesz, memsz, _ = struct.unpack("<IIQQQQQQ", f.read(56))
        if typ == 1 and p0 <= pa < p0 + filesz:
            f.seek(phoff + i * phentsize + 32)
            f.write(struct.pack("<Q", pa - p0))
            cut += 1
sys.exit(0 if cut else 1)
PY
			for m in misfiltered:"(dump level 31) " misfiltered.elf:""; do
				rc=0
				"$VMREPORT" --format json "$work/${m%%:*}" >"$work/misfiltered.json" 2>"$work/err" || rc=$?
				checks=$((checks + 1))
				if ((rc != 0)); then
					fail "$rel $s init_task's page excluded (${m%%:*}): exit $rc: $(head -c 300 "$work/err")"
				elif ! python3 - "$work/misfiltered.json" "$rel ${m%%:*}" "${m#*:}" <<'PY'; then
import json, sys
r = json.load(open(sys.argv[1]))
w = [w for w in r["warnings"] if "the dump's filter %sexcluded" % sys.argv[3] in w]
ok = w and "makedumpfile that supports it, or with dump level 1" in w[0] and r["system"]["release"] in w[0]
if not ok:
    print("FAIL: %s init_task's page excluded: no warning naming the cause and the fix: %r" % (sys.argv[2], r["warnings"]), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
					errors=$((errors + 1))
				fi
			done
		fi
		"$VMREPORT" --format json "$d/vmcore.elf" >"$work/full.json" 2>/dev/null
		rc=0
		"$VMREPORT" --format json "$work/cutlist.elf" >"$work/cutlist.json" 2>"$work/err" || rc=$?
		checks=$((checks + 1))
		if ((rc != 0)); then
			fail "$rel $s task list cut: exit $rc: $(head -c 300 "$work/err")"
			continue
		fi
		python3 - "$work/full.json" "$work/cutlist.json" "$rel $s task list cut at init_task" <<'PY' || errors=$((errors + 1))
import json, sys
full, cut, name = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
bad = []
if cut["system"]["tasks"] != full["system"]["tasks"]:
    bad.append("%r tasks, the whole dump has %r" % (cut["system"]["tasks"], full["system"]["tasks"]))
want = sorted((t["pid"], t["comm"]) for t in full["blocked_tasks"])
got = sorted((t["pid"], t["comm"]) for t in cut["blocked_tasks"] if t["source"] == "memory")
if got != want:
    bad.append("blocked tasks from memory %r, want %r" % (got, want))
if not any("the task list is cut" in w for w in cut["warnings"]):
    bad.append("no warning that the task list is cut")
if name.endswith("softlockup task list cut at init_task"):
    # the CPU that spins keeps the tasks that wait for it on its runqueue
    if not any("more found on the runqueues" in w for w in cut["warnings"]):
        bad.append("the runqueues gave no task the cut list hides")
elif not any("more found through the pid namespace" in w for w in cut["warnings"]):
    bad.append("the pid namespace gave no task the cut list hides")
if bad:
    print("FAIL: %s: %s" % (name, "; ".join(bad)), file=sys.stderr)
    sys.exit(1)
PY
	done
done
# the log lost: the verdict from memory
for rel in $(rig_kernels); do
	dir=$(rig_dir "$rel")
	for s in $(rig_scenarios "$rel"); do
		d=$dir/$s
		vmlinux=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vmlinux"])' "$d/meta.json")
		pa=$("$SYMS" --vmlinux "$vmlinux" "$d/vmcore.elf" translate prb | awk '$2 == "ok" { print $4 }')
		[[ -n $pa ]] || rig_fail "$rel: the physical address of prb is unknown"
		cp "$d/vmcore.elf" "$work/nolog.elf"
		elf_poke "$work/nolog.elf" "$pa" 0000000000000000 || rig_fail "$rel: prb is not in the ELF"
		rc=0
		"$VMREPORT" --format json "$work/nolog.elf" >"$work/nolog.json" 2>"$work/err" || rc=$?
		checks=$((checks + 1))
		if ((rc != 0)); then
			fail "$rel $s without its log: exit $rc: $(head -c 300 "$work/err")"
			continue
		fi
		"$VMREPORT" --format json "$d/vmcore.elf" >"$work/withlog.json" 2>/dev/null
		# Where the report stayed in a per-CPU buffer, losing the ring buffer
		# leaves that report: its lines are all the log then holds.
		buried=0
		rig_console_report "$d" || buried=$(rig_buried_report "$d" | grep -c .)
		python3 - "$d/meta.json" "$work/nolog.json" "$rel $s without its log" "$work/withlog.json" "$buried" <<'PY' || errors=$((errors + 1))
import json, sys
meta, r, name = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
full = json.load(open(sys.argv[4]))
buried = int(sys.argv[5])
bad = []
if buried:
    # the verdict from the per-CPU buffer's report, as from a log
    want_fn = {meta["function"], (meta.get("extra") or {}).get("text_function")}
    if r["log"]["records"] != buried:
        bad.append("%d log records, want the per-CPU buffer's %d" % (r["log"]["records"], buried))
    if r["crash"]["kind"] != meta["kind"]:
        bad.append("kind %r, want %r" % (r["crash"]["kind"], meta["kind"]))
    if (r["blame"] or {}).get("function") not in want_fn:
        bad.append("blame %r, want one of %r" % ((r["blame"] or {}).get("function"), sorted(want_fn - {None})))
    if bad:
        print("FAIL: %s: %s" % (name, "; ".join(bad)), file=sys.stderr)
        sys.exit(1)
    sys.exit(0)
# what the exception frame gives is what the log's report said
for key in ("access",):
    if full["crash"][key] is not None and r["crash"][key] != full["crash"][key]:
        bad.append("crash.%s %r, the report in the log says %r" % (key, r["crash"][key], full["crash"][key]))
if full["pointer"] and (r["pointer"] or {}).get("class") != full["pointer"]["class"]:
    bad.append("pointer class %r, want %r" % ((r["pointer"] or {}).get("class"), full["pointer"]["class"]))
if r["log"]["records"]:
    bad.append("the log was read (%d records): the test did not lose it" % r["log"]["records"])
if r["crash"]["kind"] != meta["kind"]:
    bad.append("kind %r, want %r" % (r["crash"]["kind"], meta["kind"]))
if (r["blame"] or {}).get("function") != meta["function"]:
    bad.append("blame %r, want %r" % ((r["blame"] or {}).get("function"), meta["function"]))
if not any("the kernel log holds no report of the crash" in w for w in r["warnings"]):
    bad.append("no warning that the verdict comes from memory")
if bad:
    print("FAIL: %s: %s" % (name, "; ".join(bad)), file=sys.stderr)
    sys.exit(1)
PY
	done
done

# The filter warning on the rig's own filtered dumps is true when it fires
# (the page it names is in vmcore.elf and not in the filtered form) and
# fires when it must (when the panicking task's task_struct, which no dump
# level may leave out, is missing from the filtered form): the makedumpfiles
# in Debian's archive filter 5.10, 6.1 and 6.12 right, and leave slab pages
# of 7.x out.
readable() { # DUMP ADDR: whether the byte at ADDR reads
	"$SYMS" "$1" read "$2" 1 >/dev/null 2>&1
}
for rel in $(rig_kernels); do
	dir=$(rig_dir "$rel")
	for s in $(rig_scenarios "$rel"); do
		for f in "$dir/$s"/vmcore.zlib "$dir/$s"/vmcore.filtered.elf "$dir/$s"/debian12/vmcore.zlib; do
			[[ -e $f ]] || continue
			[[ $f == */debian12/* && $f -ef $dir/$s/vmcore.zlib ]] && continue
			"$VMREPORT" --format json "$f" >"$work/r.json" 2>/dev/null || true
			checks=$((checks + 1))
			what="$rel $s ${f#"$dir/$s/"}"
			page=$(python3 -c '
import json, re, sys
for w in json.load(open(sys.argv[1]))["warnings"]:
    m = re.search(r"the dump.s filter(?: \(dump level \d+\))? excluded (?:more than )?\d+ pages? of kernel data .*?the first at (0x[0-9a-f]+)", w)
    if m:
        print(m.group(1))
        break
' "$work/r.json")
			task=$(python3 -c 'import json,sys; print((json.load(open(sys.argv[1]))["panic"] or {}).get("task") or "")' "$work/r.json")
			if [[ -n $page ]]; then
				readable "$dir/$s/vmcore.elf" "$page" && ! readable "$f" "$page" ||
					fail "$what: the filter warning names page $page, which is not missing from it"
			elif [[ -z $task ]]; then
				fail "$what: no panicking task to check the filter by"
			elif ! readable "$f" "$task"; then
				fail "$what: the panicking task's task_struct ($task) is missing, and no filter warning says so"
			fi
		done
	done
done
echo "$checks incomplete-dump reports checked, $errors failures"
((errors == 0))
