"""Server memory while boxes upload big screenshots at once: RSS before, at peak and after.

    .venv/bin/python bench/screenshot_memory_bench.py [--parallel 8] [--size 4096] [--rounds 3]

What it does, all on 127.0.0.1: starts `piclient server` (SQLite) in its own process with one device
per parallel upload, then ``--rounds`` times sends ``--parallel`` PNG screenshots of
``--size`` x ``--size`` pixels at once (one per device, a flat colour so each body stays far below the
2 MiB limit: a small file that decodes to a huge image is exactly the hostile case), waits for every
answer, and reads the server's VmRSS and VmHWM (peak) from /proc. It then does the same with
pictures at the size limit (2 x 1080p), which the server decodes for real. A second run with
``--server-path`` pointing at another checkout measures that code instead (before/after a change).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import io
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from PIL import Image  # noqa: E402

from piclient.server import migrate  # noqa: E402
from piclient.server.db import Database, default_url  # noqa: E402
from piclient.server.devices import add_device  # noqa: E402
from piclient.server.serve import wait_until_listening  # noqa: E402


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 90, 200)).save(out, "PNG", optimize=True)
    return out.getvalue()


def rss_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def upload(url: str, token: str, body: bytes) -> int:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "image/png", "X-Record-Id": uuid.uuid4().hex,
               "X-Reason": "demand"}
    return requests.post(f"{url}/api/v1/screenshots", data=body, headers=headers, timeout=300).status_code


def burst(url: str, tokens: list[str], body: bytes, rounds: int, pid: int) -> list[int]:
    statuses: list[int] = []
    with concurrent.futures.ThreadPoolExecutor(len(tokens)) as pool:
        for _ in range(rounds):
            statuses += list(pool.map(lambda token: upload(url, token, body), tokens))
    return statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server-path", type=Path, default=ROOT, help="the checkout whose server to run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="piclient-shotbench-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        url = default_url(data)
        db = Database(url)
        try:
            migrate.upgrade(db.writer_engine)
            tokens = [db.write_sync(add_device, f"bench-{i}") for i in range(args.parallel)]
        finally:
            db.close()
        env = {**os.environ, "PYTHONPATH": str(args.server_path.resolve())}
        process = subprocess.Popen([sys.executable, "-m", "piclient.server.cli", "--data", str(data), "--listen",
                                    "127.0.0.1:0", "--log-level", "warning"], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True, env=env, cwd=tmp)
        try:
            base = wait_until_listening(process, 60)
            if base is None:
                print("the server did not start", file=sys.stderr)
                return 1
            time.sleep(1)  # let start-up settle before the first reading
            before, _ = rss_mib(process.pid)
            print(f"server from {args.server_path}")
            print(f"RSS at rest: {before:.0f} MiB")
            for label, width, height in [(f"{args.size}x{args.size}", args.size, args.size),
                                         ("2560x1620 (at the limit)", 2560, 1620)]:
                body = png(width, height)
                statuses = burst(base, tokens, body, args.rounds, process.pid)
                time.sleep(2)  # what stays after the burst, not the tail of it
                after, peak = rss_mib(process.pid)
                counts = {s: statuses.count(s) for s in sorted(set(statuses))}
                print(f"{args.parallel} x {args.rounds} rounds of {label} PNG ({len(body)} B): answers {counts}; "
                      f"peak RSS so far {peak:.0f} MiB, RSS after {after:.0f} MiB")
        finally:
            process.terminate()
            process.wait(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
