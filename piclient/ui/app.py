"""The launcher's main loop: the one thread that changes the screen.

Every other thread (CEC, control socket, catalog sync, poster loading) only posts to ``inbox``;
the loop drains it, turns raw key presses into button events, lets the top screen handle them,
and repaints only when something changed.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pygame

from piclient import __version__
from piclient.catalog import Catalog, Episode, Title
from piclient.catalog.cache import CatalogCache, ErrorKind
from piclient.catalog.model import stream_url
from piclient.config import Config
from piclient.display import display_status, real_display_missing
from piclient.logs import RECENT
from piclient.player.api import Player, PlayerEvent
from piclient.player.messages import LadderReady, ProbeResult, SubtitleReady, ThumbnailsReady
from piclient.protocol import CatalogState, DisplayState, LauncherStatus, OverlayState
from piclient.remote.buttons import Button
from piclient.remote.cec import CEC_KEEPALIVE_TIMEOUT_S
from piclient.remote.keymap import Keymap
from piclient.remote.repeat import ButtonEvent, KeyRepeater
from piclient.state import SESSION_GAP_S, StateStore
from piclient.ui.draw import gradient_background
from piclient.ui.empty import EmptyScreen
from piclient.ui.home import POSTER_H, POSTER_W, HomeScreen
from piclient.ui.i18n import Strings
from piclient.ui.overlay import Overlays
from piclient.ui.player_screen import PlayerScreen
from piclient.ui.posters import PosterBank
from piclient.ui.screen import Library, Screen, Ui
from piclient.ui.theme import Fonts
from piclient.ui.title_page import POSTER_H as PAGE_H
from piclient.ui.title_page import POSTER_W as PAGE_W
from piclient.ui.title_page import TitleScreen

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

CONTROL_TIMEOUT_S = 5.0
CATALOG_POLL_S = 1.0
# Drawing off-screen because the real display could not be had (another program held it, or a film's
# hand-over could not give it back): try the real one again this often, so the grid comes back on
# the TV by itself once it is free.
DISPLAY_RETRY_S = 5.0
FAILED_NOTICE_S = 10.0


@dataclass
class RawKey:
    button: Button
    pressed: bool
    source: str


@dataclass
class CecNotice:
    kind: str
    detail: dict[str, Any]


@dataclass
class ControlCall:
    request: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    reply: dict[str, Any] = field(default_factory=dict)


@dataclass
class CatalogLoaded:
    catalog: Catalog | None


class App:
    def __init__(self, config: Config, surface: pygame.Surface, cache: CatalogCache, store: StateStore,
                 keymap: Keymap, *, cec: Any = None, on_reload: Callable[[], None] | None = None,
                 player: Player | None = None,
                 prepare_subtitles: Callable[..., None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.surface = surface
        self.cache = cache
        self.store = store
        self.keymap = keymap
        self.cec = cec
        self.player = player
        self.display_released = False
        # Opens the display again after a hand-over (``attempts``: tries before drawing off-screen).
        self._reopen_display: Callable[..., pygame.Surface] | None = None
        self._next_display_retry = 0.0
        self._notice_for_the_tv: str | None = None  # a notice that came while the TV showed nothing of ours
        self._prepare_subtitles = prepare_subtitles or (lambda *_: None)
        self._on_reload = on_reload
        self._clock = clock
        self.inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.started = clock()
        self.last_input = clock()
        self.cec_events: list[dict[str, Any]] = []
        self.play_requests: list[dict[str, Any]] = []
        self.repeater = KeyRepeater(config.remote.repeat_delay_ms / 1000, config.remote.repeat_interval_ms / 1000)
        self._last_generation = cache.generation()
        self._meta_stamp = cache.meta_stamp()
        self._meta = cache.meta()  # kept here and re-read when the file changes: status is asked often
        self._next_catalog_poll = 0.0
        self._last_active_source = -1e9
        self._loading_catalog = False

        self.canvas = self._canvas(surface)
        size = self.canvas.get_size()
        fonts = Fonts(scale=size[1] / 1080)
        grid = (fonts.px(POSTER_W), fonts.px(POSTER_H))
        page = (fonts.px(PAGE_W), fonts.px(PAGE_H))
        posters = PosterBank(cache.poster_file, {"grid": grid, "page": page}, why_unusable=cache.poster_bad)
        new_since = store.begin_session()
        library = Library(cache.load() or Catalog(), store.all_progress(), new_since)
        self.ui = Ui(size=size, fonts=fonts, strings=Strings(config.ui.language), posters=posters,
                     library=library, push=self.push, pop=self.pop, play=self.play,
                     background=gradient_background(size), overscan=config.ui.overscan_percent / 100)
        self.overlays = Overlays(self.ui, config.ui.dim_after_seconds)
        self.stack: list[Screen] = []
        self._reset_stack()
        self._update_footer()

    # -- screens -------------------------------------------------------------------------------

    @property
    def top(self) -> Screen:
        return self.stack[-1]

    def push(self, screen: Screen) -> None:
        self.stack.append(screen)
        screen.dirty = True

    def pop(self) -> None:
        if len(self.stack) > 1:
            self.stack.pop()
            self._invalidate()

    def open_title(self, title: Title) -> None:
        self.push(TitleScreen(self.ui, title))

    def _reset_stack(self) -> None:
        if len(self.ui.library.catalog) == 0:
            self.stack = [EmptyScreen(self.ui)]
        else:
            self.stack = [HomeScreen(self.ui, self.open_title)]

    def _invalidate(self) -> None:
        self.top.invalidate()

    def play(self, title: Title, episode: Episode | None, start: float) -> None:
        playable = episode.id if episode else title.id
        self.play_requests.append({"title": title.id, "playable": playable, "start": start})
        del self.play_requests[:-20]
        log.info("play %s from %.0f s", playable, start)
        self._activate_source(force=True)
        if self.player is None:
            log.error("no player available (libmpv could not be started); %s not played", playable)
            self.overlays.show_notice(self.ui.strings("play.unavailable"), self._clock())
            return
        if isinstance(self.top, PlayerScreen):
            self.top.shutdown()
            self.stack.pop()
        if getattr(self.player, "output", "embedded") == "handover" and not self.display_released:
            # A Pi without X has one screen: let mpv take it for the film (docs/architecture.md).
            pygame.display.quit()
            self.display_released = True
        self.push(PlayerScreen(self.ui, self.player, self.store, title, episode, start,
                               readahead_s=self.config.player.readahead_seconds,
                               prepare_subtitles=self._prepare_subtitles, post=self.post,
                               on_finished=self._playback_finished, probe=self._start_probe,
                               http_headers=self.http_headers, fetch_thumbnails=self._start_thumbnails,
                               clock=self._clock))

    def http_headers(self, url: str) -> dict[str, str]:
        """Media the maintainer's server hosts under /library/ needs the device token; nothing else gets it."""
        server = self.config.server
        if server.url and server.token and url.startswith(server.url.rstrip("/") + "/library/"):
            return {"Authorization": f"Bearer {server.token}"}
        return {}

    def media_session(self) -> requests.Session:
        """A session that adds the device token per request, only to URLs under the server's /library/."""
        import requests  # only when a film starts: importing it costs the first frame ~0.1 s

        session = requests.Session()

        def add_token(request: requests.PreparedRequest) -> requests.PreparedRequest:
            request.headers.update(self.http_headers(request.url or ""))
            return request

        session.auth = add_token
        return session

    def _start_thumbnails(self, playable_id: str, url: str) -> None:
        def fetch() -> None:
            from piclient.player.thumbnails import fetch_thumbnail_track

            try:
                track = fetch_thumbnail_track(url, self.media_session())
            except Exception as exc:  # thumbnails are a nicety: seeking still shows the time
                log.warning("seek thumbnails of %s not loaded: %s", playable_id, exc)
                return
            self.post(ThumbnailsReady(playable_id, track))

        threading.Thread(target=fetch, name="thumbnails", daemon=True).start()

    def _start_probe(self, playable_id: str, variant_uri: str) -> None:
        from piclient.player.probe import probe_variant

        session = self.media_session()
        threading.Thread(target=probe_variant, args=(playable_id, variant_uri, self.post, session), name="probe",
                         daemon=True).start()

    def set_display_reopener(self, reopen: Callable[..., pygame.Surface]) -> None:
        """``reopen(attempts=N)`` opens the display again; without ``attempts`` it uses its own default."""
        self._reopen_display = reopen

    def _canvas(self, surface: pygame.Surface) -> pygame.Surface:
        """Where the screens draw: the whole display, or for a TV that crops more than most
        (ui.overscan_percent) a smaller area in its middle, with black around it."""
        inset = self.config.ui.overscan_percent / 100
        if not inset:
            return surface
        width, height = surface.get_size()
        area = pygame.Rect(round(width * inset), round(height * inset), 0, 0)
        area.size = (width - 2 * area.x, height - 2 * area.y)
        surface.fill((0, 0, 0))
        return surface.subsurface(area)

    def _take_back_display(self) -> None:
        if not self.display_released or self._reopen_display is None:
            return
        self._adopt(self._reopen_display())
        self.display_released = False

    def _retry_real_display(self, now: float) -> None:
        """Off-screen for want of the real display: try it again (once, so the loop stays responsive)."""
        if self.display_released or self._reopen_display is None or now < self._next_display_retry:
            return
        self._next_display_retry = now + DISPLAY_RETRY_S
        if not real_display_missing():
            return
        pygame.display.quit()
        self._adopt(self._reopen_display(attempts=1))
        if not real_display_missing():
            log.info("the real display is free again; the launcher draws on it")
            if self._notice_for_the_tv is not None:
                self.overlays.show_notice(self._notice_for_the_tv, now, seconds=FAILED_NOTICE_S)
                self._notice_for_the_tv = None

    def _adopt(self, surface: pygame.Surface) -> None:
        self.surface = surface
        self.canvas = self._canvas(surface)
        self.ui.background = gradient_background(self.ui.size)
        self._invalidate()
        self.overlays.changed = True  # a notice or message showing is drawn on the new surface too

    def _playback_finished(self, outcome: str) -> None:
        screen = self.top
        if not isinstance(screen, PlayerScreen):
            return
        self.stack.pop()
        self._take_back_display()
        if outcome == "watched" and screen.episode is None:
            # The end of a film goes back to the grid, where it now shows as watched.
            del self.stack[1:]
        elif outcome == "failed":
            text = self.ui.strings("player.failed")
            self.overlays.show_notice(text, self._clock(), seconds=FAILED_NOTICE_S)
            # Drawn off-screen she sees none of it: it shows its full time once the TV has the grid again.
            self._notice_for_the_tv = text if real_display_missing() else None
        self._library_changed()

    # -- inputs from other threads -------------------------------------------------------------

    def post(self, item: object) -> None:
        self.inbox.put(item)

    def cec_key(self, button: Button, pressed: bool) -> None:
        """Called on libcec's thread: only enqueue."""
        self.inbox.put(RawKey(button, pressed, "cec"))

    def cec_event(self, kind: str, detail: dict[str, Any]) -> None:
        """Called on libcec's thread: only enqueue."""
        self.inbox.put(CecNotice(kind, detail))

    def set_subtitle_preparer(self, prepare: Callable[..., None]) -> None:
        self._prepare_subtitles = prepare

    def player_event(self, event: PlayerEvent) -> None:
        """Called on libmpv's event thread: only enqueue."""
        self.inbox.put(event)

    def catalog_changed(self) -> None:
        """Called by the sync thread after it stored a new catalog or posters."""
        self._next_catalog_poll = 0.0

    def control(self, request: dict[str, Any]) -> dict[str, Any]:
        """Called on a control-socket thread: queue for the main loop and wait for its answer."""
        call = ControlCall(request)
        self.inbox.put(call)
        if not call.done.wait(CONTROL_TIMEOUT_S):
            return {"ok": False, "error": "tv not responding"}
        return call.reply

    # -- the loop ------------------------------------------------------------------------------

    def run(self, stop: threading.Event, watchdog: Callable[[], None] | None = None) -> None:
        # Background threads (poster decoding, sync) must not hold the GIL for a whole 5 ms default
        # slice while a frame waits; 1 ms keeps a held arrow smooth.
        sys.setswitchinterval(0.001)
        clock = pygame.time.Clock()
        while not stop.is_set():
            self.step()
            if watchdog is not None:
                watchdog()
            # 60 Hz while a key is held or a film plays in the launcher's surface; a calmer pace when
            # idle, and in a hand-over, where mpv draws and the loop only sends it the overlay.
            film_drawn_here = isinstance(self.top, PlayerScreen) and not self.display_released
            busy = self.repeater.held is not None or film_drawn_here
            clock.tick(60 if busy else 30)

    def step(self) -> float | None:
        """One pass of the loop; returns how long painting took, or None when nothing changed."""
        now = self._clock()
        if not self.display_released:  # in a hand-over mpv owns the screen and SDL has no window
            for event in pygame.event.get():
                self._pygame_event(event, now)
        while True:
            try:
                item = self.inbox.get_nowait()
            except queue.Empty:
                break
            self._inbox_item(item, now)
        for event in self.repeater.tick(now):
            self._dispatch(event, now)
        due = self.repeater.next_deadline()
        if due is not None:
            # The next repeat paints a frame within one tick of its deadline; keep decoding off it.
            self.ui.posters.keep_quiet(time.monotonic() + (due - now) - 0.004,
                                       time.monotonic() + (due - now) + 0.020)
        if now >= self._next_catalog_poll:
            self._poll_catalog(now)
        self._retry_real_display(now)
        self.top.update(now)
        self.overlays.update(now, now - self.last_input)
        return self._paint()

    def _pygame_event(self, event: pygame.event.Event, now: float) -> None:
        if event.type == pygame.QUIT:
            self.inbox.put(ControlCall({"cmd": "_quit"}))
        elif event.type in (pygame.KEYDOWN, pygame.KEYUP):
            button = self.keymap.keyboard(pygame.key.name(event.key))
            if button is None:
                return
            if event.type == pygame.KEYDOWN:
                self._physical_input(now)
                for out in self.repeater.press(button, "keyboard", now):
                    self._dispatch(out, now)
            else:
                self.repeater.release(button, "keyboard", now)

    def _inbox_item(self, item: object, now: float) -> None:
        if isinstance(item, RawKey):
            if item.pressed:
                self._physical_input(now)
                # CEC may lose a release; only there does silence mean "let go".
                timeout = CEC_KEEPALIVE_TIMEOUT_S if item.source == "cec" else None
                for out in self.repeater.press(item.button, item.source, now, keepalive_timeout_s=timeout):
                    self._dispatch(out, now)
            else:
                self.repeater.release(item.button, item.source, now)
        elif isinstance(item, CecNotice):
            self.cec_events.append({"kind": item.kind, "time": time.time(), **item.detail})
            del self.cec_events[:-20]
            log.info("cec: %s %s", item.kind, item.detail or "")
            if item.kind in ("tv_standby", "input_switched_away") and isinstance(self.top, PlayerScreen):
                self.top.pause_for_tv()
        elif isinstance(item, PlayerEvent):
            if isinstance(self.top, PlayerScreen):
                self.top.player_event(item)
        elif isinstance(item, SubtitleReady):
            if isinstance(self.top, PlayerScreen):
                self.top.subtitle_ready(item)
        elif isinstance(item, ThumbnailsReady):
            if isinstance(self.top, PlayerScreen):
                self.top.thumbnails_ready(item)
        elif isinstance(item, ProbeResult):
            if isinstance(self.top, PlayerScreen):
                self.top.probe_result(item)
        elif isinstance(item, LadderReady):
            if isinstance(self.top, PlayerScreen):
                self.top.ladder_ready(item)
        elif isinstance(item, ControlCall):
            try:
                item.reply = self._control(item.request, now)
            except Exception as exc:
                log.exception("control command failed")
                item.reply = {"ok": False, "error": str(exc)}
            item.done.set()
        elif isinstance(item, CatalogLoaded):
            self._loading_catalog = False
            if item.catalog is not None:
                self._set_catalog(item.catalog)

    def _physical_input(self, now: float) -> None:
        """A real remote or keyboard was used: count it for dimming, sessions and the TV's input."""
        if now - self.last_input >= SESSION_GAP_S:
            self.ui.library.new_since = self.store.begin_session()
            self._library_changed()
        self.last_input = now
        self._activate_source()

    def _activate_source(self, force: bool = False) -> None:
        # Each request sends CEC frames; once in a while is enough unless a film is starting.
        now = self._clock()
        if self.cec is not None and (force or now - self._last_active_source > 30):
            self._last_active_source = now
            try:
                self.cec.make_active_source()
            except Exception as exc:
                log.warning("could not make the box the TV's active source: %s", exc)

    def _dispatch(self, event: ButtonEvent, now: float) -> None:
        # Any key counts against dimming, the maintainer's too: he is watching the screenshots.
        self.last_input = now
        log.debug("button %s%s from %s", event.button.name, " (repeat)" if event.repeat else "", event.source)
        if self.overlays.dimmed:
            # The first press only wakes the screen: she should see where she is before anything moves.
            self.overlays.dimmed = False
            self.overlays.changed = True
            return
        if self.overlays.message is not None and event.button in (Button.OK, Button.BACK) and not event.repeat:
            self.overlays.dismiss()
            return
        self.top.handle(event)

    def _paint(self) -> float | None:
        if self.display_released:
            # mpv owns the screen: the player screen sends its overlay through mpv's OSD instead.
            if self.top.dirty and isinstance(self.top, PlayerScreen):
                self.top.draw_osd()
            return None
        screen_dirty = self.top.dirty
        if not screen_dirty and not self.overlays.changed:
            return None
        started = time.perf_counter()
        overlay_visible = self.overlays.changed or self._overlay_showing()
        if self.overlays.changed:
            self._invalidate()
        rects = self.top.draw(self.canvas)
        if overlay_visible:
            self.overlays.draw(self.canvas)
            rects = None
        if rects is None:
            pygame.display.flip()
        else:
            offset = self.canvas.get_abs_offset()
            pygame.display.update([rect.move(offset) for rect in rects])
        return time.perf_counter() - started

    def _overlay_showing(self) -> bool:
        o = self.overlays
        return bool(o.message or o.notice or o.footer or o.dimmed)

    # -- catalog -------------------------------------------------------------------------------

    def _poll_catalog(self, now: float) -> None:
        self._next_catalog_poll = now + CATALOG_POLL_S
        stamp = self.cache.meta_stamp()
        if stamp != self._meta_stamp:
            # A sync that failed or recovered rewrites only the meta: the offline note follows it.
            self._meta_stamp = stamp
            self._meta = self.cache.meta()
            self._update_footer()
        generation = self.cache.generation()
        if generation == self._last_generation or self._loading_catalog:
            return
        self._last_generation = generation
        self._loading_catalog = True
        # Parsing a large catalog takes a while: do it off the loop and adopt the result here.
        threading.Thread(target=lambda: self.inbox.put(CatalogLoaded(self.cache.load())),
                         name="catalog-load", daemon=True).start()

    def _set_catalog(self, catalog: Catalog) -> None:
        was_empty = len(self.ui.library.catalog) == 0
        self.ui.library.catalog = catalog
        self.ui.posters.forget_missing()
        if was_empty != (len(catalog) == 0):
            self._reset_stack()
        self._library_changed()
        self._update_footer()
        log.info("catalog: %d titles shown, %d entries skipped", len(catalog), len(catalog.skipped))

    def _library_changed(self) -> None:
        self.ui.library.progress = self.store.all_progress()
        for screen in self.stack:
            screen.library_changed()
        self._invalidate()

    def _update_footer(self) -> None:
        # The sentence follows the kind of failure, never its wording: a server error is not "the
        # internet is away". With no catalog at all the waiting screen speaks instead, and only a setup
        # problem changes what it says: waiting will not mend that one.
        failed = bool(self._meta.last_error) and len(self.ui.library.catalog) > 0
        kind = self._meta.error_kind or ErrorKind.OTHER
        self.overlays.set_footer(self.ui.strings(f"sync.{kind}") if failed else None)
        # With the server or the line away, no film can play: a title's page says so before Play.
        warning = f"offline.{kind}" if failed and kind in (ErrorKind.NETWORK, ErrorKind.SERVER) else None
        if warning != self.ui.playback_warning:
            self.ui.playback_warning = warning
            for screen in self.stack:
                screen.invalidate()
        if isinstance(self.stack[0], EmptyScreen):
            self.stack[0].set_problem(bool(self._meta.last_error) and kind is ErrorKind.SETUP)

    # -- control commands ----------------------------------------------------------------------

    def _control(self, request: dict[str, Any], now: float) -> dict[str, Any]:
        cmd = request.get("cmd")
        if cmd == "status":
            return {"ok": True, **self.status()}
        if cmd == "key":
            try:
                button = Button.parse(str(request.get("name", "")))
            except ValueError as exc:
                return {"ok": False, "error": str(exc)}
            self._dispatch(ButtonEvent(button, False, "control"), now)
            return {"ok": True, "button": button.name}
        if cmd == "message":
            text = str(request.get("text", "")).strip()
            if not text:
                return {"ok": False, "error": "message text is empty"}
            seconds = request.get("seconds", 30)
            if not isinstance(seconds, int | float) or not 1 <= seconds <= 24 * 3600:
                return {"ok": False, "error": "seconds must be between 1 and 86400"}
            self.overlays.show_message(text[:500], float(seconds), now)
            self.last_input = now  # she should see it, not a dimmed screen
            return {"ok": True}
        if cmd == "screenshot":
            self._paint()  # what is queued for the screen is what the picture shows
            if self.display_released and self.player is not None:
                # mpv's window: video, subtitles and the OSD overlay. mpv renders the window again
                # for it, which without a GPU takes seconds: on the socket's thread, not this loop.
                return {"ok": True, "_image": self.player.screenshot}
            # Only the copy happens here; turning it into bytes and JPEG runs on the socket's thread.
            frame = self.surface.copy()
            return {"ok": True, "_image": lambda: (pygame.image.tobytes(frame, "RGB"), frame.get_size())}
        if cmd == "play":
            return self._control_play(request)
        if cmd == "reload":
            if self._on_reload is not None:
                self._on_reload()
            self._next_catalog_poll = 0.0
            self._library_changed()  # the agent may have merged watch progress from the server
            return {"ok": True}
        if cmd == "_quit":
            raise SystemExit(0)
        return {"ok": False, "error": f"unknown command {cmd!r}; try status, key, message, screenshot, play, reload"}

    def _control_play(self, request: dict[str, Any]) -> dict[str, Any]:
        start = request.get("start")
        if start is not None and not isinstance(start, int | float):
            return {"ok": False, "error": "start must be a number of seconds"}
        if request.get("url"):
            try:
                url = stream_url(str(request["url"]), "")
            except ValueError as exc:
                return {"ok": False, "error": str(exc)}
            title = Title(id="url", kind="film", title={"*": url[:80]}, stream=url)
            self.play(title, None, float(start or 0))
            return {"ok": True, "playable": "url"}
        found = self.ui.library.catalog.find_playable(str(request.get("id", "")))
        if found is None:
            title = self.ui.library.catalog.by_id.get(str(request.get("id", "")))
            if title is None:
                return {"ok": False, "error": f"no title or episode {request.get('id')!r} in the catalog"}
            episode, prog = self.ui.library.resume_point(title)
            found = (title, episode)
            resume = prog.position if prog else 0.0
        else:
            prog = self.store.progress(found[1].id if found[1] else found[0].id)
            resume = prog.position if prog and prog.in_progress else 0.0
        self.play(found[0], found[1], float(start) if start is not None else resume)
        return {"ok": True, "playable": found[1].id if found[1] else found[0].id}

    def status(self) -> dict[str, Any]:
        return self.status_report().wire()

    def status_report(self) -> LauncherStatus:
        """What the control socket's ``status`` answers (piclient/protocol/status.py)."""
        meta = self._meta
        catalog = self.ui.library.catalog
        cec_state = None
        if self.cec is not None:
            state = self.cec.state()
            cec_state = state.__dict__ if hasattr(state, "__dict__") else state
        return LauncherStatus(
            version=__version__,
            device=self.config.device.name,
            uptime=round(self._clock() - self.started, 1),
            # The UI's size, not the surface's: during a hand-over SDL has no surface at all.
            size=list(self.ui.size),
            display=DisplayState(**self._display_status()),
            screen=self.top.name,
            depth=len(self.stack),
            focus=self.top.status(),
            overlay=OverlayState(**self.overlays.status()),
            catalog=CatalogState(
                titles=len(catalog),
                skipped=len(catalog.skipped),
                skipped_reasons=[f"{s.where}: {s.reason}" for s in catalog.skipped[:20]],
                source=meta.source,
                fetched_at=meta.fetched_at,
                error=meta.last_error,
                error_kind=meta.error_kind if meta.last_error else None,
            ),
            cec=cec_state,
            cec_events=self.cec_events[-5:],
            now_playing=self.top.now_playing() if isinstance(self.top, PlayerScreen) else None,
            play_requests=self.play_requests[-5:],
            errors=RECENT.items(),
        )

    def _display_status(self) -> dict[str, Any]:
        """What the TV shows comes from: SDL's display, or mpv's during a hand-over."""
        if self.display_released:
            video_output = getattr(self.player, "video_output", lambda: None)()
            return {"driver": "mpv", "real": video_output is not None, "video_output": video_output,
                    "error": None if video_output else "mpv has not opened the display (yet)"}
        return display_status()

    def close(self) -> None:
        # Save her place and stop playback while libmpv is still alive, then free it.
        for screen in self.stack:
            if isinstance(screen, PlayerScreen):
                screen.shutdown()
        if self.player is not None:
            self.player.close()
        self.ui.posters.close()
