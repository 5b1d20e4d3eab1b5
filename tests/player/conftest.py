from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from piclient.demo.hls import make_hls
from piclient.demo.server import StaticServer

# 2 s segments; "경계를 넘는 줄" spans the boundary at 2 s, so it sits in two segments.
CUES = {
    "ko": [(0.5, 1.5, "안녕하세요"), (1.8, 2.6, "경계를 넘는 줄"), (4.5, 5.5, "밥은 먹었니?")],
    "en": [(0.5, 1.5, "Hello"), (1.8, 2.6, "A line across the boundary"), (4.5, 5.5, "Have you eaten?")],
}


@pytest.fixture(scope="session")
def ladder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real two-variant ladder with ko and en WebVTT renditions; its master.m3u8."""
    return make_hls(tmp_path_factory.mktemp("ladder"), seconds=6, label="자막\nSubtitles", subtitles=CUES)


@pytest.fixture(scope="session")
def ladder_server(ladder: Path) -> Iterator[StaticServer]:
    with StaticServer(ladder.parent) as server:
        yield server
