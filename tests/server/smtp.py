"""A real SMTP server on 127.0.0.1 for alert tests (aiosmtpd, in its own thread).

It keeps every message it accepts, counts every delivery attempt (each MAIL FROM), and can be told
to answer DATA with a refusal, to offer STARTTLS with a throwaway certificate, or to want a login.
"""

from __future__ import annotations

import email
import email.policy
import ssl
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.server.postgres import free_port
from tests.waiting import poll_until


@dataclass
class Received:
    message: EmailMessage
    mail_from: str
    rcpt_tos: list[str]
    tls: bool
    login: tuple[str, str] | None


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """(certificate, key) for ``localhost`` and 127.0.0.1, valid for a day."""
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class Mailbox:
    def __init__(self, *, replies: list[str] | None = None, certificate: tuple[Path, Path] | None = None,
                 credentials: tuple[str, str] | None = None) -> None:
        """``replies``: answers to the next DATA commands in turn (then 250); ``certificate``: offer STARTTLS
        and refuse mail without it; ``credentials``: (user, password) the client must log in with."""
        self.received: list[Received] = []
        self.attempts = 0
        self.replies = list(replies or [])
        self._lock = threading.Lock()
        options: dict[str, Any] = {}
        if certificate is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*certificate)
            options.update(tls_context=context, require_starttls=True)
        if credentials is not None:
            # Without TLS (a relay on this machine) AUTH is offered, not required: the tests check who logged in.
            tls = certificate is not None
            options.update(authenticator=self._authenticator(credentials), auth_required=tls, auth_require_tls=tls)
        self.port = free_port()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()

    @staticmethod
    def _authenticator(credentials: tuple[str, str]) -> Callable[..., AuthResult]:
        def check(_server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any) -> AuthResult:
            ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == credentials
            return AuthResult(success=ok, auth_data=data if ok else None)

        return check

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
        return poll_until(predicate, timeout)

    def messages_about(self, device: str) -> list[EmailMessage]:
        with self._lock:
            return [r.message for r in self.received if device in str(r.message["Subject"])]

    def close(self) -> None:
        self._controller.stop()


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_MAIL(self, _server: Any, _session: Any, envelope: Any, address: str,
                          mail_options: list[str]) -> str:
        with self.box._lock:
            self.box.attempts += 1
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, _server: Any, session: Any, envelope: Any) -> str:
        with self.box._lock:
            if self.box.replies:
                return self.box.replies.pop(0)
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            auth = session.auth_data if isinstance(session.auth_data, LoginPassword) else None
            self.box.received.append(Received(
                message, envelope.mail_from, list(envelope.rcpt_tos), session.ssl is not None,
                (auth.login.decode(), auth.password.decode()) if auth else None))
        return "250 Message accepted for delivery"
