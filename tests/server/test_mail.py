"""E-mail alerts through a real SMTP server on 127.0.0.1: the message, TLS and login, and failures."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from piclient.server.alerts import ATTEMPTS, Alert, AlertSender
from piclient.server.settings import EmailSettings
from tests.server.smtp import Mailbox, self_signed_certificate

WHEN = 1_795_171_360.0  # 2026-11-20 10:42:40 UTC
OFFLINE = Alert("offline", 7, "엄마 TV", WHEN, "'엄마 TV' is offline: no heartbeat since 2026-11-20 10:41 UTC "
                "(expected every 30 s).", since=WHEN - 95)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    try:
        yield box
    finally:
        box.close()


def settings_for(port: int, **overrides: object) -> EmailSettings:
    values: dict[str, object] = {"to": ("son@example.org",), "sender": "piclient <tv@example.org>",
                                 "host": "127.0.0.1", "port": port, "require_tls": False, "timeout_s": 5.0}
    values.update(overrides)
    return EmailSettings(**values)  # type: ignore[arg-type]


def deliver(settings: EmailSettings, alert: Alert = OFFLINE) -> None:
    async def main() -> None:
        sender = AlertSender(None, None, settings, backoff_s=0.05)
        try:
            await sender.send(alert)
        finally:
            await sender.close()

    asyncio.run(main())


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "piclient.server.alerts" and r.levelno >= logging.ERROR]


def test_an_alert_is_a_plain_text_email_whose_subject_names_the_device_and_what_happened(mailbox: Mailbox) -> None:
    deliver(settings_for(mailbox.port))
    [received] = mailbox.received
    message = received.message
    assert message["Subject"] == "piclient: 엄마 TV is offline"
    assert message["From"] == "piclient <tv@example.org>" and message["To"] == "son@example.org"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "text/plain" and not message.is_multipart()
    body = message.get_content()
    assert body.startswith(OFFLINE.message)
    assert "Event: offline" in body and "Last heartbeat: 2026-11-20 10:41 UTC" in body
    assert received.mail_from == "tv@example.org" and received.rcpt_tos == ["son@example.org"]


def test_a_relay_that_refuses_the_message_is_a_permanent_failure_logged_once(
        mailbox: Mailbox, caplog: pytest.LogCaptureFixture) -> None:
    mailbox.replies = ["550 5.7.1 Relaying denied"] * ATTEMPTS
    deliver(settings_for(mailbox.port))
    time.sleep(0.3)  # longer than every backoff together: a retry would have come by now
    assert mailbox.attempts == 1 and mailbox.received == []
    [logged] = errors(caplog)
    assert "refused permanently" in logged and "550" in logged and "Relaying denied" in logged


def test_a_relay_that_asks_to_try_later_gets_the_alert_on_the_next_attempt(
        mailbox: Mailbox, caplog: pytest.LogCaptureFixture) -> None:
    mailbox.replies = ["451 4.3.0 Try again later"]
    deliver(settings_for(mailbox.port))
    assert mailbox.attempts == 2 and len(mailbox.received) == 1
    assert errors(caplog) == []


def test_a_relay_that_never_answers_times_out_and_is_tried_a_bounded_number_of_times(
        caplog: pytest.LogCaptureFixture) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:  # take connections and say nothing, like a relay that hangs
        for _ in range(ATTEMPTS + 1):
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        deliver(settings_for(listener.getsockname()[1], timeout_s=0.3))
    finally:
        listener.close()
        for connection in accepted:
            connection.close()
    assert len(accepted) == ATTEMPTS
    assert time.monotonic() - started < 5
    [logged] = errors(caplog)
    assert f"failed {ATTEMPTS} times" in logged and "timed out" in logged


def test_the_login_happens_over_starttls_with_the_password_given(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    certificate = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # trust the throwaway certificate, nothing else
    box = Mailbox(certificate=certificate, credentials=("alerts", "s3cret pass"))
    try:
        deliver(settings_for(box.port, require_tls=True, user="alerts", password="s3cret pass"))
    finally:
        box.close()
    [received] = box.received
    assert received.tls and received.login == ("alerts", "s3cret pass")


def test_a_relay_without_starttls_gets_nothing_when_tls_is_required(mailbox: Mailbox,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    deliver(settings_for(mailbox.port, require_tls=True, user="alerts", password="s3cret pass"))
    assert mailbox.attempts == 0 and mailbox.received == []
    [logged] = errors(caplog)
    assert "does not offer STARTTLS" in logged and "refused permanently" in logged


def test_a_relay_whose_certificate_cannot_be_verified_is_a_permanent_failure(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    box = Mailbox(certificate=self_signed_certificate(tmp_path))
    try:
        deliver(settings_for(box.port, require_tls=True))
    finally:
        box.close()
    assert box.attempts == 0 and box.received == []
    [logged] = errors(caplog)
    assert "refused permanently" in logged and "certificate" in logged.lower()


def test_a_relay_on_this_machine_may_use_a_self_signed_certificate(tmp_path: Path) -> None:
    # What Debian's stock Postfix offers: STARTTLS with its "snakeoil" certificate.
    box = Mailbox(certificate=self_signed_certificate(tmp_path))
    try:
        deliver(settings_for(box.port, require_tls=False))
    finally:
        box.close()
    [received] = box.received
    assert received.tls
