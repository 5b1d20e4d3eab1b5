from __future__ import annotations

from pathlib import Path

import pytest

from piclient.server.library import Library, etag_matches, safe_relative


@pytest.mark.parametrize("path", ["catalog.json", "posters/a.jpg", "media/x/v0/seg001.ts", "한국/봄날.jpg"])
def test_plain_relative_paths_are_allowed(path: str) -> None:
    assert safe_relative(path)


@pytest.mark.parametrize("path", ["", "/etc/passwd", "../x", "a/../../x", "a/./b", "a//b", ".complete",
                                  "posters/.hidden", "a\\..\\b", "a\x00b", "x" * 1025, "a/"])
def test_paths_that_could_leave_or_peek_are_refused(path: str) -> None:
    assert not safe_relative(path)


def test_the_catalog_is_reread_only_when_it_changes(tmp_path: Path) -> None:
    (tmp_path / "catalog.json").write_text('{"version": 1}')
    library = Library(tmp_path)
    data, etag = library.catalog()  # type: ignore[misc]
    assert library.catalog() == (data, etag)
    (tmp_path / "catalog.json").write_text('{"version": 1, "titles": []}')
    assert library.catalog()[1] != etag  # type: ignore[index]
    assert Library(None).catalog() is None and Library(tmp_path / "none").catalog() is None


def test_if_none_match_accepts_lists_weak_tags_and_star() -> None:
    assert etag_matches('"a", W/"b"', '"b"') and etag_matches("*", '"x"')
    assert not etag_matches('"a"', '"b"') and not etag_matches(None, '"b"')
