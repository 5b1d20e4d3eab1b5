"""The library page's uploader in a real browser: a film and its subtitle, on the dashboard session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.browser import needs_chromium
from tests.server.conftest import make_library
from tests.server.helpers import PASSWORD, running_server
from tests.waiting import wait_until

pytestmark = [needs_chromium, pytest.mark.slow]


def test_a_film_and_its_subtitle_uploaded_from_the_page_are_packaged(sources: Path, tmp_path: Path,
                                                                    phone_page: Any) -> None:
    from playwright.sync_api import expect

    page = phone_page
    library = make_library(tmp_path / "library")
    with running_server(tmp_path, None, "--library", str(library)) as server:
        server.set_password()
        page.goto(server.url + "/titles")
        page.fill("#password", PASSWORD)
        page.click("#login-button")
        page.set_input_files("#upload-film", str(sources / "episode.mp4"))
        page.set_input_files("#upload-subs", str(sources / "episode.smi"))
        page.fill("input[name=title_en]", "Sea Walk")
        page.click("#upload-button")
        expect(page.locator("#upload-status")).to_have_text("Uploaded. Packaging starts now.", timeout=60_000)
        titles = wait_until(lambda: json.loads((library / "catalog.json").read_text())["titles"], timeout=240,
                            what="the uploaded film in the catalog")
        page.goto(server.url + "/titles")
        expect(page.locator('article[data-title="sea-walk"]')).to_contain_text("360p")
    assert titles[0]["id"] == "sea-walk"
    assert {s["language"] for s in titles[0]["subtitles"]} == {"ko", "en"}
    assert not any((server.data_dir / "incoming").iterdir())  # the packaged source is not kept twice
