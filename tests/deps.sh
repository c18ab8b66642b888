#!/bin/bash
# Install the Debian packages vmreport needs.
#
#   tests/deps.sh                 build and test dependencies
#   tests/deps.sh --rig [REL...]  also the crash rig's packages, and the
#                                 kernel image, headers and debug symbols of
#                                 each release REL given (default: the
#                                 newest 6.1 and 6.12 cloud kernels)
#
# Idempotent and cheap when everything is present: dpkg-query decides what
# is missing, and apt-get (update included) runs only for that.
set -euo pipefail

BUILD_PKGS=(cmake make pkg-config gcc clang libelf-dev libdw-dev zlib1g-dev
	libzstd-dev liblzo2-dev libsnappy-dev libyaml-dev libcjson-dev
	libcapstone-dev cmark python3-jsonschema libclang-rt-14-dev)
RIG_PKGS=(qemu-system-x86 busybox-static kexec-tools makedumpfile cpio crash
	xz-utils binutils)

want=("${BUILD_PKGS[@]}")
rig=0
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
	if ((${#releases[@]} == 0)); then
		rig=$(dirname "${BASH_SOURCE[0]}")/rig/rig.sh
		releases=("$(bash "$rig" --resolve 6.1)" "$(bash "$rig" --resolve 6.12)")
	fi
	for rel in "${releases[@]}"; do
		want+=("linux-image-$rel" "linux-headers-$rel" "linux-image-$rel-dbg")
	done
elif ((${#releases[@]})); then
	echo "deps.sh: kernel releases are only taken with --rig" >&2
	exit 1
fi

# A package counts as present only when dpkg says "install ok installed".
missing=()
for p in "${want[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ $st == "install ok installed" ]] || missing+=("$p")
done
((${#missing[@]})) || exit 0

echo "deps.sh: installing ${missing[*]}" >&2
if [[ $(id -u) != 0 ]]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
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
