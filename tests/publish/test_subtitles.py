from __future__ import annotations

from pathlib import Path

import pytest

from piclient.player.subtitles import Cue
from piclient.publish import PublishError
from piclient.publish.ladder import choose_rungs
from piclient.publish.probe import Source
from piclient.publish.subtitles import Track, parse_ass, read_tracks, sync_warnings

ASS = r"""[Script Info]
ScriptType: v4.00+

[V4+ Styles]
Format: Name, Fontname, Fontsize
Style: Default,Arial,20

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:01.00,0:00:02.50,Default,,0,0,0,,{\i1}Hello,{\i0} mother.\NHave you eaten?
Dialogue: 0,0:00:03.00,0:00:04.00,Default,,0,0,0,,{\an8}A sign at the top
Comment: 0,0:00:05.00,0:00:06.00,Default,,0,0,0,,not shown
"""


def test_an_ass_script_gives_its_dialogue_lines_with_commas_and_top_lines_kept() -> None:
    cues = parse_ass(ASS)
    assert cues == [Cue(1.0, 2.5, "Hello, mother.\nHave you eaten?"), Cue(3.0, 4.0, "A sign at the top", True)]


def test_the_language_comes_from_the_name_and_else_from_the_text(tmp_path: Path) -> None:
    srt = "1\n00:00:01,000 --> 00:00:02,000\n{}\n"
    (tmp_path / "Film.2001.kor.srt").write_text(srt.format("hello"), encoding="utf-8")
    (tmp_path / "film.srt").write_text(srt.format("안녕하세요 어머니"), encoding="cp949")
    (tmp_path / "film.ass").write_text(ASS, encoding="utf-8")
    assert [t.language for t in read_tracks(tmp_path / "Film.2001.kor.srt")] == ["ko"]
    assert [(t.language, t.label) for t in read_tracks(tmp_path / "film.srt")] == [("ko", "한국어")]
    assert [t.language for t in read_tracks(tmp_path / "film.ass")] == ["en"]


def test_an_offset_moves_every_line(tmp_path: Path) -> None:
    (tmp_path / "a.en.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nhi\n", encoding="utf-8")
    (track,) = read_tracks(tmp_path / "a.en.srt", offset=2.5)
    assert track.cues == (Cue(3.5, 4.5, "hi"),)


def test_a_file_that_is_not_a_subtitle_is_refused_plainly(tmp_path: Path) -> None:
    (tmp_path / "notes.srt").write_text("just some notes\n", encoding="utf-8")
    with pytest.raises(PublishError, match="not a subtitle file we can read"):
        read_tracks(tmp_path / "notes.srt")


def test_lines_past_the_end_or_a_late_first_line_are_flagged() -> None:
    good = Track("ko", "한국어", (Cue(5, 7, "a"), Cue(5000, 5002, "b")), "a.srt")
    assert sync_warnings(good, 5400) == []
    past = Track("ko", "한국어", (Cue(5, 7, "a"), Cue(5500, 5502, "b")), "a.srt")
    assert "past the film's end" in sync_warnings(past, 5400)[0]
    late = Track("en", "English", (Cue(1500, 1502, "a"),), "b.srt")
    assert "into the film" in sync_warnings(late, 5400)[0]


@pytest.mark.parametrize(("size", "rungs"), [
    ((1920, 1080), [("360p", 640, 360), ("540p", 960, 540), ("720p", 1280, 720), ("1080p", 1920, 1080)]),
    ((1920, 800), [("360p", 640, 266), ("540p", 960, 400), ("720p", 1280, 534), ("1080p", 1920, 800)]),
    ((1280, 720), [("360p", 640, 360), ("540p", 960, 540), ("720p", 1280, 720)]),
    ((640, 360), [("360p", 640, 360)]),
    ((320, 240), [("240p", 320, 240)]),
])
def test_the_ladder_never_goes_above_the_source(size: tuple[int, int], rungs: list[tuple[str, int, int]]) -> None:
    source = Source(Path("x"), 60, size[0], size[1], 25, "h264", 2)
    assert [(r.name, r.width, r.height) for r in choose_rungs(source)] == rungs
