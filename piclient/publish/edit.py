"""Changes to a published title, made once at the source: names, year, description, poster; hide,
show or remove it; shift a subtitle track for everyone.

Hidden titles move from ``titles`` to ``hidden_titles`` in catalog.json: boxes read only ``titles``,
so they drop the title at their next sync, and bring it back (with her progress, which is stored per
id and never touched here) when it is shown again. Every change goes through ``catalog_file.update``:
under the lock, checked with the box's parser, written atomically.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from piclient.player.subtitles import SubtitleError, parse_subtitles
from piclient.publish import artwork, catalog_file
from piclient.publish.errors import PublishError
from piclient.publish.subtitles import LABELS, Track, shift_track, write_track
from piclient.publish.transcode import first_video_pts

HIDDEN = catalog_file.HIDDEN
MAX_SHIFT_S = 3600.0


def _title(doc: dict[str, Any], title_id: str, *, hidden: bool = False) -> dict[str, Any]:
    pool = doc.get(HIDDEN, []) if hidden else doc["titles"]
    found = next((t for t in pool if isinstance(t, dict) and t.get("id") == title_id), None)
    if found is None:
        raise PublishError(f"there is no {'hidden ' if hidden else ''}title {title_id!r} in the catalog")
    return found


def edit_title(library: Path, title_id: str, *, title_ko: str | None = None, title_en: str | None = None,
               year: int | None = None, description_ko: str | None = None, description_en: str | None = None,
               clear_year: bool = False) -> None:
    def change(doc: dict[str, Any]) -> None:
        title = _title(doc, title_id)
        title["title"] = _merge(title.get("title"), title_ko, title_en)
        if not title["title"]:
            raise PublishError("a title needs a name in at least one language")
        description = _merge(title.get("description"), description_ko, description_en)
        if description:
            title["description"] = description
        else:
            title.pop("description", None)
        if clear_year:
            title.pop("year", None)
        elif year is not None:
            if not 1850 <= year <= 2200:
                raise PublishError("the year must be between 1850 and 2200")
            title["year"] = year

    catalog_file.update(library, change, must_keep=(title_id,))


def _merge(current: Any, ko: str | None, en: str | None) -> dict[str, str]:
    names = dict(current) if isinstance(current, dict) else ({"*": current} if isinstance(current, str) else {})
    for key, value in (("ko", ko), ("en", en)):
        if value is not None:
            names.pop("*", None)  # a plain name stood for every language; now there are real ones
            if value.strip():
                names[key] = value.strip()
            else:
                names.pop(key, None)
    return names


def set_poster(library: Path, title_id: str, image: Path) -> None:
    """A new poster picture for the title; the file name changes so boxes fetch it again."""
    def change(doc: dict[str, Any]) -> None:
        title = _title(doc, title_id)
        folder = _folder(library, title)
        made = artwork.poster_from_image(image, folder)
        versioned = made.with_name(f"poster-{_next_version(folder)}.jpg")
        made.rename(versioned)
        title["poster"] = versioned.relative_to(library).as_posix()

    catalog_file.update(library, change, must_keep=(title_id,))


def _next_version(folder: Path) -> int:
    found = [int(m.group(1)) for p in folder.glob("poster-*.jpg") if (m := re.fullmatch(r"poster-(\d+)\.jpg", p.name))]
    return max(found, default=0) + 1


def _folder(library: Path, title: dict[str, Any]) -> Path:
    """The title's own folder: a film's, or a series' (the parent of its episodes' folders)."""
    if title.get("kind") == "series":
        return library / "series" / str(title["id"])
    stream = str(title.get("stream", ""))
    return library / stream.rsplit("/", 1)[0]


def set_hidden(library: Path, title_id: str, hidden: bool) -> None:
    def change(doc: dict[str, Any]) -> None:
        title = _title(doc, title_id, hidden=not hidden)
        source, target = (doc["titles"], doc.setdefault(HIDDEN, [])) if hidden else (doc[HIDDEN], doc["titles"])
        source.remove(title)
        target.append(title)

    catalog_file.update(library, change, must_keep=() if hidden else (title_id,))


def remove_title(library: Path, title_id: str) -> None:
    """Take the title out of the catalog, then delete its files. Her progress (on the server) stays."""
    removed: list[dict[str, Any]] = []

    def change(doc: dict[str, Any]) -> None:
        for pool in (doc["titles"], doc.get(HIDDEN, [])):
            for title in list(pool):
                if isinstance(title, dict) and title.get("id") == title_id:
                    pool.remove(title)
                    removed.append(title)
        if not removed:
            raise PublishError(f"there is no title {title_id!r} in the catalog")

    catalog_file.update(library, change)
    folder = _folder(library, removed[0])
    if folder.resolve().is_relative_to(library.resolve()) and folder.resolve() != library.resolve():
        shutil.rmtree(folder, ignore_errors=True)


def shift_subtitle(library: Path, title_id: str, language: str, seconds: float, episode_id: str | None = None) -> None:
    """Move every line of one subtitle track by ``seconds`` (positive: later), for every box."""
    if not -MAX_SHIFT_S <= seconds <= MAX_SHIFT_S or seconds == 0:
        raise PublishError("a shift is a non-zero number of seconds up to an hour")
    with catalog_file.locked(library):
        doc = catalog_file.read(library)
        title = _title(doc, title_id)
        entry = title
        if episode_id:
            entry = next((e for s in title.get("seasons", []) for e in s.get("episodes", [])
                          if isinstance(e, dict) and e.get("id") == episode_id), None)
            if entry is None:
                raise PublishError(f"there is no episode {episode_id!r} in {title_id!r}")
        sub = next((s for s in entry.get("subtitles", []) if s.get("language") == language), None)
        if sub is None or "://" in str(sub.get("url", "")):
            raise PublishError(f"{title_id} has no published {language!r} subtitle to shift")
        vtt = library / str(sub["url"])
        folder = vtt.parent.parent
        try:
            cues = parse_subtitles(vtt.read_text(encoding="utf-8"), vtt.name)
        except (OSError, UnicodeDecodeError, SubtitleError) as exc:
            raise PublishError(f"the {language} subtitle file cannot be read", detail=str(exc)) from None
        track = shift_track(Track(language, LABELS.get(language, language), tuple(cues), vtt.name), seconds)
        if not track.cues:
            raise PublishError("no subtitle lines would be left after that shift")
        duration = float(entry.get("duration") or 0) or max(c.end for c in track.cues)
        write_track(track, vtt.parent, duration, _mpegts(folder))


def _mpegts(folder: Path) -> int:
    rungs = [p for p in folder.iterdir() if p.is_dir() and re.fullmatch(r"\d+p", p.name)]
    return first_video_pts(rungs[0]) if rungs else 0
