"""ffmpeg: one rung at a time into an HLS folder, so an interrupted run keeps the rungs it finished.

Every rung has a keyframe exactly every ``KEYFRAME_S`` seconds of film time (forced by time, scene-cut
keyframes off), so the rungs' segments start at the same instants and a player can switch between
them at any segment. Sound is stereo AAC whatever the source has: a 5.1 track is mixed down by
ffmpeg's standard matrix, because the TV's speakers are two and a Pi sends stereo PCM best.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from piclient.publish.errors import PublishError
from piclient.publish.ladder import Rung
from piclient.publish.probe import Source
from piclient.publish.tools import ffprobe_json

SEGMENT_S = 4  # within the 4-6 s the HLS guidelines suggest: short enough to switch rungs quickly
KEYFRAME_S = 2  # segments are cut at keyframes; two per segment keeps seeking quick
MAX_FPS = 30.0  # 50/60 fps sources are halved: the rungs' bitrates are chosen for up to 30 fps
DEFAULT_PRESET = "veryfast"
CRF = 21
DONE_MARK = ".done.json"
PLAYLIST = "index.m3u8"
Progress = Callable[[float], None]  # the fraction of this rung done, 0..1


@dataclass(frozen=True)
class EncodedRung:
    rung: Rung
    folder: Path
    peak_bps: int  # the highest bit rate of any segment: the master's BANDWIDTH
    average_bps: int
    codecs: str
    fps: float


def output_fps(source: Source) -> float:
    return source.fps / 2 if source.fps > MAX_FPS + 0.5 else source.fps


def h264_level(width: int, height: int, fps: float) -> int:
    """The lowest H.264 level (times ten) that holds this frame size and rate (ITU-T H.264 table A-1)."""
    frame = math.ceil(width / 16) * math.ceil(height / 16)
    rate = frame * fps
    for level, max_frame, max_rate in ((30, 1620, 40500), (31, 3600, 108000), (32, 5120, 216000),
                                       (40, 8192, 245760), (42, 8704, 522240), (50, 22080, 589824)):
        if frame <= max_frame and rate <= max_rate:
            return level
    return 51


def codecs(rung: Rung, fps: float, has_audio: bool) -> str:
    # High profile (0x64), no constraint flags, then the level: what libx264 writes for -profile:v high.
    video = f"avc1.6400{h264_level(rung.width, rung.height, fps):02x}"
    return f"{video},mp4a.40.2" if has_audio else video


def encode_rung(source: Source, rung: Rung, work: Path, *, preset: str = DEFAULT_PRESET,
                progress: Progress = lambda f: None) -> EncodedRung:
    """Encode ``rung`` into ``work/<rung.name>/``, or reuse what an earlier run finished there."""
    folder = work / rung.name
    fps = output_fps(source)
    settings = _settings(source, rung, preset, fps)
    if _finished(folder, settings):
        progress(1.0)
        return _measure(folder, rung, fps, source.has_audio)
    partial = work / f".{rung.name}.partial"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    _run(_args(source, rung, partial, preset, fps), source.duration, progress, rung.name)
    (partial / DONE_MARK).write_text(json.dumps(settings, sort_keys=True), encoding="utf-8")
    partial.rename(folder)  # a rung either is complete under its name or is not there at all
    return _measure(folder, rung, fps, source.has_audio)


def _settings(source: Source, rung: Rung, preset: str, fps: float) -> dict[str, object]:
    st = source.path.stat()
    return {"source": str(source.path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "rung": asdict(rung), "preset": preset, "fps": fps, "segment_s": SEGMENT_S, "crf": CRF}


def _finished(folder: Path, settings: dict[str, object]) -> bool:
    try:
        return json.loads((folder / DONE_MARK).read_text(encoding="utf-8")) == settings
    except (OSError, ValueError):
        return False


def _args(source: Source, rung: Rung, out: Path, preset: str, fps: float) -> list[str]:
    gop = str(max(1, round(fps * KEYFRAME_S)))
    level = h264_level(rung.width, rung.height, fps)
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-nostats", "-y",
            "-i", str(source.path), "-map", "0:v:0"]
    if source.has_audio:
        args += ["-map", "0:a:0"]
    args += ["-vf", f"scale={rung.width}:{rung.height}:flags=bicubic,setsar=1,fps={fps:.6g},format=yuv420p",
             "-c:v", "libx264", "-preset", preset, "-profile:v", "high", "-level:v", f"{level / 10:.1f}",
             "-crf", str(CRF), "-maxrate", f"{rung.video_kbps}k", "-bufsize", f"{2 * rung.video_kbps}k",
             "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
             "-force_key_frames", f"expr:gte(t,n_forced*{KEYFRAME_S})"]
    if source.has_audio:
        args += ["-c:a", "aac", "-b:a", f"{rung.audio_kbps}k", "-ac", "2", "-ar", "48000"]
    args += ["-sn", "-dn", "-map_metadata", "-1",
             "-f", "hls", "-hls_time", str(SEGMENT_S), "-hls_playlist_type", "vod",
             "-hls_flags", "independent_segments",
             "-hls_segment_filename", str(out / "seg%05d.ts"),
             "-progress", "pipe:1", str(out / PLAYLIST)]
    return args


_OUT_TIME = re.compile(r"^out_time_us=(\d+)")


def _run(args: list[str], duration: float, progress: Progress, name: str) -> None:
    try:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except FileNotFoundError:
        raise PublishError("ffmpeg is not installed (Debian package ffmpeg)") from None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            match = _OUT_TIME.match(line)
            if match and duration > 0:
                progress(min(1.0, int(match.group(1)) / 1e6 / duration))
        errors = proc.stderr.read() if proc.stderr else ""
        code = proc.wait()
    except BaseException:
        # Ctrl-C or a stopped worker: the half-written rung stays in its .partial folder and is
        # started again next time; the finished rungs are kept.
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        if proc.poll() is None:
            proc.kill()
        raise
    if code != 0:
        raise PublishError(f"ffmpeg could not encode the {name} version of the film", detail=errors.strip()[-2000:])
    progress(1.0)


def segments(playlist: Path) -> list[tuple[float, Path]]:
    """(duration, file) of every segment of a media playlist we wrote."""
    found = re.findall(r"^#EXTINF:([\d.]+),[^\n]*\n(?:#[^\n]*\n)*([^#\n][^\n]*)$",
                       playlist.read_text(encoding="utf-8"), re.MULTILINE)
    return [(float(d), playlist.parent / uri.strip()) for d, uri in found]


def _measure(folder: Path, rung: Rung, fps: float, has_audio: bool) -> EncodedRung:
    parts = segments(folder / PLAYLIST)
    if not parts:
        raise PublishError(f"ffmpeg wrote no segments for the {rung.name} version")
    total_bytes = sum(path.stat().st_size for _, path in parts)
    total_s = sum(d for d, _ in parts) or 1.0
    # BANDWIDTH is the peak segment rate, but a last segment of a few frames (a keyframe in 0.04 s)
    # would claim several times the real peak and push players onto lower rungs for nothing.
    full = [(d, path) for d, path in parts if d >= SEGMENT_S / 2] or [(d, p) for d, p in parts if d > 0]
    peak = max(path.stat().st_size * 8 / d for d, path in full)
    return EncodedRung(rung=rung, folder=folder, peak_bps=round(peak), average_bps=round(total_bytes * 8 / total_s),
                       codecs=codecs(rung, fps, has_audio), fps=fps)


def first_video_pts(rung_folder: Path) -> int:
    """The 90 kHz MPEG-TS time of a rung's first video frame (ffmpeg starts near 1.4 s, not 0):
    subtitle renditions are mapped onto it with X-TIMESTAMP-MAP."""
    first = segments(rung_folder / PLAYLIST)[0][1]
    info = ffprobe_json(first, "-select_streams", "v:0", "-show_entries", "stream=start_pts")
    try:
        return int(info["streams"][0]["start_pts"])
    except (KeyError, IndexError, TypeError, ValueError):
        return 0
