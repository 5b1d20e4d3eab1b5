"""Hand-over memory benchmark: resident memory per film of mpv alone, SDL alone and both taking turns.

    tests/hw/run_vm.py --script bench/handover_memory_bench.py [-- --rounds 10]   # in the hardware-test VM

The launcher's RSS grows over films played with the hand-over output (docs/benchmarks.md). This
bench takes piclient out of the picture to tell whose growth it is. In the hardware-test VM (KMS on
virtio-gpu, Mesa llvmpipe; tests/hw/run_vm.py), each in a fresh process, ``--rounds`` times:

* ``sdl``: pygame's display opened full screen on KMSDRM, one frame drawn and shown, closed again,
  as the launcher does around every film;
* ``mpv``: one python-mpv player (``vo=gpu``, ``gpu-context=drm``, software decoding, no sound),
  reused for every round as the launcher reuses its own, plays the short test film to its end and
  closes its video output (DRM master) as it does between films;
* ``both``: the two taking turns, as in the launcher, with no piclient code;
* ``both-arena2``: ``both`` with glibc's malloc limited to two arenas (``MALLOC_ARENA_MAX=2``):
  memory freed in a thread's arena is seldom given back, and every film's threads may use new ones.

After each round: VmRSS and the resident kB per kind of mapping (/proc/self/smaps: heap, anonymous,
LLVM, Mesa's gallium driver, ...). Written to ``handover-memory.json`` in the results folder and
printed as a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(os.environ.get("PICLIENT_HW_RESULTS", "/hw-results"))

CHILD = textwrap.dedent("""
    import json, os, sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from tests.hw.memory import rss_by_mapping, rss_kb

    mode, rounds, url = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    player = None

    def sdl_round():
        import pygame
        pygame.display.init()
        surface = pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
        surface.fill((30, 40, 60))
        pygame.display.flip()
        pygame.display.quit()

    def mpv_round():
        global player
        import mpv
        if player is None:
            player = mpv.MPV(vo="gpu", gpu_context="drm", hwdec="no", ao="null", idle="yes", osc="no",
                             input_default_bindings="no", load_scripts="no", ytdl="no")
        player.loadfile(url)
        player.wait_until_playing(timeout=120)
        player.wait_for_playback(timeout=300)
        # Its video output closes (and lets go of DRM master) a moment after the film ends.
        player.wait_for_property("current-vo", lambda value: not value, timeout=30)

    steps = {"sdl": [sdl_round], "mpv": [mpv_round], "both": [sdl_round, mpv_round]}[mode.split("-")[0]]
    rows = [{"rss": rss_kb(os.getpid()), "mappings": rss_by_mapping(os.getpid())}]
    for _ in range(rounds):
        started = time.monotonic()
        for step in steps:
            step()
        rows.append({"rss": rss_kb(os.getpid()), "mappings": rss_by_mapping(os.getpid()),
                     "seconds": round(time.monotonic() - started, 1)})
        print(mode, rows[-1]["rss"], rows[-1]["seconds"], flush=True)
    print("RESULT " + json.dumps(rows), flush=True)
    os._exit(0)  # python-mpv's terminate() can hang on a closed DRM output; the numbers are out
""")

MODES = ("sdl", "mpv", "both", "both-arena2")


def run_mode(mode: str, rounds: int, url: str) -> list[dict]:
    env = {**os.environ, "SDL_VIDEODRIVER": "kmsdrm", "SDL_AUDIODRIVER": "dummy"}
    if mode.endswith("-arena2"):
        env["MALLOC_ARENA_MAX"] = "2"
    done = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), mode, str(rounds), url], env=env,
                          capture_output=True, text=True, timeout=60 * rounds + 120)
    sys.stderr.write(done.stderr[-2000:])
    found = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not found:
        raise RuntimeError(f"{mode}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return json.loads(found[-1][len("RESULT "):])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of {', '.join(MODES)}")
    args = parser.parse_args()
    if not Path("/dev/dri/card0").exists():
        print("this bench needs a KMS device: run it in the hardware-test VM (tests/hw/run_vm.py --script)",
              file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    from piclient.demo.server import StaticServer
    from tests.hw.library import SHORT

    results: dict[str, list[dict]] = {}
    with StaticServer(RESULTS / "library") as server:
        url = f"{server.url}films/{SHORT}/master.m3u8"
        for mode in args.modes.split(","):
            results[mode] = run_mode(mode, args.rounds, url)
    (RESULTS / "handover-memory.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(f"\nVmRSS in MB before and after each of {args.rounds} rounds")
    for mode, rows in results.items():
        print(f"{mode:12} " + " ".join(f"{row['rss'] / 1024:.0f}" for row in rows))
    print("\ngrowth per kind of mapping, first to last round, MB")
    for mode, rows in results.items():
        first, last = rows[0]["mappings"], rows[-1]["mappings"]
        grown = {kind: (last.get(kind, 0) - first.get(kind, 0)) / 1024 for kind in set(first) | set(last)}
        print(f"{mode:12} " + ", ".join(f"{kind} {mb:+.0f}" for kind, mb in sorted(grown.items(), key=lambda kv: -kv[1])
                                       if abs(mb) >= 1))
    cache = Path.home() / ".cache" / "mesa_shader_cache"
    cached = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file()) if cache.exists() else 0
    print(f"\nMesa's shader cache ({cache}): {cached / 1024:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
