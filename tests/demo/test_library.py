"""The demo library: source files made by ffmpeg, packaged by the publish pipeline, settled like a
library that has grown over months."""

import itertools
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from piclient.demo import library
from piclient.player.subtitles import decode_text
from piclient.state import Progress

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    # One film and one episode of a few seconds each keep the real build (ffmpeg, libmpv) short.
    monkeypatch.setattr(library, "FILMS", library.FILMS[:1])
    monkeypatch.setattr(library, "EPISODES", library.EPISODES[:1])


def build(root: Path, seconds: float = 4, *, check_playback: bool = False) -> dict:
    # The libmpv decode costs seconds per title; the first test below runs it, the others are about
    # what gets built when, not whether it plays.
    catalog = library.build_demo_library(root, seconds=seconds, now=NOW, check_playback=check_playback)
    assert catalog == root / "catalog.json"
    return json.loads(catalog.read_text(encoding="utf-8"))


def _urls(title: dict) -> list[str]:
    playables = [title, *(e for s in title.get("seasons", []) for e in s["episodes"])]
    urls = [title["poster"]]
    for p in playables:
        if "stream" in p:
            urls += [p["stream"], p["thumbnails"], *(s["url"] for s in p["subtitles"])]
    return urls


def _warnings(title: dict) -> list[str]:
    playables = [title, *(e for s in title.get("seasons", []) for e in s["episodes"])]
    return [w for p in playables for w in p.get("publish", {}).get("warnings", [])]


def test_its_titles_are_packaged_by_the_publish_pipeline_and_every_url_exists(tmp_path: Path, small: None) -> None:
    data = build(tmp_path, check_playback=True)
    film, series = data["titles"]
    assert (film["id"], film["kind"], film["title"], film["year"]) == (
        "spring-day-2001", "film", {"ko": "봄날", "en": "Spring Day"}, 2001)
    assert film["stream"] == "films/spring-day-2001/master.m3u8" and film["duration"] == 4
    assert film["publish"]["rungs"] == ["360p"]  # a 640x360 source: never a rung above it
    assert [(s["language"], s["label"]) for s in film["subtitles"]] == [("ko", "한국어"), ("en", "English")]
    assert film["description"]["en"].startswith("A country stationmaster")
    episode = series["seasons"][0]["episodes"][0]
    assert (series["kind"], series["title"]["ko"], episode["id"], episode["number"]) == (
        "series", "우리 동네 이야기", "our-neighbourhood-s01e01", 1)
    # The episode's one two-language SAMI file became two WebVTT tracks.
    assert [s["language"] for s in episode["subtitles"]] == ["ko", "en"]
    assert all((tmp_path / url).is_file() for title in data["titles"] for url in _urls(title))
    ko = (tmp_path / episode["subtitles"][0]["url"]).read_text(encoding="utf-8")
    assert "새 이웃" in ko and "The New Neighbours" not in ko
    assert (tmp_path / ".complete").exists() and not (tmp_path / ".building").exists()
    assert not any((tmp_path / ".work").iterdir())  # nothing half-built left behind
    assert not any("not played back" in w for t in data["titles"] for w in _warnings(t))


def test_its_sources_are_what_a_maintainer_would_have(tmp_path: Path, small: None) -> None:
    build(tmp_path)
    sources = tmp_path / library.SOURCES
    assert sorted(p.name for p in sources.iterdir()) == [
        "our-neighbourhood-s1e1.mp4", "our-neighbourhood-s1e1.smi", "our-neighbourhood.jpg",
        "spring-day.en.srt", "spring-day.jpg", "spring-day.ko.srt", "spring-day.mp4"]
    sami = (sources / "our-neighbourhood-s1e1.smi").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        sami.decode("utf-8")  # CP949, as Korean subtitle sites hand them out
    assert "새 이웃" in decode_text(sami) and "ENCC" in decode_text(sami)


def test_a_complete_library_is_left_alone(tmp_path: Path, small: None) -> None:
    build(tmp_path)
    master = tmp_path / "films" / "spring-day-2001" / "master.m3u8"
    before = master.stat().st_mtime_ns
    build(tmp_path)
    assert master.stat().st_mtime_ns == before


def test_an_interrupted_build_packages_only_what_is_missing(tmp_path: Path, small: None) -> None:
    build(tmp_path)
    kept = (tmp_path / "films" / "spring-day-2001" / "master.m3u8").stat().st_mtime_ns
    # Stopped before the episode reached the catalog: its folder and entry are not there yet.
    (tmp_path / ".complete").unlink()
    doc = json.loads((tmp_path / "catalog.json").read_text(encoding="utf-8"))
    doc["titles"] = doc["titles"][:1]
    (tmp_path / "catalog.json").write_text(json.dumps(doc), encoding="utf-8")
    shutil.rmtree(tmp_path / "series")
    data = build(tmp_path)
    assert (tmp_path / "films" / "spring-day-2001" / "master.m3u8").stat().st_mtime_ns == kept
    assert (tmp_path / "series" / "our-neighbourhood" / "s01e01" / "master.m3u8").exists()
    assert [t["id"] for t in data["titles"]] == ["spring-day-2001", "our-neighbourhood"]


def test_a_library_of_another_duration_or_layout_is_rebuilt(tmp_path: Path, small: None) -> None:
    (tmp_path / "media" / "spring-day").mkdir(parents=True)  # what the demo wrote before the pipeline
    (tmp_path / ".complete").write_text(json.dumps({"format": 3, "seconds": 4}), encoding="utf-8")
    build(tmp_path, seconds=4)
    assert not (tmp_path / "media").exists()
    data = build(tmp_path, seconds=7)
    assert data["titles"][0]["duration"] == 7


def test_some_titles_are_new_and_some_are_old() -> None:
    doc = {"titles": [{"id": i, "kind": "film"} for i in library.ids_of_demo()[:len(library.FILMS)]]
           + [{"id": "our-neighbourhood", "kind": "series", "title": "Our Neighbourhood", "seasons": []}]}
    library.settle(doc, NOW)
    ages = [NOW - datetime.fromisoformat(t["added_at"].replace("Z", "+00:00")) for t in doc["titles"]]
    assert len(doc["titles"]) >= 12
    assert any(age <= timedelta(days=7) for age in ages) and any(age > timedelta(days=30) for age in ages)
    assert doc["titles"][-1]["title"] == {"ko": "우리 동네 이야기", "en": "Our Neighbourhood"}


def test_a_demo_film_is_long_enough_to_stop_come_back_and_resume() -> None:
    # Stopped after a minute and a half, it offers to resume, with a minute or more still to watch.
    stopped = Progress("spring-day-2001", 90.0, library.DEMO_SECONDS, False, 0.0)
    assert stopped.in_progress and library.DEMO_SECONDS - 90 >= 60


def test_the_subtitles_go_on_all_through_a_demo_film() -> None:
    cues = library.cues(library.FILMS[0], 0, library.DEMO_SECONDS, "ko")
    assert cues[-1][1] > library.DEMO_SECONDS - library.CUE_BLOCK_S
    gaps = [later[0] - earlier[1] for earlier, later in itertools.pairwise(cues)]
    assert max(gaps) < 10 and all(gap > 0 for gap in gaps)
    assert library.cues(library.FILMS[0], 0, 1, "en")[-1][1] <= 1  # a one-second test film keeps its four lines
