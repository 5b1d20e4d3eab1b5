"""Commands run at most once, whatever the server repeats, and every one gets a result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from piclient.agent.commands import CommandFailed, CommandRunner, Outcome, result_record_id
from piclient.agent.spool import Spool
from piclient.protocol import CommandResult


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def handler(self, name: str, outcome: Any = None) -> Any:
        def run(args: dict[str, Any]) -> Any:
            self.calls.append((name, args))
            if isinstance(outcome, Exception):
                raise outcome
            return outcome if outcome is not None else {"done": name}
        return run


def runner(tmp_path: Path, recorder: Recorder, **handlers: Any) -> tuple[CommandRunner, Spool]:
    spool = Spool(tmp_path / "spool.db", 10_000_000, 3600)
    table = {"key": recorder.handler("key"), **handlers}
    return CommandRunner(spool, table, wake_uplink=lambda: None, delivery_wait_s=0.2), spool


def drain(r: CommandRunner) -> None:
    for lane in ("quick", "slow"):
        while r._step(lane) == 0.0:
            pass


def results(spool: Spool) -> dict[str, dict[str, Any]]:
    """The queued results by command id, read back through the shared model (as the server reads them)."""
    found = {}
    while (record := spool.next_record()) is not None:
        result = CommandResult.read(json.loads(record.body))
        found[record.path.split("/")[4]] = result.model_dump(include={"ok", "result", "error"})
        spool.delete(record.id)
    return found


def test_a_command_delivered_three_times_runs_once(tmp_path: Path) -> None:
    recorder = Recorder()
    r, spool = runner(tmp_path, recorder)
    command = {"id": "c1", "type": "key", "args": {"name": "ok"}}
    for _ in range(3):
        r.submit([command])
        drain(r)
    assert recorder.calls == [("key", {"name": "ok"})]
    assert results(spool) == {"c1": {"ok": True, "result": {"done": "key"}, "error": None}}


def test_a_command_redelivered_after_its_result_went_out_gets_the_same_result_again(tmp_path: Path) -> None:
    recorder = Recorder()
    r, spool = runner(tmp_path, recorder)
    r.submit([{"id": "c1", "type": "key", "args": {"name": "up"}}])
    drain(r)
    first = results(spool)
    r.submit([{"id": "c1", "type": "key", "args": {"name": "up"}}])
    r.submit([{"id": "c1", "type": "key", "args": {"name": "up"}}])
    assert spool.stats()["pending"] == 1  # queued again once, under the same record id
    assert spool.next_record().id == result_record_id("c1")  # type: ignore[union-attr]
    assert results(spool) == first
    assert len(recorder.calls) == 1


def test_commands_remembered_across_a_restart_are_not_run_again(tmp_path: Path) -> None:
    recorder = Recorder()
    r, spool = runner(tmp_path, recorder)
    r.submit([{"id": "c1", "type": "key", "args": {"name": "ok"}}])
    drain(r)
    spool.close()
    again, spool = runner(tmp_path, recorder)
    again.submit([{"id": "c1", "type": "key", "args": {"name": "ok"}}])
    drain(again)
    assert len(recorder.calls) == 1


def test_a_command_cut_short_by_a_crash_is_reported_and_never_rerun(tmp_path: Path) -> None:
    recorder = Recorder()
    r, spool = runner(tmp_path, recorder)
    spool.begin_command("c9", "upload_logs")  # the agent died while this ran
    r.recover()
    r.submit([{"id": "c9", "type": "upload_logs", "args": {}}])
    drain(r)
    assert recorder.calls == []
    assert results(spool)["c9"]["error"] == "the agent stopped before this command finished"


def test_unknown_malformed_and_failing_commands_are_answered_not_run(tmp_path: Path) -> None:
    recorder = Recorder()
    r, spool = runner(tmp_path, recorder, message=recorder.handler("message", CommandFailed("TV app is gone")))
    r.submit([{"id": "x1", "type": "shell", "args": {"cmd": "rm -rf /"}},
              {"type": "key"}, "garbage", {"id": 5, "type": "key"},
              {"id": "m1", "type": "message", "args": {"text": "hi"}}])
    r.submit({"not": "a list"})
    drain(r)
    found = results(spool)
    assert set(found) == {"x1", "m1"}
    assert found["x1"]["ok"] is False and "unknown command type 'shell'" in found["x1"]["error"]
    assert found["m1"] == {"ok": False, "result": None, "error": "TV app is gone"}


def test_a_reboot_reports_its_result_before_it_goes(tmp_path: Path) -> None:
    events: list[str] = []
    recorder = Recorder()
    r, spool = runner(tmp_path, recorder,
                      reboot=lambda args: Outcome({"rebooting": True}, then=lambda: events.append(
                          "rebooted with result queued" if spool.stats()["pending"] else "rebooted")))
    r.submit([{"id": "r1", "type": "reboot"}])
    drain(r)
    # Nobody sent the result within the wait, so it stays spooled for after the reboot.
    assert events == ["rebooted with result queued"]
    assert results(spool)["r1"] == {"ok": True, "result": {"rebooting": True}, "error": None}
