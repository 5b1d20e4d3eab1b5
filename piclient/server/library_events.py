"""The library page kept current: its jobs and uploads list pushed as Server-Sent Events.

``GET /api/dash/library/events`` stays open while the maintainer has the library page open. It sends an
``event: jobs`` at once and then whenever the list changes (a job's stage or percent, a job queued,
finished or failed, an upload's bytes arriving). ``GET /api/dash/library/jobs`` answers the same JSON
once: the page polls it only while the stream is down. The JSON carries the list as the page renders
it (``html``, one template for both) and the ids of the finished jobs, so the page knows when a new
title is ready to show.

Where the news comes from: a packaging worker (a thread of this server, a ``piclient server worker``,
or a worker beside another replica) writes its stage and percent to the job queue in the database
every couple of seconds, and an upload may land on any replica. So every stream re-reads the list
every ``JOBS_RECHECK_S`` whatever the database; bytes of an upload that land on this process wake its
streams at once (``Server.library_wakeups``): the loop every page stream shares (event_streams.py).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from piclient.server.context import LIBRARY_PAGES, Server, server_of
from piclient.server.dashboard import api_viewer, render_part
from piclient.server.event_streams import event_stream, follow, same
from piclient.server.library_page import jobs_view, words

JOBS_RECHECK_S = 1.0  # a worker reports every 2 s (worker.REPORT_EVERY_S); reading 30 rows is cheap


async def jobs_json(srv: Server, lang: str) -> dict[str, Any]:
    work = await jobs_view(srv)
    return {"html": render_part("library_jobs.html", w=words(lang), **work),
            "done": [j["id"] for j in work["jobs"] if j["state"] == "done"]}


async def jobs_now(request: Request) -> Response:
    viewer = await api_viewer(request)
    return JSONResponse(await jobs_json(server_of(request), viewer.lang), headers={"Cache-Control": "no-store"})


async def jobs_events(request: Request) -> Response:
    viewer = await api_viewer(request)
    srv = server_of(request)
    return event_stream(follow(srv.library_wakeups, LIBRARY_PAGES, "jobs", lambda: jobs_json(srv, viewer.lang), same,
                               JOBS_RECHECK_S))


def routes() -> list[Route]:
    return [Route("/api/dash/library/jobs", jobs_now, methods=["GET"]),
            Route("/api/dash/library/events", jobs_events, methods=["GET"])]
