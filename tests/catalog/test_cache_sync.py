import contextlib
import io
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from piclient.catalog.cache import CacheMeta, CatalogCache, ErrorKind, poster_key
from piclient.catalog.posters import GRID_SIZE, PAGE_SIZE
from piclient.catalog.sync import CatalogSync, SyncLoop, SyncResult
from piclient.logs import RecentProblems

pytestmark = pytest.mark.timeout(30)


# -- a small origin server on 127.0.0.1 -------------------------------------------------------------


@dataclass
class Route:
    body: bytes
    status: int = 200
    content_type: str = "application/octet-stream"
    etag: str | None = None
    delay: float = 0.0
    send_length: bool = True
    headers: dict[str, str] = field(default_factory=dict)


class Origin:
    """Serves ``routes``, answers If-None-Match with 304, and records every request's headers."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []
        origin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                origin.seen.append((self.path, dict(self.headers)))
                route = origin.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                time.sleep(route.delay)
                if route.etag and self.headers.get("If-None-Match") == route.etag:
                    self.send_response(304)
                    self.send_header("ETag", route.etag)
                    self.end_headers()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                if route.send_length:
                    self.send_header("Content-Length", str(len(route.body)))
                if route.etag:
                    self.send_header("ETag", route.etag)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                # The client may hang up on purpose, at its size cap.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(route.body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def requests_to(self, path: str) -> list[dict[str, str]]:
        return [headers for p, headers in self.seen if p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def origin():
    server = Origin()
    yield server
    server.close()


@pytest.fixture
def cache(tmp_path):
    return CatalogCache(tmp_path / "data")


def image_bytes(colour=(200, 30, 30), size=(300, 450), fmt="JPEG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt)
    return out.getvalue()


def catalog_json(*titles: dict) -> bytes:
    return json.dumps({"version": 1, "titles": list(titles)}).encode()


def film(ident: str, poster: str | None = None, stream: str | None = None) -> dict:
    entry = {"id": ident, "kind": "film", "title": {"en": ident}, "stream": stream or f"films/{ident}.m3u8"}
    if poster is not None:
        entry["poster"] = poster
    return entry


def serve_catalog(origin: Origin, *titles: dict, etag: str = '"v1"') -> bytes:
    raw = catalog_json(*titles)
    origin.routes["/catalog.json"] = Route(raw, content_type="application/json", etag=etag)
    return raw


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- http source ------------------------------------------------------------------------------------


def test_the_first_sync_stores_the_catalog_exactly_and_prepares_its_posters(origin, cache):
    raw = serve_catalog(origin, film("a", poster="posters/a.jpg"), film("b", poster="posters/b.png"))
    origin.routes["/posters/a.jpg"] = Route(image_bytes())
    origin.routes["/posters/b.png"] = Route(image_bytes(fmt="PNG"))

    result = CatalogSync(f"{origin.url}/catalog.json", cache).run_once()

    assert result == SyncResult(changed=True, titles=2, skipped=0, posters_fetched=2, posters_bad=0)
    assert cache.raw() == raw
    assert [t.id for t in cache.load().titles] == ["a", "b"]
    meta = cache.meta()
    assert meta.etag == '"v1"'
    assert meta.base_url == f"{origin.url}/catalog.json"
    assert meta.last_error is None
    assert meta.fetched_at > time.time() - 60
    for name in ("a.jpg", "b.png"):
        url = f"{origin.url}/posters/{name}"
        assert Image.open(cache.poster_file(url, "grid")).size == GRID_SIZE
        assert Image.open(cache.poster_file(url, "page")).size == PAGE_SIZE


def test_the_second_sync_asks_conditionally_and_a_304_changes_nothing(origin, cache):
    serve_catalog(origin, film("a", poster="posters/a.jpg"))
    origin.routes["/posters/a.jpg"] = Route(image_bytes())
    sync = CatalogSync(f"{origin.url}/catalog.json", cache)
    sync.run_once()
    generation = cache.generation()

    result = sync.run_once()

    assert result.changed is False
    assert result.error is None
    assert result.titles == 1
    catalog_requests = origin.requests_to("/catalog.json")
    assert "If-None-Match" not in catalog_requests[0]
    assert catalog_requests[1]["If-None-Match"] == '"v1"'
    assert len(origin.requests_to("/posters/a.jpg")) == 1  # a ready poster is not fetched again
    assert cache.generation() == generation


def test_last_modified_is_sent_back_as_if_modified_since(origin, cache):
    raw = catalog_json(film("a"))
    stamp = "Wed, 01 May 2024 10:00:00 GMT"
    origin.routes["/catalog.json"] = Route(raw, headers={"Last-Modified": stamp})
    sync = CatalogSync(f"{origin.url}/catalog.json", cache)

    sync.run_once()
    sync.run_once()

    assert origin.requests_to("/catalog.json")[1]["If-Modified-Since"] == stamp


def test_a_changed_catalog_is_picked_up_and_bumps_the_generation(origin, cache):
    serve_catalog(origin, film("a"))
    sync = CatalogSync(f"{origin.url}/catalog.json", cache)
    sync.run_once()
    generation = cache.generation()

    serve_catalog(origin, film("a"), film("b"), etag='"v2"')
    result = sync.run_once()

    assert result.changed is True
    assert result.titles == 2
    assert [t.id for t in cache.load().titles] == ["a", "b"]
    assert cache.meta().etag == '"v2"'
    assert cache.generation() != generation


def test_the_same_document_served_without_validators_is_not_a_change(origin, cache):
    origin.routes["/catalog.json"] = Route(catalog_json(film("a")))
    sync = CatalogSync(f"{origin.url}/catalog.json", cache)
    sync.run_once()
    generation = cache.generation()

    assert sync.run_once().changed is False
    assert cache.generation() == generation


def test_a_garbage_catalog_keeps_the_last_good_one_and_records_the_error(origin, cache):
    good = serve_catalog(origin, film("a"))
    sync = CatalogSync(f"{origin.url}/catalog.json", cache)
    sync.run_once()

    origin.routes["/catalog.json"] = Route(b"<html>502 Bad Gateway</html>", etag='"broken"')
    result = sync.run_once()

    assert result.changed is False
    assert "catalog rejected" in result.error
    assert result.titles == 1
    assert cache.raw() == good
    assert [t.id for t in cache.load().titles] == ["a"]
    assert "catalog rejected" in cache.meta().last_error
    # The bad document's etag is not kept, so the next sync fetches it in full and still reports it.
    assert cache.meta().etag == '"v1"'
    assert "catalog rejected" in sync.run_once().error


def test_a_catalog_error_is_recorded_on_one_line(origin, cache):
    origin.routes["/catalog.json"] = Route(b"version: 1\ntitles: [\n  {id: a,\n")

    result = CatalogSync(f"{origin.url}/catalog.json", cache).run_once()

    assert result.error.startswith("catalog rejected: the catalog is neither JSON nor YAML")
    assert "\n" not in result.error
    assert cache.meta().last_error == result.error


def test_a_server_error_records_the_error_and_keeps_the_last_good_catalog(origin, cache):
    serve_catalog(origin, film("a"))
    sync = CatalogSync(f"{origin.url}/catalog.json", cache)
    sync.run_once()

    origin.routes["/catalog.json"] = Route(b"oops", status=500)
    result = sync.run_once()

    assert result.error == "catalog fetch failed: HTTP 500 Internal Server Error"
    assert cache.meta().last_error == result.error
    assert [t.id for t in cache.load().titles] == ["a"]


def test_a_successful_sync_clears_the_previous_error(origin, cache):
    serve_catalog(origin, film("a"))
    sync = CatalogSync(f"{origin.url}/catalog.json", cache)
    origin.routes["/catalog.json"].status = 503
    assert sync.run_once().error

    origin.routes["/catalog.json"].status = 200
    result = sync.run_once()

    assert result.error is None
    assert cache.meta().last_error is None


def test_a_closed_port_records_an_error_without_raising(cache):
    sync = CatalogSync(f"http://127.0.0.1:{closed_port()}/catalog.json", cache, timeout=2)

    result = sync.run_once()

    assert result.changed is False
    assert result.titles == 0
    assert "cannot reach the catalog server" in result.error
    assert cache.load() is None
    assert cache.meta().last_error == result.error


def test_a_slow_server_times_out_and_keeps_the_last_good_catalog(origin, cache):
    serve_catalog(origin, film("a"))
    sync = CatalogSync(f"{origin.url}/catalog.json", cache, timeout=0.3)
    sync.run_once()

    origin.routes["/catalog.json"] = Route(catalog_json(film("b")), delay=1.5)
    started = time.monotonic()
    result = sync.run_once()

    assert time.monotonic() - started < 1.4
    assert "timed out" in result.error
    assert [t.id for t in cache.load().titles] == ["a"]


def test_posters_are_not_tried_while_the_catalog_server_is_unreachable(origin, cache):
    serve_catalog(origin, film("a", poster="late.jpg"))
    sync = CatalogSync(f"{origin.url}/catalog.json", cache, timeout=0.3)
    sync.run_once()
    assert len(origin.requests_to("/late.jpg")) == 1  # 404: not ready, retried later

    origin.routes["/catalog.json"].delay = 1.0
    result = sync.run_once()

    assert "timed out" in result.error
    assert result.titles == 1
    assert len(origin.requests_to("/late.jpg")) == 1


@pytest.mark.parametrize("send_length", [True, False], ids=["declared", "streamed"])
def test_a_catalog_over_twenty_megabytes_is_refused(origin, cache, send_length):
    body = b'{"version": 1, "titles": [], "padding": "' + b"x" * (20 * 1024 * 1024) + b'"}'
    origin.routes["/catalog.json"] = Route(body, send_length=send_length)

    result = CatalogSync(f"{origin.url}/catalog.json", cache).run_once()

    assert result.error == "catalog is larger than 20 MB"
    assert cache.raw() is None


def test_relative_urls_resolve_against_the_url_after_redirects(origin, cache):
    origin.routes["/old/catalog.json"] = Route(b"", status=301, headers={"Location": "/new/catalog.json"})
    origin.routes["/new/catalog.json"] = Route(catalog_json(film("a")))

    CatalogSync(f"{origin.url}/old/catalog.json", cache).run_once()

    assert cache.load().by_id["a"].stream == f"{origin.url}/new/films/a.m3u8"


def test_a_damaged_cached_catalog_is_fetched_again_in_full(origin, cache):
    serve_catalog(origin, film("a"))
    sync = CatalogSync(f"{origin.url}/catalog.json", cache)
    sync.run_once()
    raw_path = cache.data_dir / "catalog" / "catalog.raw"
    raw_path.write_bytes(raw_path.read_bytes()[:20])

    result = sync.run_once()

    assert "If-None-Match" not in origin.requests_to("/catalog.json")[1]
    assert result.changed is True
    assert [t.id for t in cache.load().titles] == ["a"]


# -- what kind of failure ---------------------------------------------------------------------------
# The launcher picks the viewer's sentence from the kind alone, so each must be told apart exactly.


def cut_off(route: Route) -> None:
    # Announce more than is sent, then hang up: the line broke in the middle of the body.
    route.send_length = False
    route.headers["Content-Length"] = str(len(route.body) + 1000)


def too_large(route: Route) -> None:
    route.send_length = False
    route.headers["Content-Length"] = str(21 * 1024 * 1024)


HTTP_FAILURES = {
    "timeout": (ErrorKind.NETWORK, lambda r: setattr(r, "delay", 1.0)),
    "cut-off": (ErrorKind.NETWORK, cut_off),
    "500": (ErrorKind.SERVER, lambda r: setattr(r, "status", 500)),
    "503": (ErrorKind.SERVER, lambda r: setattr(r, "status", 503)),
    "404": (ErrorKind.SERVER, lambda r: setattr(r, "status", 404)),
    "429": (ErrorKind.SERVER, lambda r: setattr(r, "status", 429)),
    "401": (ErrorKind.SETUP, lambda r: setattr(r, "status", 401)),
    "403": (ErrorKind.SETUP, lambda r: setattr(r, "status", 403)),
    "garbage": (ErrorKind.BROKEN, lambda r: setattr(r, "body", b"<html>502 Bad Gateway</html>")),
    "too-large": (ErrorKind.BROKEN, too_large),
}


@pytest.mark.parametrize("fault", list(HTTP_FAILURES))
def test_each_failure_is_recorded_with_its_kind_and_a_good_sync_clears_it(origin, cache, fault):
    kind, break_route = HTTP_FAILURES[fault]
    good = serve_catalog(origin, film("a"), etag=None)
    sync = CatalogSync(f"{origin.url}/catalog.json", cache, timeout=0.3)
    assert sync.run_once().error is None

    break_route(origin.routes["/catalog.json"])
    failed = sync.run_once()

    assert (failed.error_kind, cache.meta().error_kind) == (kind, kind), failed.error
    assert cache.meta().last_error == failed.error
    assert cache.raw() == good and failed.titles == 1

    serve_catalog(origin, film("a"), etag=None)
    recovered = sync.run_once()

    assert (recovered.error, recovered.error_kind) == (None, None)
    assert (cache.meta().last_error, cache.meta().error_kind) == (None, None)


def test_a_closed_port_is_a_network_failure(cache):
    result = CatalogSync(f"http://127.0.0.1:{closed_port()}/catalog.json", cache, timeout=2).run_once()

    assert result.error_kind is ErrorKind.NETWORK
    assert cache.meta().error_kind is ErrorKind.NETWORK


def test_a_recovery_answered_with_304_clears_the_kind_too(origin, cache):
    serve_catalog(origin, film("a"))
    sync = CatalogSync(f"{origin.url}/catalog.json", cache)
    sync.run_once()
    origin.routes["/catalog.json"] = Route(b"token revoked", status=401)
    assert sync.run_once().error_kind is ErrorKind.SETUP

    serve_catalog(origin, film("a"))
    assert sync.run_once().error is None

    assert origin.requests_to("/catalog.json")[-1].get("If-None-Match") == '"v1"'  # answered 304
    assert cache.meta().error_kind is None


def test_a_tls_failure_is_a_server_failure(origin, cache):
    # The line works but the server's TLS does not (here: no TLS at all; usually an expired certificate).
    serve_catalog(origin, film("a"))

    result = CatalogSync(f"https{origin.url[4:]}/catalog.json", cache, timeout=2).run_once()

    assert result.error_kind is ErrorKind.SERVER, result.error
    assert cache.meta().error_kind is ErrorKind.SERVER


def test_an_unusable_source_url_is_a_setup_failure(cache):
    result = CatalogSync("http://127.0.0.1:port/catalog.json", cache).run_once()

    assert result.error_kind is ErrorKind.SETUP, result.error
    assert cache.meta().error_kind is ErrorKind.SETUP


def test_a_meta_file_from_before_error_kinds_still_reads(cache):
    meta_path = cache.data_dir / "catalog" / "meta.json"
    meta_path.parent.mkdir(parents=True)
    meta_path.write_text(json.dumps({"source": "http://x/catalog.json", "etag": '"v1"', "fetched_at": 5,
                                     "last_error": "catalog fetch failed: HTTP 502 Bad Gateway", "skipped": []}))

    meta = cache.meta()

    assert (meta.etag, meta.last_error) == ('"v1"', "catalog fetch failed: HTTP 502 Bad Gateway")
    assert meta.error_kind is ErrorKind.OTHER
    # Without an error there is no kind, and a kind this version does not know reads as OTHER.
    meta_path.write_text(json.dumps({"last_error": None, "error_kind": "network"}))
    assert cache.meta().error_kind is None
    meta_path.write_text(json.dumps({"last_error": "x", "error_kind": "solar-flare"}))
    assert cache.meta().error_kind is ErrorKind.OTHER


# -- posters ----------------------------------------------------------------------------------------


def test_hostile_posters_are_marked_bad_while_good_ones_are_stored(origin, cache):
    truncated = image_bytes(size=(600, 900))
    bomb = io.BytesIO()
    Image.new("L", (8000, 8000)).save(bomb, "PNG")
    serve_catalog(
        origin,
        film("good", poster="p/good.jpg"),
        film("html", poster="p/html.jpg"),
        film("cut", poster="p/cut.jpg"),
        film("bomb", poster="p/bomb.png"),
        film("cut-end", poster="p/cut-end.jpg"),
    )
    origin.routes["/p/good.jpg"] = Route(image_bytes())
    # Cut short with an end marker added: Pillow alone shows it with its missing half grey.
    origin.routes["/p/cut-end.jpg"] = Route(truncated[: len(truncated) // 2] + b"\xff\xd9")
    origin.routes["/p/html.jpg"] = Route(b"<html><body>login required</body></html>", content_type="text/html")
    origin.routes["/p/cut.jpg"] = Route(truncated[: len(truncated) // 3])
    origin.routes["/p/bomb.png"] = Route(bomb.getvalue())
    sync = CatalogSync(f"{origin.url}/catalog.json", cache)
    problems = RecentProblems()
    logging.getLogger("piclient.catalog.sync").addHandler(problems)
    try:
        result = sync.run_once()
    finally:
        logging.getLogger("piclient.catalog.sync").removeHandler(problems)

    assert result.posters_fetched == 1
    assert result.posters_bad == 4
    assert cache.poster_file(f"{origin.url}/p/good.jpg", "grid") is not None
    assert "not an image" in cache.poster_bad(f"{origin.url}/p/html.jpg")
    assert "Premature end" in cache.poster_bad(f"{origin.url}/p/cut.jpg")
    assert "pixels" in cache.poster_bad(f"{origin.url}/p/bomb.png")
    assert "premature end of data segment" in cache.poster_bad(f"{origin.url}/p/cut-end.jpg")
    # The maintainer sees each refused poster by name among the box's problems.
    named = [p["message"] for p in problems.items()]
    for name in ("html.jpg", "cut.jpg", "bomb.png", "cut-end.jpg"):
        assert any(f"/p/{name}" in message and "unusable" in message for message in named), named
    for name in ("html.jpg", "cut.jpg", "bomb.png", "cut-end.jpg"):
        assert cache.poster_file(f"{origin.url}/p/{name}", "grid") is None

    # Bad posters stay bad until their URL changes: no second download.
    sync.run_once()
    assert len(origin.requests_to("/p/html.jpg")) == 1


def test_a_poster_over_fifteen_megabytes_is_marked_bad(origin, cache):
    serve_catalog(origin, film("big", poster="big.jpg"))
    origin.routes["/big.jpg"] = Route(b"\xff\xd8" + bytes(16 * 1024 * 1024), send_length=False)

    result = CatalogSync(f"{origin.url}/catalog.json", cache).run_once()

    assert result.posters_bad == 1
    assert "15 MB" in cache.poster_bad(f"{origin.url}/big.jpg")


def test_a_poster_that_is_missing_for_now_is_retried_on_the_next_sync(origin, cache):
    serve_catalog(origin, film("a", poster="late.jpg"))
    sync = CatalogSync(f"{origin.url}/catalog.json", cache)

    first = sync.run_once()
    assert (first.posters_fetched, first.posters_bad) == (0, 0)
    assert cache.poster_bad(f"{origin.url}/late.jpg") is None

    origin.routes["/late.jpg"] = Route(image_bytes())
    second = sync.run_once()

    assert second.posters_fetched == 1
    assert cache.poster_file(f"{origin.url}/late.jpg", "page") is not None


def test_posters_no_longer_in_the_catalog_are_pruned(origin, cache):
    serve_catalog(origin, film("a", poster="a.jpg"), film("b", poster="b.jpg"))
    origin.routes["/a.jpg"] = Route(image_bytes())
    origin.routes["/b.jpg"] = Route(image_bytes())
    sync = CatalogSync(f"{origin.url}/catalog.json", cache)
    sync.run_once()

    serve_catalog(origin, film("a", poster="a.jpg"), etag='"v2"')
    sync.run_once()

    assert cache.poster_file(f"{origin.url}/a.jpg", "grid") is not None
    assert cache.poster_file(f"{origin.url}/b.jpg", "grid") is None
    assert sorted(p.name for p in cache.posters_dir.iterdir()) == sorted(
        f"{poster_key(f'{origin.url}/a.jpg')}.{size}.jpg" for size in ("grid", "page")
    )


def test_a_file_poster_in_an_http_catalog_is_refused(origin, cache):
    serve_catalog(origin, film("a", poster="file:///etc/passwd"))

    result = CatalogSync(f"{origin.url}/catalog.json", cache).run_once()

    assert result.posters_bad == 1
    assert "local file" in cache.poster_bad("file:///etc/passwd")


# -- local file source ------------------------------------------------------------------------------


@pytest.fixture
def library(tmp_path) -> Path:
    folder = tmp_path / "library"
    (folder / "posters").mkdir(parents=True)
    return folder


def write_catalog(path: Path, *titles: dict, mtime: float | None = None) -> None:
    path.write_bytes(catalog_json(*titles))
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def test_a_local_catalog_file_works_and_is_reread_only_when_it_changes(library, cache):
    source = library / "catalog.json"
    (library / "posters" / "a.jpg").write_bytes(image_bytes())
    write_catalog(source, film("a", poster="posters/a.jpg", stream="https://cdn.example/a.m3u8"), mtime=1_000)
    sync = CatalogSync(str(source), cache)

    first = sync.run_once()

    assert (first.changed, first.titles, first.posters_fetched, first.error) == (True, 1, 1, None)
    assert cache.meta().base_url == source.resolve().as_uri()
    poster = cache.load().by_id["a"].poster
    assert poster == (library / "posters" / "a.jpg").resolve().as_uri()
    assert cache.poster_file(poster, "grid") is not None

    assert sync.run_once().changed is False

    write_catalog(source, film("b", stream="https://cdn.example/b.m3u8"), mtime=2_000)
    third = sync.run_once()
    assert third.changed is True
    assert [t.id for t in cache.load().titles] == ["b"]


def test_a_missing_local_catalog_file_is_an_error(tmp_path, cache):
    result = CatalogSync(str(tmp_path / "nowhere.json"), cache).run_once()

    assert "does not exist" in result.error
    assert cache.load() is None


def test_a_local_catalog_file_that_goes_missing_is_a_missing_failure_until_it_returns(library, cache):
    source = library / "catalog.json"
    write_catalog(source, film("a", stream="https://cdn.example/a.m3u8"), mtime=1_000)
    sync = CatalogSync(str(source), cache)
    sync.run_once()

    source.unlink()  # the USB disk was pulled out, or the share is not mounted yet
    result = sync.run_once()

    assert (result.error_kind, cache.meta().error_kind) == (ErrorKind.MISSING, ErrorKind.MISSING)
    assert [t.id for t in cache.load().titles] == ["a"]
    write_catalog(source, film("a", stream="https://cdn.example/a.m3u8"), mtime=1_000)
    assert sync.run_once().error is None
    assert cache.meta().error_kind is None


def test_a_folder_as_the_catalog_source_is_a_setup_failure(library, cache):
    result = CatalogSync(str(library), cache).run_once()

    assert result.error_kind is ErrorKind.SETUP
    assert cache.meta().error_kind is ErrorKind.SETUP


def test_a_broken_local_catalog_file_is_a_broken_failure(library, cache):
    source = library / "catalog.json"
    source.write_text('{"version": 1, "titles": [', encoding="utf-8")

    result = CatalogSync(str(source), cache).run_once()

    assert (result.error_kind, cache.meta().error_kind) == (ErrorKind.BROKEN, ErrorKind.BROKEN)


def test_a_file_poster_outside_the_catalog_folder_is_refused(library, cache, tmp_path):
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(image_bytes())
    (library / "posters" / "link.jpg").symlink_to(secret)
    (library / "posters" / "ok.jpg").write_bytes(image_bytes())
    source = library / "catalog.json"
    write_catalog(
        source,
        film("ok", poster="posters/ok.jpg", stream="https://cdn.example/ok.m3u8"),
        film("up", poster="../secret.jpg", stream="https://cdn.example/up.m3u8"),
        film("abs", poster="file:///etc/passwd", stream="https://cdn.example/abs.m3u8"),
        film("link", poster="posters/link.jpg", stream="https://cdn.example/link.m3u8"),
    )

    result = CatalogSync(str(source), cache).run_once()

    assert result.posters_fetched == 1
    assert result.posters_bad == 3
    catalog = cache.load()
    for ident in ("up", "abs", "link"):
        assert "outside the catalog's folder" in cache.poster_bad(catalog.by_id[ident].poster)
    assert cache.poster_file(catalog.by_id["ok"].poster, "page") is not None


# -- damaged cache files ----------------------------------------------------------------------------


def test_an_empty_cache_loads_as_nothing(cache):
    assert cache.load() is None
    assert cache.meta() == CacheMeta()
    assert cache.generation() == 0


@pytest.mark.parametrize("content", [b"", b'{"source": "http://x", "etag', b"[1, 2]", b'{"fetched_at": "soon"}'])
def test_a_corrupt_meta_file_gives_defaults_and_load_still_works(cache, content):
    cache.store(catalog_json(film("a", stream="https://cdn.example/a.m3u8")), CacheMeta(source="x"))
    (cache.data_dir / "catalog" / "meta.json").write_bytes(content)

    assert cache.meta().fetched_at == 0.0
    assert cache.meta().etag is None
    assert [t.id for t in cache.load().titles] == ["a"]


def test_a_half_written_raw_catalog_loads_as_nothing_without_raising(cache):
    raw = catalog_json(film("a", stream="https://cdn.example/a.m3u8"))
    cache.store(raw, CacheMeta())
    (cache.data_dir / "catalog" / "catalog.raw").write_bytes(raw[: len(raw) // 2])

    assert cache.load() is None


def test_store_rejects_an_unparsable_catalog_and_keeps_the_previous(cache):
    from piclient.catalog.model import CatalogError

    good = catalog_json(film("a", stream="https://cdn.example/a.m3u8"))
    cache.store(good, CacheMeta(etag='"good"'))
    meta = CacheMeta(etag='"bad"')

    with pytest.raises(CatalogError):
        cache.store(b"\x00\x01 not a catalog", meta)

    assert cache.raw() == good
    assert meta.last_error.startswith("catalog rejected")
    assert cache.meta().etag == '"good"'
    assert cache.meta().last_error == meta.last_error


def test_storing_a_poster_changes_the_generation_and_clears_a_bad_mark(cache):
    url = "https://media.example/p.jpg"
    cache.mark_poster_bad(url, "not an image")
    before = cache.generation()

    cache.store_poster(url, {"grid": b"g", "page": b"p"})

    assert cache.generation() != before
    assert cache.poster_bad(url) is None
    assert cache.poster_file(url, "grid").read_bytes() == b"g"


def test_a_damaged_generation_file_still_reads_as_a_number(cache):
    cache.store_poster("https://media.example/p.jpg", {"grid": b"g", "page": b"p"})
    (cache.data_dir / "catalog" / "generation").write_bytes(b"\x00\x00")

    assert isinstance(cache.generation(), int)
    assert cache.generation() > 0


def test_a_poster_with_only_one_size_written_is_not_ready(cache):
    url = "https://media.example/p.jpg"
    cache.posters_dir.mkdir(parents=True)
    (cache.posters_dir / f"{poster_key(url)}.grid.jpg").write_bytes(b"g")

    assert cache.poster_file(url, "grid") is not None
    assert cache.poster_file(url, "page") is None
    assert cache.poster_ready(url) is False


# -- the loop ---------------------------------------------------------------------------------------


class CountingSync:
    def __init__(self, result: SyncResult | None = None, fail: bool = False) -> None:
        self.result = result or SyncResult()
        self.fail = fail
        self.calls = 0
        self.ran = threading.Event()

    def run_once(self) -> SyncResult:
        self.calls += 1
        self.ran.set()
        if self.fail:
            raise RuntimeError("boom")
        return self.result


def test_the_loop_syncs_at_start_and_stops_quickly_while_waiting():
    sync = CountingSync()
    loop = SyncLoop(sync, interval_s=3600, on_change=lambda: None)
    loop.start()
    assert sync.ran.wait(5)

    started = time.monotonic()
    assert loop.stop(timeout=5) is True
    assert time.monotonic() - started < 1
    assert sync.calls == 1


def test_trigger_runs_a_sync_now_and_reports_changes():
    changes = threading.Event()
    sync = CountingSync(SyncResult(changed=True))
    loop = SyncLoop(sync, interval_s=3600, on_change=changes.set)
    loop.start()
    try:
        assert sync.ran.wait(5)
        assert changes.wait(5)
        sync.ran.clear()

        loop.trigger()

        assert sync.ran.wait(5)
        assert sync.calls == 2
    finally:
        loop.stop(timeout=5)


def test_the_loop_survives_a_sync_that_raises():
    sync = CountingSync(fail=True)
    loop = SyncLoop(sync, interval_s=3600)
    loop.start()
    try:
        assert sync.ran.wait(5)
        sync.ran.clear()
        loop.trigger()
        assert sync.ran.wait(5)
    finally:
        assert loop.stop(timeout=5)


def test_a_failed_sync_is_retried_sooner_than_the_interval():
    loop = SyncLoop(CountingSync(), interval_s=900)
    loop._failures = 1

    assert loop._next_wait() <= SyncLoop.RETRY_FIRST_S * 1.2
    loop._failures = 20
    assert loop._next_wait() == 900
