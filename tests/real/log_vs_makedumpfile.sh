#!/bin/bash
# The kernel log `vmreport --log` prints equals `makedumpfile --dump-dmesg`
# line for line: for every rig dump in every form, against the rig's
# dmesg.txt and against a fresh makedumpfile run on vmcore.elf. The
# dmesg.txt itself, given as text input, comes back unchanged.
set -u
RIG=${VR_RIG_CACHE:-/var/cache/vmreport-rig}
VMREPORT=${VMREPORT:-${VR_BUILD_DIR:-build}/vmreport}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail=0
checked=0
compare() { # label reference output
	if ! diff -u "$2" "$3" >"$tmp/diff"; then
		echo "FAIL: $1: differs from $2:"
		head -20 "$tmp/diff"
		fail=1
	fi
}

for dir in "$RIG"/*/*/; do
	dir=${dir%/}
	[ -f "$dir/dmesg.txt" ] || continue
	refs=("$dir/dmesg.txt")
	if [ -f "$dir/vmcore.elf" ] && command -v makedumpfile >/dev/null &&
		makedumpfile --dump-dmesg "$dir/vmcore.elf" "$tmp/fresh.txt" >"$tmp/mdf.log" 2>&1; then
		refs+=("$tmp/fresh.txt")
	fi
	for form in elf zlib lzo flat filtered.elf; do
		dump=$dir/vmcore.$form
		[ -f "$dump" ] || continue
		"$VMREPORT" --log "$dump" >"$tmp/out.txt" 2>"$tmp/err.txt"
		rc=$?
		if [ $rc -ne 0 ]; then
			echo "FAIL: $dump: vmreport --log exited $rc: $(head -3 "$tmp/err.txt")"
			fail=1
			continue
		fi
		for ref in "${refs[@]}"; do
			compare "$dump" "$ref" "$tmp/out.txt"
		done
		checked=$((checked + 1))
	done
	# Text input: the log read back from makedumpfile's own output.
	"$VMREPORT" --log "$dir/dmesg.txt" >"$tmp/out.txt" 2>"$tmp/err.txt"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "FAIL: $dir/dmesg.txt: vmreport --log exited $rc: $(head -3 "$tmp/err.txt")"
		fail=1
	else
		compare "$dir/dmesg.txt (text input)" "$dir/dmesg.txt" "$tmp/out.txt"
	fi
done

if [ $checked -eq 0 ]; then
	echo "FAIL: no rig dumps under $RIG (tests/run.sh makes them with tests/rig/rig.sh)"
	exit 1
fi
[ $fail -eq 0 ] && echo "ok: $checked dumps, log identical to makedumpfile --dump-dmesg"
exit $fail
