import json
from pathlib import Path

import pytest

from piclient.demo.clips import SOURCES, publish_clip
from piclient.demo.sources import SourceError, make_film
from piclient.publish import catalog_file
from piclient.publish.pipeline import MASTER
from piclient.publish.probe import probe
from piclient.publish.tools import ffprobe_json

CUES = {"ko": [(0.5, 1.5, "안녕하세요")], "en": [(0.5, 1.5, "Hello")]}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("library")
    publish_clip(root, seconds=3, label="봄날\nSpring Day", color="navy", cues=CUES,
                 title_en="Spring Day", title_ko="봄날", year=2001)
    return root


def test_a_clip_becomes_a_catalog_title_as_a_film_would(library: Path) -> None:
    title = catalog_file.find_title(catalog_file.read(library), "spring-day-2001")
    assert title is not None and title["title"] == {"ko": "봄날", "en": "Spring Day"}
    assert title["stream"] == f"films/spring-day-2001/{MASTER}"
    assert [(s["language"], s["url"]) for s in title["subtitles"]] == [
        ("ko", "films/spring-day-2001/subs/ko.vtt"), ("en", "films/spring-day-2001/subs/en.vtt")]
    assert (library / title["thumbnails"]).is_file() and (library / title["poster"]).is_file()
    assert title["publish"]["rungs"] == ["360p"]


def test_the_clips_master_names_its_rung_and_both_renditions(library: Path) -> None:
    master = (library / "films" / "spring-day-2001" / MASTER).read_text(encoding="utf-8")
    assert 'LANGUAGE="ko",DEFAULT=YES' in master and 'LANGUAGE="en",DEFAULT=NO' in master
    assert "RESOLUTION=640x360" in master and "360p/index.m3u8" in master
    assert "안녕하세요" in (library / "films" / "spring-day-2001" / "subs" / "ko.vtt").read_text(encoding="utf-8")


def test_the_source_keeps_its_sound_as_pcm_and_stays_hidden(library: Path) -> None:
    film = library / SOURCES / "spring-day.mkv"
    source = probe(film)
    assert (source.width, source.height, round(source.duration)) == (640, 360, 3)
    streams = ffprobe_json(film, "-show_entries", "stream=codec_name")["streams"]
    assert [s["codec_name"] for s in streams] == ["h264", "pcm_s16le"]
    assert not any(SOURCES in str(path) for path in (library / "films").rglob("*"))


def test_it_refuses_a_clip_of_no_length_and_the_catalog_keeps_what_it_had(library: Path) -> None:
    before = json.loads((library / catalog_file.CATALOG).read_text(encoding="utf-8"))
    with pytest.raises(SourceError, match="longer than 0 s"):
        publish_clip(library, seconds=0, label="x", title_en="nothing")
    assert json.loads((library / catalog_file.CATALOG).read_text(encoding="utf-8")) == before


def test_a_film_file_of_an_unknown_kind_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"\.mp4 or \.mkv, not film\.avi"):
        make_film(tmp_path / "film.avi", seconds=1, label="x", color="black")
    assert list(tmp_path.iterdir()) == []
