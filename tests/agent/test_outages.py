"""Refusals, outages and crashes: the agent neither hammers the server nor loses or doubles a record."""

from __future__ import annotations

import itertools
import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.agent.agent_process import AgentProcess, spool_rows
from tests.agent.protocol_server import TOKEN, ProtocolServer
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(90)

StartAgent = Callable[..., AgentProcess]


def pending(agent: AgentProcess) -> list[tuple[str, str]]:
    agent.check()
    return spool_rows(agent.spool_path) if agent.spool_path.exists() else []


def dropped(agent: AgentProcess) -> int:
    agent.check()
    db = sqlite3.connect(agent.spool_path)
    try:
        row = db.execute("SELECT value FROM counters WHERE name = 'dropped'").fetchone()
    except sqlite3.OperationalError:  # the agent is still creating its tables
        return 0
    finally:
        db.close()
    return row[0] if row else 0


def test_a_refused_token_is_logged_once_and_not_retried_in_a_hot_loop(
        server: ProtocolServer, start_agent: StartAgent) -> None:
    server.token = "the-token-was-revoked"
    agent = start_agent(heartbeat_seconds=0.2, auth_retry_seconds=600)
    server.wait_for(lambda: server.seen, 10, "a first request")
    time.sleep(3)  # fifteen heartbeat intervals
    calls = len(server.seen)
    assert 1 <= calls <= 3, [(s.method, s.path) for s in server.seen]
    # What the box wanted to say waits on disk for a good token.
    assert len([kind for _, kind in pending(agent) if kind == "heartbeat"]) >= 10
    assert agent.terminate() == 0
    assert agent.log().count("SERVER REFUSES THIS BOX") == 1


def test_a_refused_token_is_retried_slowly_and_the_dashboard_hears_of_it_once_it_works(
        server: ProtocolServer, start_agent: StartAgent) -> None:
    server.token = "not-yet-added"
    agent = start_agent(heartbeat_seconds=0.2, auth_retry_seconds=1)
    server.wait_for(lambda: server.seen, 10, "a first request")
    time.sleep(3.2)
    polls = server.requests_to("/api/v1/commands")
    assert 3 <= len(server.seen) - len(polls) <= 6  # about one per second, not five
    assert len(polls) <= 1  # the command poll tried once and leaves the retrying to the heartbeats
    tried = len(server.poll_queries)
    server.token = TOKEN  # the maintainer added the device
    server.wait_for(lambda: not pending(agent), 10, "the spool to drain")
    refused = [b for b in server.heartbeat_list() if (b["agent"]["refused"] or {}).get("status") == 401]
    assert refused
    # Accepted again: the poll is back at once, not after its half-minute wait.
    server.wait_for(lambda: len(server.poll_queries) > tried, 10, "the command poll back")
    assert agent.terminate() == 0


def test_while_the_server_is_down_the_spool_fills_then_drains_with_nothing_lost_or_doubled(
        server: ProtocolServer, start_agent: StartAgent) -> None:
    server.fault = lambda method, path: 503
    agent = start_agent(heartbeat_seconds=0.2, backoff_max_seconds=1)
    waiting = wait_until(lambda: len(rows := pending(agent)) >= 12 and rows, 15, "a filling spool")
    assert not server.state.heartbeats
    server.fault = None
    wait_until(lambda: not pending(agent), 15, "the spool to drain")
    assert agent.terminate() == 0
    stored = server.state.heartbeats
    assert {ident for ident, _ in waiting} <= set(stored)
    assert len(server.state.heartbeat_posts) == len(set(server.state.heartbeat_posts)), "a record was sent twice"
    # No gap in the history: one heartbeat every ~0.2 s across the whole outage.
    times = sorted(b["sent_at"] for b in stored.values())
    assert max(b - a for a, b in itertools.pairwise(times)) < 1.0
    assert any(b["spool"]["pending"] >= 10 for b in stored.values())


def test_kill_9_at_random_moments_while_spooling_loses_and_doubles_nothing(
        server: ProtocolServer, start_agent: StartAgent) -> None:
    rng = random.Random(20240611)
    seen_waiting: set[str] = set()
    kills = 5
    for round_ in range(kills):
        # Even rounds: the server is down and records pile up. Odd rounds: it is slow, so the kill
        # lands while records are being sent and deleted.
        if round_ % 2 == 0:
            server.fault = lambda method, path: 503
        else:
            server.fault = lambda method, path: time.sleep(0.1)  # type: ignore[func-returns-value]
        agent = start_agent(heartbeat_seconds=0.2, backoff_max_seconds=1)
        wait_until(lambda: agent.check() or agent.spool_path.exists(), 10, "the spool file")  # noqa: B023
        time.sleep(rng.uniform(0.3, 1.5))
        agent.kill9()
        rows = spool_rows(agent.spool_path)  # integrity_check passes after every kill
        assert len(rows) == len({ident for ident, _ in rows})
        seen_waiting |= {ident for ident, kind in rows if kind == "heartbeat"}
    server.fault = None
    agent = start_agent(heartbeat_seconds=0.5)
    wait_until(lambda: not pending(agent), 20, "the spool to drain")
    assert agent.terminate() == 0
    stored = set(server.state.heartbeats)
    assert seen_waiting, "no kill caught records on disk; the test proved nothing"
    assert seen_waiting <= stored, "records that were on disk at a kill never arrived"
    posts = server.state.heartbeat_posts
    # A kill between "the server stored it" and "the spool deleted it" sends that one record again;
    # the server keeps it once. More than one per kill would be a bug.
    assert len(posts) - len(set(posts)) <= kills
    assert len(stored) == len(set(posts))


def test_a_full_spool_drops_the_oldest_records_and_heartbeats_report_the_count(
        server: ProtocolServer, start_agent: StartAgent, tmp_path: Path) -> None:
    server.fault = lambda method, path: 503
    started = time.time()
    agent = start_agent(heartbeat_seconds=0.2, backoff_max_seconds=1, spool_max_bytes=12_000)
    wait_until(lambda: agent.spool_path.exists() and dropped(agent) >= 5, 15, "dropped records")
    server.fault = None
    server.wait_for(lambda: any(b["spool"]["dropped"] >= 5 for b in server.heartbeat_list()), 10,
                    "a heartbeat reporting the drops")
    assert agent.terminate() == 0
    times = sorted(b["sent_at"] for b in server.heartbeat_list())
    # The first heartbeats of the outage are the ones that went.
    assert times[0] > started + 0.5
