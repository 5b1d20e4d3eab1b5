"""Test-fixture build time: the HLS titles the player, playback and end-to-end tests play.

    .venv/bin/python bench/fixture_bench.py

Each fixture that makes media is called once, in this process, outside pytest, into a temporary
folder: wall time, and CPU time (this process and the ffmpeg processes it waited for; the steadier
figure on a shared machine), with the load average after it.
"""

from __future__ import annotations

import importlib
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FIXTURES = (("tests.playback.conftest", "library"), ("tests.player.conftest", "ladder"),
            ("tests.player.test_thumbnails", "thumbed_ladder"), ("tests.e2e.test_now_playing", "library"))


class TempPaths:
    """What the fixtures use of pytest's ``tmp_path_factory``."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.made = 0

    def mktemp(self, name: str) -> Path:
        self.made += 1
        path = self.base / f"{name}{self.made}"
        path.mkdir()
        return path


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def build(fixture: Any, paths: TempPaths) -> None:
    # pytest wraps a fixture so that tests cannot call it; the function it wraps is the build.
    fixture._get_wrapped_function()(paths)


def main() -> int:
    print("command: .venv/bin/python bench/fixture_bench.py")
    print(f"{'fixture':<44}{'wall':>8}{'CPU':>8}{'load':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        paths = TempPaths(Path(tmp))
        for module, name in FIXTURES:
            fixture = getattr(importlib.import_module(module), name)
            wall, cpu = time.monotonic(), cpu_seconds()
            build(fixture, paths)
            print(f"{module.removeprefix('tests.') + ':' + name:<44}{time.monotonic() - wall:7.1f}s"
                  f"{cpu_seconds() - cpu:7.1f}s{os.getloadavg()[0]:7.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
