#!/bin/bash
# Builds (once) the Debian 12 amd64 root file system, kernel and initrd of the hardware-test VM and
# prints the directory that holds them. The image is cached under the key of this script, the package
# list and the guest's first init, so an unchanged setup costs nothing on the next run.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache_root=${PICLIENT_HW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/piclient/hw-vm}
key=$(cat "$here/build_image.sh" "$here/guest_packages.txt" "$here/vm_stub_init.sh" | sha256sum | cut -c1-16)
out=$cache_root/$key

if [ -f "$out/ready" ]; then
    echo "$out"
    exit 0
fi

for tool in mmdebstrap mkfs.ext4; do
    command -v "$tool" >/dev/null || { echo "hw-test needs $tool (Debian: mmdebstrap, e2fsprogs)" >&2; exit 2; }
done

mkdir -p "$cache_root"
work=$(mktemp -d "$cache_root/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
packages=$(grep -v '^\s*#' "$here/guest_packages.txt" | grep -v '^\s*$' | paste -sd, -)

echo "building the hardware-test VM image in $out (a few minutes, once)" >&2
# Docs, man pages and translations are left out: the image only runs tests. The initrd only has to
# find the virtio disk and mount ext4 (the guest's init loads the rest): with Debian's MODULES=most
# it is 35 MB, which QEMU's firmware loads and the kernel unpacks slowly under software emulation.
mmdebstrap --variant=apt --include="$packages" \
    --setup-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d"' \
    --setup-hook='echo MODULES=list > "$1/etc/initramfs-tools/conf.d/hw-test.conf"' \
    --setup-hook='printf "virtio_pci\nvirtio_blk\next4\ncrc32c_generic\n" > "$1/usr/share/initramfs-tools/modules.d/hw-test"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --aptopt='Apt::Install-Recommends "false"' \
    --customize-hook="install -m 0755 '$here/vm_stub_init.sh' \"\$1/sbin/hw-init\"" \
    --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' \
    bookworm "$work/root" >&2

cp "$work"/root/boot/vmlinuz-* "$work/vmlinuz"
cp "$work"/root/boot/initrd.img-* "$work/initrd.img"
size_mb=$(( $(du -sm "$work/root" | cut -f1) * 13 / 10 + 256 ))
mkfs.ext4 -q -F -L hwroot -d "$work/root" "$work/rootfs.ext4" "${size_mb}M" >&2
rm -rf "$work/root"
touch "$work/ready"
rm -rf "$out"
mv "$work" "$out"
trap - EXIT
echo "$out"
