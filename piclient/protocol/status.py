"""The launcher's status: the control socket's answer to ``{"cmd": "status"}``, read by the agent.

The launcher builds a ``LauncherStatus``; the agent reads the same model and copies ``now_playing``
into its heartbeat unchanged, so what the dashboard shows is what the player reported.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from piclient.protocol.base import SCHEMA, WireModel

Localized = dict[str, str]  # a name per language: {"ko": "봄날", "en": "Spring Day"}


class Rendition(WireModel):
    """The HLS variant the player shows now."""

    track: int | None = Field(None, description="mpv's video track id")
    height: int | None = Field(None, description="picture height in pixels")
    bitrate: int | None = Field(None, description="bits per second: the ladder's BANDWIDTH, else mpv's estimate")


class SubtitleTrack(WireModel):
    """The subtitle track selected now."""

    track: int | None = Field(None, description="mpv's subtitle track id")
    lang: str | None = Field(None, description="its language code (`ko`, `en`)")
    title: str | None = Field(None, description="its label")


class NowPlaying(WireModel):
    """What the player plays: in the launcher's status and, unchanged, in the heartbeat's ``tv``."""

    id: str = Field(description="the catalog id playing: a film's, or an episode's")
    title_id: str = Field(description="the film's or the series' catalog id")
    title: Localized = Field(default_factory=dict, description="the film's or the series' name per language")
    season: int | None = Field(None, description="season number, for an episode")
    episode: int | None = Field(None, description="episode number, for an episode")
    episode_title: Localized = Field(default_factory=dict, description="the episode's own name, if any")
    phase: str = Field("starting", description="`starting`, `playing`, `countdown` (to the next episode) or `done`")
    started_at: float | None = Field(None, description="when this playback began, box clock, epoch seconds")
    position: float | None = Field(None, description="seconds from the start")
    duration: float | None = Field(None, description="seconds in all")
    paused: bool = Field(False, description="paused by the viewer")
    buffering: bool = Field(False, description="waiting for the network")
    variant: Rendition | None = Field(None, description="the rendition playing")
    input_bps: int | None = Field(None, description="download rate while fetching, bits per second")
    buffer_s: float | None = Field(None, description="seconds buffered ahead")
    subtitle: SubtitleTrack | None = Field(None, description="the subtitle track shown, or null when off")
    subtitle_tracks: int = Field(0, description="how many subtitle tracks the film has")
    sub_text: str = Field("", description="the subtitle line on the TV right now (empty between lines)")
    sub_delay: float = Field(0.0, description="subtitle delay in seconds set with the remote")
    dropped_frames: int = Field(0, description="frames the decoder dropped")
    hwdec: str | None = Field(None, description="the hardware decoder in use, if any")
    countdown: int | None = Field(None, description="seconds until the next episode starts")
    notice: str | None = Field(None, description="the short notice shown over the picture")
    legend: bool = Field(False, description="the colour keys' legend is on screen")
    seek_target: float | None = Field(None, description="where a seek in progress will land")
    thumbnail: bool = Field(False, description="a seek thumbnail is on screen")
    abr: dict[str, Any] | None = Field(None, description="the bitrate choice: `estimate_bps`, `up_blocker` (why "
                                       "it does not step up), the last `switches`")
    stall: dict[str, Any] | None = Field(None, description="a stall in progress: `still_s`, `waiting`, `recoveries`")
    retries: int = Field(0, description="reconnects after stream errors")
    error: str | None = Field(None, description="why playback failed, for the maintainer")


class OverlayState(WireModel):
    message: str | None = Field(None, description="a message shown from the dashboard")
    notice: str | None = Field(None, description="a calm notice (Wi-Fi down, ...)")
    dimmed: bool = Field(False, description="the screen is dimmed")
    footer: str | None = Field(None, description="the footer line")


class DisplayState(WireModel):
    """Which display the launcher draws on; an off-screen one is not what the TV shows."""

    driver: str | None = Field(None, description="SDL's video driver (`KMSDRM`, `x11`, `dummy`), or `mpv` while "
                               "mpv drives the screen for a film")
    real: bool = Field(False, description="a real screen: false for an off-screen surface, whose pictures nobody sees")
    error: str | None = Field(None, description="why the real display could not be had")


class CatalogState(WireModel):
    titles: int = Field(0, description="titles in the catalog the launcher shows")
    skipped: int = Field(0, description="entries the launcher could not use")
    skipped_reasons: list[str] = Field(default_factory=list, description="why, for the first 20")
    source: str | None = Field(None, description="where the catalog came from")
    fetched_at: float | None = Field(None, description="when it was fetched, epoch seconds")
    error: str | None = Field(None, description="the last refresh's failure")
    error_kind: str | None = Field(None, description="its kind (docs/catalog.md)")


class ProblemEntry(WireModel):
    time: float | None = Field(None, description="when, epoch seconds")
    level: str | None = Field(None, description="`warning` or `error`")
    message: str = Field("", description="the log line")


class LauncherStatus(WireModel):
    schema_version: int = Field(SCHEMA, alias="schema", description="this format's version")
    ok: bool = Field(True, description="the control socket's success flag")
    version: str | None = Field(None, description="the launcher's version")
    device: str | None = Field(None, description="the box's name from its config")
    uptime: float | None = Field(None, description="seconds since the launcher started")
    size: list[int] = Field(default_factory=list, description="screen size in pixels")
    display: DisplayState | None = Field(None, description="the display in use")
    screen: str | None = Field(None, description="the screen on top: `home`, `title`, `player`, `empty`")
    depth: int = Field(0, description="screens on the stack")
    focus: dict[str, Any] = Field(default_factory=dict, description="what the top screen reports (its own shape)")
    overlay: OverlayState | None = Field(None, description="what is drawn over the screen")
    catalog: CatalogState | None = Field(None, description="the catalog the launcher shows")
    cec: dict[str, Any] | None = Field(None, description="the CEC link (`adapter`, `tv_power`, `active_source`, ...)")
    cec_events: list[Any] = Field(default_factory=list, description="the last CEC events")
    now_playing: NowPlaying | None = Field(None, description="the playback, or null")
    play_requests: list[Any] = Field(default_factory=list, description="the last `play` requests")
    errors: list[ProblemEntry] = Field(default_factory=list, description="recent warnings and errors")
