"""The config file's shape: every key, its type, its default and what it is for.

Each model forbids unknown keys, so a typo is an error with a "did you mean" hint instead of a
setting that silently does nothing. Defaults are what a box flashed from the image should run with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


class LogConfig(Section):
    level: Literal["debug", "info", "warning", "error"] = "info"


class Config(Section):
    device: DeviceConfig = DeviceConfig()
    catalog: CatalogConfig = CatalogConfig()
    paths: PathsConfig = PathsConfig()
    ui: UiConfig = UiConfig()
    cec: CecConfig = CecConfig()
    remote: RemoteConfig = RemoteConfig()
    log: LogConfig = LogConfig()

    @property
    def cec_name(self) -> str:
        return (self.cec.osd_name or self.device.name)[:14]


# Keys whose values never get printed (config show, logs, the dashboard).
SECRET_KEYS: frozenset[str] = frozenset({"server.token"})
