"""Subtitle files, read once at the source: any of SRT, SAMI, WebVTT and ASS in any encoding the
player's converter knows (``piclient.player.subtitles``), shifted if asked, written as UTF-8 WebVTT.

A SAMI file often holds two languages (a ``KRCC`` and an ``ENCC`` class): each becomes its own track.
The language of a track comes from the file name (``film.ko.srt``, ``film_eng.smi``), else from the
text itself (Hangul means Korean). Two checks catch a file made for another cut of the film: cues that
run past the film's end, and a first line long after the film has begun.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from piclient.player.languages import primary_language
from piclient.player.subtitles import (
    Cue,
    SubtitleError,
    decode_text,
    detect_format,
    normalise,
    parse_subtitles,
    parse_timestamp,
    to_webvtt,
)
from piclient.publish.errors import PublishError

MAX_SUBTITLE_BYTES = 32 * 1024 * 1024
LABELS = {"ko": "한국어", "en": "English", "ja": "日本語", "zh": "中文"}
# A subtitle running this far past the end, or starting this late, was made for another version.
PAST_END_TOLERANCE_S = 5.0
LATE_START_S = 600.0
LATE_START_SHARE = 0.25
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


@dataclass(frozen=True)
class Track:
    language: str
    label: str
    cues: tuple[Cue, ...]
    source: str  # the file it came from, for messages


def read_tracks(path: Path, *, offset: float = 0.0, language: str = "") -> list[Track]:
    """Every track in a subtitle file, shifted by ``offset`` seconds (positive: later)."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        raise PublishError(f"subtitle file {path} cannot be read") from None
    if size > MAX_SUBTITLE_BYTES:
        raise PublishError(f"{path.name} is {size // 1_000_000} MB: too large to be a subtitle file")
    text = decode_text(path.read_bytes())
    named = language or _language_from_name(path.name)
    try:
        if _is_ass(text):
            tracks = [(named, parse_ass(text))]
        elif detect_format(text, path.name) == "sami":
            tracks = _sami_tracks(text, path.name, named)
        else:
            tracks = [(named, parse_subtitles(text, path.name))]
    except SubtitleError:
        raise PublishError(f"{path.name} is not a subtitle file we can read (SRT, SAMI, WebVTT or ASS)") from None
    out = []
    for lang, cues in tracks:
        shifted = normalise(replace(c, start=c.start + offset, end=c.end + offset) for c in cues) if offset else cues
        if not shifted:
            continue
        lang = primary_language(lang) or _language_from_text(shifted)
        out.append(Track(lang, LABELS.get(lang, lang), tuple(shifted), path.name))
    if not out:
        raise PublishError(f"{path.name} has no subtitle lines" + (" left after the offset" if offset else ""))
    return out


def _sami_tracks(text: str, name: str, named: str) -> list[tuple[str, list[Cue]]]:
    # The converter shows one class per language; asking for each language we know tells whether the
    # file has one class or several (several answers that differ).
    found: list[tuple[str, list[Cue]]] = []
    for lang in dict.fromkeys(x for x in (named, "ko", "en", "ja", "zh") if x):
        cues = parse_subtitles(text, name, lang)
        if cues and all(cues != other for _, other in found):
            found.append((lang, cues))
    if len(found) == 1:
        return [(named, found[0][1])]  # one class: its language is the file's, whatever we asked
    return found


def _language_from_name(name: str) -> str:
    tokens = [t.lower() for t in re.split(r"[._\-\s\[\]()]+", name.rsplit(".", 1)[0]) if t]
    for token in reversed(tokens):  # the tag is usually last: "Film.2001.ko.srt"
        code = _NAME_ALIASES.get(token) or (primary_language(token) if len(token) in (2, 3) else "")
        if code in LABELS:
            return code
    return ""


_NAME_ALIASES = {"kr": "ko", "korean": "ko", "한국어": "ko", "한글": "ko", "english": "en", "jp": "ja"}


def _language_from_text(cues: tuple[Cue, ...] | list[Cue]) -> str:
    sample = "".join(c.text for c in cues[:200])
    return "ko" if len(_HANGUL.findall(sample)) > len(sample) * 0.1 else "en"


# --- ASS / SSA ---------------------------------------------------------------------------------------

_ASS_TIME = re.compile(r"^\d+:\d{1,2}:\d{1,2}(?:[.,]\d+)?$")


def _is_ass(text: str) -> bool:
    head = text.lstrip()[:4000]
    return head.startswith("[Script Info]") or "\n[Events]" in text[:200_000]


def parse_ass(text: str) -> list[Cue]:
    """The Dialogue lines of an ASS/SSA script; the Format line says where Start, End and Text are.
    Styles and effects are dropped: the player draws every line its own calm way; ``{\\an8}`` stays
    a top line, as in SRT."""
    fields = ["layer", "start", "end", "style", "name", "marginl", "marginr", "marginv", "effect", "text"]
    in_events = False
    cues: list[Cue] = []
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("["):
            in_events = stripped.lower() == "[events]"
            continue
        if not in_events or ":" not in stripped:
            continue
        key, _, value = stripped.partition(":")
        key = key.strip().lower()
        if key == "format":
            fields = [f.strip().lower() for f in value.split(",")]
        elif key == "dialogue" and "text" in fields:
            parts = value.strip().split(",", len(fields) - 1)
            if len(parts) < len(fields):
                continue
            row = dict(zip(fields, parts, strict=True))
            start, end = row.get("start", "").strip(), row.get("end", "").strip()
            if not (_ASS_TIME.match(start) and _ASS_TIME.match(end)):
                continue
            body = row["text"].replace("\\N", "\n").replace("\\n", "\n").replace("\\h", " ")
            top = bool(re.search(r"\{[^}]*\\an[789]", body))
            body = re.sub(r"\{[^}]*\}", "", body)
            cues.append(Cue(parse_timestamp(start), parse_timestamp(end), body.strip(), top))
    if not cues and "[events]" not in text.lower():
        raise SubtitleError("not an ASS script")
    return normalise(cues)


# --- checks and output -------------------------------------------------------------------------------


def sync_warnings(track: Track, duration: float) -> list[str]:
    """Plain sentences for the dashboard when the track looks made for another version of the film."""
    warnings = []
    last_end = max(c.end for c in track.cues)
    if last_end > duration + PAST_END_TOLERANCE_S:
        warnings.append(f"{track.source} ({track.language}): the lines run {last_end - duration:.0f} s past the "
                        "film's end; it may be for another version, or need a shift")
    first = track.cues[0].start
    if first > max(LATE_START_S, duration * LATE_START_SHARE):
        warnings.append(f"{track.source} ({track.language}): the first line comes {first / 60:.0f} min into "
                        "the film; it may be out of sync")
    return warnings


def shift_track(track: Track, seconds: float) -> Track:
    cues = normalise(replace(c, start=c.start + seconds, end=c.end + seconds) for c in track.cues)
    return replace(track, cues=tuple(cues))


def write_track(track: Track, subs_dir: Path, duration: float, mpegts: int) -> str:
    """``subs/<lang>.vtt`` (the catalog's sidecar) and ``subs/<lang>/index.m3u8`` (the master's
    rendition, one segment covering the film); returns the sidecar's path relative to ``subs_dir``."""
    subs_dir.mkdir(parents=True, exist_ok=True)
    name = track.language
    vtt = to_webvtt(track.cues)
    (subs_dir / f"{name}.vtt").write_text(vtt, encoding="utf-8")
    folder = subs_dir / name
    folder.mkdir(exist_ok=True)
    # The rendition's times are on the video's MPEG-TS clock, which ffmpeg starts near 1.4 s.
    mapped = vtt.replace("WEBVTT\n", f"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:00:00:00.000\n", 1)
    (folder / "all.vtt").write_text(mapped, encoding="utf-8")
    playlist = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{max(1, int(duration + 0.999))}",
                "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD", f"#EXTINF:{duration:.3f},", "all.vtt",
                "#EXT-X-ENDLIST"]
    (folder / "index.m3u8").write_text("\n".join(playlist) + "\n", encoding="utf-8")
    return f"{name}.vtt"
