"""Commands from the server: a fixed vocabulary, each run at most once, each result sent back.

A command's id is written to the spool database before it runs, so a redelivery (the server sends
it until the result arrives) or a crash mid-run never runs it twice; a redelivered command gets its
stored result again instead. Quick commands (keys, messages, screenshots) have their own lane, so a
key press is not stuck behind a log upload or a catalog sync.
"""

from __future__ import annotations

import json
import logging
import queue
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from piclient.agent.loops import Loop
from piclient.agent.spool import Spool
from piclient.protocol import COMMAND_TYPES, Command, CommandResult

log = logging.getLogger(__name__)

VOCABULARY = COMMAND_TYPES
QUICK = frozenset({"screenshot", "key", "message"})
MAX_ID_CHARS = 128
# Result records get a stable id per command, so queueing a result again never stores it twice.
RESULT_NAMESPACE = uuid.UUID("5b0f8a0e-6f1d-4c55-9a53-2f7f3d1c9e42")
FORGET_AFTER_S = 30 * 24 * 3600


class CommandFailed(Exception):
    """The command ran and did not work; the message goes to the maintainer."""


@dataclass
class Outcome:
    """A handler's result, and optionally what to do once that result has been reported (reboot)."""

    result: dict[str, Any]
    then: Callable[[], None] | None = None


Handler = Callable[[dict[str, Any]], "dict[str, Any] | Outcome"]


def parse_commands(value: Any) -> list[Command]:
    """The well-formed commands of a reply; anything else is logged and skipped."""
    if value is None:
        return []
    if not isinstance(value, list):
        log.warning("server sent commands that are not a list; ignored")
        return []
    commands = []
    for item in value[:100]:
        ident = item.get("id") if isinstance(item, dict) else None
        kind = item.get("type") if isinstance(item, dict) else None
        if not isinstance(ident, str) or not 0 < len(ident) <= MAX_ID_CHARS or not isinstance(kind, str):
            log.warning("server sent a malformed command; ignored: %.200r", item)
            continue
        args = item.get("args")
        commands.append(Command(id=ident, type=kind[:40], args=args if isinstance(args, dict) else {}))
    return commands


def result_record_id(command_id: str) -> str:
    return uuid.uuid5(RESULT_NAMESPACE, command_id).hex


class CommandRunner:
    def __init__(self, spool: Spool, handlers: Mapping[str, Handler], wake_uplink: Callable[[], None],
                 delivery_wait_s: float = 10.0) -> None:
        self.spool = spool
        self.handlers = dict(handlers)
        self.wake_uplink = wake_uplink
        self.delivery_wait_s = delivery_wait_s
        self._queues: dict[str, queue.SimpleQueue[Command]] = {"quick": queue.SimpleQueue(),
                                                                "slow": queue.SimpleQueue()}
        self.loops = {lane: Loop(f"commands-{lane}", lambda lane=lane: self._step(lane))
                      for lane in self._queues}

    def recover(self) -> None:
        """Commands that were running when the agent died: report them, never run them again."""
        for command_id, kind in self.spool.unfinished_commands():
            log.warning("command %s (%s) was interrupted by an agent restart; not run again", command_id, kind)
            self._finish(command_id, CommandResult(ok=False, error="the agent stopped before this command "
                                                   "finished").wire())
        self.spool.forget_commands(FORGET_AFTER_S)

    def submit(self, value: Any) -> None:
        for command in parse_commands(value):
            if not self.spool.begin_command(command.id, command.type):
                self._redelivered(command)
                continue
            lane = "quick" if command.type in QUICK else "slow"
            log.info("command %s: %s %s", command.id, command.type, _brief(command.args))
            self._queues[lane].put(command)
            self.loops[lane].wake()

    def _redelivered(self, command: Command) -> None:
        result = self.spool.command_result(command.id)
        if result is None:
            log.debug("command %s is still running; redelivery ignored", command.id)
            return
        log.info("command %s was already run; sending its result again instead", command.id)
        self._queue_result(command.id, result)

    def _step(self, lane: str) -> float:
        try:
            command = self._queues[lane].get_nowait()
        except queue.Empty:
            return 3600.0
        self.run(command)
        return 0.0

    def run(self, command: Command) -> None:
        handler = self.handlers.get(command.type)
        then = None
        if handler is None:
            result = CommandResult(ok=False, error=f"unknown command type {command.type!r}; "
                                                   f"known: {', '.join(VOCABULARY)}")
        else:
            try:
                outcome = handler(command.args)
                if isinstance(outcome, Outcome):
                    outcome, then = outcome.result, outcome.then
                result = CommandResult(ok=True, result=outcome)
            except CommandFailed as exc:
                result = CommandResult(ok=False, error=str(exc))
            except Exception as exc:
                log.exception("command %s (%s) failed", command.id, command.type)
                result = CommandResult(ok=False, error=f"{type(exc).__name__}: {exc}")
        log.info("command %s (%s): %s", command.id, command.type, "ok" if result.ok else result.error)
        record_id = self._finish(command.id, result.wire())
        if then is not None:
            self._await_delivery(record_id)
            then()

    def _finish(self, command_id: str, result: dict[str, Any]) -> str:
        self.spool.finish_command(command_id, result)
        return self._queue_result(command_id, result)

    def _queue_result(self, command_id: str, result: dict[str, Any]) -> str:
        record_id = result_record_id(command_id)
        body = json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.spool.put(record_id, "result", "POST", f"/api/v1/commands/{quote(command_id, safe='')}/result", body)
        self.wake_uplink()
        return record_id

    def _await_delivery(self, record_id: str) -> None:
        # "Rebooting" should reach the dashboard before the box goes dark; if it cannot, the
        # result waits in the spool and goes out after the reboot.
        deadline = time.monotonic() + self.delivery_wait_s
        while self.spool.contains(record_id) and time.monotonic() < deadline:
            time.sleep(0.1)


def _brief(args: dict[str, Any]) -> str:
    text = json.dumps(args, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "..."
