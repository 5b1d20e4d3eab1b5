"""The hardware tests run only inside the hardware-test VM (`make hw-test`, tests/hw/run_vm.py).

Outside it they are not even collected: `make test` and a plain `pytest` never see them. Inside, the
VM has vivid's emulated HDMI-CEC bus (/dev/cec0 the TV's side, /dev/cec1 the box's) and a virtio-gpu
KMS display; the library of films was made on the host before boot (tests/hw/library.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from piclient.demo.server import StaticServer
from tests.hw.box import SLOW, Box, box_config
from tests.hw.cec_tv import Tv

IN_VM = os.environ.get("PICLIENT_HW_VM") == "1"
RESULTS = Path(os.environ.get("PICLIENT_HW_RESULTS", "/hw-results"))

if not IN_VM:
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def library() -> Path:
    root = RESULTS / "library"
    assert (root / "catalog.json").exists(), "the host did not prepare the library (tests/hw/library.py)"
    return root


@pytest.fixture
def server(library: Path) -> Iterator[StaticServer]:
    with StaticServer(library) as static:
        yield static


@pytest.fixture
def results(request: pytest.FixtureRequest) -> Path:
    """A folder on the host (build/hw-test/<test name>) for this test's pictures and logs."""
    path = RESULTS / request.node.name.replace("/", "_")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def tv() -> Iterator[Tv]:
    """The TV on the CEC bus (its logs in build/hw-test/cec)."""
    logs = RESULTS / "cec"
    logs.mkdir(parents=True, exist_ok=True)
    tv = Tv(logs)
    yield tv
    tv.stop()


EMPTY_CATALOG = '{"version": 1, "titles": []}'


def hide_films(library: Path) -> None:
    """The library's catalog served empty (the films' own kept aside for ``show_films``)."""
    films = library / "catalog.films.json"
    if not films.exists():
        (library / "catalog.json").rename(films)
    (library / "catalog.json").write_text(EMPTY_CATALOG, encoding="utf-8")


def show_films(library: Path) -> None:
    (library / "catalog.films.json").replace(library / "catalog.json")


@pytest.fixture(scope="session")
def box(tv: Tv, library: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    """The box for the whole run, as on a Pi: one real launcher with CEC on and the hand-over output
    on the KMS display (its log in build/hw-test/box.log). Starting one costs about 20 s in
    emulation, so the CEC key tests and the display tests share it. It starts while the TV is in
    standby, with an empty catalog: the key tests want a screen on which keys change nothing; the
    display tests give it the films (``show_films`` and a reload)."""
    tv.start(standby=True)
    hide_films(library)
    directory = tmp_path_factory.mktemp("box")
    with StaticServer(library) as server:
        box = Box(directory, box_config(directory, server.url + "catalog.json", output="handover"),
                  video="kmsdrm", ready_timeout=SLOW, keep_log=RESULTS / "box.log")
        box.ctl.timeout = 60  # mpv's screenshot renders its window again, in software
        yield box
        assert box.stop() == 0, box.log()[-3000:]
