#!/bin/bash
# Refresh testdata/: a small real dump from the crash rig (the null-deref
# scenario of the default 6.1 kernel in its smallest makedumpfile form) with
# the console log the guest printed, the module (with DWARF), and a README naming where it came from.
#
#   tests/rig/make-sample.sh [RELEASE]
set -euo pipefail

RIG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(cd "$RIG_DIR/../.." && pwd)
OUT=$SRC_DIR/testdata
SCENARIO=null-deref
MAX_BYTES=$((20 * 1024 * 1024))

dir=$(bash "$RIG_DIR/rig.sh" -k "${1:-6.1}" -s "$SCENARIO")
d=$dir/$SCENARIO
rel=$(sed -n 's/^release=//p' "$d/meta.txt")

# The smaller of the zlib and lzo forms.
zsize=$(stat -c %s "$d/vmcore.zlib")
lsize=$(stat -c %s "$d/vmcore.lzo")
if ((zsize <= lsize)); then
	form=vmcore.zlib flags="-c -d 31" size=$zsize
else
	form=vmcore.lzo flags="-l -d 31" size=$lsize
fi
((size <= MAX_BYTES)) || {
	echo "make-sample: $d/$form is $size bytes, over the $MAX_BYTES limit" >&2
	exit 1
}

mkdir -p "$OUT"
cp "$d/$form" "$OUT/sample.vmcore.tmp"
tr -d '\r' <"$d/console.log" >"$OUT/sample.console.log.tmp"
cp "$d/vrbug.ko" "$OUT/sample.vrbug.ko.tmp"
mv "$OUT/sample.vmcore.tmp" "$OUT/sample.vmcore"
mv "$OUT/sample.vrbug.ko.tmp" "$OUT/sample.vrbug.ko"
mv "$OUT/sample.console.log.tmp" "$OUT/sample.console.log"
chmod 644 "$OUT/sample.vmcore" "$OUT/sample.console.log" "$OUT/sample.vrbug.ko"

crash_line=$(sed -n 's/^crash_line=//p' "$d/meta.txt")
cpu=$(sed -n 's/^observed_cpu=//p' "$d/meta.txt")
pid=$(sed -n 's/^observed_pid=//p' "$d/meta.txt")
comm=$(sed -n 's/^observed_comm=//p' "$d/meta.txt")
sha=$(sha256sum "$OUT/sample.vmcore" | cut -d' ' -f1)

cat >"$OUT/README.md" <<EOT
# Sample real crash dump

\`sample.vmcore\` is a real kdump of Debian's \`$rel\` kernel,
crashed under QEMU by the crash rig (\`tests/rig/rig.sh\`, scenario
\`$SCENARIO\`) and copied here by \`tests/rig/make-sample.sh\`.

- The kernel (KASLR on, 2 CPUs, 512 MiB) loaded the rig's buggy module
  \`vrbug\` (\`tests/rig/module/vrbug.c\`), which read through a NULL
  struct pointer in \`vrbug_null_deref()\`:

      $crash_line

  The oops happened on CPU $cpu, PID $pid, comm \`$comm\`; panic_on_oops=1
  sent it into kdump.
- The capture kernel copied \`/proc/vmcore\` to a disk; the ELF vmcore was
  then compressed with

      makedumpfile $flags vmcore.elf sample.vmcore

  (kdump-compressed form, $size bytes, sha256
  $sha).
- \`sample.console.log\` is the guest's serial console: the crashed
  kernel's own account of the crash, then the capture kernel's boot.
- \`sample.vrbug.ko\` is the module exactly as loaded, with DWARF.

The matching vmlinux with DWARF is in Debian's
\`linux-image-$rel-dbg\` package, at
\`/usr/lib/debug/boot/vmlinux-$rel\`.

Regenerate with \`tests/rig/make-sample.sh\` (needs root, QEMU and the
packages \`tests/deps.sh --rig\` installs).
EOT
ls -l "$OUT"
