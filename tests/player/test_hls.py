import socket
from pathlib import Path

import pytest
import requests

from piclient.demo.server import StaticServer
from piclient.player.hls import (
    PlaylistError,
    Rendition,
    fetch_master,
    fetch_subtitle_rendition,
    parse_attributes,
    parse_master,
    parse_media_playlist,
    refused_segment,
    segment_problem,
    timestamp_offset,
)
from piclient.player.subtitles import Cue

from .conftest import CUES

BASE = "https://media.example.invalid/films/spring/master.m3u8"
MASTER = "\n".join([
    "#EXTM3U",
    "#EXT-X-VERSION:4",
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Korean",LANGUAGE="ko",URI="audio/ko.m3u8"',
    '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="한국어, 자막",LANGUAGE="ko",DEFAULT=YES,'
    'AUTOSELECT=YES,URI="subs/ko/index.m3u8"',
    '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en-US",DEFAULT=NO,AUTOSELECT=YES,'
    'FORCED=NO,URI="https://cdn.example.invalid/en.m3u8"',
    '#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="CC1",INSTREAM-ID="CC1"',
    '#EXT-X-STREAM-INF:BANDWIDTH=2500000,AVERAGE-BANDWIDTH=2000000,RESOLUTION=1280x720,'
    'CODECS="avc1.4d401f,mp4a.40.2",FRAME-RATE=25.000,SUBTITLES="subs",AUDIO="aud"',
    "hd/index.m3u8",
    '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI="iframes.m3u8"',
    # Attributes in any order, and a blank line before the URI.
    '#EXT-X-STREAM-INF:CODECS="avc1.42c01e,mp4a.40.2",BANDWIDTH=400000,RESOLUTION=320x180,SUBTITLES="subs"',
    "",
    "/other/low.m3u8",
    '#EXT-X-STREAM-INF:BANDWIDTH=1000000,RESOLUTION=640x360,CODECS="avc1.42c01e,mp4a.40.2"',
    "https://cdn.example.invalid/sd/index.m3u8",
    "",
])


def test_attribute_lists_keep_commas_inside_quoted_strings() -> None:
    assert parse_attributes('BANDWIDTH=1,CODECS="avc1.4d401f,mp4a.40.2",NAME="a=b",RESOLUTION=1x2') == {
        "BANDWIDTH": "1", "CODECS": "avc1.4d401f,mp4a.40.2", "NAME": "a=b", "RESOLUTION": "1x2"}


def test_a_master_gives_variants_sorted_by_bandwidth_with_absolute_uris() -> None:
    master = parse_master(MASTER, BASE)
    assert [(v.bandwidth, v.resolution, v.uri) for v in master.variants] == [
        (400_000, (320, 180), "https://media.example.invalid/other/low.m3u8"),
        (1_000_000, (640, 360), "https://cdn.example.invalid/sd/index.m3u8"),
        (2_500_000, (1280, 720), "https://media.example.invalid/films/spring/hd/index.m3u8"),
    ]
    hd = master.variants[-1]
    assert (hd.codecs, hd.subtitles, hd.frame_rate) == ("avc1.4d401f,mp4a.40.2", "subs", 25.0)
    assert master.variants[1].subtitles is None


def test_a_master_gives_its_subtitle_renditions_but_not_audio_or_captions() -> None:
    master = parse_master(MASTER, BASE)
    assert master.subtitles == [
        Rendition(group="subs", language="ko", name="한국어, 자막",
                  uri="https://media.example.invalid/films/spring/subs/ko/index.m3u8", default=True, autoselect=True),
        Rendition(group="subs", language="en-US", name="English", uri="https://cdn.example.invalid/en.m3u8",
                  default=False, autoselect=True),
    ]


def test_the_subtitle_for_a_language_matches_the_tag_then_the_primary_language() -> None:
    master = parse_master(MASTER, BASE)
    assert master.subtitle("ko").name == "한국어, 자막"
    assert master.subtitle("en").language == "en-US"
    assert master.subtitle("EN-us").language == "en-US"
    assert master.subtitle("kor").name == "한국어, 자막"
    # Nothing in Japanese: the rendition the publisher marked DEFAULT (subtitle_choice's rule).
    assert master.subtitle("ja").language == "ko"


def test_a_media_playlist_given_as_the_master_is_one_variant_at_its_own_url() -> None:
    media = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\nseg0.ts\n#EXT-X-ENDLIST\n"
    url = "http://127.0.0.1:1/live/index.m3u8"
    master = parse_master(media, url)
    assert [(v.bandwidth, v.resolution, v.uri) for v in master.variants] == [(0, None, url)]
    assert master.subtitles == []


@pytest.mark.parametrize(("text", "words"), [
    ("<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head></html>", "web page"),
    ("\n  <html><body>Please log in</body></html>", "web page"),
    ('{"error": "not found"}', "not an HLS playlist"),
    ("", "empty"),
    ("#EXTM3U\n#EXT-X-VERSION:3\n", "no variants"),
])
def test_anything_but_a_playlist_raises_a_readable_playlist_error(text: str, words: str) -> None:
    with pytest.raises(PlaylistError, match=words) as caught:
        parse_master(text, BASE)
    assert not caught.value.transient


def test_a_media_playlist_lists_its_segments_and_refuses_a_master() -> None:
    text = "#EXTM3U\r\n#EXTINF:2.0,\r\nseg000.vtt\r\n#EXTINF:2.0,\r\nhttps://x.invalid/seg001.vtt\r\n"
    assert parse_media_playlist(text, "http://h.invalid/subs/ko/index.m3u8") == [
        "http://h.invalid/subs/ko/seg000.vtt", "https://x.invalid/seg001.vtt"]
    with pytest.raises(PlaylistError, match="master"):
        parse_media_playlist(MASTER, BASE)


def test_the_timestamp_map_gives_the_segment_offset_in_seconds() -> None:
    assert timestamp_offset("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000\n\n") == 10.0
    assert timestamp_offset("WEBVTT\nX-TIMESTAMP-MAP=LOCAL:00:00:01.000,MPEGTS:180000\n\n") == 1.0
    assert timestamp_offset("WEBVTT\n\n00:01.000 --> 00:02.000\nX-TIMESTAMP-MAP=MPEGTS:1\n") is None


# --- over HTTP, against a real ladder -------------------------------------------------------------------

# FFmpeg's MPEG-TS muxer starts timestamps at 1.4 s (its 0.7 s mux delay, twice); libmpv reports that as
# `demuxer-start-time` and counts time-pos from it. test_mpv_subtitles checks this against real libmpv.
FFMPEG_TS_START = 1.4


@pytest.fixture
def session() -> requests.Session:
    with requests.Session() as s:
        yield s


def test_it_fetches_the_ladder_and_its_renditions(ladder_server: StaticServer, session: requests.Session) -> None:
    master = fetch_master(ladder_server.url + "master.m3u8", session, timeout=5)
    assert [v.resolution for v in master.variants] == [(640, 360), (864, 486)]
    assert master.variants[0].uri == ladder_server.url + "360p/index.m3u8"
    assert [r.language for r in master.subtitles] == ["ko", "en"]
    assert master.subtitle("ko").uri == ladder_server.url + "subs/ko/index.m3u8"


@pytest.mark.parametrize("language", ["ko", "en"])
def test_rendition_cues_come_back_at_their_times_once_each(
        ladder_server: StaticServer, session: requests.Session, language: str) -> None:
    master = fetch_master(ladder_server.url + "master.m3u8", session, timeout=5)
    cues = fetch_subtitle_rendition(master.subtitle(language), session, timeout=5,
                                    video_start_pts=FFMPEG_TS_START)
    assert [c.text for c in cues] == [text for _, _, text in CUES[language]]
    for cue, (start, end, _) in zip(cues, CUES[language], strict=True):
        assert cue.start == pytest.approx(start, abs=0.1)
        assert cue.end == pytest.approx(end, abs=0.1)


def test_without_a_start_time_cues_stay_on_the_mpegts_clock(
        ladder_server: StaticServer, session: requests.Session) -> None:
    master = fetch_master(ladder_server.url + "master.m3u8", session, timeout=5)
    cues = fetch_subtitle_rendition(master.subtitle("ko"), session, timeout=5)
    assert cues[0].start == pytest.approx(0.5 + FFMPEG_TS_START, abs=0.1)


def test_a_rendition_whose_only_segment_fails_raises(ladder: Path, session: requests.Session) -> None:
    with StaticServer(ladder.parent, fault=lambda path: 500 if path.endswith(".vtt") else None) as srv:
        rendition = fetch_master(srv.url + "master.m3u8", session, timeout=5).subtitle("en")
        with pytest.raises(PlaylistError, match="none of the 1"):
            fetch_subtitle_rendition(rendition, session, timeout=5)


# --- a rendition cut into 2 s segments, as other packagers write them --------------------------------

SEGMENTED_MPEGTS = round(FFMPEG_TS_START * 90_000)
SEGMENTED = (  # "경계를 넘는 줄" spans the boundary at 2 s, so it sits in two segments
    ["00:00.500 --> 00:01.500\n안녕하세요", "00:01.800 --> 00:02.600\n경계를 넘는 줄"],
    ["00:01.800 --> 00:02.600\n경계를 넘는 줄"],
    ["00:04.500 --> 00:05.500\n밥은 먹었니?"],
)


@pytest.fixture
def segmented(tmp_path: Path) -> Path:
    """A Korean rendition in three 2 s WebVTT segments; the folder holding its index.m3u8."""
    playlist = ["#EXTM3U", "#EXT-X-TARGETDURATION:2", "#EXT-X-PLAYLIST-TYPE:VOD"]
    for i, cues in enumerate(SEGMENTED):
        header = f"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:{SEGMENTED_MPEGTS},LOCAL:00:00:00.000\n\n"
        (tmp_path / f"seg{i:03d}.vtt").write_text(header + "\n\n".join(cues) + "\n", encoding="utf-8")
        playlist += ["#EXTINF:2.000,", f"seg{i:03d}.vtt"]
    (tmp_path / "index.m3u8").write_text("\n".join([*playlist, "#EXT-X-ENDLIST", ""]), encoding="utf-8")
    return tmp_path


def test_a_cue_repeated_across_segments_comes_back_once(segmented: Path, session: requests.Session) -> None:
    with StaticServer(segmented) as srv:
        rendition = Rendition("subs", "ko", "한국어", srv.url + "index.m3u8")
        cues = fetch_subtitle_rendition(rendition, session, timeout=5, video_start_pts=FFMPEG_TS_START)
    assert [(round(c.start, 3), round(c.end, 3), c.text) for c in cues] == CUES["ko"]


def test_a_missing_subtitle_segment_loses_only_its_own_lines(
        segmented: Path, session: requests.Session, caplog: pytest.LogCaptureFixture) -> None:
    with StaticServer(segmented, fault=lambda path: 404 if path.endswith("seg002.vtt") else None) as srv:
        rendition = Rendition("subs", "ko", "한국어", srv.url + "index.m3u8")
        cues = fetch_subtitle_rendition(rendition, session, timeout=5, video_start_pts=FFMPEG_TS_START)
    assert [c.text for c in cues] == ["안녕하세요", "경계를 넘는 줄"]
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"skipped 1 of 3 subtitle segments; the first, {srv.url}seg002.vtt: "
        "a subtitle segment fetch failed: HTTP 404 Not Found"]


def test_a_rendition_whose_segments_all_fail_raises(segmented: Path, session: requests.Session) -> None:
    with StaticServer(segmented, fault=lambda path: 500 if path.endswith(".vtt") else None) as srv:
        rendition = Rendition("subs", "ko", "한국어", srv.url + "index.m3u8")
        with pytest.raises(PlaylistError, match="none of the 3"):
            fetch_subtitle_rendition(rendition, session, timeout=5)


def test_a_segment_that_is_not_webvtt_is_skipped(tmp_path: Path, session: requests.Session) -> None:
    (tmp_path / "index.m3u8").write_text("#EXTM3U\n#EXTINF:2,\na.vtt\n#EXTINF:2,\nb.vtt\n#EXT-X-ENDLIST\n")
    (tmp_path / "a.vtt").write_text("WEBVTT\n\n00:01.000 --> 00:02.000\n하나\n")
    (tmp_path / "b.vtt").write_bytes(b"\x00\x00\x00\x18ftypiso6")  # an fMP4 subtitle segment
    with StaticServer(tmp_path) as srv:
        rendition = Rendition("subs", "ko", "한국어", srv.url + "index.m3u8")
        assert fetch_subtitle_rendition(rendition, session, timeout=5) == [Cue(1.0, 2.0, "하나")]


def test_an_http_error_is_a_playlist_error_that_says_whether_to_retry(
        ladder: Path, session: requests.Session) -> None:
    status = {"code": 404}
    with StaticServer(ladder.parent, fault=lambda path: status["code"]) as srv:
        with pytest.raises(PlaylistError, match="HTTP 404") as caught:
            fetch_master(srv.url + "master.m3u8", session, timeout=5)
        assert (caught.value.status, caught.value.transient) == (404, False)
        status["code"] = 503
        with pytest.raises(PlaylistError, match="HTTP 503") as caught:
            fetch_master(srv.url + "master.m3u8", session, timeout=5)
        assert caught.value.transient


def test_an_html_page_served_as_the_playlist_raises(tmp_path: Path, session: requests.Session) -> None:
    (tmp_path / "master.m3u8").write_text("<!doctype html><html><body>Router login</body></html>")
    with StaticServer(tmp_path) as srv, pytest.raises(PlaylistError, match="web page"):
        fetch_master(srv.url + "master.m3u8", session, timeout=5)


def test_a_huge_playlist_is_refused(tmp_path: Path, session: requests.Session) -> None:
    (tmp_path / "master.m3u8").write_text("#EXTM3U\n" + "#" * (1024 * 1024))
    with StaticServer(tmp_path) as srv, pytest.raises(PlaylistError, match="larger than 1024 KB"):
        fetch_master(srv.url + "master.m3u8", session, timeout=5)


def test_no_server_is_a_transient_playlist_error(session: requests.Session) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: connections are refused
        with pytest.raises(PlaylistError, match="cannot reach") as caught:
            fetch_master(f"http://127.0.0.1:{port}/master.m3u8", session, timeout=5)
    assert caught.value.transient and caught.value.status is None


@pytest.mark.parametrize(("uri", "refused"), [
    ("https://cdn.invalid/a/seg000.ts", False),
    ("https://cdn.invalid/a/seg000.TS?token=abc.php", False),  # the query is not the name
    ("https://cdn.invalid/a/init.mp4", False),
    ("https://cdn.invalid/a/chunk-1.m4s#t=0", False),
    ("https://cdn.invalid/a/seg/0", True),
    ("https://cdn.invalid/a/get.php?seg=0.ts", True),
    ("https://cdn.invalid/a/seg.html", True),  # FFmpeg would allow it; no media server needs it
])
def test_segments_ffmpeg_refuses_are_named_by_their_path(uri: str, refused: bool) -> None:
    assert (refused_segment(["https://cdn.invalid/a/ok.ts", uri]) == uri) is refused


def test_a_stream_with_extensionless_segments_is_explained_for_the_maintainer(
        tmp_path: Path, session: requests.Session) -> None:
    (tmp_path / "master.m3u8").write_text("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=500000\nv/index.m3u8\n")
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "index.m3u8").write_text("#EXTM3U\n#EXTINF:2,\nseg/0\n#EXTINF:2,\nseg/1\n#EXT-X-ENDLIST\n")
    with StaticServer(tmp_path) as srv:
        master = fetch_master(srv.url + "master.m3u8", session, timeout=5)
        problem = segment_problem(master, session, timeout=5)
    assert problem is not None and "v/seg/0" in problem and "extension_picky" in problem


def test_a_stream_with_ordinary_segments_has_no_segment_problem(
        ladder_server: StaticServer, session: requests.Session) -> None:
    master = fetch_master(ladder_server.url + "master.m3u8", session, timeout=5)
    assert segment_problem(master, session, timeout=5) is None
