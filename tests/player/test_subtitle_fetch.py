"""Getting a title's subtitles onto disk over real HTTP on 127.0.0.1, which one is switched on, and a growing
(EVENT or live) rendition read again until it ends."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from piclient.catalog import Subtitle
from piclient.demo.server import StaticServer
from piclient.player.messages import LadderReady, SubtitleReady
from piclient.player.subtitle_fetch import fetch_all

# One SAMI file carrying both languages, as Korean subtitle sites publish them, in CP949.
BILINGUAL_SAMI = """<SAMI>
<HEAD>
<STYLE TYPE="text/css">
<!--
.KRCC { Name:한국어; lang:ko-KR; SAMIType:CC; }
.ENCC { Name:English; lang:en-US; SAMIType:CC; }
-->
</STYLE>
</HEAD>
<BODY>
<SYNC Start=1000><P Class=KRCC>안녕하세요
<SYNC Start=1000><P Class=ENCC>Good morning
<SYNC Start=2500><P Class=KRCC>&nbsp;
<SYNC Start=2500><P Class=ENCC>&nbsp;
</BODY>
</SAMI>
"""

RENDITION = ('#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="{name}",{language}{flags}'
             'URI="subs/{folder}/index.m3u8"')


def master(*renditions: str) -> str:
    return "\n".join(["#EXTM3U", *renditions, '#EXT-X-STREAM-INF:BANDWIDTH=500000,SUBTITLES="subs"',
                      "v0/index.m3u8", ""])


def rendition(name: str, folder: str, language: str | None, flags: str = "") -> str:
    tag = f'LANGUAGE="{language}",' if language is not None else ""
    return RENDITION.format(name=name, folder=folder, language=tag, flags=flags)


class Site:
    def __init__(self, root: Path, server: StaticServer) -> None:
        self.root = root
        self.server = server
        self.fail: set[str] = set()

    def url(self, name: str) -> str:
        return self.server.url + name

    def write(self, name: str, content: str | bytes) -> str:
        data = content.encode() if isinstance(content, str) else content
        (self.root / name).write_bytes(data)
        return self.url(name)

    def fetch(self, sidecars: list[Subtitle], stream: str, language: str, directory: Path) -> list[SubtitleReady]:
        posted: list[object] = []
        with requests.Session() as session:
            fetch_all("film", stream, sidecars, directory, posted.append, lambda: 0.0, session, language=language)
        assert any(isinstance(item, LadderReady) for item in posted) or stream.endswith("missing.m3u8")
        return [item for item in posted if isinstance(item, SubtitleReady)]


@pytest.fixture
def site(tmp_path: Path, ladder: Path) -> Iterator[Site]:
    root = tmp_path / "site"
    # The ladder's real WebVTT renditions (segments with X-TIMESTAMP-MAP), in Korean and English.
    shutil.copytree(ladder.parent / "subs", root / "subs")
    with StaticServer(root, fault=lambda path: 404 if path.rsplit("/", 1)[-1] in state.fail else None) as server:
        state = Site(root, server)
        yield state


def text_of(item: SubtitleReady) -> str:
    return Path(item.path).read_text(encoding="utf-8")


@pytest.mark.parametrize(("viewer", "shown", "hidden"), [("ko", "안녕하세요", "Good morning"),
                                                          ("en", "Good morning", "안녕하세요")])
def test_one_sami_file_listed_for_two_languages_gives_each_language_its_own_file(
        site: Site, tmp_path: Path, viewer: str, shown: str, hidden: str) -> None:
    url = site.write("film.smi", BILINGUAL_SAMI.encode("cp949"))
    stream = site.write("master.m3u8", master())
    ready = site.fetch([Subtitle(url=url, language="ko", label="한국어"),
                        Subtitle(url=url, language="en", label="English")], stream, viewer, tmp_path / "subs")
    by_language = {item.language: item for item in ready}
    assert by_language["ko"].path != by_language["en"].path
    assert "안녕하세요" in text_of(by_language["ko"]) and "Good morning" not in text_of(by_language["ko"])
    assert "Good morning" in text_of(by_language["en"]) and "안녕하세요" not in text_of(by_language["en"])
    chosen = [item for item in ready if item.select]
    assert len(chosen) == 1 and shown in text_of(chosen[0]) and hidden not in text_of(chosen[0])
    assert ready[0].select  # hers is fetched first, so it shows as early as it can


@pytest.mark.parametrize("tag", ["ko-KR", "KO", "kor"])
def test_a_korean_rendition_however_tagged_is_switched_on(site: Site, tmp_path: Path, tag: str) -> None:
    stream = site.write("master.m3u8", master(rendition("English", "en", "en", "DEFAULT=YES,"),
                                              rendition("한국어", "ko", tag)))
    ready = site.fetch([], stream, "ko", tmp_path / "subs")
    assert [(item.language, item.select) for item in ready] == [(tag, True), ("en", False)]
    assert "안녕하세요" in text_of(ready[0])


def test_ffmpegs_rendition_without_a_language_is_switched_on(site: Site, tmp_path: Path) -> None:
    stream = site.write("master.m3u8", master(rendition("subtitle_0", "ko", None, "DEFAULT=YES,")))
    ready = site.fetch([], stream, "ko", tmp_path / "subs")
    assert [(item.language, item.label, item.select) for item in ready] == [("und", "subtitle_0", True)]


def test_a_foreign_rendition_nobody_marked_stays_off(site: Site, tmp_path: Path) -> None:
    stream = site.write("master.m3u8", master(rendition("English", "en", "en")))
    ready = site.fetch([], stream, "ko", tmp_path / "subs")
    assert [(item.language, item.select) for item in ready] == [("en", False)]


def test_the_catalogs_file_wins_over_a_rendition_in_the_same_language(site: Site, tmp_path: Path) -> None:
    url = site.write("ko.srt", "1\n00:00:01,000 --> 00:00:02,000\n가족이 고른 자막\n")
    stream = site.write("master.m3u8", master(rendition("한국어", "ko", "ko-KR", "DEFAULT=YES,"),
                                              rendition("English", "en", "en")))
    ready = site.fetch([Subtitle(url=url, language="ko")], stream, "ko", tmp_path / "subs")
    assert [(item.language, item.select) for item in ready] == [("ko", True), ("en", False)]
    assert "가족이 고른 자막" in text_of(ready[0])


def test_when_her_subtitle_cannot_be_fetched_the_rule_picks_again(site: Site, tmp_path: Path) -> None:
    site.fail.add("ko.srt")
    stream = site.write("master.m3u8", master(rendition("English", "en", "en", "DEFAULT=YES,"),
                                              rendition("한국어", "ko", "ko-KR")))
    ready = site.fetch([Subtitle(url=site.url("ko.srt"), language="ko")], stream, "ko", tmp_path / "subs")
    # The catalog's Korean file is gone (404), so the Korean rendition it stood in front of is hers.
    assert [(item.language, item.select) for item in ready] == [("ko-KR", True), ("en", False)]
    assert "안녕하세요" in text_of(ready[0])


def test_a_rendition_with_signs_at_line_0_is_stored_for_mpv_with_an8(site: Site, tmp_path: Path) -> None:
    (site.root / "subs" / "signs").mkdir()
    site.write("subs/signs/index.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\nseg0.vtt\n#EXT-X-ENDLIST\n")
    site.write("subs/signs/seg0.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:03.000 line:0\n은행\n\n"
                                      "00:00:02.000 --> 00:00:04.000\n어서 와\n")
    stream = site.write("master.m3u8", master(rendition("한국어", "signs", "ko")))
    [ready] = site.fetch([], stream, "ko", tmp_path / "subs")
    assert ready.path.endswith(".srt")
    assert text_of(ready) == ("1\n00:00:01,000 --> 00:00:03,000\n{\\an8}은행\n\n"
                              "2\n00:00:02,000 --> 00:00:04,000\n어서 와\n")


# --- growing renditions ------------------------------------------------------------------------------

EVENT_MASTER = """#EXTM3U
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="한국어",LANGUAGE="ko",DEFAULT=YES,URI="subs/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=500000,SUBTITLES="subs"
v/index.m3u8
"""
LINES = ["첫째 줄", "둘째 줄", "셋째 줄", "넷째 줄"]


class GrowingEvent:
    """An EVENT subtitle playlist on disk that gains one segment each time the worker waits."""

    def __init__(self, root: Path) -> None:
        (root / "v").mkdir(parents=True)
        (root / "master.m3u8").write_text(EVENT_MASTER, encoding="utf-8")
        (root / "v" / "index.m3u8").write_text("#EXTM3U\n#EXTINF:2,\nseg0.ts\n", encoding="utf-8")
        self.subs = root / "subs"
        self.subs.mkdir()
        self.count = 0
        self.waits: list[float] = []
        self.add()

    def add(self, *, end: bool = False) -> None:
        n = self.count
        (self.subs / f"seg{n}.vtt").write_text(
            f"WEBVTT\n\n00:00:{2 * n:02d}.000 --> 00:00:{2 * n + 1:02d}.000\n{LINES[n]}\n", encoding="utf-8")
        self.count += 1
        lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:2", "#EXT-X-PLAYLIST-TYPE:EVENT"]
        for i in range(self.count):
            lines += ["#EXTINF:2,", f"seg{i}.vtt"]
        if end:
            lines.append("#EXT-X-ENDLIST")
        (self.subs / "index.m3u8").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.count < len(LINES):
            self.add(end=self.count == len(LINES) - 1)


def test_a_growing_subtitle_playlist_is_read_again_until_its_endlist(tmp_path: Path) -> None:
    event = GrowingEvent(tmp_path / "site")
    posted: list[object] = []
    with StaticServer(tmp_path / "site") as server:
        announced = fetch_all("live", server.url + "master.m3u8", (), tmp_path / "cache", posted.append,
                              session=requests.Session(), sleep=event.sleep)
    ready = [item for item in posted if isinstance(item, SubtitleReady)]
    assert announced == 1 and [r.updated for r in ready] == [False, True, True, True]
    assert len({r.path for r in ready}) == 1  # one file, read again by the player
    text = Path(ready[-1].path).read_text(encoding="utf-8")
    assert all(line in text for line in LINES)
    assert event.waits == [2.0, 2.0, 2.0]  # its target duration; and it stopped at the ENDLIST
    assert any(isinstance(item, LadderReady) for item in posted)


def test_it_stops_reading_when_the_film_is_no_longer_playing(tmp_path: Path) -> None:
    event = GrowingEvent(tmp_path / "site")
    playing = {"on": True}

    def sleep(seconds: float) -> None:
        event.sleep(seconds)
        playing["on"] = len(event.waits) < 2  # she pressed BACK during the second wait

    posted: list[object] = []
    with StaticServer(tmp_path / "site") as server:
        fetch_all("live", server.url + "master.m3u8", (), tmp_path / "cache", posted.append,
                  session=requests.Session(), still_playing=lambda: playing["on"], sleep=sleep)
    ready = [item for item in posted if isinstance(item, SubtitleReady)]
    assert [r.updated for r in ready] == [False, True] and len(event.waits) == 2


def test_a_complete_playlist_is_read_once(tmp_path: Path) -> None:
    event = GrowingEvent(tmp_path / "site")
    event.add(end=True)
    with StaticServer(tmp_path / "site") as server:
        fetch_all("vod", server.url + "master.m3u8", (), tmp_path / "cache", lambda item: None,
                  session=requests.Session(), sleep=event.sleep)
    assert event.waits == []
