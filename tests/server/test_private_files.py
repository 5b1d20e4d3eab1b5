"""The server's own files stay private: never served as library files, never readable by other local users."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import requests

from piclient.server.library import Library
from tests.server.conftest import make_library
from tests.server.helpers import auth, jpeg, running_server, start_server, upload_screenshot
from tests.server.test_cli import piclient


def test_the_server_refuses_to_start_when_library_and_data_overlap(tmp_path: Path) -> None:
    library = make_library(tmp_path / "library")
    for data in (library / "data", library, tmp_path):
        refused = piclient("--data", str(data), "--library", str(library), "--listen", "127.0.0.1:0")
        assert refused.returncode != 0, data
        assert "overlap" in refused.stderr
        assert not (data / "piclient.db").exists()


def test_a_link_into_the_data_directory_is_never_served(tmp_path: Path) -> None:
    library = make_library(tmp_path / "library")
    with running_server(tmp_path, None, "--library", str(library)) as server:
        (library / "secrets").symlink_to(server.data_dir)
        (library / "db.sqlite").symlink_to(server.data_dir / "piclient.db")
        _, token = server.add_device()
        for path in ("secrets/piclient.db", "db.sqlite"):
            reply = requests.get(f"{server.url}/library/{path}", headers=auth(token), timeout=10)
            assert reply.status_code == 404, path
        assert requests.get(f"{server.url}/library/posters/spring-day.jpg", headers=auth(token),
                            timeout=10).status_code == 200


def test_the_library_object_refuses_paths_that_resolve_into_its_private_directory(tmp_path: Path) -> None:
    private = tmp_path / "data"
    private.mkdir()
    (private / "piclient.db").write_bytes(b"secret")
    root = tmp_path / "library"
    root.mkdir()
    (root / "inside").symlink_to(private)
    (root / "film.ts").write_bytes(b"video")
    library = Library(root, private)
    assert library.file("inside/piclient.db") is None
    assert library.file("film.ts") == root / "film.ts"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_directory_database_and_screenshots_are_private(tmp_path: Path) -> None:
    data = tmp_path / "server-data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)  # as an older version left it
    server = start_server(data)
    try:
        _, token = server.add_device()
        assert upload_screenshot(server, token, jpeg()).status_code == 200
        assert mode(data) == 0o700
        assert mode(data / "piclient.db") == 0o600
        shots = [p for p in (data / "screenshots").rglob("*")]
        assert shots and all(mode(p) == (0o700 if p.is_dir() else 0o600) for p in shots), \
            [(p, oct(mode(p))) for p in shots]
    finally:
        server.stop()
