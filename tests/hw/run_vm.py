"""`make hw-test`: boot the hardware-test VM and run the hardware tests inside it.

The VM (tests/hw/build_image.sh) is a Debian 12 amd64 guest in QEMU's software emulation with
  * an emulated HDMI-CEC bus (the kernel's vivid driver, loaded in the guest),
  * a KMS display (virtio-gpu, 640x360) that Mesa's llvmpipe renders to,
  * this project, venv included, shared read-only over 9p at the same path as here,
  * a second, writable 9p share for results (logs, screenshots),
  * a virtio serial port on which the guest asks for the QEMU monitor's `screendump`: what the TV
    really shows, taken outside the guest.
The guest prints its pytest run on the serial console, which this script copies to stdout, and ends
with one line "HW-TEST RESULT: <exit code>"; the VM powers itself off. Everything is bounded by
--timeout; the exit code is pytest's (or 124 on timeout, 2 when the VM could not run).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent.parent
RESULT = re.compile(rb"HW-TEST RESULT: (\S+)")
BOOT_TIMEOUT_S = 300.0  # QEMU start to the guest's init; 24-45 s as measured (docs/benchmarks.md)
# Small on purpose: mpv and SDL draw every pixel in software on an emulated CPU; at 1280x720 a film
# played at a quarter of its speed on a loaded machine, which the player rightly takes for a stall.
SCREEN = (640, 360)
GUEST_CPU = "qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt"


def cache_root() -> Path:
    """Where the image and the films are kept between runs (the same place build_image.sh uses)."""
    if "PICLIENT_HW_CACHE" in os.environ:
        return Path(os.environ["PICLIENT_HW_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "piclient" / "hw-vm"


def build_image() -> Path:
    out = subprocess.run([str(HERE / "build_image.sh")], check=True, stdout=subprocess.PIPE)
    return Path(out.stdout.decode().strip().splitlines()[-1])


def compile_for_the_guest() -> None:
    """Byte-compile the project and its venv for the guest, which shares them read-only and so never
    writes byte code itself: every Python process in the guest would otherwise compile each module it
    imports on the emulated CPU, seconds per launcher start. The venv's Python is Debian 12's 3.11,
    the guest's own; byte code made here is checked against its source's time and size as usual."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPYCACHEPREFIX"}
    subprocess.run([str(PROJECT / ".venv" / "bin" / "python"), "-m", "compileall", "-q", "-j", "0",
                    "piclient", "tests", ".venv/lib"], check=True, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL)


def qemu_command(image: Path, results: Path, run: Path, memory_mb: int) -> list[str]:
    append = " ".join([
        "root=/dev/vda rw console=ttyS0 init=/sbin/hw-init panic=-1 quiet loglevel=4",
        # The kernel's check that the IO-APIC timer ticks panicked the guest ("IO-APIC + timer doesn't
        # work") when the emulated CPU was starved for a moment at boot; QEMU's timer is known good.
        "no_timer_check",
        f"hw.project={PROJECT}",
    ])
    return [
        "qemu-system-x86_64",
        # Software emulation: KVM hangs on this kind of machine. Not max: llvmpipe's JIT crashed SDL
        # in 7 of 12 starts with -cpu max. qemu64 plus what x86-64-v2 adds, the least numpy 2.4's
        # wheels run on (the launcher's posters go through simplejpeg and numpy): on bare qemu64 the
        # first import of numpy dies of an illegal instruction, launcher and pytest alike.
        "-machine", f"q35,accel={os.environ.get('HW_TEST_ACCEL', 'tcg')}", "-cpu", GUEST_CPU, "-smp", "2",
        "-m", str(memory_mb),
        "-nodefaults", "-no-reboot", "-display", "none", "-vga", "none",
        "-device", f"virtio-gpu-pci,xres={SCREEN[0]},yres={SCREEN[1]}",
        "-device", "virtio-keyboard-pci",  # keys typed through the monitor's sendkey
        "-kernel", str(image / "vmlinuz"), "-initrd", str(image / "initrd.img"), "-append", append,
        "-drive", f"file={image / 'rootfs.ext4'},if=virtio,format=raw", "-snapshot",
        "-virtfs", f"local,path={PROJECT},mount_tag=project,security_model=none,readonly=on",
        "-virtfs", f"local,path={results},mount_tag=results,security_model=none",
        "-device", "virtio-serial-pci",
        "-chardev", f"socket,id=hwctl,path={run / 'hwctl.sock'},server=on,wait=off",
        "-device", "virtserialport,chardev=hwctl,name=piclient.hw",
        "-monitor", f"unix:{run / 'monitor.sock'},server,nowait",
        "-serial", "stdio",
    ]


class Monitor:
    """The QEMU human monitor over its Unix socket: one command at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def command(self, line: str, timeout: float = 30) -> str:
        with self._lock, socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(timeout)
            sock.connect(str(self.path))
            self._read_prompt(sock)
            sock.sendall(line.encode() + b"\n")
            return self._read_prompt(sock)

    @staticmethod
    def _read_prompt(sock: socket.socket) -> str:
        data = b""
        while not data.endswith(b"(qemu) "):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data.decode(errors="replace")


def serve_guest_requests(run: Path, results: Path, monitor: Monitor, stop: threading.Event) -> None:
    """Answer the guest's requests on the virtio serial port, one line each: `screendump NAME.ppm` or
    `sendkey KEY` (a key on the VM's keyboard) -> `ok` or `error ...`."""
    sock_path = run / "hwctl.sock"
    while not stop.is_set():
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.connect(str(sock_path))
                sock.settimeout(0.5)
                buffer = b""
                while not stop.is_set():
                    try:
                        chunk = sock.recv(4096)
                    except TimeoutError:
                        continue
                    if not chunk:
                        break
                    buffer += chunk
                    while b"\n" in buffer:
                        line, buffer = buffer.split(b"\n", 1)
                        sock.sendall(answer(line.decode(errors="replace").strip(), results, monitor).encode() + b"\n")
        except OSError:
            stop.wait(0.2)


def answer(request: str, results: Path, monitor: Monitor) -> str:
    verb, _, name = request.partition(" ")
    if verb == "sendkey" and re.fullmatch(r"[a-z0-9_-]+", name):
        reply = monitor.command(f"sendkey {name}")
        return "ok" if "unknown" not in reply.lower() else f"error {reply.strip()[-200:]}"
    if verb != "screendump" or not re.fullmatch(r"[\w.-]+\.ppm", name):
        return f"error unknown request {request!r}"
    target = results / name
    target.unlink(missing_ok=True)
    reply = monitor.command(f"screendump {target}")
    if not target.exists():
        return f"error {reply.strip()[-200:]}"
    return "ok"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=float(os.environ.get("HW_TEST_TIMEOUT", 2400)),
                        help="seconds before the VM is stopped and the run fails (default 2400)")
    parser.add_argument("--results", type=Path, default=PROJECT / "build" / "hw-test",
                        help="where the guest leaves logs and pictures (emptied first)")
    parser.add_argument("--memory", type=int, default=2048, help="guest memory in MB")
    parser.add_argument("--script", help="a Python script of the project to run in the guest instead of the "
                        "tests, e.g. bench/handover_memory_bench.py; the arguments after -- go to it")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest in the guest, e.g. -k cec")
    args = parser.parse_args()

    for tool in ("qemu-system-x86_64", "mmdebstrap"):
        if shutil.which(tool) is None:
            print(f"hw-test needs {tool} (Debian: qemu-system-x86, mmdebstrap)", file=sys.stderr)
            return 2
    if not (PROJECT / ".venv" / "bin" / "python").exists():
        print("hw-test runs the project's venv in the guest: run `make venv` first", file=sys.stderr)
        return 2
    started = time.monotonic()
    image = build_image()
    built = time.monotonic()
    results = args.results.resolve()
    shutil.rmtree(results, ignore_errors=True)
    results.mkdir(parents=True)
    # ffmpeg is slow on an emulated CPU: the films are made here (once, then kept with the image) and
    # shared in with the results.
    subprocess.run([str(PROJECT / ".venv" / "bin" / "python"), "-m", "tests.hw.library", str(cache_root()),
                    str(results / "library")], check=True, cwd=PROJECT, stdout=subprocess.DEVNULL)
    compile_for_the_guest()
    prepared = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="piclient-hw-") as tmp:
        run = Path(tmp)
        # The guest reads its pytest arguments from here, one a line.
        (results / "pytest-args").write_text("".join(f"{arg}\n" for arg in args.pytest_args), encoding="utf-8")
        if args.script:
            (results / "guest-script").write_text(f"{args.script}\n", encoding="utf-8")
        command = qemu_command(image, results, run, args.memory)
        return boot(command, run, results, args.timeout, started, built, prepared)


def boot(command: list[str], run: Path, results: Path, timeout: float, started: float, built: float,
         prepared: float) -> int:
    qemu = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    stop = threading.Event()
    monitor = Monitor(run / "monitor.sock")
    server = threading.Thread(target=serve_guest_requests, args=(run, results, monitor, stop), daemon=True)
    server.start()
    timer = threading.Timer(timeout, qemu.kill)
    timer.start()
    # Under heavy load the guest's kernel has been seen to hang before its init (soft lockup in TCG):
    # that is a failed boot to retry, not a test to wait 40 minutes for.
    booted = threading.Event()
    boot_timer = threading.Timer(BOOT_TIMEOUT_S, lambda: booted.is_set() or qemu.kill())
    boot_timer.start()
    result: bytes | None = None
    assert qemu.stdout is not None
    try:
        with (results / "serial.log").open("wb") as serial:
            for line in qemu.stdout:
                serial.write(line)
                # Seconds since the VM started, so slow steps show in the log (docs/benchmarks.md).
                text = line.decode(errors="replace").replace("\r", "")
                sys.stdout.write(f"[{time.monotonic() - prepared:6.1f}] {text}")
                sys.stdout.flush()
                if b"hw-init: up" in line:
                    booted.set()
                found = RESULT.search(line)
                if found:
                    result = found.group(1)
    finally:
        if qemu.poll() is None:  # this script was stopped (Ctrl-C, SIGTERM): the VM goes with it
            qemu.kill()
    timed_out = not timer.is_alive() and result is None
    timer.cancel()
    boot_timer.cancel()
    stop.set()
    qemu.wait()
    elapsed = time.monotonic() - started
    print(f"hw-test: image {built - started:.0f} s, films and byte code {prepared - built:.0f} s, "
          f"VM {elapsed - (prepared - started):.0f} s, total {elapsed:.0f} s; results in {results}")
    if timed_out:
        print(f"hw-test: the VM did not finish within {timeout:.0f} s", file=sys.stderr)
        return 124
    if not booted.is_set():
        print(f"hw-test: the guest did not reach its init within {BOOT_TIMEOUT_S:.0f} s (serial.log); "
              "run it again", file=sys.stderr)
        return 2
    if result is None:
        print(f"hw-test: the VM stopped without a result (qemu exit {qemu.returncode})", file=sys.stderr)
        return 2
    return int(result) if result.isdigit() else 2


if __name__ == "__main__":
    # SIGTERM as an exception, so the VM is stopped with this script rather than left running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
