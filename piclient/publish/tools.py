"""Running ffprobe and ffmpeg: one place that turns a failure into a PublishError in plain words."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from piclient.publish.errors import PublishError

PROBE_TIMEOUT_S = 120


def ffprobe_json(path: Path, *entries: str) -> dict[str, Any]:
    """ffprobe's JSON for ``path``; a file ffprobe cannot read raises PublishError."""
    args = ["ffprobe", "-v", "error", "-of", "json", *entries, str(path)]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise PublishError("ffprobe is not installed (Debian package ffmpeg)") from None
    except subprocess.TimeoutExpired:
        raise PublishError(f"ffprobe took over {PROBE_TIMEOUT_S} s to read {path.name}") from None
    if done.returncode != 0:
        raise PublishError(f"{path.name} is not a video file ffmpeg can read",
                           detail=done.stderr.strip()[-2000:])
    try:
        data = json.loads(done.stdout or "{}")
    except ValueError:
        raise PublishError(f"ffprobe gave no readable answer for {path.name}", detail=done.stdout[-2000:]) from None
    return data if isinstance(data, dict) else {}


def run_ffmpeg(args: list[str], what: str, timeout: float = 600) -> None:
    """Run a short ffmpeg job (a poster frame, sprites); the long encodes stream progress in transcode."""
    try:
        done = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args],
                              capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise PublishError("ffmpeg is not installed (Debian package ffmpeg)") from None
    except subprocess.TimeoutExpired:
        raise PublishError(f"ffmpeg took too long making {what}") from None
    if done.returncode != 0:
        raise PublishError(f"ffmpeg could not make {what}", detail=done.stderr.strip()[-2000:])
