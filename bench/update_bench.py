"""Update benchmark: publish -> every box runs the new version, and a bad update -> every box rolled back.

Starts a real `piclient server` on 127.0.0.1 and N boxes. Each box is the real box-side update code
(piclient.update: the agent's download with Range and SHA-256, the updater's offline install into a
new venv, the atomic switch, the health watch) around real launcher and agent processes of tiny
versions (tests/update/versions.py: real wheels, real venvs, the control socket and the agent's
proof of life), restarted by the stand-in for systemd from the tests. Its heartbeat loop is a small
one here (the real agent's sends far more than the version and update state this needs).

  good  publish 2.0 and offer it to all: seconds until every box's heartbeat says it runs 2.0
  bad   publish 3.0, whose launcher crashes at start: seconds until every box reports rolled_back
        and runs 2.0 again

Usage: .venv/bin/python bench/update_bench.py [--boxes 3] [--heartbeat 5] [--settle 10] [--deadline 120]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from piclient.agent.transport import new_session  # noqa: E402
from piclient.update import bundle, download, health, install, status  # noqa: E402
from piclient.update.layout import Layout  # noqa: E402
from piclient.update.runner import Updater  # noqa: E402
from tests.server.helpers import start_server  # noqa: E402
from tests.update.supervisor import ProcessUnits  # noqa: E402
from tests.update.versions import build_bundle  # noqa: E402


class Box:
    def __init__(self, work: Path, server_url: str, token: str, factory: Path, limits: health.Limits) -> None:
        self.layout = Layout(root=work / "updates", factory=factory)
        self.units = ProcessUnits(self.layout, work / "run")
        self.updater = Updater(self.layout, self.units, limits=limits)
        self.session = new_session(server_url, token)
        self.url = server_url
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def running(self) -> str:
        return self.layout.version_of(self.layout.running_venv()).replace("factory", "1.0")

    def _beat(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"id": uuid.uuid4().hex, "sent_at": time.time(),
                               "device": {"name": "bench", "version": self.running()}}
        if (update := status.read(self.layout.status)) is not None:
            doc["update"] = {k: v for k, v in update.items() if k != "log_tail"}
        reply = self.session.post(f"{self.url}/api/v1/heartbeat", json=doc, timeout=30)
        reply.raise_for_status()
        return reply.json()

    def _loop(self) -> None:
        pace = 5.0
        while not self.stop.is_set():
            try:
                reply = self._beat()
                pace = float(reply.get("heartbeat_seconds") or pace)
                offer = download.parse_offer(reply.get("update"))
                if offer and download.take_offer(self.session, self.url, offer, self.layout, self.running()):
                    self.updater.run()  # what piclient-update.service does when request.json appears
                    continue  # report the outcome at once, as a restarted agent does
            except requests.RequestException as exc:
                print(f"box: {exc}", file=sys.stderr)
            self.stop.wait(pace)


def _reported(server: Any, names: list[str]) -> dict[str, dict[str, Any]]:
    import sqlalchemy as sa

    from piclient.server.schema import devices

    with server.db.reader.connect() as conn:
        rows = conn.execute(sa.select(devices.c.name, devices.c.last_heartbeat).where(devices.c.name.in_(names)))
        return {r.name: json.loads(r.last_heartbeat) if r.last_heartbeat else {} for r in rows}


def _publish(server: Any, path: Path) -> float:
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "piclient.server.cli", "publish-bundle", str(path), "--offer-all",
                    "--data", str(server.data_dir), "--database", server.database_url], check=True,
                   capture_output=True, timeout=120)
    return start


def _wait(server: Any, names: list[str], done: Any, limit: float) -> float | None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if all(done(doc) for doc in _reported(server, names).values()):
            return time.monotonic()
        time.sleep(0.2)
    return None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--boxes", type=int, default=3)
    parser.add_argument("--heartbeat", type=int, default=5, help="the server's heartbeat pace, seconds")
    parser.add_argument("--settle", type=float, default=10.0)
    parser.add_argument("--deadline", type=float, default=120.0)
    args = parser.parse_args()
    limits = health.Limits(deadline_s=args.deadline, settle_s=args.settle, max_restarts=3, poll_s=0.5)
    with tempfile.TemporaryDirectory(prefix="update-bench-") as tmp:
        work = Path(tmp)
        path, sha = build_bundle(work / "factory", "1.0")
        factory = install.install(Layout(root=work / "image"), path, bundle.verify(path, sha),
                                  system_site_packages=False)
        server = start_server(work / "server", None, "--heartbeat-seconds", str(args.heartbeat))
        boxes: list[Box] = []
        try:
            names = []
            for i in range(args.boxes):
                name, token = server.add_device(f"bench-{i}")
                names.append(name)
                box = Box(work / name, server.url, token, factory, limits)
                box.units.start()
                box.thread.start()
                boxes.append(box)
            _wait(server, names, lambda d: d.get("device", {}).get("version") == "1.0", 60)

            good, _ = build_bundle(work / "bundles", "2.0", "good")
            start = _publish(server, good)
            end = _wait(server, names, lambda d: d.get("device", {}).get("version") == "2.0", 600)
            print(f"good: publish -> {args.boxes} boxes on 2.0: "
                  f"{'timed out' if end is None else f'{end - start:.1f} s'}")

            bad, _ = build_bundle(work / "bundles", "3.0", "tv-crashes")
            start = _publish(server, bad)
            end = _wait(server, names, lambda d: (d.get("update") or {}).get("state") == "rolled_back"
                        and d.get("device", {}).get("version") == "2.0", 600)
            print(f"bad:  publish of a crashing launcher -> {args.boxes} boxes rolled back to 2.0: "
                  f"{'timed out' if end is None else f'{end - start:.1f} s'}")
            print(f"(heartbeat {args.heartbeat} s, settle {args.settle} s, deadline {args.deadline} s, "
                  f"crash loop after {limits.max_restarts} restarts)")
        finally:
            for box in boxes:
                box.stop.set()
            for box in boxes:
                box.thread.join(30)
                box.units.stop()
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
