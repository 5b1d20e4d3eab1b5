"""A config with mistakes still runs the box: the sections that are valid are kept, the others fall
back to their defaults, and every mistake is listed for the TV and the journal.

Why not refuse the whole file: an installer who mistypes the Wi-Fi password must still see the
launcher (with the mistake on screen), and the agent must still phone home over a cable when the
server part is right, so the maintainer can help.
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
    # The file's own data minus the sections that were dropped: what the runtime config file holds.
    data: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def server_ready(self) -> bool:
        return bool(self.config.server.url and self.config.server.token)


def salvage_file(path: Path) -> Salvaged:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Salvaged(Config(), {}, [f"(file): {path.name} is not on the boot partition; "
                                       "copy config.example.yaml there as piclient.yaml"])
    except (OSError, UnicodeDecodeError) as exc:
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
    # Drop one broken section at a time until the rest validates; at most one round per section.
    for _ in range(len(data) + 1):
        try:
            return Salvaged(parse_config(yaml.safe_dump(data)), data, problems, dropped)
        except ConfigError as exc:
            sections = {_section(problem) for problem in exc.problems}
            broken = [name for name in data if name in sections] or list(data)[:1]
            for name in broken:
                data.pop(name, None)
                dropped.append(name)
    return Salvaged(Config(), {}, problems, [*dropped, "(file)"])


def _section(problem: str) -> str:
    return problem.split(":", 1)[0].split(".", 1)[0]


def _plain(data: Any) -> dict[str, Any]:
    return dict(data) if isinstance(data, dict) else {}
