#!/bin/bash
# The crash rig made every dump form of every scenario, for each rig kernel
# ($VR_RIG_KERNELS, default 5.10, 6.1, 6.12 and the archive's newest), and
# each crash is the one the scenario meant (its console line is in the
# guest's console and in the log makedumpfile extracted from the dump; where
# the kernel kept the report in a per-CPU buffer, in the dump's raw bytes
# and in neither text).
set -euo pipefail
# shellcheck source=tests/real/lib.sh
source "$(dirname "$0")/lib.sh"

errors=0
bad() {
	echo "FAIL: $*" >&2
	errors=$((errors + 1))
}

magic_is() { # FILE OFFSET-0 STRING
	[[ $(head -c "${#2}" "$1" | tr -d '\0') == "$2" ]]
}

for rel in $(rig_kernels); do
	dir=$(rig_dir "$rel")
	echo "kernel $rel: $dir"
	for s in $(rig_scenarios "$rel"); do
		d=$dir/$s
		rig_require "$d/vmcore.elf" "$d/vmcore.zlib" "$d/vmcore.lzo" "$d/vmcore.flat" \
			"$d/vmcore.filtered.elf" "$d/dmesg.txt" "$d/console.log" "$d/meta.json" "$d/meta.txt"
		for f in vmcore.elf vmcore.filtered.elf; do
			magic_is "$d/$f" $'\x7fELF' || bad "$rel $s: $f is not an ELF file"
		done
		for f in vmcore.zlib vmcore.lzo; do
			magic_is "$d/$f" 'KDUMP   ' || bad "$rel $s: $f lacks the KDUMP signature"
		done
		magic_is "$d/vmcore.flat" makedumpfile || bad "$rel $s: vmcore.flat is not flattened"
		grep -q "^release=$rel\$" "$d/meta.txt" || bad "$rel $s: meta.txt names another release"
		if command -v python3 >/dev/null; then
			python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$d/meta.json" ||
				bad "$rel $s: meta.json is not valid JSON"
		fi
		pat=$(rig_expect "$s")
		if rig_console_report "$d"; then
			grep -a -qE "$pat" "$d/console.log" || bad "$rel $s: console.log lacks /$pat/"
			grep -a -qE "$pat" "$d/dmesg.txt" || bad "$rel $s: dmesg.txt (from the dump) lacks /$pat/"
		else
			grep -a -q "VRRIG: triggering $s" "$d/console.log" || bad "$rel $s: the scenario never ran"
			! grep -a -qE "$pat" "$d/console.log" "$d/dmesg.txt" ||
				bad "$rel $s: meta.json says the report stayed in a per-CPU buffer, but the texts have it"
			rig_buried_report "$d" >/dev/null || bad "$rel $s: no /$pat/ report in vmcore.elf's raw bytes"
		fi
		# Forms by Debian 12's makedumpfile, where another made the main ones.
		for f in $(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1])).get("debian12_forms", [])))' "$d/meta.json"); do
			rig_require "$d/$f"
			case $f in
			*.zlib | *.lzo) magic_is "$d/$f" 'KDUMP   ' || bad "$rel $s: $f lacks the KDUMP signature" ;;
			*.flat) magic_is "$d/$f" makedumpfile || bad "$rel $s: $f is not flattened" ;;
			*.elf) magic_is "$d/$f" $'\x7fELF' || bad "$rel $s: $f is not an ELF file" ;;
			esac
		done
		if [[ $s == null-deref ]]; then
			rig_require "$d/qemu.elf" "$d/qemu.kdump" "$d/qemu.reassembled.kdump" "$d/qemu.console.log"
			magic_is "$d/qemu.elf" $'\x7fELF' || bad "$rel $s: qemu.elf is not an ELF file"
			# QEMU 7.2 writes kdump-zlib flattened; the rig also reassembles it.
			magic_is "$d/qemu.kdump" makedumpfile || bad "$rel $s: qemu.kdump is not flattened"
			magic_is "$d/qemu.reassembled.kdump" 'KDUMP   ' ||
				bad "$rel $s: qemu.reassembled.kdump lacks the KDUMP signature"
			grep -a -qE "$pat" "$d/qemu.console.log" || bad "$rel $s: qemu.console.log lacks /$pat/"
		fi
		echo "  $s: ok"
	done
done
((errors == 0)) || rig_fail "$errors problem(s) with the real dumps"
echo "all real dumps present"
