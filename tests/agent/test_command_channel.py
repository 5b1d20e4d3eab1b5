"""The always-open command channel against a real HTTP server, on a clock the test moves.

The server's faults stand for what sits between a box and its server: a proxy cutting held
connections, a page of garbage, an old server refusing the poll, an outage. The clock is the
channel's and the transport's: how long a poll "was held" is whatever the test says.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator

import pytest

from piclient.agent.channel import (
    ERROR_RECHECK_S,
    GROW_AFTER,
    HOLD_MAX_S,
    HOLD_MIN_S,
    QUIET_BACKOFF_MAX_S,
    CommandChannel,
)
from piclient.agent.live import LiveMode
from piclient.agent.transport import Transport
from tests.agent.protocol_server import TOKEN, ProtocolServer

pytestmark = pytest.mark.timeout(60)

EMPTY = (200, b'{"commands": [], "live": null}')


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Highest(random.Random):
    """Every jittered wait at its upper bound: the figures below are then exact."""

    def uniform(self, a: float, b: float) -> float:
        return b


class Box:
    def __init__(self, server: ProtocolServer) -> None:
        self.clock = Clock()
        self.received: list[object] = []
        self.transport = Transport(server.url, TOKEN, clock=self.clock, rng=Highest(), backoff_max_s=300)
        self.live = LiveMode(clock=self.clock)
        self.stop = threading.Event()
        self.channel = CommandChannel(self.transport, self.live, self.received.append, self.stop,
                                      clock=self.clock, rng=Highest())

    def asked_waits(self, server: ProtocolServer) -> list[int]:
        return [int(q["wait"]) for q in server.poll_queries]


@pytest.fixture
def server() -> Iterator[ProtocolServer]:
    with ProtocolServer() as srv:
        yield srv


@pytest.fixture
def box(server: ProtocolServer) -> Iterator[Box]:
    made = Box(server)
    yield made
    made.stop.set()
    made.transport.close()


def test_a_server_answering_at_once_with_garbage_is_asked_again_ever_later_up_to_a_minute(
        server: ProtocolServer, box: Box) -> None:
    server.fault = lambda method, path: (200, b"<html>Welcome to nginx!</html>")
    waits = [box.channel.step() for _ in range(9)]
    assert waits == [1, 2, 4, 8, 16, 32, QUIET_BACKOFF_MAX_S, QUIET_BACKOFF_MAX_S, QUIET_BACKOFF_MAX_S]
    # A good answer (held to its end) puts the pace back.
    server.fault = lambda method, path: EMPTY
    box.clock.now += 1
    advance_while_held(server, box, HOLD_MAX_S)
    assert box.channel.step() == 0.0
    server.fault = lambda method, path: (200, b"[]")
    assert box.channel.step() == 1


def advance_while_held(server: ProtocolServer, box: Box, seconds: float, then: object = EMPTY) -> None:
    """The server answers (with ``then``) as if it had held the poll ``seconds``."""
    def fault(method: str, path: str) -> object:
        box.clock.now += seconds
        return then

    server.fault = fault  # type: ignore[assignment]


def test_each_poll_asks_to_be_held_about_a_minute_and_under_a_proxys_sixty_seconds(
        server: ProtocolServer, box: Box) -> None:
    advance_while_held(server, box, HOLD_MAX_S)
    box.channel.step()
    spread = CommandChannel(box.transport, box.live, box.received.append, box.stop, clock=box.clock,
                            rng=random.Random(7))
    for _ in range(5):
        spread.step()
    waits = box.asked_waits(server)
    assert waits[0] == HOLD_MAX_S
    assert all(41 <= w <= 55 for w in waits)
    assert len(set(waits[1:])) > 1  # jittered: a fleet does not poll in step


def test_a_proxy_cutting_held_polls_after_30_s_makes_the_holds_shorter_and_they_grow_back_later(
        server: ProtocolServer, box: Box) -> None:
    advance_while_held(server, box, 30, "drop")
    wait = box.channel.step()
    assert 0 < wait <= ERROR_RECHECK_S
    assert box.channel.hold_cap_s == 24  # under the cut, with room
    box.clock.now += wait
    advance_while_held(server, box, 24)
    for _ in range(GROW_AFTER - 1):
        box.channel.step()
    assert max(box.asked_waits(server)[1:]) == 24
    box.channel.step()
    assert box.channel.hold_cap_s == 30  # tried a little longer after a long good run


def test_a_poll_failing_at_once_does_not_shorten_the_holds(server: ProtocolServer, box: Box) -> None:
    server.fault = lambda method, path: "drop"
    box.channel.step()
    assert box.channel.hold_cap_s == HOLD_MAX_S


def test_an_outage_waits_for_the_transports_backoff_but_looks_again_within_ten_seconds(
        server: ProtocolServer, box: Box) -> None:
    server.fault = lambda method, path: 503
    sent = []
    for _ in range(12):
        before = len(server.seen)
        wait = box.channel.step()
        sent.append(len(server.seen) - before)
        assert 0 < wait <= ERROR_RECHECK_S
        box.clock.now += wait
    # Only when the transport's gate opens does a poll reach the server: fewer and fewer of them.
    assert sum(sent) < 8
    server.fault = None
    box.clock.now += 300  # the longest backoff
    server.queue_command("key", {"name": "up"})
    box.channel.step()
    assert box.received[-1][0]["type"] == "key"  # type: ignore[index]


def test_a_server_refusing_the_poll_is_asked_again_only_after_half_a_minute_and_then_later(
        server: ProtocolServer, box: Box) -> None:
    server.fault = lambda method, path: 404
    assert [box.channel.step() for _ in range(3)] == [30, 60, 120]


def test_commands_in_a_reply_go_to_the_runner_and_the_next_poll_follows_at_once(
        server: ProtocolServer, box: Box) -> None:
    command = server.queue_command("key", {"name": "ok"})
    assert box.channel.step() == pytest.approx(0.1)
    assert [c["id"] for c in box.received[-1]] == [command]  # type: ignore[union-attr]


def test_live_mode_in_a_polls_reply_starts_it_and_the_next_poll_says_so(server: ProtocolServer, box: Box) -> None:
    server.live = {"until": time.time() + 120, "poll_seconds": 1, "screenshot_seconds": 3}
    assert box.channel.step() == 0.0
    assert box.live.active()
    assert server.poll_queries[0]["live"] == "0" and box.asked_waits(server)[0] == HOLD_MAX_S
    advance_while_held(server, box, HOLD_MIN_S, then=(200, b'{"commands": [], "live": null}'))
    box.channel.step()
    assert server.poll_queries[1]["live"] == "1"
    assert not box.live.active()  # the server said live: null


def test_a_refused_token_leaves_the_retrying_to_the_heartbeats_for_half_a_minute(
        server: ProtocolServer, box: Box) -> None:
    server.fault = lambda method, path: 401
    assert box.channel.step() == 30
    box.clock.now += 30
    assert box.channel.step() == 60  # the gate is still closed (the transport retries a token slowly)
