"""Build the demo library the way the maintainer builds his: through the publish pipeline.

The demo makes only what a maintainer would have on his disk (``piclient.demo.sources``): for each
invented film and each episode of one series a short film file, its subtitles (a UTF-8 SRT per
language for the films, one CP949 SAMI with both languages for the episodes) and a poster picture.
``piclient.publish.pipeline`` packages each of them like any other film: probe, H.264/AAC HLS rung,
WebVTT subtitles, poster, seek thumbnails, the libmpv check, the catalog entry. Then the demo sets
what a real library gathers over months: when each title was added, and the series' names.

The build can be interrupted at any point and run again: sources are written through hidden
temporary names, the pipeline keeps finished rungs in ``.work`` and names a title in the catalog only
once it is whole, titles already in the catalog are not packaged again, and the ``.complete`` marker
is written last.
"""

from __future__ import annotations

import colorsys
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from piclient.demo.sources import Cue, make_film, make_poster, write_sami, write_srt
from piclient.fsutil import atomic_write
from piclient.publish import catalog_file
from piclient.publish.pipeline import WORK, Request, publish, slug

FORMAT_VERSION = 4  # 2: seek thumbnails; 3: subtitles all through the film; 4: packaged by the publish pipeline
# Long enough to stop after a minute or two, come back and resume (the launcher offers to resume
# after 30 s), short enough that the whole library builds in a few minutes: a flat colour and one
# 360p rung encoded with x264's fastest preset (docs/benchmarks.md has the build time).
DEMO_SECONDS = 180.0
DEMO_PRESET = "ultrafast"  # the pipeline's default is for real films; the demo's flat frames need no more
CUE_BLOCK_S = 30.0  # the four lines repeat every this many seconds
COMPLETE = ".complete"
BUILDING = ".building"
SOURCES = ".sources"  # hidden: the server never serves it
BUILT = ("films", "series", WORK, SOURCES, "catalog.json", COMPLETE)
_PREVIOUS_LAYOUT = ("media", "posters")  # what format 3 and older wrote


class Entry(NamedTuple):
    id: str
    ko: str
    en: str
    year: int
    about_ko: str
    about_en: str
    days_ago: float = 0.0  # how long before the build it counts as added


FILMS: tuple[Entry, ...] = (
    Entry("spring-day", "봄날", "Spring Day", 2001,
          "시골 간이역의 역무원이 해마다 봄이면 같은 기차를 기다리는 한 여인을 만난다.",
          "A country stationmaster meets a woman who waits for the same train every spring.", 2),
    Entry("grandmothers-kitchen", "할머니의 부엌", "Grandmother's Kitchen", 2019,
          "세 손녀가 할머니의 낡은 요리 공책을 따라 명절 음식을 만들며 가족의 비밀을 알게 된다.",
          "Three granddaughters cook the holiday meal from their grandmother's worn notebook "
          "and uncover a family secret.", 1),
    Entry("little-bookshop", "골목 책방", "The Little Bookshop", 2018,
          "문을 닫기 직전의 동네 책방에 이웃들이 하나둘 모여든다.",
          "As the old neighbourhood bookshop prepares to close, its neighbours quietly rally round.", 3),
    Entry("kimjang-day", "김장하는 날", "Kimjang Day", 2023,
          "온 가족이 모여 김장을 하는 하루, 웃음과 잔소리가 끊이지 않는다.",
          "The whole family gathers to make the winter kimchi, and the laughter and nagging never stop.", 6),
    Entry("river-of-cranes", "두루미의 강", "River of Cranes", 2022,
          "철원 평야에서 겨울을 나는 두루미 가족의 한 해를 따라간다.",
          "A year with a family of red-crowned cranes wintering on the Cheorwon plain.", 12),
    Entry("the-last-ferry", "마지막 배", "The Last Ferry", 1968,
          "섬마을의 늙은 선장이 폭풍이 오기 전 마지막 배를 띄울지 고민하는 하룻밤.",
          "One night on a small island, as the old captain decides whether to sail before the storm.", 40),
    Entry("under-the-persimmon-tree", "감나무 아래서", "Under the Persimmon Tree", 2015,
          "도시에서 돌아온 아들이 아버지와 함께 감을 따며 오랜 오해를 푼다.",
          "A son home from the city picks persimmons with his father and slowly mends an old quarrel.", 90),
    Entry("mothers-of-the-sea", "바다의 어머니들", "Mothers of the Sea", 2020,
          "제주 해녀들이 바다에서 보내는 사계절을 담은 다큐멘터리.",
          "Four seasons with the women divers of Jeju, who still harvest the sea on a single breath.", 120),
    Entry("letters-from-busan", "부산에서 온 편지", "Letters from Busan", 1974,
          "전쟁 통에 헤어진 두 자매가 삼십 년 동안 주고받은 편지 이야기.",
          "Two sisters parted by the war stay close through thirty years of letters.", 200),
    Entry("four-seasons-of-jirisan", "지리산의 사계", "Four Seasons of Jirisan", 2021,
          "봄 철쭉부터 겨울 눈꽃까지, 지리산이 보여주는 한 해.",
          "From spring azaleas to winter frost, a year in the life of Jirisan mountain.", 300),
    Entry("the-wedding-photograph", "결혼 사진", "The Wedding Photograph", 1959,
          "읍내 사진관 주인이 아무도 찾아가지 않은 결혼 사진 속 부부를 찾아 나선다.",
          "A village photographer sets out to find the couple in a wedding portrait nobody collected.", 400),
)

SERIES = Entry("our-neighbourhood", "우리 동네 이야기", "Our Neighbourhood", 2024,
               "작은 시장 골목 사람들의 소소하고 따뜻한 일상.",
               "The small, warm everyday lives of the people of one little market street.", 1)
EPISODES: tuple[Entry, ...] = (
    Entry("our-neighbourhood-s1e1", "새 이웃", "The New Neighbours", 2024,
          "세탁소 옆집에 젊은 부부가 이사 온다.", "A young couple moves in next to the dry cleaner's."),
    Entry("our-neighbourhood-s1e2", "시장의 아침", "Morning at the Market", 2024,
          "떡집 할머니가 몸져눕자 온 시장이 가게를 대신 지킨다.",
          "When the rice-cake lady falls ill, the whole market keeps her shop open."),
    Entry("our-neighbourhood-s1e3", "골목 잔치", "The Street Party", 2024,
          "첫눈 오는 날, 골목 사람들이 함께 잔치를 연다.",
          "On the day of the first snow, the whole street throws a party together."),
)

LINES = (("밥은 먹었니?", "Have you eaten?"), ("조심히 들어가.", "Get home safely."),
         ("오늘 날씨가 참 좋네요.", "What lovely weather today."), ("내일 또 만나요.", "See you tomorrow."),
         ("엄마, 보고 싶었어요.", "Mum, I missed you."), ("천천히 먹어라.", "Eat slowly, now."))


def build_demo_library(root: Path, *, seconds: float = DEMO_SECONDS, now: datetime | None = None,
                       check_playback: bool = True, workers: int | None = None) -> Path:
    """Make ``root`` a complete demo library unless it already is one; return its ``catalog.json``.

    ``check_playback`` is the pipeline's libmpv decode of every title before it reaches the catalog.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    stamp = {"format": FORMAT_VERSION, "seconds": seconds}
    catalog = root / catalog_file.CATALOG
    if _read_json(root / COMPLETE) == stamp and catalog.exists():
        return catalog
    _start(root, stamp)
    published = _playable_ids(catalog_file.read(root))
    requests = [r for r in demo_requests(root, seconds, check_playback) if r.id not in published]
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2) as pool:
        _wait([pool.submit(_make_and_publish, r) for r in requests])
    when = now or datetime.now(UTC)
    catalog_file.update(root, lambda doc: settle(doc, when), must_keep=tuple(ids_of_demo()))
    atomic_write(root / COMPLETE, json.dumps(stamp).encode())
    (root / BUILDING).unlink(missing_ok=True)
    return catalog


class DemoRequest(NamedTuple):
    id: str  # the playable id the pipeline will give it
    make_sources: Callable[[], None]
    request: Request


def demo_requests(root: Path, seconds: float, check_playback: bool) -> list[DemoRequest]:
    """What to publish: each film and episode with the sources it is made from."""
    src = root / SOURCES
    out = []
    for index, film in enumerate(FILMS):
        paths = {"film": src / f"{film.id}.mp4", "poster": src / f"{film.id}.jpg",
                 "ko": src / f"{film.id}.ko.srt", "en": src / f"{film.id}.en.srt"}

        def make(film: Entry = film, index: int = index, paths: dict[str, Path] = paths) -> None:
            _film(paths["film"], f"{film.ko}\n{film.en}", index, seconds)
            make_poster(paths["poster"], film.ko, f"{film.en} · {film.year}", seed=index * 7919 + 17)
            for language in ("ko", "en"):
                write_srt(paths[language], cues(film, index, seconds, language))

        out.append(DemoRequest(f"{slug(film.en)}-{film.year}", make, Request(
            film=paths["film"], library=root, subtitles=(paths["ko"], paths["en"]), subtitle_languages=("ko", "en"),
            title_ko=film.ko, title_en=film.en, year=film.year, description_ko=film.about_ko,
            description_en=film.about_en, poster=paths["poster"], preset=DEMO_PRESET,
            check_playback=check_playback)))
    for number, episode in enumerate(EPISODES, start=1):
        index = len(FILMS) + number - 1
        paths = {"film": src / f"{episode.id}.mp4", "subs": src / f"{episode.id}.smi",
                 "poster": src / f"{SERIES.id}.jpg"}

        def make(episode: Entry = episode, index: int = index, number: int = number,
                 paths: dict[str, Path] = paths) -> None:
            label = f"{SERIES.ko} {number}화 · {episode.ko}\n{SERIES.en} {number}: {episode.en}"
            _film(paths["film"], label, index, seconds)
            if number == 1:
                make_poster(paths["poster"], SERIES.ko, f"{SERIES.en} · {SERIES.year}", seed=len(FILMS) * 7919 + 17)
            write_sami(paths["subs"], {language: cues(episode, index, seconds, language) for language in ("ko", "en")})

        out.append(DemoRequest(f"{slug(SERIES.en)}-s01e{number:02d}", make, Request(
            film=paths["film"], library=root, subtitles=(paths["subs"],), title_ko=episode.ko, title_en=episode.en,
            description_ko=episode.about_ko, description_en=episode.about_en, series=SERIES.en, season=1,
            episode=number, poster=paths["poster"] if number == 1 else None, preset=DEMO_PRESET,
            check_playback=check_playback)))
    return out


def _film(path: Path, label: str, index: int, seconds: float) -> None:
    if not path.exists():
        make_film(path, seconds=seconds, label=label, color=_colour(index))


def _make_and_publish(item: DemoRequest) -> None:
    item.make_sources()
    result = publish(item.request)
    if result.playable_id != item.id:
        raise RuntimeError(f"the pipeline named {item.request.film.name} {result.playable_id!r}, not {item.id!r}")


def ids_of_demo() -> list[str]:
    return [f"{slug(f.en)}-{f.year}" for f in FILMS] + [slug(SERIES.en)] + [
        f"{slug(SERIES.en)}-s01e{n:02d}" for n in range(1, len(EPISODES) + 1)]


def settle(doc: dict[str, Any], now: datetime) -> None:
    """What a real library gathers over months and the pipeline does not decide: when each title came
    (so the home screen has a "New" row and older titles), and the series' names in both languages."""
    added = {f"{slug(f.en)}-{f.year}": f.days_ago for f in FILMS} | {slug(SERIES.en): SERIES.days_ago}
    for title in doc["titles"]:
        if not isinstance(title, dict) or title.get("id") not in added:
            continue
        title["added_at"] = _stamp_time(now, added[title["id"]])
        if title.get("kind") == "series":
            title.update(title={"ko": SERIES.ko, "en": SERIES.en}, year=SERIES.year,
                         description={"ko": SERIES.about_ko, "en": SERIES.about_en})
            for season in title.get("seasons", []):
                for episode in season.get("episodes", []):
                    episode["added_at"] = title["added_at"]
    # Films first in the order of FILMS, the series last: the catalog reads like the list above.
    order = {title_id: n for n, title_id in enumerate(added)}
    doc["titles"].sort(key=lambda t: order.get(t.get("id"), len(order)) if isinstance(t, dict) else len(order))


def _playable_ids(doc: dict[str, Any]) -> set[str]:
    ids = set()
    for title in doc["titles"]:
        if not isinstance(title, dict):
            continue
        ids.add(str(title.get("id")))
        ids.update(str(e.get("id")) for s in title.get("seasons", []) for e in s.get("episodes", [])
                   if isinstance(e, dict))
    return ids


def _start(root: Path, stamp: dict[str, Any]) -> None:
    """Resume a build with the same stamp; start over if the files were made by another version."""
    previous = _read_json(root / BUILDING) or _read_json(root / COMPLETE)
    if previous is not None and previous != stamp:
        for name in (*BUILT, *_PREVIOUS_LAYOUT):
            path = root / name
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    (root / COMPLETE).unlink(missing_ok=True)
    atomic_write(root / BUILDING, json.dumps(stamp).encode())
    (root / SOURCES).mkdir(exist_ok=True)


def _wait(jobs: Sequence[Future[None]]) -> None:
    errors = [job.exception() for job in jobs]
    for error in errors:
        if error is not None:
            raise error


def _colour(index: int) -> str:
    r, g, b = colorsys.hsv_to_rgb((index * 0.137) % 1.0, 0.45, 0.45)
    return f"0x{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def cues(entry: Entry, index: int, seconds: float, language: str) -> list[Cue]:
    """Four lines (the title, the description and two everyday lines) in every CUE_BLOCK_S of the
    stream, so subtitles show wherever she stops and resumes."""
    ko = language == "ko"
    first, second = LINES[index % len(LINES)], LINES[(index + 1) % len(LINES)]
    texts = [entry.ko if ko else entry.en, entry.about_ko if ko else entry.about_en,
             first[0] if ko else first[1], second[0] if ko else second[1]]
    spans = ((0.05, 0.17), (0.22, 0.45), (0.50, 0.65), (0.72, 0.88))
    block = min(seconds, CUE_BLOCK_S)
    starts = [n * block for n in range(max(1, int(seconds / block + 1e-6)))]
    return [(round(start + a * block, 3), round(start + b * block, 3), text)
            for start in starts for (a, b), text in zip(spans, texts, strict=True)]


def _stamp_time(now: datetime, days_ago: float) -> str:
    # A few hours per day of age keeps titles added "on the same day" in a stable order.
    when = now.astimezone(UTC) - timedelta(days=days_ago, hours=days_ago % 5)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- files --------------------------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


if __name__ == "__main__":  # python -m piclient.demo.library DIR
    import sys

    started = time.monotonic()
    print(build_demo_library(Path(sys.argv[1] if len(sys.argv) > 1 else "demo-library")),
          f"({time.monotonic() - started:.1f} s)")
