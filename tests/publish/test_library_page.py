"""The dashboard's library page: titles with their state, her history per box, and changes at the source."""

from __future__ import annotations

import json
import re
from pathlib import Path

import requests

from piclient.server.progress import merge
from tests.server.helpers import login, running_server


def test_the_page_shows_titles_jobs_and_what_each_box_has_not_started(library: Path, tmp_path: Path) -> None:
    with running_server(tmp_path, None, "--library", str(library), "--no-worker") as server:
        server.set_password()
        server.add_device("Mother's TV")
        server.add_device("Kitchen")
        device_id = server.db.read_sync(lambda c: c.exec_driver_sql(
            "SELECT id FROM devices WHERE name = 'Mother''s TV'").scalar())
        server.db.write_sync(merge, device_id, [
            {"item_id": "spring-day-2001", "position": 3.0, "duration": 6.0, "watched": False,
             "updated_at": 1_700_000_000.0}], 1_700_000_100.0)  # received a little after it was stamped
        session, csrf = login(server)
        page = session.get(f"{server.url}/titles", timeout=10)
        assert page.status_code == 200, server.log()
        html = page.text
        assert 'data-title="spring-day-2001" data-state="ready"' in html
        assert "360p" in html and "en" in html and "0:00:06" in html
        boxes = {chunk.split("<h3>", 1)[1].split(" ·", 1)[0]: chunk for chunk in html.split('class="lib-box"')[1:]}
        assert "0 new titles not started" in boxes["Mother&#39;s TV"]
        assert "0:00:03 / 0:00:06" in boxes["Mother&#39;s TV"]
        assert "1 new titles not started" in boxes["Kitchen"]
        device_list = session.get(f"{server.url}/", timeout=10).text
        assert device_list.count("1 new films not started") == 1  # the kitchen's; her one film is started
        poster = re.search(r'src="(/titles/file/[^"]+)"', html).group(1)
        assert session.get(server.url + poster, timeout=10).headers["content-type"] == "image/jpeg"
        assert requests.get(server.url + poster, timeout=10, allow_redirects=False).status_code == 303

        shifted = session.post(f"{server.url}/titles/spring-day-2001", timeout=10, data={
            "csrf": csrf, "action": "shift", "language": "en", "seconds": "2", "episode": ""})
        assert shifted.status_code == 200 and "Saved." in shifted.text
        assert "00:00:02.500 --> 00:00:04.000" in (library / "films/spring-day-2001/subs/en.vtt").read_text()
        changed = session.post(f"{server.url}/titles/spring-day-2001", timeout=10, data={
            "csrf": csrf, "action": "edit", "title_ko": "봄날", "title_en": "Spring Day", "year": "2001"})
        assert changed.status_code == 200 and "Saved." in changed.text
        hidden = session.post(f"{server.url}/titles/spring-day-2001", timeout=10,
                              data={"csrf": csrf, "action": "hide"})
        assert 'data-state="hidden"' in hidden.text
        forged = session.post(f"{server.url}/titles/spring-day-2001", timeout=10,
                              data={"csrf": "wrong", "action": "remove", "sure": "yes"})
        assert forged.status_code == 403
    doc = json.loads((library / "catalog.json").read_text())
    assert doc["titles"] == [] and doc["hidden_titles"][0]["title"] == {"ko": "봄날", "en": "Spring Day"}
