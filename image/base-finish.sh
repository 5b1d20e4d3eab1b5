#!/bin/sh
# The last step of the base layer, run by mmdebstrap on the host with the new root as $1:
# locales, then the initramfs generated once (update-initramfs was diverted to /bin/true while
# packages were installed, so no trigger ran it) and copied to the boot partition by raspi-firmware.
set -eu
root=$1

echo "==> locales"
for locale in en_US.UTF-8 en_GB.UTF-8 ko_KR.UTF-8 de_DE.UTF-8 fr_FR.UTF-8 ja_JP.UTF-8; do
	sed -i "s/^# *\($locale .*\)/\1/" "$root/etc/locale.gen"
done
chroot "$root" locale-gen

echo "==> initramfs, once"
rm -f "$root/usr/sbin/update-initramfs"
chroot "$root" dpkg-divert --local --rename --remove /usr/sbin/update-initramfs
# Generating it calls raspi-firmware's post-update hook, which copies it to /boot/firmware.
chroot "$root" update-initramfs -c -k all
for kernel in "$root"/boot/vmlinuz-*; do
	version=${kernel##*/vmlinuz-}
	# The kernel was installed before raspi-firmware's hook existed: copy kernel and DTBs now.
	chroot "$root" /etc/kernel/postinst.d/z50-raspi-firmware "$version" "/boot/vmlinuz-$version"
done
ls -l "$root/boot" "$root/boot/firmware"
