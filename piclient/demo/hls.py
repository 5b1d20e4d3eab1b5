"""Generate test-pattern HLS ladders with WebVTT subtitles, for tests and benchmarks.

The demo library is not made here: it is packaged from source films by the publish pipeline
(``piclient.demo.library``). What the two share is the picture: a label and a running clock.

ffmpeg encodes the video variants in one run and writes their media playlists; the master and the
subtitle playlists are written here in Python, so their shape is simple and predictable. Every ladder
is checked after it is written: segment counts against the duration, and ``ffprobe`` on the master.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

Cue = tuple[float, float, str]  # start seconds, end seconds, text
Variant = tuple[int, int, int]  # width, height, video bits per second

DEFAULT_VARIANTS: tuple[Variant, ...] = ((640, 360, 800_000), (320, 180, 250_000))
LANGUAGE_NAMES = {"ko": "한국어", "en": "English"}
FONT_FILE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")
# Constrained Baseline H.264 (avc1.42c0xx, xx = level) and AAC-LC (mp4a.40.2): what libx264 with
# `-profile:v baseline` and ffmpeg's aac encoder produce, and what every player can decode.
AUDIO_CODEC = "mp4a.40.2"
SUBTITLE_GROUP = "subs"
AUDIO_BITRATE = 64_000
FPS = 25
_LABEL_FILE = ".label.txt"


class HlsError(RuntimeError):
    """ffmpeg failed, or the ladder it wrote is not what was asked for."""


def make_hls(
    dest: Path,
    *,
    seconds: float,
    label: str,
    variants: Sequence[Variant] = DEFAULT_VARIANTS,
    subtitles: Mapping[str, Sequence[Cue]] | None = None,
    segment_seconds: int = 2,
    color: str | None = None,
) -> Path:
    """Write a VOD HLS ladder into ``dest`` and return the path of its ``master.m3u8``.

    The picture is ffmpeg's moving ``testsrc2`` pattern, or a solid ``color`` (any ffmpeg colour, e.g.
    ``"0x305080"``), with ``label`` (one or more lines) and a running timecode drawn on it, so frames
    differ over time.
    ``subtitles`` maps a language code to its cues; the first language is the default rendition.
    """
    if seconds <= 0 or segment_seconds <= 0 or not variants:
        raise HlsError("seconds, segment_seconds and variants must be positive and non-empty")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    _encode(dest, seconds, label, variants, segment_seconds, color)
    subtitles = dict(subtitles or {})
    if subtitles:
        mpegts = _first_video_pts(dest / "v0" / "seg000.ts")
        for language, cues in subtitles.items():
            write_subtitle_rendition(dest / "subs", language, cues, seconds, segment_seconds, mpegts)
    master = dest / "master.m3u8"
    bandwidths = [_peak_bandwidth(dest / f"v{i}" / "index.m3u8", v[2] + AUDIO_BITRATE)
                  for i, v in enumerate(variants)]
    master.write_text(master_playlist(variants, bandwidths, list(subtitles)), encoding="utf-8")
    verify_hls(master, seconds=seconds, variants=variants, segment_seconds=segment_seconds)
    return master


def segment_count(seconds: float, segment_seconds: float) -> int:
    # The small tolerance keeps 30 s / 2 s at 15 segments despite float noise.
    return max(1, math.ceil(seconds / segment_seconds - 1e-6))


def _encode(dest: Path, seconds: float, label: str, variants: Sequence[Variant],
            segment_seconds: int, color: str | None) -> None:
    for i in range(len(variants)):
        (dest / f"v{i}").mkdir(exist_ok=True)
    # The label goes through a file, so no text needs escaping for the filtergraph.
    (dest / _LABEL_FILE).write_text(label, encoding="utf-8")
    try:
        _run(_ffmpeg_args(seconds, label, variants, segment_seconds, color), cwd=dest)
    finally:
        (dest / _LABEL_FILE).unlink(missing_ok=True)


def _ffmpeg_args(seconds: float, label: str, variants: Sequence[Variant], segment_seconds: int,
                 color: str | None) -> list[str]:
    width, height = max((w, h) for w, h, _ in variants)
    size = f"size={width}x{height}:rate={FPS}:duration={seconds}"
    source = f"color=c={color}:{size}" if color else f"testsrc2={size}"
    args = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", source,
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
            "-filter_complex", _filtergraph(variants, height, label_size(label, width, height))]
    gop = str(round(FPS * segment_seconds))
    for i, (w, h, bitrate) in enumerate(variants):
        args += ["-map", f"[v{i}]", "-map", "1:a",
                 "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "baseline",
                 "-level:v", str(h264_level(w, h) / 10),
                 "-pix_fmt", "yuv420p", "-b:v", str(bitrate), "-maxrate", str(bitrate),
                 "-bufsize", str(2 * bitrate),
                 # A keyframe exactly every segment, never on scene cuts, so segments are equal.
                 "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
                 "-c:a", "aac", "-aac_coder", "fast", "-b:a", str(AUDIO_BITRATE), "-ac", "2",
                 "-f", "hls", "-hls_time", str(segment_seconds), "-hls_playlist_type", "vod",
                 "-hls_segment_filename", f"v{i}/seg%03d.ts", f"v{i}/index.m3u8"]
    return args


def h264_level(width: int, height: int) -> int:
    """The lowest H.264 level (times ten) that holds this frame size at our 25 frames a second."""
    macroblocks = math.ceil(width / 16) * math.ceil(height / 16)
    return next(level for limit, level in ((1620, 30), (3600, 31), (8192, 40), (22080, 51))
                if macroblocks <= limit or level == 51)


def codecs(width: int, height: int) -> str:
    return f"avc1.42c0{h264_level(width, height):02x},{AUDIO_CODEC}"


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


def _filtergraph(variants: Sequence[Variant], height: int, font_size: int) -> str:
    outs = "".join(f"[s{i}]" for i in range(len(variants)))
    scales = ";".join(f"[s{i}]scale={w}:{h}[v{i}]" for i, (w, h, _) in enumerate(variants))
    return f"[0:v]{label_and_clock(_LABEL_FILE, height, font_size)},split={len(variants)}{outs};{scales}"


def _run(args: list[str], cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HlsError(f"{args[0]} could not run: {exc}") from exc
    if done.returncode != 0:
        raise HlsError(f"{args[0]} exited with {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done.stdout


def _first_video_pts(segment: Path) -> int:
    """The 90 kHz MPEG-TS timestamp of the first video frame (ffmpeg starts near 1.4 s, not 0)."""
    out = _run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                "stream=start_pts", "-of", "json", str(segment)])
    return int(json.loads(out)["streams"][0]["start_pts"])


# --- WebVTT -------------------------------------------------------------------------------------------


def vtt_timestamp(seconds: float) -> str:
    millis = round(max(0.0, seconds) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def vtt_text(cues: Sequence[Cue], mpegts: int | None = None) -> str:
    """A WebVTT file; with ``mpegts`` it carries the header that aligns an HLS segment with the video."""
    lines = ["WEBVTT"]
    if mpegts is not None:
        lines.append(f"X-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:00:00:00.000")
    for start, end, text in cues:
        body = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        body = "\n".join(line for line in body.splitlines() if line.strip()) or " "
        lines += ["", f"{vtt_timestamp(start)} --> {vtt_timestamp(end)}", body]
    return "\n".join(lines) + "\n"


def write_subtitle_rendition(subs_dir: Path, language: str, cues: Sequence[Cue], seconds: float,
                             segment_seconds: int, mpegts: int) -> None:
    """Write ``subs/<lang>.vtt`` (a plain sidecar) and ``subs/<lang>/index.m3u8`` with its segments."""
    cues = sorted(cues)
    folder = subs_dir / language
    folder.mkdir(parents=True, exist_ok=True)
    (subs_dir / f"{language}.vtt").write_text(vtt_text(cues), encoding="utf-8")
    playlist = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{math.ceil(segment_seconds)}",
                "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD"]
    for i in range(segment_count(seconds, segment_seconds)):
        start, end = i * segment_seconds, min((i + 1) * segment_seconds, seconds)
        # A cue that spans a boundary goes into every segment it touches; players drop the repeats.
        inside = [c for c in cues if c[0] < end and c[1] > start]
        name = f"seg{i:03d}.vtt"
        (folder / name).write_text(vtt_text(inside, mpegts), encoding="utf-8")
        playlist += [f"#EXTINF:{end - start:.3f},", name]
    playlist.append("#EXT-X-ENDLIST")
    (folder / "index.m3u8").write_text("\n".join(playlist) + "\n", encoding="utf-8")


# --- playlists ----------------------------------------------------------------------------------------


def master_playlist(variants: Sequence[Variant], bandwidths: Sequence[int], languages: Sequence[str]) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for i, language in enumerate(languages):
        name = LANGUAGE_NAMES.get(language, language)
        default = "YES" if i == 0 else "NO"
        lines.append(f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="{SUBTITLE_GROUP}",NAME="{name}",'
                     f'LANGUAGE="{language}",DEFAULT={default},AUTOSELECT=YES,'
                     f'URI="subs/{language}/index.m3u8"')
    group = f',SUBTITLES="{SUBTITLE_GROUP}"' if languages else ""
    for i, ((width, height, _), bandwidth) in enumerate(zip(variants, bandwidths, strict=True)):
        lines.append(f'#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={width}x{height},'
                     f'CODECS="{codecs(width, height)}"{group}')
        lines.append(f"v{i}/index.m3u8")
    return "\n".join(lines) + "\n"


def _segments(playlist: Path) -> list[tuple[float, Path]]:
    durations = re.findall(r"^#EXTINF:([\d.]+),.*\n(?:#.*\n)*(.+)$", playlist.read_text(), re.MULTILINE)
    return [(float(d), playlist.parent / uri.strip()) for d, uri in durations]


def _peak_bandwidth(playlist: Path, nominal: int) -> int:
    """BANDWIDTH must be the peak rate; ultrafast can overshoot its target, so measure the segments."""
    peaks = [path.stat().st_size * 8 / d for d, path in _segments(playlist) if d > 0]
    return max([nominal, *(round(p) for p in peaks)])


def verify_hls(master: Path, *, seconds: float, variants: Sequence[Variant], segment_seconds: float) -> None:
    """Raise HlsError unless every variant is a complete VOD playlist and ffprobe sees the resolutions."""
    expected = segment_count(seconds, segment_seconds)
    for i in range(len(variants)):
        playlist = master.parent / f"v{i}" / "index.m3u8"
        text = playlist.read_text() if playlist.exists() else ""
        if "#EXT-X-PLAYLIST-TYPE:VOD" not in text or "#EXT-X-ENDLIST" not in text:
            raise HlsError(f"{playlist.name} of v{i} is not a finished VOD playlist")
        found = len(_segments(playlist))
        if found != expected:
            raise HlsError(f"v{i} has {found} segments, expected {expected} for {seconds} s")
    sizes = probe_resolutions(master)
    if sorted(sizes) != sorted((w, h) for w, h, _ in variants):
        raise HlsError(f"ffprobe sees video {sizes} in {master.name}, expected {list(variants)}")


def probe_resolutions(master: Path) -> list[tuple[int, int]]:
    """The (width, height) of every video stream ffprobe finds through the master playlist."""
    out = _run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,width,height",
                "-of", "json", str(master)])
    streams = json.loads(out).get("streams", [])
    return [(s["width"], s["height"]) for s in streams if s.get("codec_type") == "video"]
