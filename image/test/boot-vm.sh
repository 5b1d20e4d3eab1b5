#!/bin/bash
# Boots a piclient SD image under QEMU's arm64 "virt" board, the way image/test/test_image_boot.py does;
# also handy by hand. The Pi's firmware does not run there, so QEMU loads the image's own kernel and
# initramfs (build/image/vmlinuz, initrd.img); the kernel's command line (cmdline.txt) and the root,
# overlay and data partitions are the card's.
#
#   image/test/boot-vm.sh DISK KERNEL INITRD WORKDIR SERVER_PORT [SSH_PORT]
#
# The guest's network is QEMU's user network with restrict=on: it reaches nothing but 10.0.2.100:8470,
# forwarded to the piclient server on the host's 127.0.0.1:SERVER_PORT (and, with SSH_PORT, the host's
# 127.0.0.1:SSH_PORT reaches the guest's SSH). PICLIENT_VM_APPEND adds kernel arguments, e.g.
# "systemd.journald.forward_to_console=1" to read the whole journal on the serial console. The screen
# is a virtio GPU (PICLIENT_VM_XRES x PICLIENT_VM_YRES, 1280x720 by default); WORKDIR/monitor.sock is
# the QEMU monitor (screendump), WORKDIR/console.log the serial console.
set -euo pipefail

[ $# -ge 5 ] || { sed -n '2,14p' "$0"; exit 2; }
disk=$1 kernel=$2 initrd=$3 work=$4 server_port=$5 ssh_port=${6:-}

# guestfwd's cmd: form starts socat for each connection the guest opens; its tcp: form would connect
# once, when QEMU starts, and carry a single connection for the VM's whole life. socat's own messages
# go nowhere: its stderr is the guest's connection too (seen: a log line where HTTP was expected).
netdev="user,id=net0,restrict=on,guestfwd=tcp:10.0.2.100:8470-cmd:socat -lf /dev/null - TCP:127.0.0.1:$server_port"
[ -z "$ssh_port" ] || netdev="$netdev,hostfwd=tcp:127.0.0.1:$ssh_port-:22"

# The card's own cmdline.txt, as the Pi's firmware passes it, with the serial line as the last console:
# the kernel's and systemd's messages go to WORKDIR/console.log, and the screen shows what a TV would.
# The FAT partition is wherever the card's partition table says (image/assemble.sh decides).
fat_offset=$(( $(sfdisk --dump "$disk" | awk -F'start=' '/start=/ { split($2, a, ","); print a[1] + 0; exit }') * 512 ))
cmdline="$(mtype -i "$disk@@$fat_offset" ::/cmdline.txt | tr -d '\r\n') console=ttyAMA0 ${PICLIENT_VM_APPEND:-}"

accel=(-accel "tcg,thread=multi")
if [ "$(uname -m)" = aarch64 ] && [ -w /dev/kvm ]; then accel=(-accel kvm -cpu host); fi

exec qemu-system-aarch64 -M virt "${accel[@]}" -cpu cortex-a72 -smp 2 -m 1536 \
	-kernel "$kernel" -initrd "$initrd" \
	-append "$cmdline" \
	-drive "file=$disk,format=raw,if=none,id=card,cache=writeback" -device virtio-blk-pci,drive=card \
	-device "virtio-gpu-pci,xres=${PICLIENT_VM_XRES:-1280},yres=${PICLIENT_VM_YRES:-720}" -device virtio-keyboard-pci \
	-netdev "$netdev" -device virtio-net-pci,netdev=net0 \
	-display none -serial "file:$work/console.log" \
	-monitor "unix:$work/monitor.sock,server,nowait"
