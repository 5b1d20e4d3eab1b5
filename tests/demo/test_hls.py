import json
import subprocess
from pathlib import Path

import pytest

from piclient.demo.hls import HlsError, make_hls, probe_resolutions, vtt_text

SUBTITLES = {
    "ko": [(0.5, 1.5, "안녕하세요"), (2.5, 3.5, "밥은 먹었니?")],
    "en": [(0.5, 1.5, "Hello"), (2.5, 3.5, "Have you eaten?")],
}


@pytest.fixture(scope="module")
def ladder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("ladder")
    return make_hls(dest, seconds=4, label="봄날\nSpring Day", subtitles=SUBTITLES)


def test_master_lists_each_variant_with_its_subtitle_group(ladder: Path) -> None:
    lines = ladder.read_text(encoding="utf-8").splitlines()
    inf = [line for line in lines if line.startswith("#EXT-X-STREAM-INF:")]
    assert len(inf) == 2
    assert "RESOLUTION=640x360" in inf[0] and "RESOLUTION=320x180" in inf[1]
    for line in inf:
        assert 'CODECS="avc1.42c01e,mp4a.40.2"' in line and 'SUBTITLES="subs"' in line
    assert lines[lines.index(inf[0]) + 1] == "v0/index.m3u8"
    assert (
        '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="한국어",LANGUAGE="ko",DEFAULT=YES,'
        'AUTOSELECT=YES,URI="subs/ko/index.m3u8"'
    ) in lines
    assert any('LANGUAGE="en",DEFAULT=NO' in line for line in lines)


def test_each_variant_is_a_vod_playlist_of_two_second_segments(ladder: Path) -> None:
    for variant in ("v0", "v1"):
        text = (ladder.parent / variant / "index.m3u8").read_text()
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and "#EXT-X-ENDLIST" in text
        assert text.count("#EXTINF:2.0") == 2
        assert len(list((ladder.parent / variant).glob("*.ts"))) == 2


def test_ffprobe_reads_both_variants_through_the_master(ladder: Path) -> None:
    assert sorted(probe_resolutions(ladder)) == [(320, 180), (640, 360)]


def test_sidecar_vtt_holds_the_cues_and_ffprobe_accepts_it(ladder: Path) -> None:
    text = (ladder.parent / "subs" / "ko.vtt").read_text(encoding="utf-8")
    assert text.startswith("WEBVTT\n")
    assert "00:00:02.500 --> 00:00:03.500\n밥은 먹었니?" in text
    assert "X-TIMESTAMP-MAP" not in text
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "json",
                          str(ladder.parent / "subs" / "en.vtt")], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["streams"][0]["codec_name"] == "webvtt"


def test_subtitle_segments_carry_the_timestamp_map_and_their_own_cues(ladder: Path) -> None:
    folder = ladder.parent / "subs" / "en"
    playlist = (folder / "index.m3u8").read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist and playlist.count(".vtt") == 2
    first, second = ((folder / f"seg00{i}.vtt").read_text() for i in range(2))
    for segment in (first, second):
        assert segment.splitlines()[1].startswith("X-TIMESTAMP-MAP=MPEGTS:")
        assert segment.splitlines()[1].endswith(",LOCAL:00:00:00.000")
    assert "Hello" in first and "Have you eaten?" not in first
    assert "Have you eaten?" in second


def test_cue_text_is_escaped_for_webvtt() -> None:
    assert "a &lt;b&gt; &amp; c" in vtt_text([(0, 1, "a <b> & c")])


def test_it_refuses_a_zero_length_stream(tmp_path: Path) -> None:
    with pytest.raises(HlsError):
        make_hls(tmp_path, seconds=0, label="x")
