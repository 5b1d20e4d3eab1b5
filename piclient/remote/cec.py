"""HDMI-CEC: the TV's own remote as input, and what the TV is doing, behind one small interface.

``CecRemote`` owns a background thread that opens the adapter (retrying for as long as it takes: the TV
may be off, the cable out, the adapter busy) and serves requests such as "make us the active source".
libcec itself lives in ``piclient.remote._libcec``, imported only when the thread starts, so importing
this module touches no hardware and tests can hand in a stand-in through ``backend_factory``.

Threads: ``on_key`` and ``on_event`` are called from libcec's thread or from this module's worker
thread. They MUST only enqueue (for example ``queue.SimpleQueue.put``) and return: a slow callback
delays every CEC message behind it, and calling back into ``CecRemote.stop()`` from one deadlocks.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from piclient.config.schema import CecConfig
from piclient.remote.buttons import Button
from piclient.remote.keymap import Keymap

log = logging.getLogger(__name__)

AdapterState = Literal["disabled", "opening", "open", "unavailable"]
TvPower = Literal["on", "standby", "unknown"]

# For KeyRepeater.press(..., keepalive_timeout_s=...) with CEC keys. CEC 1.4 has a remote resend a held
# key's <User Control Pressed> every 200-450 ms; silence for longer than this means the release was lost.
CEC_KEEPALIVE_TIMEOUT_S = 0.6

KeyCallback = Callable[[Button, bool], None]
EventCallback = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class CecState:
    adapter: AdapterState
    detail: str = ""
    tv_power: TvPower = "unknown"
    # None when nobody knows: before the first bus message, and after the TV went to standby.
    active_source: bool | None = None
    last_error: str | None = None


class CecBackend(Protocol):
    """What ``CecRemote`` needs from libcec; ``_libcec.LibCecBackend`` is the real one."""

    detail: str  # after open(): where the adapter is, or why it could not be opened

    def open(self) -> bool: ...

    def close(self) -> None: ...

    def set_active_source(self) -> bool: ...

    def power_on_tv(self) -> bool: ...

    def tv_power(self) -> TvPower: ...


# (config, osd name, on_key(code, pressed), on_bus(kind, detail)) -> backend. Called on the worker
# thread, so a slow libcec start never holds up the launcher.
BackendFactory = Callable[
    [CecConfig, str, Callable[[int, bool], None], Callable[[str, dict[str, Any]], None]], CecBackend
]


def libcec_backend(
    config: CecConfig,
    name: str,
    on_key: Callable[[int, bool], None],
    on_bus: Callable[[str, dict[str, Any]], None],
) -> CecBackend:
    from piclient.remote import _libcec  # here, not at the top: importing piclient must not load libcec

    return _libcec.LibCecBackend(config, name, on_key, on_bus)


def osd_name(name: str) -> str:
    """The name for the TV's input list: CEC carries at most 14 printable ASCII characters.

    A Korean device name would reach the TV as mangled bytes, so non-ASCII is dropped and an empty
    result falls back to "piclient".
    """
    printable = "".join(ch for ch in name if " " <= ch <= "~").strip()
    return printable[:14].strip() or "piclient"


class CecRemote:
    """The TV remote over HDMI-CEC. Start once, stop once; every method is safe from any thread."""

    # How often to ask the TV for its power state while nothing else tells us (some TVs go to standby
    # without a word on the bus). One small message a minute.
    power_poll_seconds: float = 60.0
    join_timeout_seconds: float = 2.0

    def __init__(
        self,
        config: CecConfig,
        name: str,
        keymap: Keymap,
        on_key: KeyCallback,
        on_event: EventCallback,
        backend_factory: BackendFactory | None = None,
    ) -> None:
        self._config = config
        self._name = osd_name(name)
        self._keymap = keymap
        self._on_key = on_key
        self._on_event = on_event
        self._factory: BackendFactory = backend_factory or libcec_backend
        # Re-entrant so an on_event that reads state() on the emitting thread cannot deadlock.
        self._lock = threading.RLock()
        self._state = CecState(adapter="disabled", detail="not started")
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        # Requests for the worker, guarded by _lock; the worker reads them after each wake-up.
        self._want_active = False
        self._lost = False
        # Worker-thread only.
        self._open = False
        self._missing_logged = False
        self._next_poll = 0.0

    # -- public ------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        if not self._config.enabled:
            self._update(adapter="disabled", detail="cec.enabled is off in the config")
            log.info("HDMI-CEC is disabled in the config; the keyboard still works")
            return
        self._update(adapter="opening", detail="starting")
        self._thread = threading.Thread(target=self._run, name="cec", daemon=True)
        self._thread.start()

    def state(self) -> CecState:
        with self._lock:
            return self._state

    def make_active_source(self) -> None:
        """Ask the TV to show this box; returns at once, the worker thread does the talking.

        Called when a key is pressed or a film starts. Does nothing when CEC is off or not open.
        It asks even when we believe we are the source already, because a TV that switched to its
        tuner may not have said so on the bus; calls made while the worker is busy collapse into one,
        and callers should still space them out (each one costs a few bus frames).

        Unless ``cec.wake_tv`` is set it never wakes a TV in standby: libcec's activation sends
        <Image View On>, which switches a sleeping TV on.
        """
        if not self._config.enabled:
            return
        with self._lock:
            if self._state.adapter != "open":
                return
            self._want_active = True
        self._wake.set()

    def stop(self) -> None:
        if self._thread is not None and threading.current_thread() is self._thread:
            raise RuntimeError("CecRemote.stop() must not be called from the CEC thread or its callbacks")
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(self.join_timeout_seconds)
            if thread.is_alive():
                # It is a daemon thread stuck inside libcec; waiting longer would only delay shutdown.
                log.warning("HDMI-CEC thread did not stop within %g s; leaving it", self.join_timeout_seconds)
        self._update(adapter="disabled", detail="stopped")

    # -- worker thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            backend = self._factory(self._config, self._name, self._handle_key, self._handle_bus)
        except ImportError as exc:
            # Retrying cannot install a package; say so once and leave the keyboard to do the work.
            # Logged before the state changes, so whoever sees "unavailable" can find the reason.
            detail = "the libcec binding (Debian package python3-cec) is not installed"
            log.warning("HDMI-CEC is unavailable: %s; the keyboard still works", detail)
            self._update(adapter="unavailable", detail=detail, last_error=str(exc))
            return
        except Exception as exc:
            log.exception("HDMI-CEC is unavailable: libcec could not be set up; the keyboard still works")
            self._update(adapter="unavailable", detail="libcec could not be set up", last_error=str(exc))
            return
        try:
            self._loop(backend)
        finally:
            self._close(backend)

    def _loop(self, backend: CecBackend) -> None:
        while not self._stopping.is_set():
            if not self._open:
                if not self._try_open(backend):
                    self._wait(self._config.retry_seconds)
                continue
            self._wait(max(0.0, self._next_poll - time.monotonic()))
            if self._stopping.is_set():
                return
            try:
                self._serve(backend)
            except Exception as exc:
                self._update(last_error=str(exc))
                log.exception("HDMI-CEC request failed")

    def _wait(self, seconds: float) -> None:
        # Requests set flags before setting _wake, and the flags are read after this clear, so a
        # request that lands between the wait and the clear is still seen.
        self._wake.wait(seconds)
        self._wake.clear()

    def _try_open(self, backend: CecBackend) -> bool:
        with self._lock:
            self._lost = False
        self._update(adapter="opening")
        try:
            ok = backend.open()
            detail = backend.detail
        except Exception as exc:
            ok, detail = False, f"opening the HDMI-CEC adapter failed: {exc}"
            log.debug("HDMI-CEC open failed", exc_info=True)
        if not ok:
            retry = self._config.retry_seconds
            if not self._missing_logged:
                log.warning("%s; the keyboard still works; retrying every %g s", detail, retry)
                self._missing_logged = True
            else:
                # Every retry at warning would bury the journal of a box that simply has no adapter.
                log.debug("%s; retrying in %g s", detail, retry)
            self._update(adapter="unavailable", detail=detail, last_error=detail)
            return False
        self._open = True
        self._missing_logged = False  # a later loss deserves its own clear line
        log.info("HDMI-CEC adapter open: %s", detail)
        self._update(adapter="open", detail=detail)
        self._poll_power(backend)
        return True

    def _serve(self, backend: CecBackend) -> None:
        with self._lock:
            lost, self._lost = self._lost, False
            want_active, self._want_active = self._want_active, False
        if lost:
            self._close(backend)
            log.warning(
                "connection to the HDMI-CEC adapter lost; the keyboard still works; retrying every %g s",
                self._config.retry_seconds,
            )
            self._missing_logged = True
            self._update(
                adapter="unavailable",
                detail="connection to the HDMI-CEC adapter lost",
                tv_power="unknown",
                active_source=None,
            )
            return
        if want_active:
            self._activate(backend)
        if time.monotonic() >= self._next_poll:
            self._poll_power(backend)

    def _activate(self, backend: CecBackend) -> None:
        # Asked fresh rather than trusted from state: a TV that went to standby without telling the
        # bus would otherwise be woken at night by a film started from the dashboard.
        power = backend.tv_power()
        self._set_tv_power(power)
        if power != "on":
            if not self._config.wake_tv:
                log.info("not switching the TV to this box: the TV is %s and cec.wake_tv is off", power)
                return
            if not backend.power_on_tv():
                log.warning("the TV did not acknowledge the power-on request")
        if backend.set_active_source():
            self._set_active(True, {"by": "us"})
        else:
            self._update(last_error="the TV did not accept this box as the active source")
            log.warning("the TV did not accept this box as the active source")

    def _poll_power(self, backend: CecBackend) -> None:
        self._next_poll = time.monotonic() + self.power_poll_seconds
        self._set_tv_power(backend.tv_power())

    def _close(self, backend: CecBackend) -> None:
        with self._lock:
            # A request made before the loss must not fire hours later when the adapter returns.
            self._want_active = False
        if not self._open:
            return
        self._open = False
        try:
            backend.close()
        except Exception:
            log.exception("closing the HDMI-CEC adapter failed")

    # -- libcec thread -----------------------------------------------------------------------------

    def _handle_key(self, code: int, pressed: bool) -> None:
        button = self._keymap.cec(code)
        if button is None:
            log.debug("ignoring HDMI-CEC key 0x%02x: not in the keymap", code)
            return
        log.debug("HDMI-CEC key 0x%02x %s: %s", code, "pressed" if pressed else "released", button.name)
        if pressed:
            self._set_tv_power("on")  # the TV's remote only reaches us through a TV that is on
        try:
            self._on_key(button, pressed)
        except Exception:
            log.exception("on_key failed for %s", button)

    def _handle_bus(self, kind: str, detail: dict[str, Any]) -> None:
        if kind == "tv_standby":
            self._set_tv_power("standby", detail, always=True)
        elif kind == "tv_power":
            if detail.get("power") in ("on", "standby"):
                self._set_tv_power(detail["power"], detail)
        elif kind == "active_source":
            self._set_active(True, detail)
        elif kind == "input_switched_away":
            self._set_active(False, detail)
        elif kind == "connection_lost":
            with self._lock:
                self._lost = True
            self._wake.set()
        else:
            log.debug("ignoring HDMI-CEC bus event %s %s", kind, detail)

    # -- state (any thread) ------------------------------------------------------------------------

    def _update(self, **changes: Any) -> None:
        with self._lock:
            self._state = dataclasses.replace(self._state, **changes)

    # State changes and their events happen under one lock, so events reach the queue in the order
    # the state changed even when libcec's thread and the worker race (a poll saying "standby" just
    # as a key says "on"). The callbacks only enqueue, so holding the lock across them costs nothing.

    def _set_tv_power(self, power: TvPower, detail: dict[str, Any] | None = None, always: bool = False) -> None:
        # Events fire on changes only, so a TV answering every poll does not pause the film each
        # minute; an explicit <Standby> always fires, because our idea of "standby" may be stale.
        with self._lock:
            before = self._state.tv_power
            changes: dict[str, Any] = {"tv_power": power}
            if power == "standby":
                changes["active_source"] = None  # after standby nobody is the source any more
            self._state = dataclasses.replace(self._state, **changes)
            if power == "on" and before != "on":
                self._emit("tv_on", detail or {})
            elif power == "standby" and (before != "standby" or always):
                self._emit("tv_standby", detail or {})

    def _set_active(self, active: bool, detail: dict[str, Any]) -> None:
        with self._lock:
            before = self._state.active_source
            self._state = dataclasses.replace(self._state, active_source=active)
            if active and before is not True:
                self._emit("active_source", detail)
            elif not active and before is not False:
                self._emit("input_switched_away", detail)

    def _emit(self, kind: str, detail: dict[str, Any]) -> None:
        try:
            self._on_event(kind, dict(detail))
        except Exception:
            log.exception("on_event failed for %s", kind)
