"""A process's resident memory, in all and per kind of mapping, from /proc (the hand-over's memory checks)."""

from __future__ import annotations

from pathlib import Path


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def rss_by_mapping(pid: int) -> dict[str, int]:
    """Resident kB per kind of mapping (/proc/PID/smaps): where a growth sits tells whose it is."""
    sizes: dict[str, int] = {}
    for kind, resident in mappings(pid):
        sizes[kind] = sizes.get(kind, 0) + resident
    return sizes


MIB = 1024 * 1024
ARENA = "anon: malloc arenas"


def malloc_arenas(pid: int) -> int:
    """How many of glibc's mmap-made malloc arenas the process has (the main one, on the brk heap, aside)."""
    return sum(1 for kind, _resident in mappings(pid) if kind == ARENA)


def mappings(pid: int) -> list[tuple[str, int]]:
    """Each mapping of /proc/PID/smaps as (its kind, its resident kB)."""
    found: list[tuple[str, int]] = []
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and not fields[0].endswith(":"):  # a mapping's header line
            start, end = (int(address, 16) for address in fields[0].split("-"))
            found.append((mapping_kind(fields[5] if len(fields) > 5 else "", start, end - start), 0))
        elif fields[:1] == ["Rss:"] and found:
            kind, resident = found[-1]
            found[-1] = (kind, resident + int(fields[1]))
    return found


def mapping_kind(path: str, start: int = 1, size: int = 0) -> str:
    if not path:
        # glibc's malloc arenas for threads other than the main one are reserved 64 MiB at a time at
        # 64 MiB boundaries; CPython keeps its small objects in arenas of 1 MiB.
        if start % (64 * MIB) == 0:
            return ARENA
        return "anon: 1 MiB (Python objects)" if size == MIB else "anon: other"
    if path.startswith("["):
        return path  # [heap], [stack], ...
    name = Path(path).name
    for library in ("LLVM", "gallium", "dri", "mpv", "av", "SDL", "python", "EGL", "GL", "gbm", "mesa", "drm"):
        if library in name:
            return library
    if path.startswith(("/dev/", "/memfd:", "/drm")):
        return "device/memfd"
    return "other files"
