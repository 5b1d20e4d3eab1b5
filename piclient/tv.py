"""`piclient tv`: start the launcher's parts in order and stop them in reverse.

A missing CEC adapter, an unreachable catalog source or a missing font each cost one log line;
none of them stops the screen from coming up.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from typing import Any

from piclient.catalog.cache import CatalogCache
from piclient.config import Config
from piclient.control.server import ControlServer
from piclient.malloc_arenas import limit_arenas
from piclient.remote.keymap import Keymap
from piclient.service import Service
from piclient.state import StateStore

log = logging.getLogger(__name__)


# Two arenas for all threads: with glibc's default (eight per core) the hand-over films' threads
# left ~10 MB each behind in arenas of their own (piclient/malloc_arenas.py).
MALLOC_ARENAS = 2


def run_tv(config: Config, stop: threading.Event | None = None) -> int:
    stop = stop or threading.Event()
    if limit_arenas(MALLOC_ARENAS):
        log.debug("malloc: at most %d arenas", MALLOC_ARENAS)
    service = Service()
    with contextlib.ExitStack() as stack:
        _install_signal_handlers(stop)
        data = config.paths.data
        data.mkdir(parents=True, exist_ok=True)
        cache = CatalogCache(data)
        store = StateStore(data / "state.db")
        stack.callback(store.close)
        keymap = Keymap.from_config(config.remote)

        from piclient.display import open_display
        from piclient.ui.app import App

        surface = open_display(config.ui.fullscreen, config.ui.window_size)
        stack.callback(_quit_pygame)
        sync_loop = _sync_loop(config, cache)
        app = App(config, surface, cache, store, keymap,
                  on_reload=sync_loop.trigger if sync_loop else None)
        stack.callback(app.close)  # closes the player too, after saving her place
        app.step()  # the first frame goes up before libmpv starts: she sees the grid sooner
        app.player = _player(config, app)
        app.set_display_reopener(lambda attempts=REOPEN_ATTEMPTS: _reopen_display(config, app.player, attempts))
        app.set_subtitle_preparer(_subtitle_preparer(data / "subtitles", app.post, app.media_session,
                                                       config.subtitle_language))

        control = ControlServer(config.paths.socket, app.control)
        control.start()
        stack.callback(control.stop)

        if config.cec.enabled:
            app.cec = stack.enter_context(_cec(config, keymap, app))
        if getattr(app.player, "output", None) == "handover":
            stack.callback(_film_keyboard(keymap, app).stop)
        if sync_loop is not None:
            sync_loop.on_change = app.catalog_changed
            sync_loop.start()
            stack.callback(sync_loop.stop)

        service.ready(f"{len(app.ui.library.catalog)} titles")
        with contextlib.suppress(SystemExit):  # a window closed by hand
            app.run(stop, watchdog=service.watchdog)
        service.stopping()
    log.info("launcher stopped")
    return 0


@contextlib.contextmanager
def _cec(config: Config, keymap: Keymap, app: Any) -> Iterator[Any]:
    from piclient.remote.cec import CecRemote

    remote = CecRemote(config.cec, config.cec_name, keymap, on_key=app.cec_key, on_event=app.cec_event)
    remote.start()
    try:
        yield remote
    finally:
        remote.stop()


def player_output(configured: str, driver: str) -> str:
    """``player.output: auto`` is the hand-over on KMS/DRM (SDL names that driver "KMSDRM"), where
    drawing every video frame through pygame in software is more than a Pi can do."""
    if configured != "auto":
        return configured
    return "handover" if driver.lower() == "kmsdrm" else "embedded"


# After a film, mpv lets go of the DRM device a moment after its stop command; SDL cannot take it
# before. Bounded: a stuck mpv must not keep the grid from coming back.
HANDOVER_RELEASE_TIMEOUT_S = 5.0
REOPEN_ATTEMPTS = 8


def _reopen_display(config: Config, player: Any, attempts: int) -> Any:
    from piclient.display import open_display

    wait = getattr(player, "wait_video_output_closed", None)
    if wait is not None and not wait(HANDOVER_RELEASE_TIMEOUT_S):
        log.warning("mpv still holds the display after %g s; taking it back anyway", HANDOVER_RELEASE_TIMEOUT_S)
    return open_display(config.ui.fullscreen, config.ui.window_size, attempts=attempts)


def _player(config: Config, app: Any) -> Any:
    """One long-lived libmpv player. Without libmpv the launcher still runs and says so calmly."""
    import pygame

    output = player_output(config.player.output, pygame.display.get_driver())
    try:
        from piclient.player._mpv import MpvPlayer

        # Embedded, mpv draws into the launcher's screen, already moved in by overscan_percent; in a
        # hand-over it has the whole screen and moves the picture and the subtitles in itself.
        overscan = config.ui.overscan_percent / 100 if output == "handover" else 0.0
        return MpvPlayer(output=output, audio_output=config.player.audio_output, hwdec=config.player.hwdec,
                         readahead_s=config.player.readahead_seconds, subtitle_language=config.subtitle_language,
                         subtitle_scale=config.player.subtitle_scale, overscan=overscan, on_event=app.player_event)
    except Exception as exc:  # libmpv missing or broken: films cannot play, everything else works
        log.error("the player could not be started: %s", exc)
        return None


def _film_keyboard(keymap: Keymap, app: Any) -> Any:
    """During a hand-over SDL has no keyboard: read it from the kernel until SDL has the screen back."""
    from piclient.remote.evdev_keys import EvdevKeyboard
    from piclient.ui.app import RawKey

    def on_key(name: str, pressed: bool) -> None:  # the reader's thread: only enqueue
        button = keymap.keyboard(name)
        if button is not None:
            app.post(RawKey(button, pressed, "keyboard"))

    keyboard = EvdevKeyboard(on_key, active=lambda: app.display_released)
    keyboard.start()
    return keyboard


def _subtitle_preparer(directory: Any, post: Any, new_session: Any, language: str) -> Any:
    def fetch(*args: Any, **kwargs: Any) -> None:
        # Imported on the subtitles' thread at the first film, not at start: with requests it costs
        # a launcher's start a fifth of its imports, and the first film's main loop a frame.
        from piclient.player.subtitle_fetch import fetch_all

        fetch_all(*args, **kwargs)

    def prepare(playable_id: str, stream_url: str, subtitles: Any, start_time: Any, still_playing: Any) -> None:
        session = new_session()
        threading.Thread(target=fetch, args=(playable_id, stream_url, subtitles, directory, post, start_time,
                                             session), name="subtitles", daemon=True,
                         kwargs={"language": language, "still_playing": still_playing}).start()

    return prepare


def _sync_loop(config: Config, cache: CatalogCache) -> Any:
    """Until the agent takes this over, the launcher keeps its own cache fresh in the background."""
    if not config.catalog.source:
        return None
    from piclient.catalog.sync import CatalogSync, SyncLoop

    sync = CatalogSync(config.catalog.source, cache)
    return SyncLoop(sync, config.catalog.refresh_minutes * 60, on_change=lambda: None)


def _install_signal_handlers(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())


def _quit_pygame() -> None:
    import pygame

    pygame.quit()
