"""What the held command polls cost one `piclient server` process (SQLite), and how fast a command
still reaches one box among them.

    .venv/bin/python bench/poll_bench.py [--boxes 2000] [--seconds 30] [--keys 20]

Every box holds one ``GET /api/v1/commands`` open at all times (docs/protocol.md). On 127.0.0.1:
1. creates ``--boxes`` devices, starts the server, measures its memory (RSS) and CPU over ``--seconds``
   with no box connected;
2. opens one poll per box as the agent does (``wait`` 41 to 55 s, spread at random; an answered poll
   is sent again at once), waits until the server holds them all, and measures RSS and CPU again:
   10 s later over the next ``--seconds`` (at most 25 s: holding only, no poll ends that soon), then over the
   60 s after (the steady state: about one poll in 48 per box and second answered and sent again);
3. ``--keys`` times, queues a key for one box through the dashboard's own API and times the click
   to the moment that box's poll answers with it.

The boxes are a minimal HTTP/1.1 client on asyncio's streams (one connection each), not agents: this
measures the server.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.server_bench import cpu_seconds, create_devices, start_server  # noqa: E402
from piclient.server.db import Database, default_url  # noqa: E402
from piclient.server.passwords import set_password  # noqa: E402
from piclient.server.schema import devices  # noqa: E402

PASSWORD = "bench-password"
SETTLE_S = 10.0
HOLDING_MAX_S = 25.0  # after SETTLE_S, still before the first hold (41 s) ends


def held_polls(url: str) -> int:
    text = requests.get(f"{url}/metrics", timeout=10).text
    line = next(line for line in text.splitlines() if line.startswith("piclient_command_polls_held "))
    return int(float(line.split()[1]))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Box:
    """One box's connection, polling again as soon as an answer came (as the agent does)."""

    def __init__(self, host: str, port: int, token: str, rng: random.Random) -> None:
        self.host, self.port, self.token, self.rng = host, port, token, rng
        self.answers: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        self.polls = 0
        self.closed = 0  # connections the server closed with a poll unanswered (the box connects again)

    async def run(self, stop: asyncio.Event) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            while not stop.is_set():
                wait = int(55 * self.rng.uniform(0.75, 1.0))
                writer.write(f"GET /api/v1/commands?wait={wait}&live=0 HTTP/1.1\r\nHost: {self.host}\r\n"
                             f"Authorization: Bearer {self.token}\r\n\r\n".encode())
                await writer.drain()
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    self.closed += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                    continue
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                body = await reader.readexactly(length)
                self.polls += 1
                await self.answers.put((time.monotonic(), body))
        finally:
            writer.close()


async def measure(pid: int, seconds: float) -> tuple[float, float]:
    """(RSS in MB at the end, server CPU in µs per second over the window)."""
    cpu, started = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return rss_mb(pid), (cpu_seconds(pid) - cpu) / (time.monotonic() - started) * 1e6


async def run(args: argparse.Namespace, url: str, tokens: list[str], ids: list[int], pid: int) -> None:
    host, port = url.removeprefix("http://").split(":")
    idle_rss, idle_cpu = await measure(pid, args.seconds)
    rng = random.Random(7)
    boxes = [Box(host, int(port), token, rng) for token in tokens]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(box.run(stop)) for box in boxes]
    for _ in range(600):  # every poll sent and held (bounded: a minute)
        if await asyncio.to_thread(held_polls, url) >= len(boxes):
            break
        await asyncio.sleep(0.1)
    # "Held" counts from before each poll's first look in the database: let those looks finish. The
    # first holds end after 41 s: the first window is holding only, the second has polls sent again.
    await asyncio.sleep(SETTLE_S)
    held_rss, held_cpu = await measure(pid, min(args.seconds, HOLDING_MAX_S))
    answered_before = sum(box.polls for box in boxes)
    steady_rss, steady_cpu = await measure(pid, 60.0)
    repolls = sum(box.polls for box in boxes) - answered_before

    session = requests.Session()
    page = session.get(f"{url}/login", timeout=10).text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    session.post(f"{url}/login", data={"csrf": csrf, "password": PASSWORD, "next": "/"}, timeout=10)
    token = next(c.split('content="', 1)[1].split('"', 1)[0] for c in session.get(f"{url}/", timeout=10).text.split(
        "<meta") if 'name="csrf"' in c)
    latencies = []
    for _ in range(args.keys):
        which = rng.randrange(len(boxes))
        box = boxes[which]
        while not box.answers.empty():
            box.answers.get_nowait()
        clicked = time.monotonic()
        reply = await asyncio.to_thread(session.post, f"{url}/api/dash/devices/{ids[which]}/commands",
                                        json={"type": "key", "args": {"name": "up"}},
                                        headers={"X-CSRF-Token": token}, timeout=10)
        assert reply.status_code == 200, reply.text
        while True:
            at, body = await asyncio.wait_for(box.answers.get(), 60)
            if b'"key"' in body:
                latencies.append(at - clicked)
                break
        await asyncio.sleep(0.3)
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    per_box_kb = (held_rss - idle_rss) * 1024 / len(boxes)
    print(f"boxes: {len(boxes)}")
    print(f"server RSS: {idle_rss:.0f} MB with no poll, {held_rss:.0f} MB with all held ({per_box_kb:.1f} KB a box), "
          f"{steady_rss:.0f} MB a minute later")
    print(f"server CPU: {idle_cpu:.0f} µs/s with no poll ({args.seconds:g} s), {held_cpu:.0f} µs/s holding them "
          f"({min(args.seconds, HOLDING_MAX_S):g} s, none answered), {steady_cpu:.0f} µs/s over the next 60 s with "
          f"{repolls} polls answered and sent again ({100 * steady_cpu / 1e6:.2f} % of one core)")
    ordered = sorted(latencies)
    print(f"connections the server closed with a poll unanswered: {sum(box.closed for box in boxes)}")
    print(f"key to the box's poll answering ({len(ordered)} keys): median {statistics.median(ordered) * 1000:.0f} ms, "
          f"max {ordered[-1] * 1000:.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boxes", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--keys", type=int, default=20)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2 * args.boxes + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 2 * args.boxes + 256), hard))  # the server inherits it
    data = Path(tempfile.mkdtemp(prefix="piclient-poll-bench-"))
    try:
        url = default_url(data)
        tokens = create_devices(url, args.boxes)
        db = Database(url)
        db.write_sync(set_password, PASSWORD)
        ids = db.read_sync(lambda conn: [row.id for row in conn.execute(devices.select().order_by(devices.c.name))])
        db.close()
        process, server_url = start_server(data, url)
        try:
            asyncio.run(run(args, server_url, tokens, ids, process.pid))
        finally:
            process.terminate()
            process.wait(30)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
