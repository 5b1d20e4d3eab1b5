"""Heartbeats per second and latency of one `piclient server` process with SQLite, 10,000 devices.

    .venv/bin/python bench/server_bench.py [--devices 10000] [--rate 1000] [--seconds 30]

What it does, all on 127.0.0.1 and bounded in requests and time:
1. creates the devices (tokens) in a fresh data dir, then starts the server in its own process;
2. warm-up: every device sends one heartbeat (a closed loop, ``--concurrency`` at a time);
3. fixed rate: ``--rate`` heartbeats/s for ``--seconds``, open loop. Latency is measured from the
   moment a request was *due*, so a server that falls behind shows it (no coordinated omission);
4. saturation: a closed loop for ``--saturate-seconds`` to find the most it sustains.

Each heartbeat is a realistic ~1.6 KB body (a box playing a film, built from the shared models) with
a fresh record id, from devices taken in turn. The server stores every one durably (group commit,
``synchronous=FULL``) before it answers.

The load generator is a minimal HTTP/1.1 keep-alive client on asyncio's transports rather than
httpx: on a 2-core machine the generator shares the CPU with the server, and httpx spends several
milliseconds of CPU per request here, so it would measure itself instead of the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from piclient.protocol import (  # noqa: E402
    AgentReport,
    CecSection,
    DeviceInfo,
    Heartbeat,
    NowPlaying,
    Rendition,
    SpoolSection,
    SubtitleTrack,
    SystemSection,
    TvSection,
)
from piclient.server import migrate  # noqa: E402
from piclient.server.db import Database, default_url  # noqa: E402
from piclient.server.schema import devices  # noqa: E402
from piclient.server.serve import wait_until_listening  # noqa: E402
from piclient.server.tokens import hash_token, new_token  # noqa: E402

START_TIMEOUT_S = 60
REQUEST_TIMEOUT_S = 10


def create_devices(url: str, count: int) -> list[str]:
    db = Database(url)
    try:
        migrate.upgrade(db.writer_engine)
        tokens = [new_token() for _ in range(count)]
        now = time.time()
        rows = [{"name": f"bench-{i:05d}", "token_hash": hash_token(t), "created_at": now}
                for i, t in enumerate(tokens)]
        db.write_sync(lambda conn: conn.execute(devices.insert(), rows))
        return tokens
    finally:
        db.close()


def start_server(data: Path, url: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "piclient.server.cli", "--data", str(data), "--database", url,
         "--listen", "127.0.0.1:0", "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=open(data / "server.log", "w"), text=True, cwd=ROOT)  # noqa: SIM115
    address = wait_until_listening(process, START_TIMEOUT_S)
    if address is not None:
        return process, address
    process.kill()
    raise SystemExit(f"the server did not start; see {data / 'server.log'}")


# Built once from the shared models (what a box playing a film sends); each request changes id and time.
HEARTBEAT = Heartbeat(
    device=DeviceInfo(name="Living room", version="0.1.0", uptime_s=3600, agent_uptime_s=3500),
    tv=TvSection(state="running", screen="player", uptime_s=1200,
                 now_playing=NowPlaying(id="spring-day", title_id="spring-day",
                                        title={"ko": "봄날", "en": "Spring Day"},
                                        phase="playing", started_at=1795312000.0, position=1200.5, duration=5400,
                                        variant=Rendition(track=1, height=720, bitrate=2_500_000),
                                        subtitle=SubtitleTrack(track=3, lang="ko", title="한국어"),
                                        subtitle_tracks=1, sub_text="해가 떠요")),
    system=SystemSection(cpu_temp_c=51.2, throttled={"raw": "0x0", "under_voltage_now": False,
                                                     "under_voltage_occurred": False, "throttled_now": False,
                                                     "throttled_occurred": False},
                         load=[0.1, 0.2, 0.3], mem_total=1_000_000_000, mem_available=500_000_000,
                         disk_total=30_000_000_000, disk_free=20_000_000_000,
                         wifi={"interface": "wlan0", "signal_dbm": -61, "quality": 0.7}),
    cec=CecSection(adapter="open", tv_power="on", active_source=True), spool=SpoolSection(), agent=AgentReport(),
    id="template",
).wire()


def body(now: float) -> bytes:
    return json.dumps({**HEARTBEAT, "id": uuid.uuid4().hex, "sent_at": now}, ensure_ascii=False).encode()


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    skipped: int = 0
    seconds: float = 0.0
    cpu_s: float = 0.0

    def report(self) -> dict[str, float | int | str]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float:
            return round(1000 * lat[min(len(lat) - 1, int(p * len(lat)))], 1) if lat else float("nan")

        return {"phase": self.name, "ok": len(lat), "errors": self.errors, "skipped": self.skipped,
                "seconds": round(self.seconds, 1), "per_s": round(len(lat) / self.seconds, 1) if self.seconds else 0,
                "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": round(1000 * lat[-1], 1) if lat else float("nan"),
                "mean_ms": round(1000 * statistics.fmean(lat), 1) if lat else float("nan"),
                "server_cpu_pct": round(100 * self.cpu_s / self.seconds, 1) if self.seconds else 0}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time; reads Content-Length bodies only."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head, sep, rest = self.buffer.partition(b"\r\n\r\n")
        if not sep:
            return
        at = head.lower().find(b"content-length:")
        length = int(head[at + 15:head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None]) if at >= 0 else 0
        if len(rest) >= length and self.waiter is not None:
            self.buffer = rest[length:]
            waiter, self.waiter = self.waiter, None
            waiter.set_result(int(head[9:12]))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))

    async def request(self, data: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await asyncio.wait_for(self.waiter, REQUEST_TIMEOUT_S)


class Load:
    def __init__(self, connections: list[Connection], tokens: list[str]) -> None:
        self.idle: asyncio.Queue[Connection] = asyncio.Queue()
        for connection in connections:
            self.idle.put_nowait(connection)
        self.tokens = tokens
        self.next = 0

    def heartbeat(self) -> bytes:
        token = self.tokens[self.next % len(self.tokens)]
        self.next += 1
        payload = body(time.time())
        return (f"POST /api/v1/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n").encode() + payload

    async def one(self, phase: Phase, due: float) -> None:
        connection = await self.idle.get()
        try:
            ok = await connection.request(self.heartbeat()) == 200
        except (OSError, TimeoutError):
            ok = False
        self.idle.put_nowait(connection)
        if ok:
            phase.latencies.append(time.perf_counter() - due)
        else:
            phase.errors += 1

    async def closed_loop(self, phase: Phase, concurrency: int, *, total: int | None = None,
                          seconds: float | None = None) -> None:
        deadline = time.perf_counter() + (seconds if seconds is not None else 3600)
        remaining = [total if total is not None else 10**9]

        async def worker() -> None:
            while remaining[0] > 0 and time.perf_counter() < deadline:
                remaining[0] -= 1
                await self.one(phase, time.perf_counter())

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        phase.seconds = time.perf_counter() - started

    async def open_loop(self, phase: Phase, rate: float, seconds: float, max_in_flight: int) -> None:
        """Send at ``rate``/s; if ``max_in_flight`` are already waiting, count the send as skipped."""
        in_flight: set[asyncio.Task[None]] = set()
        started = time.perf_counter()
        total = int(rate * seconds)
        for i in range(total):
            due = started + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(in_flight) >= max_in_flight:
                phase.skipped += 1
                continue
            task = asyncio.create_task(self.one(phase, due))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.wait(in_flight, timeout=REQUEST_TIMEOUT_S)
        phase.seconds = time.perf_counter() - started


async def run(args: argparse.Namespace, url: str, tokens: list[str], pid: int) -> list[Phase]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    loop = asyncio.get_running_loop()
    connections = [(await loop.create_connection(Connection, host, int(port)))[1] for _ in range(args.connections)]
    try:
        load = Load(connections, tokens)
        phases = []
        warm = Phase("warm-up (each device once)")
        cpu = cpu_seconds(pid)
        await load.closed_loop(warm, args.concurrency, total=len(tokens))
        warm.cpu_s = cpu_seconds(pid) - cpu
        phases.append(warm)
        fixed = Phase(f"fixed rate {args.rate:g}/s")
        cpu = cpu_seconds(pid)
        await load.open_loop(fixed, args.rate, args.seconds, args.connections * 4)
        fixed.cpu_s = cpu_seconds(pid) - cpu
        phases.append(fixed)
        if args.saturate_seconds > 0:
            top = Phase(f"saturation ({args.concurrency} in flight)")
            cpu = cpu_seconds(pid)
            await load.closed_loop(top, args.concurrency, seconds=args.saturate_seconds)
            top.cpu_s = cpu_seconds(pid) - cpu
            phases.append(top)
        return phases
    finally:
        for connection in connections:
            if connection.transport is not None:
                connection.transport.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=1000.0, help="heartbeats per second in the fixed-rate phase")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the fixed-rate phase")
    parser.add_argument("--saturate-seconds", type=float, default=15.0, help="0 skips the saturation phase")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight in the closed loops")
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections to the server")
    parser.add_argument("--database", default=None, help="a PostgreSQL URL instead of SQLite (same code)")
    parser.add_argument("--data", type=Path, default=None, help="data dir (default: a fresh temp dir)")
    args = parser.parse_args()
    data = args.data or Path(tempfile.mkdtemp(prefix="piclient-bench-"))
    data.mkdir(parents=True, exist_ok=True)
    url = args.database or default_url(data)
    print(f"creating {args.devices} devices in {url.split('@')[-1]} ...", flush=True)
    tokens = create_devices(url, args.devices)
    process, server_url = start_server(data, url)
    print(f"server pid {process.pid} at {server_url}", flush=True)
    try:
        phases = asyncio.run(run(args, server_url, tokens, process.pid))
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        if args.data is None:
            shutil.rmtree(data, ignore_errors=True)
    reports = [p.report() for p in phases]
    columns = list(reports[0])
    print("\n" + " | ".join(columns))
    for report in reports:
        print(" | ".join(str(report[c]) for c in columns))
    fixed = reports[1]
    target_ok = fixed["per_s"] >= 0.98 * args.rate and fixed["p99_ms"] < 100 and not fixed["errors"]
    print(f"\nmachine: {os.cpu_count()} cores; database: {'PostgreSQL' if args.database else 'SQLite (WAL, FULL)'}")
    print(f"target (>= {args.rate:g}/s sustained with p99 < 100 ms, no errors): {'met' if target_ok else 'NOT met'}")
    print(json.dumps({"results": reports}))
    return 0 if target_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
