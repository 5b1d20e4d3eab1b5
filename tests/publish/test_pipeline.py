"""The whole pipeline on real ffmpeg output, played back through libmpv before the catalog names it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from piclient.catalog.model import parse_catalog
from piclient.player import hls
from piclient.player.subtitles import parse_subtitles
from piclient.publish import PublishError
from piclient.publish.pipeline import Request, publish
from piclient.publish.tools import ffprobe_json
from piclient.publish.transcode import first_video_pts
from piclient.publish.verify import serve
from tests.publish.sources import make_sound

BASE = "http://box.invalid/library/catalog.json"


def _catalog(library: Path) -> dict:
    return json.loads((library / "catalog.json").read_text(encoding="utf-8"))


def test_a_film_with_an_srt_becomes_a_checked_ladder_in_the_catalog(sources: Path, tmp_path: Path) -> None:
    library = tmp_path / "library"
    stages: list[tuple[str, float]] = []
    result = publish(Request(film=sources / "spring.mkv", library=library, subtitles=(sources / "spring.en.srt",),
                             title_ko="봄날", title_en="Spring Day", year=2001, preset="ultrafast"),
                     progress=lambda stage, fraction: stages.append((stage, fraction)))

    assert result.playable_id == "spring-day-2001"
    assert result.rungs == ["360p", "540p"]  # never above the 540p source
    folder = library / "films" / "spring-day-2001"
    master = hls.parse_master((folder / "master.m3u8").read_text(), BASE)
    assert [v.resolution for v in master.variants] == [(640, 360), (960, 540)]
    assert all(v.bandwidth > 0 and v.codecs.startswith("avc1.64") and "mp4a.40.2" in v.codecs
               for v in master.variants)
    assert [(r.language, r.default) for r in master.subtitles] == [("en", True)]
    # Stereo from the 5.1 source.
    segment = sorted((folder / "540p").glob("*.ts"))[0]
    audio = ffprobe_json(segment, "-select_streams", "a:0", "-show_entries", "stream=channels")
    assert audio["streams"][0]["channels"] == 2
    # Keyframes every 2 s in every rung, so the rungs' segments line up.
    for rung in ("360p", "540p"):
        frames = ffprobe_json(folder / rung / "index.m3u8", "-select_streams", "v:0", "-skip_frame", "nokey",
                              "-show_entries", "frame=pts_time")["frames"]
        times = [round(float(f["pts_time"]) - float(frames[0]["pts_time"]), 1) for f in frames]
        assert times[:3] == [0.0, 2.0, 4.0] and all(t % 2 == 0 for t in times)
    assert (folder / "subs" / "en.vtt").read_text().startswith("WEBVTT")
    assert "Have you eaten?" in (folder / "subs" / "en.vtt").read_text()

    catalog = parse_catalog((library / "catalog.json").read_bytes(), BASE)
    title = catalog.by_id["spring-day-2001"]
    assert title.title == {"ko": "봄날", "en": "Spring Day"} and title.year == 2001
    assert title.added_at is not None and 5.5 < title.duration < 6.5
    assert title.stream == "http://box.invalid/library/films/spring-day-2001/master.m3u8"
    assert [s.language for s in title.subtitles] == ["en"]
    assert title.thumbnails and title.poster
    assert (folder / "poster.jpg").is_file() and (folder / "thumbs" / "sprite-0.jpg").is_file()
    assert not (library / ".work" / "spring-day-2001").exists()
    # Progress only goes forward, through every stage, to the end.
    fractions = [f for _, f in stages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert [s for s, _ in stages if s != stages[0][0]][-1] == "catalog"


def test_an_episode_with_a_two_language_cp949_sami_joins_its_series(sources: Path, tmp_path: Path) -> None:
    library = tmp_path / "library"
    result = publish(Request(film=sources / "episode.mp4", library=library, subtitles=(sources / "episode.smi",),
                             series="Winter Sonata", season=1, episode=2, title_ko="첫 만남",
                             preset="ultrafast"))

    assert result.rungs == ["360p"]  # a 640x360 source gets no rung above it
    assert sorted(result.subtitles) == ["en", "ko"]
    folder = library / "series" / "winter-sonata" / "s01e02"
    assert "안녕하세요, 어머니." in (folder / "subs" / "ko.vtt").read_text(encoding="utf-8")
    assert "Hello, mother." in (folder / "subs" / "en.vtt").read_text(encoding="utf-8")
    assert "어머니" not in (folder / "subs" / "en.vtt").read_text(encoding="utf-8")
    catalog = parse_catalog((library / "catalog.json").read_bytes(), BASE)
    series = catalog.by_id["winter-sonata"]
    assert series.kind == "series" and series.added_at is not None
    (episode,) = series.episodes
    assert episode.id == "winter-sonata-s01e02" and episode.number == 2
    assert {s.language for s in episode.subtitles} == {"ko", "en"}
    master = (folder / "master.m3u8").read_text()
    assert master.count("TYPE=SUBTITLES") == 2 and "RESOLUTION=640x360" in master
    # The master's rendition, read the way the box's player reads it, lands on the sidecar's times.
    start = first_video_pts(folder / "360p") / hls.MPEGTS_HZ
    with serve(folder) as base, requests.Session() as session:
        rendition = hls.fetch_master(base + "master.m3u8", session).subtitle("ko")
        cues = hls.fetch_subtitle_rendition(rendition, session, video_start_pts=start)
    sidecar = parse_subtitles((folder / "subs" / "ko.vtt").read_text(encoding="utf-8"), "ko.vtt")
    assert [(round(c.start, 3), c.text) for c in cues] == [(c.start, c.text) for c in sidecar]


@pytest.mark.parametrize("kind", ["text named .mkv", "empty file", "sound only", "missing"])
def test_what_is_not_a_film_is_refused_plainly_and_the_catalog_stays(kind: str, tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    before = b'{"version": 1, "titles": []}\n'
    (library / "catalog.json").write_bytes(before)
    film = tmp_path / "film.mkv"
    if kind == "text named .mkv":
        film.write_text("this is a shopping list, not a film\n")
    elif kind == "empty file":
        film.write_bytes(b"")
    elif kind == "sound only":
        film = make_sound(tmp_path / "song.m4a")

    with pytest.raises(PublishError) as caught:
        publish(Request(film=film, library=library, preset="ultrafast"))

    message = str(caught.value)
    expected = {"text named .mkv": "not a video file", "empty file": "empty (0 bytes)",
                "sound only": "has no picture", "missing": "does not exist"}[kind]
    assert expected in message
    assert (library / "catalog.json").read_bytes() == before
    assert not (library / "films").exists()


def test_a_broken_catalog_is_left_alone_and_named(sources: Path, tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    (library / "catalog.json").write_text('{"version": 1, "titles": [')
    with pytest.raises(PublishError, match="not valid JSON"):
        publish(Request(film=sources / "episode.mp4", library=library, preset="ultrafast", check_playback=False))
    assert (library / "catalog.json").read_text() == '{"version": 1, "titles": ['
    assert not (library / ".work").exists()


def test_an_interrupted_run_keeps_its_finished_rungs(sources: Path, tmp_path: Path) -> None:
    library = tmp_path / "library"
    request = Request(film=sources / "spring.mkv", library=library, preset="ultrafast", check_playback=False)

    def stop_in_second_rung(stage: str, fraction: float) -> None:
        if stage == "encode" and (library / ".work" / "spring" / "360p").exists():
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        publish(request, progress=stop_in_second_rung)
    finished = library / ".work" / "spring" / "360p"
    marker = (finished / ".done.json").stat().st_mtime_ns
    assert not (library / ".work" / "spring" / "540p").exists()
    assert not (library / "catalog.json").exists()

    result = publish(request)
    assert result.rungs == ["360p", "540p"]
    assert (library / "films" / "spring" / "360p" / ".done.json").stat().st_mtime_ns == marker


def test_a_subtitle_shifted_past_everything_fails_before_encoding(sources: Path, tmp_path: Path) -> None:
    library = tmp_path / "library"
    with pytest.raises(PublishError, match="no subtitle lines left after the offset"):
        publish(Request(film=sources / "episode.mp4", library=library, subtitles=(sources / "spring.en.srt",),
                        subtitle_offset=-60, preset="ultrafast"))
    assert not (library / ".work" / "episode").exists() or not any((library / ".work" / "episode").iterdir())
