from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from piclient.publish.cli import ProgressBar, format_duration


def _piclient(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "piclient", *args], capture_output=True, text=True, timeout=300)


def test_publish_packages_an_episode_and_says_what_it_made(sources: Path, tmp_path: Path) -> None:
    library = tmp_path / "lib"
    done = _piclient("publish", str(sources / "episode.mp4"), "--library", str(library), "--series", "Home",
                     "--episode", "1", "--subs", str(sources / "episode.smi"), "--preset", "ultrafast")
    assert done.returncode == 0, done.stderr
    assert "published home-s01e01: 360p; subtitles ko, en" in done.stdout
    assert "playing it back" in done.stderr and "100 %" in done.stderr  # the bar, one line per step off a tty
    titles = json.loads((library / "catalog.json").read_text())["titles"]
    assert [t["id"] for t in titles] == ["home"]


def test_publish_refuses_a_text_file_with_a_plain_sentence_and_exit_code(tmp_path: Path) -> None:
    fake = tmp_path / "film.mkv"
    fake.write_text("not a film")
    done = _piclient("publish", str(fake), "--library", str(tmp_path / "lib"))
    assert done.returncode == 1
    assert "not published: film.mkv is not a video file ffmpeg can read" in done.stderr
    assert not (tmp_path / "lib" / "catalog.json").exists()


def test_the_bar_shows_the_time_left_from_the_work_done_so_far() -> None:
    now = [100.0]
    out = io.StringIO()
    bar = ProgressBar(out, clock=lambda: now[0])
    bar("encode", 0.01)
    now[0] = 160.0
    bar("encode", 0.25)  # a quarter in a minute: three more minutes
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("encoding") and "left" not in lines[0]
    assert lines[1].startswith("[#######") and "25 %" in lines[1] and lines[1].endswith("3 min left")
    assert format_duration(3 * 3600 + 5 * 60) == "3 h 05 min" and format_duration(42) == "42 s"


def test_publish_to_a_server_without_a_token_says_how_to_get_one(sources: Path, tmp_path: Path) -> None:
    env_free = subprocess.run([sys.executable, "-m", "piclient", "publish", str(sources / "episode.mp4"),
                               "--server", "http://127.0.0.1:9"], capture_output=True, text=True, timeout=120,
                              env={k: v for k, v in os.environ.items() if k != "PICLIENT_TOKEN"})
    assert env_free.returncode == 1
    assert "needs a maintainer token" in env_free.stderr and "add-maintainer-token" in env_free.stderr
