"""Which subtitle is switched on: language tags compared as BCP 47 does, and the one selection rule."""

from __future__ import annotations

import pytest

from piclient.player.hls import parse_master
from piclient.player.languages import primary_language, same_language, same_tag
from piclient.player.subtitle_choice import SubtitleOption, choose_subtitle

# What `ffmpeg -f hls -var_stream_map "v:0,s:0,sgroup:subtitle"` (Debian 12's FFmpeg 5.1) writes for a
# film whose subtitle stream has no language: no LANGUAGE, DEFAULT=YES.
FFMPEG_MASTER = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subtitle",NAME="subtitle_0",DEFAULT=YES,URI="out_0_vtt.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=1000000,RESOLUTION=640x360,SUBTITLES="subtitle"
out_0.m3u8
"""

# A packager that writes region tags and a signs-only track, as Apple's tools and Shaka do.
PACKAGER_MASTER = """#EXTM3U
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="표지판",LANGUAGE="ko-KR",FORCED=YES,AUTOSELECT=YES,URI="ko-forced.m3u8"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en-US",DEFAULT=YES,AUTOSELECT=YES,URI="en.m3u8"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="한국어",LANGUAGE="ko-KR",AUTOSELECT=YES,URI="ko.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=1000000,SUBTITLES="subs"
v.m3u8
"""


@pytest.mark.parametrize(("tag", "code"), [
    ("ko", "ko"), ("KO", "ko"), ("ko-KR", "ko"), ("ko_KR", "ko"), ("kor", "ko"), ("KOR", "ko"),
    ("en-US", "en"), ("eng", "en"), ("ger", "de"), ("deu", "de"), ("fre", "fr"), ("chi", "zh"),
    ("zh-Hant-TW", "zh"), ("iw", "he"), ("yue", "yue"),
    ("", ""), ("und", ""), ("mul", ""), ("x-private", ""), ("한국어", ""), ("12", ""),
])
def test_a_tag_is_reduced_to_its_primary_language_as_iso_639_1(tag: str, code: str) -> None:
    assert primary_language(tag) == code


def test_no_language_and_undetermined_match_nothing_not_even_each_other() -> None:
    assert not same_language("", "")
    assert not same_language("und", "und")
    assert not same_language("und", "ko")
    assert same_language("kor", "ko-KR")
    assert same_tag("ko-KR", "KOR-kr")
    assert not same_tag("ko", "ko-KR")


@pytest.mark.parametrize("language", ["ko-KR", "KO", "kor", "ko"])
def test_a_korean_track_however_it_is_tagged_is_switched_on_for_her(language: str) -> None:
    options = [SubtitleOption("en", default=True), SubtitleOption(language)]
    assert choose_subtitle(options, "ko") == 1


def test_her_setting_may_be_a_full_tag_too() -> None:
    assert choose_subtitle([SubtitleOption("en"), SubtitleOption("ko")], "ko-KR") == 1


def test_ffmpegs_untagged_default_rendition_is_switched_on() -> None:
    master = parse_master(FFMPEG_MASTER, "http://127.0.0.1:1/film/master.m3u8")
    assert master.subtitle("ko").uri.endswith("out_0_vtt.m3u8")


def test_a_forced_track_never_wins_over_the_full_one_in_her_language() -> None:
    master = parse_master(PACKAGER_MASTER, "http://127.0.0.1:1/film/master.m3u8")
    chosen = master.subtitle("ko")
    assert (chosen.name, chosen.forced) == ("한국어", False)


def test_a_forced_track_in_her_language_beats_a_full_one_she_cannot_read() -> None:
    options = [SubtitleOption("en", default=True), SubtitleOption("ko", forced=True)]
    assert choose_subtitle(options, "ko") == 1


def test_among_tracks_in_her_language_the_exact_tag_then_default_then_autoselect_then_order() -> None:
    assert choose_subtitle([SubtitleOption("ko"), SubtitleOption("ko-KR")], "ko-KR") == 1
    assert choose_subtitle([SubtitleOption("ko-KR"), SubtitleOption("ko-KR", default=True)], "ko") == 1
    assert choose_subtitle([SubtitleOption("ko"), SubtitleOption("kor", autoselect=True)], "ko") == 1
    assert choose_subtitle([SubtitleOption("ko"), SubtitleOption("ko")], "ko") == 0


def test_with_nothing_in_her_language_default_then_autoselect_are_honoured() -> None:
    assert choose_subtitle([SubtitleOption("fr", autoselect=True), SubtitleOption("en", default=True)], "ko") == 1
    assert choose_subtitle([SubtitleOption("fr"), SubtitleOption("en", autoselect=True)], "ko") == 1


def test_a_foreign_track_nobody_marked_stays_off() -> None:
    assert choose_subtitle([SubtitleOption("en"), SubtitleOption("")], "ko") is None
    assert choose_subtitle([], "ko") is None


def test_a_foreign_forced_track_is_never_the_fallback() -> None:
    assert choose_subtitle([SubtitleOption("en", default=True, forced=True)], "ko") is None
