#!/bin/bash
# Every report vmreport writes for the rig's dumps is valid: for each kernel,
# scenario and input form (the five makedumpfile forms, QEMU's dumps, the
# console log and vmcore-dmesg text), with and without a vmlinux, the JSON
# validates against docs/report-schema.json and is byte-identical run to run,
# the Markdown renders with cmark, and the email parses as RFC 5322 with a
# body under 100 lines.
set -u
. "$(dirname "$0")/lib.sh"
bin=${VMREPORT:?}
src=${VR_SOURCE_DIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
n=0
for k in $(rig_kernels); do
	dir=$(rig_dir "$k") || exit 1
	for scen in $(rig_scenarios "$k"); do
		d=$dir/$scen
		rig_require "$d/vmcore.elf"
		for f in vmcore.elf vmcore.zlib vmcore.lzo vmcore.flat vmcore.filtered.elf qemu.elf qemu.kdump \
			console.log dmesg.txt; do
			[[ -e $d/$f ]] || continue
			for mode in vmlinux none; do
				n=$((n + 1))
				out=$tmp/$n
				env=()
				[[ $mode == none ]] && env=(VMREPORT_NO_DISCOVERY=1)
				if ! env "${env[@]}" "$bin" -o json:"$out.json" -o markdown:"$out.md" -o email:"$out.eml" \
					"$d/$f" 2>"$out.err"; then
					echo "FAIL: $k $scen $f ($mode): exit status $?: $(head -2 "$out.err")"
					fail=1
					continue
				fi
				env "${env[@]}" "$bin" --format json "$d/$f" >"$out.again" 2>/dev/null
				cmp -s "$out.json" "$out.again" || { echo "FAIL: $k $scen $f ($mode): JSON differs run to run"; fail=1; }
				cmark --to xml "$out.md" >/dev/null || { echo "FAIL: $k $scen $f ($mode): cmark"; fail=1; }
				echo "$out.json" >>"$tmp/json.list"
				echo "$out.eml" >>"$tmp/eml.list"
			done
		done
	done
done
xargs /usr/bin/python3 "$src/tests/validate_json.py" "$src/docs/report-schema.json" <"$tmp/json.list" ||
	{ echo "FAIL: some JSON reports do not validate"; fail=1; }
/usr/bin/python3 - "$tmp/eml.list" <<'PY' || fail=1
import email, email.policy, sys
bad = 0
for path in open(sys.argv[1]).read().split():
    raw = open(path, "rb").read()
    msg = email.message_from_bytes(raw, policy=email.policy.strict)
    if not all(msg[h] for h in ("From", "To", "Date", "Subject")) or len(msg.get_content().splitlines()) >= 100:
        print("FAIL: email", path)
        bad += 1
sys.exit(1 if bad else 0)
PY
((n > 0)) || { echo "FAIL: no reports made"; exit 1; }
((fail == 0)) && echo "report_forms: $n reports valid in every format"
exit $fail
