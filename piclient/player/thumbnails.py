"""Seek thumbnails: the frame the viewer lands on, shown while seeking with the remote.

A title may carry a "WebVTT thumbnails" track: a .vtt whose cues each cover a time range and whose text
is an image URL, usually a sprite sheet with a ``#xywh=x,y,w,h`` media fragment naming one tile, or a
separate image without a fragment (the whole image). The track is fetched and its images decoded in a
worker thread before the viewer seeks; the main loop then only crops, which is cheap and cached.
"""

from __future__ import annotations

import io
import logging
import math
import re
import threading
import time
import warnings
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urldefrag, urljoin, urlsplit

from PIL import Image

from piclient.netio import TooLarge, TooSlow, read_capped
from piclient.player.subtitles import decode_text, parse_timestamp

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

MAX_INDEX_BYTES = 1024 * 1024
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGES = 50
# Per image, like Pillow's MAX_IMAGE_PIXELS but tighter: a sprite is a grid of small tiles, and a
# 20 MP one already needs 60 MB as RGB.
MAX_IMAGE_PIXELS = 20_000_000
# All decoded sprites stay in memory for the whole title; this keeps a hostile or careless track from
# taking more than about 120 MB on a Pi. A two-hour film at 5 s steps of 160x90 needs about 21 MP.
MAX_TOTAL_PIXELS = 40_000_000
MAX_CUES = 100_000
FORMATS = ("JPEG", "PNG", "WEBP")
# requests' timeout is per read, so a server trickling bytes could hold a download forever; each
# download, and the whole load, gets a wall-clock limit as a multiple of the timeout.
TOTAL_TIME_FACTOR = 3
LOAD_TIME_FACTOR = 12
_XYWH = re.compile(r"xywh=(?:pixel:)?(\d{1,6}),(\d{1,6}),(\d{1,6}),(\d{1,6})")

Box = tuple[int, int, int, int]  # x, y, width, height in pixels
Crop = tuple[bytes, tuple[int, int]]  # RGB bytes, (width, height)
Fetch = Callable[["requests.Session", str, float, int], bytes]  # session, url, timeout, byte cap


class ThumbnailError(ValueError):
    """The thumbnail track or one of its images cannot be used; the message says why in plain words."""


@dataclass(frozen=True, slots=True)
class ThumbCue:
    """One time range and where its picture is: ``url`` is absolute without fragment; ``box`` None is
    the whole image."""

    start: float
    end: float
    url: str
    box: Box | None


# --- the index ----------------------------------------------------------------------------------------


def parse_thumbnail_index(text: str, base_url: str) -> list[ThumbCue]:
    """Parse a WebVTT thumbnail index; relative image URLs resolve against ``base_url``.

    Strict on purpose: these files are machine-made, and a half-understood one would show the wrong
    frames, which is worse than showing none.
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    blocks = re.split(r"\n[ \t]*\n", text.strip("\n"))
    header = blocks[0].split("\n", 1)[0]
    if not re.fullmatch(r"WEBVTT(?:[ \t].*)?", header):
        raise ThumbnailError(f"not a WebVTT file; it starts with {_short(header)!r}")
    cues: list[ThumbCue] = []
    for block in blocks[1:]:
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if not lines or lines[0].split(" ", 1)[0] in ("NOTE", "STYLE", "REGION"):
            continue
        # A cue may start with an identifier line before its timing line.
        timing = next((i for i, line in enumerate(lines[:2]) if "-->" in line), None)
        if timing is None:
            raise ThumbnailError(f"cue {len(cues) + 1} has no timing line: {_short(lines[0])!r}")
        if len(cues) >= MAX_CUES:
            raise ThumbnailError(f"more than {MAX_CUES} cues")
        cues.append(_cue(lines[timing], lines[timing + 1:], base_url, len(cues) + 1))
    if not cues:
        raise ThumbnailError("the thumbnail index has no cues")
    cues.sort(key=lambda cue: (cue.start, cue.end))
    return cues


def _cue(timing: str, payload: list[str], base_url: str, number: int) -> ThumbCue:
    left, _, right = timing.partition("-->")
    try:
        start = parse_timestamp(left)
        end = parse_timestamp(right.split()[0])  # cue settings may follow the end time
    except (ValueError, IndexError):
        raise ThumbnailError(f"cue {number} has a broken timing line: {_short(timing)!r}") from None
    if end <= start:
        raise ThumbnailError(f"cue {number} ends before it starts: {_short(timing)!r}")
    if not payload:
        raise ThumbnailError(f"cue {number} names no image")
    url, fragment = urldefrag(urljoin(base_url, payload[0]))
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise ThumbnailError(f"cue {number} image is not an http(s) URL: {_short(url)!r}")
    return ThumbCue(start, end, url, _box(fragment, number))


def _box(fragment: str, number: int) -> Box | None:
    for part in fragment.split("&"):
        if not part.startswith("xywh="):
            continue  # other media fragments (t=, track=) say nothing about the picture
        match = _XYWH.fullmatch(part)
        if not match:
            raise ThumbnailError(f"cue {number} has a box this player does not read: {_short(part)!r}")
        x, y, w, h = (int(value) for value in match.groups())
        if w == 0 or h == 0:
            raise ThumbnailError(f"cue {number} has an empty box: {part!r}")
        return x, y, w, h
    return None


# --- the track ----------------------------------------------------------------------------------------


class ThumbnailTrack:
    """Cues plus their decoded images. ``load`` runs once in a worker thread; ``at`` is for the main
    loop and returns None until ``ready``."""

    def __init__(self, cues: Sequence[ThumbCue], fetch: Fetch | None = None) -> None:
        self.cues: tuple[ThumbCue, ...] = tuple(sorted(cues, key=lambda cue: (cue.start, cue.end)))
        self._starts = [cue.start for cue in self.cues]
        self._fetch = fetch or fetch_image
        self._images: dict[str, Image.Image | None] = {}
        self._crops: dict[int, Crop | None] = {}
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.failures: dict[str, str] = {}  # image URL -> reason, for logs and the maintainer

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def load(self, session: requests.Session, timeout: float) -> None:
        """Download and decode each distinct image once. Never raises for a bad image: its cues just
        have no picture, and the rest of the track still works."""
        images: dict[str, Image.Image | None] = {}
        failures: dict[str, str] = {}
        deadline = time.monotonic() + timeout * LOAD_TIME_FACTOR
        budget = MAX_TOTAL_PIXELS
        for url in dict.fromkeys(cue.url for cue in self.cues):
            if len(images) >= MAX_IMAGES:
                failures[url] = f"the track uses more than {MAX_IMAGES} images"
                continue
            if time.monotonic() > deadline:
                failures[url] = "loading the thumbnails took too long"
                continue
            try:
                image = decode_sprite(self._fetch(session, url, timeout, MAX_IMAGE_BYTES), budget)
            except Exception as exc:  # a worker thread must survive any one broken image or fetcher
                failures[url] = str(exc) if isinstance(exc, ThumbnailError) else _short(repr(exc))
                images[url] = None
                continue
            budget -= image.width * image.height
            images[url] = image
        for url, reason in failures.items():
            log.warning("seek thumbnail %s left out: %s", url, reason)
        with self._lock:
            self._images = images
            self._crops = {}
            self.failures = failures
        self._ready.set()

    def at(self, seconds: float) -> Crop | None:
        """RGB bytes and size of the thumbnail for ``seconds``; None if no cue covers it, its image
        failed, or the track is not loaded yet."""
        if not self._ready.is_set() or not math.isfinite(seconds):
            return None
        # Thumbnail cues tile the timeline without overlap, so the last cue starting at or before
        # ``seconds`` is the only candidate.
        index = bisect_right(self._starts, seconds) - 1
        if index < 0 or seconds >= self.cues[index].end:
            return None
        with self._lock:
            if index not in self._crops:
                self._crops[index] = self._crop(self.cues[index])
            return self._crops[index]

    def _crop(self, cue: ThumbCue) -> Crop | None:
        image = self._images.get(cue.url)
        if image is None:
            return None
        if cue.box is None:
            region = image
        else:
            x, y, w, h = cue.box
            # Clip to the image: a box hanging off the edge shows what is there, not black padding.
            left, top = min(x, image.width), min(y, image.height)
            right, bottom = min(x + w, image.width), min(y + h, image.height)
            if right <= left or bottom <= top:
                return None
            region = image.crop((left, top, right, bottom))
        return region.tobytes(), region.size


def decode_sprite(data: bytes, budget: int = MAX_IMAGE_PIXELS) -> Image.Image:
    """Decode image bytes to RGB, refusing more than ``MAX_IMAGE_PIXELS`` (or ``budget``) pixels."""
    if not data:
        raise ThumbnailError("the image is empty")
    limit = min(MAX_IMAGE_PIXELS, budget)
    with warnings.catch_warnings():
        # Pillow's own bomb check only warns below twice its limit; the explicit check below is what
        # guards, this turns the warning into a refusal too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ThumbnailError("the image declares too many pixels") from None
        except Exception as exc:  # Pillow raises assorted types for things that are not images
            raise ThumbnailError(f"not an image this player reads ({', '.join(FORMATS)}): {_short(exc)}") from None
        width, height = image.size
        if width <= 0 or height <= 0 or width * height > limit:
            raise ThumbnailError(f"the image is {width}x{height} pixels, more than {limit:,} allowed")
        try:
            image.load()
            return image.convert("RGB")
        except MemoryError:
            raise ThumbnailError("the image needs too much memory to decode") from None
        except Exception as exc:
            raise ThumbnailError(f"the image data is broken: {_short(exc)}") from None


# --- fetching -----------------------------------------------------------------------------------------


def fetch_thumbnail_track(url: str, session: requests.Session, timeout: float = 10.0) -> ThumbnailTrack:
    """Fetch the index at ``url``, parse it and load its images. Raises ThumbnailError if the index
    cannot be fetched or read; broken images only leave their cues without a picture."""
    data, final_url = _download(session, url, timeout, MAX_INDEX_BYTES, "the thumbnail index")
    # Relative image URLs resolve against where the index really came from, after redirects.
    track = ThumbnailTrack(parse_thumbnail_index(decode_text(data), final_url))
    track.load(session, timeout)
    return track


def fetch_image(session: requests.Session, url: str, timeout: float, cap: int) -> bytes:
    return _download(session, url, timeout, cap, "the image")[0]


def _download(session: requests.Session, url: str, timeout: float, cap: int, what: str) -> tuple[bytes, str]:
    import requests  # here, not at the top: the launcher imports the player before its first frame

    try:
        with session.get(url, timeout=timeout, stream=True) as response:
            status = response.status_code
            if not 200 <= status < 300:
                raise ThumbnailError(f"{what} fetch failed: HTTP {status} {response.reason or ''}".rstrip())
            return read_capped(response, cap, timeout * TOTAL_TIME_FACTOR), response.url or url
    except TooLarge:
        raise ThumbnailError(f"{what} is larger than {cap // 1024} KB") from None
    except TooSlow:
        raise ThumbnailError(f"{what} download took too long") from None
    except requests.Timeout:
        raise ThumbnailError(f"{what} fetch timed out after {timeout:g} s") from None
    except requests.RequestException as exc:
        raise ThumbnailError(f"{what} fetch failed: {_short(exc)}") from None


def _short(value: object, limit: int = 120) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
