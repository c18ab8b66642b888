# shellcheck shell=bash
# Kernels newer than the host's Debian, for the crash rig: the newest cloud
# kernel in Debian's archive (Debian 13, its backports, sid), unpacked
# rather than installed, and a chroot of that kernel's Debian release to
# build modules in (its headers need that release's compiler and libc).
# Sourced by tests/deps.sh and tests/rig/rig.sh; RIG_ROOT must be set.
#
#   archive_lists [--refresh]  update the rig's own package lists of those
#                              releases when older than a day (or now)
#   archive_newest             the newest cloud kernel release whose -dbg
#                              package the archive lists
#   archive_is_unpacked REL    whether REL is one of these kernels
#   archive_root REL           the directory REL is unpacked in
#   archive_chroot REL         the chroot that builds REL's modules
#   archive_install REL        unpack REL and make its chroot (cached)
#   archive_makedumpfile       the command line of the archive's newest
#                              makedumpfile (run through the chroot's libc)
#
# Everything lives under $RIG_ROOT: apt/archive (sources list, package
# lists, downloads), kernels/REL/root (the unpacked kernel: boot image,
# modules, -dbg vmlinux), chroot/RELEASE (debootstrap minbase plus make,
# the kernel headers and makedumpfile's libraries) and tools/ (the
# unpacked makedumpfile). Each is built under a temporary name and renamed
# when complete.

ARCHIVE_MIRROR=${VR_RIG_MIRROR:-http://deb.debian.org/debian}
ARCHIVE_SUITES=(trixie trixie-backports sid)
ARCHIVE_DIR=$RIG_ROOT/apt/archive
# Refresh the lists when they are older than this (minutes).
ARCHIVE_LIST_AGE=1440

archive_log() { printf 'rig: %s\n' "$*" >&2; }

archive_apt_opts() {
	printf '%s\n' -o "Dir::Etc::SourceList=$ARCHIVE_DIR/sources.list" -o Dir::Etc::SourceParts=/dev/null \
		-o "Dir::State::Lists=$ARCHIVE_DIR/lists" -o "Dir::Cache=$ARCHIVE_DIR/cache" \
		-o APT::Sandbox::User=root
}

archive_apt_get() {
	local opts
	mapfile -t opts < <(archive_apt_opts)
	apt-get "${opts[@]}" "$@"
}

archive_apt_cache() {
	local opts
	mapfile -t opts < <(archive_apt_opts)
	apt-cache "${opts[@]}" "$@"
}

archive_lists() {
	local stamp=$ARCHIVE_DIR/lists/.updated s
	if [[ ${1:-} != --refresh && -f $stamp && -z $(find "$stamp" -mmin +"$ARCHIVE_LIST_AGE") ]]; then
		return 0
	fi
	mkdir -p "$ARCHIVE_DIR/lists/partial" "$ARCHIVE_DIR/cache/archives/partial"
	for s in "${ARCHIVE_SUITES[@]}"; do
		echo "deb $ARCHIVE_MIRROR $s main"
	done >"$ARCHIVE_DIR/sources.list"
	archive_log "updating the package lists of ${ARCHIVE_SUITES[*]}"
	archive_apt_get update -qq >&2 || return 1
	touch "$stamp"
}

# apt-cache takes seconds over these lists: its answers are kept in
# ARCHIVE_DIR/memo.NAME until the lists change.
archive_memo() { # NAME COMMAND...
	local memo=$ARCHIVE_DIR/memo.$1 out
	shift
	if [[ -s $memo && $memo -nt $ARCHIVE_DIR/lists/.updated ]]; then
		cat "$memo"
		return 0
	fi
	out=$("$@") || return 1
	[[ -n $out ]] || return 1
	echo "$out"
	{ echo "$out" >"$memo.$$" && mv "$memo.$$" "$memo"; } 2>/dev/null || rm -f "$memo.$$"
}

archive_newest() {
	archive_memo newest archive_find_newest
}

archive_find_newest() {
	archive_apt_cache pkgnames linux-image- 2>/dev/null |
		grep -E '^linux-image-[0-9]+\.[0-9]+(\.[0-9]+)?\+deb[0-9]+-cloud-amd64-dbg$' |
		sed 's/^linux-image-//; s/-dbg$//' | sort -V | tail -n 1
}

archive_is_unpacked() {
	[[ -d $RIG_ROOT/kernels/$1/root ]]
}

archive_root() {
	echo "$RIG_ROOT/kernels/$1/root"
}

# The suite that carries REL's headers (trixie-backports, sid...), and the
# Debian release whose chroot builds for it (trixie, sid...).
archive_suite() {
	archive_apt_cache madison "linux-headers-$1" 2>/dev/null |
		awk -F'|' 'NR == 1 { split($3, a, " "); sub(/\/.*/, "", a[2]); print a[2] }'
}

archive_chroot() {
	local suite
	suite=$(cat "$RIG_ROOT/kernels/$1/suite" 2>/dev/null) || return 1
	echo "$RIG_ROOT/chroot/${suite%%-*}"
}

# A minimal chroot of RELEASE with make: debootstrap's minbase variant.
archive_make_chroot() { # RELEASE
	local c=$RIG_ROOT/chroot/$1
	[[ -f $c/.complete ]] && return 0
	command -v debootstrap >/dev/null || {
		archive_log "debootstrap is not installed (tests/deps.sh --rig installs it)"
		return 1
	}
	archive_log "making a $1 chroot in $c"
	rm -rf "$c.tmp"
	mkdir -p "$RIG_ROOT/chroot"
	debootstrap --variant=minbase --include=make,binutils "$1" "$c.tmp" "$ARCHIVE_MIRROR" >"$RIG_ROOT/chroot/$1.log" 2>&1 || {
		archive_log "debootstrap $1 failed; see $RIG_ROOT/chroot/$1.log"
		return 1
	}
	touch "$c.tmp/.complete"
	mv "$c.tmp" "$c"
}

# apt-get inside the chroot, with the host's name servers.
archive_chroot_apt() { # CHROOT ARGS...
	local c=$1
	shift
	cp /etc/resolv.conf "$c/etc/resolv.conf"
	DEBIAN_FRONTEND=noninteractive chroot "$c" apt-get -q -o APT::Install-Recommends=false "$@"
}

archive_download() { # DIR PACKAGE...
	local dir=$1
	shift
	mkdir -p "$dir"
	(cd "$dir" && archive_apt_get download -qq "$@" >&2)
}

archive_install() { # REL
	local rel=$1 kdir=$RIG_ROOT/kernels/$1 suite base c tmp deb
	if [[ ! -f $kdir/.complete ]]; then
		archive_lists || return 1
		suite=$(archive_suite "$rel")
		[[ -n $suite ]] || {
			archive_log "the archive lists no headers for $rel"
			return 1
		}
		archive_log "$rel: downloading its packages from $suite"
		rm -rf "$kdir"
		mkdir -p "$kdir"
		tmp=$kdir/root.tmp
		# The image package is a metapackage: the boot image, modules,
		# config and System.map come in three others.
		archive_download "$kdir/debs" "linux-binary-$rel" "linux-modules-$rel" "linux-base-$rel" \
			"linux-image-$rel-dbg" || return 1
		for deb in "$kdir"/debs/*.deb; do
			dpkg -x "$deb" "$tmp" || return 1
		done
		# modinfo and depmod look in lib/modules under their base.
		[[ -e $tmp/lib ]] || ln -s usr/lib "$tmp/lib"
		depmod -b "$tmp" "$rel" || return 1
		[[ -f $tmp/usr/lib/modules/$rel/vmlinuz && -f $tmp/usr/lib/debug/lib/modules/$rel/vmlinux ]] || {
			archive_log "$rel: the packages hold no vmlinuz or no -dbg vmlinux where expected"
			return 1
		}
		rm -rf "$kdir/debs"
		echo "$suite" >"$kdir/suite"
		mv "$tmp" "$kdir/root"
		touch "$kdir/.complete"
	fi
	suite=$(cat "$kdir/suite")
	base=${suite%%-*}
	archive_make_chroot "$base" || return 1
	c=$RIG_ROOT/chroot/$base
	if [[ ! -d $c/usr/lib/modules/$rel/build ]]; then
		archive_log "$rel: installing its headers in the $base chroot"
		if [[ $suite != "$base" ]]; then
			echo "deb $ARCHIVE_MIRROR $suite main" >"$c/etc/apt/sources.list.d/$suite.list"
		fi
		{ archive_chroot_apt "$c" update -qq && archive_chroot_apt "$c" install -y -qq "linux-headers-$rel"; } \
			>"$kdir/headers.log" 2>&1 || {
			archive_log "$rel: installing its headers failed; see $kdir/headers.log"
			return 1
		}
	fi
	archive_install_makedumpfile "$c"
}

# The newest makedumpfile in the archive, unpacked under tools/, with the
# libraries it needs installed in the chroot that runs it.
archive_install_makedumpfile() { # CHROOT
	local c=$1 ver dir deps
	ver=$(archive_memo makedumpfile-version archive_makedumpfile_version)
	[[ -n $ver && $ver != "(none)" ]] || {
		archive_log "the archive lists no makedumpfile"
		return 1
	}
	dir=$RIG_ROOT/tools/makedumpfile-${ver#*:}
	if [[ ! -f $dir/.complete ]]; then
		rm -rf "$dir" "$dir.tmp"
		archive_download "$dir.debs" "makedumpfile=$ver" || return 1
		dpkg -x "$dir".debs/makedumpfile_*.deb "$dir.tmp" || return 1
		rm -rf "$dir.debs"
		touch "$dir.tmp/.complete"
		mv "$dir.tmp" "$dir"
	fi
	[[ -f $dir/libs-in-${c##*/} ]] && [[ $(cat "$dir/chroot") == "$c" ]] && return 0
	echo "$c" >"$dir/chroot"
	# Its shared libraries (Depends: without perl, which only a helper
	# script uses), from the chroot's release.
	deps=$(archive_apt_cache show "makedumpfile=$ver" | awk -F': ' '$1 == "Depends" { print $2; exit }' |
		tr ',' '\n' | sed 's/(.*)//; s/|.*//; s/:any//; s/ //g' | grep -v '^perl$' | grep .)
	# shellcheck disable=SC2086 # one package a word
	if ! chroot "$c" dpkg-query -W $deps >/dev/null 2>&1; then
		archive_chroot_apt "$c" install -y -qq $deps >"$dir.libs.log" 2>&1 || {
			archive_log "installing makedumpfile's libraries in $c failed; see $dir.libs.log"
			return 1
		}
	fi
	archive_makedumpfile >/dev/null && "${ARCHIVE_MAKEDUMPFILE[@]}" -v >/dev/null 2>&1 || {
		archive_log "makedumpfile $ver does not run with the libraries of $c"
		return 1
	}
	touch "$dir/libs-in-${c##*/}"
}

archive_makedumpfile_version() {
	archive_apt_cache policy makedumpfile 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }'
}

# Sets ARCHIVE_MAKEDUMPFILE to the command running the newest unpacked
# makedumpfile through its chroot's dynamic loader, and prints its version.
archive_makedumpfile() {
	local dir c bin
	dir=$(find "$RIG_ROOT/tools" -maxdepth 1 -name 'makedumpfile-*' -type d 2>/dev/null | sort -V | tail -n 1)
	[[ -n $dir && -f $dir/.complete && -f $dir/chroot ]] || return 1
	c=$(cat "$dir/chroot")
	# /usr/sbin before 1.7.7, /usr/bin since
	bin=$(find "$dir/usr" -path '*bin/makedumpfile' -type f | head -n 1)
	[[ -n $bin ]] || return 1
	ARCHIVE_MAKEDUMPFILE=("$c/lib64/ld-linux-x86-64.so.2" --library-path
		"$c/lib/x86_64-linux-gnu:$c/usr/lib/x86_64-linux-gnu" "$bin")
	echo "${dir##*/makedumpfile-}"
}
