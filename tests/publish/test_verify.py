"""The check before the catalog: every URL of the package answers, and libmpv decodes it."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from piclient.publish import PublishError
from piclient.publish.verify import check_urls, play_points, serve


def test_a_complete_package_passes_and_plays_at_start_middle_and_end(library: Path) -> None:
    folder = library / "films" / "spring-day-2001"
    with serve(folder) as base, requests.Session() as session:
        assert check_urls(base + "master.m3u8", [base + "subs/en.vtt"], session) > 4
        assert play_points(base + "master.m3u8", 6.0) == [0.0, 3.0, 3.5]


@pytest.mark.parametrize(("remove", "message"), [
    ("360p/seg00001.ts", "360p/seg00001.ts is listed in 360p/index.m3u8 but missing"),
    ("subs/en/index.m3u8", "en/index.m3u8 is listed in the master playlist but missing"),
    ("subs/en.vtt", "subtitle subs/en.vtt does not read back"),
])
def test_a_missing_piece_is_named(library: Path, remove: str, message: str) -> None:
    folder = library / "films" / "spring-day-2001"
    (folder / remove).unlink()
    with serve(folder) as base, requests.Session() as session, pytest.raises(PublishError) as caught:
        check_urls(base + "master.m3u8", [base + "subs/en.vtt"], session)
    assert str(caught.value) == message
