"""Install a verified bundle, offline, into a new venv beside the running one.

The venv is built in its final folder (its scripts name their interpreter by absolute path, so it
cannot be moved afterwards) and marked complete only when pip has finished: a folder without the
marker is half an install, never started, and removed by ``switch.recover()``.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from piclient.fsutil import atomic_write, fsync_dir
from piclient.update import bundle
from piclient.update.layout import COMPLETE, UNPACK_PREFIX, Layout

log = logging.getLogger(__name__)

PIP_TIMEOUT_S = 900.0  # hundreds of MB of wheels on an SD card


class InstallError(Exception):
    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


def install(layout: Layout, bundle_path: Path, manifest: bundle.Manifest, *,
            system_site_packages: bool = True, python: str = sys.executable,
            hook: Callable[[str], None] = lambda step: None) -> Path:
    """Return the complete venv of ``manifest.version`` (installing it unless it already is)."""
    target = layout.version_dir(manifest.version)
    if layout.is_complete(target):
        log.info("version %s is already installed", manifest.version)
        return target
    if target.exists():
        shutil.rmtree(target)
    layout.versions.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=layout.root, prefix=UNPACK_PREFIX) as tmp:
        wheels = bundle.extract_wheels(bundle_path, manifest, Path(tmp))
        venv_cmd = [python, "-m", "venv", "--without-pip"]
        if system_site_packages:  # Debian's libcec and systemd bindings live there
            venv_cmd.append("--system-site-packages")
        _run([*venv_cmd, str(target)], "could not create the venv")
        hook("venv-created")
        # pip from the running install drives the new venv's interpreter: the new venv needs no pip.
        _run([python, "-m", "pip", "--disable-pip-version-check", "--no-input", "--python",
              str(target / "bin" / "python"), "install", "--no-index", "--find-links", str(wheels),
              "--only-binary=:all:", manifest.requirement], "pip could not install the bundle")
    if not (target / "bin" / "piclient").exists():
        raise InstallError(f"the bundle installed no piclient command ({manifest.requirement})")
    _sync_tree(target)
    atomic_write(target / COMPLETE, manifest.to_json())
    fsync_dir(layout.versions)
    return target


def _run(cmd: list[str], what: str) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise InstallError(f"{what}: no answer in {PIP_TIMEOUT_S:.0f} s") from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr)[-4000:]
        raise InstallError(f"{what} (exit {done.returncode})", output)


def _sync_tree(root: Path) -> None:
    # The marker must not reach the disk before the files it vouches for. os.sync() flushes every
    # file system at once (Python 3.11 has no syncfs); on the box that is the data partition anyway.
    del root
    os.sync()
