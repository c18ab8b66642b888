#!/bin/bash
# vmreport crash rig: real crash dumps of Debian cloud kernels under QEMU.
#
#   tests/rig/rig.sh [-k RELEASE] [-s SCENARIO,...] [-j JOBS] [--force]
#   tests/rig/rig.sh --resolve [RELEASE]   print the release a name stands for
#   tests/rig/rig.sh --list [RELEASE]      print the scenario names (that run on RELEASE)
#   tests/rig/rig.sh --expect SCENARIO     print the console line (grep -E)
#                                          that proves the scenario's crash
#   tests/rig/rig.sh --files RELEASE       print where the release's files
#                                          are (vmlinuz, vmlinux, system_map,
#                                          debug_modules), one KEY=PATH a line
#
# RELEASE is a full kernel release (6.1.0-56-cloud-amd64), or "6.1" / "6.12"
# for the newest cloud kernel of that series in the apt archive (default
# 6.1), "5.10" for Debian 11's newest that tests/deps.sh installed, or
# "newest" for the newest cloud kernel in Debian's archive (Debian 13, its
# backports, sid), which is unpacked under the cache rather than installed
# and whose test module builds in a chroot of its Debian release
# (tests/rig/archive.sh).
# For each scenario the rig boots the kernel under QEMU (TCG) with a busybox
# initramfs, loads kdump (kexec -p), loads the buggy module tests/rig/module,
# crashes the kernel, lets the capture kernel copy /proc/vmcore to a virtio
# disk, and derives every dump form from that ELF with makedumpfile: the
# host's, or for an unpacked kernel the archive's newest (which knows the
# kernel's page flags), the host's then also making the forms in debian12/.
# A guest that dies before its scenario runs (an emulator flake at boot)
# is booted again, up to twice.
#
# Output (stdout: the directory) is cached under
#   /var/cache/vmreport-rig/<release>-r<RIG_VERSION>/<scenario>/
# Each scenario directory is written under a temporary name and renamed when
# complete, so an interrupted run never leaves a partial one behind. Bump
# RIG_VERSION whenever a change here alters the dumps.
set -euo pipefail

RIG_VERSION=4
RIG_ROOT=${VR_RIG_CACHE:-/var/cache/vmreport-rig}
RIG_BOOTS=3                            # tries when a guest dies before its scenario
RIG_MEM=${VR_RIG_MEM:-512}             # guest RAM in MiB
RIG_CRASHKERNEL=${VR_RIG_CRASHKERNEL:-192M}
RIG_TIMEOUT=${VR_RIG_TIMEOUT:-240}     # seconds per QEMU run
RIG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(cd "$RIG_DIR/../.." && pwd)
# shellcheck source=tests/rig/archive.sh
source "$RIG_DIR/archive.sh"
FALLBACK_61=6.1.0-56-cloud-amd64
FALLBACK_612=6.12.117+deb12-cloud-amd64
FALLBACK_510=5.10.0-43-cloud-amd64

# Scenarios: name|cpus|extra kernel parameters|console line proving the
# crash (grep -E)|crash kind|panicking CPU|panicking comm|faulting function|
# further facts (space-separated key=value, copied into meta.json "extra";
# text_function: the function blame names from the log alone, where it
# differs from the one the dump's memory shows)|guest RAM in MiB (empty:
# VR_RIG_MEM)|the kernel series it runs on (space-separated, "6.1"; empty:
# every kernel). A WARN's line reads "WARNING: CPU: 1 PID: P at FILE:LINE
# FUNC" before 7.0 and "WARNING: FILE:LINE at FUNC+OFF/SIZE [MOD], CPU#1:
# COMM/PID" since.
# The guest side of each scenario is a case in init.sh.
SCENARIOS=(
	"sysrq|2||Kernel panic - not syncing: sysrq triggered crash|sysrq|1|vrtrigger|sysrq_handle_crash"
	"null-deref|2||BUG: kernel NULL pointer dereference, address: 0000000000000010|null-deref|1|vrtrigger|vrbug_null_deref"
	"bug-on|2||kernel BUG at vrbug.c:[0-9]+!|bug|1|vrtrigger|vrbug_bug_on"
	"gpf|2||general protection fault, probably for non-canonical address 0xdead0000000001[0-9a-f]{2}|gpf|1|vrtrigger|vrbug_gpf"
	"warn|2|panic_on_warn=1|WARNING: (CPU: 1 PID: [0-9]+ at )?vrbug.c:[0-9]+ (at )?vrbug_warn|warning|1|vrtrigger|vrbug_warn"
	"softlockup|2|softlockup_panic=1|watchdog: BUG: soft lockup - CPU#1 stuck for|soft-lockup|1|vrtrigger|vrbug_softlockup"
	"hungtask|2|hung_task_panic=1|INFO: task vrtrigger:[0-9]+ blocked for more than [0-9]+ seconds|hung-task||khungtaskd|vrbug_hungtask|blocked_comm=vrtrigger blocked_function=vrbug_hungtask holder_comm=vrbug_holder"
	"tailcall|2||general protection fault, probably for non-canonical address 0xdead000000000122|gpf|1|vrtrigger|vrbug_tailcall|text_function=vrbug_write"
	"busy-cpu|4|vrcpu=0 vrbusycpu=2|BUG: kernel NULL pointer dereference, address: 0000000000000010|null-deref|0|vrtrigger|vrbug_null_deref|busy_cpu=2 busy_comm=vrbug_spin/2 busy_function=vrbug_spin"
	"rootkit|2||BUG: kernel NULL pointer dereference, address: 0000000000000010|null-deref|1|vrtrigger|vrbug_rootkit_crash|hidden_module=vrbug syscall_table_entry=62 hooked_function=__x64_sys_kill probed_function=commit_creds modprobe_path=/tmp/vrbug-helper raised_uid=1000 init_cred_comm=sh"
	# null-deref on eight times the RAM: a report must cost the same. A
	# scenario with RAM of its own takes the guest path of the one its
	# name extends (init.sh: null-deref). One kernel is enough to show it.
	"null-deref-4g|2||BUG: kernel NULL pointer dereference, address: 0000000000000010|null-deref|1|vrtrigger|vrbug_null_deref||4096|6.1"
)
# The scenario that is also captured by QEMU's dump-guest-memory.
QEMU_DUMP_SCENARIO=null-deref

log() { printf 'rig: %s\n' "$*" >&2; }
fail() {
	printf 'rig: error: %s\n' "$*" >&2
	exit 1
}

scenario_names() { # [RELEASE]: every scenario, or those that run on RELEASE
	local s f series k on
	for s in "${SCENARIOS[@]}"; do
		IFS='|' read -r -a f <<<"$s"
		series=${f[10]:-}
		if [[ -n ${1:-} && -n $series ]]; then
			on=0
			for k in $series; do
				[[ $1 == "$k" || $1 == "$k".* ]] && on=1
			done
			((on)) || continue
		fi
		echo "${f[0]}"
	done
}

scenario_field() { # NAME INDEX
	local s f
	for s in "${SCENARIOS[@]}"; do
		[[ ${s%%|*} == "$1" ]] || continue
		IFS='|' read -r -a f <<<"$s"
		echo "${f[$2]:-}"
		return 0
	done
	return 1
}

# Newest Debian cloud kernel of a series, from the apt lists.
resolve_release() {
	local want=${1:-6.1} pat fallback found memo
	case $want in
	5.10)
		# Debian 11's kernels come from the rig's own bullseye apt lists
		# (tests/deps.sh), and the archive lacks the -dbg packages of the
		# newest ABIs: the newest whose -dbg is installed, which deps.sh
		# chose as the newest that downloads.
		found=$(dpkg-query -W -f='${Package} ${Status}\n' 'linux-image-5.10.0-*-cloud-amd64-dbg' 2>/dev/null |
			awk '$NF == "installed" { sub(/^linux-image-/, "", $1); sub(/-dbg$/, "", $1); print $1 }' |
			sort -V | tail -n 1 || true)
		echo "${found:-$FALLBACK_510}"
		return
		;;
	6.1) pat='^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' fallback=$FALLBACK_61 ;;
	6.12) pat='^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64$' fallback=$FALLBACK_612 ;;
	newest)
		# From the rig's own lists of the newer releases (fetched when
		# missing: that needs root); without them, the newest unpacked.
		if [[ ! -f $ARCHIVE_DIR/lists/.updated && $(id -u) == 0 ]]; then
			mkdir -p "$RIG_ROOT" && archive_lists >/dev/null || true
		fi
		found=$(archive_newest 2>/dev/null || true)
		[[ -n $found ]] || found=$(find "$RIG_ROOT/kernels" -mindepth 2 -maxdepth 2 -name .complete 2>/dev/null |
			sed 's|/.complete$||; s|.*/||' | sort -V | tail -n 1)
		[[ -n $found ]] || fail "no package lists to find the newest kernel in (run tests/deps.sh --rig as root)"
		echo "$found"
		return
		;;
	*)
		echo "$want"
		return
		;;
	esac
	# apt-cache takes seconds; remember its answer until the lists change
	# (beside the system's apt state: the rig's cache may serve another).
	memo=/var/cache/apt/vmreport-resolve-$want
	if [[ -s $memo && $memo -nt /var/lib/apt/lists && ! /var/cache/apt/vmreport-lists.updated -nt $memo ]]; then
		cat "$memo"
		return
	fi
	found=$(apt-cache pkgnames "linux-image-$want" 2>/dev/null | grep -E "$pat" |
		sed 's/^linux-image-//' | sort -V | tail -n 1 || true)
	echo "${found:-$fallback}"
	if [[ -n $found ]]; then
		{ echo "$found" >"$memo.$$" && mv "$memo.$$" "$memo"; } 2>/dev/null || true
	fi
}

# Where a release's files are: installed (/boot, /usr/lib/debug), or
# unpacked under the cache (archive.sh). Sets K_ROOT ("" when installed),
# K_VMLINUZ, K_VMLINUX, K_SYSTEM_MAP, K_DEBUG_MODULES and K_CHROOT (where
# its modules build; "" for the host).
kernel_files() { # REL
	local rel=$1
	if archive_is_unpacked "$rel"; then
		K_ROOT=$(archive_root "$rel")
		K_VMLINUZ=$K_ROOT/usr/lib/modules/$rel/vmlinuz
		K_VMLINUX=$K_ROOT/usr/lib/debug/lib/modules/$rel/vmlinux
		# linux-base's System.map is a stub that points to the -dbg one
		K_SYSTEM_MAP=$K_ROOT/usr/lib/debug/lib/modules/$rel/System.map
		K_DEBUG_MODULES=$K_ROOT/usr/lib/debug/lib/modules/$rel
		K_CHROOT=$(archive_chroot "$rel")
	else
		K_ROOT=
		K_VMLINUZ=/boot/vmlinuz-$rel
		K_VMLINUX=/usr/lib/debug/boot/vmlinux-$rel
		K_SYSTEM_MAP=/usr/lib/debug/boot/System.map-$rel
		K_DEBUG_MODULES=/usr/lib/debug/lib/modules/$rel
		K_CHROOT=
	fi
}

kmodinfo() { # REL ARGS...
	local rel=$1
	shift
	modinfo ${K_ROOT:+-b "$K_ROOT"} -k "$rel" "$@"
}

# Modules NAME needs, then NAME, in load order (one a line). Built-in
# modules are left out.
module_order() { # REL NAME
	local rel=$1 name=$2 dep path
	path=$(kmodinfo "$rel" -n "$name" 2>/dev/null) || return 0
	[[ $path == *.ko* ]] || return 0
	for dep in $(kmodinfo "$rel" -F depends "$name" | tr ',' ' '); do
		module_order "$rel" "$dep"
	done
	echo "$name"
}

# Copy kernel modules into DIR/lib/modules as plain .ko (6.12's are .ko.xz)
# and write their load order to DIR/LISTFILE.
install_modules() { # REL DIR LISTFILE NAME...
	local rel=$1 dir=$2 list=$3 name path
	shift 3
	mkdir -p "$dir/lib/modules"
	: >"$dir/$list"
	for name in $(for n in "$@"; do module_order "$rel" "$n"; done | awk '!seen[$0]++'); do
		path=$(kmodinfo "$rel" -n "$name")
		[[ $path == /* && -n $K_ROOT && $path != "$K_ROOT"/* ]] && path=$K_ROOT$path
		case $path in
		*.ko.xz) xz -dc "$path" >"$dir/lib/modules/$name.ko" ;;
		*.ko.zst) zstd -qdc "$path" >"$dir/lib/modules/$name.ko" ;;
		*.ko.gz) gzip -dc "$path" >"$dir/lib/modules/$name.ko" ;;
		*) cp "$path" "$dir/lib/modules/$name.ko" ;;
		esac
		echo "$name" >>"$dir/$list"
	done
}

# Run a command in a chroot with /proc mounted (objtool reads it): in a
# mount namespace of its own where the rig can make one, so the mount ends
# with the command; else (the rig itself in a chroot, whose / is no mount
# point to make private) mounted for the command and unmounted after.
chroot_run() { # CHROOT COMMAND...
	local c=$1 rc=0
	shift
	if unshare --mount --propagation private true 2>/dev/null; then
		unshare --mount --propagation private sh -c 'mount -t proc proc "$1/proc" && shift && exec chroot "$@"' \
			sh "$c" "$c" "$@"
		return
	fi
	mount -t proc proc "$c/proc" || return 1
	chroot "$c" "$@" || rc=$?
	umount "$c/proc" || true
	return "$rc"
}

make_cpio() { # ROOTDIR OUTFILE
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$2"
}

# Build the module and both initramfs images once per release, atomically.
build_common() { # REL CACHE
	local rel=$1 cache=$2 tmp lib root a
	# The module and initramfs are built from the rig's guest side; a
	# build from other sources than today's is made again (the scenarios
	# cached from it keep their own copy of the module).
	local sum
	sum=$(cat "$RIG_DIR"/init.sh "$RIG_DIR"/vrtrigger.sh "$RIG_DIR"/module/* | sha256sum | cut -c1-16)
	if [[ -f $cache/.build/crash.cpio && $(cat "$cache/.build/sources" 2>/dev/null) == "$sum" ]]; then
		return 0
	fi
	tmp=$(mktemp -d "$cache/.build.tmp.XXXXXX")
	log "$rel: building module and initramfs"

	# The module builds in a copy outside the repository; for an unpacked
	# kernel, in its release's chroot.
	if [[ -n $K_CHROOT ]]; then
		local ctmp
		ctmp=$(mktemp -d "$K_CHROOT/tmp/vrbug.XXXXXX")
		cp -r "$RIG_DIR/module/." "$ctmp"
		chroot_run "$K_CHROOT" make -C "/usr/lib/modules/$rel/build" M="${ctmp#"$K_CHROOT"}" modules \
			>"$tmp/module-build.log" 2>&1 ||
			fail "building the module for $rel in $K_CHROOT failed; see $tmp/module-build.log"
		cp "$ctmp/vrbug.ko" "$tmp/vrbug.ko"
		rm -rf "$ctmp"
	else
		cp -r "$RIG_DIR/module" "$tmp/vrbug"
		make -C "/usr/lib/modules/$rel/build" M="$tmp/vrbug" modules >"$tmp/module-build.log" 2>&1 ||
			fail "building the module for $rel failed; see $tmp/module-build.log"
		cp "$tmp/vrbug/vrbug.ko" "$tmp/vrbug.ko"
	fi

	# Capture initramfs: busybox, /init, virtio block driver.
	root=$tmp/capture-root
	mkdir -p "$root"/{bin,dev,proc,sys,tmp}
	cp /bin/busybox "$root/bin/busybox"
	for a in $(/bin/busybox --list); do
		[[ $a == busybox ]] || ln -s busybox "$root/bin/$a"
	done
	mknod "$root/dev/console" c 5 1
	install -m 755 "$RIG_DIR/init.sh" "$root/init"
	install_modules "$rel" "$root" modules.capture virtio_pci virtio_blk
	: >"$root/modules.crash"
	make_cpio "$root" "$tmp/capture.cpio"

	# Crash initramfs: the capture one plus kexec, the kernel and capture
	# image for kexec -p, fw_cfg (QEMU's vmcoreinfo device) and vrbug.ko.
	cp -a "$root" "$tmp/crash-root"
	root=$tmp/crash-root
	install -m 755 "$RIG_DIR/vrtrigger.sh" "$root/bin/vrtrigger"
	cp /sbin/kexec "$root/bin/kexec"
	for lib in $(ldd /sbin/kexec | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
	cp "$K_VMLINUZ" "$root/vmlinuz"
	cp "$tmp/capture.cpio" "$root/capture.cpio"
	cp "$tmp/vrbug.ko" "$root/vrbug.ko"
	install_modules "$rel" "$root" modules.crash qemu_fw_cfg
	make_cpio "$root" "$tmp/crash.cpio"

	rm -rf "$tmp/capture-root" "$tmp/crash-root" "$tmp/vrbug"
	echo "$sum" >"$tmp/sources"
	rm -rf "$cache/.build"
	mv "$tmp" "$cache/.build"
}

scenario_mem() { # NAME: its guest RAM in MiB
	local m
	m=$(scenario_field "$1" 9)
	echo "${m:-$RIG_MEM}"
}

guest_path() { # NAME: the case in init.sh that runs it
	if [[ -n $(scenario_field "$1" 9) ]]; then
		echo "${1%-*}"
	else
		echo "$1"
	fi
}

qemu_cmd() { # REL CPUS DIR APPEND [MEM]
	echo qemu-system-x86_64 -machine pc -m "${5:-$RIG_MEM}" -smp "$2" -nodefaults -no-user-config \
		-display none -no-reboot -kernel "$K_VMLINUZ" -initrd "$CACHE/.build/crash.cpio" \
		-serial "file:$3/console.log" -device vmcoreinfo -append "'$4'"
}

# Kernel options of every guest: the serial console, KASLR on (the
# default), freed objects poisoned, no IO-APIC timer check (under a loaded
# TCG host it fails at random: "IO-APIC + timer doesn't work!"), and an
# oops at boot a panic, so that a guest which dies early ends at once
# instead of hanging until the timeout.
GUEST_APPEND="console=ttyS0 slub_debug=P no_timer_check oops=panic"

# The first line of a console that says why a kernel died: a panic, an
# oops, a BUG; else its last line. Reads stdin.
death_line() {
	local text l
	text=$(tr -d '\r')
	l=$(grep -a -m1 -E 'Kernel panic - not syncing|Oops: |BUG: |general protection fault|VRRIG-ERROR' <<<"$text" ||
		true)
	[[ -n $l ]] && echo "$l" && return
	l=$(grep -a . <<<"$text" | tail -n 1)
	echo "${l:+no panic message; the console ends: }${l:-no console output}"
}

# Whether the guest whose console is FILE died before its scenario ran
# (before init.sh took the bug path, or in the capture kernel before its
# init): then prints why, for the log, and returns 0. Such a death is the
# emulator's (a TCG timing check, an int3 left by text patching), not the
# scenario's.
died_early() { # CONSOLE SCENARIO
	local c=$1 s boots
	s=$(guest_path "$2") # what the guest says it triggers
	[[ -f $c ]] || {
		echo "no console output"
		return 0
	}
	if ! grep -a -q "VRRIG: triggering $s" "$c"; then
		echo "the kernel under test died at boot: $(death_line <"$c")"
		return 0
	fi
	# The capture kernel: a second "Linux version", and no /init.
	boots=$(grep -a -c 'Linux version' "$c" || true)
	if ((boots > 1)) && ! grep -a -q 'VRRIG: capture kernel up' "$c"; then
		echo "the capture kernel died at boot: $(awk '/Linux version/ { n++ } n > 1' "$c" | death_line)"
		return 0
	fi
	return 1
}

# Largest p_offset + p_filesz over the program headers of an ELF file.
elf_length() {
	local off fsz max=0
	while read -r off fsz; do
		((off + fsz > max)) && max=$((off + fsz))
	done < <(readelf -lW "$1" | awk '$1 == "LOAD" || $1 == "NOTE" {print $2, $5}')
	echo "$max"
}

# Boot the kernel with kdump loaded and let the scenario crash it. Returns
# 0 when the vmcore was captured, 2 when the guest died before its
# scenario ran (the reason in DIR/early); fails otherwise.
boot_kdump() { # REL SCENARIO DIR
	local rel=$1 s=$2 d=$3 cpus extra append mem rc=0 why
	cpus=$(scenario_field "$s" 1)
	extra=$(scenario_field "$s" 2)
	mem=$(scenario_mem "$s")
	append="$GUEST_APPEND crashkernel=$RIG_CRASHKERNEL panic=1 vrscenario=$(guest_path "$s") vrkdump=1 $extra"
	rm -f "$d/disk.img" "$d/console.log" "$d/early"
	# The disk takes the whole /proc/vmcore: the guest's RAM and headers.
	truncate -s $((mem > 960 ? mem + 64 : 1024))M "$d/disk.img"
	echo "+ $(qemu_cmd "$rel" "$cpus" "$d" "$append" "$mem") -drive file=$d/disk.img,format=raw,if=virtio"
	timeout -k 5 "$RIG_TIMEOUT" qemu-system-x86_64 -machine pc -m "$mem" -smp "$cpus" \
		-nodefaults -no-user-config -display none -no-reboot \
		-kernel "$K_VMLINUZ" -initrd "$CACHE/.build/crash.cpio" \
		-append "$append" -serial "file:$d/console.log" -device vmcoreinfo \
		-drive "file=$d/disk.img,format=raw,if=virtio" </dev/null 2>"$d/qemu.err" || rc=$?
	cat "$d/qemu.err"
	# QEMU's own failure is no guest's.
	((rc == 0 || rc == 124 || rc == 137)) ||
		fail "$rel $s: QEMU exited with status $rc: $(tail -n 1 "$d/qemu.err")"
	if why=$(died_early "$d/console.log" "$s"); then
		((rc != 124 && rc != 137)) || why+=" (QEMU timed out after ${RIG_TIMEOUT}s)"
		echo "$why" >"$d/early"
		return 2
	fi
	((rc != 124 && rc != 137)) ||
		fail "$rel $s: QEMU timed out after ${RIG_TIMEOUT}s; console: $d/console.log: $(sed '1,/VRRIG: triggering/d' "$d/console.log" | death_line)"
	grep -q 'VRRIG-CAPTURE-OK' "$d/console.log" ||
		fail "$rel $s: no vmcore captured: $(sed '1,/VRRIG: triggering/d' "$d/console.log" | death_line)"
}

# Every form makedumpfile derives from vmcore.elf, into DIR.
derive_forms() { # DIR MAKEDUMPFILE...
	local d=$1
	shift
	"$@" --message-level 6 -c -d 31 "$d/vmcore.elf" "$d/vmcore.zlib"
	"$@" --message-level 6 -l -d 31 "$d/vmcore.elf" "$d/vmcore.lzo"
	"$@" --message-level 6 -F -l -d 31 "$d/vmcore.elf" >"$d/vmcore.flat"
	"$@" --message-level 6 -E -d 31 "$d/vmcore.elf" "$d/vmcore.filtered.elf"
	"$@" --message-level 6 --dump-dmesg "$d/vmcore.elf" "$d/dmesg.txt"
}

# Crash the kernel with kdump loaded, booting again when the guest dies
# before its scenario runs, and derive every form. Writes into DIR.
run_kdump() { # REL SCENARIO DIR
	local rel=$1 s=$2 d=$3 len try rc
	for ((try = 1; ; try++)); do
		rc=0
		boot_kdump "$rel" "$s" "$d" || rc=$?
		((rc == 2)) || break
		mv "$d/console.log" "$d/console.early$try.log" 2>/dev/null || true
		((try < RIG_BOOTS)) ||
			fail "$rel $s: the guest died before its scenario ran, $try times; last: $(cat "$d/early")"
		echo "boot $try of $RIG_BOOTS: $(cat "$d/early")" | tee -a "$d/retries"
	done
	((rc == 0)) || fail "$rel $s: QEMU run failed"
	rm -f "$d/early"

	len=$(elf_length "$d/disk.img")
	((len > 0)) || fail "$rel $s: the captured disk holds no ELF vmcore"
	truncate -s "$len" "$d/disk.img"
	mv "$d/disk.img" "$d/vmcore.elf"
	echo "vmcore.elf: $len bytes"

	derive_forms "$d" "${MAKEDUMPFILE[@]}"
	if ((${#MAKEDUMPFILE[@]} > 1)); then
		# What a Debian 12 user with this kernel gets; a form that came
		# out byte for byte the same (7.3's do, but for dmesg.txt) is kept
		# as a hard link to the main one.
		local f
		mkdir "$d/debian12"
		ln "$d/vmcore.elf" "$d/debian12/vmcore.elf"
		derive_forms "$d/debian12" makedumpfile
		rm "$d/debian12/vmcore.elf"
		for f in vmcore.zlib vmcore.lzo vmcore.flat vmcore.filtered.elf; do
			if cmp -s "$d/$f" "$d/debian12/$f"; then
				ln -f "$d/$f" "$d/debian12/$f"
				echo "debian12/$f: the same as $f"
			fi
		done
	fi
}

# QMP over a pair of FIFOs (QEMU's "pipe" chardev), so that plain bash can
# talk to it. qmp CMD TIMEOUT: send one command, wait for its reply.
qmp() {
	local line
	printf '%s\n' "$1" >&"$QMP_IN"
	echo ">> $1" >>"$QMP_LOG"
	while read -r -t "$2" -u "$QMP_OUT" line; do
		echo "<< $line" >>"$QMP_LOG"
		case $line in
		*'"return"'*) return 0 ;;
		*'"error"'*) return 1 ;;
		esac
	done
	return 1
}

# Boot without kdump until the scenario's panic, then stop the guest.
# Returns 2 when the guest died before its scenario ran (reason in
# DIR/early); fails otherwise. QEMU is left running, stopped, as QEMU_PID.
boot_qemu_dump() { # REL SCENARIO DIR
	local rel=$1 s=$2 d=$3 cpus extra append i line why
	local q=$d/qemu-run
	rm -rf "$q"
	mkdir -p "$q"
	cpus=$(scenario_field "$s" 1)
	extra=$(scenario_field "$s" 2)
	append="$GUEST_APPEND panic=0 vrscenario=$s vrkdump=0 $extra"
	mkfifo "$q/qmp.in" "$q/qmp.out"
	exec {QMP_IN}<>"$q/qmp.in" {QMP_OUT}<>"$q/qmp.out"
	QMP_LOG=$d/qmp.log
	echo "+ $(qemu_cmd "$rel" "$cpus" "$q" "$append") (qmp on $q/qmp)"
	timeout -k 5 "$RIG_TIMEOUT" qemu-system-x86_64 -machine pc -m "$RIG_MEM" -smp "$cpus" \
		-nodefaults -no-user-config -display none -no-reboot \
		-kernel "$K_VMLINUZ" -initrd "$CACHE/.build/crash.cpio" \
		-append "$append" -serial "file:$q/console.log" -device vmcoreinfo \
		-chardev "pipe,id=qmp,path=$q/qmp" -mon chardev=qmp,mode=control </dev/null &
	QEMU_PID=$!
	# fail() exits this scenario's subshell: take QEMU down with it.
	trap 'kill_tree $QEMU_PID' EXIT
	read -r -t 30 -u "$QMP_OUT" line || fail "$rel $s: no QMP greeting from QEMU"
	qmp '{"execute":"qmp_capabilities"}' 30 || fail "$rel $s: QMP negotiation failed"
	for ((i = 0; i < RIG_TIMEOUT * 2; i++)); do
		grep -q 'end Kernel panic' "$q/console.log" 2>/dev/null && break
		kill -0 "$QEMU_PID" 2>/dev/null || break
		sleep 0.5
	done
	if why=$(died_early "$q/console.log" "$s"); then
		kill_tree "$QEMU_PID"
		wait "$QEMU_PID" || true
		trap - EXIT
		exec {QMP_IN}>&- {QMP_OUT}>&-
		echo "$why" >"$d/early"
		return 2
	fi
	kill -0 "$QEMU_PID" 2>/dev/null || fail "$rel $s: QEMU ended before the panic"
	grep -q 'end Kernel panic' "$q/console.log" ||
		fail "$rel $s: no panic within ${RIG_TIMEOUT}s (QEMU dump run)"
	sleep 1 # let the other CPUs stop
	qmp '{"execute":"stop"}' 30 || fail "$rel $s: QMP stop failed"
}

# Crash the kernel without kdump and dump it with QEMU's dump-guest-memory.
run_qemu_dump() { # REL SCENARIO DIR
	local rel=$1 s=$2 d=$3 try rc
	local q=$d/qemu-run
	for ((try = 1; ; try++)); do
		rc=0
		boot_qemu_dump "$rel" "$s" "$d" || rc=$?
		((rc == 2)) || break
		mv "$q/console.log" "$d/qemu.console.early$try.log" 2>/dev/null || true
		((try < RIG_BOOTS)) ||
			fail "$rel $s: the guest died before its scenario ran, $try times; last: $(cat "$d/early")"
		echo "QEMU-dump boot $try of $RIG_BOOTS: $(cat "$d/early")" | tee -a "$d/retries"
	done
	rm -f "$d/early"
	qmp "{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:$d/qemu.elf\",\"format\":\"elf\"}}" 300 ||
		fail "$rel $s: dump-guest-memory (elf) failed; see $QMP_LOG"
	qmp "{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:$d/qemu.kdump\",\"format\":\"kdump-zlib\"}}" 300 ||
		fail "$rel $s: dump-guest-memory (kdump-zlib) failed; see $QMP_LOG"
	# QEMU 7.2 writes kdump-* formats flattened (makedumpfile's -F stream);
	# QEMU 8.2 and later write them reassembled by default: keep both.
	makedumpfile -R "$d/qemu.reassembled.kdump" <"$d/qemu.kdump"
	qmp '{"execute":"quit"}' 30 || true
	wait "$QEMU_PID" || true
	trap - EXIT
	exec {QMP_IN}>&- {QMP_OUT}>&-
	mv "$q/console.log" "$d/qemu.console.log"
	rm -rf "$q"
}

json_str() { # escape for a JSON string body
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	printf '%s' "$s"
}

write_meta() { # REL SCENARIO DIR
	local rel=$1 s=$2 d=$3 cpus extra pat kind cpu comm func panic_line crash_line f forms=""
	local ocpu="" opid="" ocomm="" kv extra_json="" extra_txt=""
	for kv in $(scenario_field "$s" 8); do
		extra_json+="${extra_json:+, }\"${kv%%=*}\": \"$(json_str "${kv#*=}")\""
		extra_txt+="extra.$kv"$'\n'
	done
	cpus=$(scenario_field "$s" 1)
	extra=$(scenario_field "$s" 2)
	pat=$(scenario_field "$s" 3)
	kind=$(scenario_field "$s" 4)
	cpu=$(scenario_field "$s" 5)
	comm=$(scenario_field "$s" 6)
	func=$(scenario_field "$s" 7)
	crash_line=$(grep -a -m1 -oE "$pat.*" "$d/console.log" | tr -d '\r' || true)
	panic_line=$(grep -a -m1 -oE 'Kernel panic - not syncing: .*' "$d/console.log" | tr -d '\r' || true)
	# What the kernel itself said: the last "CPU: N PID: P Comm: C" header
	# before the capture kernel starts is the panicking CPU's (6.12 adds
	# "UID: U" before PID).
	read -r ocpu opid ocomm < <(sed '/VRRIG: capture kernel up/q' "$d/console.log" |
		grep -a -oE 'CPU: [0-9]+ (UID: [0-9]+ )?PID: [0-9]+ Comm: [^ ]+' | tail -n 1 |
		sed -E 's/CPU: ([0-9]+) (UID: [0-9]+ )?PID: ([0-9]+) Comm: (.*)/\1 \3 \4/' || true) || true
	local d12="" mdf
	for f in vmcore.elf vmcore.zlib vmcore.lzo vmcore.flat vmcore.filtered.elf dmesg.txt qemu.elf qemu.kdump qemu.reassembled.kdump; do
		[[ -f $d/$f ]] && forms+="${forms:+, }\"$f\""
	done
	for f in vmcore.zlib vmcore.lzo vmcore.flat vmcore.filtered.elf dmesg.txt; do
		[[ -f $d/debian12/$f ]] && d12+="${d12:+, }\"debian12/$f\""
	done
	mdf=$("${MAKEDUMPFILE[@]}" -v 2>&1 | awk '/version/ { print $3; exit }')
	cat >"$d/meta.json" <<-EOF
		{
		  "rig_version": $RIG_VERSION,
		  "release": "$(json_str "$rel")",
		  "vmlinux": "$(json_str "$K_VMLINUX")",
		  "system_map": "$(json_str "$K_SYSTEM_MAP")",
		  "debug_modules": "$(json_str "$K_DEBUG_MODULES")",
		  "scenario": "$s",
		  "kind": "$kind",
		  "cpus": $cpus,
		  "memory_mib": $(scenario_mem "$s"),
		  "kernel_params": "$(json_str "$extra")",
		  "panic_cpu": ${cpu:-null},
		  "comm": "$comm",
		  "function": "$func",
		  "module": "vrbug",
		  "crash_line": "$(json_str "$crash_line")",
		  "panic_line": "$(json_str "$panic_line")",
		  "observed": {"cpu": ${ocpu:-null}, "pid": ${opid:-null}, "comm": $([[ -n $ocomm ]] && echo "\"$(json_str "$ocomm")\"" || echo null)},
		  "extra": {$extra_json},
		  "forms": [$forms],
		  "makedumpfile": "$mdf",
		  "debian12_forms": [$d12],
		  "early_boots": $(wc -l <"$d/retries" 2>/dev/null || echo 0),
		  "qemu_console": $([[ -f $d/qemu.console.log ]] && echo '"qemu.console.log"' || echo null),
		  "console_report": $(console_report "$rel" "$s" && echo true || echo false)
		}
	EOF
	cat >"$d/meta.txt" <<-EOF
		rig_version=$RIG_VERSION
		release=$rel
		vmlinux=$K_VMLINUX
		system_map=$K_SYSTEM_MAP
		debug_modules=$K_DEBUG_MODULES
		scenario=$s
		kind=$kind
		cpus=$cpus
		memory_mib=$(scenario_mem "$s")
		kernel_params=$extra
		panic_cpu=$cpu
		comm=$comm
		function=$func
		module=vrbug
		crash_line=$crash_line
		panic_line=$panic_line
		observed_cpu=$ocpu
		observed_pid=$opid
		observed_comm=$ocomm
		forms=${forms//\"/}
		makedumpfile=$mdf
		debian12_forms=${d12//\"/}
		console_report=$(console_report "$rel" "$s" && echo true || echo false)
	EOF
	printf '%s' "$extra_txt" >>"$d/meta.txt"
	if [[ -f $d/qemu.console.log ]]; then
		cat >>"$d/meta.txt" <<-EOF
			qemu_console=qemu.console.log (qemu.elf and qemu.kdump come from a separate boot, with another KASLR offset)
		EOF
	fi
}

# Whether the scenario's crash report reaches the console and the log. The
# tailcall oops happens inside printk(): kernels from 4.11 to 5.14 then
# print it into the CPU's printk_safe buffer, which only a later flush
# copies to the log, and kdump starts before any flush. The System.map
# says which kernels those are.
console_report() { # REL SCENARIO
	[[ $2 == tailcall ]] || return 0
	! grep -q ' printk_safe_flush$' "$K_SYSTEM_MAP" 2>/dev/null
}

# One scenario, start to finish, into a temporary directory renamed at the end.
scenario_body() { # REL SCENARIO DIR
	local rel=$1 s=$2 tmp=$3 pat
	run_kdump "$rel" "$s" "$tmp"
	pat=$(scenario_field "$s" 3)
	if console_report "$rel" "$s"; then
		grep -a -qE "$pat" "$tmp/console.log" ||
			fail "$rel $s: the console lacks the expected line: $pat"
	else
		# The report stays in the per-CPU printk_safe buffer: the
		# console must show the trigger and then the capture kernel.
		grep -a -q "VRRIG: triggering $s" "$tmp/console.log" ||
			fail "$rel $s: the scenario never ran"
		! grep -a -qE "$pat" "$tmp/console.log" ||
			fail "$rel $s: the report reached the console, which this kernel should not do"
	fi
	if [[ $s == "$QEMU_DUMP_SCENARIO" ]]; then
		run_qemu_dump "$rel" "$s" "$tmp"
		grep -a -qE "$pat" "$tmp/qemu.console.log" ||
			fail "$rel $s: the QEMU-dump console lacks the expected line: $pat"
	fi
	cp "$CACHE/.build/vrbug.ko" "$tmp/vrbug.ko"
	write_meta "$rel" "$s" "$tmp"
}

run_scenario() { # REL SCENARIO
	local rel=$1 s=$2 tmp rc t0=$SECONDS
	tmp=$(mktemp -d "$CACHE/.tmp.$s.XXXXXX")
	# set -e must hold inside the body, so it is not run in a || context.
	set +e
	(
		set -e
		scenario_body "$rel" "$s" "$tmp"
	) >"$tmp/rig.log" 2>&1
	rc=$?
	set -e
	if [[ -s $tmp/retries ]]; then
		sed "s|^|rig: $rel $s: the guest died before its scenario ran: |; s|\$|; booted again|" "$tmp/retries" >&2
	fi
	if ((rc != 0)); then
		log "$rel $s: FAILED after $((SECONDS - t0)) s; log: $tmp/rig.log"
		grep -a '^rig: error:' "$tmp/rig.log" >&2 || tail -n 5 "$tmp/rig.log" >&2
		return 1
	fi
	chmod -R u+w,a+rX "$tmp"
	# Replace an older copy (--force) with two renames, not a removal
	# first, so readers never find the scenario missing.
	if [[ -d $CACHE/$s ]]; then
		mv "$CACHE/$s" "$tmp.old"
		mv "$tmp" "$CACHE/$s"
		rm -rf "$tmp.old"
	else
		mv "$tmp" "$CACHE/$s"
	fi
	log "$rel $s: done in $((SECONDS - t0)) s"
}

# Stop every process this rig started (scenario jobs, timeout, QEMU), so an
# interrupted run leaves neither QEMU nor a half-written scenario behind.
kill_tree() { # PID
	local c
	for c in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$c"; done
	kill -TERM "$1" 2>/dev/null || true
}

on_signal() {
	trap - INT TERM
	log "interrupted; stopping QEMU runs"
	for c in $(pgrep -P $$ 2>/dev/null); do kill_tree "$c"; done
	exit 130
}

selected() { # ONLY (comma-separated, empty: all those of the release $rel)
	local s
	for s in $(scenario_names "$rel"); do
		[[ -z $1 || ,$1, == *",$s,"* ]] && echo "$s"
	done
	return 0
}

all_cached() { # ONLY
	local s
	for s in $(selected "$1"); do
		[[ -f $CACHE/$s/meta.json ]] || return 1
	done
	return 0
}

main() {
	local want=6.1 only="" jobs=2 force=0 rel s missing=() failed=0 t0=$SECONDS
	while (($#)); do
		case $1 in
		-k | --kernel)
			want=$2
			shift
			;;
		-s | --scenarios)
			only=$2
			shift
			;;
		-j | --jobs)
			jobs=$2
			shift
			;;
		--force) force=1 ;;
		--resolve)
			resolve_release "${2:-6.1}"
			return 0
			;;
		--list)
			# --list RELEASE: the scenarios that run on that kernel
			scenario_names "${2:-}"
			return 0
			;;
		--expect)
			scenario_field "$2" 3 || fail "unknown scenario '$2'"
			return 0
			;;
		--files)
			rel=$(resolve_release "$2")
			kernel_files "$rel"
			printf 'vmlinuz=%s\nvmlinux=%s\nsystem_map=%s\ndebug_modules=%s\n' "$K_VMLINUZ" "$K_VMLINUX" \
				"$K_SYSTEM_MAP" "$K_DEBUG_MODULES"
			return 0
			;;
		-h | --help)
			awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
			return 0
			;;
		*) fail "unknown argument '$1' (see --help)" ;;
		esac
		shift
	done
	for s in ${only//,/ }; do
		scenario_field "$s" 0 >/dev/null || fail "unknown scenario '$s' (see --list)"
	done
	rel=$(resolve_release "$want")
	CACHE=$RIG_ROOT/$rel-r$RIG_VERSION
	MAKEDUMPFILE=(makedumpfile)
	# Warm path: complete scenario directories are never changed in place,
	# so no lock, package check or root is needed to use them.
	if ((force == 0)) && all_cached "$only"; then
		echo "$CACHE"
		return 0
	fi

	[[ $(id -u) == 0 ]] || fail "the rig needs root (apt-get, $RIG_ROOT)"
	trap on_signal INT TERM
	mkdir -p "$CACHE"
	# One rig per release at a time; others wait and then find the cache.
	exec {lockfd}>"$CACHE/.lock"
	flock "$lockfd"
	rm -rf "$CACHE"/.tmp.* "$CACHE"/.build.tmp.*
	# Rigs of different releases may run at once, but not two apt-gets.
	flock "$RIG_ROOT/.lock-packages" "$SRC_DIR/tests/deps.sh" --rig "$rel" ||
		fail "installing packages for $rel failed"
	kernel_files "$rel"
	if [[ -n $K_ROOT ]]; then
		[[ -f $K_VMLINUZ && -d $K_CHROOT/usr/lib/modules/$rel/build ]] ||
			fail "kernel $rel is not unpacked, or its chroot lacks its headers"
		# The host's makedumpfile predates the kernel: the archive's
		# newest filters it right (Debian 12's 1.7.2 misses pages of
		# kernels from 6.12 on; Debian 13's 1.7.6 excluded no free page
		# of 7.3).
		archive_makedumpfile >/dev/null || fail "no makedumpfile unpacked from the archive"
		MAKEDUMPFILE=("${ARCHIVE_MAKEDUMPFILE[@]}")
	else
		[[ -f $K_VMLINUZ && -d /usr/lib/modules/$rel/build ]] ||
			fail "kernel $rel is not installed"
	fi

	for s in $(selected "$only"); do
		if ((force)) || [[ ! -f $CACHE/$s/meta.json ]]; then
			missing+=("$s")
		fi
	done
	if ((${#missing[@]})); then
		build_common "$rel" "$CACHE"
		log "$rel: running ${missing[*]} ($jobs at a time)"
		for s in "${missing[@]}"; do
			while (($(jobs -rp | wc -l) >= jobs)); do
				wait -n || failed=1
			done
			run_scenario "$rel" "$s" &
		done
		while (($(jobs -rp | wc -l) > 0)); do
			wait -n || failed=1
		done
		wait || failed=1
		log "$rel: finished in $((SECONDS - t0)) s"
	fi
	for s in "${missing[@]}"; do
		[[ -f $CACHE/$s/meta.json ]] || failed=1
	done
	((failed == 0)) || fail "$rel: some scenarios failed (see above)"
	echo "$CACHE"
}

# Sourcing the script (for debugging) defines the functions only.
# The exit keeps bash from reading on in this file after main returns, so
# editing the script while a run is going does not break that run.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
	exit
fi
