"""HLS playlists as the player needs them: the variant ladder, and subtitle renditions fetched by hand.

libmpv with Debian's FFmpeg plays the variants of a master playlist but ignores ``EXT-X-MEDIA`` subtitle
renditions (the tracks never appear), so the player fetches the WebVTT segments itself, places the cues
on mpv's clock, and adds them as one external subtitle file.

Everything a server sends is untrusted: sizes and counts are capped, and every failure is a
PlaylistError with one readable sentence for the log, marked transient when trying again may help.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urljoin, urlsplit

from piclient.netio import TooLarge, TooSlow, read_capped
from piclient.player.subtitle_choice import SubtitleOption, choose_subtitle
from piclient.player.subtitles import Cue, SubtitleError, normalise, parse_subtitles, parse_timestamp

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

MAX_PLAYLIST_BYTES = 1024 * 1024
MAX_SEGMENT_BYTES = 512 * 1024
MAX_SUBTITLE_BYTES = 32 * 1024 * 1024
# Five and a half hours of 2 s segments: longer than any film, short of a runaway playlist.
MAX_SUBTITLE_SEGMENTS = 10_000
# Subtitle segments are tiny, so fetching them is all round trips; a few at once cuts a film's
# thousands of requests over a slow link from minutes to seconds, without crowding the video.
SUBTITLE_WORKERS = 4
# requests' timeout is per socket operation; a server dripping one byte at a time needs a total limit.
TOTAL_TIME_FACTOR = 6
MPEGTS_HZ = 90_000
# MPEG-TS timestamps are 33 bits and wrap about every 26.5 hours.
MPEGTS_WRAP_S = 2**33 / MPEGTS_HZ


# The segment name extensions FFmpeg's HLS demuxer accepts while ``extension_picky`` is on (its default
# ``allowed_segment_extensions`` in Debian 12's 5.1 security update and in FFmpeg 7.1+, without "html",
# which no media server should need). docs/architecture.md says why the player keeps the check.
FFMPEG_SEGMENT_EXTENSIONS = frozenset({
    "3gp", "aac", "avi", "ac3", "eac3", "flac", "mkv", "m3u8", "m4a", "m4s", "m4v", "mpg", "mov", "mp2", "mp3",
    "mp4", "mpeg", "mpegts", "ogg", "ogv", "oga", "ts", "vob", "vtt", "wav", "webvtt", "cmfv", "cmfa", "ec3",
    "fmp4"})


class PlaylistError(RuntimeError):
    """The playlist or a segment could not be fetched or is not HLS.

    ``transient`` is true for failures that may pass (no connection, a timeout, HTTP 5xx or 429);
    false for ones that will not (HTTP 404, an HTML page, a file that is not a playlist).
    """

    def __init__(self, message: str, *, transient: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.status = status


@dataclass(frozen=True, slots=True)
class Variant:
    """One rung of the ladder. ``bandwidth`` is the peak bits per second the server declares."""

    bandwidth: int
    resolution: tuple[int, int] | None
    uri: str
    codecs: str = ""
    subtitles: str | None = None  # the subtitle GROUP-ID this variant goes with
    frame_rate: float | None = None

    @property
    def pixels(self) -> int | None:
        return None if self.resolution is None else self.resolution[0] * self.resolution[1]


@dataclass(frozen=True, slots=True)
class Rendition:
    """A subtitle rendition (``EXT-X-MEDIA:TYPE=SUBTITLES``); ``uri`` is its media playlist."""

    group: str
    language: str
    name: str
    uri: str
    default: bool = False
    autoselect: bool = False
    forced: bool = False

    @property
    def option(self) -> SubtitleOption:
        return SubtitleOption(self.language, self.default, self.autoselect, self.forced)


@dataclass(frozen=True)
class Master:
    variants: list[Variant]
    subtitles: list[Rendition] = field(default_factory=list)

    def subtitle(self, language: str, group: str | None = None) -> Rendition | None:
        """The rendition to switch on for a viewer of ``language``, by the rule in subtitle_choice."""
        pool = [r for r in self.subtitles if group is None or r.group == group]
        index = choose_subtitle([r.option for r in pool], language)
        return None if index is None else pool[index]


# --- parsing ------------------------------------------------------------------------------------------

_ATTRIBUTE = re.compile(r'\s*([A-Za-z0-9-]+)\s*=\s*("[^"]*"|[^,]*)\s*(?:,|$)')


def parse_attributes(text: str) -> dict[str, str]:
    """An HLS attribute list, ``A=1,B="x,y"``, as a dict of upper-case names to unquoted values."""
    attributes: dict[str, str] = {}
    position = 0
    while position < len(text):
        match = _ATTRIBUTE.match(text, position)
        if not match or match.end() == position:
            break  # the rest is malformed; keep what parsed, as players do
        value = match.group(2).strip()
        if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
            value = value[1:-1]
        attributes[match.group(1).upper()] = value
        position = match.end()
    return attributes


def _check_playlist(text: str, what: str) -> list[str]:
    text = text.lstrip("\ufeff")
    head = text.lstrip()[:2000].lower()
    if head.startswith(("<!doctype", "<html", "<head", "<body")) or "<html" in head[:500]:
        raise PlaylistError(f"{what} is a web page, not an HLS playlist (an error page or a login page?)")
    if not text.lstrip().startswith("#EXTM3U"):
        first = _short(text.lstrip().split("\n", 1)[0]) if text.strip() else "an empty file"
        raise PlaylistError(f"{what} is not an HLS playlist (no #EXTM3U); it starts with {first!r}")
    return [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]


def _int(value: str | None) -> int:
    try:
        return int(float(value)) if value else 0
    except ValueError:
        return 0


def _resolution(value: str | None) -> tuple[int, int] | None:
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", value or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def parse_master(text: str, base_url: str) -> Master:
    """The variants (sorted by bandwidth, lowest first) and subtitle renditions of a master playlist.

    URIs come back absolute, resolved against ``base_url`` (the playlist's own URL after redirects).
    A media playlist is accepted as a master of one variant: many single-bitrate streams are just that.
    """
    lines = _check_playlist(text, "the master playlist")
    variants: list[Variant] = []
    subtitles: list[Rendition] = []
    pending: dict[str, str] | None = None
    media_playlist = False
    for line in lines[1:]:
        if not line:
            continue
        if line.startswith("#EXT-X-STREAM-INF:"):
            pending = parse_attributes(line.partition(":")[2])
        elif line.startswith("#EXT-X-MEDIA:"):
            attrs = parse_attributes(line.partition(":")[2])
            # Subtitles always have a URI; closed captions live inside the video and never do.
            if attrs.get("TYPE", "").upper() == "SUBTITLES" and attrs.get("URI"):
                subtitles.append(Rendition(
                    group=attrs.get("GROUP-ID", ""), language=attrs.get("LANGUAGE", ""),
                    name=attrs.get("NAME", ""), uri=urljoin(base_url, attrs["URI"]),
                    default=attrs.get("DEFAULT", "").upper() == "YES",
                    autoselect=attrs.get("AUTOSELECT", "").upper() == "YES",
                    forced=attrs.get("FORCED", "").upper() == "YES"))
        elif line.startswith(("#EXTINF:", "#EXT-X-TARGETDURATION:")):
            media_playlist = True
        elif line.startswith("#"):
            continue
        elif pending is not None:
            variants.append(Variant(
                bandwidth=_int(pending.get("BANDWIDTH") or pending.get("AVERAGE-BANDWIDTH")),
                resolution=_resolution(pending.get("RESOLUTION")), uri=urljoin(base_url, line),
                codecs=pending.get("CODECS", ""), subtitles=pending.get("SUBTITLES"),
                frame_rate=_float(pending.get("FRAME-RATE"))))
            pending = None
    if not variants:
        if not media_playlist:
            raise PlaylistError("the playlist lists no variants and no segments")
        return Master([Variant(bandwidth=0, resolution=None, uri=base_url)], subtitles)
    # Two entries for one URI (a redundant stream, or a copy-paste) would make the ladder lie.
    unique = {v.uri: v for v in reversed(variants)}
    ordered = sorted(unique.values(), key=lambda v: (v.bandwidth, v.pixels or 0))
    return Master(ordered, subtitles)


def parse_media_playlist(text: str, base_url: str) -> list[str]:
    """The absolute segment URIs of a media playlist, in order."""
    lines = _check_playlist(text, "the media playlist")
    if any(line.startswith("#EXT-X-STREAM-INF:") for line in lines):
        raise PlaylistError("a master playlist was given where a media playlist was expected")
    return [urljoin(base_url, line) for line in lines[1:] if line and not line.startswith("#")]


def refused_segment(segments: list[str]) -> str | None:
    """The first segment URI whose path does not end in an extension FFmpeg accepts, or None.

    FFmpeg judges the path, not the query: ``seg.ts?token=1`` passes, ``seg/0`` and ``get.php?s=1`` do not.
    """
    for uri in segments:
        name = urlsplit(uri).path.rsplit("/", 1)[-1]
        extension = name.rsplit(".", 1)[1].lower() if "." in name else ""
        if extension not in FFMPEG_SEGMENT_EXTENSIONS:
            return uri
    return None


# --- fetching -----------------------------------------------------------------------------------------


def _get(session: requests.Session, url: str, timeout: float, cap: int, what: str) -> tuple[bytes, str]:
    """The body (at most ``cap`` bytes) and final URL of a GET, or PlaylistError in plain words."""
    import requests  # here, not at the top: the launcher imports this module before its first frame
    try:
        with session.get(url, timeout=timeout, stream=True) as response:
            status = response.status_code
            if not 200 <= status < 300:
                raise PlaylistError(f"{what} fetch failed: HTTP {status} {response.reason or ''}".rstrip(),
                                    transient=status >= 500 or status in (408, 429), status=status)
            return read_capped(response, cap, timeout * TOTAL_TIME_FACTOR), response.url or url
    except TooLarge:
        raise PlaylistError(f"{what} is larger than {cap // 1024} KB") from None
    except TooSlow:
        raise PlaylistError(f"{what} download took too long", transient=True) from None
    except requests.Timeout:
        raise PlaylistError(f"{what} fetch timed out after {timeout:g} s", transient=True) from None
    except requests.ConnectionError as exc:
        raise PlaylistError(f"cannot reach the server for {what}: {_short(exc)}", transient=True) from None
    except requests.RequestException as exc:
        raise PlaylistError(f"{what} fetch failed: {_short(exc)}", transient=True) from None


def _text(data: bytes) -> str:
    # RFC 8216 playlists are UTF-8; a stray byte should not hide the rest of the file.
    return data.decode("utf-8", errors="replace")


def fetch_master(url: str, session: requests.Session, timeout: float = 10.0) -> Master:
    """Fetch and parse a master playlist (at most 1 MB). Raises PlaylistError."""
    data, final_url = _get(session, url, timeout, MAX_PLAYLIST_BYTES, "the playlist")
    return parse_master(_text(data), final_url)


def segment_problem(master: Master, session: requests.Session, timeout: float = 10.0) -> str | None:
    """Why FFmpeg will refuse this stream's segments, in a sentence for the maintainer; None if it will not.

    Reads the lowest variant's media playlist (a packager names every variant's segments alike).
    A playlist that cannot be read says nothing here: mpv's own error will tell.
    """
    variant = master.variants[0]
    try:
        data, final_url = _get(session, variant.uri, timeout, MAX_PLAYLIST_BYTES, "the media playlist")
        segments = parse_media_playlist(_text(data), final_url)
    except PlaylistError:
        return None
    refused = refused_segment(segments)
    if refused is None:
        return None
    return (f"segment URL {_short(refused)} has no media file extension (.ts, .m4s, .mp4, ...): the box's FFmpeg "
            "refuses such segments for security (extension_picky), so the film would stop after its first "
            "segment. Publish it with `piclient publish`, or have the server name segments by their format")


_TIMESTAMP_MAP = re.compile(r"^X-TIMESTAMP-MAP=(.*)$", re.MULTILINE)


def timestamp_offset(vtt: str) -> float | None:
    """Seconds to add to a segment's cue times to put them on the MPEG-TS clock, from its
    ``X-TIMESTAMP-MAP=MPEGTS:<90 kHz ticks>,LOCAL:<cue time>`` header; None if it has none."""
    header = vtt[: vtt.find("-->")] if "-->" in vtt else vtt
    match = _TIMESTAMP_MAP.search(header)
    if not match:
        return None
    fields = {}
    for part in match.group(1).split(","):
        name, _, value = part.strip().partition(":")
        fields[name.strip().upper()] = value.strip()
    try:
        mpegts = int(fields.get("MPEGTS", "0"))
        local = parse_timestamp(fields.get("LOCAL", "00:00:00.000"))
    except ValueError:
        return None
    return mpegts / MPEGTS_HZ - local


def fetch_subtitle_rendition(rendition: Rendition, session: requests.Session, timeout: float = 10.0, *,
                             video_start_pts: float = 0.0,
                             max_segments: int = MAX_SUBTITLE_SEGMENTS,
                             workers: int = SUBTITLE_WORKERS) -> list[Cue]:
    """All cues of a WebVTT subtitle rendition as it stands now (``read_subtitle_rendition`` says more)."""
    return read_subtitle_rendition(rendition, session, timeout, video_start_pts=video_start_pts,
                                   max_segments=max_segments, workers=workers).cues


@dataclass(frozen=True)
class RenditionRead:
    """One reading of a subtitle rendition: its cues, the segments read, and whether it can grow."""

    cues: list[Cue]
    segments: frozenset[str]
    ended: bool  # EXT-X-ENDLIST (or a VOD playlist): nothing more will come
    target_duration: float  # EXT-X-TARGETDURATION: how often a growing playlist is worth asking again


def read_subtitle_rendition(rendition: Rendition, session: requests.Session, timeout: float = 10.0, *,
                            video_start_pts: float = 0.0, already: frozenset[str] = frozenset(),
                            max_segments: int = MAX_SUBTITLE_SEGMENTS,
                            workers: int = SUBTITLE_WORKERS) -> RenditionRead:
    """All cues of a WebVTT subtitle rendition, on the player's clock, sorted and without repeats.

    Each segment's cues are moved by its X-TIMESTAMP-MAP (``MPEGTS/90000 - LOCAL``) onto the MPEG-TS
    clock, then back by ``video_start_pts``. For libmpv pass its ``demuxer-start-time`` property (read
    after the file has loaded): mpv's ``time-pos`` counts from there, which is the earliest timestamp of
    any stream in the first segment. In the ladders FFmpeg writes here that is the audio's 1.400 s,
    21 ms before the first video frame; passing the video's own start would put every line 21 ms early. With the
    default 0.0 the cues stay on the raw MPEG-TS clock. A segment without a map is taken to be on the
    player's clock already, as a sidecar file would be.

    A segment that fails (HTTP error, not WebVTT) is skipped and logged: one missing segment loses a
    line or two, failing the whole rendition would lose them all. No connection, or no segment at all,
    raises PlaylistError.
    """
    data, final_url = _get(session, rendition.uri, timeout, MAX_PLAYLIST_BYTES, "the subtitle playlist")
    text = _text(data)
    listed = parse_media_playlist(text, final_url)
    if not listed:
        raise PlaylistError("the subtitle playlist has no segments")
    ended, target = _playlist_state(text)
    if len(listed) > max_segments:
        log.warning("subtitle playlist has %d segments; reading the first %d", len(listed), max_segments)
        listed = listed[:max_segments]
        ended = True  # what is beyond the cap will not be read later either
    # A growing playlist read again: only its new segments (a live one also drops old ones from the top).
    segments = [url for url in listed if url not in already]
    if not segments:
        return RenditionRead([], already, ended, target)
    budget = _Budget(MAX_SUBTITLE_BYTES)
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="subtitle-fetch")
    try:
        results = list(pool.map(lambda url: _fetch_segment(session, url, timeout, budget), segments))
    finally:
        # After a fatal error the queued segments are not worth fetching.
        pool.shutdown(wait=True, cancel_futures=True)
    cues: list[Cue] = []
    failures = []
    for url, result in zip(segments, results, strict=True):
        if isinstance(result, str):
            failures.append((url, result))
        else:
            cues.extend(_shift(result, video_start_pts))
    if len(failures) == len(segments) and not already:
        raise PlaylistError(f"none of the {len(failures)} subtitle segments could be read ({failures[0][1]})")
    if failures:
        # One line for the lot: a broken rendition must not flood the log with a line per segment.
        log.warning("skipped %d of %d subtitle segments; the first, %s: %s",
                    len(failures), len(segments), *failures[0])
    read = {url for url, result in zip(segments, results, strict=True) if not isinstance(result, str)}
    return RenditionRead(normalise(cues), already | read, ended, target)


def _playlist_state(text: str) -> tuple[bool, float]:
    """Whether a media playlist is complete (ENDLIST, or PLAYLIST-TYPE:VOD), and its target duration."""
    ended = "#EXT-X-ENDLIST" in text or "#EXT-X-PLAYLIST-TYPE:VOD" in text
    match = re.search(r"^#EXT-X-TARGETDURATION:\s*([0-9.]+)", text, re.MULTILINE)
    return ended, float(match.group(1)) if match else 6.0


@dataclass
class _Budget:
    """Bytes left for the whole rendition; segments are fetched from several threads."""

    left: int

    def take(self, size: int) -> None:
        # A plain int update under the GIL is enough here: the cap is a guard, not an accounting.
        self.left -= size
        if self.left < 0:
            raise PlaylistError(f"subtitles are larger than {MAX_SUBTITLE_BYTES // (1024 * 1024)} MB in total")


class _Segment(NamedTuple):
    offset: float | None  # from its X-TIMESTAMP-MAP, None without one
    cues: list[Cue]


def _fetch_segment(session: requests.Session, url: str, timeout: float, budget: _Budget) -> _Segment | str:
    """The segment's cues and timestamp offset, or the reason it was skipped."""
    try:
        data, _ = _get(session, url, timeout, MAX_SEGMENT_BYTES, "a subtitle segment")
    except PlaylistError as exc:
        if exc.status is None and exc.transient:
            raise  # the network is gone: every other segment would wait out its timeout too
        return str(exc)
    budget.take(len(data))
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    if not text.lstrip().startswith("WEBVTT"):
        return "not a WebVTT segment"
    try:
        return _Segment(timestamp_offset(text), parse_subtitles(text, "segment.vtt"))
    except SubtitleError as exc:
        return str(exc)


def _shift(segment: _Segment, video_start_pts: float) -> list[Cue]:
    offset, cues = segment
    if offset is None:
        return cues
    delta = offset - video_start_pts
    # One side wrapped past 2^33 ticks and the other did not; a real shift is never half a day.
    if delta > MPEGTS_WRAP_S / 2:
        delta -= MPEGTS_WRAP_S
    elif delta < -MPEGTS_WRAP_S / 2:
        delta += MPEGTS_WRAP_S
    return [replace(c, start=c.start + delta, end=c.end + delta) for c in cues]


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 160 else text[:157] + "..."
