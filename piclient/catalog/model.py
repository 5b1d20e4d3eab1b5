"""The catalog: what the maintainer publishes and the launcher shows.

The format is documented in docs/catalog.md. Parsing is forgiving per entry and strict per field:
an entry with a bad field is skipped with its reason (the rest still shows), while a stream URL that
is not plain http(s) is never let through, because it would reach mpv.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal
from urllib.parse import urljoin, urlsplit

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

SUPPORTED_VERSIONS = (1,)
MAX_URL_LENGTH = 2048
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# Control characters and whitespace never belong in a URL we hand to mpv or requests.
_UNSAFE_URL_CHARS = re.compile(r"[\x00-\x20\x7f]")


class CatalogError(Exception):
    """The catalog document as a whole cannot be used (not JSON/YAML, wrong shape, unknown version)."""


def _localized(value: Any) -> Any:
    # "title": "Spring Day" is shorthand for {"en": "Spring Day"}? No: we do not know its language,
    # so it stands for every language.
    if isinstance(value, str):
        return {"*": value}
    return value


LocalizedText = Annotated[dict[str, Annotated[str, Field(min_length=1, max_length=2000)]],
                          BeforeValidator(_localized)]


def pick(text: dict[str, str], language: str) -> str:
    """The text in ``language``, else the language-neutral one, else English, else any."""
    for key in (language, "*", "en", "ko"):
        if text.get(key):
            return text[key]
    return next(iter(text.values()), "")


class _Entry(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Subtitle(_Entry):
    url: str
    language: str = Field(min_length=2, max_length=16)
    label: str = ""


class Episode(_Entry):
    id: str
    number: int = Field(ge=0, le=100_000)
    title: LocalizedText = Field(default_factory=dict)
    description: LocalizedText = Field(default_factory=dict)
    stream: str
    subtitles: tuple[Subtitle, ...] = ()
    thumbnails: str | None = None  # a WebVTT index of seek thumbnails (sprite#xywh=...)
    duration: float = Field(0, ge=0, le=24 * 3600)

    _check_id = field_validator("id")(lambda cls, v: _check_id(v))


class Season(_Entry):
    number: int = Field(ge=0, le=1000)
    episodes: tuple[Episode, ...]


class Title(_Entry):
    id: str
    kind: Literal["film", "series"]
    title: LocalizedText = Field(min_length=1)
    year: int | None = Field(None, ge=1850, le=2200)
    description: LocalizedText = Field(default_factory=dict)
    poster: str | None = None
    stream: str | None = None
    subtitles: tuple[Subtitle, ...] = ()
    thumbnails: str | None = None
    duration: float = Field(0, ge=0, le=24 * 3600)
    added_at: datetime | None = None
    seasons: tuple[Season, ...] = ()

    _check_id = field_validator("id")(lambda cls, v: _check_id(v))

    @field_validator("added_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def name(self, language: str) -> str:
        return pick(self.title, language)

    @property
    def episodes(self) -> tuple[Episode, ...]:
        return tuple(ep for season in self.seasons for ep in season.episodes)

    @property
    def playable_ids(self) -> tuple[str, ...]:
        """Progress is kept per film and per episode; these are this title's keys."""
        return (self.id,) if self.kind == "film" else tuple(ep.id for ep in self.episodes)


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError("ids are 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return value


@dataclass(frozen=True)
class Skipped:
    where: str  # "titles[3] (id 'spring-day')"
    reason: str


@dataclass(frozen=True)
class Catalog:
    titles: tuple[Title, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    by_id: dict[str, Title] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.by_id:
            self.by_id.update({t.id: t for t in self.titles})

    def __len__(self) -> int:
        return len(self.titles)

    def find_playable(self, playable_id: str) -> tuple[Title, Episode | None] | None:
        """The film with this id, or the series and episode with this episode id."""
        title = self.by_id.get(playable_id)
        if title is not None and title.kind == "film":
            return title, None
        for title in self.titles:
            for ep in title.episodes:
                if ep.id == playable_id:
                    return title, ep
        return None


def parse_catalog(raw: bytes | str, base_url: str) -> Catalog:
    """Parse a catalog document; ``base_url`` resolves relative poster, stream and subtitle URLs.

    Raises CatalogError when the document as a whole is unusable; individual bad entries are
    skipped and listed in ``Catalog.skipped``.
    """
    doc = _load_document(raw)
    version = doc.get("version")
    if version not in SUPPORTED_VERSIONS:
        raise CatalogError(f"catalog version {version!r} is not supported (this box reads {SUPPORTED_VERSIONS})")
    entries = doc.get("titles")
    if not isinstance(entries, list):
        raise CatalogError("the catalog has no 'titles' list")

    titles: list[Title] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = _where(index, entry)
        try:
            title = _parse_title(entry, base_url, skipped, where)
        except (ValidationError, ValueError, TypeError) as exc:
            skipped.append(Skipped(where, _reason(exc)))
            continue
        playable = set(title.playable_ids) | {title.id}
        if playable & seen:
            skipped.append(Skipped(where, "an id is used twice in the catalog; the first one is kept"))
            continue
        seen |= playable
        titles.append(title)
    return Catalog(tuple(titles), tuple(skipped))


def _load_document(raw: bytes | str) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise CatalogError("the catalog is not UTF-8 text") from None
    try:
        doc = json.loads(text)
    except ValueError:
        try:
            # YAML is a superset of JSON; safe_load never builds Python objects from the document.
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CatalogError(f"the catalog is neither JSON nor YAML: {exc}") from None
        except RecursionError:
            raise CatalogError("the catalog is nested too deeply") from None
    except RecursionError:
        # Both parsers recurse per nesting level; "[[[[..." must not crash the box.
        raise CatalogError("the catalog is nested too deeply") from None
    if not isinstance(doc, dict):
        raise CatalogError("the catalog must be a mapping with 'version' and 'titles'")
    return doc


def _where(index: int, entry: Any) -> str:
    ident = entry.get("id") if isinstance(entry, dict) else None
    return f"titles[{index}]" + (f" (id {ident!r})" if isinstance(ident, str) else "")


def _parse_title(entry: Any, base_url: str, skipped: list[Skipped], where: str) -> Title:
    if not isinstance(entry, dict):
        raise ValueError("an entry must be a mapping")
    data = dict(entry)
    if data.get("kind") == "series":
        data["seasons"] = _good_seasons(data.get("seasons"), base_url, skipped, where)
        if not any(season["episodes"] for season in data["seasons"]):
            raise ValueError("a series needs at least one playable episode")
        data["seasons"] = [s for s in data["seasons"] if s["episodes"]]
        data.pop("stream", None)
    elif data.get("kind") == "film":
        if not data.get("stream"):
            raise ValueError("stream: a film needs a stream URL")
        data["stream"] = stream_url(data["stream"], base_url)
        data["subtitles"] = _subtitles(data.get("subtitles"), base_url, skipped, where)
        data["thumbnails"] = _thumbnails(data.get("thumbnails"), base_url, skipped, where)
        data.pop("seasons", None)
    if data.get("poster") == "":
        data["poster"] = None  # "no poster yet": the launcher draws its placeholder
    if data.get("poster") is not None:
        try:
            data["poster"] = _resolve(str(data["poster"]), base_url, allow_file=True)
        except ValueError as exc:
            # A bad poster costs the picture, not the film: the launcher draws a placeholder.
            skipped.append(Skipped(f"{where}.poster", f"{exc}; a placeholder is shown"))
            data["poster"] = None
    return Title.model_validate(data)


def _good_seasons(seasons: Any, base_url: str, skipped: list[Skipped], where: str) -> list[dict[str, Any]]:
    if not isinstance(seasons, list):
        raise ValueError("seasons: a series needs a list of seasons")
    good = []
    # Progress is stored per episode id: a repeated id would share it (and confuse "next episode").
    seen_ids: set[str] = set()
    for s_index, season in enumerate(seasons):
        if not isinstance(season, dict) or not isinstance(season.get("episodes"), list):
            skipped.append(Skipped(f"{where}.seasons[{s_index}]", "a season needs an 'episodes' list"))
            continue
        episodes = []
        for e_index, ep in enumerate(season["episodes"]):
            ep_where = f"{where}.seasons[{s_index}].episodes[{e_index}]"
            try:
                if not isinstance(ep, dict):
                    raise ValueError("an episode must be a mapping")
                ep = dict(ep)
                ep["stream"] = stream_url(ep.get("stream"), base_url)
                ep["subtitles"] = _subtitles(ep.get("subtitles"), base_url, skipped, ep_where)
                ep["thumbnails"] = _thumbnails(ep.get("thumbnails"), base_url, skipped, ep_where)
                episode = Episode.model_validate(ep)
                if episode.id in seen_ids:
                    raise ValueError(f"episode id {episode.id!r} is used twice in this series; the first one is kept")
                seen_ids.add(episode.id)
                episodes.append(episode)
            except (ValidationError, ValueError, TypeError) as exc:
                skipped.append(Skipped(ep_where, _reason(exc)))
        good.append({**season, "episodes": sorted(episodes, key=lambda e: e.number)})
    return sorted(good, key=lambda s: s["number"] if isinstance(s.get("number"), int) else 0)


def _subtitles(subs: Any, base_url: str, skipped: list[Skipped], where: str) -> list[dict[str, Any]]:
    if subs is None:
        return []
    if not isinstance(subs, list):
        skipped.append(Skipped(f"{where}.subtitles", "must be a list; subtitles left out"))
        return []
    good = []
    for index, sub in enumerate(subs):
        try:
            if not isinstance(sub, dict):
                raise ValueError("a subtitle must be a mapping with url and language")
            url = _resolve(str(sub.get("url", "")), base_url, allow_file=False)
            # Validated here so that one bad subtitle drops only itself, not the film or episode.
            good.append(Subtitle.model_validate({**sub, "url": url}).model_dump())
        except (ValidationError, ValueError) as exc:
            skipped.append(Skipped(f"{where}.subtitles[{index}]", _reason(exc)))
    return good


def _thumbnails(value: Any, base_url: str, skipped: list[Skipped], where: str) -> str | None:
    """The seek-thumbnail index is a nicety: a bad URL drops it, never the title."""
    if value in (None, ""):
        return None
    try:
        return _resolve(str(value), base_url, allow_file=False)
    except ValueError as exc:
        skipped.append(Skipped(f"{where}.thumbnails", f"{exc}; seeking shows the time only"))
        return None


def stream_url(value: Any, base_url: str) -> str:
    """Resolve a stream URL and insist it is plain http(s): nothing else may reach mpv."""
    if not isinstance(value, str) or not value:
        raise ValueError("stream: missing")
    try:
        return _resolve(value, base_url, allow_file=False)
    except ValueError as exc:
        raise ValueError(f"stream: {exc}") from None


def _resolve(value: str, base_url: str, *, allow_file: bool) -> str:
    if not value:
        # urljoin(base, "") is the catalog's own URL, which is never what was meant.
        raise ValueError("URL is empty")
    if len(value) > MAX_URL_LENGTH:
        raise ValueError(f"URL longer than {MAX_URL_LENGTH} characters")
    if _UNSAFE_URL_CHARS.search(value):
        raise ValueError("URL contains spaces or control characters")
    url = _join(base_url, value)
    parts = urlsplit(url)
    allowed = ("http", "https", "file") if allow_file else ("http", "https")
    if parts.scheme not in allowed or (parts.scheme != "file" and not parts.hostname):
        kinds = "http(s) or a file next to the catalog" if allow_file else "http:// or https://"
        raise ValueError(f"URL {value[:80]!r} must be {kinds}")
    return url


_PLAIN_RELATIVE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.~%/-]*$")


@lru_cache(maxsize=64)
def _base_dir(base_url: str) -> str:
    return base_url[: base_url.rfind("/") + 1]


def _join(base_url: str, value: str) -> str:
    """urljoin, with a fast path for the common "media/x/master.m3u8" (a 5,000-title catalog has
    tens of thousands of URLs, and urljoin is most of the parsing time)."""
    if not base_url:
        return value
    if _PLAIN_RELATIVE.match(value) and "/." not in value and not value.startswith("."):
        directory = _base_dir(base_url)
        if "://" in directory:
            return directory + value
    return urljoin(base_url, value)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:3]:
            loc = ".".join(str(p) for p in err["loc"])
            parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
        return "; ".join(parts)
    return str(exc)
