"""The library page follows its jobs live: a job's stage and percent reach the open page without a
reload, pushed by the server (Server-Sent Events), or polled while the browser has no stream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from piclient.server import jobs
from tests.browser import needs_chromium
from tests.server.conftest import make_library
from tests.server.helpers import PASSWORD, RunningServer, login, running_server

WORKER = "test-worker"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    # No worker of its own: the test plays the worker, writing to the job queue as a worker process would.
    with running_server(tmp_path, None, "--library", str(make_library(tmp_path / "library")), "--no-worker") as srv:
        srv.set_password()
        yield srv


def _running_job(server: RunningServer, film: str) -> int:
    job_id = server.db.write_sync(jobs.enqueue, f"/films/{film}", {}, 1_700_000_000.0)
    assert server.db.write_sync(jobs.claim, WORKER, 1_700_000_001.0).id == job_id
    return job_id


def _report(server: RunningServer, job_id: int, stage: str, fraction: float) -> None:
    assert server.db.write_sync(jobs.report, job_id, WORKER, stage, fraction, 1_700_000_002.0)


def test_a_jobs_progress_reaches_an_open_event_stream(server: RunningServer) -> None:
    job_id = _running_job(server, "Spring.Day.2001.mkv")
    _report(server, job_id, "transcode", 0.3)
    session, _ = login(server)
    stream = session.get(f"{server.url}/api/dash/library/events", stream=True, timeout=30)
    assert stream.headers["content-type"].startswith("text/event-stream")
    lines = stream.iter_lines(decode_unicode=True)

    def next_jobs_event() -> dict[str, Any]:
        for line in lines:  # bounded by the stream's 30 s read timeout
            if line.startswith("data: {\"html\""):
                return json.loads(line[len("data: "):])
        raise AssertionError("the stream ended")

    try:
        first = next_jobs_event()
        assert "Spring.Day.2001.mkv" in first["html"] and "transcode 30 %" in first["html"]
        _report(server, job_id, "subtitles", 0.55)
        event = next_jobs_event()
        assert "subtitles 55 %" in event["html"] and event["done"] == []
        server.db.write_sync(jobs.finish, job_id, WORKER, 1_700_000_003.0, result={"warnings": []})
        event = next_jobs_event()
        assert event["done"] == [job_id] and 'data-state="done"' in event["html"]
    finally:
        stream.close()


def test_the_stream_and_its_polling_fallback_are_for_the_maintainer_only(server: RunningServer) -> None:
    import requests

    for path in ("/api/dash/library/events", "/api/dash/library/jobs"):
        reply = requests.get(server.url + path, timeout=10)
        assert reply.status_code == 401 and reply.json()["error"] == "log in first"


def _open_library_with_a_job(page: Any, server: RunningServer, film: str, stage: str,
                             fraction: float) -> tuple[int, Any]:
    """A job at ``stage`` and ``fraction``, and the library page open on it: (job id, its row)."""
    job_id = _running_job(server, film)
    _report(server, job_id, stage, fraction)
    page.goto(server.url + "/titles")
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url("**/titles")
    page.evaluate("window.sameLoad = true")  # gone if the page reloads
    return job_id, page.locator(f'#jobs-live [data-job="{job_id}"]')


@needs_chromium
def test_the_open_page_shows_a_jobs_stage_and_percent_as_they_change(server: RunningServer,
                                                                      phone_page: Any) -> None:
    from playwright.sync_api import expect

    page = phone_page
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url.removeprefix(server.url)))
    job_id, row = _open_library_with_a_job(page, server, "Winter.Sonata.S01E02.mkv", "transcode", 0.1)
    expect(row).to_contain_text("transcode 10 %")
    _report(server, job_id, "transcode", 0.45)
    expect(row).to_contain_text("transcode 45 %")
    expect(row.locator("progress")).to_have_attribute("value", "45")
    _report(server, job_id, "verify", 0.9)
    expect(row).to_contain_text("verify 90 %")
    assert page.evaluate("window.sameLoad") is True
    # A second job queued meanwhile (an upload finished elsewhere) appears in the list as well.
    later = server.db.write_sync(jobs.enqueue, "/films/Later.mkv", {}, 1_700_000_010.0)
    expect(page.locator(f'#jobs-live [data-job="{later}"]')).to_contain_text("waiting")
    assert page.evaluate("window.sameLoad") is True
    # Pushed, not polled: the fallback never ran while the stream was up.
    assert "/api/dash/library/events" in asked and "/api/dash/library/jobs" not in asked


@needs_chromium
def test_without_event_streams_the_page_polls_for_its_jobs(server: RunningServer, phone_page: Any) -> None:
    from playwright.sync_api import expect

    page = phone_page
    page.add_init_script("delete window.EventSource")
    job_id, row = _open_library_with_a_job(page, server, "Old.Browser.mkv", "transcode", 0.2)
    expect(row).to_contain_text("transcode 20 %")
    _report(server, job_id, "transcode", 0.7)
    expect(row).to_contain_text("transcode 70 %", timeout=30_000)
    assert page.evaluate("window.sameLoad") is True


@needs_chromium
def test_a_finished_job_reloads_the_page_to_show_its_title(server: RunningServer, phone_page: Any) -> None:
    from playwright.sync_api import expect

    page = phone_page
    job_id, row = _open_library_with_a_job(page, server, "Spring.Day.2001.mkv", "verify", 0.95)
    expect(row).to_contain_text("verify 95 %")
    with page.expect_navigation():
        server.db.write_sync(jobs.finish, job_id, WORKER, 1_700_000_003.0, result={"warnings": []})
    expect(page.locator(f'#jobs-live [data-job="{job_id}"]')).to_have_attribute("data-state", "done")
    assert page.evaluate("window.sameLoad === undefined")
