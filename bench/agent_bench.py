"""Agent benchmark: CPU share and bytes sent per day with the default intervals.

Runs a real launcher (dummy video driver, a 1920x1080 window like a TV) and a real `piclient agent`
against the protocol server from the tests on 127.0.0.1, in three phases, each a fresh agent process:

  idle         heartbeats and screenshots effectively off: the agent's baseline CPU per second
  heartbeats   one heartbeat per second: CPU per heartbeat (baseline subtracted), bytes per heartbeat
  screenshots  one screenshot every 2 s: CPU per screenshot in the agent and in the launcher, bytes each

and extrapolates to the defaults (30 s heartbeats = 2,880 a day, 300 s screenshots = 288 a day, a
catalog and progress check every 15 minutes = 96 a day, the command poll held 41-55 s = about 1,800 a
day; the idle phase includes holding it). CPU comes from /proc/<pid>/stat (all threads,
user + system). Bytes are HTTP request bytes as the server read them (request line, headers, body);
TLS adds a few percent on a kept-alive connection. Measured on this machine's CPU, not a Pi's.

Usage: .venv/bin/python bench/agent_bench.py [--seconds 40] [--size 1920x1080]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.agent.protocol_server import TOKEN, ProtocolServer  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
DAY = 86400
HEARTBEATS_PER_DAY = DAY // 30
SCREENSHOTS_PER_DAY = DAY // 300
CHECKS_PER_DAY = DAY // (15 * 60)
POLLS_PER_DAY = round(DAY / 48.125)  # holds of 41 to 55 s, evenly spread (agent/channel.py)


def cpu_times(pid: int) -> tuple[float, float]:
    """CPU seconds of a process, all threads, counted two ways; see ``cpu_used``."""
    # Fields after the ")" of the command name: utime and stime are the 12th and 13th.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = (int(fields[11]) + int(fields[12])) / TICK
    nanoseconds = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            nanoseconds += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return ticks, nanoseconds / 1e9


def cpu_used(before: tuple[float, float], after: tuple[float, float]) -> float:
    """/proc/<pid>/stat counts in clock ticks (10 ms), too coarse for an agent that is idle most of
    the time; each thread's schedstat counts nanoseconds but forgets threads that ended. The larger
    of the two differences never undercounts the process."""
    return max(after[0] - before[0], after[1] - before[1])


def build_library(root: Path, titles: int = 12) -> None:
    """Posters with photo-like texture: flat colours would make screenshots unrealistically small."""
    from PIL import Image, ImageChops

    from tests.catalogs import film, write_catalog

    entries = []
    (root / "posters").mkdir(parents=True, exist_ok=True)
    for n in range(titles):
        noise = Image.effect_noise((400, 600), 60).convert("RGB")
        tint = Image.new("RGB", (400, 600), (60 + 15 * n % 190, 90, 160 - 10 * n % 150))
        buffer = io.BytesIO()
        ImageChops.multiply(noise, tint).save(buffer, "JPEG", quality=85)
        (root / "posters" / f"{n}.jpg").write_bytes(buffer.getvalue())
        entries.append(film(f"film-{n}", f"영화 제목 {n}", f"Film {n}", poster=f"posters/{n}.jpg"))
    write_catalog(root / "catalog.json", entries)


def write_config(directory: Path, url: str, size: tuple[int, int], **agent: Any) -> Path:
    lines = ["device:", "  name: bench",
             "paths:", f"  data: {directory / 'data'}", f"  socket: {directory / 'tv.sock'}",
             "ui:", "  fullscreen: false", f"  window_size: {json.dumps(list(size))}", "cec:", "  enabled: false",
             "server:", f"  url: {json.dumps(url)}", f"  token: {json.dumps(TOKEN)}", "agent:", "  tv_unit: ''",
             *(f"  {k}: {json.dumps(v)}" for k, v in agent.items()), "log:", "  level: info"]
    path = directory / "config.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def start(directory: Path, what: str, config: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
    env.pop("NOTIFY_SOCKET", None)
    log = (directory / f"{what}.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "piclient", what, "--config", str(config)],
                            stdout=log, stderr=subprocess.STDOUT, env=env)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"benchmark setup failed: {what} not within {timeout} s")
        time.sleep(0.1)


def phase(directory: Path, server: ProtocolServer, launcher: subprocess.Popen[bytes], size: tuple[int, int],
          seconds: float, **agent: Any) -> dict[str, Any]:
    config = write_config(directory, server.url, size, **agent)
    process = start(directory, "agent", config)
    try:
        wait_for(lambda: server.state.heartbeats, 30, "a first heartbeat")
        # Past start-up: imports, the first catalog and poster sync, the first screenshot.
        time.sleep(5)
        before = (len(server.seen), cpu_times(process.pid), cpu_times(launcher.pid), time.monotonic())
        time.sleep(seconds)
        after = (len(server.seen), cpu_times(process.pid), cpu_times(launcher.pid), time.monotonic())
    finally:
        stop(process)
    window = server.seen[before[0]:after[0]]
    return {
        "elapsed": after[3] - before[3],
        "agent_cpu": cpu_used(before[1], after[1]),
        "launcher_cpu": cpu_used(before[2], after[2]),
        "heartbeats": [s for s in window if s.path == "/api/v1/heartbeat"],
        "screenshots": [s for s in window if s.path == "/api/v1/screenshots"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=40, help="measured window of each phase")
    parser.add_argument("--size", default="1920x1080", help="the launcher's window, i.e. the TV's resolution")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    command = shlex.join([os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT))
                          else sys.executable, "bench/agent_bench.py", *sys.argv[1:]])

    with tempfile.TemporaryDirectory(prefix="agent-bench-") as tmp:
        directory = Path(tmp)
        build_library(directory / "library")
        with ProtocolServer(directory / "library") as server:
            launcher_config = write_config(directory, server.url, size)
            launcher = start(directory, "tv", launcher_config)
            try:
                wait_for(lambda: (directory / "tv.sock").exists(), 30, "the launcher's socket")
                idle = phase(directory, server, launcher, size, args.seconds,
                             heartbeat_seconds=3600, screenshot_seconds=0)
                beats = phase(directory, server, launcher, size, args.seconds,
                              heartbeat_seconds=1, screenshot_seconds=0)
                shots = phase(directory, server, launcher, size, args.seconds,
                              heartbeat_seconds=3600, screenshot_seconds=2)
            finally:
                stop(launcher)
            startup = server.seen[:10]
            polls = [s for s in server.seen if s.path == "/api/v1/commands"]

    idle_rate = idle["agent_cpu"] / idle["elapsed"]
    launcher_idle_rate = idle["launcher_cpu"] / idle["elapsed"]
    n_beats, n_shots = len(beats["heartbeats"]), len(shots["screenshots"])
    cpu_beat = max(0.0, beats["agent_cpu"] - idle_rate * beats["elapsed"]) / n_beats
    cpu_shot = max(0.0, shots["agent_cpu"] - idle_rate * shots["elapsed"]) / n_shots
    launcher_shot = max(0.0, shots["launcher_cpu"] - launcher_idle_rate * shots["elapsed"]) / n_shots
    agent_day = idle_rate * DAY + HEARTBEATS_PER_DAY * cpu_beat + SCREENSHOTS_PER_DAY * cpu_shot

    beat_bytes = statistics.mean(s.bytes_in for s in beats["heartbeats"])
    beat_reply = statistics.mean(s.bytes_out for s in beats["heartbeats"])
    shot_bytes = statistics.mean(s.bytes_in for s in shots["screenshots"])
    checks = [s for s in startup if s.path in ("/api/v1/catalog", "/api/v1/progress")]
    check_bytes = sum(s.bytes_in for s in checks)
    poll_bytes = statistics.mean(s.bytes_in for s in polls) if polls else 0.0
    poll_reply = statistics.mean(s.bytes_out for s in polls) if polls else 0.0
    sent_day = (HEARTBEATS_PER_DAY * beat_bytes + SCREENSHOTS_PER_DAY * shot_bytes + CHECKS_PER_DAY * check_bytes
                + POLLS_PER_DAY * poll_bytes)
    received_day = HEARTBEATS_PER_DAY * beat_reply + POLLS_PER_DAY * poll_reply

    print(f"command: {command}")
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}; launcher window {size[0]}x{size[1]}")
    print(f"phases: {args.seconds:g} s measured each; {n_beats} heartbeats, {n_shots} screenshots")
    print("CPU (this machine)")
    print(f"  agent idle baseline       {idle_rate * 1e6:8.1f} µs CPU per second")
    print(f"  per heartbeat             {cpu_beat * 1000:8.2f} ms CPU (probes, status call, spool, HTTP)")
    print(f"  per screenshot, agent     {cpu_shot * 1000:8.2f} ms CPU (spool + upload)")
    print(f"  per screenshot, launcher  {launcher_shot * 1000:8.2f} ms CPU (copy + scale + JPEG encode)")
    print(f"  agent per day at defaults {agent_day:8.1f} s CPU = {100 * agent_day / DAY:.3f} % of one core")
    print("bytes sent (HTTP requests, defaults)")
    print(f"  per heartbeat             {beat_bytes:8.0f} B   (reply {beat_reply:.0f} B)")
    print(f"  per screenshot            {shot_bytes:8.0f} B   (960 px JPEG, quality 75)")
    print(f"  per catalog+progress check{check_bytes:8.0f} B")
    print(f"  per command poll          {poll_bytes:8.0f} B   (reply {poll_reply:.0f} B; {len(polls)} polls seen)")
    print(f"  per day: {HEARTBEATS_PER_DAY} x heartbeat + {SCREENSHOTS_PER_DAY} x screenshot + "
          f"{CHECKS_PER_DAY} x checks + {POLLS_PER_DAY} x poll = {sent_day / 1e6:.2f} MB sent, "
          f"{received_day / 1e6:.2f} MB in replies")
    return 0


if __name__ == "__main__":
    sys.exit(main())
