from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from piclient.update import bundle, install
from piclient.update.layout import Layout
from tests.update.supervisor import ProcessUnits
from tests.update.versions import build_bundle


@pytest.fixture(scope="session")
def factory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image's own install: a real venv of version 1.0, built once, never written again."""
    work = tmp_path_factory.mktemp("factory")
    path, sha = build_bundle(work, "1.0")
    manifest = bundle.verify(path, sha)
    return install.install(Layout(root=work / "image"), path, manifest, system_site_packages=False)


@pytest.fixture
def layout(tmp_path: Path, factory: Path) -> Layout:
    return Layout(root=tmp_path / "updates", factory=factory)


@pytest.fixture
def units(layout: Layout, tmp_path: Path) -> Iterator[ProcessUnits]:
    supervisor = ProcessUnits(layout, tmp_path / "run")
    supervisor.start()
    yield supervisor
    supervisor.stop()
