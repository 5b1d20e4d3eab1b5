"""The libmpv player (python-mpv). The only module that imports ``mpv``.

One long-lived mpv instance is reused for every film: creating and terminating instances over and
over has crashed python-mpv. Every call into libmpv that could block goes through
``command_async``, and property values arrive through observers into a snapshot, so a stuck libmpv
core cannot freeze the launcher's frame loop.

Two outputs:
  * embedded: mpv's software render API draws each frame, subtitles included, into a pygame
    surface; the launcher blits it and draws its overlays on top. Desktop, tests, screenshots.
  * handover: the launcher lets go of the display and mpv drives it itself (vo=gpu, DRM on a Pi
    without X); overlays then go through mpv's OSD. See docs/architecture.md.
"""

from __future__ import annotations

import ctypes
import logging
import re
import threading
from collections.abc import Callable
from typing import Any

import mpv
import pygame
from PIL import Image

from piclient.player.api import Media, PlayerEvent, Snapshot, Track
from piclient.ui.theme import SAFE_MARGIN  # the one number the launcher's screens keep their text inside

log = logging.getLogger(__name__)

_OBSERVED = {
    "time-pos": "position",
    "duration": "duration",
    "pause": "paused",
    "paused-for-cache": "buffering",
    "demuxer-cache-duration": "buffer_s",
    "sub-text": "sub_text",
    "sub-delay": "sub_delay",
    "frame-drop-count": "dropped_frames",
    "idle-active": "idle",
    "hwdec-current": "hwdec",
    "demuxer-start-time": "start_time",
    "osd-width": "osd_w",
    "osd-height": "osd_h",
}

# The launcher lays out its overlay for a 1920x1080 screen; mpv's OSD is in screen pixels.
OSD_SPACE = (1920, 1080)
IMAGE_OVERLAY_ID = 0  # overlay-add's own ids (0-63), apart from osd-overlay's


# mpv warnings about things the player deals with itself: they would only fill the maintainer's
# list of recent problems. (FFmpeg's HLS demuxer skips WebVTT renditions; subtitle_fetch loads them.)
_EXPECTED_WARNINGS = (
    "Can't support the subtitle",
    # The DRM output (hand-over) wants a terminal for VT switching; a service has none and needs none.
    "Can't open TTY for VT control",
)
# mpv's words when its video output could not be opened: in a hand-over another program holds the
# DRM device, or the device is gone. mpv then plays on with sound only, so the player reports it.
_VO_FAILED = "Error opening/initializing the selected video_out"
# FFmpeg's words for a segment name it refuses (extension_picky), and what the maintainer can do.
_REFUSED_SEGMENT = ("is not in allowed_extensions", "is not in allowed_segment_extensions")
REFUSED_SEGMENT_HINT = (
    "the stream's segment URLs have no media file extension (.ts, .m4s, .mp4, ...): FFmpeg refuses them "
    "for security (extension_picky, docs/architecture.md). Publish the film with `piclient publish`, or "
    "have the server name segments by their format")

# libmpv tries hardware decoders and audio outputs one after another and logs each one missing on
# this machine as an error (CUDA, V4L2 M2M, ALSA cards, JACK, PipeWire) before it settles on one that
# works. Those are probes, not problems of the box: what matters is the outcome, which mpv reports
# separately ("no sound" from cplayer, a failed file in END_FILE). (mpv log prefix, text) pairs.
_PROBING = (
    (re.compile(r"ffmpeg(/video)?$"), re.compile(r"AVHWDeviceContext|CUDA|v4l2m2m|valid device|configure decoder",
                                                  re.I)),
    (re.compile(r"vd$"), re.compile(r"Could not open codec", re.I)),
    # One audio output that is not there; mpv tries the next. (An underrun on the one in use is not this.)
    (re.compile(r"ao/.+$"), re.compile(r"open|connect|initiali[sz]e|server|no such file", re.I)),
    (re.compile(r"ao$"), re.compile(r"Failed to initialize audio driver", re.I)),
)


def is_probing_noise(prefix: str, text: str) -> bool:
    """A line libmpv logs while it looks for a decoder or an audio output that works."""
    return any(where.match(prefix) and what.search(text) for where, what in _PROBING)


def safe_margins(overscan: float = 0.0) -> dict[str, int]:
    """mpv's subtitle and OSD margins that keep their text inside the title-safe area: 5 % of each
    side (theme.SAFE_MARGIN), plus ``overscan``.

    mpv counts these margins in "scaled pixels" of a screen 720 high, so on a 16:9 TV a fraction
    ``f`` of the width is ``f * 1280`` and of the height ``f * 720``.
    """
    margin = SAFE_MARGIN + overscan
    x, y = round(margin * 1280), round(margin * 720)
    return {"sub_margin_x": x, "sub_margin_y": y, "osd_margin_x": x, "osd_margin_y": y}


class _SwSize(ctypes.Structure):
    _fields_ = (("w", ctypes.c_int), ("h", ctypes.c_int))


class _SwStride(ctypes.Structure):
    _fields_ = (("v", ctypes.c_size_t),)


def _enable_sw_render_params() -> None:
    # python-mpv knows the OpenGL render parameters only; these are MPV_RENDER_PARAM_SW_* from
    # libmpv's render.h (stable since client API 1.108, mpv 0.34).
    mpv.MpvRenderParam.TYPES.update({
        "sw_size": (17, _SwSize),
        "sw_format": (18, str),
        "sw_stride": (19, _SwStride),
        "sw_pointer": (20, ctypes.c_void_p),
    })


class MpvPlayer:
    def __init__(self, *, output: str = "embedded", audio_output: str = "auto", hwdec: str = "auto-safe",
                 readahead_s: float = 60, subtitle_language: str = "ko", subtitle_scale: float = 1.3,
                 overscan: float = 0.0, on_event: Callable[[PlayerEvent], None] | None = None) -> None:
        """``overscan``: the fraction of each side of the screen a TV crops beyond the usual (hand-over)."""
        self.output = output
        self.on_event: Callable[[PlayerEvent], None] = on_event or (lambda event: None)
        self._lock = threading.Lock()
        self._values: dict[str, Any] = {"idle": True}
        self._tracks: tuple[Track, ...] = ()
        self._input_rate: float | None = None
        self._end_buffered = False
        self._render_ctx: Any = None
        self._frame: pygame.Surface | None = None
        self._closed = False
        self._explained_refusal = False
        self._vo_problems: list[str] = []  # what mpv's video output said since the film was loaded
        # mpv's video output (handover: the DRM device); None while no film holds the display.
        self._vo_changed = threading.Condition(self._lock)
        self._vo: str | None = None
        # Pixel buffers mpv reads straight from memory (overlay-add "&address"): each must live until
        # the next overlay-add or overlay-remove for the id has run; see show_image.
        self._images: list[ctypes.Array[ctypes.c_char]] = []
        options: dict[str, Any] = {
            "vo": "libmpv" if output == "embedded" else "gpu",
            "hwdec": hwdec,
            "idle": "yes",
            "keep_open": "no",
            "osc": "no",
            "input_default_bindings": "no",
            "input_vo_keyboard": "no",
            "ytdl": "no",
            "load_scripts": "no",
            "sub_auto": "no",
            "slang": f"{subtitle_language},{'en' if subtitle_language != 'en' else 'ko'}",
            "sub_scale": subtitle_scale,
            "sub_font": "Noto Sans CJK KR",
            "osd_font": "Noto Sans CJK KR",  # the launcher's own face, for the hand-over overlay
            "sub_border_size": 3,
            **safe_margins(overscan),
            "cache": "yes",
            "demuxer_readahead_secs": readahead_s,
            "cache_secs": readahead_s,
            "demuxer_max_bytes": "64MiB",  # a Pi 4 with 1 GB must not fill its RAM with video
            "network_timeout": 15,
            # Reconnect dropped HTTP connections inside FFmpeg before mpv sees an error.
            "stream_lavf_o": "reconnect=1,reconnect_streamed=1,reconnect_delay_max=4",
            # Keep FFmpeg's check of HLS segment names on even where mpv turns it off (mpv 0.40+):
            # docs/architecture.md says why. Demuxers without the option ignore it.
            "demuxer_lavf_o": "extension_picky=1",
        }
        if audio_output != "auto":  # mpv has no "auto" value: leaving ao unset lets it choose
            options["ao"] = audio_output
        if output == "handover":
            options["gpu_context"] = "drm"
            options["fullscreen"] = "yes"
            if overscan:
                for side in ("left", "right", "top", "bottom"):
                    options[f"video_margin_ratio_{side}"] = overscan
        self._mpv = mpv.MPV(log_handler=self._log, loglevel="warn", **options)
        for name in _OBSERVED:
            self._mpv.observe_property(name, self._observer(name))
        self._mpv.observe_property("track-list", self._on_tracks)
        self._mpv.observe_property("current-vo", self._on_vo)
        self._mpv.observe_property("demuxer-cache-state", self._on_cache_state)
        self._mpv.register_event_callback(self._on_mpv_event)
        if output == "embedded":
            _enable_sw_render_params()
            self._render_ctx = mpv.MpvRenderContext(self._mpv, "sw")

    # -- callbacks on mpv's event thread: store or enqueue, nothing else ------------------------

    def _log(self, level: str, prefix: str, text: str) -> None:
        if any(known in text for known in _EXPECTED_WARNINGS) or is_probing_noise(prefix, text):
            log.debug("mpv %s: %s", prefix, text.strip())  # handled by the player; not a problem to report
            return
        log.log(logging.ERROR if level in ("fatal", "error") else logging.WARNING, "mpv %s: %s", prefix, text.strip())
        if prefix.startswith("vo"):
            with self._lock:
                self._vo_problems = [*self._vo_problems[-4:], f"{prefix}: {text.strip()}"]
        if _VO_FAILED in text and self.output == "handover":
            with self._lock:
                reasons = "; ".join(self._vo_problems) or text.strip()
            self.on_event(PlayerEvent("display_failed", {"error": reasons}))
        if any(words in text for words in _REFUSED_SEGMENT) and not self._explained_refusal:
            self._explained_refusal = True  # once a film: FFmpeg says it for every segment
            log.error("%s", REFUSED_SEGMENT_HINT)

    def _observer(self, name: str) -> Callable[[str, Any], None]:
        key = _OBSERVED[name]

        def store(_name: str, value: Any) -> None:
            with self._lock:
                self._values[key] = value

        return store

    def _on_tracks(self, _name: str, value: Any) -> None:
        tracks = []
        for item in value or []:
            tracks.append(Track(
                id=int(item.get("id", 0)), type=str(item.get("type")), lang=item.get("lang"),
                title=item.get("title"), selected=bool(item.get("selected")),
                bitrate=item.get("hls-bitrate"), width=item.get("demux-w"), height=item.get("demux-h"),
                ff_index=item.get("ff-index"), external=item.get("external-filename"),
            ))
        with self._lock:
            self._tracks = tuple(tracks)

    def _on_vo(self, _name: str, value: Any) -> None:
        with self._vo_changed:
            self._vo = str(value) if value else None
            self._vo_changed.notify_all()

    def video_output(self) -> str | None:
        """The video output mpv has open ("gpu", "libmpv"), or None while it holds no display."""
        with self._lock:
            return self._vo

    def wait_video_output_closed(self, timeout: float) -> bool:
        """Handover: wait until mpv has closed its video output and so let go of the DRM device (it
        does so a moment after ``stop``). True when it has; False after ``timeout`` seconds."""
        with self._vo_changed:
            return self._vo_changed.wait_for(lambda: self._vo is None or self._closed, timeout)

    def _on_cache_state(self, _name: str, value: Any) -> None:
        state = value if isinstance(value, dict) else {}
        rate = state.get("raw-input-rate")
        with self._lock:
            # An idle reader (cache full) reads nothing: that says nothing about the network.
            self._input_rate = float(rate) * 8 if rate is not None and not state.get("idle") else None
            self._end_buffered = bool(state.get("eof"))

    def _on_mpv_event(self, event: Any) -> None:
        kind = event.event_id.value
        if kind == mpv.MpvEventID.FILE_LOADED:
            self.on_event(PlayerEvent("loaded"))
        elif kind == mpv.MpvEventID.END_FILE:
            data = event.as_dict(decoder=mpv.lazy_decoder)
            reason = str(data.get("reason", ""))
            mapped = {"eof": "eof", "error": "error"}.get(reason, "stopped")
            if reason in ("redirect", "restart"):
                return
            self.on_event(PlayerEvent("ended", {"reason": mapped, "error": data.get("file_error")}))

    # -- control: asynchronous, so a busy libmpv core never blocks the caller --------------------

    def _command(self, *args: Any, on_done: Callable[[], None] | None = None, expected_failure: bool = False) -> None:
        """Send a command without waiting; ``on_done`` runs on mpv's event thread if it succeeds.

        ``expected_failure``: a failure is part of normal use (a seek past the end while the film is
        ending), logged for the record but not reported as a problem of the box.
        """
        if self._closed:
            # python-mpv's async commands go to a handle that terminate() has freed: calling it
            # now would crash the whole launcher (use after free), not raise.
            log.debug("mpv is closed; %s ignored", args[0])
            return

        def done(error: Exception | None, _result: Any) -> None:
            if error is not None:
                log.log(logging.INFO if expected_failure else logging.WARNING, "mpv command %s failed: %s",
                        args[0], error)
            elif on_done is not None:
                on_done()

        try:
            self._mpv.command_async(*args, callback=done)
        except mpv.ShutdownError:
            log.warning("mpv is shut down; %s ignored", args[0])

    def load(self, media: Media) -> None:
        # "start=0" is not free: mpv treats any start as a seek before the first frame (~20 ms).
        options: dict[str, str] = {"start": f"{media.start:.3f}"} if media.start > 0 else {}
        if media.max_bitrate:
            options["hls-bitrate"] = str(int(media.max_bitrate))
        if media.http_headers:
            options["http-header-fields"] = ",".join(f"{k}: {v}" for k, v in media.http_headers.items())
        with self._lock:
            self._values.update(position=None, duration=None, sub_text="", dropped_frames=0, idle=False)
            self._tracks = ()
        self._explained_refusal = False
        with self._lock:
            self._vo_problems = []
        # The URL is passed as one argument of the loadfile command (never parsed as options), and
        # the catalog has already refused anything that is not plain http(s).
        # An empty options argument would reset nothing; leave it out when there is nothing to set.
        args = ("loadfile", media.url, "replace", ",".join(f"{k}={v}" for k, v in options.items()))
        self._command(*(args if options else args[:3]))
        self._command("set", "pause", "no")

    def stop(self) -> None:
        self._command("stop")

    def set_pause(self, paused: bool) -> None:
        self._command("set", "pause", "yes" if paused else "no")

    def seek(self, seconds: float, *, absolute: bool = False) -> None:
        # mpv refuses a seek while the film is ending or before it is loaded: she pressed RIGHT near
        # the end, and the end-of-file handling takes over. Nothing is broken.
        self._command("seek", f"{seconds:.3f}", "absolute" if absolute else "relative", expected_failure=True)

    def set_sub_delay(self, seconds: float) -> None:
        self._command("set", "sub-delay", f"{seconds:.3f}")

    def set_sub_position(self, percent: int) -> None:
        self._command("set", "sub-pos", str(percent))

    def add_subtitle(self, path: str, language: str, title: str, *, select: bool) -> None:
        self._command("sub-add", path, "select" if select else "auto", title, language)

    def select_track(self, kind: str, track_id: int | None) -> None:
        prop = {"video": "vid", "audio": "aid", "sub": "sid"}[kind]
        self._command("set", prop, "no" if track_id is None else str(track_id))

    def reload_subtitle(self, path: str) -> None:
        with self._lock:
            track = next((t for t in self._tracks if t.type == "sub" and t.external == path), None)
        if track is None:
            log.debug("subtitle %s is not loaded; nothing to reload", path)
            return
        self._command("sub-reload", str(track.id))

    def show_osd(self, ass_text: str) -> None:
        """Handover output: the launcher's overlay as ASS, drawn by mpv over the video."""
        self._command("osd-overlay", 1, "ass-events", ass_text, 1920, 1080)

    def show_image(self, rgb: bytes, size: tuple[int, int], pos: tuple[int, int]) -> None:
        """Handover output: a picture over the video through overlay-add (the seek thumbnail)."""
        with self._lock:
            osd_w, osd_h = self._values.get("osd_w"), self._values.get("osd_h")
        scale = min(osd_w / OSD_SPACE[0], osd_h / OSD_SPACE[1]) if osd_w and osd_h else 1.0
        width, height = max(1, round(size[0] * scale)), max(1, round(size[1] * scale))
        image = Image.frombytes("RGB", size, rgb)
        if (width, height) != size:
            image = image.resize((width, height), Image.Resampling.BILINEAR)
        # mpv wants premultiplied BGRA; an opaque picture is the same either way.
        data = image.convert("RGBA").tobytes("raw", "BGRA")
        buffer = ctypes.create_string_buffer(data, len(data))
        with self._lock:
            self._images.append(buffer)

        def shown() -> None:  # mpv now reads this buffer: the ones before it can go
            with self._lock:
                if buffer in self._images:
                    del self._images[:self._images.index(buffer)]

        self._command("overlay-add", IMAGE_OVERLAY_ID, round(pos[0] * scale), round(pos[1] * scale),
                      f"&{ctypes.addressof(buffer)}", 0, "bgra", width, height, width * 4, on_done=shown)

    def hide_image(self) -> None:
        with self._lock:
            if not self._images:
                return
            kept = list(self._images)

        def removed() -> None:
            with self._lock:
                self._images = [b for b in self._images if b not in kept]

        self._command("overlay-remove", IMAGE_OVERLAY_ID, on_done=removed)

    def screenshot(self) -> tuple[bytes, tuple[int, int]] | None:
        """mpv's own picture of the window, OSD included (handover output). A synchronous libmpv call:
        the control socket's timeout bounds how long a stuck core can hold it."""
        if self._closed:
            return None
        try:
            image = self._mpv.screenshot_raw("window").convert("RGB")
        except Exception as exc:
            log.warning("mpv screenshot failed: %s", exc)
            return None
        return image.tobytes(), image.size

    def snapshot(self) -> Snapshot:
        with self._lock:
            v = dict(self._values)
            tracks = self._tracks
            rate = self._input_rate
            end_buffered = self._end_buffered
        return Snapshot(
            position=v.get("position"), duration=v.get("duration"), paused=bool(v.get("paused")),
            buffering=bool(v.get("buffering")), buffer_s=v.get("buffer_s"), input_rate_bps=rate,
            end_buffered=end_buffered,
            sub_text=v.get("sub_text") or "", sub_delay=float(v.get("sub_delay") or 0.0),
            dropped_frames=int(v.get("dropped_frames") or 0), tracks=tracks, idle=bool(v.get("idle", True)),
            hwdec=v.get("hwdec"), start_time=v.get("start_time"),
        )

    # -- embedded output -------------------------------------------------------------------------

    def poll_frame(self, size: tuple[int, int]) -> bool:
        """Render mpv's newest frame at ``size`` when there is one; True when the picture changed."""
        if self._closed or self._render_ctx is None or not self._render_ctx.update():
            return False
        if self._frame is None or self._frame.get_size() != size:
            # XRGB8888 in memory is B, G, R, X: mpv's "bgr0" writes straight into the surface.
            self._frame = pygame.Surface(size, 0, 32, (0xFF0000, 0xFF00, 0xFF, 0))
        frame = self._frame
        self._render_ctx.render(sw_size={"w": size[0], "h": size[1]}, sw_format="bgr0",
                                sw_stride={"v": frame.get_pitch()}, sw_pointer=frame._pixels_address)
        return True

    def draw_frame(self, target: pygame.Surface) -> None:
        """Blit the last rendered frame (black before the first one)."""
        if self._frame is None:
            target.fill((0, 0, 0))
        else:
            target.blit(self._frame, (0, 0))

    def close(self) -> None:
        """Free libmpv. Later calls are ignored (see ``_command``); closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        if self._render_ctx is not None:
            self._render_ctx.free()
            self._render_ctx = None
        self._mpv.terminate()
