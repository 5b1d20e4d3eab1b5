"""What each command does. Arguments come from the network: every one is checked before use, and
programs run from a fixed argv in the config, never through a shell."""

from __future__ import annotations

import logging
import math
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from typing import Any

from piclient.agent.catalog import CatalogSyncer
from piclient.agent.commands import CommandFailed, Handler, Outcome
from piclient.agent.logupload import MAX_LOG_BYTES, LogSource, LogUploader
from piclient.agent.screenshots import Screenshots
from piclient.agent.tvlink import TvLink
from piclient.control.client import ControlUnavailable

log = logging.getLogger(__name__)

PROGRAM_TIMEOUT_S = 120.0
TV_BACK_WAIT_S = 30.0
OUTPUT_TAIL_CHARS = 2000
MAX_MESSAGE_CHARS = 500
MAX_SINCE_S = 7 * 24 * 3600


class Actions:
    def __init__(self, tv: TvLink, screenshots: Screenshots, catalog: CatalogSyncer | None,
                 restart_tv_argv: Sequence[str], reboot_argv: Sequence[str], log_source: LogSource,
                 uploader: LogUploader, stop: threading.Event) -> None:
        self.tv = tv
        self.screenshots = screenshots
        self.catalog = catalog
        self.restart_tv_argv = list(restart_tv_argv)
        self.reboot_argv = list(reboot_argv)
        self.log_source = log_source
        self.uploader = uploader
        self.stop = stop

    def offered(self) -> list[str]:
        """The commands this box really carries out; the dashboard shows only their buttons."""
        missing = {"restart_tv": not self.restart_tv_argv, "reboot": not self.reboot_argv}
        return [kind for kind in self.handlers() if not missing.get(kind)]

    def handlers(self) -> dict[str, Handler]:
        return {"screenshot": self.screenshot, "key": self.key, "message": self.message, "reload": self.reload,
                "restart_tv": self.restart_tv, "reboot": self.reboot, "upload_logs": self.upload_logs}

    def screenshot(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("live") is True:
            # The dashboard page just opened: a picture now, sent directly, plus one a moment later.
            self.screenshots.after_input()
            return {"live": True}
        taken = self.screenshots.take("demand")
        if taken is None:
            raise CommandFailed("the TV app did not give a screenshot (not running or not responding)")
        return taken

    def key(self, args: dict[str, Any]) -> dict[str, Any]:
        name = args.get("name")
        if not isinstance(name, str) or not 0 < len(name) <= 32:
            raise CommandFailed("key needs args.name, a button name such as ok, up or back")
        result = self._tv("key", name=name)
        self.screenshots.after_input()  # the maintainer is waiting to see what the key did
        return result

    def message(self, args: dict[str, Any]) -> dict[str, Any]:
        text = args.get("text")
        if not isinstance(text, str) or not text.strip():
            raise CommandFailed("message needs args.text")
        seconds = args.get("seconds", 30)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
            raise CommandFailed("message args.seconds must be a number")
        return self._tv("message", text=text.strip()[:MAX_MESSAGE_CHARS], seconds=min(86400, max(1, seconds)))

    def _tv(self, cmd: str, **args: Any) -> dict[str, Any]:
        try:
            reply = self.tv.call(cmd, **args)
        except ControlUnavailable as exc:
            raise CommandFailed(str(exc)) from None
        if not reply.get("ok"):
            raise CommandFailed(f"the TV app refused: {reply.get('error', 'no reason given')}")
        return {k: v for k, v in reply.items() if k != "ok"}

    def reload(self, args: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if self.catalog is not None:
            synced = self.catalog.run()
            result = {"changed": synced.changed, "titles": synced.titles, "skipped": synced.skipped,
                      "posters_fetched": synced.posters_fetched, "error": synced.error,
                      "error_kind": synced.error_kind}
            told = self.catalog.tell_launcher()
        else:
            # catalog.source is set: the launcher syncs its own cache, and reload starts that.
            self._tv("reload")
            told = True
        result["launcher_told"] = told
        if result.get("error"):
            raise CommandFailed(f"catalog sync failed ({result['error_kind']}): {result['error']}")
        return result

    def restart_tv(self, args: dict[str, Any]) -> dict[str, Any]:
        if not self.restart_tv_argv:
            raise CommandFailed("this box does not offer restarting the TV app (agent.restart_tv_command is [])")
        code, output = run_program(self.restart_tv_argv)
        if code != 0:
            raise CommandFailed(f"{self.restart_tv_argv[0]} exited with {code}: {output[-300:]}")
        deadline = time.monotonic() + TV_BACK_WAIT_S
        state = self.tv.probe()
        while not state.running and time.monotonic() < deadline and not self.stop.is_set():
            self.stop.wait(0.5)
            state = self.tv.probe()
        if not state.running:
            raise CommandFailed(f"restarted, but the TV app is {state.state} after {TV_BACK_WAIT_S:g} s")
        return {"returncode": code, "tv": state.state}

    def reboot(self, args: dict[str, Any]) -> Outcome:
        if not self.reboot_argv:
            raise CommandFailed("this box does not offer rebooting (agent.reboot_command is [])")

        def go() -> None:
            log.warning("rebooting on the maintainer's request")
            code, output = run_program(self.reboot_argv)
            if code != 0:
                log.error("reboot command exited with %s: %s", code, output[-300:])

        return Outcome({"rebooting": True}, then=go)

    def upload_logs(self, args: dict[str, Any]) -> dict[str, Any]:
        since = args.get("since_s", 3600)
        if isinstance(since, bool) or not isinstance(since, int | float) or not math.isfinite(since):
            raise CommandFailed("upload_logs args.since_s must be a number of seconds")
        data = self.log_source.read(min(MAX_SINCE_S, max(60.0, since)), MAX_LOG_BYTES)
        return self.uploader.upload(data)


def run_program(argv: Sequence[str], timeout_s: float = PROGRAM_TIMEOUT_S) -> tuple[int, str]:
    """Run ``argv`` (no shell); its exit code and the tail of its output.

    Output goes to a file, not a pipe: a program that leaves a child running (a service it started)
    would keep a pipe open and make us wait for that child too.
    """
    with tempfile.TemporaryFile() as out:
        try:
            done = subprocess.run(list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=timeout_s, check=False)
        except FileNotFoundError:
            return 127, f"{argv[0]}: program not found"
        except subprocess.TimeoutExpired:
            return 124, f"{argv[0]}: no exit within {timeout_s:g} s"
        out.seek(0)
        return done.returncode, out.read()[-OUTPUT_TAIL_CHARS:].decode("utf-8", errors="replace")
