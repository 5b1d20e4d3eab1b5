"""The HTTP seam tells refusals from outages, and neither makes the box hammer the server."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from piclient.agent.transport import (
    Backoff,
    Interrupted,
    PermanentError,
    RejectedError,
    TransientError,
    Transport,
    new_session,
)
from tests.agent.protocol_server import TOKEN, ProtocolServer

HEARTBEAT = {"id": "hb-1", "sent_at": 1.0}


@pytest.fixture
def server() -> Iterator[ProtocolServer]:
    with ProtocolServer() as srv:
        yield srv


def transport(server: ProtocolServer, token: str = TOKEN, **kwargs: float) -> Transport:
    options = {"timeout_s": 1.0, "backoff_max_s": 0.5, "auth_retry_s": 600.0, **kwargs}
    return Transport(server.url, token, rng=random.Random(7), **options)


def test_a_heartbeat_goes_through_with_the_device_token(server: ProtocolServer) -> None:
    reply = transport(server).request("POST", "/api/v1/heartbeat", json_body=HEARTBEAT)
    assert reply.status == 200
    assert reply.json_object()["ok"] is True
    assert reply.server_time() == pytest.approx(time.time(), abs=2)
    assert list(server.state.heartbeats) == ["hb-1"]


def test_a_refused_token_is_logged_loudly_once_and_then_not_sent_again_for_a_long_while(
        server: ProtocolServer, caplog: pytest.LogCaptureFixture) -> None:
    link = transport(server, token="revoked")
    with caplog.at_level(logging.DEBUG, logger="piclient.agent.transport"):
        for _ in range(50):
            with pytest.raises(PermanentError) as refused:
                link.request("POST", "/api/v1/heartbeat", json_body=HEARTBEAT)
    assert refused.value.retry_at > time.monotonic() + 500
    assert len(server.requests_to("/api/v1/heartbeat")) == 1
    loud = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(loud) == 1
    assert "SERVER REFUSES THIS BOX: the server refused the device token (HTTP 401" in loud[0].getMessage()
    assert link.report()["refused"]["status"] == 401
    assert link.status_line() == "server refuses this box: HTTP 401"


def test_a_refusal_is_retried_after_the_slow_interval_and_reported_until_a_heartbeat_tells_it(
        server: ProtocolServer, caplog: pytest.LogCaptureFixture) -> None:
    link = transport(server, auth_retry_s=0.3)
    server.token = "rotated"
    with pytest.raises(PermanentError):
        link.request("GET", "/api/v1/progress")
    time.sleep(0.35)
    caplog.clear()
    with caplog.at_level(logging.ERROR), pytest.raises(PermanentError):
        link.request("GET", "/api/v1/progress")
    assert not caplog.records  # the second refusal is not news
    server.token = TOKEN
    time.sleep(0.35)
    link.request("GET", "/api/v1/progress")
    report = link.report()
    assert report["refused"]["resolved_at"] is not None
    link.acknowledge(report)
    assert link.report()["refused"] is None
    assert len(server.requests_to("/api/v1/progress")) == 3


def test_server_errors_back_off_with_jitter_and_fail_fast_while_waiting(server: ProtocolServer) -> None:
    server.fault = lambda method, path: 503
    link = transport(server)
    with pytest.raises(TransientError) as first:
        link.request("POST", "/api/v1/heartbeat", json_body=HEARTBEAT)
    assert first.value.status == 503
    for _ in range(20):
        with pytest.raises(TransientError, match="waiting before retrying"):
            link.request("POST", "/api/v1/heartbeat", json_body=HEARTBEAT)
    # Twenty calls during the backoff cost no requests at all.
    assert len(server.requests_to("/api/v1/heartbeat")) == 1
    server.fault = None
    assert link.wait_open(threading.Event(), 1.0)
    assert link.request("POST", "/api/v1/heartbeat", json_body=HEARTBEAT).status == 200
    assert link.report()["failures"] == 0


def test_a_hung_server_is_a_transient_failure_after_the_timeout(server: ProtocolServer) -> None:
    server.fault = lambda method, path: "hang"
    link = transport(server, timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(TransientError, match="no answer within"):
        link.request("POST", "/api/v1/heartbeat", json_body=HEARTBEAT)
    assert time.monotonic() - started < 3


def test_an_interrupt_ends_a_request_the_server_holds_without_counting_as_an_outage(server: ProtocolServer) -> None:
    server.fault = lambda method, path: "hang" if path == "/api/v1/commands" else None
    link = transport(server, timeout_s=30)
    interrupt = threading.Event()
    threading.Timer(0.3, interrupt.set).start()
    started = time.monotonic()
    with pytest.raises(Interrupted, match="interrupted while waiting"):
        link.request("GET", "/api/v1/commands", params={"wait": 20}, interrupt=interrupt)
    assert time.monotonic() - started < 2  # the timeout is 30 s; generous for a loaded machine
    # Not an outage: the gate stays open, so a going-down heartbeat right after still goes out.
    assert link.retry_at() == 0.0
    assert link.report()["failures"] == 0
    assert link.request("POST", "/api/v1/heartbeat", json_body=HEARTBEAT).status == 200
    with pytest.raises(Interrupted, match="before it was sent"):
        link.request("GET", "/api/v1/commands", interrupt=interrupt)
    assert len(server.started) == 2  # the held poll and the heartbeat; nothing after the interrupt


def test_an_interruptible_request_answers_like_any_other(server: ProtocolServer) -> None:
    link = transport(server)
    reply = link.request("POST", "/api/v1/heartbeat", json_body=HEARTBEAT, interrupt=threading.Event())
    assert reply.json_object()["ok"] is True
    with pytest.raises(RejectedError):
        link.request("POST", "/api/v1/heartbeat", json_body={"no": "id"}, interrupt=threading.Event())


def test_a_dropped_connection_is_a_transient_failure(server: ProtocolServer) -> None:
    server.fault = lambda method, path: "drop"
    with pytest.raises(TransientError, match="cannot reach the server"):
        transport(server).request("POST", "/api/v1/heartbeat", json_body=HEARTBEAT)


def test_a_request_the_server_rejects_is_not_an_outage(server: ProtocolServer) -> None:
    link = transport(server)
    with pytest.raises(RejectedError) as rejected:
        link.request("POST", "/api/v1/heartbeat", json_body={"no": "id"})
    assert rejected.value.status == 400
    assert link.retry_at() == 0.0
    assert link.request("POST", "/api/v1/heartbeat", json_body=HEARTBEAT).status == 200


def test_full_jitter_backoff_grows_and_stays_under_its_cap() -> None:
    backoff = Backoff(base_s=1.0, cap_s=30.0, rng=random.Random(3))
    delays = [backoff.next_delay() for _ in range(40)]
    ceilings = [min(30.0, 2.0**n) for n in range(40)]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert max(delays[10:]) > 15  # it really grows to the cap
    assert len({round(d, 6) for d in delays}) == len(delays)  # and really is random
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_the_token_goes_only_to_the_servers_own_origin() -> None:
    session = new_session("https://tv.example.org/piclient", "secret")
    own = session.prepare_request(requests.Request("GET", "https://tv.example.org/library/posters/a.jpg"))
    other = session.prepare_request(requests.Request("GET", "https://images.example.com/a.jpg"))
    plain = session.prepare_request(requests.Request("GET", "http://tv.example.org/library/posters/a.jpg"))
    assert own.headers["Authorization"] == "Bearer secret"
    assert "Authorization" not in other.headers
    assert "Authorization" not in plain.headers
