#!/bin/bash
# Layouts from every source agree with each other and with crash on a real
# 6.1 dump: the vmlinux's BTF, its DWARF, the BTF in the dump's memory (no
# vmlinux), VMCOREINFO+BTF as vmreport uses them, and `crash -s`'s
# "struct -o TYPE.MEMBER". Then source lines with inline chains against
# addr2line -i, in the kernel and in two modules, and the vmlinux's DWARF
# read a unit at a time against libdw's whole-file lookups.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD=${VR_BUILD_DIR:?VR_BUILD_DIR not set}
TYPES=$BUILD/probe_types
LINES=$BUILD/probe_dwarf
[[ -x $TYPES && -x $LINES ]] || rig_fail "$TYPES or $LINES not built"

dir=$(rig_dir 6.1) || exit 1
dump=$dir/sysrq/vmcore.elf
rig_require "$dump"
rel=$(basename "$dir")
rel=${rel%-r*}
vmlinux=/usr/lib/debug/boot/vmlinux-$rel
[[ -s $vmlinux ]] || rig_fail "$vmlinux is missing (install linux-image-$rel-dbg)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One-level members: crash can check these.
flat=(task_struct.comm task_struct.pid task_struct.tgid task_struct.tasks task_struct.__state
	task_struct.stack task_struct.on_cpu task_struct.thread task_struct.mm task_struct.thread_info
	module.list module.name module.state module.core_layout
	printk_info.seq printk_info.ts_nsec printk_info.text_len printk_info.caller_id
	printk_ringbuffer.desc_ring printk_ringbuffer.text_data_ring printk_ringbuffer.fail
	prb_desc_ring.count_bits prb_desc_ring.descs prb_desc_ring.infos prb_desc_ring.head_id
	prb_desc.state_var prb_desc.text_blk_lpos list_head.next list_head.prev
	mm_struct.pgd pt_regs.ip pt_regs.sp rq.curr uts_namespace.name)
# Nested members, through anonymous unions/structs: BTF against DWARF.
nested=(task_struct.thread.sp task_struct.se.avg.util_avg task_struct.thread_info.flags
	task_struct.thread_info.cpu
	module.core_layout.base module.core_layout.size printk_ringbuffer.desc_ring.count_bits
	new_utsname.release rq.nr_running)

fail=0
"$TYPES" members btf "$vmlinux" - "${flat[@]}" "${nested[@]}" >"$work/btf" 2>/dev/null ||
	rig_fail "probe_types (btf) failed"
"$TYPES" members dwarf "$vmlinux" - "${flat[@]}" "${nested[@]}" >"$work/dwarf" 2>/dev/null ||
	rig_fail "probe_types (dwarf) failed"
"$TYPES" members btf /nonexistent "$dump" "${flat[@]}" "${nested[@]}" >"$work/membtf" 2>/dev/null ||
	rig_fail "probe_types (in-memory BTF) failed"
"$TYPES" members all "$vmlinux" "$dump" "${flat[@]}" "${nested[@]}" >"$work/all" 2>/dev/null ||
	rig_fail "probe_types (all sources) failed"

if grep -q error "$work/btf" "$work/dwarf" "$work/membtf" "$work/all"; then
	echo "FAIL: lookups failed:"; grep error "$work/btf" "$work/dwarf" "$work/membtf" "$work/all"
	fail=1
fi
for other in dwarf membtf all; do
	if ! diff -u "$work/btf" "$work/$other"; then
		echo "FAIL: BTF and $other disagree (diff above)"
		fail=1
	fi
done

# crash: "struct -o task_struct.comm" prints "  [2976] char comm[16];"
for m in "${flat[@]}"; do echo "struct -o $m"; done >"$work/crash.in"
echo exit >>"$work/crash.in"
timeout 600 crash -s "$vmlinux" "$dump" -i "$work/crash.in" >"$work/crash.out" 2>&1 ||
	{ echo "FAIL: crash failed:"; tail -5 "$work/crash.out"; fail=1; }
# Pair each "struct TYPE {" with the first "[N]" after it.
# A member crash does not know prints "struct: invalid data structure reference".
awk '/invalid data structure reference/ { print "ERR"; t = ""; next }
     /^(struct|union) [a-z_0-9]+ \{/ { t = $2; next }
     t != "" && match($0, /\[[0-9]+\]/) { print t, substr($0, RSTART + 1, RLENGTH - 2); t = "" }' \
	"$work/crash.out" >"$work/crash.offsets"
n=0
for m in "${flat[@]}"; do
	want=$(awk -v m="$m" '$1 == m { print $2 }' "$work/btf")
	n=$((n + 1))
	got=$(sed -n "${n}p" "$work/crash.offsets")
	if [[ $got != "${m%%.*} $want" ]]; then
		echo "FAIL: $m: BTF says offset $want, crash says '${got}'"
		fail=1
	fi
done

# Member names at offsets, BTF against DWARF.
at=(task_struct 0x890 task_struct 0x898 task_struct 5336 task_struct 0xba0 module 0x8 module 30)
"$TYPES" memberat btf "$vmlinux" - "${at[@]}" >"$work/at.btf" 2>/dev/null
"$TYPES" memberat dwarf "$vmlinux" - "${at[@]}" >"$work/at.dwarf" 2>/dev/null
diff -u "$work/at.btf" "$work/at.dwarf" || { echo "FAIL: member names differ"; fail=1; }
grep -qx 'task_struct+0x890 tasks.next' "$work/at.btf" ||
	{ echo "FAIL: task_struct+0x890 is not tasks.next:"; cat "$work/at.btf"; fail=1; }
grep -qx 'task_struct+5336 thread.sp' "$work/at.btf" ||
	{ echo "FAIL: task_struct+5336 is not thread.sp"; fail=1; }

# Source lines with inline chains against addr2line -i.
map=/usr/lib/debug/boot/System.map-$rel
[[ -s $map ]] || rig_fail "$map is missing"
for fn in do_exit schedule __schedule sysrq_handle_crash panic vfs_write; do
	base=$(awk -v f="$fn" '$3 == f && ($2 == "T" || $2 == "t") { print $1; exit }' "$map")
	[[ -n $base ]] || { echo "FAIL: $fn not in $map"; fail=1; continue; }
	for delta in 0x4 0x40 0x80; do
		addr=$(printf '0x%x' $((0x$base + delta)))
		# addr2line -f -i: NAME / FILE:LINE pairs, innermost first; ours:
		# the outer function's FILE:LINE, then the inlined ones.
		want=$(addr2line -f -i -e "$vmlinux" "$addr" |
			sed -e 's/ (discriminator [0-9]*)//' -e 's|^.*/build_amd64_none_cloud-amd64/||' |
			paste - - | awk '{ print $2 }')
		got=$("$LINES" lines "$vmlinux" "$addr" |
			awk 'NR == 1 { outer = $2; next } { print $3 } END { print outer }')
		if [[ $want != "$got" ]]; then
			echo "FAIL: $fn+$delta ($addr): addr2line -i says"; echo "$want"
			echo "  probe_dwarf says"; echo "$got"
			fail=1
		fi
	done
done

# Read a unit at a time, the vmlinux gives what libdw's whole-file lookups
# give, at 3000 addresses of each rig kernel's vmlinux (DWARF 4 and 5).
for k in $(rig_kernels); do
	kdir=$(rig_dir "$k") || exit 1
	krel=$(basename "$kdir")
	krel=${krel%-r*}
	kvml=/usr/lib/debug/boot/vmlinux-$krel kmap=/usr/lib/debug/boot/System.map-$krel
	[[ -s $kvml && -s $kmap ]] || rig_fail "$kvml or $kmap is missing (install linux-image-$krel-dbg)"
	if ! "$LINES" compare "$kvml" "$kmap" 3000 >"$work/compare" 2>&1; then
		echo "FAIL: $krel: a unit at a time and the whole file disagree:"
		head -40 "$work/compare"
		fail=1
	fi
done

# Modules: the rig's out-of-tree module from its directory (--modules), an
# in-tree one from /usr/lib/debug/lib/modules; addr2line reads the .ko by
# section.
ndump=$dir/null-deref/vmcore.elf
rig_require "$ndump" "$dir/null-deref/vrbug.ko"
check_module() { # KO SYMBOL OFFSET
	local ko=$1 sym=$2 off=$3 sec val secname want got
	read -r sec val < <(readelf -sW "$ko" | awk -v s="$sym" '$8 == s { print $7, $2; exit }')
	secname=$(readelf -SW "$ko" | sed 's/\[ */[/' | awk -v n="[$sec]" '$1 == n { print $2 }')
	want=$(addr2line -j "$secname" -e "$ko" "$(printf '0x%x' $((0x$val + off)))" |
		sed -e 's/ (discriminator [0-9]*)//' -e 's|^.*/build_amd64_none_cloud-amd64/||')
	got=$("$LINES" modline "$ndump" "$dir/null-deref" "$sym" "$off" | awk 'NR == 1 { print $2 }')
	if [[ -z $want || $want != "$got" ]]; then
		echo "FAIL: module $sym+$off: addr2line says '$want', probe_dwarf says '$got'"
		fail=1
	fi
}
check_module "$dir/null-deref/vrbug.ko" vrbug_null_deref 0x1c
check_module "/usr/lib/debug/lib/modules/$rel/kernel/drivers/firmware/qemu_fw_cfg.ko" fw_cfg_io_cleanup 8

[[ $fail == 0 ]] || exit 1
echo "types: ${#flat[@]} members agree across BTF, DWARF, in-memory BTF, VMCOREINFO and crash;" \
	"${#nested[@]} nested members agree; source lines (kernel and modules) match addr2line -i;" \
	"a unit at a time equals the whole file"
