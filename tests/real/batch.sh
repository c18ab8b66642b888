#!/bin/bash
# vmreport --batch on a /var/crash laid out as kdump-utils and kdump-tools
# lay it out, from every rig kernel's dumps, with one unreadable dump among
# them:
#   - kdump-utils: ADDR-DATE/vmcore beside vmcore-dmesg.txt (every
#     scenario's kdump-compressed dump);
#   - kdump-tools: YYYYMMDDHHMM/dump.YYYYMMDDHHMM beside dmesg.YYYYMMDDHHMM
#     (the lzo and flattened dumps of two scenarios);
#   - a save directory whose vmcore is a garbled piece of a dump;
#   - kdump's lock file and an empty directory beside them, which are no
#     dumps; a dump file given on its own after the directory.
# The summary must have one row per dump in order, the kernel's release and
# the scenario's crash kind in each, the unreadable one as an error naming
# its file, counts per signature that add up, JSON that validates against
# docs/batch-schema.json, Markdown that cmark renders, an email that parses;
# each report in each -o directory must equal the report of a run on that
# dump alone (the debug info read once serves every dump of its kernel);
# the exit status must be the highest of the dumps' (2 here; 3 with a
# --fail-on that matches, which outranks it), and --redact must name the
# dumps by position.
set -u
source "$(dirname "$0")/lib.sh"

bin=${VMREPORT:?}
src=${VR_SOURCE_DIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
crash=$tmp/crash
mkdir -p "$crash"

# The rows we expect: name|kind|release ("error" for the bad one).
: >"$tmp/names"
add() { # DIRNAME DUMPNAME LOGNAME SOURCE-DUMP SOURCE-DIR
	mkdir -p "$crash/$1"
	ln -s "$4" "$crash/$1/$2"
	cp "$5/dmesg.txt" "$crash/$1/$3"
}
n=0
for k in $(rig_kernels); do
	dir=$(rig_dir "$k") || exit 1
	rel=$(basename "$dir")
	rel=${rel%-r*}
	for scen in $(rig_scenarios "$k"); do
		d=$dir/$scen
		rig_require "$d/vmcore.zlib" "$d/dmesg.txt"
		kind=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kind"])' "$d/meta.json")
		n=$((n + 1))
		name=$(printf '192.168.122.%d-2026-12-07-22:%02d:00' "$n" "$n")
		add "$name" vmcore vmcore-dmesg.txt "$d/vmcore.zlib" "$d"
		echo "$name|$kind|$rel" >>"$tmp/names"
	done
	for scen in null-deref hungtask; do
		d=$dir/$scen
		rig_require "$d/vmcore.lzo" "$d/vmcore.flat"
		kind=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kind"])' "$d/meta.json")
		for form in lzo flat; do
			n=$((n + 1))
			t=$(printf '2026120722%02d' "$n")
			add "$t" "dump.$t" "dmesg.$t" "$d/vmcore.$form" "$d"
			echo "$t|$kind|$rel" >>"$tmp/names"
		done
	done
done
# The garbled one: a piece of a dump with its header overwritten.
first=$(rig_dir "$(rig_kernels | head -1)")
mkdir -p "$crash/zz-broken"
head -c 200000 "$first/null-deref/vmcore.zlib" >"$crash/zz-broken/vmcore"
printf 'GARBLED!GARBLED!' | dd of="$crash/zz-broken/vmcore" conv=notrunc 2>/dev/null
echo "zz-broken|error|" >>"$tmp/names"
# No dumps: kdump's lock file, an empty directory.
touch "$crash/kdump_lock"
mkdir -p "$crash/empty"
# A dump given on its own, after the directory.
single=$first/sysrq/vmcore.elf
rig_require "$single"
echo "vmcore.elf|sysrq|$(basename "$first" | sed 's/-r[0-9]*$//')" >>"$tmp/names"
# Directory entries come in name order, then the file given after.
{ grep -v '^vmcore.elf|' "$tmp/names" | LC_ALL=C sort -t'|' -k1,1; grep '^vmcore.elf|' "$tmp/names"; } >"$tmp/want"
rows=$(wc -l <"$tmp/want")

rc=0
"$bin" --batch --format json -o json:"$tmp/json/" -o text:"$tmp/text/" "$crash" "$single" \
	>"$tmp/summary.json" 2>"$tmp/err" || rc=$?
((rc == 2)) || { echo "FAIL: exit status $rc, want 2 (the unreadable dump)"; fail=1; }
grep -q "zz-broken/vmcore" "$tmp/err" || { echo "FAIL: stderr does not name the unreadable dump"; fail=1; }
/usr/bin/python3 "$src/tests/validate_json.py" "$src/docs/batch-schema.json" "$tmp/summary.json" ||
	{ echo "FAIL: the JSON summary does not validate"; fail=1; }
/usr/bin/python3 - "$tmp/summary.json" "$tmp/want" <<'PY' || fail=1
import json, sys
s = json.load(open(sys.argv[1]))
want = [l.rstrip("\n").split("|") for l in open(sys.argv[2])]
bad = 0
dumps = s["dumps"]
if [d["name"] for d in dumps] != [w[0] for w in want]:
    print("FAIL: rows", [d["name"] for d in dumps], "want", [w[0] for w in want])
    bad += 1
for d, (name, kind, rel) in zip(dumps, want):
    if kind == "error":
        if d["status"] != "error" or not d["error"] or "zz-broken/vmcore" not in d["error"]:
            print("FAIL: %s: want an error naming the file, got %r %r" % (name, d["status"], d["error"]))
            bad += 1
        continue
    if d["status"] not in ("ok", "fail-on") or d["kind"] != kind or d["release"] != rel or not d["signature"]:
        print("FAIL: %s: status %s kind %s release %s signature %s, want kind %s release %s" %
              (name, d["status"], d["kind"], d["release"], d["signature"], kind, rel))
        bad += 1
counts = {}
for d in dumps:
    if d["status"] != "error":
        counts[d["signature"]] = counts.get(d["signature"], 0) + 1
got = {g["id"]: g["count"] for g in s["signatures"]}
if got != counts or sum(got.values()) != len(dumps) - 1:
    print("FAIL: signature counts", got, "want", counts)
    bad += 1
for g in s["signatures"]:
    if len(g["dumps"]) != g["count"]:
        print("FAIL: signature", g["id"], "lists", g["dumps"], "for count", g["count"])
        bad += 1
sys.exit(1 if bad else 0)
PY

# Each report as a run on that dump alone writes it.
while IFS='|' read -r name kind rel; do
	[[ $kind == error ]] && continue
	if [[ $name == vmcore.elf ]]; then
		arg=$single
	else
		arg=$crash/$name
	fi
	"$bin" -o json:"$tmp/alone.json" -o text:"$tmp/alone.txt" "$arg" 2>/dev/null
	cmp -s "$tmp/alone.json" "$tmp/json/$name.json" ||
		{ echo "FAIL: $name: the batch's JSON report differs from a run alone"; fail=1; }
	cmp -s "$tmp/alone.txt" "$tmp/text/$name.txt" ||
		{ echo "FAIL: $name: the batch's text report differs from a run alone"; fail=1; }
done <"$tmp/want"
[[ ! -e $tmp/json/zz-broken.json ]] || { echo "FAIL: a report was written for the unreadable dump"; fail=1; }

# The other summary formats.
"$bin" --batch --format markdown "$crash" >"$tmp/summary.md" 2>/dev/null
cmark --to xml "$tmp/summary.md" >/dev/null || { echo "FAIL: cmark"; fail=1; }
(($(grep -c '^| ' "$tmp/summary.md") >= rows + 1)) || { echo "FAIL: the Markdown summary lacks rows"; fail=1; }
"$bin" --batch --format text "$crash" >"$tmp/summary.txt" 2>/dev/null
(($(grep -c 'vr1-' "$tmp/summary.txt") >= rows)) || { echo "FAIL: the text summary lacks rows"; fail=1; }
"$bin" --batch --format email "$crash" >"$tmp/summary.eml" 2>/dev/null
/usr/bin/python3 - "$tmp/summary.eml" <<'PY' || fail=1
import email, email.policy, sys
msg = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.strict)
if not all(msg[h] for h in ("From", "To", "Date", "Subject")) or "vr1-" not in msg.get_content():
    print("FAIL: the email summary")
    sys.exit(1)
PY

# --fail-on: 3 outranks 2; without the bad dump, 3 alone.
rc=0
"$bin" --batch --fail-on info "$crash" >/dev/null 2>&1 || rc=$?
((rc == 3)) || { echo "FAIL: --fail-on info with an unreadable dump: exit $rc, want 3"; fail=1; }
rc=0
"$bin" --batch "$single" >/dev/null 2>&1 || rc=$?
((rc == 0)) || { echo "FAIL: one good dump: exit $rc, want 0"; fail=1; }

# --redact: names by position, no paths.
"$bin" --batch --redact --format json -o json:"$tmp/redacted/" "$crash" >"$tmp/redacted.json" 2>/dev/null
/usr/bin/python3 - "$tmp/redacted.json" <<'PY' || fail=1
import json, sys
s = json.load(open(sys.argv[1]))
names = [d["name"] for d in s["dumps"]]
if names != ["dump-%d" % (i + 1) for i in range(len(names))] or any(d["path"] for d in s["dumps"]):
    print("FAIL: --redact names", names)
    sys.exit(1)
PY
[[ -s $tmp/redacted/dump-1.json ]] || { echo "FAIL: --redact: no dump-1.json"; fail=1; }
if grep -rq '192\.168\.122\.' "$tmp/redacted.json" "$tmp/redacted/"; then
	echo "FAIL: --redact left a save directory's address"
	fail=1
fi

# Usage: -o must name a directory.
rc=0
"$bin" --batch -o json:"$tmp/file.json" "$crash" >/dev/null 2>"$tmp/err" || rc=$?
((rc == 1)) || { echo "FAIL: -o FORMAT:FILE with --batch: exit $rc, want 1"; fail=1; }

((fail == 0)) && echo "batch: $rows dumps of $(rig_kernels | wc -w) kernels, the summary and every report right"
exit $fail
