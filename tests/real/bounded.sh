#!/bin/bash
# What a full report reads stays bounded by what the report needs, not by
# the size of the dump or of the vmlinux (tests/tools/probe_cost counts it;
# time and memory vary with the machine, these counts do not):
#   - of the vmlinux's .debug_info, only the compile units of the report's
#     addresses: under 5% of it, for every scenario of every rig kernel;
#   - of the dump, the same crash on a 512 MiB and a 4 GiB guest
#     (null-deref, null-deref-4g; the rig runs the latter on 6.1) reads about as much in every form (a
#     flattened stream's record headers are all read, not its data): the
#     4 GiB dump's reads stay under twice the 512 MiB one's (its report
#     holds a few more tasks and stacks) and under 8 MiB.
set -u
source "$(dirname "$0")/lib.sh"

probe=${VR_BUILD_DIR:?}/probe_cost
[[ -x $probe ]] || rig_fail "$probe is not built"
fail=0
n=0
big4g=0
for k in $(rig_kernels); do
	dir=$(rig_dir "$k") || exit 1
	vmlinux=$(rig_vmlinux "$k")
	for scen in $(rig_scenarios "$k"); do
		d=$dir/$scen
		rig_require "$d/vmcore.zlib"
		out=$("$probe" "$d/vmcore.zlib" "$vmlinux") || { echo "FAIL: $k $scen: probe_cost failed"; fail=1; continue; }
		read -r units bytes info < <(awk '$1 == "units" { u = $2 } $1 == "unit_bytes" { b = $2 }
			$1 == "debug_info_bytes" { i = $2 } END { print u, b, i }' <<<"$out")
		n=$((n + 1))
		if [[ -z $units || -z $bytes || -z $info ]]; then
			echo "FAIL: $k $scen: the vmlinux was not read a unit at a time: $out"
			fail=1
		elif ((bytes * 20 > info)); then
			echo "FAIL: $k $scen: $units units, $bytes bytes of $info of .debug_info read (5% allowed)"
			fail=1
		fi
	done
	# the 4 GiB guest: on the kernels the rig runs it on (6.1)
	rig_scenarios "$k" | grep -qx null-deref-4g || continue
	big4g=$((big4g + 1))
	small=$dir/null-deref big=$dir/null-deref-4g
	for f in vmcore.elf vmcore.zlib vmcore.lzo vmcore.flat vmcore.filtered.elf dmesg.txt; do
		rig_require "$small/$f" "$big/$f"
		s=$("$probe" "$small/$f" "$vmlinux" | awk '$1 == "dump_bytes" { print $2 }')
		b=$("$probe" "$big/$f" "$vmlinux" | awk '$1 == "dump_bytes" { print $2 }')
		n=$((n + 1))
		if [[ -z $s || -z $b ]] || ((b > 2 * s || b > 8 << 20)); then
			echo "FAIL: $k $f: $b bytes read of the 4 GiB guest's dump, $s of the 512 MiB guest's"
			fail=1
		fi
	done
done
((n > 0)) || { echo "FAIL: nothing measured"; exit 1; }
((big4g > 0)) || { echo "FAIL: no kernel has the 4 GiB guest's dump (null-deref-4g)"; exit 1; }
((fail == 0)) && echo "bounded: $n reports read under 5% of .debug_info, and as much of a 4 GiB guest's dump as of a 512 MiB one's"
exit $fail
