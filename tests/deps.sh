#!/bin/bash
# Install the Debian packages vmreport needs.
#
#   tests/deps.sh                 build and test dependencies
#   tests/deps.sh --rig [REL...]  also the crash rig's packages, and the
#                                 kernel image, headers and debug symbols of
#                                 each release REL given (default: the
#                                 newest 5.10, 6.1 and 6.12 cloud kernels)
#
# Debian 11's 5.10 kernels come from bullseye through an apt configuration
# of the rig's own (sources list and package lists under
# $VR_RIG_CACHE/apt/bullseye; the system's apt setup is left alone), and
# the archive lacks the -dbg packages of the newest ABIs: the newest ABI
# whose three packages install is taken.
#
# Idempotent and cheap when everything is present: dpkg-query decides what
# is missing, and apt-get (update included) runs only for that.
set -euo pipefail

BUILD_PKGS=(cmake make pkg-config gcc clang libelf-dev libdw-dev zlib1g-dev libdeflate-dev
	libzstd-dev liblzo2-dev libsnappy-dev libyaml-dev libcjson-dev
	libcapstone-dev cmark python3-jsonschema libclang-rt-14-dev)
RIG_PKGS=(qemu-system-x86 busybox-static kexec-tools makedumpfile cpio crash
	xz-utils binutils)

want=("${BUILD_PKGS[@]}")
rig=0
bullseye=0
releases=()
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
if ((rig)); then
	want+=("${RIG_PKGS[@]}")
	rigsh=$(dirname "${BASH_SOURCE[0]}")/rig/rig.sh
	((${#releases[@]})) || releases=(5.10 6.1 6.12)
	for rel in "${releases[@]}"; do
		case $rel in
		5.10 | 5.10.*) bullseye=1 ;;
		*)
			rel=$(bash "$rigsh" --resolve "$rel")
			want+=("linux-image-$rel" "linux-headers-$rel" "linux-image-$rel-dbg")
			;;
		esac
	done
elif ((${#releases[@]})); then
	echo "deps.sh: kernel releases are only taken with --rig" >&2
	exit 1
fi

if [[ $(id -u) != 0 ]]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive

# Debian 11's newest 5.10 cloud kernel whose -dbg the archive still has.
install_bullseye_kernel() {
	local dir=${VR_RIG_CACHE:-/var/cache/vmreport-rig}/apt/bullseye rel
	if dpkg-query -W -f='${Status}\n' 'linux-image-5.10.0-*-cloud-amd64-dbg' 2>/dev/null |
		grep -q 'install ok installed'; then
		return 0
	fi
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
		-o "Dir::State::Lists=$dir/lists")
	$SUDO apt-get "${apt[@]}" update -qq
	for rel in $(apt-cache "${apt[@]}" pkgnames linux-image-5.10.0- |
		grep -E '^linux-image-5\.10\.0-[0-9]+-cloud-amd64$' | sed 's/^linux-image-//' | sort -V -r); do
		echo "deps.sh: trying Debian 11's kernel $rel" >&2
		if $SUDO apt-get "${apt[@]}" install -y -qq --no-install-recommends "linux-image-$rel" \
			"linux-headers-$rel" "linux-image-$rel-dbg" >&2; then
			return 0
		fi
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
((${#missing[@]})) || exit 0

echo "deps.sh: installing ${missing[*]}" >&2
# Update the package lists only when a package is not known to apt yet.
need_update=0
for p in "${missing[@]}"; do
	apt-cache show "$p" >/dev/null 2>&1 || need_update=1
done
((need_update == 0)) || $SUDO apt-get update -qq
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
	# Stale package lists name files the mirror no longer has.
	((need_update == 1)) || {
		$SUDO apt-get update -qq
		$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
	}
fi
