"""The launcher's cap on glibc's malloc arenas, in a child process of its own (it changes malloc)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

THREADS_ALLOCATE = textwrap.dedent("""
    import ctypes, json, os, sys, threading
    sys.path.insert(0, sys.argv[1])
    from piclient.malloc_arenas import limit_arenas
    from tests.hw.memory import malloc_arenas

    limited = limit_arenas(2) if sys.argv[2] == "limit" else None
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    together = threading.Barrier(8)

    def allocate():  # eight threads alive at once, each with memory of its own
        blocks = [libc.malloc(64 * 1024) for _ in range(16)]
        together.wait()
        for block in blocks:
            ctypes.memset(block, 1, 64 * 1024)
        together.wait()

    threads = [threading.Thread(target=allocate) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"limited": limited, "arenas": malloc_arenas(os.getpid())}))
""")


def _arenas(mode: str) -> dict:
    root = str(Path(__file__).resolve().parents[1])
    env = {"PATH": "/usr/bin:/bin"}  # no MALLOC_ARENA_MAX from outside
    done = subprocess.run([sys.executable, "-c", THREADS_ALLOCATE, root, mode], capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's arenas, seen in /proc")
def test_eight_threads_share_two_malloc_arenas_once_limited() -> None:
    unlimited, limited = _arenas("default"), _arenas("limit")
    assert unlimited["arenas"] >= 4, unlimited  # glibc's default: an arena per thread, here
    assert limited == {"limited": True, "arenas": 1}, limited  # the main arena (brk) and one more
