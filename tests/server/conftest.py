from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.helpers import RunningServer, start_server
from tests.server.postgres import PostgresCluster, find_bin_dir


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql")
    cluster = PostgresCluster(bin_dir)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def database_url(request: pytest.FixtureRequest, backend: str) -> str | None:
    if backend == "sqlite":
        return None
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server per test module and database; tests make their own devices, so they do not interfere."""
    yield from server_for_module(request, tmp_path_factory)


def server_for_module(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                      *extra: str) -> Iterator[RunningServer]:
    """The body of a module-scoped server fixture parametrised by database, with ``extra`` flags."""
    url = database_url(request, request.param)
    data = tmp_path_factory.mktemp(f"server-{request.param}")
    library = make_library(data / "library")
    running = start_server(data / "data", url, "--library", str(library), *extra)
    running.set_password()
    try:
        yield running
    finally:
        running.stop()


def make_library(root: Path) -> Path:
    (root / "posters").mkdir(parents=True, exist_ok=True)
    (root / "catalog.json").write_text('{"version": 1, "titles": []}', encoding="utf-8")
    (root / "posters" / "spring-day.jpg").write_bytes(bytes(range(256)) * 40)
    (root / ".complete").write_text("", encoding="utf-8")
    return root
