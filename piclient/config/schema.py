"""The config file's shape: every key, its type, its default and what it is for.

Each model forbids unknown keys, so a typo is an error with a "did you mean" hint instead of a
setting that silently does nothing. Defaults are what a box flashed from the image should run with.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from piclient.remote.buttons import Button


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceConfig(Section):
    name: str = Field("piclient", min_length=1, max_length=64)


class CatalogConfig(Section):
    # A local file path or an http(s) URL. Empty means "nothing yet": the launcher shows its calm
    # "films are on their way" screen until a catalog arrives in the cache.
    source: str = ""
    refresh_minutes: int = Field(15, ge=1, le=24 * 60)

    @field_validator("source")
    @classmethod
    def _source_is_path_or_http(cls, value: str) -> str:
        if "://" in value and not value.startswith(("http://", "https://")):
            raise ValueError("use a local file path or an http:// or https:// URL")
        return value


class PathsConfig(Section):
    data: Path = Path("/var/lib/piclient")
    socket: Path = Path("/run/piclient/tv.sock")


class UiConfig(Section):
    language: Literal["ko", "en"] = "ko"
    # Dim the screen after this long without a key press; 0 never dims.
    dim_after_seconds: int = Field(600, ge=0)
    # Fullscreen at the display's resolution; false opens a window (the demo on a desktop).
    fullscreen: bool = True
    window_size: tuple[int, int] = (1280, 720)
    # All text already stays inside the middle 90 % of the screen, which every TV shows. For a TV
    # that crops more of the edges, this draws everything (menus, film, subtitles) that many
    # percent further in from each side.
    overscan_percent: float = Field(0, ge=0, le=10)


class CecConfig(Section):
    enabled: bool = True
    # Never power the TV on by ourselves unless asked: a TV waking at night frightens people.
    wake_tv: bool = False
    # The name in the TV's input list; CEC allows at most 14 characters. Empty uses device.name.
    osd_name: str = Field("", max_length=14)
    # libcec adapter port; empty lets libcec find it (the Pi's own HDMI CEC or a USB adapter).
    adapter: str = ""
    # How often to try again when the adapter cannot be opened (TV off, cable, restart).
    retry_seconds: int = Field(15, ge=1, le=3600)


class RemoteConfig(Section):
    """Overrides of the input table: keyboard key names or CEC codes mapped to virtual buttons."""

    # pygame key names ("f1", "return", "a") to buttons.
    keyboard: dict[str, Button] = Field(default_factory=dict)
    # HDMI-CEC user-control codes (0x00-0xFF, as numbers or "0x71") to buttons.
    cec: dict[int, Button] = Field(default_factory=dict)
    # A held key repeats after this delay, at this interval.
    repeat_delay_ms: int = Field(400, ge=50, le=5000)
    repeat_interval_ms: int = Field(120, ge=20, le=2000)

    @field_validator("cec", mode="before")
    @classmethod
    def _parse_hex_codes(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        parsed: dict[object, object] = {}
        for key, button in value.items():
            code = int(key, 0) if isinstance(key, str) else key
            if not isinstance(code, int) or not 0 <= code <= 0xFF:
                raise ValueError(f"CEC code {key!r} is not a number from 0x00 to 0xFF")
            parsed[code] = button
        return parsed

    @field_validator("keyboard", mode="before")
    @classmethod
    def _lowercase_keys(cls, value: object) -> object:
        if isinstance(value, dict):
            return {str(k).lower(): v for k, v in value.items()}
        return value


class ServerConfig(Section):
    """The maintainer's server, which the agent calls (docs/protocol.md). Empty url: no agent uplink."""

    # Base URL, e.g. https://tv.example.org or https://example.org/piclient; the API lives under it.
    url: str = ""
    # The device token printed by `piclient server add-device`. Never printed (see SECRET_KEYS).
    token: str = Field("", repr=False, max_length=512)
    # Plain http sends the token in clear text; only loopback addresses get it without asking.
    allow_http: bool = False

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("use an https:// URL such as https://tv.example.org")
        if parts.query or parts.fragment:
            raise ValueError("leave out ?query and #fragment")
        return value

    @field_validator("token")
    @classmethod
    def _token_fits_a_header(cls, value: str) -> str:
        value = value.strip()
        if any(ch.isspace() or not ch.isprintable() for ch in value):
            raise ValueError("the token has spaces or control characters; paste it again")
        return value

    @model_validator(mode="after")
    def _plain_http_is_explicit(self) -> ServerConfig:
        parts = urlsplit(self.url)
        if parts.scheme == "http" and not self.allow_http and parts.hostname not in LOOPBACK_HOSTS:
            raise ValueError("url: plain http sends the token unencrypted; use https or set allow_http: true")
        return self


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class AgentConfig(Section):
    """`piclient agent`: heartbeats, screenshots, sync, spool and remote commands."""

    # Seconds between heartbeats (each gets up to 10% jitter); the server's reply may ask for another pace.
    heartbeat_seconds: float = Field(30, ge=0.2, le=3600)
    # Seconds between screenshots while the TV is on; 0 sends them only on demand and on errors.
    screenshot_seconds: float = Field(300, ge=0, le=24 * 3600)
    # Seconds between checks for changed watch progress to send to the server.
    progress_seconds: float = Field(60, ge=0.2, le=3600)
    # The on-disk queue of what the server has not accepted yet: oldest records go first when full.
    spool_max_bytes: int = Field(64 * 1024 * 1024, ge=10_000)
    spool_max_age_hours: float = Field(72, gt=0, le=24 * 365)
    # argv lists, run without a shell. An empty list: this box does not offer the command, and the
    # dashboard does not show its button (a button that answers "done" and does nothing is a lie).
    # --no-block: the restart is queued and the command answers at once; the heartbeat shows the
    # launcher coming back. Waiting for it held the agent past its 120 s limit on a slow box.
    restart_tv_command: list[str] = Field(
        default_factory=lambda: ["systemctl", "--no-block", "restart", "piclient-tv.service"])
    reboot_command: list[str] = Field(default_factory=lambda: ["systemctl", "reboot"])
    # The launcher's systemd unit, asked to tell "crashed" from "stopped"; empty never asks systemd.
    tv_unit: str = "piclient-tv.service"
    # Journal units whose lines `upload_logs` sends.
    log_units: list[str] = Field(default_factory=lambda: ["piclient-tv.service", "piclient-agent.service"])
    # Log files to upload instead of the journal (a box without journald): one path or a list of
    # paths, the tail of each. Empty uses the journal.
    log_file: list[str] = Field(default_factory=list, max_length=8)
    # Seconds the agent waits for the launcher's control socket before calling it unresponsive.
    control_timeout_seconds: float = Field(3, ge=0.2, le=60)
    # Seconds an HTTP request may stall before it counts as a network failure.
    http_timeout_seconds: float = Field(15, ge=0.5, le=300)
    # Longest wait between retries while the server is unreachable.
    backoff_max_seconds: float = Field(300, ge=1, le=3600)
    # How often to try again after the server refused the token (401/403).
    auth_retry_seconds: float = Field(600, ge=1, le=24 * 3600)

    @field_validator("restart_tv_command", "reboot_command")
    @classmethod
    def _argv_has_a_program(cls, value: list[str]) -> list[str]:
        if value and not value[0].strip():
            raise ValueError("give the program and its arguments as a list, e.g. [systemctl, reboot], "
                             "or [] when this box does not offer it")
        return value

    @field_validator("log_file", mode="before")
    @classmethod
    def _one_path_or_a_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [value] if value.strip() else []
        return value


class UpdatesConfig(Section):
    """Updates from the server (docs/updates.md), installed and judged by the image's own updater."""

    # `piclient server update-key` prints it: bundles must be signed with the server's key. Empty:
    # a bundle is checked by its SHA-256 only (the server's reply over HTTPS vouches for it).
    public_key: str = Field("", max_length=64)
    # How long a new version has to show its first frame and send a heartbeat, and then stay healthy.
    deadline_seconds: float = Field(300, ge=10, le=3600)
    settle_seconds: float = Field(60, ge=0, le=3600)

    @field_validator("public_key")
    @classmethod
    def _key_is_ed25519(cls, value: str) -> str:
        import base64
        import binascii

        value = value.strip()
        if not value:
            return value
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ValueError("paste the 44 characters `piclient server update-key` prints")
        return value


class PlayerConfig(Section):
    # Subtitles on by default in this language; empty follows ui.language.
    subtitle_language: str = Field("", max_length=16)
    # embedded: mpv draws into the launcher's screen (desktop, tests). handover: the launcher lets go of
    # the display and mpv drives it (a Pi without X). auto: handover on KMS/DRM, embedded elsewhere.
    output: Literal["auto", "embedded", "handover"] = "auto"
    # mpv's audio output; "auto" lets mpv choose (ALSA/HDMI on the Pi), "null" is silent.
    audio_output: str = "auto"
    # mpv's hwdec; auto-safe uses hardware decoding only where it is known to work.
    hwdec: str = "auto-safe"
    # How far ahead to download; more rides out Wi-Fi dips, less keeps memory low.
    readahead_seconds: int = Field(60, ge=5, le=600)
    subtitle_scale: float = Field(1.3, ge=0.5, le=3.0)


class LogConfig(Section):
    level: Literal["debug", "info", "warning", "error"] = "info"


# Locales generated in the SD image (image/base-finish.sh); another one would fall back to C.
IMAGE_LOCALES = ("ko_KR.UTF-8", "en_US.UTF-8", "en_GB.UTF-8", "de_DE.UTF-8", "fr_FR.UTF-8", "ja_JP.UTF-8")
HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
SSH_KEY = re.compile(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com"
                     r"|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,2}( [^\n\r]*)?$")


class WifiConfig(Section):
    """The box's Wi-Fi (the SD image writes it for wpa_supplicant at every boot). No ssid: cable only."""

    # Two-letter country code (KR, DE, US): which channels and power the radio may use.
    country: str = ""
    ssid: str = ""
    password: str = Field("", repr=False)
    # A network that does not announce its name.
    hidden: bool = False

    @field_validator("country")
    @classmethod
    def _country_code(cls, value: str) -> str:
        value = value.strip().upper()
        if value and not re.fullmatch(r"[A-Z]{2}", value):
            raise ValueError("use the two-letter country code, e.g. KR, DE or US")
        return value

    @field_validator("ssid")
    @classmethod
    def _ssid_fits(cls, value: str) -> str:
        if len(value.encode("utf-8")) > 32:
            raise ValueError("a Wi-Fi name has at most 32 bytes; copy it exactly as the router shows it")
        if any(not ch.isprintable() for ch in value):
            raise ValueError("the Wi-Fi name has control characters; type it again")
        return value

    @field_validator("password")
    @classmethod
    def _wpa_passphrase(cls, value: str) -> str:
        if not value or re.fullmatch(r"[0-9a-fA-F]{64}", value):
            return value
        if not 8 <= len(value) <= 63:
            raise ValueError("a Wi-Fi password has 8 to 63 characters; check it on the router")
        if any(not (" " <= ch <= "~") for ch in value):
            raise ValueError("a Wi-Fi password uses only English letters, digits and keyboard signs")
        return value

    @model_validator(mode="after")
    def _country_with_network(self) -> WifiConfig:
        if self.ssid and not self.country:
            raise ValueError("country: set the two-letter country code (e.g. KR) so the Wi-Fi may switch on")
        return self


class SystemConfig(Section):
    """What the SD image sets up at every boot from this file (piclient/bootconfig)."""

    # The box's network name (letters, digits and -).
    hostname: str = "piclient"
    # A name from the time zone database, e.g. Asia/Seoul or Europe/Berlin.
    timezone: str = "Asia/Seoul"
    locale: Literal[IMAGE_LOCALES] = "ko_KR.UTF-8"  # type: ignore[valid-type]
    wifi: WifiConfig = WifiConfig()
    # Public keys allowed to log in over SSH as piclient; none keeps SSH switched off.
    ssh_authorized_keys: list[str] = Field(default_factory=list)

    @field_validator("hostname")
    @classmethod
    def _hostname(cls, value: str) -> str:
        value = value.strip().lower()
        if not HOSTNAME.match(value):
            raise ValueError("use letters a-z, digits and -, at most 63, not starting or ending with -")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        import zoneinfo

        try:
            if "." in value or value.startswith("/"):
                raise ValueError(value)
            zoneinfo.ZoneInfo(value)
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            raise ValueError("not a known time zone; use a name such as Asia/Seoul or Europe/Berlin") from None
        return value

    @field_validator("ssh_authorized_keys")
    @classmethod
    def _public_keys(cls, value: list[str]) -> list[str]:
        keys = [key.strip() for key in value]
        for n, key in enumerate(keys, 1):
            if not SSH_KEY.match(key):
                raise ValueError(f"key {n} is not an OpenSSH public key line (ssh-ed25519 AAAA... comment)")
        return keys


class Config(Section):
    device: DeviceConfig = DeviceConfig()
    catalog: CatalogConfig = CatalogConfig()
    paths: PathsConfig = PathsConfig()
    ui: UiConfig = UiConfig()
    cec: CecConfig = CecConfig()
    remote: RemoteConfig = RemoteConfig()
    player: PlayerConfig = PlayerConfig()
    log: LogConfig = LogConfig()
    server: ServerConfig = ServerConfig()
    agent: AgentConfig = AgentConfig()
    system: SystemConfig = SystemConfig()
    updates: UpdatesConfig = UpdatesConfig()

    @property
    def subtitle_language(self) -> str:
        return self.player.subtitle_language or self.ui.language

    @property
    def cec_name(self) -> str:
        return (self.cec.osd_name or self.device.name)[:14]


# Keys whose values never get printed (config show, logs, the dashboard).
SECRET_KEYS: frozenset[str] = frozenset({"server.token", "system.wifi.password"})
