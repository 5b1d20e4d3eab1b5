"""The shared wire models: what they keep, what they refuse, and that docs/protocol.md is written from them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from piclient import protocol
from piclient.protocol import doc
from piclient.protocol.base import problems

DOC = Path(__file__).parents[2] / "docs" / "protocol.md"


def test_a_newer_boxs_unknown_fields_survive_an_older_reader_at_every_level() -> None:
    sent = {"id": "r1", "from_the_future": [1], "tv": {"state": "running", "hdr": True,
                                                       "now_playing": {"id": "a", "title_id": "a", "audio": "5.1"}}}
    read = protocol.Heartbeat.read(sent).wire()
    assert read["from_the_future"] == [1]
    assert read["tv"]["hdr"] is True and read["tv"]["now_playing"]["audio"] == "5.1"


def test_every_top_level_message_says_its_schema() -> None:
    assert protocol.Heartbeat(id="r1").wire()["schema"] == protocol.SCHEMA
    assert protocol.LauncherStatus().wire()["schema"] == protocol.SCHEMA
    assert protocol.CommandResult(ok=True).wire()["schema"] == protocol.SCHEMA


def test_a_field_of_the_wrong_type_is_named_with_its_path() -> None:
    with pytest.raises(ValidationError) as caught:
        protocol.Heartbeat.read({"id": "r1", "tv": {"state": "running", "now_playing": {"id": "a", "title_id": "a",
                                                                                        "position": "soon"}}})
    assert problems(caught.value).startswith("tv.now_playing.position: Input should be a valid number")


def test_a_reader_that_shows_what_it_can_gets_none_for_a_section_that_does_not_fit() -> None:
    assert protocol.parse_or_none(protocol.NowPlaying, {"id": 3}) is None
    assert protocol.parse_or_none(protocol.NowPlaying, None) is None
    assert protocol.parse_or_none(protocol.NowPlaying, {"id": "a", "title_id": "a"}).id == "a"


def test_the_docs_field_tables_are_exactly_what_the_models_say() -> None:
    # When this fails: python -m piclient.protocol.doc --write docs/protocol.md
    assert doc.block() in DOC.read_text(encoding="utf-8")


def test_every_wire_model_has_a_table_in_the_doc() -> None:
    documented = set(doc.MODELS)
    defined = {m for m in vars(protocol).values() if isinstance(m, type) and issubclass(m, protocol.WireModel)
               and m is not protocol.WireModel}
    assert defined == documented


@pytest.mark.parametrize("model", ["Heartbeat", "HeartbeatReply"])
def test_the_docs_examples_fit_their_models_and_use_no_field_outside_them(model: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(rf"<!-- example: {model} -->\n```json\n(.*?)\n```", text, re.S)
    assert found, f"no example for {model}"
    example = json.loads(found.group(1))
    cls = getattr(protocol, model)
    # A typo in the doc would otherwise pass as an "unknown field", kept and never noticed.
    assert unknown_fields(cls.read(example)) == []


def unknown_fields(model: protocol.WireModel, where: str = "") -> list[str]:
    found = [f"{where}{name}" for name in model.model_extra or {}]
    for name in type(model).model_fields:
        value = getattr(model, name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, protocol.WireModel):
                found += unknown_fields(item, f"{where}{name}.")
    return found
