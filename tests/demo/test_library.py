import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from piclient.demo import library

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
