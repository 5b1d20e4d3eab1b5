# Sourced by image/build.sh: the image layer on top of the cached base ($BASE_DIR).
# shellcheck shell=bash

PY_TAG=311  # bookworm's python3.11: the wheels must match it
WHEEL_PLATFORMS=(manylinux2014_aarch64 manylinux_2_17_aarch64 manylinux_2_28_aarch64 manylinux_2_34_aarch64
	linux_aarch64)
INSTALL_DIR=/opt/piclient
ENABLED_UNITS=(piclient-boot-config.service piclient-grow-data.service piclient-tv.service
	piclient-agent.service piclient-journal.socket systemd-networkd.service systemd-resolved.service
	systemd-timesyncd.service ssh.service piclient-update-recover.service piclient-update.path)

project_version() {
	sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/pyproject.toml" | head -1
}

# aarch64 wheels of piclient's dependencies, downloaded on this machine (no compiler under qemu) and
# kept between builds; the set is named after the pins that decide it.
wheels() {
	local dir pins platform_args=()
	pins=$(cat "$REPO/constraints.txt" "$REPO/pyproject.toml" | sha256sum | cut -c1-16)
	dir="$CACHE/wheels-aarch64-$pins"
	for platform in "${WHEEL_PLATFORMS[@]}"; do platform_args+=(--platform "$platform"); done
	rm -rf "$OUT/wheels" && mkdir -p "$OUT/wheels"
	"$HOST_PY" -m pip wheel --quiet --no-deps --wheel-dir "$OUT/wheels" "$REPO"
	if [ ! -f "$dir/.complete" ]; then
		mkdir -p "$dir"
		# systemd-python has no wheels: the image has Debian's python3-systemd instead (system site packages).
		"$HOST_PY" -m pip download --quiet --dest "$dir" --only-binary=:all: "${platform_args[@]}" \
			--python-version "$PY_TAG" --implementation cp --abi "cp$PY_TAG" --abi abi3 --abi none \
			-c "$REPO/constraints.txt" "$OUT"/wheels/piclient-*.whl
		touch "$dir/.complete"
	fi
	cp "$dir"/*.whl "$OUT/wheels/"
	echo "$(find "$OUT/wheels" -name '*.whl' | wc -l) wheels, $(du -sh "$OUT/wheels" | cut -f1)"
}

# A clean environment: the build machine's PIP_*, LANG or PYTHON* settings must not shape the image.
in_root() { chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

# pip and useradd want /dev/null and /proc; unmounted again before the file systems are made.
mount_api() {
	mount -t proc proc "$ROOTFS/proc"
	mount --bind /dev "$ROOTFS/dev"
	trap umount_api EXIT
}

umount_api() {
	umount "$ROOTFS/dev" 2>/dev/null || true
	umount "$ROOTFS/proc" 2>/dev/null || true
	trap - EXIT
}

install_piclient() {
	mkdir -p "$ROOTFS/tmp/wheels"
	cp "$OUT"/wheels/*.whl "$ROOTFS/tmp/wheels/"
	in_root python3 -m venv --system-site-packages "$INSTALL_DIR"
	# Compiled now: the root is read-only on the box, and compiling at every start costs seconds on a Pi.
	in_root "$INSTALL_DIR/bin/pip" install --quiet --no-index --find-links /tmp/wheels --compile piclient
	rm -rf "$ROOTFS/tmp/wheels" "$ROOTFS/root/.cache"
	in_root "$INSTALL_DIR/bin/python" -c 'import pygame, piclient, systemd.daemon, cec; print("pygame", pygame.version.ver, "SDL", pygame.get_sdl_version())'
}

add_user() {
	local group
	for group in video render input audio; do
		in_root sh -c "getent group $group >/dev/null || groupadd --system $group"
	done
	in_root useradd --home-dir /var/lib/piclient/home --no-create-home --shell /bin/bash \
		--groups video,render,input,audio piclient
}

install_files() {
	cp -a "$HERE/rootfs/." "$ROOTFS/"
	install -m 0644 "$REPO"/systemd/*.service "$REPO"/systemd/*.socket "$REPO"/systemd/*.path \
		"$ROOTFS/etc/systemd/system/"
	# The launcher and the agent start the version the updater chose (docs/updates.md).
	for dropin in "$REPO"/systemd/*.service.d; do
		install -d "$ROOTFS/etc/systemd/system/$(basename "$dropin")"
		install -m 0644 "$dropin"/*.conf "$ROOTFS/etc/systemd/system/$(basename "$dropin")/"
	done
	install -d "$ROOTFS/usr/libexec/piclient"
	install -m 0755 "$REPO"/systemd/libexec/* "$ROOTFS/usr/libexec/piclient/"
	install -D -m 0644 "$REPO/systemd/49-piclient.rules" "$ROOTFS/etc/polkit-1/rules.d/49-piclient.rules"
	install -D -m 0644 "$REPO/systemd/piclient.tmpfiles" "$ROOTFS/usr/lib/tmpfiles.d/piclient.conf"
	install -m 0644 "$REPO/README.md" "$ROOTFS$INSTALL_DIR/README.md"
	# The server is the maintainer's, not the box's.
	rm "$ROOTFS/etc/systemd/system/piclient-server.service"
	# Every card gets its own SSH host key on first use (ssh.service.d/piclient.conf).
	rm -f "$ROOTFS"/etc/ssh/ssh_host_*
	# One machine id for every card: journald needs a stable one to find the last boot's logs on /data
	# (DHCP asks by MAC address instead, /etc/systemd/network).
	in_root sh -c 'rm -f /etc/machine-id && systemd-machine-id-setup --print >/dev/null'
	systemctl --root="$ROOTFS" enable "${ENABLED_UNITS[@]}" >/dev/null
	# Wi-Fi only when the chip is there (a Pi 3 or 4, not QEMU).
	install -d "$ROOTFS/etc/systemd/system/sys-subsystem-net-devices-wlan0.device.wants"
	ln -sf /lib/systemd/system/wpa_supplicant@.service \
		"$ROOTFS/etc/systemd/system/sys-subsystem-net-devices-wlan0.device.wants/wpa_supplicant@wlan0.service"
	ln -sf /run/systemd/resolve/stub-resolv.conf "$ROOTFS/etc/resolv.conf"
	# The launcher owns tty1; a login prompt there would be all she sees if it stopped.
	systemctl --root="$ROOTFS" mask getty@tty1.service >/dev/null
}

# The boot layer: the initramfs generated once from image/boot/ (its module list), then raspi-firmware's
# hooks put kernel, initramfs, device trees, config.txt and cmdline.txt in /boot/firmware. It is the
# slowest step after the packages (every module is an emulated modprobe and modinfo), so /boot is kept
# as a tar named after the base layer and image/boot/.
boot_files() {
	local hash cached kernel version
	cp -a "$HERE/boot/." "$ROOTFS/"
	hash=$({ basename "$BASE_DIR"; (cd "$HERE/boot" && find . -type f -print0 | sort -z | xargs -0 sha256sum); } |
		sha256sum | cut -c1-16)
	cached="$CACHE/boot-$hash.tar"
	rm -f "$ROOTFS/usr/sbin/update-initramfs"
	in_root dpkg-divert --local --rename --remove /usr/sbin/update-initramfs
	if [ -f "$cached" ]; then
		echo "cached ($cached)"
		tar -C "$ROOTFS" -xf "$cached"
		return
	fi
	in_root update-initramfs -c -k all
	for kernel in "$ROOTFS"/boot/vmlinuz-*; do
		version=${kernel##*/vmlinuz-}
		# The kernel was installed before raspi-firmware's hook existed: copy kernel and DTBs now.
		in_root /etc/kernel/postinst.d/z50-raspi-firmware "$version" "/boot/vmlinuz-$version"
	done
	ls -l "$ROOTFS/boot" "$ROOTFS/boot/firmware"
	tar -C "$ROOTFS" -cf "$cached.partial" boot
	mv "$cached.partial" "$cached"
	find "$CACHE" -maxdepth 1 -name 'boot-*.tar' ! -name "${cached##*/}" -delete
}

# The data partition as first written: the folders the bind mounts in /etc/fstab need.
data_template() {
	local data=$1 uid gid journal_gid
	uid=$(in_root id -u piclient)
	gid=$(in_root id -g piclient)
	journal_gid=$(in_root getent group systemd-journal | cut -d: -f3)
	install -d -m 0755 "$data"
	install -d -m 0750 -o "$uid" -g "$gid" "$data/piclient" "$data/piclient/home"
	install -d -m 2755 -o 0 -g "$journal_gid" "$data/journal"
	install -d -m 0700 "$data/ssh"
}

mib_of() { du -s --block-size=1M "$1" | cut -f1; }

make_disk() {
	local img=$1 stage=$2 root_mib total boot_start root_start data_start
	# Firmware, kernel, initramfs and DTBs go to the FAT partition; the root keeps an empty mount point.
	mkdir -p "$stage/bootfs"
	cp -a "$ROOTFS/boot/firmware/." "$stage/bootfs/"
	find "$ROOTFS/boot/firmware" -mindepth 1 -delete
	install -m 0644 "$HERE/piclient.yaml" "$stage/bootfs/piclient.yaml"
	install -m 0644 "$REPO/config.example.yaml" "$stage/bootfs/piclient.example.yaml"

	root_mib=$(( $(mib_of "$ROOTFS") * 115 / 100 + 200 ))
	boot_start=4
	root_start=$(( boot_start + BOOT_MIB ))
	data_start=$(( root_start + root_mib ))
	total=$(( data_start + DATA_MIB ))
	echo "partitions: boot ${BOOT_MIB} MiB, root ${root_mib} MiB, data ${DATA_MIB} MiB (image ${total} MiB)"

	rm -f "$stage"/*.part
	mkfs.vfat -F 32 -n PICLIENT -C "$stage/boot.part" $(( BOOT_MIB * 1024 )) >/dev/null
	mcopy -s -i "$stage/boot.part" "$stage"/bootfs/* ::/
	# No blocks reserved for root on a file system nobody writes to; -d copies owners, modes and links.
	mkfs.ext4 -q -L piclient-root -m 0 -d "$ROOTFS" "$stage/root.part" "${root_mib}M"
	data_template "$stage/data"
	mkfs.ext4 -q -L piclient-data -m 1 -d "$stage/data" "$stage/data.part" "${DATA_MIB}M"

	rm -f "$img"
	truncate -s "${total}M" "$img"
	sfdisk --quiet "$img" <<-EOF
		label: dos
		unit: sectors
		start=$(( boot_start * 2048 )), size=$(( BOOT_MIB * 2048 )), type=c, bootable
		start=$(( root_start * 2048 )), size=$(( root_mib * 2048 )), type=83
		start=$(( data_start * 2048 )), size=$(( DATA_MIB * 2048 )), type=83
	EOF
	dd if="$stage/boot.part" of="$img" bs=1M seek="$boot_start" conv=notrunc,sparse status=none
	dd if="$stage/root.part" of="$img" bs=1M seek="$root_start" conv=notrunc,sparse status=none
	dd if="$stage/data.part" of="$img" bs=1M seek="$data_start" conv=notrunc,sparse status=none
	rm -f "$stage"/*.part
}

assemble() {
	local version name stage img
	version=$(project_version)
	name="piclient-$version-arm64"
	[ "$BASE_KIND" = debian ] || name="$name-$BASE_KIND"
	stage="$OUT/stage"
	ROOTFS="$stage/rootfs"
	img="$OUT/$name.img"

	step "copying the base layer"
	rm -rf "$stage" "$img" "$img".* && mkdir -p "$stage"
	cp -a "$BASE_DIR" "$ROOTFS"

	mount_api
	step "boot layer: the initramfs, once (under qemu-user)"
	boot_files
	step "aarch64 wheels"
	wheels
	step "piclient in its venv ($INSTALL_DIR, under qemu-user)"
	install_piclient
	step "user, units and system files"
	add_user
	install_files
	umount_api
	# For image-test: the kernel and initramfs QEMU boots directly (the Pi's firmware does not run there).
	cp -L "$ROOTFS/boot/vmlinuz" "$OUT/vmlinuz" 2>/dev/null || cp "$ROOTFS"/boot/vmlinuz-* "$OUT/vmlinuz"
	cp -L "$ROOTFS/boot/initrd.img" "$OUT/initrd.img" 2>/dev/null || cp "$ROOTFS"/boot/initrd.img-* "$OUT/initrd.img"

	step "partitions and the disk image"
	make_disk "$img" "$stage"
	rm -rf "$stage"

	step "block map, compression and checksum"
	# The .bmap also tells image/test that the raw image is complete.
	bmaptool -q create -o "$img.bmap" "$img"
	xz -T0 "-$XZ_LEVEL" -k -f "$img"
	(cd "$OUT" && sha256sum "$name.img.xz" > "$name.img.xz.sha256")
	ls -l "$OUT"
	echo "image: $img.xz ($(du -h "$img.xz" | cut -f1) compressed, $(du -h --apparent-size "$img" | cut -f1) raw)"
}
