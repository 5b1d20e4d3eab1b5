"""Noticing a film that stands still while it should play: pure logic on an explicit clock.

mpv can stop without saying so: a track switch whose segments never arrive, or a server that stops
sending in the middle of a segment, leaves ``time-pos`` where it was while ``pause`` and even
``paused-for-cache`` stay false, and the TV shows a still frame. So the player watches the one thing
that must move during playback, the position, and counts time without it.

Two clocks run from the last movement:
  * the viewer's: after ``notice_after_s`` without the position moving she sees "just a moment";
  * the recovery's: when, over the last ``recover_after_s``, too little media was played or newly
    cached, the player acts. A cache that is refilling is progress: a slow line is not a frozen player;
    but a server that sends a few kilobytes now and then is no better than one that sends nothing.

Nothing here reads a clock, sleeps or talks to mpv; the caller passes ``now`` and what it saw.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StallTuning:
    notice_after_s: float = 1.5  # she sees "just a moment" within 2 s of a stall (the frame loop runs often)
    recover_after_s: float = 12.0  # the window over which progress is judged
    # Less than this much media (played plus newly cached) per second of the window is no progress: a
    # server that sends a few kilobytes every quarter-minute moves the picture, but nobody can watch it.
    min_progress_rate: float = 0.25
    moved_s: float = 0.01  # time-pos jitters by less than a frame when nothing plays
    max_step_s: float = 5.0  # a bigger jump is a seek or a reload, not playback


class StallWatcher:
    """``reset(now)`` when playback (re)starts, seeks or resumes; ``observe(now, ...)`` every frame."""

    def __init__(self, tuning: StallTuning | None = None) -> None:
        self.tuning = tuning or StallTuning()
        self._position: float | None = None
        self._buffer: float | None = None
        self._since: float | None = None  # when watching (re)started
        self._moved_at: float | None = None  # last time the position moved (or the watch restarted)
        self._credits: deque[tuple[float, float]] = deque()  # (when, seconds of media played or cached)

    def reset(self, now: float) -> None:
        """Start counting afresh: a (re)load, a seek, a resume from pause, a switch of episode."""
        self._position = None
        self._buffer = None
        self._since = now
        self._moved_at = now
        self._credits.clear()

    def observe(self, now: float, *, position: float | None, buffer_s: float | None, should_play: bool) -> None:
        """What the player shows now. ``should_play``: loaded, not paused, not seeking, not at the end."""
        if not should_play or self._since is None:
            self.reset(now)
            self._position, self._buffer = position, buffer_s
            return
        if position is not None:
            if self._position is not None and abs(position - self._position) > self.tuning.moved_s:
                self._moved_at = now
                self._credit(now, position - self._position)
            if self._position is None or abs(position - self._position) > self.tuning.moved_s:
                self._position = position
        if buffer_s is not None:
            if self._buffer is not None and buffer_s > self._buffer:
                self._credit(now, buffer_s - self._buffer)
            self._buffer = buffer_s
        horizon = now - self.tuning.recover_after_s
        while self._credits and self._credits[0][0] < horizon:
            self._credits.popleft()

    def _credit(self, now: float, seconds: float) -> None:
        if 0 < seconds <= self.tuning.max_step_s:
            self._credits.append((now, seconds))

    def still_for(self, now: float) -> float:
        """Seconds the position has not moved while it should have (0 when watching is off)."""
        return 0.0 if self._moved_at is None else max(0.0, now - self._moved_at)

    def waiting(self, now: float) -> bool:
        """Whether she should see "just a moment" now."""
        return self.still_for(now) >= self.tuning.notice_after_s

    def stuck(self, now: float) -> bool:
        """Whether, over the whole window, too little has moved (picture and cache together): time to act."""
        window = self.tuning.recover_after_s
        if self._since is None or now - self._since < window:
            return False
        progress = sum(seconds for when, seconds in self._credits if when >= now - window)
        return progress < self.tuning.min_progress_rate * window and self.waiting(now)

    @property
    def position(self) -> float | None:
        """The position it last saw move, or the one it started from."""
        return self._position
