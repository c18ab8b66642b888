#!/bin/bash
# Differential check of the dump-format layer on real dumps: for every rig
# kernel and scenario, the pages present in both of two forms of the same
# crash must be byte-identical, and their CPUs and vmcoreinfo equal:
#   vmcore.elf vs vmcore.zlib, .lzo, .flat, .filtered.elf
#   vmcore.elf vs our own snappy and zstd conversions of it (makedumpfile on
#   Debian cannot write those)
#   qemu.elf vs qemu.kdump (QEMU's own ELF and kdump output)
#   vmcore.lzo vs a makedumpfile --split of vmcore.elf in three parts
# and each file must be recognised as its form from content alone.
set -u
: "${VR_BUILD_DIR:?}"
. "${VR_SOURCE_DIR:-$(dirname "$0")/../..}/tests/real/lib.sh"
M=$VR_BUILD_DIR/vr-mkdump
[[ -x $M ]] || rig_fail "$M was not built"
T=$(mktemp -d /tmp/vr-real-formats.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0 checks=0

diffcheck() {
	local out
	checks=$((checks + 1))
	if out=$("$M" diff "$1" "$2" 2>&1); then
		echo "ok: $out"
	else
		echo "FAIL: $out"
		fail=1
	fi
}

formcheck() { # file, form
	local form
	form=$("$M" info "$1" 2>&1 | sed -n 's/^form: //p')
	[[ $form == "$2" ]] || { echo "FAIL: $1 opens as form '$form', want $2"; fail=1; }
}

converted=0
for rel in $(rig_kernels); do
	dir=$(rig_dir "$rel") || exit 1
	for scen in $(rig_scenarios "$rel"); do
		d=$dir/$scen
		rig_require "$d/vmcore.elf" "$d/vmcore.zlib" "$d/vmcore.lzo" "$d/vmcore.flat" \
			"$d/vmcore.filtered.elf" "$d/dmesg.txt"
		formcheck "$d/vmcore.elf" elf
		formcheck "$d/vmcore.zlib" kdump
		formcheck "$d/vmcore.lzo" kdump
		formcheck "$d/vmcore.flat" flattened
		formcheck "$d/vmcore.filtered.elf" elf
		formcheck "$d/dmesg.txt" text
		for f in vmcore.zlib vmcore.lzo vmcore.flat vmcore.filtered.elf; do
			diffcheck "$d/vmcore.elf" "$d/$f"
		done
		# snappy and zstd exist only through our writer: convert one
		# scenario per kernel, and check the conversion against both the
		# source and makedumpfile's own output
		if [[ $converted != "$rel" ]]; then
			converted=$rel
			for c in snappy zstd; do
				if "$M" gen --from "$d/vmcore.elf" --compress "$c" "$T/vmcore.$c"; then
					formcheck "$T/vmcore.$c" kdump
					diffcheck "$d/vmcore.elf" "$T/vmcore.$c"
					diffcheck "$d/vmcore.zlib" "$T/vmcore.$c"
				else
					echo "FAIL: converting $d/vmcore.elf to $c"
					fail=1
				fi
			done
			rm -f "$T"/vmcore.*
			# a real --split dump (makedumpfile writes it from the ELF
			# core), opened from its parts in another order
			if command -v makedumpfile >/dev/null; then
				if makedumpfile --split -l -d 31 "$d/vmcore.elf" "$T/sp1" "$T/sp2" "$T/sp3" \
					>"$T/mdf.log" 2>&1; then
					formcheck "$T/sp3,$T/sp1,$T/sp2" split
					diffcheck "$d/vmcore.lzo" "$T/sp3,$T/sp1,$T/sp2"
				else
					echo "FAIL: makedumpfile --split on $d/vmcore.elf"
					cat "$T/mdf.log"
					fail=1
				fi
				rm -f "$T"/sp?
			fi
		fi
		if [[ -e $d/qemu.elf ]]; then
			rig_require "$d/qemu.kdump"
			formcheck "$d/qemu.elf" qemu-elf
			formcheck "$d/qemu.kdump" qemu-kdump
			diffcheck "$d/qemu.elf" "$d/qemu.kdump"
		fi
	done
done
[[ $checks -gt 0 ]] || rig_fail "no real dump was compared"
echo "$checks comparisons"
exit $fail
