"""Noticing a film that stands still while it should play: pure logic on an explicit clock.

mpv can stop without saying so: a track switch whose segments never arrive, or a server that stops
sending in the middle of a segment, leaves ``time-pos`` where it was while ``pause`` and even
``paused-for-cache`` stay false, and the TV shows a still frame. So the player watches the one thing
that must move during playback, the position, and counts time without it.

Two clocks run from the last movement:
  * the viewer's: after ``notice_after_s`` without the position moving she sees "just a moment";
  * the recovery's: after ``recover_after_s`` without any progress at all the player acts. A cache that
    is refilling (buffering, and the buffer growing) is progress: a slow line is not a frozen player.

Nothing here reads a clock, sleeps or talks to mpv; the caller passes ``now`` and what it saw.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StallTuning:
    notice_after_s: float = 1.5  # she sees "just a moment" within 2 s of a stall (the frame loop runs often)
    recover_after_s: float = 12.0  # long enough for a cache refill on a slow line, short enough for her
    buffer_growth_s: float = 0.5  # how much the cache must grow to count as the network still delivering
    moved_s: float = 0.01  # time-pos jitters by less than a frame when nothing plays


class StallWatcher:
    """``reset(now)`` when playback (re)starts, seeks or resumes; ``observe(now, ...)`` every frame."""

    def __init__(self, tuning: StallTuning | None = None) -> None:
        self.tuning = tuning or StallTuning()
        self._position: float | None = None
        self._moved_at: float | None = None  # last time the position moved (or the watch restarted)
        self._progress_at: float | None = None  # last time anything moved, the cache included
        self._buffer_mark: float | None = None

    def reset(self, now: float) -> None:
        """Start counting afresh: a (re)load, a seek, a resume from pause, a switch of episode."""
        self._position = None
        self._moved_at = now
        self._progress_at = now
        self._buffer_mark = None

    def observe(self, now: float, *, position: float | None, buffer_s: float | None, should_play: bool) -> None:
        """What the player shows now. ``should_play``: loaded, not paused, not seeking, not at the end."""
        if not should_play or self._moved_at is None:
            self.reset(now)
            self._position = position
            return
        if position is not None and (self._position is None or abs(position - self._position) > self.tuning.moved_s):
            self._position = position
            self._moved_at = now
            self._progress_at = now
            self._buffer_mark = buffer_s
            return
        if buffer_s is not None:
            if self._buffer_mark is None or buffer_s < self._buffer_mark:
                self._buffer_mark = buffer_s  # a smaller cache is the start line for the next growth
            elif buffer_s - self._buffer_mark >= self.tuning.buffer_growth_s:
                self._buffer_mark = buffer_s
                self._progress_at = now

    def still_for(self, now: float) -> float:
        """Seconds the position has not moved while it should have (0 when watching is off)."""
        return 0.0 if self._moved_at is None else max(0.0, now - self._moved_at)

    def waiting(self, now: float) -> bool:
        """Whether she should see "just a moment" now."""
        return self.still_for(now) >= self.tuning.notice_after_s

    def stuck(self, now: float) -> bool:
        """Whether nothing, not even the cache, has moved for ``recover_after_s``: time to act."""
        return self._progress_at is not None and now - self._progress_at >= self.tuning.recover_after_s

    @property
    def position(self) -> float | None:
        """The position it last saw move, or the one it started from."""
        return self._position
