#!/bin/bash
# Layouts from every source agree with each other on a real dump of every
# rig kernel: the vmlinux's BTF, its DWARF, the BTF in the dump's memory (no
# vmlinux), VMCOREINFO+BTF as vmreport uses them, and, on the kernels crash
# opens, `crash -s`'s "struct -o TYPE.MEMBER". The members are those the
# kernel's DWARF has of a list that spans the kernels (task_struct.state
# before 5.14, __state since; module.core_layout before 6.4, mem since).
# The member of a variable of anonymous type (tk_core.timekeeper) across
# sources, and it and the task stack size against crash.
# Then source lines with inline chains against addr2line -i, in the kernel
# and in two modules, and the vmlinux's DWARF read a unit at a time against
# libdw's whole-file lookups.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD=${VR_BUILD_DIR:?VR_BUILD_DIR not set}
TYPES=$BUILD/probe_types
LINES=$BUILD/probe_dwarf
[[ -x $TYPES && -x $LINES ]] || rig_fail "$TYPES or $LINES not built"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One-level members: crash can check these.
flat=(task_struct.comm task_struct.pid task_struct.tgid task_struct.tasks task_struct.state
	task_struct.__state task_struct.stack task_struct.on_cpu task_struct.thread task_struct.mm
	task_struct.thread_info module.list module.name module.state module.core_layout module.mem
	printk_info.seq printk_info.ts_nsec printk_info.text_len printk_info.caller_id
	printk_ringbuffer.desc_ring printk_ringbuffer.text_data_ring printk_ringbuffer.fail
	prb_desc_ring.count_bits prb_desc_ring.descs prb_desc_ring.infos prb_desc_ring.head_id
	prb_desc.state_var prb_desc.text_blk_lpos list_head.next list_head.prev
	mm_struct.pgd pt_regs.ip pt_regs.sp rq.curr uts_namespace.name)
# Nested members, through anonymous unions/structs: BTF against DWARF.
nested=(task_struct.thread.sp task_struct.se.avg.util_avg task_struct.thread_info.flags
	task_struct.thread_info.cpu module.core_layout.base module.core_layout.size
	printk_ringbuffer.desc_ring.count_bits new_utsname.release rq.nr_running)
# Every kernel has these.
required=(task_struct.comm task_struct.pid task_struct.tasks task_struct.stack module.list
	module.name printk_info.seq prb_desc_ring.descs list_head.next rq.curr task_struct.thread.sp)

fail=0
check_kernel() { # RELEASE
	local rel=$1 dir dump vmlinux map m members=() cflat=() n want got
	dir=$(rig_dir "$rel") || exit 1
	dump=$dir/sysrq/vmcore.elf
	rig_require "$dump"
	vmlinux=$(rig_vmlinux "$rel")
	[[ -s $vmlinux ]] || rig_fail "$vmlinux is missing (the kernel's -dbg package)"
	echo "kernel $rel"

	"$TYPES" members dwarf "$vmlinux" - "${flat[@]}" "${nested[@]}" >"$work/all-dwarf" 2>/dev/null ||
		rig_fail "probe_types (dwarf) failed"
	for m in "${required[@]}"; do
		grep -q "^$m [0-9]" "$work/all-dwarf" || { echo "FAIL: $rel: DWARF has no $m"; fail=1; }
	done
	for m in "${flat[@]}" "${nested[@]}"; do
		grep -q "^$m [0-9]" "$work/all-dwarf" && members+=("$m")
	done
	for m in "${flat[@]}"; do
		grep -q "^$m [0-9]" "$work/all-dwarf" && cflat+=("$m")
	done
	"$TYPES" members dwarf "$vmlinux" - "${members[@]}" >"$work/dwarf" 2>/dev/null
	"$TYPES" members btf "$vmlinux" - "${members[@]}" >"$work/btf" 2>/dev/null ||
		rig_fail "probe_types (btf) failed"
	"$TYPES" members btf /nonexistent "$dump" "${members[@]}" >"$work/membtf" 2>/dev/null ||
		rig_fail "probe_types (in-memory BTF) failed"
	"$TYPES" members all "$vmlinux" "$dump" "${members[@]}" >"$work/all" 2>/dev/null ||
		rig_fail "probe_types (all sources) failed"
	if grep -q error "$work/btf" "$work/dwarf" "$work/membtf" "$work/all"; then
		echo "FAIL: $rel: lookups failed:"; grep error "$work/btf" "$work/dwarf" "$work/membtf" "$work/all"
		fail=1
	fi
	for other in dwarf membtf all; do
		if ! diff -u "$work/btf" "$work/$other"; then
			echo "FAIL: $rel: BTF and $other disagree (diff above)"
			fail=1
		fi
	done
	echo "  ${#members[@]} members agree across BTF, DWARF, in-memory BTF and VMCOREINFO"

	# crash: "struct -o task_struct.comm" prints "  [2976] char comm[16];"
	if why=$(rig_crash_opens "$rel"); then
		for m in "${cflat[@]}"; do echo "struct -o $m"; done >"$work/crash.in"
		echo exit >>"$work/crash.in"
		timeout 600 crash -s "$vmlinux" "$dump" -i "$work/crash.in" >"$work/crash.out" 2>&1 ||
			{ echo "FAIL: $rel: crash failed:"; tail -5 "$work/crash.out"; fail=1; }
		# Pair each "struct TYPE {" with the first "[N]" after it. A member
		# crash does not know prints "struct: invalid data structure reference".
		awk '/invalid data structure reference/ { print "ERR"; t = ""; next }
		     /^(struct|union) [a-z_0-9]+ \{/ { t = $2; next }
		     t != "" && match($0, /\[[0-9]+\]/) { print t, substr($0, RSTART + 1, RLENGTH - 2); t = "" }' \
			"$work/crash.out" >"$work/crash.offsets"
		n=0
		for m in "${cflat[@]}"; do
			want=$(awk -v m="$m" '$1 == m { print $2 }' "$work/btf")
			n=$((n + 1))
			got=$(sed -n "${n}p" "$work/crash.offsets")
			if [[ $got != "${m%%.*} $want" ]]; then
				echo "FAIL: $rel: $m: BTF says offset $want, crash says '${got}'"
				fail=1
			fi
		done
		echo "  ${#cflat[@]} members agree with crash"
	else
		echo "  crash cannot open this kernel's dumps ($why): not compared with crash"
	fi

	# The member of a variable's anonymous type (tk_core.timekeeper, whose
	# place depends on the kernel's configuration; 6.17 made tk_core an
	# element of timekeeper_data) and a task's stack size: the vmlinux's
	# BTF (no VAR for tk_core: where every type with such a member has
	# it), its DWARF (the variable's own type), the dump's BTF, and crash.
	map=$(rig_system_map "$rel")
	if awk '$3 == "tk_core" { found = 1 } END { exit !found }' "$map"; then
		local syms=(tk_core.timekeeper tk_core.timekeeper.xtime_sec) other tk stack
		"$TYPES" symmembers btf "$vmlinux" - "${syms[@]}" >"$work/sym.btf" 2>/dev/null
		"$TYPES" symmembers dwarf "$vmlinux" - "${syms[@]}" >"$work/sym.dwarf" 2>/dev/null
		"$TYPES" symmembers btf /nonexistent "$dump" "${syms[@]}" >"$work/sym.membtf" 2>/dev/null
		for other in dwarf membtf; do
			diff -u "$work/sym.btf" "$work/sym.$other" ||
				{ echo "FAIL: $rel: tk_core: BTF and $other disagree"; fail=1; }
		done
		if rig_crash_opens "$rel" >/dev/null; then
			"$TYPES" stacksize all "$vmlinux" - - >"$work/stack" 2>/dev/null
			printf '%s\n' 'p/x (unsigned long)&tk_core.timekeeper - (unsigned long)&tk_core' 'help -m' exit \
				>"$work/crash2.in"
			timeout 600 crash -s "$vmlinux" "$dump" -i "$work/crash2.in" >"$work/crash2.out" 2>&1
			tk=$(sed -n 's/^\$1 = 0x\([0-9a-f]*\)$/\1/p' "$work/crash2.out")
			stack=$(awk '$1 == "stacksize:" { print $2 }' "$work/crash2.out")
			if [[ -z $tk ]] || ! grep -qx "tk_core.timekeeper $((16#$tk)) [0-9]*" "$work/sym.btf"; then
				echo "FAIL: $rel: tk_core.timekeeper: crash says 0x$tk, vmreport:"; cat "$work/sym.btf"
				fail=1
			fi
			[[ -n $stack ]] && grep -qx "stack $stack" "$work/stack" ||
				{ echo "FAIL: $rel: task stack size: crash says '$stack', vmreport: $(cat "$work/stack")"; fail=1; }
			echo "  tk_core.timekeeper and the task stack size agree with crash"
		else
			echo "  tk_core.timekeeper agrees across sources"
		fi
	else
		echo "  no tk_core (timekeeper_data since 6.17): its member not compared"
	fi

	# Member names at offsets, BTF against DWARF: where DWARF puts tasks,
	# thread.sp and module.name, both name what is there.
	local at=() off
	for m in task_struct.tasks task_struct.thread.sp module.name; do
		off=$(awk -v m="$m" '$1 == m { print $2 }' "$work/dwarf")
		at+=("${m%%.*}" "$off")
	done
	"$TYPES" memberat btf "$vmlinux" - "${at[@]}" >"$work/at.btf" 2>/dev/null
	"$TYPES" memberat dwarf "$vmlinux" - "${at[@]}" >"$work/at.dwarf" 2>/dev/null
	diff -u "$work/at.btf" "$work/at.dwarf" || { echo "FAIL: $rel: member names differ"; fail=1; }
	for want in "tasks.next" "thread.sp" "name"; do
		grep -q " $want\$" "$work/at.btf" || { echo "FAIL: $rel: no member $want at its offset:"; cat "$work/at.btf"; fail=1; }
	done

	# Source lines with inline chains against addr2line -i.
	map=$(rig_system_map "$rel")
	[[ -s $map ]] || rig_fail "$map is missing"
	local fn base delta addr
	for fn in do_exit schedule __schedule sysrq_handle_crash panic vfs_write; do
		base=$(awk -v f="$fn" '$3 == f && ($2 == "T" || $2 == "t") { print $1; exit }' "$map")
		[[ -n $base ]] || { echo "FAIL: $rel: $fn not in $map"; fail=1; continue; }
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
				echo "FAIL: $rel: $fn+$delta ($addr): addr2line -i says"; echo "$want"
				echo "  probe_dwarf says"; echo "$got"
				fail=1
			fi
		done
	done

	# Read a unit at a time, the vmlinux gives what libdw's whole-file
	# lookups give, at 3000 addresses (DWARF 4 and 5).
	if ! "$LINES" compare "$vmlinux" "$map" 3000 >"$work/compare" 2>&1; then
		echo "FAIL: $rel: a unit at a time and the whole file disagree:"
		head -40 "$work/compare"
		fail=1
	else
		echo "  a unit at a time equals the whole file at 3000 addresses"
	fi

	# Modules: the rig's out-of-tree module from its directory (--modules),
	# an in-tree one from the -dbg package; addr2line reads the .ko by
	# section.
	local ndump=$dir/null-deref/vmcore.elf
	rig_require "$ndump" "$dir/null-deref/vrbug.ko"
	check_module "$ndump" "$vmlinux" "$dir/null-deref/vrbug.ko" vrbug_null_deref 0x1c
	check_module "$ndump" "$vmlinux" "$(rig_debug_modules "$rel")/kernel/drivers/firmware/qemu_fw_cfg.ko" \
		fw_cfg_io_cleanup 8
	echo "  source lines (kernel and modules) match addr2line -i"
}

check_module() { # DUMP VMLINUX KO SYMBOL OFFSET
	local ndump=$1 vmlinux=$2 ko=$3 sym=$4 off=$5 sec val secname want got
	rig_require "$ko"
	read -r sec val < <(readelf -sW "$ko" | awk -v s="$sym" '$8 == s { print $7, $2; exit }')
	secname=$(readelf -SW "$ko" | sed 's/\[ */[/' | awk -v n="[$sec]" '$1 == n { print $2 }')
	# Paths as vmreport gives them: relative to the build directory (the
	# kernel's, or the module's: 7.x's kbuild names an external module's
	# sources by absolute path, /tmp/vrbug.XXXXXX/vrbug.c in the rig's
	# chroot).
	want=$(addr2line -j "$secname" -e "$ko" "$(printf '0x%x' $((0x$val + off)))" |
		sed -e 's/ (discriminator [0-9]*)//' -e 's|^.*/build_amd64_none_cloud-amd64/||' \
			-e 's|^/tmp/vrbug\.[A-Za-z0-9]*/||')
	got=$("$LINES" modline "$ndump" "${ko%/*}" "$sym" "$off" "$vmlinux" | awk 'NR == 1 { print $2 }')
	if [[ -z $want || $want != "$got" ]]; then
		echo "FAIL: module $sym+$off: addr2line says '$want', probe_dwarf says '$got'"
		fail=1
	fi
}

for rel in $(rig_kernels); do
	check_kernel "$rel"
done

[[ $fail == 0 ]] || exit 1
echo "types: layouts agree across sources; source lines match addr2line -i; a unit at a time equals the whole file"
