"""``piclient publish``: the arguments, a progress bar with the time left, and the result in words."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from piclient.publish.errors import PublishError

STAGE_NAMES = {"probe": "reading the film", "encode": "encoding", "subtitles": "subtitles",
               "artwork": "poster and thumbnails", "verify": "playing it back", "catalog": "adding to the catalog",
               "upload": "uploading", "server": "packaging on the server"}
BAR_WIDTH = 30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("film", type=Path, help="the film or episode file (any format ffmpeg reads)")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--library", type=Path, help="package here, into this library folder")
    where.add_argument("--server", help="upload to this piclient server, which packages it (needs --token)")
    parser.add_argument("--token", help="a maintainer token (piclient server add-maintainer-token); "
                        "or the PICLIENT_TOKEN environment variable")
    parser.add_argument("--subs", type=Path, action="append", default=[], metavar="FILE",
                        help="a subtitle file: SRT, SAMI, WebVTT or ASS (may be given several times)")
    parser.add_argument("--title-ko", default="")
    parser.add_argument("--title-en", default="")
    parser.add_argument("--year", type=int)
    parser.add_argument("--poster", type=Path, help="a poster picture (else a frame from the film)")
    parser.add_argument("--series", default="", help="the series this episode belongs to")
    parser.add_argument("--season", type=int, default=1)
    parser.add_argument("--episode", type=int)
    parser.add_argument("--subtitle-offset", type=float, default=0.0, metavar="SECONDS",
                        help="shift every subtitle line (positive: later)")
    parser.add_argument("--preset", default=None, help="x264 speed preset (default veryfast; see docs/publish.md)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


class ProgressBar:
    """One line, redrawn: ``[#####-----]  45 %  encoding  ·  12 min left``. Not a terminal: a line per
    tenth and per stage, so a log stays short."""

    def __init__(self, out: TextIO = sys.stderr, clock: Callable[[], float] = time.monotonic) -> None:
        self.out = out
        self.clock = clock
        self.started = clock()
        self.tty = out.isatty()
        self._last: tuple[str, int] = ("", -1)

    def __call__(self, stage: str, fraction: float) -> None:
        percent = int(fraction * 100)
        step = percent if self.tty else percent // 10
        if (stage, step) == self._last:
            return
        self._last = (stage, step)
        filled = int(fraction * BAR_WIDTH)
        line = (f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {percent:3d} %  "
                f"{STAGE_NAMES.get(stage, stage)}{self.time_left(fraction)}")
        self.out.write(f"\r{line:<78}" if self.tty else line + "\n")
        self.out.flush()

    def time_left(self, fraction: float) -> str:
        elapsed = self.clock() - self.started
        if fraction < 0.02 or elapsed < 2:
            return ""  # too early to tell
        return f"  ·  {format_duration(elapsed / fraction * (1 - fraction))} left"

    def finish(self) -> None:
        if self.tty:
            self.out.write("\n")
            self.out.flush()


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # so ffmpeg is ended and the finished rungs are kept, as with Ctrl-C


def run(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    bar: Callable[[str, float], None] = (lambda s, f: None) if args.quiet else ProgressBar()
    try:
        if args.server:
            from piclient.publish.remote import upload_and_wait

            return upload_and_wait(args, bar)
        from piclient.publish.pipeline import Request, publish

        request = Request(film=args.film, library=args.library, subtitles=tuple(args.subs), title_ko=args.title_ko,
                          title_en=args.title_en, year=args.year, poster=args.poster, series=args.series,
                          season=args.season, episode=args.episode, subtitle_offset=args.subtitle_offset,
                          **({"preset": args.preset} if args.preset else {}))
        result = publish(request, bar)
    except PublishError as exc:
        _finish(bar)
        print(f"not published: {exc}", file=sys.stderr)
        if exc.detail:
            print(f"  detail: {exc.detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        _finish(bar)
        print("stopped; run the same command again to go on "
              + ("(the upload resumes where it stopped)" if args.server else "(finished rungs are kept)"),
              file=sys.stderr)
        return 130
    _finish(bar)
    print(f"published {result.playable_id}: {', '.join(result.rungs)}"
          + (f"; subtitles {', '.join(result.subtitles)}" if result.subtitles else "")
          + f"; {format_duration(result.duration)}")
    for warning in result.warnings:
        print(f"  warning: {warning}")
    return 0


def _finish(bar: object) -> None:
    if isinstance(bar, ProgressBar):
        bar.finish()
