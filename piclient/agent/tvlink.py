"""The launcher as the agent sees it: its control socket, with hard deadlines, and its systemd unit.

The agent is most needed when the launcher is hung or gone, so no call here may block a caller for
longer than its deadline: each control-socket call runs on a small worker pool and is abandoned
when the deadline passes (the worker ends by itself at the socket timeout).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from piclient.control.client import ControlClient, ControlUnavailable
from piclient.protocol import LauncherStatus, problems

log = logging.getLogger(__name__)

RUNNING, UNRESPONSIVE, CRASHED, STOPPED = "running", "unresponsive", "crashed", "stopped"
SCREENSHOT_MAX_WIDTH = 960
SCREENSHOT_QUALITY = 75
# Encoding a frame takes the launcher a while on a Pi: a screenshot gets longer than other calls.
SCREENSHOT_TIMEOUT_FACTOR = 3
WORKERS = 4


@dataclass
class TvState:
    state: str
    detail: str = ""
    status: LauncherStatus = field(default_factory=LauncherStatus)  # the launcher's status, when running

    @property
    def running(self) -> bool:
        return self.state == RUNNING


class TvGone(ControlUnavailable):
    """The control socket is not there or nobody listens on it (not merely slow to answer)."""


class TvLink:
    def __init__(self, socket_path: Path | str, timeout_s: float = 3.0, unit: str = "",
                 unit_state: Callable[[str], str | None] | None = None) -> None:
        self.timeout_s = timeout_s
        self.unit = unit
        self._client = ControlClient(socket_path, timeout=timeout_s)
        self._shot_client = ControlClient(socket_path, timeout=timeout_s * SCREENSHOT_TIMEOUT_FACTOR)
        self._unit_state = unit_state or systemd_unit_state
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="tvlink")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- calls ------------------------------------------------------------------------------------

    def call(self, cmd: str, **args: Any) -> dict[str, Any]:
        """The launcher's reply; raises ControlUnavailable (TvGone when it is not running) within the deadline."""
        return self._bounded(lambda: self._client.request(cmd, **args), self.timeout_s)

    def screenshot(self) -> bytes:
        """What the TV shows, as a JPEG at most 960 px wide."""
        timeout = self.timeout_s * SCREENSHOT_TIMEOUT_FACTOR
        return self._bounded(
            lambda: self._shot_client.screenshot("jpeg", max_width=SCREENSHOT_MAX_WIDTH, quality=SCREENSHOT_QUALITY),
            timeout,
        )

    def _bounded(self, work: Callable[[], Any], timeout: float) -> Any:
        try:
            future: Future[Any] = self._pool.submit(_classified, work)
        except RuntimeError:  # the pool is shut down: the agent is stopping
            raise ControlUnavailable("the agent is stopping") from None
        try:
            return future.result(timeout + 1.0)
        except FutureTimeout:
            future.cancel()
            raise ControlUnavailable(f"the TV app did not answer within {timeout:g} s") from None

    # -- state ------------------------------------------------------------------------------------

    def probe(self) -> TvState:
        """Running (with its status), unresponsive, crashed or stopped; never raises."""
        try:
            reply = self.call("status")
        except TvGone as exc:
            return self._gone(str(exc))
        except ControlUnavailable as exc:
            return TvState(UNRESPONSIVE, str(exc))
        except Exception as exc:
            return TvState(UNRESPONSIVE, f"{type(exc).__name__}: {exc}")
        if not reply.get("ok"):
            return TvState(UNRESPONSIVE, str(reply.get("error", "the TV app refused the status request")))
        try:
            return TvState(RUNNING, "", LauncherStatus.read(reply))
        except ValidationError as exc:
            # It answers, so it runs; what it says does not fit the protocol (a launcher of another
            # version with a changed field): the maintainer sees which field.
            log.warning("the TV app's status does not fit the protocol: %s", problems(exc))
            return TvState(RUNNING, f"the TV app's status does not fit the protocol: {problems(exc)}")

    def _gone(self, detail: str) -> TvState:
        unit = self._unit_state(self.unit) if self.unit else None
        if unit in ("inactive", "deactivating"):
            return TvState(STOPPED, f"{self.unit} is {unit}")
        if unit:
            return TvState(CRASHED, f"{detail}; {self.unit} is {unit}")
        return TvState(CRASHED, detail)


def _classified(work: Callable[[], Any]) -> Any:
    try:
        return work()
    except ControlUnavailable as exc:
        # ControlClient raises "from None", but keeps the socket error as __context__: no socket
        # file or nobody listening means the process is gone; a timeout means it is there but hung.
        if isinstance(exc.__context__, FileNotFoundError | ConnectionRefusedError):
            raise TvGone(str(exc)) from None
        raise


def systemd_unit_state(unit: str) -> str | None:
    """``ActiveState`` of a unit (active, inactive, failed, activating, ...), or None without systemd."""
    if not shutil.which("systemctl"):
        return None
    try:
        done = subprocess.run(["systemctl", "show", "--property=ActiveState", "--value", unit],
                              capture_output=True, text=True, timeout=3, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("systemctl show %s failed: %s", unit, exc)
        return None
    state = done.stdout.strip()
    return state if done.returncode == 0 and state else None
