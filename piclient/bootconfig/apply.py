"""`piclient boot-config apply`: run as root by piclient-boot-config.service before the network and the
piclient units start. It never fails the boot: whatever the file says, the box comes up and says what
is wrong."""

from __future__ import annotations

import contextlib
import grp
import json
import logging
import os
import socket
from pathlib import Path

import yaml

from piclient.bootconfig.salvage import Salvaged, salvage_bytes, salvage_file
from piclient.bootconfig.system import system_files
from piclient.fsutil import atomic_write

log = logging.getLogger(__name__)

RUNTIME_CONFIG = "piclient.yaml"
PROBLEMS = "config-problems.json"
# piclient-agent.service starts only when this exists (ConditionPathExists=): without a server it
# would have nobody to call.
SERVER_FLAG = "server-configured"


def apply(config_path: Path, root: Path = Path("/"), run_dir: Path = Path("/run/piclient"),
          kept: Path | None = None) -> Salvaged:
    result = _read(config_path, kept)
    for problem in result.problems:
        log.warning("%s: %s", config_path, problem)
    if result.dropped:
        log.warning("settings left at their defaults because of these problems: %s", ", ".join(result.dropped))

    for relative, spec in system_files(result.config.system).items():
        target = root / relative
        if relative.startswith("run/piclient/"):
            target = run_dir / relative.removeprefix("run/piclient/")
        if spec.link:
            target.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            target.symlink_to(spec.link)
        else:
            atomic_write(target, spec.content, spec.mode)
    if root == Path("/"):
        try:
            socket.sethostname(result.config.system.hostname)
        except OSError as exc:
            log.warning("the host name could not be set now: %s", exc)

    # The launcher and agent read this copy: valid settings only, readable by the piclient group.
    runtime = run_dir / RUNTIME_CONFIG
    atomic_write(runtime, yaml.safe_dump(result.data, sort_keys=False, allow_unicode=True), 0o640)
    _group_readable(runtime)
    problems = run_dir / PROBLEMS
    if result.problems:
        atomic_write(problems, json.dumps({"problems": result.problems, "dropped": result.dropped},
                                          ensure_ascii=False, indent=1), 0o640)
        _group_readable(problems)
    else:
        with contextlib.suppress(FileNotFoundError):
            problems.unlink()
    flag = run_dir / SERVER_FLAG
    if result.server_ready:
        flag.touch()
    else:
        with contextlib.suppress(FileNotFoundError):
            flag.unlink()
        log.warning("server.url or server.token is missing: the agent will not start")
    log.info("applied %s: host name %s, Wi-Fi %s, SSH %s, %d problem(s)", config_path,
             result.config.system.hostname, result.config.system.wifi.ssid or "(none)",
             "on" if result.config.system.ssh_authorized_keys else "off", len(result.problems))
    return result


def _read(config_path: Path, kept: Path | None) -> Salvaged:
    """The card's file; when it cannot be read at all (the boot partition did not mount, or the file is
    gone), the copy kept at the last boot that could read it, so the box still joins Wi-Fi and phones
    home, and says what happened. The copy holds the Wi-Fi password and token: root's alone."""
    try:
        text = config_path.read_bytes()
    except OSError:
        text = None
    if text is not None:
        if kept is not None and not _same(kept, text):
            try:
                atomic_write(kept, text, 0o600)
            except OSError as exc:
                log.warning("the last good piclient.yaml could not be kept at %s: %s", kept, exc)
        return salvage_bytes(text)
    if kept is None or not kept.is_file():
        return salvage_file(config_path)  # says why the card's file cannot be read
    result = salvage_file(kept)
    result.problems.insert(0, f"(file): {config_path} cannot be read (is the boot partition there?); "
                              "the settings of the last boot that could read it are in use")
    return result


def _same(path: Path, text: bytes) -> bool:
    """Written only when it changed: the card is written to at every boot otherwise."""
    try:
        return path.read_bytes() == text
    except OSError:
        return False


def _group_readable(path: Path) -> None:
    """Owned by root, readable by the piclient group, where that group exists (the image; not a test)."""
    try:
        gid = grp.getgrnam("piclient").gr_gid
    except KeyError:
        return
    if os.geteuid() == 0:
        os.chown(path, 0, gid)
