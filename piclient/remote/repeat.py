"""Press, hold and release turned into button events at a steady rate.

Pure and clock-driven: the caller passes ``now`` (``time.monotonic()`` in the launcher, literal numbers
in tests), so every timing rule can be tested exactly and nothing here needs a thread.

Why not trust the sources' own repeat: a TV resends a held CEC key at whatever rate it likes (200 to
450 ms, sometimes irregular, sometimes as fresh presses), and some TVs lose the release altogether. The
viewer must see the same thing from any remote: one step per short press, a steady scroll while held,
and the scroll stopping when she lets go.
"""

from __future__ import annotations

from dataclasses import dataclass

from piclient.config.schema import RemoteConfig
from piclient.remote.buttons import REPEATING, Button


@dataclass(frozen=True, slots=True)
class ButtonEvent:
    button: Button
    repeat: bool
    source: str


@dataclass(slots=True)
class _Held:
    button: Button
    source: str
    next_repeat_at: float
    last_seen: float
    keepalive_timeout_s: float | None

    def expired(self, now: float) -> bool:
        return self.keepalive_timeout_s is not None and now >= self.last_seen + self.keepalive_timeout_s


class KeyRepeater:
    """At most one key is held at a time, as on a real remote: a new button ends the previous one."""

    def __init__(self, delay_s: float, interval_s: float) -> None:
        if delay_s <= 0 or interval_s <= 0:
            raise ValueError("repeat delay and interval must be positive")
        self._delay_s = delay_s
        self._interval_s = interval_s
        self._held: _Held | None = None

    @classmethod
    def from_config(cls, remote: RemoteConfig) -> KeyRepeater:
        return cls(remote.repeat_delay_ms / 1000, remote.repeat_interval_ms / 1000)

    @property
    def held(self) -> tuple[Button, str] | None:
        return None if self._held is None else (self._held.button, self._held.source)

    def press(
        self, button: Button, source: str, now: float, keepalive_timeout_s: float | None = None
    ) -> list[ButtonEvent]:
        """A key went down, or a source that resends held keys resent it.

        ``keepalive_timeout_s`` is for sources that may lose the release (HDMI-CEC): the key counts as
        released once that long passes without another press of it.
        """
        self._expire(now)
        held = self._held
        if held is not None and held.button == button and held.source == source:
            # A resend, not a new press: libcec reports a held key as repeated fresh presses on some
            # TVs, and treating those as presses would make OK play twice and scrolling uneven.
            held.last_seen = now
            held.keepalive_timeout_s = keepalive_timeout_s
            return []
        self._held = _Held(
            button=button,
            source=source,
            next_repeat_at=now + self._delay_s,
            last_seen=now,
            keepalive_timeout_s=keepalive_timeout_s,
        )
        return [ButtonEvent(button, repeat=False, source=source)]

    def release(self, button: Button, source: str, now: float) -> None:
        # A release that does not match the held key is stale (its key was already replaced or timed
        # out) and must not end the key that is held now.
        held = self._held
        if held is not None and held.button == button and held.source == source:
            self._held = None

    def tick(self, now: float) -> list[ButtonEvent]:
        """Repeats that are due; call it from the main loop at least every ``interval_s``."""
        self._expire(now)
        held = self._held
        if held is None or held.button not in REPEATING or now < held.next_repeat_at:
            return []
        # One repeat per tick at most: a main loop that stalled (a slow poster decode) must not make
        # the focus jump several places at once. Small lateness keeps the rhythm; a stall restarts it.
        held.next_repeat_at += self._interval_s
        if held.next_repeat_at <= now:
            held.next_repeat_at = now + self._interval_s
        return [ButtonEvent(held.button, repeat=True, source=held.source)]

    def next_deadline(self) -> float | None:
        """When ``tick`` next has something to do, so the main loop can sleep until then."""
        held = self._held
        if held is None:
            return None
        deadlines = []
        if held.button in REPEATING:
            deadlines.append(held.next_repeat_at)
        if held.keepalive_timeout_s is not None:
            deadlines.append(held.last_seen + held.keepalive_timeout_s)
        return min(deadlines, default=None)

    def _expire(self, now: float) -> None:
        # A repeat that fell due before the keepalive ran out but was not ticked in time is dropped
        # too: one step too few is harmless, a step after she let go is a wrong move.
        if self._held is not None and self._held.expired(now):
            self._held = None
