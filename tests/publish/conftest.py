from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.publish.sources import SAMI_TWO_LANGUAGES, SRT, make_film


@pytest.fixture(scope="session")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 960x540 film with 5.1 sound and an SRT; a 640x360 episode with a CP949 two-language SAMI."""
    folder = tmp_path_factory.mktemp("sources")
    make_film(folder / "spring.mkv", size="960x540", seconds=6, channels=6)
    (folder / "spring.en.srt").write_text(SRT, encoding="utf-8")
    make_film(folder / "episode.mp4", size="640x360", seconds=6)
    (folder / "episode.smi").write_bytes(SAMI_TWO_LANGUAGES.encode("cp949"))
    return folder


@pytest.fixture(scope="session")
def published_library(sources: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library with one published film, "spring-day-2001" (640x360, English SRT). Copy before changing."""
    from piclient.publish.pipeline import Request, publish

    library = tmp_path_factory.mktemp("published") / "library"
    publish(Request(film=sources / "episode.mp4", library=library, subtitles=(sources / "spring.en.srt",),
                    title_en="Spring Day", year=2001, preset="ultrafast", check_playback=False))
    return library


@pytest.fixture
def library(published_library: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(published_library, tmp_path / "library"))
