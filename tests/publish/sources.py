"""Tiny real source films and subtitle files for the publish tests, made by ffmpeg in seconds."""

from __future__ import annotations

import subprocess
from pathlib import Path


def make_film(path: Path, *, size: str = "640x360", seconds: float = 6, channels: int = 2,
              audio: bool = True) -> Path:
    """A test-pattern film with a tone; ``channels=6`` gives a 5.1 track."""
    layout = {1: "mono", 2: "stereo", 6: "5.1"}[channels]
    args = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
                 "-filter_complex", f"[1:a]aformat=channel_layouts={layout}[a]", "-map", "0:v", "-map", "[a]",
                 "-c:a", "aac", "-b:a", "96k"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(args, check=True, capture_output=True, timeout=120)
    return path


def make_sound(path: Path, seconds: float = 3) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac", str(path)],
                   check=True, capture_output=True, timeout=60)
    return path


SRT = """1
00:00:00,500 --> 00:00:02,000
Hello, mother.

2
00:00:03,000 --> 00:00:04,500
Have you eaten?
"""

SAMI_TWO_LANGUAGES = """<SAMI>
<HEAD>
<STYLE TYPE="text/css">
<!--
P { font-family: 굴림; }
.KRCC { Name: 한국어; lang: ko-KR; }
.ENCC { Name: English; lang: en-US; }
-->
</STYLE>
</HEAD>
<BODY>
<SYNC Start=500><P Class=KRCC>안녕하세요, 어머니.
<SYNC Start=500><P Class=ENCC>Hello, mother.
<SYNC Start=2000><P Class=KRCC>&nbsp;
<SYNC Start=2000><P Class=ENCC>&nbsp;
<SYNC Start=3000><P Class=KRCC>밥은 드셨어요?
<SYNC Start=3000><P Class=ENCC>Have you eaten?
<SYNC Start=4500><P Class=KRCC>&nbsp;
<SYNC Start=4500><P Class=ENCC>&nbsp;
</BODY>
</SAMI>
"""
