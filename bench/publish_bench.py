"""Publish benchmark: encode speed against real time, output per hour per rung, upload throughput and
the cost of resuming.

    .venv/bin/python bench/publish_bench.py [--seconds 20] [--preset veryfast] [--upload-mb 200]

1. ffmpeg writes a ``--seconds`` long 1920x1080 25 fps source (``testsrc2`` with film grain added by
   ``noise``, so x264 cannot cheat on a flat picture, and a 5.1 tone) into a temporary folder;
2. every rung of the ladder is encoded with ``encode_rung`` exactly as ``piclient publish`` does
   (wall time and ffmpeg's CPU time per rung; speed is film seconds per second, so 2.0x means an hour
   of film takes half an hour for that rung; "per core" divides by CPU time, the figure that holds on
   a loaded machine); the output size per hour of film is the rung's segments, scaled;
3. a server (``piclient server``, SQLite, ``--no-worker``) runs on 127.0.0.1 with a maintainer token;
   tuspy uploads an ``--upload-mb`` file in 8 MB chunks (throughput over loopback: the server's own
   cost, not a network's), then the same file again, stopped at half, and resumed by a new uploader
   (resume cost: the time from the new uploader's creation, i.e. its HEAD, to its first chunk sent).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from piclient.publish.ladder import choose_rungs
from piclient.publish.probe import probe
from piclient.publish.transcode import encode_rung, segments


def make_source(path: Path, seconds: float) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=25:duration={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency=300:sample_rate=48000:duration={seconds}",
                    "-filter_complex", "[0:v]noise=alls=12:allf=t[v];[1:a]aformat=channel_layouts=5.1[a]",
                    "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "veryfast", "-crf", "16",
                    "-c:a", "aac", "-b:a", "384k", str(path)], check=True)


def bench_encode(work: Path, seconds: float, preset: str) -> None:
    source_path = work / "source.mkv"
    make_source(source_path, seconds)
    source = probe(source_path)
    print(f"source: {source.width}x{source.height} {source.fps:g} fps, {source.duration:.1f} s, preset {preset}")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'rung':6} {'wall s':>7} {'x real time':>11} {'CPU s':>7} {'x per core':>10} {'MB per hour':>12} "
          f"{'avg kbit/s':>10} {'peak kbit/s':>11}")
    total = cpu_total = 0.0
    for rung in choose_rungs(source):
        started, cpu_before = time.monotonic(), _children_cpu()
        encoded = encode_rung(source, rung, work / "out", preset=preset)
        wall, cpu = time.monotonic() - started, _children_cpu() - cpu_before
        total += wall
        cpu_total += cpu
        size = sum(p.stat().st_size for _, p in segments(encoded.folder / "index.m3u8"))
        print(f"{rung.name:6} {wall:7.1f} {source.duration / wall:10.2f}x {cpu:7.1f} {source.duration / cpu:9.2f}x "
              f"{size / source.duration * 3600 / 1e6:12.0f} {encoded.average_bps / 1000:10.0f} "
              f"{encoded.peak_bps / 1000:11.0f}")
    print(f"all rungs: {total:.1f} s wall ({source.duration / total:.2f}x real time), {cpu_total:.1f} CPU s "
          f"({source.duration / cpu_total:.2f}x real time per core); load average after: {os.getloadavg()[0]:.1f}")


def _children_cpu() -> float:
    # ffmpeg's user+system time: on a shared machine it moves far less with the load than wall time.
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_upload(work: Path, megabytes: int) -> None:
    from tusclient import client as tus

    from piclient.server.maintainers import add_token
    from tests.server.helpers import running_server

    blob = work / "upload.bin"
    with blob.open("wb") as out:
        for _ in range(megabytes):
            out.write(os.urandom(1024 * 1024))
    library = work / "library"
    library.mkdir()
    with running_server(work, None, "--library", str(library), "--no-worker") as server:
        headers = {"Authorization": f"Bearer {server.db.write_sync(add_token, 'bench')}"}
        client = tus.TusClient(f"{server.url}/api/v1/uploads/", headers=headers)
        started = time.monotonic()
        client.uploader(str(blob), chunk_size=8 * 1024 * 1024, metadata={"filename": "a.bin"}).upload()
        wall = time.monotonic() - started
        print(f"upload: {megabytes} MB in {wall:.2f} s = {megabytes / wall:.0f} MB/s over loopback")
        half = client.uploader(str(blob), chunk_size=8 * 1024 * 1024, metadata={"filename": "b.bin"})
        half.upload(stop_at=megabytes * 1024 * 1024 // 2)
        started = time.monotonic()
        resumed = client.uploader(str(blob), chunk_size=8 * 1024 * 1024, url=half.url)
        ready = time.monotonic() - started
        resumed.upload_chunk()
        first_chunk = time.monotonic() - started
        resumed.upload()
        print(f"resume: offset asked and known in {ready * 1000:.0f} ms; first 8 MB chunk after the cut sent "
              f"{first_chunk * 1000:.0f} ms after the new uploader was made; bytes sent twice: 0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--upload-mb", type=int, default=200)
    parser.add_argument("--skip-encode", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="publish-bench-") as tmp:
        work = Path(tmp)
        if not args.skip_encode:
            bench_encode(work, args.seconds, args.preset)
        bench_upload(work, args.upload_mb)


if __name__ == "__main__":
    main()
