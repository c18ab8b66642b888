#!/bin/bash
# Address translation on every dump form of the rig's kernels: for
# linux_banner and init_uts_ns, the page-table walk, the kernel-image
# mapping and the direct map give the same physical address and the same
# bytes (with kallsyms from the dump, and with the vmlinux's symbols), and
# the banner read from the dump is the vmlinux's own .rodata string.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

T=$VR_BUILD_DIR/probe_symbols
[[ -x $T ]] || rig_fail "$T is not built"

errors=0
bad() {
	echo "FAIL: $*" >&2
	errors=$((errors + 1))
}

# The NUL-terminated string at SYMBOL in the vmlinux file, read through its
# section headers (nm and readelf are the oracle, not vmreport).
vmlinux_string() { # VMLINUX SYMBOL
	local v=$1 sym=$2 addr a _name type saddr off size _rest s
	addr=$(nm "$v" | awk -v s="$sym" '$3 == s { print $1; exit }')
	[[ -n $addr ]] || return 1
	a=$((16#$addr))
	while read -r _name type saddr off size _rest; do
		[[ $type == PROGBITS ]] || continue
		s=$((16#$saddr))
		if ((a >= s && a - s < 16#$size)); then
			tail -c +$((16#$off + a - s + 1)) "$v" | head -c 1024 | tr '\0' '\n' | head -n 1
			return 0
		fi
	done < <(readelf -S -W "$v" | sed -n 's/^ *\[ *[0-9]*\] *//p')
	return 1
}

for rel in $(rig_kernels); do
	dir=$(rig_dir "$rel")
	vmlinux=$(rig_vmlinux "$rel")
	rig_require "$vmlinux"
	want_banner=$(vmlinux_string "$vmlinux" linux_banner) || rig_fail "no linux_banner in $vmlinux"
	[[ $want_banner == "Linux version $rel "* ]] || rig_fail "$vmlinux: unexpected banner: $want_banner"
	echo "kernel $rel: $dir"
	for s in $(rig_scenarios "$rel"); do
		forms="vmcore.elf vmcore.zlib vmcore.lzo vmcore.flat vmcore.filtered.elf"
		[[ $s == null-deref ]] && forms="$forms qemu.elf qemu.kdump"
		for f in $forms; do
			d=$dir/$s/$f
			rig_require "$d"
			for mode in kallsyms vmlinux; do
				opt=()
				[[ $mode == vmlinux ]] && opt=(--vmlinux "$vmlinux")
				if ! out=$("$T" "${opt[@]}" "$d" translate linux_banner init_uts_ns 2>&1); then
					bad "$rel $s $f ($mode): $out"
					continue
				fi
				[[ $(grep -c ' ok 0x' <<<"$out") == 2 ]] || bad "$rel $s $f ($mode): $out"
			done
			# Without VMCOREINFO (QEMU guests lacking the vmcoreinfo
			# device): layout from the CPU notes' CR3 or the ELF segments,
			# KASLR offset from the image mapping, symbols from the vmlinux.
			if [[ $s == null-deref && ($f == vmcore.elf || $f == qemu.elf) ]]; then
				out=$("$T" --no-vmcoreinfo --vmlinux "$vmlinux" "$d" translate linux_banner init_uts_ns 2>&1) ||
					bad "$rel $s $f (no VMCOREINFO): $out"
				[[ $(grep -c ' ok 0x' <<<"$out") == 2 ]] || bad "$rel $s $f (no VMCOREINFO): $out"
				b=$("$T" --no-vmcoreinfo --vmlinux "$vmlinux" "$d" string linux_banner 2>&1) || true
				[[ $b == "$want_banner" ]] || bad "$rel $s $f (no VMCOREINFO): banner $b"
			fi
			if ! banner=$("$T" "$d" string linux_banner 2>&1); then
				bad "$rel $s $f: reading linux_banner: $banner"
			elif [[ $banner != "$want_banner" ]]; then
				bad "$rel $s $f: banner differs from the vmlinux's: $banner"
			fi
			echo "  $s $f: ok"
		done
	done
done
((errors == 0)) || rig_fail "$errors translation problem(s)"
echo "translation agrees on every form"
