#!/bin/bash
# With the module's debug file (--modules), the pointer classifier names the
# struct member the faulting access meant, from the DWARF location of the
# variable in the base register; without it, member stays null. Checked on
# every makedumpfile form of the null-deref and gpf scenarios of each kernel.
set -u
. "$(dirname "$0")/lib.sh"
bin=${VMREPORT:?}
fail=0
checked=0
for k in $(rig_kernels); do
	dir=$(rig_dir "$k") || exit 1
	for pair in "null-deref:struct vrbug_obj.value" "gpf:struct vrbug_obj.flags"; do
		scen=${pair%%:*} want=${pair#*:}
		d=$dir/$scen
		rig_require "$d/vrbug.ko" "$d/vmcore.zlib"
		for form in vmcore.elf vmcore.zlib vmcore.lzo vmcore.flat vmcore.filtered.elf; do
			got=$("$bin" --modules "$d" --format json "$d/$form" |
				/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["pointer"]["member"])')
			if [[ $got != "$want" ]]; then
				echo "FAIL: $k $scen $form: member '$got', want '$want'"
				fail=1
			fi
			checked=$((checked + 1))
		done
		got=$(VMREPORT_NO_DISCOVERY=1 "$bin" --format json "$d/vmcore.zlib" |
			/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["pointer"]["member"])')
		[[ $got == None ]] || { echo "FAIL: $k $scen: member '$got' without debug info"; fail=1; }
	done
done
# A module debug file from another build (the other kernel's vrbug.ko) is
# refused by its srcversion: no member, no source lines from it.
kernels=($(rig_kernels))
if ((${#kernels[@]} >= 2)); then
	a=$(rig_dir "${kernels[0]}")/null-deref b=$(rig_dir "${kernels[1]}")/null-deref
	other=$(mktemp -d)
	trap 'rm -rf "$other"' EXIT
	cp "$b/vrbug.ko" "$other/vrbug.ko"
	got=$("$bin" --modules "$other" --format json "$a/vmcore.zlib" |
		/usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["pointer"]["member"], r["crash"]["ip"]["file"])')
	[[ $got == "None None" ]] || { echo "FAIL: a foreign vrbug.ko was used: $got"; fail=1; }
fi
((fail == 0)) && echo "pointer_member: $checked reports name the member"
exit $fail
