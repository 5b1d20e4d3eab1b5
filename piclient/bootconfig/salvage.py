"""A config with mistakes still runs the box: every setting that is valid is kept, each broken one
falls back to its default, and every mistake is listed for the TV and the journal.

Why not refuse the whole file: an installer who mistypes the Wi-Fi password must still see the
launcher (with the mistake on screen), and the agent must still phone home over a cable when the
server part is right, so the maintainer can help.

Why per setting and not per section: a mistyped time zone must not take the SSH keys or the Wi-Fi
with it (the box would then be unreachable for the one person who can fix it from afar). A setting is
a key of a section (``system.timezone``); a mapping inside it (``system.wifi``) goes as a whole, since
half of a Wi-Fi (a name without its password) would join nothing, or the wrong network. A mistake the
schema reports for a whole section (``server``: plain http) drops that section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from piclient.config import Config, ConfigError, parse_config


@dataclass(frozen=True)
class Salvaged:
    config: Config
    # The file's own data minus the settings that were dropped: what the runtime config file holds.
    data: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def server_ready(self) -> bool:
        return bool(self.config.server.url and self.config.server.token)


def salvage_file(path: Path) -> Salvaged:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Salvaged(Config(), {}, [f"(file): {path.name} is not on the boot partition; "
                                       "copy config.example.yaml there as piclient.yaml"])
    except OSError as exc:
        return Salvaged(Config(), {}, [f"(file): cannot be read ({exc}); save it as UTF-8 text"])
    return salvage_bytes(data)


def salvage_bytes(data: bytes) -> Salvaged:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Salvaged(Config(), {}, [f"(file): cannot be read ({exc}); save it as UTF-8 text"])
    return salvage(text)


def salvage(text: str) -> Salvaged:
    try:
        return Salvaged(parse_config(text), _plain(yaml.safe_load(text)))
    except ConfigError as exc:
        problems = exc.problems
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return Salvaged(Config(), {}, problems, ["(file)"])
    if not isinstance(data, dict):
        return Salvaged(Config(), {}, problems, ["(file)"])
    data = _plain(data)
    dropped: list[str] = []
    # Each round removes at least one key, so the rounds are bounded by the number of keys.
    for _ in range(_count_keys(data) + 1):
        try:
            return Salvaged(parse_config(yaml.safe_dump(data)), data, problems, dropped)
        except ConfigError as exc:
            removed = sorted(path for path in {_setting(problem) for problem in exc.problems}
                             if _remove(data, path))
            if not removed:  # a mistake no key can be blamed for: give up a section rather than loop
                removed = [next(iter(data))]
                del data[removed[0]]
            dropped.extend(removed)
    return Salvaged(Config(), {}, problems, [*dropped, "(file)"])


def _setting(problem: str) -> str:
    """``system.wifi.password: ...`` -> ``system.wifi``; ``server: ...`` -> ``server``."""
    return ".".join(problem.split(": ", 1)[0].split(".")[:2])


def _remove(data: dict[str, Any], path: str) -> bool:
    section, _, key = path.partition(".")
    if section not in data:
        return False
    inner = data[section]
    if key and isinstance(inner, dict) and key in inner:
        data[section] = {name: value for name, value in inner.items() if name != key}
    else:  # the whole section is named, or it is not a mapping at all: the section goes
        del data[section]
    return True


def _count_keys(data: dict[str, Any]) -> int:
    return sum(1 + (len(value) if isinstance(value, dict) else 0) for value in data.values())


def _plain(data: Any) -> dict[str, Any]:
    return dict(data) if isinstance(data, dict) else {}
