from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image

from piclient.demo.clips import publish_clip
from piclient.demo.server import StaticServer
from piclient.player.thumbnails import (
    ThumbCue,
    ThumbnailError,
    ThumbnailTrack,
    fetch_thumbnail_track,
    parse_thumbnail_index,
)
from piclient.publish import artwork

BASE = "http://127.0.0.1:8000/titles/a/thumbs/index.vtt"


# --- parsing ------------------------------------------------------------------------------------------


def test_parse_resolves_urls_boxes_and_short_timestamps() -> None:
    text = (
        "\ufeffWEBVTT - seek thumbnails\r\n\r\n"
        "NOTE made by hand\r\n\r\n"
        "2\r\n00:05.000 --> 00:10.000 align:start\r\nsprite.jpg#xywh=160,0,160,90\r\n\r\n"
        "00:00:00.000 --> 00:00:05.000\r\nsprite.jpg#xywh=pixel:0,0,160,90\r\n\r\n"
        "00:10.000 --> 01:00:00.500\r\n/other/full.png\r\n\r\n"
        "01:00:00.500 --> 01:00:01.000\r\nhttp://127.0.0.1:9000/x.webp#t=3\r\n"
    )
    cues = parse_thumbnail_index(text, BASE)
    sprite = "http://127.0.0.1:8000/titles/a/thumbs/sprite.jpg"
    assert cues == [
        ThumbCue(0.0, 5.0, sprite, (0, 0, 160, 90)),
        ThumbCue(5.0, 10.0, sprite, (160, 0, 160, 90)),
        ThumbCue(10.0, 3600.5, "http://127.0.0.1:8000/other/full.png", None),
        ThumbCue(3600.5, 3601.0, "http://127.0.0.1:9000/x.webp", None),
    ]


@pytest.mark.parametrize(("text", "reason"), [
    ("", "not a WebVTT file"),
    ("<html>nope</html>", "not a WebVTT file"),
    ("WEBVTTX\n\n00:00.000 --> 00:01.000\na.jpg\n", "not a WebVTT file"),
    ("WEBVTT\n", "no cues"),
    ("WEBVTT\n\nNOTE only a note\n", "no cues"),
    ("WEBVTT\n\nhello\nworld\n", "no timing line"),
    ("WEBVTT\n\n00:00.000 --> soon\na.jpg\n", "broken timing"),
    ("WEBVTT\n\n00:00.000 -->\na.jpg\n", "broken timing"),
    ("WEBVTT\n\n00:05.000 --> 00:01.000\na.jpg\n", "ends before it starts"),
    ("WEBVTT\n\n00:00.000 --> 00:01.000\n", "names no image"),
    ("WEBVTT\n\n00:00.000 --> 00:01.000\na.jpg#xywh=percent:0,0,50,50\n", "box this player does not read"),
    ("WEBVTT\n\n00:00.000 --> 00:01.000\na.jpg#xywh=0,0,-1,9\n", "box this player does not read"),
    ("WEBVTT\n\n00:00.000 --> 00:01.000\na.jpg#xywh=0,0,0,9\n", "empty box"),
    ("WEBVTT\n\n00:00.000 --> 00:01.000\nfile:///etc/passwd\n", "not an http(s) URL"),
])
def test_parse_rejects_garbage(text: str, reason: str) -> None:
    with pytest.raises(ThumbnailError, match=re.escape(reason)):
        parse_thumbnail_index(text, BASE)


# --- the track without a network ----------------------------------------------------------------------


def _png(size: tuple[int, int], color: tuple[int, int, int]) -> bytes:
    """Lossless, so crops can be compared byte for byte."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def test_track_fetches_each_image_once_and_caches_crops() -> None:
    sprite = Image.new("RGB", (20, 10), (255, 0, 0))
    sprite.paste((0, 0, 255), (10, 0, 20, 10))
    buffer = io.BytesIO()
    sprite.save(buffer, "PNG")
    images = {"http://127.0.0.1/s.png": buffer.getvalue(), "http://127.0.0.1/w.png": _png((4, 3), (0, 255, 0)),
              "http://127.0.0.1/bad.png": b"not an image"}
    fetched: list[str] = []

    def fetch(session: object, url: str, timeout: float, cap: int) -> bytes:
        fetched.append(url)
        return images[url]

    track = ThumbnailTrack([
        ThumbCue(0, 5, "http://127.0.0.1/s.png", (0, 0, 10, 10)),
        ThumbCue(5, 10, "http://127.0.0.1/s.png", (10, 0, 10, 10)),
        ThumbCue(10, 15, "http://127.0.0.1/w.png", None),
        ThumbCue(15, 20, "http://127.0.0.1/s.png", (15, 5, 10, 10)),  # hangs off the edge: clipped
        ThumbCue(20, 25, "http://127.0.0.1/s.png", (40, 40, 10, 10)),  # wholly outside: nothing
        ThumbCue(25, 30, "http://127.0.0.1/bad.png", None),
    ], fetch=fetch)
    assert not track.ready and track.at(1.0) is None  # not loaded yet
    track.load(requests.Session(), timeout=1)
    assert track.ready
    assert sorted(fetched) == sorted(images)  # each distinct image once
    assert track.at(0.0) == (bytes([255, 0, 0]) * 100, (10, 10))
    assert track.at(9.99) == (bytes([0, 0, 255]) * 100, (10, 10))
    assert track.at(12) == (bytes([0, 255, 0]) * 12, (4, 3))
    assert track.at(16) == (bytes([0, 0, 255]) * 25, (5, 5))
    assert track.at(21) is None
    assert track.at(26) is None
    assert "not an image" in track.failures["http://127.0.0.1/bad.png"]
    assert track.at(30) is None and track.at(-1) is None and track.at(float("nan")) is None
    assert track.at(1.0) is track.at(2.0)  # the same cue's crop is made once


# --- a title published by the pipeline, served over HTTP-----------------------------------------------


@pytest.fixture(scope="module")
def thumbed_ladder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A published 12 s title, with the seek thumbnails the pipeline made in ``thumbs/``; its folder."""
    return publish_clip(tmp_path_factory.mktemp("thumb-ladder"), seconds=12, label="x", title_en="thumbs").folder


@pytest.fixture(scope="module")
def server(thumbed_ladder: Path) -> Iterator[StaticServer]:
    with StaticServer(thumbed_ladder) as static:
        yield static


def test_the_publish_pipelines_thumbnails_tile_a_short_clip_at_least_twice(thumbed_ladder: Path) -> None:
    thumbs = thumbed_ladder / "thumbs"
    cues = parse_thumbnail_index((thumbs / "thumbnails.vtt").read_text(encoding="utf-8"), "http://127.0.0.1/t/")
    assert [(c.start, c.end) for c in cues] == [(0, 6), (6, 12)]  # a tile every 10 s, but two at least
    assert {c.url for c in cues} == {"http://127.0.0.1/t/sprite-0.jpg"}
    assert [c.box for c in cues] == [(0, 0, 160, 90), (160, 0, 160, 90)]
    with Image.open(thumbs / "sprite-0.jpg") as sprite:
        assert sprite.size == (1600, 90)  # one row of ten tiles, 160 px wide, 16:9


def test_the_publish_pipeline_splits_long_runs_into_several_sprites(thumbed_ladder: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # A tile a second, one column: twelve tiles stand for a film of two hours at the usual spacing.
    monkeypatch.setattr(artwork, "THUMB_EVERY_S", 1.0)
    monkeypatch.setattr(artwork, "THUMB_WIDTH", 96)
    monkeypatch.setattr(artwork, "THUMB_COLUMNS", 1)
    vtt = artwork.seek_thumbnails(thumbed_ladder / "master.m3u8", 12, tmp_path)
    cues = parse_thumbnail_index(vtt.read_text(encoding="utf-8"), "http://127.0.0.1/t/")
    assert len(cues) == 12 and cues[0].start == 0 and cues[-1].end == 12
    # Ten rows fill the first sprite; the last two tiles go to a second one.
    assert [c.url.rsplit("/", 1)[1] for c in cues] == ["sprite-0.jpg"] * 10 + ["sprite-1.jpg"] * 2
    assert all(c.box is not None and c.box[2] == 96 for c in cues)
    assert cues[11].box == (0, 54, 96, 54)
    assert sorted(p.name for p in (tmp_path / "thumbs").iterdir()) == ["sprite-0.jpg", "sprite-1.jpg",
                                                                       "thumbnails.vtt"]


def test_fetch_track_over_http(server: StaticServer) -> None:
    with requests.Session() as session:
        track = fetch_thumbnail_track(server.url + "thumbs/thumbnails.vtt", session, timeout=5)
    assert track.ready and not track.failures
    first, second = track.at(1.0), track.at(7.0)
    assert first is not None and second is not None
    assert first[1] == second[1] == (160, 90)
    assert len(first[0]) == len(second[0]) == 160 * 90 * 3
    assert first[0] != second[0]  # the running timecode differs between the two frames
    assert track.at(999) is None


def test_fetch_track_reports_http_errors(server: StaticServer) -> None:
    with requests.Session() as session, pytest.raises(ThumbnailError, match="HTTP 404"):
        fetch_thumbnail_track(server.url + "thumbs/missing.vtt", session, timeout=5)


def test_broken_sprite_leaves_only_its_cues_blank(thumbed_ladder: Path, tmp_path: Path) -> None:
    shutil.copy(thumbed_ladder / "thumbs" / "sprite-0.jpg", tmp_path / "good.jpg")
    (tmp_path / "bad.jpg").write_bytes(b"<html>this is not a picture</html>")
    (tmp_path / "index.vtt").write_text(
        "WEBVTT\n\n00:00.000 --> 00:05.000\ngood.jpg#xywh=0,0,160,90\n\n"
        "00:05.000 --> 00:10.000\nbad.jpg#xywh=0,0,160,90\n\n"
        "00:10.000 --> 00:15.000\nmissing.jpg\n", encoding="utf-8")
    with StaticServer(tmp_path) as static, requests.Session() as session:
        track = fetch_thumbnail_track(static.url + "index.vtt", session, timeout=5)
    assert track.ready
    crop = track.at(1.0)
    assert crop is not None and crop[1] == (160, 90)
    assert track.at(7.0) is None
    assert track.at(12.0) is None
    assert set(track.failures) == {static.url + "bad.jpg", static.url + "missing.jpg"}
    assert "HTTP 404" in track.failures[static.url + "missing.jpg"]
