from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.agent.agent_process import AgentProcess, write_agent_config
from tests.agent.protocol_server import ProtocolServer
from tests.catalogs import film, write_catalog
from tests.launcher import Launcher, write_config


def _poster(path: Path, colour: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    Image.new("RGB", (200, 300), colour).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "library"
    titles = []
    for n in range(1, 6):
        _poster(root / "posters" / f"film-{n}.jpg", (40 * n, 80, 120))
        titles.append(film(f"film-{n}", f"영화 {n}", f"Film {n}", poster=f"posters/film-{n}.jpg"))
    write_catalog(root / "catalog.json", titles)
    return root


@pytest.fixture
def server(library: Path) -> Iterator[ProtocolServer]:
    with ProtocolServer(library) as srv:
        yield srv


@pytest.fixture
def start_agent(tmp_path: Path, server: ProtocolServer) -> Iterator[Callable[..., AgentProcess]]:
    started: list[AgentProcess] = []

    def start(**agent: Any) -> AgentProcess:
        config = write_agent_config(tmp_path, server.url, **agent)
        process = AgentProcess(tmp_path, config)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait(timeout=5)


@pytest.fixture
def tv(tmp_path: Path) -> Iterator[Launcher]:
    # No catalog source of its own: the agent fills the launcher's cache from the server.
    launcher = Launcher(tmp_path, write_config(tmp_path, ""))
    yield launcher
    launcher.stop()
