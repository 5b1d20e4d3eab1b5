"""What the server was started with; built by the CLI and passed in, never read from globals."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# The SMTP password comes from the environment: a command-line flag would show in `ps` to every user.
SMTP_PASSWORD_ENV = "PICLIENT_SMTP_PASSWORD"
METRICS_TOKEN_ENV = "PICLIENT_METRICS_TOKEN"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class EmailSettings:
    """Where e-mail alerts go and through which relay."""

    to: tuple[str, ...]
    sender: str
    host: str
    port: int
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    # STARTTLS with a verified certificate, required. False only for a relay on this machine, where nobody
    # can read the wire: STARTTLS is then used when offered, without checking the certificate.
    require_tls: bool = True
    timeout_s: float = 10.0


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    library_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8470
    trust_proxy: str | None = None  # None: ignore X-Forwarded-*; "*" or "ip,ip": proxies to believe
    retention_days: float = 14.0
    abandoned_upload_days: float = 7.0  # an upload with no new byte for this long goes (abandoned_uploads.py)
    heartbeat_seconds: int = 30  # told to every box in each reply; offline after three of them
    alert_webhook: str | None = None
    alert_ntfy: str | None = None
    alert_email: EmailSettings | None = None
    alert_check_seconds: float = 15.0
    cleanup_seconds: float = 3600.0
    live_seconds: float = 180.0  # how long one dashboard ping keeps a box in live mode
    live_poll_seconds: float = 1.0
    live_screenshot_seconds: float = 3.0
    metrics_token: str | None = field(default=None, repr=False)  # None: /metrics on loopback only
    box_quota_bytes: int = 512 * 1024 * 1024  # each box's screenshots and logs together (quota.py)

    @property
    def offline_after(self) -> float:
        return 3.0 * self.heartbeat_seconds

    @property
    def screenshot_dir(self) -> Path:
        return self.data_dir / "screenshots"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"
