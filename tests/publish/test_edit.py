"""Changes made once at the source: names, hide and show, remove, and a subtitle shifted for everyone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from piclient.catalog.model import parse_catalog
from piclient.player.subtitles import parse_subtitles
from piclient.publish import PublishError
from piclient.publish.edit import edit_title, remove_title, set_hidden, set_poster, shift_subtitle
from tests.server.helpers import jpeg

BASE = "http://box.invalid/library/catalog.json"


def _ids(library: Path) -> list[str]:
    return [t.id for t in parse_catalog((library / "catalog.json").read_bytes(), BASE).titles]


def test_names_year_and_description_are_changed_in_place(library: Path) -> None:
    edit_title(library, "spring-day-2001", title_ko="봄날", year=2002, description_en="A spring by the sea.")
    title = parse_catalog((library / "catalog.json").read_bytes(), BASE).by_id["spring-day-2001"]
    assert title.title == {"ko": "봄날", "en": "Spring Day"} and title.year == 2002
    assert title.description == {"en": "A spring by the sea."}
    with pytest.raises(PublishError, match="needs a name"):
        edit_title(library, "spring-day-2001", title_ko="", title_en=" ")


def test_a_hidden_title_leaves_the_boxes_catalog_and_comes_back(library: Path) -> None:
    set_hidden(library, "spring-day-2001", True)
    assert _ids(library) == []
    assert json.loads((library / "catalog.json").read_text())["hidden_titles"][0]["id"] == "spring-day-2001"
    set_hidden(library, "spring-day-2001", False)
    assert _ids(library) == ["spring-day-2001"]


def test_a_removed_title_loses_its_files_too(library: Path) -> None:
    remove_title(library, "spring-day-2001")
    assert _ids(library) == [] and not (library / "films" / "spring-day-2001").exists()
    with pytest.raises(PublishError, match="no title"):
        remove_title(library, "spring-day-2001")


def test_a_subtitle_is_shifted_in_the_sidecar_and_the_rendition(library: Path) -> None:
    folder = library / "films" / "spring-day-2001" / "subs"
    shift_subtitle(library, "spring-day-2001", "en", 1.5)
    cues = parse_subtitles((folder / "en.vtt").read_text(encoding="utf-8"), "en.vtt")
    assert [(c.start, c.end) for c in cues] == [(2.0, 3.5), (4.5, 6.0)]
    rendition = (folder / "en" / "all.vtt").read_text(encoding="utf-8")
    assert "X-TIMESTAMP-MAP=MPEGTS:" in rendition and "00:00:02.000 --> 00:00:03.500" in rendition
    with pytest.raises(PublishError, match="no published 'ko' subtitle"):
        shift_subtitle(library, "spring-day-2001", "ko", 1)


def test_a_new_poster_gets_a_new_name_so_boxes_fetch_it(library: Path, tmp_path: Path) -> None:
    image = tmp_path / "poster.png"
    image.write_bytes(jpeg(300, 450))
    set_poster(library, "spring-day-2001", image)
    title = parse_catalog((library / "catalog.json").read_bytes(), BASE).by_id["spring-day-2001"]
    assert title.poster.endswith("films/spring-day-2001/poster-1.jpg")
