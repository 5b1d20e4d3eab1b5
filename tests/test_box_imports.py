"""The box installs piclient's own dependency list only: its commands must not need the server's libraries.

Each test runs a fresh Python (tests/box_imports.py) that refuses the ``server`` extra's modules, as
the SD image's venv and an update bundle's would by not having them.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

from piclient import extras
from tests.systemd.units import SYSTEMD_DIR, read_unit

REPO = Path(__file__).resolve().parents[1]
# The image installs every unit but this one: the server is the maintainer's.
NOT_ON_THE_BOX = {"piclient-server.service"}
ASSEMBLE = REPO / "image" / "assemble.sh"
# What people and the agent run on the box besides the units: `ctl` over SSH, checks and a manual sync.
BY_HAND = [["ctl", "status"], ["config", "check", "piclient.yaml"], ["sync"], ["update", "status"]]


def project() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def unit_commands() -> list[list[str]]:
    """The piclient command lines the box's units start (run-current starts piclient with its arguments)."""
    files = [*SYSTEMD_DIR.glob("*.service"), *SYSTEMD_DIR.glob("*.service.d/*.conf")]
    commands = []
    for path in sorted(files):
        if path.name in NOT_ON_THE_BOX:
            continue
        service = read_unit(str(path.relative_to(SYSTEMD_DIR))).get("Service", {})
        for key in ("ExecStartPre", "ExecStart", "ExecStartPost"):
            for line in service.get(key, []):
                argv = shlex.split(line.lstrip("-@:+!"))
                if argv and Path(argv[0]).name in ("piclient", "run-current"):
                    commands.append(argv[1:])
    return commands


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tests.box_imports", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def walk(**roots: list[Any]) -> dict[str, Any]:
    done = run("walk", json.dumps(roots))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_the_box_commands_import_nothing_the_server_extra_brings() -> None:
    for unit in NOT_ON_THE_BOX:  # left out of the walk only because the image leaves it out
        assert f'rm "$ROOTFS/etc/systemd/system/{unit}"' in ASSEMBLE.read_text(encoding="utf-8")
    from_units = unit_commands()
    # The walk is only as good as its roots: the units start the launcher, the agent, the boot config and the updater.
    assert {tuple(c[:1]) for c in from_units} >= {("tv",), ("agent",), ("boot-config",), ("update",)}
    found = walk(commands=from_units + BY_HAND)
    assert found["failures"] == [], json.dumps(found["failures"], indent=1)
    assert {"piclient.tv", "piclient.agent.main", "piclient.bootconfig.apply", "piclient.bootconfig.notice",
            "piclient.update.runner", "piclient.update.install", "piclient.control.client",
            "piclient.whole_images"} <= set(found["loaded"])
    assert not [m for m in found["loaded"] if m.startswith("piclient.server.")]
    # The other way round: every library the box installs is one its commands import (simplejpeg
    # and the like are imported inside functions, which the walk follows).
    for line in project()["dependencies"]:
        name = Requirement(line).name
        assert extras.top_level_modules(metadata.distribution(name)) & set(found["libraries"]), name


def test_the_server_cannot_be_imported_without_its_extra_so_the_walk_can_fail() -> None:
    found = walk(modules=["piclient.server.cli"])
    missing = {f["missing"].partition(".")[0] for f in found["failures"]}
    assert {"sqlalchemy", "uvicorn"} <= missing
    assert missing <= set(found["refused"])


def test_the_refused_modules_are_the_server_extras_distributions() -> None:
    found = walk()
    names = {Requirement(line).name for line in project()["optional-dependencies"]["server"]}
    assert set(found["refused"].values()) == names
    assert {"starlette", "uvicorn", "sqlalchemy", "argon2", "jinja2"} <= set(found["refused"])
    assert set(extras.requirements("server")) == names  # the installed metadata is this pyproject.toml's
    assert extras.missing("server") == []  # and this venv (make venv) has them


def test_piclient_server_without_its_extra_says_what_to_install_in_one_line(tmp_path: Path) -> None:
    for argv in (["server", "--data", str(tmp_path / "data")],
                 ["server", "add-device", "Living room", "--data", str(tmp_path / "data")],
                 ["demo", "--headless", "--cache", str(tmp_path / "demo")]):
        done = run("cli", *argv)
        assert done.returncode == 2, done.stderr
        assert done.stdout == ""
        lines = done.stderr.splitlines()
        assert len(lines) == 1, done.stderr
        assert "pip install 'piclient[server]'" in lines[0] and "uvicorn" in lines[0]
        assert lines[0].startswith(f"piclient {argv[0]}: ")
    assert list(tmp_path.iterdir()) == []  # nothing was started or written
