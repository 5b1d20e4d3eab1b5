"""Player benchmark: time from OK to the first video frame against bare libmpv, and the cost of a screenshot.

    .venv/bin/python bench/player_bench.py [--runs 7] [--shots 20] [--seconds 20]

What it does, all on 127.0.0.1 and bounded in runs and time:
1. publishes a clip into a temporary library with the publish pipeline (``piclient.demo.clips``: moving
   test pattern, one 640x360 H.264 rung with AAC sound) and serves it with the demo ``StaticServer``.
   One rung because both players take a master's highest rung; 360p is the size earlier figures had;
2. first frame, ``--runs`` times each after one discarded warm-up, alternating the order of the players so
   that drift in the machine's load falls on both alike:
   * piclient: the launcher's player, ``MpvPlayer(output="embedded", audio_output="null", hwdec="no")``,
     one instance reused for every run as the launcher does. Timed from just before ``load()`` (the moment
     OK is handled) to the first ``poll_frame((1280, 720))`` that returns True, i.e. the first frame
     rendered into the launcher's surface;
   * bare: libmpv through python-mpv with no piclient code: ``vo=libmpv, ao=null, hwdec=no``, everything
     else mpv's defaults, a software render context, one instance reused. Timed from ``loadfile`` to the
     first ``update()`` that reports a new frame, once that frame is rendered (1280x720, bgr0) into a buffer.
     The mpv command-line player is not installed on the benchmark machine, so "bare mpv" is libmpv itself;
   * diagnostic: the same bare libmpv with ``start=0.000`` on ``loadfile``, the one option that piclient's
     ``load()`` always passes; it shows how much of the gap that option explains.
   All are polled every 1 ms. Between runs the player is stopped, waited for until idle, and its render
   context drained, so no stale update can count as a first frame;
3. screenshot cost while the ladder plays in the embedded player, at 1280x720 and 1920x1080: the main
   loop keeps rendering frames into the display surface at 60 Hz; ``surface.copy()`` is timed on the main
   loop (the only part that stalls a frame, as in the launcher), then ``pygame.image.tobytes`` and the
   encodes (``encode_image``: JPEG scaled to 960 px wide at quality 75, as the agent asks, and a full-size
   PNG, as the control CLI asks) on a worker thread while the loop goes on, as the control server does.
   Each is reported as wall time and as the
   CPU time of the thread that did it; on a shared machine the CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import queue
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# No window: the launcher's surface lives in memory. Both must be set before pygame is imported.
os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"

import pygame  # noqa: E402

T = TypeVar("T")
FRAME_SIZE = (1280, 720)
POLL_S = 0.001
FIRST_FRAME_TIMEOUT_S = 15.0
IDLE_TIMEOUT_S = 5.0
SHOT_SIZES = ((1280, 720), (1920, 1080))
JPEG_REQUEST = {"format": "jpeg", "max_width": 960, "quality": 75}  # what the agent sends (agent/tvlink.py)
PNG_REQUEST = {"format": "png"}  # what `piclient ctl screenshot shot.png` sends


class BenchError(RuntimeError):
    pass


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out waiting for {what}")
        time.sleep(POLL_S)


class PiclientRunner:
    """The launcher's player path: one long-lived MpvPlayer rendering into a pygame surface."""

    name = "piclient"

    def __init__(self, url: str) -> None:
        from piclient.player._mpv import MpvPlayer
        from piclient.player.api import Media

        self.media = Media(url, "bench")
        self.player = MpvPlayer(output="embedded", audio_output="null", hwdec="no")

    def first_frame(self) -> tuple[float, bool]:
        started = time.perf_counter()
        self.player.load(self.media)
        deadline = time.monotonic() + FIRST_FRAME_TIMEOUT_S
        while not self.player.poll_frame(FRAME_SIZE):
            if time.monotonic() > deadline:
                raise BenchError("piclient: no first frame")
            time.sleep(POLL_S)
        elapsed = time.perf_counter() - started
        return elapsed, _has_picture(pygame.image.tobytes(self.player._frame, "RGB"))

    def reset(self) -> None:
        self.player.stop()
        _wait(lambda: self.player.snapshot().idle, IDLE_TIMEOUT_S, "piclient idle")
        _drain(lambda: self.player.poll_frame(FRAME_SIZE))

    def close(self) -> None:
        self.player.close()


class _SwSize(ctypes.Structure):
    _fields_ = (("w", ctypes.c_int), ("h", ctypes.c_int))


class _SwStride(ctypes.Structure):
    _fields_ = (("v", ctypes.c_size_t),)


class BareRunner:
    """libmpv through python-mpv, no piclient code: mpv's defaults and a software render context."""

    def __init__(self, url: str, start: str | None = None) -> None:
        import mpv

        # python-mpv knows only the OpenGL render parameters; these are MPV_RENDER_PARAM_SW_* (render.h).
        mpv.MpvRenderParam.TYPES.update({"sw_size": (17, _SwSize), "sw_format": (18, str),
                                         "sw_stride": (19, _SwStride), "sw_pointer": (20, ctypes.c_void_p)})
        self.url = url
        self.start = start
        self.name = "bare" if start is None else f"bare, start={start}"
        self.mpv = mpv.MPV(vo="libmpv", ao="null", hwdec="no")
        self.ctx = mpv.MpvRenderContext(self.mpv, "sw")
        self.buffer = (ctypes.c_char * (FRAME_SIZE[0] * FRAME_SIZE[1] * 4))()

    def _render(self) -> bool:
        if not self.ctx.update():
            return False
        self.ctx.render(sw_size={"w": FRAME_SIZE[0], "h": FRAME_SIZE[1]}, sw_format="bgr0",
                        sw_stride={"v": FRAME_SIZE[0] * 4}, sw_pointer=ctypes.addressof(self.buffer))
        return True

    def first_frame(self) -> tuple[float, bool]:
        started = time.perf_counter()
        if self.start is None:
            self.mpv.loadfile(self.url)
        else:
            self.mpv.loadfile(self.url, start=self.start)
        deadline = time.monotonic() + FIRST_FRAME_TIMEOUT_S
        while not self._render():
            if time.monotonic() > deadline:
                raise BenchError("bare: no first frame")
            time.sleep(POLL_S)
        elapsed = time.perf_counter() - started
        return elapsed, _has_picture(self.buffer.raw)

    def reset(self) -> None:
        self.mpv.stop()
        _wait(lambda: bool(self.mpv.idle_active), IDLE_TIMEOUT_S, "bare idle")
        _drain(self._render)

    def close(self) -> None:
        self.ctx.free()
        self.mpv.terminate()


def _drain(render: Callable[[], bool], quiet_s: float = 0.1) -> None:
    """Consume pending render updates until none has come for ``quiet_s`` (the launcher's loop would have)."""
    deadline = time.monotonic() + IDLE_TIMEOUT_S
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < quiet_s and time.monotonic() < deadline:
        if render():
            quiet_since = time.monotonic()
        time.sleep(POLL_S)


def _has_picture(pixels: bytes) -> bool:
    """True unless the frame is all black (a placeholder rather than a decoded picture)."""
    return bool(pixels.strip(b"\0"))


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (never beyond the slowest run)."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def first_frames(url: str, runs: int) -> dict[str, list[float]]:
    # The third player is a diagnostic: bare libmpv plus the one loadfile option piclient's load() always
    # passes (start=0.000, which makes mpv seek before its first frame even at the start of a film).
    runners: list[PiclientRunner | BareRunner] = [PiclientRunner(url), BareRunner(url), BareRunner(url, start="0.000")]
    times: dict[str, list[float]] = {r.name: [] for r in runners}
    try:
        for i in range(runs + 1):  # run 0 warms the page cache, the server and every player; not counted
            order = runners if i % 2 == 0 else runners[::-1]
            for runner in order:
                elapsed, picture = runner.first_frame()
                runner.reset()
                if not picture:
                    raise BenchError(f"{runner.name}: the first frame was black")
                if i > 0:
                    times[runner.name].append(elapsed)
                print(f"  run {i}{' (warm-up)' if i == 0 else ''} {runner.name}: {elapsed * 1000:.0f} ms",
                      file=sys.stderr)
                time.sleep(0.2)
    finally:
        for runner in runners:
            runner.close()
    return times


def _timed(work: Callable[..., T], *args: Any) -> tuple[T, tuple[float, float]]:
    """``work(*args)``'s result and (wall seconds, this thread's CPU seconds): CPU time is what the work
    costs, wall time adds what the other threads and processes on the machine took from it meanwhile."""
    wall, cpu = time.perf_counter(), time.thread_time()
    result = work(*args)
    return result, (time.perf_counter() - wall, time.thread_time() - cpu)


def screenshots(url: str, shots: int) -> dict[tuple[int, int], dict[str, list[tuple[float, float]]]]:
    from piclient.control.server import encode_image
    from piclient.player._mpv import MpvPlayer
    from piclient.player.api import Media

    results: dict[tuple[int, int], dict[str, list[tuple[float, float]]]] = {}
    player = MpvPlayer(output="embedded", audio_output="null", hwdec="no")
    jobs: queue.Queue[bytes | None] = queue.Queue()
    done: queue.Queue[dict[str, tuple[float, float]]] = queue.Queue()
    size_box: list[tuple[int, int]] = [FRAME_SIZE]

    def encoder() -> None:  # the control server's connection thread
        while (pixels := jobs.get()) is not None:
            image = (pixels, size_box[0])
            done.put({"jpeg": _timed(encode_image, image, JPEG_REQUEST)[1],
                      "png": _timed(encode_image, image, PNG_REQUEST)[1]})

    worker = threading.Thread(target=encoder, name="encoder", daemon=True)
    worker.start()
    try:
        for size in SHOT_SIZES:
            size_box[0] = size
            surface = pygame.display.set_mode(size)
            player.load(Media(url, "bench"))
            drawn = 0
            timing: dict[str, list[tuple[float, float]]] = {"copy": [], "jpeg": [], "png": []}
            deadline = time.monotonic() + 120
            next_shot = time.monotonic() + 1.0  # let playback settle first
            pending = False
            while len(timing["png"]) < shots:
                if time.monotonic() > deadline:
                    raise BenchError("screenshots took too long")
                if player.snapshot().idle:  # the ladder ended: play it again
                    player.load(Media(url, "bench"))
                if player.poll_frame(size):
                    player.draw_frame(surface)
                    pygame.display.flip()
                    drawn += 1
                if not pending and drawn and time.monotonic() >= next_shot:
                    frame, spent = _timed(surface.copy)
                    timing["copy"].append(spent)
                    pixels = pygame.image.tobytes(frame, "RGB")  # on the socket's thread in the launcher
                    if not _has_picture(pixels):
                        raise BenchError("screenshot of a black screen")
                    jobs.put(pixels)
                    pending = True
                try:
                    encoded = done.get_nowait()
                except queue.Empty:
                    pass
                else:
                    for key, spent in encoded.items():
                        timing[key].append(spent)
                    pending = False
                    next_shot = time.monotonic() + 0.1
                time.sleep(1 / 60)
            player.stop()
            _wait(lambda: player.snapshot().idle, IDLE_TIMEOUT_S, "player idle")
            results[size] = timing
    finally:
        jobs.put(None)
        worker.join(5)
        player.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="first-frame runs per player (default 7)")
    parser.add_argument("--shots", type=int, default=20, help="screenshots per size (default 20)")
    parser.add_argument("--seconds", type=float, default=20, help="length of the test ladder (default 20)")
    args = parser.parse_args()
    if not 1 <= args.runs <= 50 or not 1 <= args.shots <= 200:
        parser.error("--runs must be 1..50 and --shots 1..200")
    from piclient.demo.clips import publish_clip
    from piclient.demo.server import StaticServer
    from piclient.publish.pipeline import MASTER

    pygame.display.init()
    pygame.display.set_mode(FRAME_SIZE)
    sys.setswitchinterval(0.001)  # as the launcher's App.run does
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        title = publish_clip(Path(tmp), seconds=args.seconds, label="player bench", title_en="player bench")
        with StaticServer(title.folder) as server:
            url = server.url + MASTER
            times = first_frames(url, args.runs)
            shots = screenshots(url, args.shots)
    pygame.display.quit()

    pic, bare, bare_start = times["piclient"], times["bare"], times["bare, start=0.000"]
    ratio = statistics.median(pic) / statistics.median(bare)
    print(f"command: .venv/bin/python bench/player_bench.py --runs {args.runs} --shots {args.shots} "
          f"--seconds {args.seconds:g}")
    print(f"ladder: {args.seconds:g} s, published as one 640x360 H.264 rung, served on 127.0.0.1; "
          f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; "
          f"{time.monotonic() - started:.0f} s in all")
    print()
    print(f"first video frame at 1280x720 ({args.runs} runs each)   median    p90     min     max")
    rows = (("piclient (MpvPlayer, from OK)", pic), ("bare libmpv (python-mpv)", bare),
            ("bare libmpv + start=0.000 (diagnostic)", bare_start))
    for name, values in rows:
        print(f"  {name:<44}{statistics.median(values) * 1000:5.0f} ms {quantile(values, 0.9) * 1000:4.0f} ms "
              f"{min(values) * 1000:4.0f} ms {max(values) * 1000:4.0f} ms")
    print(f"  ratio piclient/bare (medians): {ratio:.2f}x (target <= 1.15x: {'met' if ratio <= 1.15 else 'NOT met'})")
    print(f"  ratio piclient/(bare + start=0.000): {statistics.median(pic) / statistics.median(bare_start):.2f}x")
    print()
    print(f"screenshot during playback ({args.shots} each, medians, wall / thread CPU)")
    print(f"  {'size':<12}{'copy (main loop)':>22}{'JPEG 960 q75':>22}{'PNG full size':>22}")
    for size, timing in shots.items():
        cells = []
        for key in ("copy", "jpeg", "png"):
            wall = statistics.median(w for w, _ in timing[key]) * 1000
            cpu = statistics.median(c for _, c in timing[key]) * 1000
            cells.append(f"{wall:.1f} / {cpu:.1f} ms")
        print(f"  {f'{size[0]}x{size[1]}':<12}{cells[0]:>22}{cells[1]:>22}{cells[2]:>22}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
