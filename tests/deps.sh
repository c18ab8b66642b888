#!/bin/bash
# Install the Debian packages vmreport needs.
#
#   tests/deps.sh                 build and test dependencies
#   tests/deps.sh --rig [REL...]  also the crash rig's packages, and the
#                                 kernel image, headers and debug symbols of
#                                 each release REL given (default: 5.10,
#                                 6.1, 6.12 and newest: see tests/rig/rig.sh)
#
# Debian 11's 5.10 kernels come from bullseye through an apt configuration
# of the rig's own (sources list and package lists under
# $VR_RIG_CACHE/apt/bullseye; the system's apt setup is left alone), and
# the archive lacks the -dbg packages of the newest ABIs: the newest ABI
# whose three packages install is taken. Kernels of newer Debian releases
# are unpacked under $VR_RIG_CACHE, not installed (tests/rig/archive.sh).
#
# With --rig, package lists older than a day are refreshed first, so that
# "newest" means the archive's newest, not a stale list's. Otherwise
# idempotent and cheap when everything is present: dpkg-query decides what
# is missing, and apt-get (update included) runs only for that.
set -euo pipefail

BUILD_PKGS=(cmake make pkg-config gcc clang libelf-dev libdw-dev zlib1g-dev libdeflate-dev
	libzstd-dev liblzo2-dev libsnappy-dev libyaml-dev libcjson-dev
	libcapstone-dev cmark python3-jsonschema libclang-rt-14-dev jq man-db)
RIG_PKGS=(qemu-system-x86 busybox-static kexec-tools makedumpfile cpio crash
	xz-utils binutils debootstrap procps xxd time)
RIG_ROOT=${VR_RIG_CACHE:-/var/cache/vmreport-rig}

want=("${BUILD_PKGS[@]}")
rig=0
bullseye=0
releases=()
archive=()
while (($#)); do
	case $1 in
	--rig) rig=1 ;;
	-h | --help)
		awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
		exit 0
		;;
	-*)
		echo "deps.sh: unknown option $1" >&2
		exit 1
		;;
	*) releases+=("$1") ;;
	esac
	shift
done
if [[ $(id -u) != 0 ]]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive

# The system's package lists, refreshed when this script last did so more
# than a day ago (apt keeps the server's dates on the files, not the
# check's). The stamp lies with the system's apt state, not in the rig's
# cache, which another system may share.
refresh_lists() {
	local stamp=/var/cache/apt/vmreport-lists.updated
	[[ -f $stamp && -z $(find "$stamp" -mmin +1440) ]] && return 0
	echo "deps.sh: updating the package lists" >&2
	$SUDO apt-get update -qq
	$SUDO touch "$stamp"
}

if ((rig)); then
	want+=("${RIG_PKGS[@]}")
	rigsh=$(dirname "${BASH_SOURCE[0]}")/rig/rig.sh
	((${#releases[@]})) || releases=(5.10 6.1 6.12 newest)
	refresh_lists
	if [[ " ${releases[*]} " == *" newest "* ]]; then
		[[ -z $SUDO ]] || {
			echo "deps.sh: the newest kernel is unpacked under $RIG_ROOT: that needs root" >&2
			exit 1
		}
		# shellcheck source=tests/rig/archive.sh
		source "$(dirname "${BASH_SOURCE[0]}")/rig/archive.sh"
		mkdir -p "$RIG_ROOT"
		archive_lists
	fi
	for rel in "${releases[@]}"; do
		case $rel in
		5.10 | 5.10.*) bullseye=1 ;;
		*)
			rel=$(bash "$rigsh" --resolve "$rel")
			if [[ $(dpkg-query -W -f='${Status}' "linux-headers-$rel" 2>/dev/null) == "install ok installed" ]] ||
				apt-cache show "linux-headers-$rel" >/dev/null 2>&1; then
				want+=("linux-image-$rel" "linux-headers-$rel" "linux-image-$rel-dbg")
			else
				archive+=("$rel")
			fi
			;;
		esac
	done
elif ((${#releases[@]})); then
	echo "deps.sh: kernel releases are only taken with --rig" >&2
	exit 1
fi

# Debian 11's newest 5.10 cloud kernel whose -dbg the archive still has:
# newest first, the first whose -dbg package downloads (a missing one fails
# at once) or is installed already.
install_bullseye_kernel() {
	local dir=$RIG_ROOT/apt/bullseye rel
	$SUDO mkdir -p "$dir/lists/partial"
	# bookworm's entries stay: the headers pull from both releases
	printf '%s\n' \
		'deb http://deb.debian.org/debian bookworm main' \
		'deb http://deb.debian.org/debian bookworm-updates main' \
		'deb http://deb.debian.org/debian-security bookworm-security main' \
		'deb http://deb.debian.org/debian bullseye main' \
		'deb http://deb.debian.org/debian bullseye-updates main' \
		'deb http://deb.debian.org/debian-security bullseye-security main' |
		$SUDO tee "$dir/sources.list" >/dev/null
	local apt=(-o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache")
	$SUDO mkdir -p "$dir/cache/archives/partial"
	if [[ ! -f $dir/lists/.updated || -n $(find "$dir/lists/.updated" -mmin +1440) ]]; then
		echo "deps.sh: updating the package lists of Debian 11" >&2
		$SUDO apt-get "${apt[@]}" update -qq
		$SUDO touch "$dir/lists/.updated"
		$SUDO rm -f "$dir/no-dbg"
	fi
	# The choice stands until the lists change.
	rel=$(cat "$dir/chosen" 2>/dev/null || true)
	if [[ -n $rel && $dir/chosen -nt $dir/lists/.updated &&
		$(dpkg-query -W -f='${Status}' "linux-image-$rel-dbg" 2>/dev/null) == "install ok installed" ]]; then
		return 0
	fi
	for rel in $(apt-cache "${apt[@]}" pkgnames linux-image-5.10.0- |
		grep -E '^linux-image-5\.10\.0-[0-9]+-cloud-amd64$' | sed 's/^linux-image-//' | sort -V -r); do
		if [[ $(dpkg-query -W -f='${Status}' "linux-image-$rel-dbg" 2>/dev/null) == "install ok installed" ]]; then
			echo "$rel" | $SUDO tee "$dir/chosen" >/dev/null
			return 0
		fi
		# Until the next list update, a -dbg that did not download is not
		# tried again.
		grep -qx "$rel" "$dir/no-dbg" 2>/dev/null && continue
		if ! $SUDO apt-get "${apt[@]}" install -d -y -qq --no-install-recommends "linux-image-$rel-dbg" \
			>/dev/null 2>&1; then
			echo "deps.sh: Debian 11's kernel $rel: its -dbg package does not download" >&2
			echo "$rel" | $SUDO tee -a "$dir/no-dbg" >/dev/null
			continue
		fi
		echo "deps.sh: installing Debian 11's kernel $rel" >&2
		$SUDO apt-get "${apt[@]}" install -y -qq --no-install-recommends "linux-image-$rel" \
			"linux-headers-$rel" "linux-image-$rel-dbg" >&2
		$SUDO rm -f "$dir"/cache/archives/*.deb
		echo "$rel" | $SUDO tee "$dir/chosen" >/dev/null
		return 0
	done
	echo "deps.sh: no Debian 11 5.10 cloud kernel with its -dbg package installs" >&2
	return 1
}
((bullseye == 0)) || install_bullseye_kernel

# A package counts as present only when dpkg says "install ok installed".
missing=()
for p in "${want[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ $st == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "deps.sh: installing ${missing[*]}" >&2
	# Update the package lists only when a package is not known to apt yet.
	need_update=0
	for p in "${missing[@]}"; do
		apt-cache show "$p" >/dev/null 2>&1 || need_update=1
	done
	((need_update == 0)) || $SUDO apt-get update -qq
	if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
		# Stale package lists name files the mirror no longer has.
		((need_update == 0)) || exit 1
		$SUDO apt-get update -qq
		$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
	fi
fi

# Kernels of newer Debian releases: unpacked, with a chroot to build in.
if ((${#archive[@]})); then
	[[ -z $SUDO ]] || {
		echo "deps.sh: unpacking ${archive[*]} needs root" >&2
		exit 1
	}
	# shellcheck source=tests/rig/archive.sh
	source "$(dirname "${BASH_SOURCE[0]}")/rig/archive.sh"
	for rel in "${archive[@]}"; do
		archive_install "$rel"
	done
fi
