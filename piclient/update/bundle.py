"""A bundle: one tar of wheels and a manifest, checked as a whole by SHA-256 and file by file.

    manifest.json   {"format": 1, "version": "0.2.0", "python": "3.11",
                     "platform": "manylinux2014_aarch64", "requirement": "piclient==0.2.0",
                     "files": {"wheels/piclient-0.2.0-py3-none-any.whl": "<sha256>", ...}}
    wheels/*.whl

The box refuses a bundle for another Python or machine, one with a file the manifest does not
list (or listed but missing, or with another hash), and any member that is not a plain file in
wheels/ (links, absolute paths, ``..``).
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import sys
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from piclient.update.layout import BadVersion, check_version

FORMAT = 1
MAX_MANIFEST = 1024 * 1024
CHUNK = 1024 * 1024


class BadBundle(Exception):
    pass


@dataclass(frozen=True)
class Manifest:
    version: str
    python: str
    platform: str
    requirement: str
    files: dict[str, str]

    def to_json(self) -> bytes:
        return json.dumps({"format": FORMAT, "version": self.version, "python": self.python,
                           "platform": self.platform, "requirement": self.requirement,
                           "files": self.files}, indent=1, sort_keys=True).encode("utf-8")

    @classmethod
    def parse(cls, raw: bytes) -> Manifest:
        try:
            doc: Any = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadBundle(f"manifest.json is not JSON: {exc}") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise BadBundle(f"manifest.json is not a format-{FORMAT} manifest")
        fields = {k: doc.get(k) for k in ("version", "python", "platform", "requirement")}
        for key, value in fields.items():
            if not isinstance(value, str) or not value:
                raise BadBundle(f"manifest.json: {key} is missing")
        files = doc.get("files")
        if not isinstance(files, dict) or not files or not all(
                isinstance(k, str) and isinstance(v, str) and len(v) == 64 for k, v in files.items()):
            raise BadBundle("manifest.json: files must map each wheel to its SHA-256")
        try:
            check_version(fields["version"])
        except BadVersion as exc:
            raise BadBundle(f"manifest.json: {exc}") from None
        return cls(files=files, **fields)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def this_platform() -> tuple[str, str]:
    """The Python and machine a bundle must be built for to install here."""
    return f"{sys.version_info.major}.{sys.version_info.minor}", platform.machine()


def _platform_fits(bundle_platform: str, machine: str) -> bool:
    return bundle_platform == "any" or bundle_platform.endswith(machine)


def _safe_member(member: tarfile.TarInfo) -> bool:
    name = member.name
    return (member.isfile() and name.startswith("wheels/") and name.endswith(".whl")
            and "/" not in name[len("wheels/"):] and ".." not in name)


def read_manifest(path: Path) -> Manifest:
    try:
        with tarfile.open(path, "r:") as tar:
            try:
                member = tar.getmember("manifest.json")
            except KeyError:
                raise BadBundle("the bundle has no manifest.json") from None
            if not member.isfile() or member.size > MAX_MANIFEST:
                raise BadBundle("manifest.json is not a small plain file")
            handle = tar.extractfile(member)
            assert handle is not None
            return Manifest.parse(handle.read())
    except (tarfile.TarError, OSError) as exc:
        raise BadBundle(f"not a bundle (an uncompressed tar): {exc}") from None


def verify(path: Path, expected_sha256: str | None = None, *, python: str | None = None,
           machine: str | None = None) -> Manifest:
    """Check the whole file's hash, the manifest, and every wheel's hash. Raises BadBundle."""
    if expected_sha256 is not None:
        actual = sha256_file(path)
        if actual != expected_sha256.lower():
            raise BadBundle(f"the bundle's SHA-256 is {actual[:12]}…, the server said {expected_sha256[:12]}…")
    manifest = read_manifest(path)
    here_python, here_machine = this_platform()
    python, machine = python or here_python, machine or here_machine
    if manifest.python != python:
        raise BadBundle(f"the bundle is for Python {manifest.python}; this box runs {python}")
    if not _platform_fits(manifest.platform, machine):
        raise BadBundle(f"the bundle is for {manifest.platform}; this box is {machine}")
    seen: set[str] = set()
    with tarfile.open(path, "r:") as tar:
        for member in tar.getmembers():
            if member.name == "manifest.json":
                continue
            if not _safe_member(member):
                raise BadBundle(f"the bundle holds {member.name!r}, which is not a wheel in wheels/")
            expected = manifest.files.get(member.name)
            if expected is None:
                raise BadBundle(f"{member.name} is not in the manifest")
            handle = tar.extractfile(member)
            assert handle is not None
            digest = hashlib.sha256()
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
            if digest.hexdigest() != expected:
                raise BadBundle(f"{member.name} does not match its SHA-256 in the manifest")
            seen.add(member.name)
    missing = set(manifest.files) - seen
    if missing:
        raise BadBundle(f"the manifest lists {sorted(missing)[0]}, which the bundle lacks")
    return manifest


def extract_wheels(path: Path, manifest: Manifest, into: Path) -> Path:
    """Unpack the (already verified) wheels into ``into``/wheels and return that folder."""
    wheels = into / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "r:") as tar:
        for member in tar.getmembers():
            if member.name in manifest.files and _safe_member(member):
                handle = tar.extractfile(member)
                assert handle is not None
                (wheels / Path(member.name).name).write_bytes(handle.read())
    return wheels


def build(wheels: Iterable[Path], out: Path, *, version: str, requirement: str, python: str,
          platform_tag: str) -> Manifest:
    """Write a bundle of ``wheels`` to ``out`` (the maintainer's side: `make bundle`, the tests)."""
    wheel_list = sorted(set(wheels), key=lambda p: p.name)
    files = {f"wheels/{w.name}": sha256_file(w) for w in wheel_list}
    manifest = Manifest(version=check_version(version), python=python, platform=platform_tag,
                        requirement=requirement, files=files)
    raw = manifest.to_json()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tarfile.open(tmp, "w:", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
        for wheel in wheel_list:
            tar.add(wheel, arcname=f"wheels/{wheel.name}", recursive=False)
    tmp.replace(out)
    return manifest
