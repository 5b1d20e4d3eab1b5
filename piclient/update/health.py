"""Is the version just switched to healthy? The launcher's control socket answers (it opens only
after the first frame is on screen), the agent has had a heartbeat accepted by the server, both
have stayed so for a settling while, and neither keeps restarting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from piclient.update import alive
from piclient.update.units import Units


@dataclass(frozen=True)
class Limits:
    deadline_s: float = 300.0   # the first frame and a heartbeat, even on a slow card after a reboot
    settle_s: float = 60.0      # healthy this long in a row, so a crash a minute in still counts
    max_restarts: int = 3       # restarts of one unit during the trial that mean a crash loop
    poll_s: float = 2.0


@dataclass(frozen=True)
class Verdict:
    healthy: bool
    reason: str = ""
    restarts: dict[str, int] = field(default_factory=dict)


def watch(units: Units, alive_dir: Path, version: str, since: float, limits: Limits, *,
          clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time,
          sleep: Callable[[float], None] = time.sleep) -> Verdict:
    start = clock()
    base = units.restarts()
    healthy_since: float | None = None
    tv_ever = agent_ever = False
    while True:
        now = clock()
        counts = {unit: n - base.get(unit, 0) for unit, n in units.restarts().items()}
        looping = [unit for unit, n in counts.items() if n >= limits.max_restarts]
        if looping:
            return Verdict(False, f"{', '.join(looping)} restarted {max(counts.values())} times "
                                  f"in {now - start:.0f} s (crash loop)", counts)
        tv_ok = units.tv_answers()
        proof = alive.last(alive_dir, version)
        agent_ok = bool(proof) and float(proof.get("at") or 0) >= since and proof.get("version") == version
        tv_ever, agent_ever = tv_ever or tv_ok, agent_ever or agent_ok
        if tv_ok and agent_ok:
            healthy_since = now if healthy_since is None else healthy_since
            if now - healthy_since >= limits.settle_s:
                return Verdict(True, "", counts)
        else:
            healthy_since = None
        if now - start >= limits.deadline_s:
            return Verdict(False, _missing(tv_ok, agent_ok, tv_ever, agent_ever, limits.deadline_s), counts)
        sleep(limits.poll_s)


def _missing(tv_ok: bool, agent_ok: bool, tv_ever: bool, agent_ever: bool, deadline_s: float) -> str:
    parts = []
    if not tv_ok:
        parts.append("the launcher stopped answering" if tv_ever
                     else "the launcher never answered its control socket (no first frame)")
    if not agent_ok:
        parts.append("the agent stopped sending heartbeats" if agent_ever
                     else "the agent sent no heartbeat the server accepted")
    return f"{' and '.join(parts)} within {deadline_s:.0f} s"
