#!/bin/bash
# Builds the piclient SD card image for a Raspberry Pi (arm64): `make image`.
#
#   image/build.sh [all|base|image]
#
# Two layers, so a rebuild redoes only what changed:
#   base   Debian packages (image/packages.txt) installed by mmdebstrap under qemu-user, with the
#          initramfs generated once at the end instead of on every package trigger. Cached as a folder
#          named after a hash of everything that goes into it.
#   image  the base unpacked, piclient's venv from aarch64 wheels (cached), the files of image/rootfs
#          and systemd/, the units enabled; then a FAT boot partition, a root and a data partition
#          put together without loop devices or mounts (mkfs.ext4 -d, mtools).
# Output in $OUT: piclient-<version>-arm64.img.xz, its .sha256 and .bmap.
#
# Settings (environment):
#   PICLIENT_IMAGE_BASE=debian|raspios  raspios takes Raspberry Pi OS's archive as well (Pi 5,
#                                       hardware video decoding); untested where that archive is unreachable
#   DEBIAN_MIRROR, RASPIOS_MIRROR       archive URLs
#   OUT, CACHE                          output and cache folders (build/image, build/cache)
#   XZ_LEVEL                            compression level of the image (default 6)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
OUT=${OUT:-$REPO/build/image}
CACHE=${CACHE:-$REPO/build/cache}
BASE_KIND=${PICLIENT_IMAGE_BASE:-debian}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY=${DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
RASPIOS_MIRROR=${RASPIOS_MIRROR:-http://archive.raspberrypi.com/debian}
SUITE=bookworm
XZ_LEVEL=${XZ_LEVEL:-6}
HOST_PY=${HOST_PY:-$REPO/.venv/bin/python}
[ -x "$HOST_PY" ] || HOST_PY=python3

# Partition sizes in MiB. The data partition starts small and fills the card on first boot.
BOOT_MIB=256
DATA_MIB=64

START=$(date +%s)
step() { printf '\n==> [%4ss] %s\n' "$(( $(date +%s) - START ))" "$*"; }
die() { echo "image/build.sh: $*" >&2; exit 1; }

need_tools() {
	local missing=""
	for tool in mmdebstrap mkfs.vfat mcopy mkfs.ext4 sfdisk bmaptool xz sha256sum; do
		command -v "$tool" >/dev/null || missing="$missing $tool"
	done
	[ -z "$missing" ] || die "missing tools:$missing (Debian: mmdebstrap dosfstools mtools e2fsprogs fdisk bmap-tools xz-utils)"
	[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap's root mode and the image's file owners need it)"
	if [ "$(dpkg --print-architecture)" != arm64 ] && ! arch-test arm64 >/dev/null 2>&1; then
		# qemu-user-static registers itself with binfmt_misc; a container may not have it mounted yet.
		mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || true
		update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
		arch-test arm64 >/dev/null 2>&1 || die "this machine cannot run arm64 programs: install qemu-user-static and binfmt-support"
	fi
}

packages_of() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' -e 's/[[:space:]]//g' "$@"; }

package_list() {
	if [ "$BASE_KIND" = raspios ]; then
		packages_of "$HERE/packages.txt" | grep -vxF -f <(packages_of "$HERE/raspios/replaces.txt")
		packages_of "$HERE/raspios/packages.txt"
	else
		packages_of "$HERE/packages.txt"
	fi | tr '\n' ',' | sed 's/,$//'
}

sources() {
	echo "deb $DEBIAN_MIRROR $SUITE main non-free-firmware"
	echo "deb $DEBIAN_MIRROR $SUITE-updates main non-free-firmware"
	echo "deb $DEBIAN_SECURITY $SUITE-security main non-free-firmware"
	if [ "$BASE_KIND" = raspios ]; then
		echo "deb [signed-by=/usr/share/keyrings/raspberrypi-archive-keyring.gpg] $RASPIOS_MIRROR $SUITE main"
	fi
}

base_hash() {
	{ echo "$BASE_KIND $SUITE"; sources; package_list; echo; sed -n '/^build_base()/,/^}/p' "$0"; cat "$HERE/base-finish.sh"
	  (cd "$HERE/base" && find . -type f -print0 | sort -z | xargs -0 sha256sum); } | sha256sum | cut -c1-16
}

build_base() {
	local dir=$1 extra=() mirrors
	mapfile -t mirrors < <(sources)
	mkdir -p "$CACHE/debs"
	if [ "$BASE_KIND" = raspios ]; then
		# Raspberry Pi's kernel and firmware packages replace Debian's; its keyring must be given.
		[ -f "$HERE/raspios/raspberrypi-archive-keyring.gpg" ] ||
			die "PICLIENT_IMAGE_BASE=raspios needs image/raspios/raspberrypi-archive-keyring.gpg (see image/raspios/README.md)"
		extra+=(--keyring="$HERE/raspios/raspberrypi-archive-keyring.gpg"
			--setup-hook="mkdir -p \"\$1/usr/share/keyrings\" && cp '$HERE/raspios/raspberrypi-archive-keyring.gpg' \"\$1/usr/share/keyrings/\"")
	fi
	# The .deb cache survives between builds; mmdebstrap then downloads only what is new.
	# The hooks in single quotes are for mmdebstrap's shell, where $1 is the new root. image/base/ holds
	# conffiles of raspi-firmware put in place before it installs: force-confold keeps them (without it
	# dpkg stops to ask). eatmydata spares dpkg's fsyncs: a half-built base is thrown away anyway.
	# shellcheck disable=SC2016
	mmdebstrap --mode=root --variant=minbase --architectures=arm64 \
		--include="$(package_list)" \
		--aptopt='Acquire::Retries "3"' \
		--dpkgopt=force-confdef --dpkgopt=force-confold \
		--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata \
		--skip=download/empty --skip=essential/unlink \
		--setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
		--setup-hook="sync-in '$CACHE/debs' /var/cache/apt/archives/" \
		--setup-hook="cp -a '$HERE/base/.' \"\$1/\"" \
		--essential-hook='chroot "$1" dpkg-divert --local --rename --add /usr/sbin/update-initramfs && ln -sf /bin/true "$1/usr/sbin/update-initramfs"' \
		"${extra[@]}" \
		--customize-hook="sync-out /var/cache/apt/archives '$CACHE/debs'" \
		--customize-hook="'$HERE/base-finish.sh' \"\$1\"" \
		"$SUITE" "$dir.partial" "${mirrors[@]}"
	mv "$dir.partial" "$dir"
}

base_layer() {
	local hash dir
	hash=$(base_hash)
	dir="$CACHE/base-$BASE_KIND-$hash"
	if [ -d "$dir" ]; then
		step "base layer: cached ($dir)"
	else
		step "base layer: Debian packages under qemu-user (slow: 20-60 min the first time)"
		mkdir -p "$CACHE"
		rm -rf "$dir.partial"
		build_base "$dir"
		# Only the newest base layer of each kind is kept.
		find "$CACHE" -maxdepth 1 -name "base-$BASE_KIND-*" ! -name "${dir##*/}" -exec rm -rf {} +
	fi
	BASE_DIR=$dir
}

case "${1:-all}" in
	base) need_tools; base_layer ;;
	all|image)
		need_tools
		base_layer
		# shellcheck source=image/assemble.sh
		. "$HERE/assemble.sh"
		assemble ;;
	*) die "usage: image/build.sh [all|base|image]" ;;
esac
step "done"
