"""glibc's malloc arenas: how many the launcher's threads spread their memory over.

Every film starts threads of mpv's and Mesa's (demuxer, decoders, video output, llvmpipe's
rasterisers). glibc gives a thread that finds no free arena a new one, up to eight per core, and
what is freed in an arena stays there for its own reuse rather than going back to the system. In
the hardware-test VM the launcher's resident memory grew by about 100 MB over ten hand-over films,
all of it in such arenas; a bare python-mpv player did the same, and with two arenas the same
films levelled off after the fourth (bench/handover_memory_bench.py, docs/benchmarks.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_ARENA_MAX = -8  # <malloc.h>


def limit_arenas(count: int) -> bool:
    """Let at most ``count`` arenas serve this process from now on (call it before threads start).

    False where it cannot be done: a C library that is not glibc, or MALLOC_ARENA_MAX set in the
    environment, which glibc has already applied and which is left to win (for measuring).
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_ARENA_MAX, count))
