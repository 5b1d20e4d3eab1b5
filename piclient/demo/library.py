"""Build the demo library: invented films and a series as real HLS ladders, posters and a catalog.

The build can be interrupted at any point and run again: each stream is encoded into a hidden
temporary folder and renamed into place when whole, posters and the catalog are written atomically,
and the ``.complete`` marker is written last.
"""

from __future__ import annotations

import colorsys
import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from piclient.demo.hls import LANGUAGE_NAMES, Cue, make_hls
from piclient.demo.posters import draw_poster, save_jpeg
from piclient.demo.thumbnails import make_thumbnails
from piclient.fsutil import atomic_write

FORMAT_VERSION = 3  # 2: seek thumbnails; 3: subtitles all through the film
# Long enough to stop after a minute or two, come back and resume (the launcher offers to resume
# after 30 s), short enough that the whole library builds in a minute or two: a flat colour, a
# 360p and a 180p variant and ffmpeg's fastest preset cost about 10 s of CPU per film.
DEMO_SECONDS = 180.0
CUE_BLOCK_S = 30.0  # the four lines repeat every this many seconds
THUMBNAIL_EVERY_S = 10.0
COMPLETE = ".complete"
BUILDING = ".building"


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


def build_demo_library(root: Path, *, seconds: float = DEMO_SECONDS, now: datetime | None = None) -> Path:
    """Make ``root`` a complete demo library unless it already is one; return its ``catalog.json``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    stamp = {"format": FORMAT_VERSION, "seconds": seconds}
    catalog = root / "catalog.json"
    if _read_json(root / COMPLETE) == stamp and catalog.exists():
        return catalog
    _start(root, stamp)
    labels = [f"{film.ko}\n{film.en}" for film in FILMS] + [
        f"{SERIES.ko} {n}화 · {ep.ko}\n{SERIES.en} {n}: {ep.en}" for n, ep in enumerate(EPISODES, start=1)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        jobs = [pool.submit(_build_stream, root / "media", entry, index, label, seconds)
                for index, (entry, label) in enumerate(zip((*FILMS, *EPISODES), labels, strict=True))]
        # Posters are drawn here while ffmpeg runs in the pool.
        for index, entry in enumerate((*FILMS, SERIES)):
            _build_poster(root / "posters", entry, index)
        _wait(jobs)
    when = now or datetime.now(UTC)
    atomic_write(catalog, json.dumps(catalog_data(when, seconds), ensure_ascii=False, indent=1).encode())
    atomic_write(root / COMPLETE, json.dumps(stamp).encode())
    (root / BUILDING).unlink(missing_ok=True)
    return catalog


def _start(root: Path, stamp: dict[str, Any]) -> None:
    """Resume a build with the same stamp; start over if the files were made by another version."""
    previous = _read_json(root / BUILDING) or _read_json(root / COMPLETE)
    if previous is not None and previous != stamp:
        for name in ("media", "posters"):
            shutil.rmtree(root / name, ignore_errors=True)
        for name in ("catalog.json", COMPLETE):
            (root / name).unlink(missing_ok=True)
    (root / COMPLETE).unlink(missing_ok=True)
    atomic_write(root / BUILDING, json.dumps(stamp).encode())
    for name in ("media", "posters"):
        (root / name).mkdir(exist_ok=True)
    for leftover in (root / "media").glob(".*"):  # half-built streams of an interrupted run
        shutil.rmtree(leftover, ignore_errors=True)


def _build_stream(media: Path, entry: Entry, index: int, label: str, seconds: float) -> None:
    final = media / entry.id
    if final.exists():
        return
    work = Path(tempfile.mkdtemp(dir=media, prefix=f".{entry.id}."))
    try:
        make_hls(work, seconds=seconds, label=label, color=_colour(index),
                 subtitles={"ko": cues(entry, index, seconds, "ko"), "en": cues(entry, index, seconds, "en")})
        make_thumbnails(work / "v0" / "index.m3u8", work / "thumbs", every_s=THUMBNAIL_EVERY_S)
        os.rename(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _build_poster(posters: Path, entry: Entry, index: int) -> None:
    path = posters / f"{entry.id}.jpg"
    if not path.exists():
        save_jpeg(draw_poster(entry.ko, f"{entry.en} · {entry.year}", seed=index * 7919 + 17), path)


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


# --- catalog ------------------------------------------------------------------------------------------


def catalog_data(now: datetime, seconds: float) -> dict[str, Any]:
    titles: list[dict[str, Any]] = [
        {"id": film.id, "kind": "film", **_names(film, year=True), "poster": f"posters/{film.id}.jpg",
         **_stream(film, seconds), "added_at": _stamp_time(now, film.days_ago)}
        for film in FILMS]
    episodes = [{"id": ep.id, "number": n, **_names(ep), **_stream(ep, seconds)}
                for n, ep in enumerate(EPISODES, start=1)]
    titles.append({"id": SERIES.id, "kind": "series", **_names(SERIES, year=True),
                   "poster": f"posters/{SERIES.id}.jpg", "added_at": _stamp_time(now, SERIES.days_ago),
                   "seasons": [{"number": 1, "episodes": episodes}]})
    return {"version": 1, "titles": titles}


def _names(entry: Entry, year: bool = False) -> dict[str, Any]:
    names: dict[str, Any] = {"title": {"ko": entry.ko, "en": entry.en}}
    if year:
        names["year"] = entry.year
    return {**names, "description": {"ko": entry.about_ko, "en": entry.about_en}}


def _stream(entry: Entry, seconds: float) -> dict[str, Any]:
    base = f"media/{entry.id}"
    subtitles = [{"url": f"{base}/subs/{lang}.vtt", "language": lang, "label": LANGUAGE_NAMES[lang]}
                 for lang in ("ko", "en")]
    return {"stream": f"{base}/master.m3u8", "subtitles": subtitles, "thumbnails": f"{base}/thumbs/thumbnails.vtt",
            "duration": round(seconds)}


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
