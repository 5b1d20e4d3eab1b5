"""Which of piclient's optional extras (pyproject.toml) this install can use.

The box installs piclient's own dependency list only; the maintainer's server needs the ``server``
extra on top. A command that needs an extra asks here first, so a box or a venv without it gets one
line saying what to install instead of a traceback from deep inside the first import that fails.
"""

from __future__ import annotations

import importlib.util
import re
from importlib import metadata

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class MissingExtra(Exception):
    def __init__(self, extra: str, missing: list[str]) -> None:
        super().__init__(f"this needs libraries this install does not have ({', '.join(missing)}): "
                         f"pip install 'piclient[{extra}]'")
        self.extra = extra
        self.missing = missing


def requirements(extra: str) -> list[str]:
    """The distribution names piclient's ``extra`` asks for, as its installed metadata lists them."""
    try:
        lines = metadata.requires("piclient") or []
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return []
    marker = re.compile(r"""extra\s*==\s*["']""" + re.escape(extra) + """["']""")
    names = []
    for line in lines:
        requirement, _, condition = line.partition(";")
        match = _NAME.match(requirement.strip())
        if match and marker.search(condition):
            names.append(match.group())
    return names


def missing(extra: str) -> list[str]:
    """The distributions of ``extra`` that are not installed or whose modules cannot be found."""
    return [name for name in requirements(extra) if not _importable(name)]


def require(extra: str) -> None:
    """Raise MissingExtra unless every distribution of ``extra`` is here."""
    absent = missing(extra)
    if absent:
        raise MissingExtra(extra, absent)


def _importable(name: str) -> bool:
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    for module in top_level_modules(dist):
        try:
            if importlib.util.find_spec(module) is None:
                return False
        except (ImportError, ValueError):
            return False
    return True


def top_level_modules(dist: metadata.Distribution) -> set[str]:
    """The names a distribution's modules are imported by (``argon2`` for argon2-cffi)."""
    declared = (dist.read_text("top_level.txt") or "").split()
    if declared:
        return set(declared)
    # Wheels from other build tools name no top level: the first part of each installed path does.
    tops = set()
    for path in dist.files or ():
        first = path.parts[0]
        if first in ("..", "__pycache__") or first.endswith((".dist-info", ".data")):
            continue
        tops.add(first.split(".", 1)[0])
    return tops
