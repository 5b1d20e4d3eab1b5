#!/bin/sh
# Runs as the VM's init (after vm_stub_init.sh mounted the project): loads the drivers of the emulated
# hardware, runs the hardware tests with the project's venv and reports on the serial console, then
# powers the VM off. Its last line is "HW-TEST RESULT: <pytest exit code>".
project="$1"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
export PICLIENT_HW_VM=1 PICLIENT_HW_RESULTS=/hw-results XDG_RUNTIME_DIR=/run/user/0
echo 1 > /proc/sys/kernel/sysrq
echo "hw-init: up at $(cut -d' ' -f1 /proc/uptime) s"
finish() {
    echo "HW-TEST RESULT: $1"
    sync
    echo o > /proc/sysrq-trigger
    sleep 30
}
trap 'finish 2' EXIT
mkdir -p "$XDG_RUNTIME_DIR" /hw-results
chmod 700 "$XDG_RUNTIME_DIR"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=none results /hw-results || finish 2
ip link set lo up
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
hostname hw-vm
# No udev: load the drivers of the devices QEMU gave us, as udev's coldplug would.
cat /sys/bus/*/devices/*/modalias 2>/dev/null | sort -u | xargs modprobe -a -q 2>/dev/null
modprobe evdev  # /dev/input/event*: the keyboard the launcher reads during a hand-over
# The emulated HDMI-CEC bus: vivid's HDMI input (/dev/cec0, the TV side) and output (/dev/cec1, the box).
modprobe vivid || echo "hw-init: vivid could not be loaded"
echo "hw-init: $(uname -r), $(nproc) CPUs; $(ls /dev/cec* /dev/dri/card* 2>/dev/null | tr '\n' ' ')"
set --
while IFS= read -r arg; do set -- "$@" "$arg"; done < /hw-results/pytest-args
cd "$project" || finish 2
if [ -s /hw-results/guest-script ]; then  # run_vm.py --script: a bench instead of the tests
    script=$(cat /hw-results/guest-script)
    echo "hw-init: starting $script $* at $(cut -d' ' -f1 /proc/uptime) s"
    .venv/bin/python "$script" "$@" 2>&1
    rc=$?
else
    echo "hw-init: starting pytest $* at $(cut -d' ' -f1 /proc/uptime) s"
    # Plugins named, not looked up: finding the venv's entry points over 9p took seconds in emulation.
    PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 .venv/bin/python -m pytest -p no:cacheprovider -p pytest_timeout --color=no \
        -v -rfE --durations=0 --timeout=300 tests/hw "$@" 2>&1
    rc=$?
fi
trap - EXIT
finish "$rc"
