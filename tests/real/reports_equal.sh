#!/bin/bash
# The ways vmreport saves time give the reports the slow ways give, on every
# rig dump in every form, with and without the vmlinux, in every format:
#   - the vmlinux's DWARF read a compile unit at a time against libdw's
#     whole-file lookups (VMREPORT_WHOLE_DWARF);
#   - one --batch run over all of a kernel's dumps, which reads the vmlinux
#     once for all of them on every CPU, against a run on each dump alone.
# Each dump is given through a save directory of its own (a link named
# vmcore), so that the batch and the runs alone name it alike.
set -u
source "$(dirname "$0")/lib.sh"

bin=${VMREPORT:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
n=0
formats=(json text markdown email)
ext() { case $1 in json) echo json ;; text) echo txt ;; markdown) echo md ;; email) echo eml ;; esac; }

for k in $(rig_kernels); do
	dir=$(rig_dir "$k") || exit 1
	crash=$tmp/$k
	mkdir -p "$crash"
	for scen in $(rig_scenarios "$k"); do
		d=$dir/$scen
		rig_require "$d/vmcore.elf"
		for f in vmcore.elf vmcore.zlib vmcore.lzo vmcore.flat vmcore.filtered.elf qemu.elf qemu.kdump \
			qemu.reassembled.kdump console.log dmesg.txt; do
			[[ -e $d/$f ]] || continue
			mkdir -p "$crash/$scen-$f"
			ln -s "$d/$f" "$crash/$scen-$f/vmcore"
		done
	done
	for mode in vmlinux none; do
		env=()
		[[ $mode == none ]] && env=(VMREPORT_NO_DISCOVERY=1)
		outs=()
		for fmt in "${formats[@]}"; do
			outs+=(-o "$fmt:$tmp/batch-$k-$mode/")
		done
		env "${env[@]}" "$bin" --batch "${outs[@]}" "$crash" >/dev/null 2>&1
		for sd in "$crash"/*; do
			name=$(basename "$sd")
			n=$((n + 1))
			outs=()
			for fmt in "${formats[@]}"; do
				outs+=(-o "$fmt:$tmp/alone.$(ext "$fmt")")
			done
			rc=0
			env "${env[@]}" "$bin" "${outs[@]}" "$sd" 2>/dev/null || rc=$?
			if ((rc != 0)); then
				echo "FAIL: $k $name ($mode): exit status $rc"
				fail=1
				continue
			fi
			for fmt in "${formats[@]}"; do
				e=$(ext "$fmt")
				cmp -s "$tmp/alone.$e" "$tmp/batch-$k-$mode/$name.$e" ||
					{ echo "FAIL: $k $name ($mode): the batch's $fmt report differs"; fail=1; }
			done
			[[ $mode == none ]] && continue
			outs=()
			for fmt in "${formats[@]}"; do
				outs+=(-o "$fmt:$tmp/whole.$(ext "$fmt")")
			done
			VMREPORT_WHOLE_DWARF=1 "$bin" "${outs[@]}" "$sd" 2>/dev/null
			for fmt in "${formats[@]}"; do
				e=$(ext "$fmt")
				cmp -s "$tmp/alone.$e" "$tmp/whole.$e" ||
					{ echo "FAIL: $k $name: the $fmt report differs from libdw's whole-file reading"; fail=1; }
			done
		done
	done
done
((n > 0)) || { echo "FAIL: no reports compared"; exit 1; }
((fail == 0)) && echo "reports_equal: $n dumps: a unit at a time equals the whole file, the batch equals each run alone"
exit $fail
