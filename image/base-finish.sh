#!/bin/sh
# The last step of the base layer, run by mmdebstrap on the host with the new root as $1: the locales.
# update-initramfs stays diverted to /bin/true here (no package trigger runs it under qemu-user); the
# boot layer (image/assemble.sh) generates the initramfs once, from image/boot/.
set -eu
root=$1

echo "==> locales"
for locale in en_US.UTF-8 en_GB.UTF-8 ko_KR.UTF-8 de_DE.UTF-8 fr_FR.UTF-8 ja_JP.UTF-8; do
	sed -i "s/^# *\($locale .*\)/\1/" "$root/etc/locale.gen"
done
chroot "$root" locale-gen
