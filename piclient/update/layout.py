"""Where an update's files live on the data partition, in one place for every module."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ROOT = Path("/var/lib/piclient/updates")
# The image's own install on the read-only root: what boots when no update was ever kept.
FACTORY = Path("/opt/piclient")
COMPLETE = ".complete"  # written last into a version's venv: without it the folder is half of one
UNPACK_PREFIX = ".unpack-"  # a bundle's wheels while pip installs them; removed after, or by recover
VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$")


class BadVersion(ValueError):
    pass


def check_version(version: str) -> str:
    # A version becomes a folder name: nothing that could climb out of versions/.
    if not VERSION_RE.match(version) or ".." in version:
        raise BadVersion(f"not a version name: {version!r}")
    return version


@dataclass(frozen=True)
class Layout:
    root: Path = DEFAULT_ROOT
    factory: Path = FACTORY

    @property
    def versions(self) -> Path:
        return self.root / "versions"

    @property
    def current(self) -> Path:
        return self.root / "current"

    @property
    def previous(self) -> Path:
        return self.root / "previous"

    @property
    def incoming(self) -> Path:
        return self.root / "incoming"

    @property
    def request(self) -> Path:
        return self.root / "request.json"

    @property
    def status(self) -> Path:
        return self.root / "status.json"

    @property
    def alive(self) -> Path:
        return self.root / "alive"

    @property
    def backups(self) -> Path:
        return self.root / "backups"

    def version_dir(self, version: str) -> Path:
        return self.versions / check_version(version)

    def partial_dir(self, version: str) -> Path:
        return self.versions / f"{check_version(version)}.partial"

    def is_complete(self, venv: Path) -> bool:
        if venv == self.factory:  # the image's install is complete by construction (read-only root)
            return (venv / "bin" / "piclient").exists()
        return (venv / COMPLETE).is_file() and (venv / "bin" / "piclient").exists()

    def running_venv(self) -> Path:
        """The venv the units start: ``current`` when it names a complete version, else the image's own."""
        target = self.link_target(self.current)
        if target is not None and self.is_complete(target):
            return target
        return self.factory

    def link_target(self, link: Path) -> Path | None:
        if not link.is_symlink():
            return None
        target = link.parent / link.readlink()
        return target if target.is_dir() else None

    def version_of(self, venv: Path) -> str:
        return "factory" if venv == self.factory else venv.name
