"""The unit files of systemd/, read the way systemd reads them (repeated keys kept in order)."""

from __future__ import annotations

from pathlib import Path

SYSTEMD_DIR = Path(__file__).resolve().parents[2] / "systemd"


def read_unit(name: str) -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in (SYSTEMD_DIR / name).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def value(unit: dict[str, dict[str, list[str]]], section: str, key: str) -> str:
    """The effective value of a key that systemd takes once (the last assignment wins)."""
    return unit[section][key][-1]
