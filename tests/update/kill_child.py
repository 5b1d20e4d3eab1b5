"""Run one update in its own process and SIGKILL that process at the named step (kill -9 at that
instant: no finally, no atexit, no flush). Used by test_power_cuts.py.

    python -m tests.update.kill_child ROOT FACTORY BUNDLE SHA256 VERSION STEP [STATE_DB]

STEP "rollback:NAME" kills at NAME during the switch back (the health watch here fails at once).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from piclient.update import health
from piclient.update.layout import Layout
from piclient.update.runner import Request, Updater
from tests.update.versions import build_bundle

ROOT = Path(__file__).resolve().parents[2]


def killed_at(layout: Layout, tmp_path: Path, step: str, behaviour: str = "good",
              state_db: Path | None = None) -> None:
    """Run an update to a version "2.0" that behaves as ``behaviour`` in a child killed at ``step``."""
    path, sha = build_bundle(tmp_path / "bundles", "2.0", behaviour)
    extra = [str(state_db)] if state_db is not None else []
    done = subprocess.run([sys.executable, "-m", "tests.update.kill_child", str(layout.root), str(layout.factory),
                           str(path), sha, "2.0", step, *extra], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == -9, f"not killed at {step}: {done.returncode} {done.stderr[-2000:]}"


class NoUnits:
    """The units are the parent's; this process dies before it would need them to be real."""

    def stop(self) -> None:
        pass

    def restart(self) -> None:
        pass

    def restarts(self) -> dict[str, int]:
        return {}

    def tv_answers(self) -> bool:
        return False

    def log_tail(self, since: float) -> str:
        return ""


def main() -> None:
    root, factory, bundle, sha, version, step = sys.argv[1:7]
    state_db = Path(sys.argv[7]) if len(sys.argv) > 7 else None

    seen: list[str] = []

    def hook(at: str) -> None:
        seen.append(at)
        rolling_back = "restarted" in seen[:-1]
        if at == step or (step == f"rollback:{at}" and rolling_back):
            os.kill(os.getpid(), signal.SIGKILL)

    layout = Layout(root=Path(root), factory=Path(factory))
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.request.write_text(Request(Path(bundle), sha, version).to_json())
    Updater(layout, NoUnits(), limits=health.Limits(deadline_s=0, settle_s=0, poll_s=0), hook=hook,
            state_db=state_db).run()
    sys.exit(3)  # the step was never reached


if __name__ == "__main__":
    main()
