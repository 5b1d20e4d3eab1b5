from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from piclient.demo.clips import TWO_RUNGS, publish_clip
from piclient.demo.server import StaticServer
from piclient.publish.pipeline import MASTER

CUES = {
    "ko": [(0.5, 1.5, "안녕하세요"), (1.8, 2.6, "경계를 넘는 줄"), (4.5, 5.5, "밥은 먹었니?")],
    "en": [(0.5, 1.5, "Hello"), (1.8, 2.6, "A line across the boundary"), (4.5, 5.5, "Have you eaten?")],
}


@pytest.fixture(scope="session")
def ladder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A published title with two rungs (640x360, 864x486) and ko and en WebVTT renditions; its master.m3u8."""
    result = publish_clip(tmp_path_factory.mktemp("ladder"), seconds=6, label="자막\nSubtitles", size=TWO_RUNGS,
                          cues=CUES, title_en="ladder")
    return result.folder / MASTER


@pytest.fixture(scope="session")
def ladder_server(ladder: Path) -> Iterator[StaticServer]:
    with StaticServer(ladder.parent) as server:
        yield server
