"""The box: a real `piclient tv` in the VM, with CEC on vivid's HDMI output and, if asked, on KMS.

libcec 6 opens only /dev/cec0, which on vivid is the TV's side. The box therefore runs in a mount
namespace of its own where /dev/cec1 (vivid's HDMI output) is bind-mounted over /dev/cec0; the TV's
tools outside still see the real /dev/cec0. (On a Pi the port question is in docs/hardware.md.)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from piclient.agent.heartbeat import cec_section, tv_section
from piclient.agent.tvlink import TvLink
from piclient.control.client import ControlClient
from tests.hw.cec_tv import BOX_DEVICE, TV_DEVICE
from tests.launcher import Launcher
from tests.waiting import wait_until

# Every status the tests ask for costs the guest's few emulated CPU cycles in the launcher and in the
# test, and a film that cannot keep up is (rightly) taken for a stall: look twice a second, not 20 times.
POLL_S = 0.5
OSD_NAME = "Mum's TV box"  # what the box calls itself on the bus
SLOW = 120  # seconds: mpv and SDL render in software on an emulated CPU


def wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """``wait_until`` at the hardware tests' pace (POLL_S)."""
    return wait_until(predicate, timeout, what, interval=POLL_S)


def box_config(directory: Path, source: str, *, cec: bool = True, output: str = "embedded",
               osd_name: str = OSD_NAME, window: tuple[int, int] | None = None, extra: str = "") -> Path:
    """The box's config; ``window`` draws in a small window instead of full screen (software-rendered
    films in emulation are too slow at full size for the launcher's loop to keep answering)."""
    ui = "  fullscreen: true" if window is None else f"  fullscreen: false\n  window_size: [{window[0]}, {window[1]}]"
    text = f"""\
device:
  name: "거실 TV"
catalog:
  source: {json.dumps(source)}
paths:
  data: {directory / 'data'}
  socket: {directory / 'tv.sock'}
ui:
{ui}
cec:
  enabled: {'true' if cec else 'false'}
  osd_name: {json.dumps(osd_name)}
  retry_seconds: 1
player:
  output: {output}
  audio_output: "null"
  hwdec: "no"
  readahead_seconds: 8
log:
  level: debug
{extra}"""
    path = directory / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# The box's own /dev: a tmpfs with what the launcher needs, and at /dev/cec0 a device node for vivid's
# HDMI output (the box's side). A node of its own rather than a bind mount of the real one: when the
# adapter goes away and comes back (the unbind test), the kernel removes and re-creates its nodes, which
# would detach a bind mount, while this node keeps naming the device by number, as a path does on a Pi.
_CEC_NAMESPACE = f"""set -e
mkdir -p /run/hostdev
mount --rbind /dev /run/hostdev
mount -t tmpfs -o mode=755 boxdev /dev
for name in null zero full random urandom tty; do
    touch /dev/$name; mount --bind /run/hostdev/$name /dev/$name
done
mkdir /dev/shm /dev/pts
mount --bind /run/hostdev/shm /dev/shm
mount --bind /run/hostdev/pts /dev/pts
for dir in dri input; do  # the KMS display and the keyboard, for a box that also drives the screen
    if [ -d /run/hostdev/$dir ]; then mkdir /dev/$dir; mount --rbind /run/hostdev/$dir /dev/$dir; fi
done
ln -s /proc/self/fd /dev/fd
mknod {TV_DEVICE} c $(stat -c '%Hr %Lr' /run/hostdev/{Path(BOX_DEVICE).name})
exec "$@"
"""


class Box(Launcher):
    """``Launcher`` with the box's own environment: a CEC namespace and a real video driver."""

    def __init__(self, directory: Path, config: Path, *, video: str = "dummy", ready_timeout: float = 90,
                 keep_log: Path | None = None, cec: bool = True) -> None:
        self.directory = directory
        self.keep_log = keep_log  # where the log is copied when the box stops (the guest's /tmp goes away)
        env = {**os.environ, "SDL_VIDEODRIVER": video, "SDL_AUDIODRIVER": "dummy"}
        self.log_path = directory / "tv.log"
        self._log = self.log_path.open("wb")
        command = [sys.executable, "-m", "piclient", "tv", "--config", str(config)]
        if cec:
            command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", _CEC_NAMESPACE, "box", *command]
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                        start_new_session=True)
        self.ctl = ControlClient(directory / "tv.sock", timeout=20)
        self._wait_ready(ready_timeout)

    def log_lines(self, needle: str) -> list[str]:
        return [line for line in self.log().splitlines() if needle in line]

    def wait_for(self, predicate: Any, timeout: float = 10) -> dict[str, Any]:
        """Poll status until ``predicate(status)`` holds, at the hardware tests' pace; returns that status."""
        last: dict[str, Any] = {}

        def met() -> dict[str, Any] | None:
            nonlocal last
            last = self.status()
            return last if predicate(last) else None

        try:
            return wait(met, timeout, "a status condition")
        except AssertionError:
            raise AssertionError(f"condition not met within {timeout} s; last status: {last}") from None

    def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        return self.ctl.request(cmd, **fields)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self._log.close()
        if self.keep_log is not None:
            shutil.copyfile(self.log_path, self.keep_log)
        return self.process.returncode


def cec_open(box: Box) -> dict[str, Any]:
    return box.wait_for(lambda s: (s["cec"] or {}).get("adapter") == "open", timeout=60)


def pressed(box: Box) -> list[str]:
    """The CEC keys the box's libcec backend passed on as presses, as buttons, in order."""
    return re.findall(r"HDMI-CEC key 0x[0-9a-f]{2} pressed: (\w+)", box.log())


def dispatched(box: Box) -> list[str]:
    """The buttons the launcher acted on, in order; repeats marked with a '+'."""
    return [name + ("+" if repeat else "") for name, repeat in
            re.findall(r"button (\w+)( \(repeat\))? from cec", box.log())]



def heartbeat(box: Box) -> dict[str, Any]:
    """The ``tv`` and ``cec`` sections the agent's heartbeat would send about this launcher, as JSON."""
    link = TvLink(box.directory / "tv.sock", timeout_s=20, unit_state=lambda _unit: None)
    try:
        state = link.probe()
    finally:
        link.close()
    cec = cec_section(state)
    return {"tv": tv_section(state).wire(), "cec": cec.wire() if cec is not None else None}
