"""The TV on vivid's emulated HDMI-CEC bus, played by v4l-utils' cec-follower and cec-ctl.

vivid gives /dev/cec0 (an HDMI input: the TV's side) and /dev/cec1 (an HDMI output: the box's side)
on one bus. cec-follower answers like a real TV (power status, <Image View On> wakes it, ...) and
prints every message it receives, so what the box sent is on record; cec-ctl sends the TV remote's
keys and the TV's own broadcasts.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

TV_DEVICE = "/dev/cec0"
BOX_DEVICE = "/dev/cec1"
# vivid's adapter names: its HDMI input (video capture) is the TV's side, its output the box's.
TV_ADAPTER, BOX_ADAPTER = "vid-cap", "vid-out"
PLAYBACK_1 = 4  # the logical address libcec takes for the first playback device
BROADCAST = 15


class Tv:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.follower: subprocess.Popen[bytes] | None = None
        self._log_path = log_dir / "cec-follower.log"
        self._offset = 0
        self._log_path.write_bytes(b"")
        self.ctl("--tv", "--osd-name", "TV")

    def ctl(self, *args: str, destination: int | None = None, timeout: float = 10) -> str:
        """Run cec-ctl on the TV's side; its output (replies included) as text."""
        command = ["cec-ctl", "-d", TV_DEVICE, "--skip-info",
                   *(["-t", str(destination)] if destination is not None else []), *args]
        done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        text = (done.stdout + done.stderr).decode(errors="replace")
        with (self.log_dir / "cec-ctl.log").open("a", encoding="utf-8") as log:
            log.write(f"$ {' '.join(command)}\n{text}\n")
        return text

    def start(self, *, standby: bool = False) -> None:
        """cec-follower plays the TV from here on (on, or in standby)."""
        self.stop()
        log = self._log_path.open("ab")
        self.follower = subprocess.Popen(
            ["cec-follower", "-d", TV_DEVICE, "-m", "-s", "-w", *(["--standby"] if standby else [])],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        time.sleep(0.3)  # its first lines; nothing is asserted on timing

    def stop(self) -> None:
        if self.follower is not None and self.follower.poll() is None:
            self.follower.terminate()
            self.follower.wait(timeout=5)
        self.follower = None

    def received(self) -> str:
        """What cec-follower logged: messages the TV received and its state changes."""
        return self._log_path.read_text(encoding="utf-8", errors="replace")

    def mark(self) -> None:
        """Later calls of ``received_since_mark`` see only what came after this."""
        self._offset = len(self.received())

    def received_since_mark(self) -> str:
        return self.received()[self._offset:]

    # -- the TV's remote ---------------------------------------------------------------------------

    def press(self, ui_cmd: str) -> None:
        self.ctl("--user-control-pressed", f"ui-cmd={ui_cmd}", destination=PLAYBACK_1)

    def release(self) -> None:
        self.ctl("--user-control-released", destination=PLAYBACK_1)

    def key(self, ui_cmd: str) -> None:
        self.press(ui_cmd)
        self.release()

    # -- the TV's broadcasts -----------------------------------------------------------------------

    def go_to_standby(self) -> None:
        """The TV is switched off: it tells every device (<Standby> to all) and stops answering as on."""
        self.start(standby=True)
        self.ctl("--standby", destination=BROADCAST)

    def come_on(self) -> None:
        """The TV is switched on and asks who the source is, as TVs do."""
        self.start(standby=False)
        self.ctl("--request-active-source", destination=BROADCAST)

    def switch_to_own_tuner(self) -> None:
        self.ctl("--routing-change", "orig-phys-addr=1.0.0.0,new-phys-addr=0.0.0.0", destination=BROADCAST)

    def osd_name_of(self, address: int) -> str | None:
        found = re.search(r"SET_OSD_NAME.*\n\s*name: (.*)$", self.ctl("--give-osd-name", destination=address), re.M)
        return found.group(1).strip() if found else None

    def device_type_of(self, address: int) -> str | None:
        found = re.search(r"prim-devtype:\s*(\S+)", self.ctl("--give-physical-addr", destination=address))
        return found.group(1) if found else None


def from_the_box(tv_log: str) -> list[str]:
    """Opcodes the TV received from the box (cec-follower -m: '    Playback Device 1 to all (4 to 15): NAME')."""
    return re.findall(r"^\s+Playback Device 1 to [^:]*: ([A-Z_]+)", tv_log, re.M)


def vivid_device(adapter: str) -> str | None:
    """The /dev/cecN of vivid's TV side or box side: after vivid comes back, the numbers may differ."""
    for path in sorted(Path("/dev").glob("cec[0-9]*")):
        info = subprocess.run(["cec-ctl", "-d", str(path)], capture_output=True, text=True, timeout=10).stdout
        if re.search(rf"Adapter Name\s*:\s*vivid-\d+-{adapter}", info):
            return str(path)
    return None
