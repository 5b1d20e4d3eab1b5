"""The kernel keyboard reader used while mpv owns the screen, fed from a pipe in place of /dev/input."""

from __future__ import annotations

import os
import struct
from pathlib import Path

from piclient.remote.evdev_keys import EvdevKeyboard
from tests.waiting import wait_until

EVENT = struct.Struct("llHHi")


def event(kind: int, code: int, value: int) -> bytes:
    return EVENT.pack(0, 0, kind, code, value)


def test_key_presses_and_releases_reach_the_launcher_only_while_it_has_let_go_of_the_screen(tmp_path: Path) -> None:
    fifo = tmp_path / "event0"
    os.mkfifo(fifo)
    writer_fd = os.open(fifo, os.O_RDWR)  # keeps the pipe open for the reader's non-blocking open
    seen: list[tuple[str, bool]] = []
    asked: list[bool] = []
    active = {"now": False}

    def is_active() -> bool:
        asked.append(active["now"])
        return active["now"]

    keyboard = EvdevKeyboard(lambda name, pressed: seen.append((name, pressed)), is_active, devices=tmp_path)
    keyboard.start()
    try:
        os.write(writer_fd, event(1, 103, 1) + event(1, 103, 0))  # SDL has the screen: not ours to report
        wait_until(lambda: len(asked) == 2, 5, "the reader to judge both events")
        active["now"] = True
        os.write(writer_fd, event(1, 106, 1) + event(0, 0, 0) + event(1, 106, 2) + event(1, 106, 0)
                 + event(1, 28, 1) + event(1, 999, 1))
        wait_until(lambda: len(seen) >= 3, 5, "three key events")
        assert seen == [("right", True), ("right", False), ("return", True)]
    finally:
        keyboard.stop()
        os.close(writer_fd)
