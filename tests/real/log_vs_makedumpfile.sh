#!/bin/bash
# The kernel log `vmreport --log` prints equals `makedumpfile --dump-dmesg`
# line for line: for every rig dump of every rig kernel in every form,
# against the rig's dmesg.txt (made by the makedumpfile that made the
# forms) and against a fresh run of Debian 12's makedumpfile on vmcore.elf;
# Debian 12's own forms (debian12/) against its dmesg.txt. Where the crash
# report stayed in a per-CPU printk buffer, which makedumpfile does not
# read, vmreport's log is makedumpfile's followed by that report as the
# dump's raw bytes hold it (rig_buried_report). The dmesg.txt itself,
# given as text input, comes back unchanged.
#
# makedumpfile 1.7.8 prints each record's caller id ("[  T108]") after its
# timestamp, which 1.7.2 does not, and neither did the kernel's console
# (Debian's kernels are built without CONFIG_PRINTK_CALLER): vmreport
# prints the log as the console did, so the caller ids are taken out of
# such a reference before comparing.
set -u
source "$(dirname "$0")/lib.sh"
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

# A makedumpfile log without its caller ids: "[ TIME] [ CALLER] TEXT"
# becomes "[ TIME] TEXT", and a record's continuation lines, indented to
# the text, lose the caller field's width.
no_callers() {
	python3 - "$1" <<'PY'
import re, sys
width = 0
for line in open(sys.argv[1], errors="surrogateescape"):
    m = re.match(r"(\[ *\d+\.\d+\] )(\[ *[CT]\d+\] )", line)
    if m:
        width = len(m.group(2))
        line = m.group(1) + line[m.end():]
    elif width and line.startswith(" " * width):
        line = line[width:]
    sys.stdout.write(line)
PY
}

for dir in $(rig_all_dirs); do
	rig_require "$dir/dmesg.txt" "$dir/vmcore.elf"
	# What vmreport adds to makedumpfile's log: the per-CPU buffer's report.
	: >"$tmp/extra.txt"
	if ! rig_console_report "$dir"; then
		rig_buried_report "$dir" | grep -v '^$' >"$tmp/extra.txt" ||
			rig_fail "$dir: no report in the dump's raw bytes"
	fi
	no_callers "$dir/dmesg.txt" >"$tmp/rig.txt"
	refs=("$tmp/rig.txt")
	rm -f "$tmp/fresh.txt" # makedumpfile does not overwrite
	if makedumpfile --dump-dmesg "$dir/vmcore.elf" "$tmp/fresh.txt" >"$tmp/mdf.log" 2>&1; then
		refs+=("$tmp/fresh.txt")
	else
		echo "FAIL: $dir/vmcore.elf: makedumpfile --dump-dmesg failed: $(tail -n 1 "$tmp/mdf.log")"
		fail=1
	fi
	for ref in "${refs[@]}"; do
		cat "$ref" "$tmp/extra.txt" >"$ref.want"
	done
	for form in vmcore.elf vmcore.zlib vmcore.lzo vmcore.flat vmcore.filtered.elf \
		debian12/vmcore.zlib debian12/vmcore.lzo debian12/vmcore.flat debian12/vmcore.filtered.elf; do
		dump=$dir/$form
		[ -f "$dump" ] || continue
		# Debian 12's forms that came out the same as the main ones (hard
		# links) are tested as those, against a fresh Debian 12 makedumpfile.
		[[ $form == debian12/* && $dump -ef $dir/${form#debian12/} ]] && continue
		"$VMREPORT" --log "$dump" >"$tmp/out.txt" 2>"$tmp/err.txt"
		rc=$?
		if [ $rc -ne 0 ]; then
			echo "FAIL: $dump: vmreport --log exited $rc: $(head -3 "$tmp/err.txt")"
			fail=1
			continue
		fi
		if [[ $form == debian12/* ]]; then
			cat "$dir/debian12/dmesg.txt" "$tmp/extra.txt" >"$tmp/d12.want"
			compare "$dump" "$tmp/d12.want" "$tmp/out.txt"
		else
			for ref in "${refs[@]}"; do
				compare "$dump" "$ref.want" "$tmp/out.txt"
			done
		fi
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

[ $checked -gt 0 ] || rig_fail "no rig dumps checked"
[ $fail -eq 0 ] && echo "ok: $checked dumps, log identical to makedumpfile --dump-dmesg"
exit $fail
