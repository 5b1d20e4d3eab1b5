"""The messages that cross a process boundary, one model each, imported by both sides.

``status``: what the launcher answers on its control socket; ``heartbeat``: what the agent sends the
server and what the server answers; ``commands``: the server's commands and the box's results.
Every model keeps fields it does not know (an older server accepts a newer box) and carries a
``schema`` number that grows when a field changes meaning. docs/protocol.md is written from these.
"""

from piclient.protocol.base import SCHEMA, WireModel, parse_or_none, problems
from piclient.protocol.commands import (
    COMMAND_TYPES,
    Command,
    CommandResult,
    CommandsReply,
    LiveWindow,
    ResultReply,
)
from piclient.protocol.heartbeat import (
    AgentReport,
    CecSection,
    DeviceInfo,
    Heartbeat,
    HeartbeatReply,
    SpoolSection,
    SystemSection,
    TvSection,
)
from piclient.protocol.status import (
    CatalogState,
    DisplayState,
    LauncherStatus,
    NowPlaying,
    OverlayState,
    ProblemEntry,
    Rendition,
    SubtitleTrack,
)
from piclient.protocol.update import UpdateOffer, UpdateReport

__all__ = [
    "COMMAND_TYPES",
    "SCHEMA",
    "AgentReport",
    "CatalogState",
    "CecSection",
    "Command",
    "CommandResult",
    "CommandsReply",
    "DeviceInfo",
    "DisplayState",
    "Heartbeat",
    "HeartbeatReply",
    "LauncherStatus",
    "LiveWindow",
    "NowPlaying",
    "OverlayState",
    "ProblemEntry",
    "Rendition",
    "ResultReply",
    "SpoolSection",
    "SubtitleTrack",
    "SystemSection",
    "TvSection",
    "UpdateOffer",
    "UpdateReport",
    "WireModel",
    "parse_or_none",
    "problems",
]
