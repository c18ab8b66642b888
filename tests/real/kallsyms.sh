#!/bin/bash
# Kernel symbols from the dump's kallsyms tables agree with the vmlinux:
# every kallsyms entry is an nm(1) symbol of the vmlinux moved by the KASLR
# offset, and name and address lookups give the same answers whether the
# table came from kallsyms or from the vmlinux. The tables found by their
# content (what kernels before 6.0, whose VMCOREINFO does not name them,
# rely on) are the same tables, on every kernel whose layout the search
# knows: all but 6.2 and 6.3's, where kallsyms_seqs_of_names sits between
# the markers and the token table (and VMCOREINFO names the tables).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

T=$VR_BUILD_DIR/probe_symbols
[[ -x $T ]] || rig_fail "$T is not built"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

errors=0
bad() {
	echo "FAIL: $*" >&2
	errors=$((errors + 1))
}

# perl: KASLR_HEX NM_FILE KALLSYMS_FILE; 64-bit arithmetic that awk lacks.
cat >"$tmp/cmp.pl" <<'EOF'
use strict; use warnings; no warnings 'portable';
my ($kaslr, $nmf, $ksf) = @ARGV;
$kaslr = hex($kaslr);
my %nm;
open(my $n, '<', $nmf) or die "$nmf: $!";
while (<$n>) {
	my ($a, $t, $name) = split;
	next unless defined $name;
	my $v = hex($a);
	# The image moves with KASLR; per-CPU offsets and absolute values stay.
	$v = ($v + $kaslr) & 0xffffffffffffffff if $v >= 0xffffffff80000000;
	$nm{sprintf("%016x %s", $v, $name)} = 1;
}
open(my $k, '<', $ksf) or die "$ksf: $!";
my ($total, $bad) = (0, 0);
while (<$k>) {
	my ($a, $t, $name) = split;
	$total++;
	next if $nm{"$a $name"};
	$bad++;
	print STDERR "kallsyms entry not in the vmlinux: $a $t $name\n" if $bad <= 10;
}
print "$total kallsyms entries, $bad not in the vmlinux\n";
exit($bad || $total < 10000 ? 1 : 0);
EOF

names="linux_banner init_uts_ns startup_64 panic do_exit schedule runqueues init_task jiffies"

for rel in $(rig_kernels); do
	dir=$(rig_dir "$rel")
	vmlinux=$(rig_vmlinux "$rel")
	rig_require "$vmlinux"
	nm "$vmlinux" >"$tmp/nm"
	echo "kernel $rel: $dir"
	# Where the search cannot work, by the vmlinux's own layout.
	searchable=$(awk '$3 == "kallsyms_markers" { m = $1 } $3 == "kallsyms_seqs_of_names" { s = $1 }
		$3 == "kallsyms_token_table" { t = $1 } END { print (s != "" && s > m && s < t) ? 0 : 1 }' "$tmp/nm")
	for s in $(rig_scenarios "$rel"); do
		forms="vmcore.elf"
		[[ $s == null-deref ]] && forms="vmcore.elf vmcore.zlib vmcore.lzo vmcore.flat vmcore.filtered.elf qemu.elf qemu.kdump"
		for f in $forms; do
			d=$dir/$s/$f
			rig_require "$d"
			what="$rel $s $f"
			kaslr=$("$T" "$d" info | awk '$1 == "kaslr_offset" { sub(/^0x/, "", $2); print $2 }') ||
				{ bad "$what: no layout"; continue; }
			if ! "$T" "$d" kallsyms >"$tmp/ks" 2>"$tmp/err"; then
				bad "$what: kallsyms: $(cat "$tmp/err")"
				continue
			fi
			perl "$tmp/cmp.pl" "$kaslr" "$tmp/nm" "$tmp/ks" || bad "$what: kallsyms disagrees with nm"
			if ((searchable)); then
				if ! "$T" "$d" kallsyms-search >"$tmp/ks-search" 2>"$tmp/err"; then
					bad "$what: kallsyms search: $(cat "$tmp/err")"
				elif ! cmp -s "$tmp/ks" "$tmp/ks-search"; then
					bad "$what: the tables found by their content give other symbols"
				fi
			elif [[ $f == vmcore.elf && $s == sysrq ]]; then
				echo "  (kallsyms_seqs_of_names between the markers and the token table: not searched)"
			fi

			# Name lookups: kallsyms and vmlinux tables agree.
			# shellcheck disable=SC2086
			a=$("$T" "$d" addr $names 2>&1) || bad "$what: kallsyms lookups: $a"
			# shellcheck disable=SC2086
			b=$("$T" --vmlinux "$vmlinux" "$d" addr $names 2>&1) || bad "$what: vmlinux lookups: $b"
			[[ $a == "$b" ]] || bad "$what: lookups differ: kallsyms [$a] vmlinux [$b]"

			# Address lookups inside functions agree on symbol+offset
			# (sizes differ by design: st_size versus next-symbol distance).
			addrs=$(awk '{ print $2 }' <<<"$a" | head -n 6 | while read -r x; do
				printf '0x%x ' $((x + 0x13)); done)
			# shellcheck disable=SC2086
			sa=$("$T" "$d" symbolize $addrs | awk '{ sub(/\/.*/, "", $2); print $1, $2 }')
			# shellcheck disable=SC2086
			sb=$("$T" --vmlinux "$vmlinux" "$d" symbolize $addrs | awk '{ sub(/\/.*/, "", $2); print $1, $2 }')
			[[ $sa == "$sb" && $sa != *'?'* ]] || bad "$what: symbolization differs: [$sa] [$sb]"
			echo "  $s $f: ok"
		done
	done
	"$T" "$dir/null-deref/vmcore.elf" bench
	"$T" --vmlinux "$vmlinux" "$dir/null-deref/vmcore.elf" bench
done
((errors == 0)) || rig_fail "$errors kallsyms problem(s)"
echo "kallsyms agrees with the vmlinux"
