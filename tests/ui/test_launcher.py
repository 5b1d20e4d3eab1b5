"""The launcher as the viewer and the maintainer meet it: a real process, driven over its socket."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from piclient.catalog.cache import CatalogCache
from piclient.catalog.sync import CatalogSync
from piclient.demo.server import StaticServer
from piclient.state import StateStore
from piclient.ui.i18n import STRINGS
from tests.catalogs import film, series, write_catalog
from tests.launcher import Launcher, write_config

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def library(tmp_path: Path) -> Path:
    titles = [film(f"film-{n}", f"영화 {n}", f"Film {n}") for n in range(1, 9)]
    titles.insert(0, film("fresh", "새 영화", "Fresh", added_days_ago=1))
    titles.append(series("hood", "우리 동네 이야기"))
    return write_catalog(tmp_path / "library" / "catalog.json", titles)


def start(tmp_path: Path, source: str, **ui: object) -> Launcher:
    return Launcher(tmp_path, write_config(tmp_path, source, **ui))


@pytest.fixture
def tv(tmp_path: Path, library: Path) -> Iterator[Launcher]:
    launcher = start(tmp_path, str(library))
    launcher.wait_for(lambda s: s["screen"] == "home")
    yield launcher
    assert launcher.stop() == 0, launcher.log()


def focused(status: dict) -> str:
    return status["focus"]["focused"]


def test_home_has_new_films_and_series_rows_with_a_new_badge(tv: Launcher) -> None:
    status = tv.status()
    rows = {row["key"]: row for row in status["focus"]["rows"]}
    assert list(rows) == ["new", "films", "series"]
    assert [item["id"] for item in rows["new"]["visible"]] == ["fresh"]
    assert rows["new"]["visible"][0]["new"] is True
    assert rows["films"]["count"] == 9
    assert rows["series"]["visible"][0]["id"] == "hood"
    assert status["catalog"] == {**status["catalog"], "titles": 10, "skipped": 0}


def test_arrows_move_the_focus_and_ok_opens_the_title_page(tv: Launcher) -> None:
    assert focused(tv.status()) == "fresh"
    tv.key("down")
    status = tv.status()
    assert (status["focus"]["row"], focused(status)) == ("films", "fresh")
    tv.key("right", "right")
    assert focused(tv.status()) == "film-2"
    tv.key("left")
    assert focused(tv.status()) == "film-1"
    tv.key("ok")
    page = tv.status()
    assert page["screen"] == "title"
    assert page["focus"]["title"] == "film-1"
    assert page["focus"]["actions"] == ["play"]
    tv.key("back")
    back = tv.status()
    assert (back["screen"], back["focus"]["row"], focused(back)) == ("home", "films", "film-1")


def test_focus_stops_at_the_edges_instead_of_wrapping(tv: Launcher) -> None:
    tv.key("left", "up", "up")
    status = tv.status()
    assert (status["focus"]["row"], focused(status)) == ("new", "fresh")
    tv.key(*["down"] * 5)
    assert tv.status()["focus"]["row"] == "series"


def test_a_series_page_lists_its_episodes(tv: Launcher) -> None:
    tv.key("down", "down", "ok")
    page = tv.status()["focus"]
    assert page["title"] == "hood"
    assert page["actions"] == ["play", "episode", "episode", "episode"]
    assert page["focused_episode"] == "hood-e1"
    tv.key("down", "down")
    assert tv.status()["focus"]["focused_episode"] == "hood-e2"


def test_screenshot_is_an_image_of_exactly_the_screen(tv: Launcher) -> None:
    png = Image.open(io.BytesIO(tv.ctl.screenshot("png")))
    assert png.format == "PNG" and png.size == (1280, 720)
    jpeg = Image.open(io.BytesIO(tv.ctl.screenshot("jpg", max_width=640)))
    assert jpeg.format == "JPEG" and jpeg.size == (640, 360)
    # The picture follows the screen: opening a title changes it.
    tv.key("ok")
    after = Image.open(io.BytesIO(tv.ctl.screenshot("png")))
    assert list(after.getdata()) != list(png.getdata())


def test_a_message_shows_until_ok_closes_it(tv: Launcher) -> None:
    before = tv.status()
    assert tv.ctl.request("message", text="엄마, 새 영화가 들어왔어요", seconds=60)["ok"]
    assert tv.status()["overlay"]["message"] == "엄마, 새 영화가 들어왔어요"
    tv.key("ok")
    after = tv.status()
    assert after["overlay"]["message"] is None
    assert after["screen"] == "home" and focused(after) == focused(before)  # OK closed it, nothing opened


def test_bad_commands_get_a_clear_answer(tv: Launcher) -> None:
    assert "unknown button" in tv.ctl.request("key", name="jump")["error"]
    assert "unknown command" in tv.ctl.request("launch-missiles")["error"]
    assert "empty" in tv.ctl.request("message", text="  ")["error"]
    assert tv.status()["screen"] == "home"


def test_progress_fills_continue_watching_and_marks_watched(tmp_path: Path, library: Path) -> None:
    store = StateStore(tmp_path / "data" / "state.db")
    store.save_progress("film-3", 1200, 3600)
    store.save_progress("film-4", 3500, 3600)
    store.save_progress("hood-e1", 1500, 1500)
    store.close()
    tv = start(tmp_path, str(library))
    try:
        status = tv.wait_for(lambda s: s["screen"] == "home")
        rows = {row["key"]: row for row in status["focus"]["rows"]}
        assert [item["id"] for item in rows["continue"]["visible"]] == ["hood", "film-3"]
        assert rows["continue"]["visible"][1]["progress"] == pytest.approx(1 / 3, abs=0.01)
        films = {item["id"]: item for item in rows["films"]["visible"]}
        assert films["film-4"]["watched"] is True
        assert films["film-3"]["watched"] is False
        tv.key("ok")  # the series carries on with its next episode
        page = tv.status()["focus"]
        assert page["title"] == "hood" and page["focused_episode"] == "hood-e2"
        tv.key("back", "down", "down", "right", "right", "right", "ok")
        film_page = tv.status()["focus"]
        assert film_page["title"] == "film-3" and film_page["actions"] == ["resume", "start_over"]
    finally:
        assert tv.stop() == 0


def test_no_catalog_yet_shows_the_calm_waiting_screen(tmp_path: Path) -> None:
    tv = start(tmp_path, "http://127.0.0.1:9/catalog.json")  # nothing listens on the discard port
    try:
        status = tv.wait_for(lambda s: s["catalog"]["error"] is not None)
        assert status["screen"] == "empty"
        shot = Image.open(io.BytesIO(tv.ctl.screenshot("png")))
        assert shot.size == (1280, 720)
        tv.key("ok", "down")  # keys do nothing harmful
        assert tv.status()["screen"] == "empty"
    finally:
        assert tv.stop() == 0


def test_a_box_refused_before_its_first_catalog_says_the_family_must_check_its_settings(
        tmp_path: Path, library: Path) -> None:
    with StaticServer(library.parent) as server:
        server.fault = lambda path: 401
        tv = start(tmp_path, server.url + "catalog.json")
        try:
            status = tv.wait_for(lambda s: s["catalog"]["error_kind"] == "setup")
            assert status["screen"] == "empty"
            assert status["focus"]["message"] == STRINGS["empty.body.setup"]["ko"]  # not "they will appear"
            refused = tv.ctl.screenshot("png")
            server.fault = None
            tv.ctl.request("reload")
            assert tv.wait_for(lambda s: s["screen"] == "home")["overlay"]["footer"] is None
            assert tv.ctl.screenshot("png") != refused
        finally:
            assert tv.stop() == 0


def test_an_unreachable_source_before_the_first_catalog_keeps_the_calm_promise(tmp_path: Path) -> None:
    tv = start(tmp_path, "http://127.0.0.1:9/catalog.json")
    try:
        status = tv.wait_for(lambda s: s["catalog"]["error_kind"] == "network")
        assert status["focus"]["message"] == STRINGS["empty.body"]["ko"]
    finally:
        assert tv.stop() == 0


def test_a_catalog_that_arrives_later_replaces_the_waiting_screen(tmp_path: Path) -> None:
    source = tmp_path / "later" / "catalog.json"
    tv = start(tmp_path, str(source))
    try:
        assert tv.status()["screen"] == "empty"
        write_catalog(source, [film("late", "늦게 온 영화")])
        tv.ctl.request("reload")
        status = tv.wait_for(lambda s: s["screen"] == "home")
        assert focused(status) == "late"
    finally:
        assert tv.stop() == 0


def test_a_broken_catalog_keeps_the_last_good_one_and_says_the_new_list_could_not_be_read(
        tmp_path: Path, library: Path) -> None:
    tv = start(tmp_path, str(library))
    try:
        tv.wait_for(lambda s: s["catalog"]["titles"] == 10)
        good = library.read_bytes()
        library.write_text('{"version": 1, "titles": [', encoding="utf-8")
        tv.ctl.request("reload")
        status = tv.wait_for(lambda s: s["catalog"]["error"])
        assert status["catalog"]["titles"] == 10
        assert status["screen"] == "home"
        assert status["overlay"]["notice"] is None
        assert status["catalog"]["error_kind"] == "broken"
        assert status["overlay"]["footer"] == sentence("broken")
        library.write_bytes(good)
        tv.ctl.request("reload")
        assert_cleared(tv)
    finally:
        assert tv.stop() == 0


def test_the_screen_dims_when_idle_and_the_first_key_only_wakes_it(tmp_path: Path, library: Path) -> None:
    tv = start(tmp_path, str(library), dim_after_seconds=1)
    try:
        tv.wait_for(lambda s: s["screen"] == "home")
        before = focused(tv.status())
        time.sleep(1.3)
        assert tv.wait_for(lambda s: s["overlay"]["dimmed"])["overlay"]["dimmed"]
        tv.key("right")
        status = tv.status()
        assert status["overlay"]["dimmed"] is False
        assert focused(status) == before
    finally:
        assert tv.stop() == 0


def test_a_catalog_full_of_bad_input_still_shows_its_good_titles(tmp_path: Path) -> None:
    from tests.catalog.test_posters import png_declaring

    library = tmp_path / "hostile"
    posters = library / "posters"
    posters.mkdir(parents=True)
    good = io.BytesIO()
    Image.new("RGB", (600, 900), (200, 60, 40)).save(good, "JPEG")
    (posters / "good.jpg").write_bytes(good.getvalue())
    (posters / "html.jpg").write_bytes(b"<html><body>404 Not Found</body></html>")
    (posters / "truncated.jpg").write_bytes(good.getvalue()[: len(good.getvalue()) // 2])
    # Cut short with an end marker added: Pillow alone would draw it with its lower half grey.
    (posters / "cut-end.jpg").write_bytes(good.getvalue()[: len(good.getvalue()) // 2] + b"\xff\xd9")
    (posters / "bomb.png").write_bytes(png_declaring(30000, 30000, rows=4))
    titles = [
        film("good", "좋은 영화", poster="posters/good.jpg"),
        film("html-poster", "포스터가 HTML", poster="posters/html.jpg"),
        film("cut-poster", "잘린 포스터", poster="posters/truncated.jpg"),
        film("bomb-poster", "폭탄 포스터", poster="posters/bomb.png"),
        film("cut-end-poster", "끝만 붙은 포스터", poster="posters/cut-end.jpg"),
        film("outside", "밖의 포스터", poster="../../../etc/passwd"),
        film("file-stream", "파일 스트림", stream="file:///etc/passwd"),
        film("option-stream", "옵션", stream="--ytdl-format=x y"),
        {"id": "no kind", "title": "x"},
        "not even a mapping",
        film("good", "같은 아이디"),
    ]
    source = write_catalog(library / "catalog.json", titles)
    tv = start(tmp_path, str(source))
    try:
        status = tv.wait_for(lambda s: s["catalog"]["titles"] == 6)
        assert status["screen"] == "home"
        shown = {item["id"] for row in status["focus"]["rows"] for item in row["visible"]}
        assert shown == {"good", "html-poster", "cut-poster", "bomb-poster", "cut-end-poster", "outside"}
        assert status["catalog"]["skipped"] >= 5
        shot = Image.open(io.BytesIO(tv.ctl.screenshot("png")))
        assert shot.size == (1280, 720)
        assert tv.status()["catalog"]["titles"] == 6  # still up after drawing every poster
        # The maintainer sees the refused poster by name, and why, among the TV app's problems.
        tv.wait_for(lambda s: any("cut-end.jpg" in e["message"] and "premature end of data segment" in e["message"]
                                  for e in s["errors"]))
    finally:
        assert tv.stop() == 0


# -- why the catalog cannot be refreshed, in one true sentence ------------------------------------------


def sentence(kind: str, language: str = "ko") -> str:
    return STRINGS[f"sync.{kind}"][language]


def failed_as(kind: str) -> object:
    return lambda s: s["catalog"]["error_kind"] == kind and s["overlay"]["footer"] is not None


def assert_cleared(tv: Launcher) -> dict:
    status = tv.wait_for(lambda s: s["overlay"]["footer"] is None)
    assert (status["catalog"]["error"], status["catalog"]["error_kind"]) == (None, None)
    assert (status["screen"], status["catalog"]["titles"]) == ("home", 10)
    return status


def bottom_strip(tv: Launcher) -> list:
    shot = Image.open(io.BytesIO(tv.ctl.screenshot("png")))
    return list(shot.crop((0, shot.height - 60, shot.width, shot.height)).getdata())


def test_a_server_that_cannot_be_reached_says_the_internet_is_away(tmp_path: Path, library: Path) -> None:
    server = StaticServer(library.parent)
    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    tv = start(tmp_path, server.url + "catalog.json")
    try:
        assert tv.wait_for(lambda s: s["catalog"]["titles"] == 10)["overlay"]["footer"] is None
        server.close()  # the line drops: nothing answers any more
        tv.ctl.request("reload")
        status = tv.wait_for(failed_as("network"))
        assert status["overlay"]["footer"] == sentence("network")
        assert (status["screen"], status["catalog"]["titles"]) == ("home", 10)
        tv.key("ok")  # a title's page says, before Play, that films cannot play now
        page = tv.wait_for(lambda s: s["screen"] == "title")["focus"]
        assert page["warning"] == STRINGS["offline.network"]["ko"]
        server = StaticServer(library.parent, port=port)
        tv.ctl.request("reload")
        assert tv.wait_for(lambda s: s["focus"]["warning"] is None)["screen"] == "title"
        tv.key("back")
        assert_cleared(tv)
    finally:
        assert tv.stop() == 0
        server.close()


@pytest.mark.parametrize(("status_code", "kind", "language"), [
    (503, "server", "ko"), (404, "server", "en"), (401, "setup", "en"), (403, "setup", "ko")])
def test_an_error_answer_from_the_server_has_its_own_sentence_until_a_good_sync(
        tmp_path: Path, library: Path, status_code: int, kind: str, language: str) -> None:
    with StaticServer(library.parent) as server:
        tv = start(tmp_path, server.url + "catalog.json", language=language)
        try:
            assert tv.wait_for(lambda s: s["catalog"]["titles"] == 10)["overlay"]["footer"] is None
            calm = bottom_strip(tv)
            server.fault = lambda path: status_code  # the catalog itself stays the same
            tv.ctl.request("reload")
            status = tv.wait_for(failed_as(kind))
            assert status["overlay"]["footer"] == sentence(kind, language)
            assert f"HTTP {status_code}" in status["catalog"]["error"]  # the details are the maintainer's
            assert (status["screen"], status["catalog"]["titles"]) == ("home", 10)
            assert bottom_strip(tv) != calm  # the sentence is on the screen, not only in the status
            server.fault = None
            tv.ctl.request("reload")
            assert_cleared(tv)
            assert bottom_strip(tv) == calm
        finally:
            assert tv.stop() == 0


def test_a_local_catalog_that_goes_missing_says_the_list_cannot_be_found(tmp_path: Path, library: Path) -> None:
    tv = start(tmp_path, str(library), language="en")
    try:
        tv.wait_for(lambda s: s["catalog"]["titles"] == 10)
        good = library.read_bytes()
        library.unlink()  # the USB disk holding the library was pulled out
        tv.ctl.request("reload")
        status = tv.wait_for(failed_as("missing"))
        assert status["overlay"]["footer"] == sentence("missing", "en")
        assert (status["screen"], status["catalog"]["titles"]) == ("home", 10)
        library.write_bytes(good)
        tv.ctl.request("reload")
        assert_cleared(tv)
    finally:
        assert tv.stop() == 0


def test_an_error_recorded_by_an_older_version_gets_the_general_sentence(tmp_path: Path, library: Path) -> None:
    # No catalog source of its own: like a launcher whose cache the agent fills.
    cache = CatalogCache(tmp_path / "data")
    sync = CatalogSync(str(library), cache)
    assert sync.run_once().error is None
    meta_path = tmp_path / "data" / "catalog" / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    del meta["error_kind"]
    meta["last_error"] = "catalog fetch failed: HTTP 502 Bad Gateway"
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    tv = start(tmp_path, "")
    try:
        status = tv.wait_for(failed_as("other"))
        assert status["overlay"]["footer"] == sentence("other")
        library.write_text(library.read_text(encoding="utf-8").replace("영화 1", "영화 하나"), encoding="utf-8")
        assert sync.run_once().error is None  # the agent's next good sync
        assert_cleared(tv)
    finally:
        assert tv.stop() == 0

