"""Offline and TV-failure alerts reach a webhook, an ntfy-style endpoint and an SMTP server on 127.0.0.1,
once per episode."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from piclient.server.settings import SMTP_PASSWORD_ENV
from tests.server.conftest import database_url
from tests.server.helpers import AlertReceiver, RunningServer, device_id, send_heartbeat, start_server
from tests.server.smtp import Mailbox
from tests.waiting import wait_until

SMTP_LOGIN = ("alerts", "a relay password")


@pytest.fixture(scope="module")
def receiver() -> Iterator[AlertReceiver]:
    hooks = AlertReceiver()
    try:
        yield hooks
    finally:
        hooks.close()


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    # A relay on this machine: STARTTLS is optional there, so it may take the login in the clear.
    box = Mailbox(credentials=SMTP_LOGIN)
    try:
        yield box
    finally:
        box.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           receiver: AlertReceiver, mailbox: Mailbox) -> Iterator[RunningServer]:
    # One-second heartbeats: a box is offline after three silent seconds.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SMTP_PASSWORD_ENV, SMTP_LOGIN[1])  # the server process inherits it
        running = start_server(tmp_path_factory.mktemp("alerts") / "data", database_url(request, request.param),
                               "--heartbeat-seconds", "1", "--alert-check-seconds", "0.2",
                               "--alert-webhook", f"{receiver.url}/hook", "--alert-ntfy", f"{receiver.url}/ntfy",
                               "--alert-email", "son@example.org", "--alert-email", "daughter@example.org",
                               "--smtp-host", mailbox.host, "--smtp-from", "piclient@example.org",
                               "--smtp-user", SMTP_LOGIN[0])
    try:
        yield running
    finally:
        running.stop()


def kinds(receiver: AlertReceiver, name: str) -> list[str]:
    return [event["event"] for event in receiver.events() if event["device"] == name]


def tv_kinds(receiver: AlertReceiver, name: str) -> list[str]:
    return [kind for kind in kinds(receiver, name) if kind.startswith("tv_")]


def stored_kinds(server: RunningServer, name: str) -> list[str]:
    """The alerts the server raised for this box, oldest first (each is stored before it is sent)."""
    from piclient.server.alerts import recent

    return [row.kind for row in reversed(server.db.read_sync(recent, device_id(server, name)))]


def checks_done(server: RunningServer) -> float:
    metrics = requests.get(f"{server.url}/metrics", timeout=10).text
    return next(sample.value for family in text_string_to_metric_families(metrics)
                for sample in family.samples if sample.name == "piclient_alert_checks_total")


def wait_for_checks(server: RunningServer, count: int = 2) -> None:
    """Until ``count`` more alert checks have finished: the later ones began after this call, so they saw
    everything done before it. A condition, not a guess at how long checks take on a loaded machine."""
    target = checks_done(server) + count
    wait_until(lambda: checks_done(server) >= target, 30, f"{count} more alert checks")


def test_an_offline_box_raises_one_alert_and_a_recovery_notice_follows(server: RunningServer,
                                                                        receiver: AlertReceiver) -> None:
    name, token = server.add_device()
    assert send_heartbeat(server, token).json()["heartbeat_seconds"] == 1
    assert receiver.wait_for(lambda: kinds(receiver, name) == ["offline"], timeout=10)
    offline = next(e for e in receiver.events() if e["device"] == name)
    assert "is offline" in offline["message"] and offline["since"] is not None
    wait_for_checks(server)  # more checks pass; still one alert for the episode
    assert stored_kinds(server, name) == ["offline"]
    assert kinds(receiver, name) == ["offline"]
    send_heartbeat(server, token)
    assert receiver.wait_for(lambda: kinds(receiver, name) == ["offline", "online"], timeout=10)
    # The ntfy post of an event may land a moment after its webhook post: wait for both, bounded.
    assert receiver.wait_for(lambda: len([b for b in receiver.events("/ntfy") if name in b]) == 2, timeout=10)
    texts = [body for body in receiver.events("/ntfy") if name in body]
    assert "offline" in texts[0] and "back online" in texts[1]
    headers = [h for p, h, body in receiver.received if p == "/ntfy" and name in body]
    assert headers[0]["Priority"] == "high" and headers[0]["Title"] == f"piclient: {name}"


def test_a_tv_app_failing_three_heartbeats_in_a_row_raises_an_alert_until_it_runs_again(
        server: RunningServer, receiver: AlertReceiver) -> None:
    name, token = server.add_device()
    for state in ("running", "crashed", "unresponsive"):
        send_heartbeat(server, token, tv={"state": state})
    wait_for_checks(server)
    # Two in a row are not yet "keeps failing". (On a loaded machine the box may meanwhile count as
    # offline, with one-second heartbeats: only the TV's alerts matter here.)
    assert "tv_failing" not in stored_kinds(server, name)
    assert "tv_failing" not in kinds(receiver, name)
    send_heartbeat(server, token, tv={"state": "crashed"})
    assert receiver.wait_for(lambda: "tv_failing" in kinds(receiver, name), timeout=15)
    send_heartbeat(server, token, tv={"state": "crashed"})
    send_heartbeat(server, token, tv={"state": "running"})
    assert receiver.wait_for(lambda: tv_kinds(receiver, name) == ["tv_failing", "tv_recovered"], timeout=15)
    failing = next(e for e in receiver.events() if e["device"] == name and e["event"] == "tv_failing")
    assert "crashed" in failing["message"]


def test_an_offline_box_is_reported_by_email_with_the_device_and_event_in_the_subject(
        server: RunningServer, mailbox: Mailbox) -> None:
    name, token = server.add_device()
    send_heartbeat(server, token)
    assert mailbox.wait_for(lambda: len(mailbox.messages_about(name)) == 1, timeout=10)
    [message] = mailbox.messages_about(name)
    assert message["Subject"] == f"piclient: {name} is offline"
    assert message["From"] == "piclient@example.org"
    assert message["To"] == "son@example.org, daughter@example.org"
    body = message.get_content()
    assert f"'{name}' is offline: no heartbeat since" in body and "Event: offline" in body
    [received] = [r for r in mailbox.received if r.message is message]
    assert received.login == SMTP_LOGIN and received.rcpt_tos == ["son@example.org", "daughter@example.org"]
    send_heartbeat(server, token)
    assert mailbox.wait_for(lambda: len(mailbox.messages_about(name)) == 2, timeout=10)
    assert mailbox.messages_about(name)[1]["Subject"] == f"piclient: {name} is back online"
