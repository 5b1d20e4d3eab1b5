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


@pytest.fixture(scope="module")
def tv() -> Iterator[Tv]:
    """The TV on the CEC bus, one per test module (its logs in build/hw-test/cec)."""
    logs = RESULTS / "cec"
    logs.mkdir(parents=True, exist_ok=True)
    tv = Tv(logs)
    yield tv
    tv.stop()
