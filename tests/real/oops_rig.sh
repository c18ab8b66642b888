#!/bin/bash
# The crash report decoded from every form of each rig scenario (its console
# log, vmcore-dmesg text, the makedumpfile forms and QEMU's own dumps, which
# come from another boot with another KASLR offset): the kind, the function
# and module of the instruction pointer, and the crash signature, which must
# be the same for every form of one scenario. Fails when the rig has not
# produced dumps on this machine.
set -u
VMREPORT=${VMREPORT:?VMREPORT not set}
RIG=${VR_RIG_CACHE:-/var/cache/vmreport-rig}
pass=0 fail=0

# scenario kind function module (function "-" for no instruction pointer)
expect() {
	case $1 in
	sysrq) echo "sysrq sysrq_handle_crash -" ;;
	null-deref | busy-cpu) echo "null-deref vrbug_null_deref vrbug" ;;
	bug-on) echo "bug vrbug_bug_on vrbug" ;;
	gpf) echo "gpf vrbug_gpf vrbug" ;;
	warn) echo "warning vrbug_warn vrbug" ;;
	softlockup) echo "soft-lockup vrbug_softlockup vrbug" ;;
	hungtask) echo "hung-task - -" ;;
	*) return 1 ;;
	esac
}

shopt -s nullglob
dirs=("$RIG"/*/*/)
if ((${#dirs[@]} == 0)); then
	echo "FAIL: no rig dumps under $RIG (tests/run.sh makes them with tests/rig/rig.sh)"
	exit 1
fi
for d in "${dirs[@]}"; do
	scen=$(basename "$d")
	want=$(expect "$scen") || continue
	read -r wkind wfn wmod <<<"$want"
	sig=""
	for form in console.log dmesg.txt vmcore.elf vmcore.zlib vmcore.lzo vmcore.flat vmcore.filtered.elf qemu.elf qemu.kdump qemu.console.log; do
		f=$d$form
		[[ -f $f ]] || continue
		out=$("$VMREPORT" --format json "$f" 2>/dev/null)
		rc=$?
		if ((rc != 0)); then
			echo "FAIL $f: exit status $rc"
			fail=$((fail + 1))
			continue
		fi
		got=$(jq -r '[.crash.kind, (.crash.ip.symbol // "-"), (.crash.ip.module // "-"), (.signature.id // "-"),
			([.crash.trace[]?.symbol] | join(","))] | @tsv' <<<"$out")
		IFS=$'\t' read -r kind fn mod id trace <<<"$got"
		fn=${fn%%.*} # vrbug_null_deref.isra.0 is vrbug_null_deref
		ok=1
		[[ $kind == "$wkind" && $fn == "$wfn" && $mod == "$wmod" ]] || ok=0
		# A hung task has no instruction pointer: its trace names the function.
		if [[ $scen == hungtask && ,$trace, != *,vrbug_hungtask,* ]]; then ok=0; fi
		if [[ -n $sig && $id != "$sig" ]]; then ok=0; fi
		# From a dump with its vmlinux, the kernel's own functions get
		# their source line.
		if [[ $scen == sysrq && $form == vmcore.* && -f $(jq -r '.input.vmlinux.path // "/nonexistent"' <<<"$out") ]]; then
			file=$(jq -r '.crash.ip.file // "-"' <<<"$out")
			[[ $file == drivers/tty/sysrq.c ]] || { ok=0; echo "  $f: crash.ip.file $file"; }
		fi
		[[ -z $sig ]] && sig=$id
		if ((ok)); then
			pass=$((pass + 1))
		else
			echo "FAIL $f: got kind=$kind ip=$fn [$mod] signature=$id, want kind=$wkind ip=$wfn [$wmod] signature=${sig}"
			fail=$((fail + 1))
		fi
	done
done
echo "oops_rig: $pass passed, $fail failed"
((fail == 0))
