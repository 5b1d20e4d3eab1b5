import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from piclient.demo import library
from piclient.state import Progress

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    # One film and one episode at one second each keep the real ffmpeg build to about a second.
    monkeypatch.setattr(library, "FILMS", library.FILMS[:1])
    monkeypatch.setattr(library, "EPISODES", library.EPISODES[:1])


def build(root: Path, seconds: float = 1) -> dict:
    catalog = library.build_demo_library(root, seconds=seconds, now=NOW)
    assert catalog == root / "catalog.json"
    return json.loads(catalog.read_text(encoding="utf-8"))


def test_it_builds_a_catalog_whose_every_url_exists(tmp_path: Path, small: None) -> None:
    data = build(tmp_path)
    assert data["version"] == 1
    film, series = data["titles"]
    assert (film["id"], film["kind"], film["title"]["ko"], film["duration"]) == ("spring-day", "film", "봄날", 1)
    assert film["subtitles"][0] == {"url": "media/spring-day/subs/ko.vtt", "language": "ko", "label": "한국어"}
    episode = series["seasons"][0]["episodes"][0]
    assert (series["kind"], episode["id"], episode["number"]) == ("series", "our-neighbourhood-s1e1", 1)
    urls = [film["poster"], film["stream"], series["poster"], episode["stream"]]
    urls += [sub["url"] for sub in film["subtitles"] + episode["subtitles"]]
    assert all((tmp_path / url).is_file() for url in urls)
    assert (tmp_path / ".complete").exists() and not (tmp_path / ".building").exists()


def test_some_titles_are_new_and_some_are_old() -> None:
    data = library.catalog_data(NOW, 30)
    ages = [NOW - datetime.fromisoformat(t["added_at"].replace("Z", "+00:00")) for t in data["titles"]]
    assert len(data["titles"]) >= 12
    assert any(age <= timedelta(days=7) for age in ages) and any(age > timedelta(days=30) for age in ages)


def test_a_complete_library_is_left_alone(tmp_path: Path, small: None) -> None:
    build(tmp_path)
    master = tmp_path / "media" / "spring-day" / "master.m3u8"
    before = master.stat().st_mtime_ns
    build(tmp_path)
    assert master.stat().st_mtime_ns == before


def test_an_interrupted_build_resumes_and_drops_half_built_streams(tmp_path: Path, small: None) -> None:
    build(tmp_path)
    kept = (tmp_path / "media" / "spring-day" / "master.m3u8").stat().st_mtime_ns
    (tmp_path / ".complete").unlink()
    (tmp_path / "media" / "our-neighbourhood-s1e1").rename(tmp_path / "media" / ".our-neighbourhood-s1e1.x")
    build(tmp_path)
    assert (tmp_path / "media" / "spring-day" / "master.m3u8").stat().st_mtime_ns == kept
    assert (tmp_path / "media" / "our-neighbourhood-s1e1" / "master.m3u8").exists()
    assert not list((tmp_path / "media").glob(".*"))


def test_a_library_of_another_duration_is_rebuilt(tmp_path: Path, small: None) -> None:
    build(tmp_path, seconds=1)
    data = build(tmp_path, seconds=3)
    assert data["titles"][0]["duration"] == 3
    assert (tmp_path / "media" / "spring-day" / "v0" / "index.m3u8").read_text().count("#EXTINF") == 2


def test_a_demo_film_is_long_enough_to_stop_come_back_and_resume() -> None:
    for title in library.catalog_data(NOW, library.DEMO_SECONDS)["titles"]:
        for playable in [title, *(ep for season in title.get("seasons", []) for ep in season["episodes"])]:
            if "duration" not in playable:
                continue
            # Stopped after a minute and a half, it offers to resume, with a minute or more still to watch.
            stopped = Progress(playable["id"], 90.0, playable["duration"], False, 0.0)
            assert stopped.in_progress and playable["duration"] - 90 >= 60, playable["id"]


def test_the_subtitles_go_on_all_through_a_demo_film() -> None:
    cues = library.cues(library.FILMS[0], 0, library.DEMO_SECONDS, "ko")
    assert cues[-1][1] > library.DEMO_SECONDS - library.CUE_BLOCK_S
    gaps = [later[0] - earlier[1] for earlier, later in itertools.pairwise(cues)]
    assert max(gaps) < 10 and all(gap > 0 for gap in gaps)
    assert library.cues(library.FILMS[0], 0, 1, "en")[-1][1] <= 1  # a one-second test film keeps its four lines
