"""The field tables of docs/protocol.md, written from the models so the doc cannot drift from the code.

``python -m piclient.protocol.doc`` prints them; ``--write docs/protocol.md`` puts them between the
doc's markers. A test checks the doc holds exactly what this prints.
"""

from __future__ import annotations

import json
import sys
import types
import typing
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from piclient.protocol import commands, heartbeat, status, update
from piclient.protocol.base import WireModel

BEGIN = "<!-- fields: written by `python -m piclient.protocol.doc --write docs/protocol.md` -->"
END = "<!-- end of fields -->"

MODELS: tuple[type[WireModel], ...] = (
    heartbeat.Heartbeat, heartbeat.DeviceInfo, heartbeat.TvSection, status.NowPlaying, status.Rendition,
    status.SubtitleTrack, status.OverlayState, status.DisplayState, status.CatalogState, status.ProblemEntry,
    heartbeat.CecSection,
    heartbeat.SystemSection, heartbeat.SpoolSection, heartbeat.AgentReport, update.UpdateReport,
    heartbeat.HeartbeatReply, update.UpdateOffer,
    commands.LiveWindow, commands.Command, commands.CommandResult, commands.CommandsReply, commands.ResultReply,
    status.LauncherStatus,
)
_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}


def type_name(tp: Any) -> str:
    origin, args = get_origin(tp), get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in args)
    if origin is list:
        return f"list of {type_name(args[0])}" if args else "list"
    if origin is dict or tp is dict:
        return "object"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"[`{tp.__name__}`](#{tp.__name__.lower()})"
    return _NAMES.get(tp, "any")


def table(model: type[WireModel]) -> str:
    doc = (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ").replace("``", "`")
    lines = [f"#### {model.__name__}", ""]
    if doc and not doc.startswith(("Usage docs", "!!!")):
        lines += [doc, ""]
    lines += ["| field | type | default | meaning |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        wire = field.alias or name
        default = "required" if field.is_required() else (
            "–" if field.default_factory is not None and not field.default_factory() else
            f"`{json.dumps(field.default_factory() if field.default_factory else field.default, ensure_ascii=False)}`")
        lines.append(f"| `{wire}` | {type_name(field.annotation)} | {default} | {field.description or ''} |")
    return "\n".join(lines)


def tables() -> str:
    return "\n\n".join(table(m) for m in MODELS)


def block() -> str:
    return f"{BEGIN}\n\n{tables()}\n\n{END}"


def write(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    path.write_text(head + block() + tail, encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"] and len(sys.argv) == 3:
        write(Path(sys.argv[2]))
    else:
        print(block())
