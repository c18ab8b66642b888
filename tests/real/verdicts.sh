#!/bin/bash
# The verdict on every rig scenario of every rig kernel, from every dump
# form (with the kernel's vmlinux, and the compressed form also without
# any) and from the text logs, alone and with the vmlinux: crash kind,
# pointer class, culprit, module and function, as the scenario's meta.json
# says
# (tests/rig/module/vrbug.c is the culprit of every scenario but sysrq,
# which is the operator's). Where the crash report never reached the
# console and the log (it stayed in a per-CPU buffer), the texts hold no
# crash, and vmreport must not invent one.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

VMREPORT=${VMREPORT:-$VR_BUILD_DIR/vmreport}
[[ -x $VMREPORT ]] || rig_fail "vmreport binary not found (set VMREPORT)"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

checks=0
errors=0
for rel in $(rig_kernels); do
	dir=$(rig_dir "$rel")
	for s in $(rig_scenarios "$rel"); do
		d=$dir/$s
		rig_require "$d/meta.json" "$d/console.log" "$d/dmesg.txt"
		vmlinux=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("vmlinux") or "")' "$d/meta.json")
		[[ -n $vmlinux && -r $vmlinux ]] || vmlinux=
		for form in vmcore.elf vmcore.zlib vmcore.lzo vmcore.flat vmcore.filtered.elf \
			qemu.elf qemu.kdump qemu.reassembled.kdump console.log dmesg.txt dmesg.txt:vmlinux \
			vmcore.zlib:no-vmlinux debian12/vmcore.zlib debian12/vmcore.lzo debian12/dmesg.txt; do
			f=$d/${form%:*}
			[[ -e $f ]] || continue
			# Debian 12's forms that came out the same as the main ones
			# (hard links) are tested as those.
			[[ $form == debian12/vmcore.* && $f -ef $d/${form#debian12/} ]] && continue
			env=()
			case $form in
			*console.log | *dmesg.txt) args=("$f") ;;
			*.txt:vmlinux) args=("$f" ${vmlinux:+"$vmlinux"}) ;; # the log with its kernel's symbols
			*:no-vmlinux) args=("$f") env=(VMREPORT_NO_DISCOVERY=1) ;;
			*) args=("$f" ${vmlinux:+"$vmlinux"}) ;;
			esac
			json=$out/$rel-$s-${form//\//-}.json
			rc=0
			env "${env[@]}" "$VMREPORT" --format json "${args[@]}" >"$json" 2>"$out/err" || rc=$?
			checks=$((checks + 1))
			if ((rc != 0)); then
				echo "FAIL: $rel $s $form: vmreport exited $rc: $(head -c 300 "$out/err")" >&2
				errors=$((errors + 1))
				continue
			fi
			if ! python3 - "$d/meta.json" "$json" "$rel $s $form" <<'PY'; then
import json, re, sys

meta = json.load(open(sys.argv[1]))
try:
    rep = json.load(open(sys.argv[2]))
except ValueError as e:
    print(f"FAIL: {sys.argv[3]}: not JSON: {e}", file=sys.stderr)
    sys.exit(1)
where = sys.argv[3]
scen = meta["scenario"]
bad = []
text_form = re.search(r"\.(log|txt)(:vmlinux)?$", where) is not None

if text_form and meta.get("console_report") is False:
    # The log holds no report of this crash: nothing to decode.
    crash = rep.get("crash") or {}
    blame = rep.get("blame") or {}
    if crash.get("kind") not in (None, "unknown") or blame.get("function"):
        print(f"FAIL: {where}: the log holds no crash report, yet crash.kind "
              f"{crash.get('kind')!r}, blame.function {blame.get('function')!r}", file=sys.stderr)
        sys.exit(1)
    sys.exit(0)

def base(sym):
    # Compiler suffixes (.isra.0, .constprop.0, .cold) are not part of the name.
    return re.sub(r"\..*$", "", sym) if sym else sym

crash = rep.get("crash") or {}
pointer = rep.get("pointer") or {}
blame = rep.get("blame") or {}

if crash.get("kind") != meta["kind"]:
    bad.append(f"crash.kind {crash.get('kind')!r}, want {meta['kind']!r}")

want_class = {
    "null-deref": {"null", "near-null"},
    "busy-cpu": {"null", "near-null"},
    "gpf": {"non-canonical", "list-poison"},
}.get(scen)
if want_class and pointer.get("class") not in want_class:
    bad.append(f"pointer.class {pointer.get('class')!r}, want one of {sorted(want_class)}")

if scen == "sysrq":
    if blame.get("culprit") != "operator":
        bad.append(f"blame.culprit {blame.get('culprit')!r}, want 'operator'")
    if base(blame.get("function")) != "sysrq_handle_crash":
        bad.append(f"blame.function {blame.get('function')!r}, want sysrq_handle_crash")
else:
    if blame.get("culprit") != "module":
        bad.append(f"blame.culprit {blame.get('culprit')!r}, want 'module'")
    if blame.get("module") != meta.get("module", "vrbug"):
        bad.append(f"blame.module {blame.get('module')!r}, want {meta.get('module')!r}")
    want_fn = {meta["function"]}
    text_fn = (meta.get("extra") or {}).get("text_function")
    if text_fn and text_form:
        # From the log alone: what the printed trace shows.
        want_fn = {text_fn}
    if scen == "hungtask":
        # The lock holder when vmreport found it, else the waiter.
        want_fn.add("vrbug_holder")
    if base(blame.get("function")) not in want_fn:
        bad.append(f"blame.function {blame.get('function')!r}, want one of {sorted(want_fn)}")

if scen == "tailcall" and not text_form:
    # vrbug_tailcall has no frame of its own: the call before vrbug_write's
    # return address names it, and the trace carries it as inferred.
    inferred = [f.get("symbol") for f in crash.get("trace") or [] if f.get("inferred")]
    if meta["function"] not in inferred:
        bad.append(f"crash.trace has no inferred frame {meta['function']} (inferred: {inferred})")

hang = rep.get("hang") or {}
text_form = re.search(r"\.(log|txt)(:vmlinux)?$", where) is not None
if scen == "hungtask":
    waiters = hang.get("waiters") or []
    if hang.get("kind") != "hung-task" or not waiters:
        bad.append(f"hang {hang!r}, want a hung-task with waiters")
    else:
        w = waiters[0]
        extra = meta.get("extra") or {}
        blocked = extra.get("blocked_comm", "vrtrigger")
        holder = extra.get("holder_comm", "vrbug_holder")
        if w.get("comm") != blocked:
            bad.append(f"hang.waiters[0].comm {w.get('comm')!r}, want {blocked!r}")
        # The mutex and its owner are read from dump memory; where the
        # makedumpfile that wrote the dump left out the waiter's task_struct
        # (7.x: the report warns so), the owner may be unknown, never wrong.
        filtered = any("the dump's filter (dump level" in x for x in rep.get("warnings") or [])
        if not text_form and w.get("owner_comm") != holder and \
                not (filtered and w.get("owner_comm") is None):
            bad.append(f"hang.waiters[0].owner_comm {w.get('owner_comm')!r}, want {holder!r}")
if scen == "softlockup":
    if hang.get("kind") != "soft-lockup" or base(hang.get("stuck_function")) != meta["function"]:
        bad.append(f"hang {hang!r}, want a soft-lockup in {meta['function']}")
    elif hang.get("stuck_cpu") != meta.get("panic_cpu"):
        bad.append(f"hang.stuck_cpu {hang.get('stuck_cpu')!r}, want {meta.get('panic_cpu')!r}")

for b in bad:
    print(f"FAIL: {where}: {b}", file=sys.stderr)
sys.exit(1 if bad else 0)
PY
				errors=$((errors + 1))
			fi
		done
		echo "$rel $s: checked"
	done
done
# A Code: line that differs from the code in dump memory is reported: patch
# the faulting instruction's displacement in the log held by a copy of a
# real dump (the text sits uncompressed in the printk buffer of an ELF dump).
kernels=($(rig_kernels))
rel=${kernels[0]}
d=$(rig_dir "$rel")/null-deref
rig_require "$d/vmcore.filtered.elf"
vmlinux=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("vmlinux") or "")' "$d/meta.json")
[[ -n $vmlinux && -r $vmlinux ]] || vmlinux=
checks=$((checks + 1))
if python3 - "$d/vmcore.filtered.elf" "$out/patched.elf" <<'PY'; then
import re, sys
data = open(sys.argv[1], "rb").read()
# "<48> 8b 43 10": change the byte after the marked one's operands.
# The kernel's Code: line follows its "RIP: 0010:" line (0033 is user space).
rip = data.find(b"RIP: 0010:")
m = re.compile(rb"<([0-9a-f]{2})> ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2})").search(data, max(rip, 0))
if not m:
    sys.exit(1)
old = m.group(0)
last = int(m.group(4), 16) ^ 0x08
new = old[:-2] + b"%02x" % last
open(sys.argv[2], "wb").write(data.replace(old, new))
PY
	"$VMREPORT" --format json "$out/patched.elf" ${vmlinux:+"$vmlinux"} >"$out/patched.json" 2>/dev/null || true
	if ! python3 - "$out/patched.json" <<'PY'; then
import json, sys
rep = json.load(open(sys.argv[1]))
p = rep.get("pointer") or {}
ok = p.get("code_matches_memory") is False and any(
    f.get("rule") == "code-mismatch" for f in rep.get("findings") or [])
if not ok:
    print("FAIL: patched Code: line: want code_matches_memory false and a code-mismatch finding, "
          f"got {p.get('code_matches_memory')!r}", file=sys.stderr)
sys.exit(0 if ok else 1)
PY
		errors=$((errors + 1))
	fi
else
	echo "FAIL: $rel null-deref: no Code: line found in vmcore.filtered.elf" >&2
	errors=$((errors + 1))
fi

echo "$checks reports checked, $errors failed"
((checks > 0)) || rig_fail "no reports checked"
((errors == 0)) || rig_fail "$errors of $checks verdicts wrong"
