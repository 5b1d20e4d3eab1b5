import http.client
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from piclient.demo.server import StaticServer

BODY = bytes(range(256)) * 40  # 10 240 bytes, every offset recognisable


@pytest.fixture
def root(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    (site / "media").mkdir(parents=True)
    (site / "media" / "seg000.ts").write_bytes(BODY)
    (site / "media" / "index.m3u8").write_text("#EXTM3U\n")
    (site / "catalog.json").write_text('{"version": 1}')
    (tmp_path / "secret.txt").write_text("not for you")
    return site


@pytest.fixture
def server(root: Path) -> Iterator[StaticServer]:
    with StaticServer(root) as srv:
        yield srv


def get(server: StaticServer, path: str, headers: dict[str, str] | None = None,
        method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    port = int(server.url.rstrip("/").rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        # http.client sends the path as given, so dot segments reach the server unnormalised.
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_it_serves_files_with_their_content_type(server: StaticServer) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    status, headers, body = get(server, "/media/seg000.ts")
    assert (status, headers["Content-Type"], body) == (200, "video/mp2t", BODY)
    assert get(server, "/media/index.m3u8")[1]["Content-Type"] == "application/vnd.apple.mpegurl"
    assert get(server, "/catalog.json?x=1")[1]["Content-Type"] == "application/json"


def test_head_sends_headers_without_a_body(server: StaticServer) -> None:
    status, headers, body = get(server, "/media/seg000.ts", method="HEAD")
    assert (status, headers["Content-Length"], body) == (200, str(len(BODY)), b"")


def test_etag_and_last_modified_answer_304(server: StaticServer) -> None:
    _, headers, _ = get(server, "/catalog.json")
    assert get(server, "/catalog.json", {"If-None-Match": headers["ETag"]})[0] == 304
    assert get(server, "/catalog.json", {"If-None-Match": '"other"'})[0] == 200
    assert get(server, "/catalog.json", {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert get(server, "/catalog.json", {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})[0] == 200


def test_a_changed_file_gets_a_new_etag(server: StaticServer, root: Path) -> None:
    before = get(server, "/catalog.json")[1]["ETag"]
    os.utime(root / "catalog.json", (1, 1))
    status, headers, _ = get(server, "/catalog.json", {"If-None-Match": before})
    assert status == 200 and headers["ETag"] != before


def test_range_requests_get_206_with_exactly_those_bytes(server: StaticServer) -> None:
    status, headers, body = get(server, "/media/seg000.ts", {"Range": "bytes=100-199"})
    assert (status, body, headers["Content-Range"]) == (206, BODY[100:200], f"bytes 100-199/{len(BODY)}")
    assert get(server, "/media/seg000.ts", {"Range": "bytes=10000-"})[2] == BODY[10000:]
    assert get(server, "/media/seg000.ts", {"Range": "bytes=-16"})[2] == BODY[-16:]


def test_a_range_past_the_end_gets_416(server: StaticServer) -> None:
    status, headers, _ = get(server, "/media/seg000.ts", {"Range": "bytes=999999-"})
    assert (status, headers["Content-Range"]) == (416, f"bytes */{len(BODY)}")


@pytest.mark.parametrize("path", ["/../secret.txt", "/media/../../secret.txt", "/%2e%2e/secret.txt",
                                  "/media/%2E%2E/%2e%2e/secret.txt", "/..%2fsecret.txt", "/media/"])
def test_it_refuses_paths_outside_the_root_and_directories(server: StaticServer, path: str) -> None:
    status, _, body = get(server, path)
    assert status == 404 and b"not for you" not in body


def test_symlinks_out_of_the_root_are_refused(server: StaticServer, root: Path) -> None:
    (root / "link.txt").symlink_to(root.parent / "secret.txt")
    assert get(server, "/link.txt")[0] == 404


def test_fault_hook_replaces_the_answer(server: StaticServer) -> None:
    server.fault = lambda path: 404 if path.endswith(".ts") else None
    assert get(server, "/media/seg000.ts")[0] == 404
    assert get(server, "/catalog.json")[0] == 200
    server.fault = lambda path: 500
    assert get(server, "/catalog.json")[0] == 500


def test_throttle_slows_the_body(server: StaticServer) -> None:
    server.throttle_bytes_per_s = 20_000  # 10 KiB takes about half a second
    started = time.monotonic()
    assert get(server, "/media/seg000.ts")[2] == BODY
    assert time.monotonic() - started > 0.4


def test_hold_stops_a_body_midway_and_keeps_the_connection_silent(root: Path) -> None:
    server = StaticServer(root, hold=lambda path: 1000 if path.endswith(".ts") else None)
    port = int(server.url.rstrip("/").rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/media/seg000.ts")
        response = conn.getresponse()
        assert response.status == 200 and response.getheader("Content-Length") == str(len(BODY))
        assert response.read(1000) == BODY[:1000]
        with pytest.raises(TimeoutError):
            response.read(1)  # nothing more comes, and the connection is not closed either
        assert get(server, "/catalog.json")[0] == 200  # other files are served as usual
    finally:
        conn.close()
        server.close()
    assert not server._thread.is_alive()


def test_hold_below_zero_never_answers(root: Path) -> None:
    server = StaticServer(root, hold=lambda path: -1)
    port = int(server.url.rstrip("/").rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/media/seg000.ts")
        with pytest.raises(TimeoutError):
            conn.getresponse()
    finally:
        conn.close()
        server.close()


def test_close_stops_the_thread_and_cuts_open_connections(root: Path) -> None:
    server = StaticServer(root)
    port = int(server.url.rstrip("/").rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/catalog.json")
    conn.getresponse().read()  # the connection stays open (keep-alive)
    server.close()
    # This server's own thread: other tests' servers (session fixtures) may still be running.
    assert not server._thread.is_alive()
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        conn.request("GET", "/catalog.json")
        conn.getresponse()
    conn.close()
    server.close()  # a second close is harmless


def test_a_range_for_the_whole_file_is_still_a_206(server: StaticServer) -> None:
    status, headers, body = get(server, "/media/seg000.ts", {"Range": "bytes=0-"})
    assert (status, body, headers["Content-Range"]) == (206, BODY, f"bytes 0-{len(BODY) - 1}/{len(BODY)}")


def test_a_malformed_range_gets_the_whole_file(server: StaticServer) -> None:
    assert get(server, "/media/seg000.ts", {"Range": "bytes=abc"})[:1] == (200,)
    assert get(server, "/media/seg000.ts", {"Range": "bytes=0-1,5-6"})[2] == BODY
