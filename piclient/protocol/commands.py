"""Commands the server queues for a box, and the results the box sends back."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from piclient.protocol.base import SCHEMA, WireModel

COMMAND_TYPES = ("screenshot", "key", "message", "reload", "restart_tv", "reboot", "upload_logs")


class Command(WireModel):
    id: str = Field(description="the command's id (UUID4 hex)")
    type: str = Field(description="one of " + ", ".join(f"`{t}`" for t in COMMAND_TYPES))
    args: dict[str, Any] = Field(default_factory=dict, description="the type's arguments (table below)")


class CommandResult(WireModel):
    """``POST /api/v1/commands/{id}/result``; inside a heartbeat's ``results`` it also names ``command_id``."""

    schema_version: int = Field(SCHEMA, alias="schema", description="this format's version")
    command_id: str | None = Field(None, description="the command answered (only inside a heartbeat)")
    ok: bool = Field(description="the command worked")
    result: Any = Field(None, description="what it produced (JSON, at most 64 KiB)")
    error: str | None = Field(None, description="why it failed, for the maintainer")


class LiveWindow(WireModel):
    """Live mode: while the maintainer watches, the box heartbeats every second and sends pictures often."""

    until: float = Field(description="server clock, epoch seconds")
    poll_seconds: float = Field(1.0, description="least time between the starts of two command polls")
    screenshot_seconds: float = Field(3.0, description="a screenshot this often")


class CommandsReply(WireModel):
    """The answer to the command poll ``GET /api/v1/commands`` every box holds open."""

    commands: list[Command] = Field(default_factory=list, description="commands to run now")
    live: LiveWindow | None = Field(None, description="live mode, or null to end it")


class ResultReply(WireModel):
    ok: bool = Field(True, description="the server took the result")
    stored: bool = Field(description="false when a result for this command was already stored")
