"""A keyboard read straight from the kernel (evdev) while mpv owns the screen.

During a hand-over SDL has let go of the display, and with it of the keyboard (SDL's kmsdrm reads
keys through its video subsystem); mpv on DRM reads none either. This reader turns key events from
/dev/input/event* into the keyboard names of the keymap, and passes them on only while ``active()``
says so, so SDL and this reader never both report one key. Reading needs the `input` group.

Nothing is opened at import time; ``start`` begins a daemon thread that rescans for keyboards now
and then (a USB keyboard plugged in later) and ``stop`` ends it.
"""

from __future__ import annotations

import logging
import os
import select
import struct
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

# struct input_event on 64-bit Linux: struct timeval (two longs), __u16 type, __u16 code, __s32 value.
_EVENT = struct.Struct("llHHi")
_EV_KEY = 0x01
_PRESS, _RELEASE = 1, 0  # 2 is the kernel's autorepeat: the launcher repeats at its own rate

# Linux key codes (input-event-codes.h) to the names pygame.key.name() gives, which the keymap uses.
KEY_NAMES: dict[int, str] = {
    103: "up", 108: "down", 105: "left", 106: "right",
    28: "return", 96: "enter", 1: "escape", 14: "backspace", 158: "ac back",
    57: "space", 25: "p", 31: "s", 33: "f", 19: "r", 52: ".", 51: ",", 23: "i",
    59: "f1", 60: "f2", 61: "f3", 62: "f4",
    **{code: str(digit) for code, digit in zip(range(2, 11), range(1, 10), strict=True)}, 11: "0",
}

KeyCallback = Callable[[str, bool], None]


class EvdevKeyboard:
    rescan_seconds = 5.0

    def __init__(self, on_key: KeyCallback, active: Callable[[], bool],
                 devices: Path = Path("/dev/input")) -> None:
        self._on_key = on_key
        self._active = active
        self._devices = devices
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._open: dict[int, str] = {}  # fd -> path
        self._refused: set[str] = set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="evdev-keys", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        for fd in list(self._open):
            os.close(fd)
        self._open.clear()

    def _scan(self) -> None:
        known = set(self._open.values())
        for path in sorted(self._devices.glob("event*")):
            name = str(path)
            if name in known or name in self._refused:
                continue
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError as exc:
                self._refused.add(name)  # said once; the service user may lack the `input` group
                log.info("keyboard %s not readable during films: %s", name, exc.strerror)
                continue
            self._open[fd] = name

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._scan()
                if not self._open:
                    self._stop.wait(self.rescan_seconds)
                    continue
                ready, _, _ = select.select(list(self._open), [], [], self.rescan_seconds)
                for fd in ready:
                    self._read(fd)
            except Exception:
                log.exception("reading the keyboard failed")
                self._stop.wait(self.rescan_seconds)

    def _read(self, fd: int) -> None:
        try:
            data = os.read(fd, _EVENT.size * 64)
        except BlockingIOError:
            return
        except OSError:  # unplugged
            os.close(fd)
            self._open.pop(fd, None)
            return
        if not data:
            return
        for offset in range(0, len(data) - _EVENT.size + 1, _EVENT.size):
            _sec, _usec, kind, code, value = _EVENT.unpack_from(data, offset)
            name = KEY_NAMES.get(code)
            if kind != _EV_KEY or name is None or value not in (_PRESS, _RELEASE):
                continue
            if self._active():
                self._on_key(name, value == _PRESS)
