"""A bundle uploaded from the Updates page on a phone-sized chromium: checked as publish-bundle checks
it, then offered to one box first and then to all with the page's buttons; a bad one says why."""

from __future__ import annotations

import base64
import hashlib
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from piclient.server.schema import uploads
from tests.browser import needs_chromium
from tests.server.helpers import PASSWORD, RunningServer, login, running_server
from tests.update.versions import build_bundle

pytestmark = needs_chromium


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    # No --library: a server that only hands out updates takes bundles all the same.
    with running_server(tmp_path / "server") as running:
        running.set_password()
        yield running


def _offer_seen_by(server: RunningServer, token: str) -> str | None:
    reply = requests.post(f"{server.url}/api/v1/heartbeat", headers={"Authorization": f"Bearer {token}"},
                          json={"id": hashlib.sha256(token.encode()).hexdigest()[:32], "sent_at": 1.0,
                                "device": {"name": "x", "version": "1.0"}}, timeout=30)
    assert reply.status_code == 200, reply.text
    return (reply.json().get("update") or {}).get("version")


def _log_in(page: Any, server: RunningServer) -> None:
    page.goto(server.url + "/updates")
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url("**/updates")


def test_a_bundle_uploaded_from_the_page_is_published_then_offered_to_one_box_then_all(
        server: RunningServer, tmp_path: Path, phone_page: Any) -> None:
    from playwright.sync_api import expect

    page = phone_page
    first, first_token = server.add_device("Living room")
    _, other_token = server.add_device("Kitchen")
    path, sha = build_bundle(tmp_path, "2.0")
    _log_in(page, server)
    page.set_input_files("#bundle-file", str(path))
    page.click("#bundle-button")
    expect(page.locator("#update-note")).to_contain_text("Version 2.0 is published", timeout=60_000)
    published = page.locator('li[data-version="2.0"]')
    expect(published).to_contain_text(sha[:12])
    assert (server.data_dir / "bundles" / f"piclient-2.0-{sha[:12]}.bundle").read_bytes() == path.read_bytes()
    assert not any((server.data_dir / "incoming").iterdir())  # the upload's copy is not kept twice

    published.locator("select[name=device]").select_option(first)
    published.locator(".offer-one").click()
    expect(page.locator("#update-note")).to_contain_text("Version 2.0 offered to 1 box(es).")
    expect(page.locator('tr[data-device="Living room"] [data-field=offered]')).to_have_text("2.0")
    assert _offer_seen_by(server, first_token) == "2.0"
    assert _offer_seen_by(server, other_token) is None

    page.locator('li[data-version="2.0"] .offer-all').click()
    expect(page.locator("#update-note")).to_contain_text("Version 2.0 offered to 2 box(es).")
    assert _offer_seen_by(server, other_token) == "2.0"


def test_a_damaged_bundle_uploaded_from_the_page_is_refused_with_its_reason(
        server: RunningServer, tmp_path: Path, phone_page: Any) -> None:
    from playwright.sync_api import expect

    page = phone_page
    good, _ = build_bundle(tmp_path, "3.0")
    damaged = tmp_path / "piclient-3.0-aarch64.bundle"
    data = bytearray(good.read_bytes())
    with tarfile.open(good) as archive:
        wheel = next(m for m in archive.getmembers() if m.name.endswith(".whl"))
    data[wheel.offset_data + wheel.size // 2] ^= 0xFF  # one bit rot in the middle of the wheel
    damaged.write_bytes(bytes(data))
    _log_in(page, server)
    page.set_input_files("#bundle-file", str(damaged))
    page.click("#bundle-button")
    status = page.locator("#bundle-status")
    expect(status).to_contain_text("This file cannot be published: piclient-3.0-aarch64.bundle:", timeout=60_000)
    expect(status).to_contain_text("SHA-256")
    expect(page.locator("#bundle-button")).to_be_enabled()
    assert not page.locator('li[data-version="3.0"]').count()
    assert not list(server.data_dir.glob("bundles/*.bundle"))
    assert not any((server.data_dir / "incoming").iterdir())


def test_a_bundle_upload_the_phone_lost_halfway_goes_on_from_the_servers_last_byte(
        server: RunningServer, tmp_path: Path, phone_page: Any) -> None:
    from playwright.sync_api import expect

    page = phone_page
    path, sha = build_bundle(tmp_path, "4.0")
    data = path.read_bytes()
    # The first attempt, before the signal went: half the bytes, on the dashboard's session.
    session, csrf = login(server)
    tus = {"Tus-Resumable": "1.0.0", "X-CSRF-Token": csrf}
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                    {"filename": path.name, "kind": "bundle"}.items())
    created = session.post(f"{server.url}/api/v1/uploads/", timeout=10,
                           headers={**tus, "Upload-Length": str(len(data)), "Upload-Metadata": meta})
    assert created.status_code == 201, created.text
    location = created.headers["Location"]
    half = len(data) // 2
    sent = session.patch(server.url + location, data=data[:half], timeout=30, headers={
        **tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert sent.status_code == 204

    _log_in(page, server)
    page.set_input_files("#bundle-file", str(path))
    # What the page itself remembered of that attempt (tus.js keys it by the file's name, size, date).
    page.evaluate("""(url) => { const f = document.getElementById("bundle-file").files[0];
        localStorage.setItem("piclient-upload:" + [f.name, f.size, f.lastModified].join(":"), url); }""", location)
    page.click("#bundle-button")
    expect(page.locator("#update-note")).to_contain_text("Version 4.0 is published", timeout=60_000)
    expect(page.locator('li[data-version="4.0"]')).to_contain_text(sha[:12])
    ids = server.db.read_sync(lambda conn: conn.execute(sa.select(uploads.c.id)).scalars().all())
    assert ids == [location.rsplit("/", 1)[-1]]  # continued, not started over
