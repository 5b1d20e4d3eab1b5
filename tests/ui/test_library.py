"""What the rows and badges are made of: new, watched, where to resume."""

from __future__ import annotations

import json
import time

from piclient.catalog import parse_catalog
from piclient.state import Progress
from piclient.ui.screen import Library
from tests.catalogs import film, series

BASE = "http://127.0.0.1:9/catalog.json"


def make(titles: list, progress: dict[str, Progress] | None = None, new_since: float | None = None) -> Library:
    catalog = parse_catalog(json.dumps({"version": 1, "titles": titles}), BASE)
    return Library(catalog, progress or {}, new_since)


def prog(ident: str, position: float, duration: float, *, watched: bool = False, at: float = 0) -> Progress:
    return Progress(ident, position, duration, watched, at or time.time())


def test_new_means_added_since_the_previous_session() -> None:
    titles = [film("a", "가", added_days_ago=2), film("b", "나", added_days_ago=5)]
    lib = make(titles, new_since=time.time() - 3 * 86400)
    assert [lib.is_new(t) for t in lib.catalog.titles] == [True, False]


def test_a_started_title_is_no_longer_new() -> None:
    lib = make([film("a", "가", added_days_ago=1)], {"a": prog("a", 100, 3600)})
    assert not lib.is_new(lib.catalog.titles[0])


def test_a_series_resumes_at_the_next_episode_after_a_watched_one() -> None:
    lib = make([series("s", "시리즈")], {"s-e1": prog("s-e1", 1500, 1500, watched=True)})
    episode, progress = lib.resume_point(lib.catalog.titles[0])
    assert episode is not None and episode.id == "s-e2" and progress is None


def test_a_series_is_watched_only_when_every_episode_is() -> None:
    done = {f"s-e{n}": prog(f"s-e{n}", 1500, 1500, watched=True) for n in (1, 2)}
    lib = make([series("s", "시리즈")], done)
    assert not lib.is_watched(lib.catalog.titles[0])
    lib.progress["s-e3"] = prog("s-e3", 1500, 1500, watched=True)
    assert lib.is_watched(lib.catalog.titles[0])


def test_continue_watching_is_most_recent_first_and_skips_barely_started_films() -> None:
    now = time.time()
    lib = make(
        [film("a", "가"), film("b", "나"), film("c", "다")],
        {"a": prog("a", 600, 3600, at=now - 100), "b": prog("b", 900, 3600, at=now - 10), "c": prog("c", 5, 3600)},
    )
    assert [t.id for t in lib.in_progress_titles()] == ["b", "a"]
