"""The poster bank names a poster the cache refused among the TV app's problems, once."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from piclient.catalog.cache import CatalogCache
from piclient.logs import RecentProblems
from piclient.ui.posters import PosterBank

CUT = "http://127.0.0.1:9/posters/cut-short.jpg"
LATE = "http://127.0.0.1:9/posters/not-fetched-yet.jpg"


@pytest.fixture
def problems() -> Iterator[RecentProblems]:
    handler = RecentProblems()
    logger = logging.getLogger("piclient.ui.posters")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def shown(bank: PosterBank, url: str, size: str) -> bool:
    """Ask for the poster as a frame does, let the load finish, and say whether it can be drawn."""
    bank.get(url, size)
    bank.wait_idle(10)
    bank.collect()
    return not bank.is_missing(url, size)


def test_a_refused_poster_shows_the_placeholder_and_is_named_once_with_its_reason(
        tmp_path: Path, problems: RecentProblems) -> None:
    cache = CatalogCache(tmp_path)
    cache.mark_poster_bad(CUT, "image data does not decode completely and cleanly: premature end of data segment")
    bank = PosterBank(cache.poster_file, {"grid": (240, 360), "page": (400, 600)}, why_unusable=cache.poster_bad)
    try:
        assert not shown(bank, CUT, "grid")
        bank.forget_missing()  # a sync came: everything missing is tried again
        assert not shown(bank, CUT, "grid") and not shown(bank, CUT, "page")
        assert not shown(bank, LATE, "grid")
    finally:
        bank.close()

    messages = [item["message"] for item in problems.items()]
    assert len(messages) == 1, messages  # once, and nothing for a poster that is only not fetched yet
    assert CUT in messages[0] and "premature end of data segment" in messages[0]
    assert problems.items()[0]["level"] == "warning"
