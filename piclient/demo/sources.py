"""The demo's source files, as a maintainer would have them before publishing: a film file, its
subtitle files and a poster picture. ``piclient.demo.library`` packages them with the publish pipeline,
and so does ``piclient.demo.clips`` for the tests' and benchmarks' short clips.

A film is a flat colour (or ffmpeg's moving ``testsrc2`` pattern) with its title and a running clock
drawn on it and a quiet tone, made by ffmpeg in one fast pass (it is only a source: the pipeline
encodes the rungs). Subtitles come as the
two kinds a maintainer meets most: a UTF-8 SRT per language, and one SAMI holding both languages in
CP949, the way Korean subtitle sites still hand them out.
"""

from __future__ import annotations

import html
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from piclient.demo.posters import draw_poster, save_jpeg

Cue = tuple[float, float, str]  # start seconds, end seconds, text

SIZE = (640, 360)  # one 360p rung: the cheapest ladder the pipeline makes
FPS = 25
FONT_FILE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")
_LABEL_FILE = ".label.txt"
# The sound of a film by its file's suffix: AAC in an MP4, as a maintainer's films come; PCM in an MKV,
# whose clean tone the pipeline encodes several times faster than the artefacts of an AAC one.
SOUND = {".mp4": ["-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart"], ".mkv": ["-c:a", "pcm_s16le"]}


class SourceError(RuntimeError):
    """ffmpeg could not make a demo film."""


def make_film(path: Path, *, seconds: float, label: str, color: str | None,
              size: tuple[int, int] = SIZE, tone: bool = True, fps: int = FPS) -> Path:
    """Write an H.264 film of ``seconds`` with a tone, as ``path``'s suffix says (``SOUND``), through a
    hidden temporary name, so a half-made film is never taken for a whole one.

    ``color`` is any ffmpeg colour (``"navy"``, ``"0x305080"``); ``None`` gives the moving test pattern,
    whose detail costs real bits in every rung, for tests and benchmarks of bit rates. Without ``tone``
    the sound track is silent, which costs the pipeline's AAC encoder a fifth of a tone's time. Fewer
    frames a second (``fps``) cost a player that draws in software less.
    """
    if not seconds > 0:
        raise SourceError(f"a film must last longer than 0 s, not {seconds}")
    if path.suffix not in SOUND:
        raise SourceError(f"a film is made as {' or '.join(SOUND)}, not {path.name}")
    width, height = size
    frames = f"size={width}x{height}:rate={fps}:duration={seconds}"
    partial = path.with_name(f".{path.name}.partial{path.suffix}")
    label_file = path.with_name(f".{path.stem}{_LABEL_FILE}")
    # The label goes through a file, so no text needs escaping for the filtergraph.
    label_file.write_text(label, encoding="utf-8")
    args = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"color=c={color}:{frames}" if color else f"testsrc2={frames}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}" if tone
            else f"aevalsrc=0:s=48000:d={seconds}",
            "-vf", label_and_clock(label_file.name, height, label_size(label, width, height)),
            "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p",
            *SOUND[path.suffix], "-ac", "2", partial.name]
    try:
        done = subprocess.run(args, cwd=path.parent, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            raise SourceError(f"ffmpeg exited with {done.returncode}: {done.stderr.strip()[-2000:]}")
        os.replace(partial, path)
    finally:
        label_file.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)
    return path


def write_srt(path: Path, cues: Sequence[Cue]) -> Path:
    blocks = [f"{n}\n{_srt_time(start)} --> {_srt_time(end)}\n{text}\n"
              for n, (start, end, text) in enumerate(sorted(cues), start=1)]
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def _srt_time(seconds: float) -> str:
    millis = round(max(0.0, seconds) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d},{rest % 1000:03d}"


SAMI_CLASSES = {"ko": ("KRCC", "한국어", "ko-KR"), "en": ("ENCC", "English", "en-US")}


def write_sami(path: Path, tracks: Mapping[str, Sequence[Cue]], encoding: str = "cp949") -> Path:
    """One SAMI file with a class per language; each line is cleared with ``&nbsp;`` at its end."""
    styles = "".join(f".{c} {{ Name: {name}; lang: {lang}; }}\n"
                     for c, name, lang in (SAMI_CLASSES[language] for language in tracks))
    syncs = []
    for language, cues in tracks.items():
        cls = SAMI_CLASSES[language][0]
        for start, end, text in cues:
            syncs.append((round(start * 1000), f"<P Class={cls}>{html.escape(text, quote=False)}"))
            syncs.append((round(end * 1000), f"<P Class={cls}>&nbsp;"))
    body = "".join(f"<SYNC Start={ms}>{line}\n" for ms, line in sorted(syncs, key=lambda s: s[0]))
    text = (f"<SAMI>\n<HEAD>\n<STYLE TYPE=\"text/css\">\n<!--\nP {{ font-family: 굴림; }}\n{styles}-->\n"
            f"</STYLE>\n</HEAD>\n<BODY>\n{body}</BODY>\n</SAMI>\n")
    path.write_bytes(text.encode(encoding))
    return path


def label_size(label: str, width: int, height: int) -> int:
    """A font size at which the longest label line fits the frame (Hangul is about twice as wide)."""
    ems = max((sum(1.0 if ord(c) >= 0x1100 else 0.6 for c in line) for line in label.splitlines()),
              default=1.0)
    return max(8, min(height // 9, int(width * 0.9 / max(ems, 1.0))))


def label_and_clock(label_file: str, height: int, font_size: int) -> str:
    """The drawtext filters that put the label (read from ``label_file``) and a running clock on a frame."""
    font = f"fontfile={FONT_FILE}:" if FONT_FILE.exists() else ""
    style = "fontcolor=white:box=1:boxcolor=black@0.55:x=(w-tw)/2"
    title = (f"drawtext={font}textfile={label_file}:expansion=none:fontsize={font_size}:"
             f"line_spacing={font_size // 4}:{style}:boxborderw={height // 36}:y=h/8")
    # The clock sits mid-frame, clear of the bottom where players draw subtitles.
    clock = (f"drawtext={font}text='%{{pts\\:hms}}':fontsize={height // 11}:"
             f"{style}:boxborderw={height // 40}:y=h*11/20")
    return f"{title},{clock}"


def make_poster(path: Path, title: str, subtitle: str, seed: int) -> Path:
    if not path.exists():
        save_jpeg(draw_poster(title, subtitle, seed=seed), path)
    return path
