"""The heartbeat the agent sends every ``heartbeat_seconds`` (every second in live mode), and the reply."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from piclient.protocol.base import SCHEMA, WireModel
from piclient.protocol.commands import Command, CommandResult, LiveWindow
from piclient.protocol.status import CatalogState, DisplayState, NowPlaying, OverlayState, ProblemEntry
from piclient.protocol.update import UpdateOffer, UpdateReport


class DeviceInfo(WireModel):
    name: str = Field(description="the box's name from its config")
    version: str | None = Field(None, description="piclient's version on the box")
    uptime_s: float | None = Field(None, description="seconds since the machine booted")
    agent_uptime_s: float | None = Field(None, description="seconds since the agent started")
    commands: list[str] | None = Field(None, description="the command types this box carries out (the dashboard "
                                       "offers only these)")


class TvSection(WireModel):
    state: str = Field(description="`running`, `unresponsive`, `crashed` or `stopped`")
    detail: str | None = Field(None, description="why it is not running, at most 300 characters")
    screen: str | None = Field(None, description="the launcher's top screen")
    uptime_s: float | None = Field(None, description="seconds since the TV app started")
    focused: str | None = Field(None, description="the catalog id under the focus ring")
    now_playing: NowPlaying | None = Field(None, description="the launcher's `now_playing`, as it reported it")
    overlay: OverlayState | None = Field(None, description="what is drawn over the screen")
    display: DisplayState | None = Field(None, description="the display in use: off-screen pictures are not the TV's")
    catalog: CatalogState | None = Field(None, description="the catalog the launcher shows")
    errors: list[ProblemEntry] = Field(default_factory=list, description="the last 10 problems, 500 characters each")


class CecSection(WireModel):
    adapter: str | None = Field(None, description="`open`, `missing`, `failed`, `disabled`, ...")
    tv_power: str | None = Field(None, description="`on`, `standby` or `unknown`")
    active_source: bool | None = Field(None, description="the box is the TV's input now (null: nobody knows)")
    detail: str | None = Field(None, description="where the adapter is, or why it is not")
    last_error: str | None = Field(None, description="the last CEC failure")


class SystemSection(WireModel):
    """What the machine can tell; a box leaves out what it cannot read."""

    cpu_temp_c: float | None = Field(None, description="SoC temperature, °C")
    throttled: dict[str, Any] | None = Field(None, description="`vcgencmd get_throttled`, decoded (`raw`, "
                                             "`under_voltage_now`, `throttled_occurred`, ...)")
    load: list[float] | None = Field(None, description="1, 5 and 15 minute load")
    mem_total: int | None = Field(None, description="bytes")
    mem_available: int | None = Field(None, description="bytes")
    disk_total: int | None = Field(None, description="bytes on the data partition")
    disk_free: int | None = Field(None, description="bytes free there")
    wifi: dict[str, Any] | None = Field(None, description="`interface`, `signal_dbm`, `quality`")


class SpoolSection(WireModel):
    pending: int = Field(0, description="records waiting to be sent")
    bytes: int = Field(0, description="their size")
    dropped: int = Field(0, description="records dropped for space or age")
    error: str | None = Field(None, description="why the spool could not keep this heartbeat (it was sent directly)")
    disk_full: bool | None = Field(None, description="that failure was a full disk (or quota)")


class AgentReport(WireModel):
    refused: dict[str, Any] | None = Field(None, description="the server's last refusal (`status`, `message`, "
                                           "`since`, `resolved_at`)")
    unreachable_since: float | None = Field(None, description="since when the server cannot be reached")
    failures: int = Field(0, description="failed requests in a row")


class Heartbeat(WireModel):
    schema_version: int = Field(SCHEMA, alias="schema", description="this format's version")
    id: str = Field(description="record id (UUID4 hex): a retry is stored once")
    sent_at: float | None = Field(None, description="box clock, epoch seconds")
    going_down: bool = Field(False, description="true on a clean shutdown")
    live: bool = Field(False, description="the agent is in live mode")
    device: DeviceInfo | None = Field(None, description="who the box is")
    tv: TvSection | None = Field(None, description="the TV app: its state, screen and what it plays")
    cec: CecSection | None = Field(None, description="null while the TV app does not answer")
    system: SystemSection | None = Field(None, description="the machine's health")
    spool: SpoolSection | None = Field(None, description="what waits to be sent")
    agent: AgentReport | None = Field(None, description="how the agent's requests fare")
    update: UpdateReport | None = Field(None, description="how the box's last update went (docs/updates.md)")
    results: list[CommandResult] = Field(default_factory=list, description="command results (usually sent "
                                         "directly instead)")


class HeartbeatReply(WireModel):
    ok: bool = Field(True, description="the heartbeat was taken")
    commands: list[Command] = Field(default_factory=list, description="commands to run")
    live: LiveWindow | None = Field(None, description="live mode, or null")
    heartbeat_seconds: float | None = Field(None, description="the pace the server wants")
    update: UpdateOffer | None = Field(None, description="the version this box is offered, while it is")
