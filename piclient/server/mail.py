"""E-mail over SMTP: one plain-text message per call, handed to the maintainer's relay.

smtplib blocks, so ``send`` runs on a worker thread (``AlertSender`` keeps a small pool of its own, so a
slow relay never takes the threads that login checks and file work need). Every failure comes out as
one ``MailFailure`` saying whether trying again could help: a ``5xx`` reply, a refused login or a
relay that will not do STARTTLS is permanent; timeouts, dropped connections and ``4xx`` are transient.
"""

from __future__ import annotations

import email.policy
import email.utils
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage

from piclient.server.settings import EmailSettings


class MailFailure(Exception):
    def __init__(self, problem: str, *, permanent: bool) -> None:
        super().__init__(problem)
        self.problem = problem
        self.permanent = permanent


def compose(settings: EmailSettings, subject: str, body: str, now: float) -> EmailMessage:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.to)
    # One line whatever the device is called: a header with a line break would be refused or, worse, split.
    message["Subject"] = " ".join(subject.split())
    message["Date"] = email.utils.format_datetime(datetime.fromtimestamp(now, UTC))
    domain = email.utils.parseaddr(settings.sender)[1].rpartition("@")[2] or "piclient.invalid"
    message["Message-ID"] = email.utils.make_msgid("piclient", domain=domain)  # no DNS lookup with a domain
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office robots do not answer it
    message.set_content(body)
    return message


def send(settings: EmailSettings, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
    """Deliver ``message``; the recipients the relay refused while it took the others (usually none).

    Raises ``MailFailure`` when nobody got it. Blocking: call it from a worker thread.
    """
    smtp: smtplib.SMTP | None = None
    try:
        # Connecting in the constructor is what tells STARTTLS the name to check the certificate against.
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s)
        smtp.ehlo_or_helo_if_needed()
        if smtp.has_extn("starttls"):
            smtp.starttls(context=ssl.create_default_context() if settings.require_tls else _loopback_tls())
            smtp.ehlo()
        elif settings.require_tls:
            raise MailFailure(f"{settings.host} does not offer STARTTLS; not sending in the clear", permanent=True)
        if settings.user:
            smtp.login(settings.user, settings.password or "")
        return smtp.send_message(message)
    except MailFailure:
        raise
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _text in exc.recipients.values()]
        raise MailFailure(f"every recipient refused: {refusals(exc.recipients)}",
                          permanent=all(code >= 500 for code in codes)) from exc
    except smtplib.SMTPResponseException as exc:  # sender refused, data refused, login refused, bad greeting
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        raise MailFailure(f"SMTP {exc.smtp_code} {text}".strip(), permanent=exc.smtp_code >= 500) from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise MailFailure(f"the relay hung up: {exc}", permanent=False) from exc
    except (smtplib.SMTPException, ssl.SSLCertVerificationError) as exc:
        # No AUTH on offer, no mechanism in common, a certificate that is not the relay's: asking again will
        # get the same answer.
        raise MailFailure(f"{type(exc).__name__}: {exc}", permanent=True) from exc
    except OSError as exc:  # refused or timed-out connections, name lookups, TLS handshakes cut short
        raise MailFailure(f"{type(exc).__name__}: {exc}", permanent=False) from exc
    finally:
        if smtp is not None:
            _quit(smtp)


def _loopback_tls() -> ssl.SSLContext:
    # For a relay on this machine: Debian's stock Postfix offers STARTTLS with a self-signed ("snakeoil")
    # certificate, and on the loopback interface there is nobody in the middle for a check to stop.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except OSError:
        # Whatever was accepted stays accepted; a goodbye that fails must not turn into a retry (a duplicate).
        smtp.close()


def refusals(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{to}: {code} {text.decode('utf-8', 'replace')}" for to, (code, text) in recipients.items())
