#!/bin/sh
# The VM's first process (init=/sbin/hw-init), baked into the image. It only mounts what the kernel
# needs and the project shared over 9p (at the path given as hw.project= on the kernel command line),
# then hands over to the project's own guest script, so changing the tests never rebuilds the image.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc 2>/dev/null
mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
project=""
for arg in $(cat /proc/cmdline); do
    case "$arg" in hw.project=*) project="${arg#hw.project=}" ;; esac
done
modprobe 9pnet_virtio && modprobe 9p
mkdir -p "$project"
if mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=loose project "$project" \
        && [ -x "$project/tests/hw/guest_init.sh" ]; then
    exec "$project/tests/hw/guest_init.sh" "$project"
fi
echo "HW-TEST RESULT: could not mount the project at '$project'"
echo o > /proc/sysrq-trigger
sleep 10
