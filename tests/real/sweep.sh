#!/bin/bash
# Corruption sweeps on real dumps: every rig kernel's null-deref dump in
# each form a user meets: kdump-compressed (zlib and lzo), flattened, full
# and filtered ELF, QEMU's kdump, and the kernel log as text. Each is
# truncated at a sweep of points (each header boundary and through the
# data); the kdump one gets hostile values in every header field, bitmap
# bytes and a sample of page descriptors, the flattened one in its record
# headers, the ELF one in its program headers, the text one binary junk.
# Each run must exit 0 with a report (JSON that parses, valid UTF-8) or 2
# with one stderr line naming the file and the offset; never crash, hang
# (60 s), trip a sanitizer, use more than 256 MB, or change its input.
#
# Runs vmreport from $VR_ASAN_BUILD_DIR when set (tests/run.sh sets it to
# its ASan+UBSan build), and the normal build ($VMREPORT) for memory, which
# the sanitizers inflate.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

VMREPORT=${VMREPORT:-$VR_BUILD_DIR/vmreport}
PLAIN=$VMREPORT
sanitized=0
if [[ -n ${VR_ASAN_BUILD_DIR:-} && -x $VR_ASAN_BUILD_DIR/vmreport ]]; then
	VMREPORT=$VR_ASAN_BUILD_DIR/vmreport
	sanitized=1
fi
[[ -x $VMREPORT && -x $PLAIN ]] || rig_fail "vmreport binary not found (set VMREPORT)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export VMREPORT_NO_DISCOVERY=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

runs=0
errors=0
fail() {
	echo "FAIL: $*" >&2
	errors=$((errors + 1))
}

# binary, file, description, check memory (1/0): one run and its checks.
# The input must not change: its contents are hashed around the first run
# on each file, and every run must leave its change time alone (a write
# sets it; cheaper than hashing a 150 MB dump a thousand times).
declare -A hashed
run_one() {
	local bin=$1 f=$2 what=$3 mem=$4 rc=0 before after sum=
	before=$(stat -c '%z %s' "$f")
	if [[ -z ${hashed[$f]:-} ]]; then
		sum=$(md5sum <"$f")
		hashed[$f]=1
	fi
	if ((mem)); then
		timeout 60 /usr/bin/time -f '%M' -o "$work/rss" "$bin" --format json "$f" \
			>"$work/out" 2>"$work/err" || rc=$?
	else
		timeout 60 "$bin" --format json "$f" >"$work/out" 2>"$work/err" || rc=$?
	fi
	runs=$((runs + 1))
	after=$(stat -c '%z %s' "$f")
	[[ $before == "$after" ]] || fail "$what: the input file changed"
	[[ -z $sum || $sum == "$(md5sum <"$f")" ]] || fail "$what: the input file changed"
	if grep -q -e 'Sanitizer' -e 'runtime error' "$work/err"; then
		fail "$what: $(grep -m1 -e 'Sanitizer' -e 'runtime error' "$work/err")"
		return
	fi
	case $rc in
	0)
		python3 -c 'import json,sys; json.loads(open(sys.argv[1],"rb").read().decode("utf-8"))' \
			"$work/out" 2>/dev/null || fail "$what: exit 0 but the JSON does not parse as UTF-8"
		;;
	2)
		# one line, naming the file and where in it the fault is
		if [[ $(wc -l <"$work/err") != 1 ]] || ! grep -qF "$f" "$work/err" ||
			! grep -q -e 'offset' -e 'empty file' "$work/err"; then
			fail "$what: exit 2 without one line naming the file and the offset: $(head -c 300 "$work/err")"
		fi
		;;
	124) fail "$what: no result in 60 s" ;;
	*) fail "$what: exit $rc: $(head -c 300 "$work/err")" ;;
	esac
	if ((mem)) && [[ -s $work/rss ]] && (($(tail -1 "$work/rss") > 262144)); then
		fail "$what: $(tail -1 "$work/rss") KB of memory"
	fi
}

# file, description: the sanitized build (when there is one) for faults,
# the normal build for memory, which sanitizers inflate
run() {
	if ((sanitized)); then
		run_one "$VMREPORT" "$1" "$2" 0
		run_one "$PLAIN" "$1" "$2 (memory)" 1
	else
		run_one "$VMREPORT" "$1" "$2" 1
	fi
}

# file offset, 8 hex bytes (little-endian value), description: patch a
# working copy, run, put the bytes back
poke() {
	local f=$1 off=$2 value=$3 len=$4 what=$5 saved
	saved=$(dd if="$f" bs=1 skip="$off" count="$len" status=none | od -An -tx1 | tr -d ' \n')
	python3 -c 'import sys; v=int(sys.argv[3],0); f=open(sys.argv[1],"r+b"); f.seek(int(sys.argv[2])); f.write((v & (1 << 8*int(sys.argv[4])) - 1).to_bytes(int(sys.argv[4]), "little"))' \
		"$f" "$off" "$value" "$len"
	run "$f" "$what"
	printf '%s' "$saved" | xxd -r -p | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

values() { # file size
	echo 0 1 0xffffffff 0x7fffffffffffffff 0xffffffffffffffff $(($1 + 4096))
}

# Truncation: every boundary given, then a sweep through the file.
truncations() { # file, label, boundary offsets...
	local f=$1 label=$2 size cut
	shift 2
	size=$(stat -c %s "$f")
	for cut in "$@" $((size / 7)) $((size * 2 / 7)) $((size * 3 / 7)) $((size * 4 / 7)) \
		$((size * 5 / 7)) $((size * 6 / 7)) $((size - 1)); do
		((cut < size)) || continue
		head -c "$cut" "$f" >"$work/t"
		run "$work/t" "$label truncated at $cut"
	done
}

for rel in $(rig_kernels); do
	hashed=()
	d=$(rig_dir "$rel")/null-deref
	rig_require "$d/vmcore.zlib" "$d/vmcore.flat" "$d/vmcore.filtered.elf"

	# kdump-compressed: the header, the sub-header, the bitmaps, the page
	# descriptors (first, middle, last)
	f=$work/kdump
	cp "$d/vmcore.zlib" "$f"
	read -r block sub blocks descs n < <(python3 - "$f" <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f:
    h = f.read(4096)
    block, sub, blocks = struct.unpack_from("<III", h, 428)
    boff, blen = block * (1 + sub), block * blocks
    f.seek(boff + blen // 2)
    n = sum(bin(b).count("1") for b in f.read(blen // 2))
print(block, sub, blocks, boff + blen, n)
PY
)
	truncations "$f" "$rel kdump" 8 428 440 464 $block $((block + 64)) $((block * (1 + sub))) \
		$((block * (1 + sub) + block * blocks / 2)) $descs $((descs + 24 * n / 2)) $((descs + 24 * n))
	for field in 8:4 424:4 428:4 432:4 436:4 440:4 460:4; do
		for v in $(values "$(stat -c %s "$f")"); do
			poke "$f" "${field%%:*}" "$v" "${field#*:}" "$rel kdump header at ${field%%:*} = $v"
		done
	done
	for field in 0:8 8:4 12:4 16:8 24:8 32:8 40:8 48:8 56:8 64:8; do
		for v in 0 0xffffffff 0xffffffffffffffff; do
			poke "$f" $((block + ${field%%:*})) "$v" "${field#*:}" \
				"$rel kdump sub-header at $((block + ${field%%:*})) = $v"
		done
	done
	for i in 0 1 $((n / 2)) $((n - 1)); do
		for part in 0:8 8:4 12:4; do
			for v in 0 0xffffffff 0x7fffffffffffffff $(($(stat -c %s "$f") - 2)); do
				poke "$f" $((descs + 24 * i + ${part%%:*})) "$v" "${part#*:}" \
					"$rel kdump descriptor $i + ${part%%:*} = $v"
			done
		done
	done

	# bitmap bytes: the first, in both bitmaps, and the middle
	boff=$((block * (1 + sub)))
	for off in $boff $((boff + block * blocks / 4)) $((boff + block * blocks / 2)) \
		$((boff + block * blocks * 3 / 4)); do
		for v in 0 0xff; do
			poke "$f" "$off" "$v" 1 "$rel kdump bitmap byte at $off = $v"
		done
	done

	# lzo: the same layout, another decompressor
	rig_require "$d/vmcore.lzo"
	truncations "$d/vmcore.lzo" "$rel kdump-lzo" $((block * (1 + sub) + block * blocks))

	# flattened: truncations through its records, and hostile record
	# headers (offset, size) at the first, a middle and the last record
	truncations "$d/vmcore.flat" "$rel flattened" 16 4096 4100 4112 8192
	f=$work/flat
	cp "$d/vmcore.flat" "$f"
	read -r -a heads < <(python3 - "$f" <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f:
    pos, heads = 4096, []
    while True:
        f.seek(pos)
        h = f.read(16)
        if len(h) < 16:
            break
        off, n = struct.unpack(">qq", h)
        if off == -1:
            break
        heads.append(pos)
        pos += 16 + n
print(heads[0], heads[len(heads) // 2], heads[-1])
PY
)
	for h in "${heads[@]}"; do
		for part in 0 8; do
			for v in 0 0xffffffffffffffff 0x7fffffffffffffff 0x1000000000; do
				# big-endian fields: write the value's bytes reversed
				poke "$f" $((h + part)) "$(python3 -c 'import sys; print(int.from_bytes(int(sys.argv[1],0).to_bytes(8,"big"),"little"))' "$v")" 8 \
					"$rel flattened record header at $((h + part)) = $v"
			done
		done
	done

	# the full ELF and QEMU's kdump (flattened): truncations
	rig_require "$d/vmcore.elf" "$d/qemu.kdump"
	truncations "$d/vmcore.elf" "$rel full ELF" 64 4096
	truncations "$d/qemu.kdump" "$rel QEMU kdump" 16 4096 8192

	# the log as text: truncated anywhere, and junk inside it
	rig_require "$d/dmesg.txt"
	truncations "$d/dmesg.txt" "$rel text" 1 100
	f=$work/text
	cp "$d/dmesg.txt" "$f"
	tsize=$(stat -c %s "$f")
	for off in 0 $((tsize / 3)) $((tsize / 2)) $((tsize - 9)); do
		for v in 0 0xff 0x0d 0xfeedfacecafebeef; do
			poke "$f" "$off" "$v" 8 "$rel text with bytes $v at $off"
		done
	done

	# filtered ELF: the ELF header's program-header fields, the first
	# program headers' fields; truncations in the headers and notes
	f=$work/elf
	cp "$d/vmcore.filtered.elf" "$f"
	phoff=$(python3 -c 'import struct,sys; print(struct.unpack_from("<Q", open(sys.argv[1],"rb").read(64), 32)[0])' "$f")
	truncations "$f" "$rel ELF" 16 52 64 $phoff $((phoff + 56)) $((phoff + 112)) 65536
	for field in 32:8 54:2 56:2; do
		for v in 0 1 0xffff 0xffffffffffffffff; do
			poke "$f" "${field%%:*}" "$v" "${field#*:}" "$rel ELF header at ${field%%:*} = $v"
		done
	done
	for ph in 0 1; do
		for part in 8:8 24:8 32:8 40:8; do
			for v in $(values "$(stat -c %s "$f")"); do
				poke "$f" $((phoff + 56 * ph + ${part%%:*})) "$v" "${part#*:}" \
					"$rel ELF program header $ph + ${part%%:*} = $v"
			done
		done
	done
done
echo "$runs corrupt real dumps checked$( ((sanitized)) && echo " under ASan+UBSan"), $errors failures"
((errors == 0))
