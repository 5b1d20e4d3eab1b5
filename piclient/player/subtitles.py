"""Any subtitle file the catalog may point at, turned into clean UTF-8 text that mpv loads reliably.

Sidecar subtitles come from wherever the family found them: SRT from the web, WebVTT from our own
packager, and SAMI (``.smi``) from Korean sites, often in CP949 and sometimes in UTF-16. mpv guesses
encodings itself and gets CP949 SAMI wrong often enough that the viewer sees mojibake or nothing, so the
player converts every file here first: one decoder, one parser per format, one normalised cue list, one
output (WebVTT, or SRT when a line belongs at the top: see ``for_player``). Everything here is pure
(bytes and text in, text out) so it is tested without a player.
"""

from __future__ import annotations

import codecs
import html
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from piclient.player.languages import primary_language

# A SAMI line lasts until the next <SYNC>; a file that forgets the blank sync would leave a line on
# screen through a long silence, so an open-ended line is cut after this long.
MAX_OPEN_CUE_S = 10.0
# An SRT line whose end is missing or before its start still deserves to be seen.
FALLBACK_CUE_S = 2.0
# Converters that count frames often end a line a frame or two after the next starts; both would
# flicker on screen stacked for that moment. Longer overlaps are deliberate (two voices, a sign).
TRIM_OVERLAP_S = 0.5
# Korean SAMI class names are usually built from the country code, not the language code.
_CLASS_ALIASES = {
    "ko": ("KO", "KR", "KOR"),
    "en": ("EN", "ENG", "US", "UK"),
    "ja": ("JA", "JP", "JPN"),
    "zh": ("ZH", "CN", "CH", "TW"),
}


class SubtitleError(ValueError):
    """The data holds no subtitle cues: not a subtitle format we know, or a file with no lines in it."""


@dataclass(frozen=True, slots=True)
class Cue:
    """One subtitle line (possibly several rows joined by newlines), times in seconds.

    ``top`` is true for a line its file places at the top of the picture (a sign, or a line moved out
    of the way of the picture's own text): WebVTT ``line:0``, SRT/ASS ``{\\an8}``.
    """

    start: float
    end: float
    text: str
    top: bool = False


# --- decoding -----------------------------------------------------------------------------------------

_BOMS = (
    # UTF-32 first: its little-endian BOM begins with the UTF-16 one.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_text(data: bytes) -> str:
    """Decode subtitle bytes by evidence: a BOM; UTF-16 without one; UTF-8 when (nearly) all of it is;
    CP949 when the result reads as Korean; Windows-1252, the Western files' encoding, last.

    BOM-less UTF-16 is tried before UTF-8 because ASCII text in UTF-16 is also valid UTF-8 (every other
    byte a NUL), and a text file never contains NULs otherwise. "Nearly all": a stray byte from a bad
    edit must not turn a whole Korean file into mojibake, so UTF-8 wins while its valid multi-byte
    characters outnumber its broken sequences ten to one, and the few broken ones become U+FFFD.
    CP949 (a superset of EUC-KR, so old Korean files decode too) must read as Korean: Windows-1252
    quotes and dashes followed by a letter are valid CP949 pairs too (``It’s`` reads ``It뭩``), but
    they land on rare syllables outside the 2,350 of KS X 1001 that real Korean text is made of.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _clean(data[len(bom):].decode(encoding, errors="replace"))
    guessed = _utf16_without_bom(data)
    if guessed:
        return _clean(data.decode(guessed, errors="replace"))
    as_utf8 = data.decode("utf-8", errors="replace")
    broken = as_utf8.count(_REPLACEMENT) - data.count(_REPLACEMENT.encode())
    if broken == 0:
        return _clean(as_utf8)
    valid = _count_non_ascii(as_utf8) - as_utf8.count(_REPLACEMENT)
    if valid >= UTF8_EVIDENCE * broken:
        return _clean(as_utf8)
    as_cp949 = data.decode("cp949", errors="replace")
    if _reads_as_korean(as_cp949):
        return _clean(as_cp949)
    if valid > broken:
        return _clean(as_utf8)  # a short UTF-8 file with a bad byte: more of it is UTF-8 than not
    # The five bytes Windows-1252 leaves undefined are C1 controls in Latin-1: nothing to show.
    return _clean(data.decode("cp1252", errors="replace").replace(_REPLACEMENT, ""))


_REPLACEMENT = "\ufffd"
# Valid UTF-8 characters per broken sequence above which a file is taken as UTF-8. Korean CP949 text
# read as UTF-8 gives about one valid character per seven broken ones; Windows-1252 gives none.
UTF8_EVIDENCE = 10
# The share of non-ASCII characters that must be common Hangul syllables for CP949 to be believed.
KOREAN_EVIDENCE = 0.7
# The 2,350 syllables of KS X 1001 (EUC-KR's rows 0xB0-0xC8): the Hangul that Korean text is made of.
_COMMON_HANGUL = frozenset(bytes([lead, trail]).decode("euc-kr")
                           for lead in range(0xB0, 0xC9) for trail in range(0xA1, 0xFF))


def _count_non_ascii(text: str) -> int:
    # Counting distinct characters first keeps a 5 MB file to a fraction of a second on a Pi.
    return sum(n for ch, n in Counter(text).items() if ch > "\x7f")


def _reads_as_korean(text: str) -> bool:
    counts = Counter(text)
    foreign = sum(n for ch, n in counts.items() if ch > "\x7f")
    common = sum(n for ch, n in counts.items() if ch in _COMMON_HANGUL)
    return foreign > 0 and common >= KOREAN_EVIDENCE * foreign


def _utf16_without_bom(data: bytes) -> str | None:
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs < 4:
        return None
    even = sample[0: pairs * 2: 2].count(0)
    odd = sample[1: pairs * 2: 2].count(0)
    # Newlines, digits and arrows are ASCII in every subtitle format, so at least a quarter of the
    # characters put a NUL on one side; Hangul-only lines keep the ratio from being much higher.
    if odd >= pairs / 4 and even < pairs / 20:
        return "utf-16-le"
    if even >= pairs / 4 and odd < pairs / 20:
        return "utf-16-be"
    return None


def _clean(text: str) -> str:
    return text.lstrip("\ufeff").replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")


# --- detection and parsing ----------------------------------------------------------------------------

_TS = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,9}))?"
_TIMESTAMP = re.compile(rf"^\s*{_TS}\s*$")
_TIMING = re.compile(rf"^\s*{_TS}\s*-->\s*{_TS}")
_SAMI_MARK = re.compile(r"<\s*(?:sami\b|sync\b)", re.IGNORECASE)


def parse_timestamp(value: str) -> float:
    """``hh:mm:ss.mmm`` with optional hours and comma or dot before the fraction, in seconds."""
    match = _TIMESTAMP.match(value)
    if not match:
        raise ValueError(f"not a subtitle timestamp: {value!r}")
    return _seconds(*match.groups())


def _seconds(hours: str | None, minutes: str, seconds: str, fraction: str | None) -> float:
    # The digits are a decimal fraction: "1,5" is 1.5 s, not 1.005 s.
    frac = int(fraction) / 10 ** len(fraction) if fraction else 0.0
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + frac


def detect_format(text: str, hint: str = "") -> str | None:
    """``"vtt"``, ``"srt"``, ``"sami"`` or None. Content decides; the hint (a name or URL) breaks ties."""
    head = text.lstrip()
    if head.startswith("WEBVTT"):
        return "vtt"
    if _SAMI_MARK.search(text[:200_000]):
        return "sami"
    # SAMI cues only exist as <SYNC> tags, so a .smi name alone proves nothing; a mislabelled SRT
    # still reads as SRT.
    extension = _extension(hint)
    if any(_TIMING.match(line) for line in text.split("\n", 2000)[:2000]):
        # A headerless file named .vtt keeps its text identifiers out of the previous line's text.
        return "vtt" if extension == "vtt" else "srt"
    return None


def _extension(hint: str) -> str:
    path = urlsplit(hint).path if "://" in hint else hint
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def parse_subtitles(text: str, hint: str = "", language: str = "") -> list[Cue]:
    """Cues of a WebVTT, SRT or SAMI text, sorted, without empty lines, with small overlaps trimmed.

    ``hint`` is the file name or URL; ``language`` picks one SAMI class when a file carries several.
    A known format with no lines gives an empty list (an empty HLS subtitle segment is normal); text in
    no known format raises SubtitleError.
    """
    text = _clean(text)
    kind = detect_format(text, hint)
    if kind == "vtt":
        cues = _parse_vtt(text)
    elif kind == "srt":
        cues = _parse_srt(text)
    elif kind == "sami":
        cues = _parse_sami(text, language)
    else:
        raise SubtitleError("not a WebVTT, SRT or SAMI subtitle file")
    return normalise(cues)


def _parse_vtt(text: str) -> list[Cue]:
    cues = []
    for block in re.split(r"\n[ \t]*\n", text):
        lines = block.strip("\n").split("\n")
        # NOTE, STYLE and REGION blocks, and the header, have no timing line; a NOTE cannot hold "-->".
        if not lines or lines[0].startswith("NOTE"):
            continue
        for i, line in enumerate(lines[:3]):
            match = _TIMING.match(line)
            if match:
                start, end = _seconds(*match.groups()[:4]), _seconds(*match.groups()[4:])
                body = "\n".join(lines[i + 1:])
                top = _vtt_line_at_top(line[match.end():]) or _override_at_top(body)
                cues.append(Cue(start, end, _plain(body), top))
                break
    return cues


def _parse_srt(text: str) -> list[Cue]:
    # Timing lines anchor everything: numbers may be missing or wrong, and blank lines can appear
    # anywhere, so the text of a cue is whatever lies between its timing line and the next one.
    lines = text.split("\n")
    timings = [(i, m) for i, line in enumerate(lines) if (m := _TIMING.match(line))]
    cues = []
    for n, (i, match) in enumerate(timings):
        stop = timings[n + 1][0] if n + 1 < len(timings) else len(lines)
        body = lines[i + 1: stop]
        while body and not body[-1].strip():
            body.pop()
        # The next cue's number, if it has one, sits on its own line after a blank line; a line "1984"
        # right under a timing line, or in the last cue, is text.
        if n + 1 < len(timings) and len(body) >= 2 and body[-1].strip().isdigit() and not body[-2].strip():
            body.pop()
        start, end = _seconds(*match.groups()[:4]), _seconds(*match.groups()[4:])
        text = "\n".join(body)
        cues.append(Cue(start, end, _plain(text), _override_at_top(text)))
    return cues


_VTT_LINE = re.compile(r"(?:^|\s)line:(-?\d+(?:\.\d+)?)(%?)")
# A WebVTT line number counts rows of 5.33 % of the picture's height from the top (negative ones from
# the bottom); rows in the upper half are "at the top" for the player.
VTT_ROW_PERCENT = 5.33
# ASS numpad alignments 7-9 are the top row; the older SSA {\a5}-{\a7} are too.
_ASS_TOP = re.compile(r"\{[^{}]*\\(?:an[789]|a[567])(?![0-9])[^{}]*\}")


def _vtt_line_at_top(settings: str) -> bool:
    match = _VTT_LINE.search(settings)
    if not match:
        return False
    value = float(match.group(1))
    if match.group(2):
        return value < 50
    return 0 <= value * VTT_ROW_PERCENT < 50


def _override_at_top(text: str) -> bool:
    return bool(_ASS_TOP.search(text))


_SYNC = re.compile(r"<\s*sync\b([^>]*)>", re.IGNORECASE)
_P = re.compile(r"<\s*p\b([^>]*)>", re.IGNORECASE)
_BODY_END = re.compile(r"<\s*/\s*(?:body|sami)\s*>", re.IGNORECASE)
_STYLE_CLASS = re.compile(r"\.([A-Za-z0-9_-]+)\s*\{([^}]*)\}")


def _attribute(attributes: str, name: str) -> str | None:
    match = re.search(rf"\b{name}\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", attributes, re.IGNORECASE)
    return None if match is None else next(g for g in match.groups() if g is not None)


def _milliseconds(value: str | None) -> int | None:
    match = re.match(r"\s*(-?\d+)", value or "")
    return int(match.group(1)) if match else None


_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def _parse_sami(text: str, language: str) -> list[Cue]:
    # Class styles are read first: SAMI files hide their STYLE rules inside a comment, as HTML did
    # for old browsers. Then every comment goes, before a <SYNC> in one could be played; a "<!--"
    # that is never closed is dropped on its own rather than taking the rest of the file with it.
    styles = {name.upper(): body for name, body in _STYLE_CLASS.findall(_head(text))}
    text = _COMMENT.sub("", text).replace("<!--", "")
    # Events per class: (start ms, end ms or None, text). Text before any <P> has class "".
    events: dict[str, list[tuple[int, int | None, str]]] = {}
    order: list[str] = []
    syncs = list(_SYNC.finditer(text))
    for n, sync in enumerate(syncs):
        start = _milliseconds(_attribute(sync.group(1), "start"))
        if start is None:
            continue
        end = _milliseconds(_attribute(sync.group(1), "end"))
        stop = syncs[n + 1].start() if n + 1 < len(syncs) else len(text)
        block = text[sync.end(): stop]
        body_end = _BODY_END.search(block)
        block = block[: body_end.start()] if body_end else block
        paragraphs = list(_P.finditer(block))
        pieces = []
        lead = block[: paragraphs[0].start()] if paragraphs else block
        # Before the first <P> there is usually only layout whitespace; a <SYNC> with nothing at all
        # in it is a blank sync, though, and ends the line before it.
        if not paragraphs or lead.strip():
            pieces.append(("", lead))
        for k, p in enumerate(paragraphs):
            until = paragraphs[k + 1].start() if k + 1 < len(paragraphs) else len(block)
            pieces.append(((_attribute(p.group(1), "class") or "").upper(), block[p.end(): until]))
        for name, raw in pieces:
            line = _sami_text(raw)
            if name not in events:
                events[name] = []
                order.append(name)
            events[name].append((start, end, line))
    chosen = _choose_class([n for n in order if n], styles, language)
    merged = sorted(events.get(chosen, []) + (events.get("", []) if chosen else []), key=lambda e: e[0])
    cues = []
    for k, (start, end, line) in enumerate(merged):
        if not line:
            continue  # a blank sync (&nbsp;) only ends the line before it
        following = next((e[0] for e in merged[k + 1:] if e[0] > start), None)
        if end is None or end <= start:
            end = following if following is not None else start + MAX_OPEN_CUE_S * 1000
            end = min(end, start + MAX_OPEN_CUE_S * 1000)
        cues.append(Cue(start / 1000, end / 1000, line))
    return cues


def _head(text: str) -> str:
    body = re.search(r"<\s*body\b", text, re.IGNORECASE)
    return text[: body.start()] if body else ""


def _choose_class(names: Sequence[str], styles: dict[str, str], language: str) -> str:
    """The class for ``language``: by its STYLE ``lang:``, then by its name; else the first used."""
    if not names:
        return ""
    wanted = primary_language(language)
    if wanted:
        for name in names:
            match = re.search(r"\blang\s*:\s*([A-Za-z_-]+)", styles.get(name, ""), re.IGNORECASE)
            if match and primary_language(match.group(1)) == wanted:
                return name
        aliases = _CLASS_ALIASES.get(wanted, (wanted.upper(),))
        for name in names:
            if name.startswith(aliases):
                return name
    return names[0]


def _sami_text(raw: str) -> str:
    # SAMI is HTML: source line breaks are spaces, <br> is the line break.
    raw = re.sub(r"\s+", " ", raw)
    raw = re.sub(r"<\s*br\s*/?\s*>", "\n", raw, flags=re.IGNORECASE)
    return _plain(raw)


_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<\d[^<>]*>")  # markup, and WebVTT's inline <00:01.000> times
_ASS_OVERRIDE = re.compile(r"\{\\[^{}]*\}")  # {\an8} and friends, common in SRT from fansubs


def _plain(text: str) -> str:
    """Markup removed, entities resolved, rows trimmed, blank rows dropped."""
    text = html.unescape(_ASS_OVERRIDE.sub("", _TAG.sub("", text)))
    rows = (" ".join(row.replace("\xa0", " ").split()) for row in text.split("\n"))
    return "\n".join(row for row in rows if row)


def normalise(cues: Iterable[Cue]) -> list[Cue]:
    """Sort, drop empty and duplicate lines, give broken end times a length, trim small overlaps."""
    fixed = []
    for cue in cues:
        text = cue.text.strip()
        if not text or cue.end < 0:
            continue
        start, end = max(0.0, round(cue.start, 3)), round(cue.end, 3)
        fixed.append(Cue(start, end if end > start else start + FALLBACK_CUE_S, text, cue.top))
    fixed.sort(key=lambda c: (c.start, c.end, c.text))
    out: list[Cue] = []
    for cue in fixed:
        # Only recent lines can be repeats; looking further back would make long files quadratic.
        same = next((k for k in range(len(out) - 1, max(-1, len(out) - 9), -1)
                     if out[k].text == cue.text and out[k].top == cue.top and cue.start <= out[k].end), None)
        if same is not None:
            # The same line twice (repeated across HLS segments, or split by a converter) is one line.
            out[same] = replace(out[same], end=max(out[same].end, cue.end))
            continue
        out.append(cue)
    for k in range(len(out) - 1):
        a, b = out[k], out[k + 1]
        # A sign at the top and dialogue at the bottom overlap on purpose.
        if a.top == b.top and a.start < b.start < a.end <= b.start + TRIM_OVERLAP_S:
            out[k] = replace(a, end=b.start)
    return out


# --- output -------------------------------------------------------------------------------------------


def _timestamp(seconds: float, separator: str) -> str:
    millis = round(max(0.0, seconds) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}{separator}{rest % 1000:03d}"


def to_webvtt(cues: Iterable[Cue]) -> str:
    """A WebVTT file; text is escaped, so a line can never end a cue or open a tag by accident.

    A cue at the top gets ``line:0``, which WebVTT readers honour (mpv does not: see ``for_player``).
    """
    blocks = ["WEBVTT\n"]
    for cue in cues:
        body = cue.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        body = "\n".join(row for row in body.split("\n") if row.strip())
        if body:
            settings = " line:0" if cue.top else ""
            blocks.append(f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}{settings}\n{body}\n")
    return "\n".join(blocks)


# SRT has no escapes, and FFmpeg's SRT reader takes <i>, {...} and \N in text as markup; the full-width
# forms look the same to the viewer and are in the subtitle font (Noto Sans CJK).
_SRT_MARKUP = re.compile(r"<(?=[A-Za-z/])|[{}\\]")
_FULL_WIDTH = {"<": "\uff1c", "{": "\uff5b", "}": "\uff5d", "\\": "\uff3c"}


def to_srt(cues: Iterable[Cue]) -> str:
    """An SRT file; a cue at the top starts with ``{\\an8}``, the tag FFmpeg and mpv read in SRT."""
    blocks = []
    for cue in cues:
        body = _SRT_MARKUP.sub(lambda m: _FULL_WIDTH[m.group()], cue.text)
        body = "\n".join(row for row in body.split("\n") if row.strip())
        if body:
            n = len(blocks) + 1
            tag = "{\\an8}" if cue.top else ""
            blocks.append(f"{n}\n{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}\n{tag}{body}\n")
    return "\n".join(blocks)


def for_player(cues: Sequence[Cue]) -> str:
    """The file to hand to mpv: WebVTT, or SRT when a line must be drawn at the top.

    mpv reads WebVTT through FFmpeg's decoder, which drops every cue setting (``line:0`` is drawn at
    the bottom, checked with Debian 12's mpv 0.35 and FFmpeg 5.1), and takes an ``{\\an8}`` in WebVTT
    text for literal text. Its SRT reader honours ``{\\an8}`` and draws with the same style as WebVTT.
    """
    return to_srt(cues) if any(cue.top for cue in cues) else to_webvtt(cues)


def suffix(text: str) -> str:
    """The file name ending for a text made by ``for_player``."""
    return ".vtt" if text.startswith("WEBVTT") else ".srt"


def convert(data: bytes, hint: str = "", language: str = "") -> str:
    """Subtitle bytes in any supported format and encoding, as UTF-8 text for mpv (``for_player``).

    ``language`` picks the class of a SAMI file that holds several. Raises SubtitleError when nothing
    in the file would ever show on screen.
    """
    cues = parse_subtitles(decode_text(data), hint, language)
    if not cues:
        raise SubtitleError("the subtitle file has no lines to show")
    return for_player(cues)
