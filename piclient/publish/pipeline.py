"""One film (or episode) from source file to catalog entry: the steps in order, with progress.

Everything is built in ``<library>/.work/<id>/`` (hidden: the server never serves it), checked there,
then moved to ``films/<id>/`` or ``series/<series>/s01e02/`` and named in the catalog. Until that
last step the catalog and the published folders are as they were; an interrupted run keeps its
finished rungs in the work folder and picks up from there.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from piclient.publish import artwork, catalog_file, verify
from piclient.publish.errors import PublishError
from piclient.publish.ladder import Rung, choose_rungs
from piclient.publish.probe import Source, probe
from piclient.publish.subtitles import Track, read_tracks, sync_warnings, write_track
from piclient.publish.transcode import DEFAULT_PRESET, PLAYLIST, EncodedRung, encode_rung, first_video_pts

WORK = ".work"
MASTER = "master.m3u8"
SUBTITLE_GROUP = "subs"
# Shares of the progress bar; the encode's share is split between rungs by their pixels.
WEIGHTS = {"probe": 0.01, "encode": 0.80, "subtitles": 0.01, "artwork": 0.06, "verify": 0.11, "catalog": 0.01}
STAGES = tuple(WEIGHTS)

ProgressFn = Callable[[str, float], None]  # (stage, overall fraction 0..1)


@dataclass(frozen=True)
class Request:
    film: Path
    library: Path
    subtitles: tuple[Path, ...] = ()
    subtitle_languages: tuple[str, ...] = ()  # per subtitle file, "" (or missing) to tell by name and text
    title_ko: str = ""
    title_en: str = ""
    year: int | None = None
    description_ko: str = ""
    description_en: str = ""
    poster: Path | None = None
    series: str = ""
    season: int = 1
    episode: int | None = None
    subtitle_offset: float = 0.0
    preset: str = DEFAULT_PRESET
    check_playback: bool = True  # the libmpv decode; off only where there is no libmpv (said in the result)


@dataclass
class Result:
    title_id: str
    playable_id: str
    folder: Path
    duration: float
    rungs: list[str] = field(default_factory=list)
    subtitles: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def publish(request: Request, progress: ProgressFn = lambda stage, fraction: None) -> Result:
    """Package ``request.film`` into ``request.library`` and add it to the catalog. Raises PublishError."""
    library = request.library.absolute()
    _check_request(request)
    done = 0.0

    def report(stage: str, within: float) -> None:
        progress(stage, min(1.0, done + WEIGHTS[stage] * within))

    report("probe", 0)
    catalog_file.read(library)  # a catalog we could not update fails now, not after the encode
    source = probe(request.film)
    tracks = _read_subtitles(request)  # before the long encode: a bad subtitle file fails in a second
    title_id, playable_id, relative = _names(request)
    work = library / WORK / playable_id
    work.mkdir(parents=True, exist_ok=True)
    done += WEIGHTS["probe"]

    rungs = choose_rungs(source)
    costs = [r.width * r.height for r in rungs]
    encoded: list[EncodedRung] = []
    for rung, cost in zip(rungs, costs, strict=True):
        share = WEIGHTS["encode"] * cost / sum(costs)
        start = done
        encoded.append(encode_rung(source, rung, work, preset=request.preset,
                                   progress=lambda f, s=start, w=share: progress("encode", s + w * f)))
        done = start + share
    _remove_stale_rungs(work, rungs)

    report("subtitles", 0)
    mpegts = first_video_pts(encoded[0].folder)
    sidecars = []
    warnings = []
    for track in tracks:
        sidecars.append((track, write_track(track, work / "subs", source.duration, mpegts)))
        warnings += sync_warnings(track, source.duration)
    (work / MASTER).write_text(master_playlist(encoded, [t for t, _ in sidecars]), encoding="utf-8")
    done += WEIGHTS["subtitles"]

    report("artwork", 0)
    if request.poster is not None:
        artwork.poster_from_image(request.poster, work)
    else:
        artwork.poster_from_film(source.path, source.duration, work)
    report("artwork", 0.3)
    artwork.seek_thumbnails(work / encoded[0].rung.name / PLAYLIST, source.duration, work)
    done += WEIGHTS["artwork"]

    report("verify", 0)
    with verify.serve(work) as base, requests.Session() as session:
        verify.check_urls(base + MASTER, [f"{base}subs/{name}" for _, name in sidecars], session)
        report("verify", 0.2)
        if request.check_playback:
            verify.play_points(base + MASTER, source.duration)
        else:
            warnings.append("not played back before publishing (no libmpv here)")
    done += WEIGHTS["verify"]

    report("catalog", 0)
    final = library / relative
    entry = _entry(request, source, relative, sidecars, encoded, warnings)
    _install(work, final, lambda: catalog_file.update(
        library, lambda doc: _add(doc, request, title_id, entry, relative), must_keep=(playable_id,)))
    progress("catalog", 1.0)
    return Result(title_id=title_id, playable_id=playable_id, folder=final, duration=source.duration,
                  rungs=[e.rung.name for e in encoded], subtitles=[t.language for t, _ in sidecars],
                  warnings=warnings)


def _check_request(request: Request) -> None:
    if request.series and request.episode is None:
        raise PublishError("an episode of a series needs --episode N")
    if request.episode is not None and not request.series:
        raise PublishError("--episode needs --series NAME")
    if not -86400 < request.subtitle_offset < 86400:
        raise PublishError("the subtitle offset must be under a day")
    for path in (*request.subtitles, *([request.poster] if request.poster else [])):
        if not Path(path).is_file():
            raise PublishError(f"{path} does not exist or is not a file")


def _read_subtitles(request: Request) -> list[Track]:
    tracks: list[Track] = []
    for index, path in enumerate(request.subtitles):
        language = request.subtitle_languages[index] if index < len(request.subtitle_languages) else ""
        tracks += read_tracks(Path(path), offset=request.subtitle_offset, language=language)
    seen: dict[str, int] = {}
    named = []
    for track in tracks:
        # Two files in one language (a full and a signs-only file) both stay, under their own names.
        seen[track.language] = seen.get(track.language, 0) + 1
        if seen[track.language] > 1:
            track = Track(f"{track.language}-{seen[track.language]}", track.label, track.cues, track.source)
        named.append(track)
    return named


# --- names and the catalog entry ---------------------------------------------------------------------


def slug(text: str) -> str:
    """An id part from a name: ASCII letters and digits with dashes; a hash for names with none."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:60].strip("-")
    return base or "t-" + hashlib.sha256(text.encode()).hexdigest()[:10]


def _names(request: Request) -> tuple[str, str, str]:
    """(title id, playable id, folder relative to the library)."""
    if request.series:
        series_id = slug(request.series)
        playable = f"{series_id}-s{request.season:02d}e{request.episode:02d}"
        return series_id, playable, f"series/{series_id}/s{request.season:02d}e{request.episode:02d}"
    name = request.title_en or request.title_ko or request.film.stem
    title_id = slug(name) + (f"-{request.year}" if request.year else "")
    return title_id, title_id, f"films/{title_id}"


def _localized(ko: str, en: str) -> dict[str, str]:
    return {k: v for k, v in (("ko", ko.strip()), ("en", en.strip())) if v}


def _entry(request: Request, source: Source, relative: str, sidecars: list[tuple[Track, str]],
           encoded: list[EncodedRung], warnings: list[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "stream": f"{relative}/{MASTER}",
        "subtitles": [{"url": f"{relative}/subs/{name}", "language": t.language, "label": t.label}
                      for t, name in sidecars],
        "thumbnails": f"{relative}/{artwork.THUMB_DIR}/{artwork.THUMB_INDEX}",
        "duration": round(source.duration, 3),
        # For the maintainer's library page; boxes ignore fields they do not know.
        "publish": {"source": source.path.name, "rungs": [e.rung.name for e in encoded],
                    "warnings": warnings, "published_at": _now()},
    }
    description = _localized(request.description_ko, request.description_en)
    if description:
        entry["description"] = description
    return entry


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add(doc: dict[str, Any], request: Request, title_id: str, entry: dict[str, Any], relative: str) -> None:
    poster = f"{relative}/{artwork.POSTER_NAME}"
    names = _localized(request.title_ko, request.title_en)
    existing = catalog_file.find_title(doc, title_id)
    if not request.series:
        title = {"id": title_id, "kind": "film", "title": names or request.film.stem, "poster": poster, **entry,
                 "added_at": (existing or {}).get("added_at") or _now()}
        if request.year:
            title["year"] = request.year
        _replace(doc, title_id, title)
        return
    series = existing if existing and existing.get("kind") == "series" else None
    if series is None:
        series = {"id": title_id, "kind": "series", "title": request.series, "poster": poster,
                  "added_at": _now(), "seasons": []}
        if request.year:
            series["year"] = request.year
        _replace(doc, title_id, series)
    elif request.poster is not None or not series.get("poster"):
        series["poster"] = poster
    seasons = series.setdefault("seasons", [])
    season = next((s for s in seasons if isinstance(s, dict) and s.get("number") == request.season), None)
    if season is None:
        season = {"number": request.season, "episodes": []}
        seasons.append(season)
        seasons.sort(key=lambda s: s.get("number", 0) if isinstance(s, dict) else 0)
    episode_id = f"{title_id}-s{request.season:02d}e{request.episode:02d}"
    episode = {"id": episode_id, "number": request.episode, **entry, "added_at": _now()}
    if names:
        episode["title"] = names
    episodes = [e for e in season.setdefault("episodes", []) if not (isinstance(e, dict) and e.get("id") == episode_id)]
    episodes.append(episode)
    episodes.sort(key=lambda e: e.get("number", 0) if isinstance(e, dict) else 0)
    season["episodes"] = episodes
    # A new episode brings the series back to the "New" row.
    series["added_at"] = _now()


def _replace(doc: dict[str, Any], title_id: str, title: dict[str, Any]) -> None:
    titles = doc["titles"]
    for i, old in enumerate(titles):
        if isinstance(old, dict) and old.get("id") == title_id:
            titles[i] = title
            return
    titles.append(title)


# --- files -------------------------------------------------------------------------------------------


def _remove_stale_rungs(work: Path, rungs: list[Rung]) -> None:
    wanted = {r.name for r in rungs}
    for folder in work.iterdir():
        if folder.is_dir() and re.fullmatch(r"\d+p", folder.name) and folder.name not in wanted:
            shutil.rmtree(folder)


def master_playlist(encoded: list[EncodedRung], tracks: list[Track]) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for i, track in enumerate(tracks):
        lines.append(f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="{SUBTITLE_GROUP}",NAME="{track.label}",'
                     f'LANGUAGE="{track.language}",DEFAULT={"YES" if i == 0 else "NO"},AUTOSELECT=YES,'
                     f'URI="subs/{track.language}/index.m3u8"')
    group = f',SUBTITLES="{SUBTITLE_GROUP}"' if tracks else ""
    for rung in encoded:
        lines.append(f"#EXT-X-STREAM-INF:BANDWIDTH={rung.peak_bps},AVERAGE-BANDWIDTH={rung.average_bps},"
                     f'RESOLUTION={rung.rung.width}x{rung.rung.height},FRAME-RATE={rung.fps:.3f},'
                     f'CODECS="{rung.codecs}"{group}')
        lines.append(f"{rung.rung.name}/{PLAYLIST}")
    return "\n".join(lines) + "\n"


def _install(work: Path, final: Path, write_catalog: Callable[[], object]) -> None:
    """Move the checked package into place and name it in the catalog; undo the move if that fails."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = final.parent / f".{final.name}.old-{int(time.time())}"
    had_old = final.exists()
    if had_old:
        final.rename(old)
    work.rename(final)
    try:
        write_catalog()
    except BaseException:
        final.rename(work)
        if had_old:
            old.rename(final)
        raise
    if had_old:
        shutil.rmtree(old, ignore_errors=True)
