"""Which HLS variant to play: the adaptive-bitrate decision, as pure logic on an explicit clock.

mpv picks a variant only when a stream starts, so the player asks this module, about once a second,
whether to switch. The caller passes ``now`` (``time.monotonic()`` in the player, literal numbers in
tests) and what it measured; nothing here sleeps, reads a clock or talks to mpv.

The rules, in the viewer's terms: a picture that freezes to buffer is far worse than a softer one, and
a picture that changes sharpness every few seconds is worse than either. So the controller steps down
as soon as the buffer runs low or the network or the decoder cannot keep up, and steps up one rung at
a time only after a long calm spell, never sooner than ``min_switch_interval_s`` after any switch, and
never back to a resolution the decoder has already failed at (a Pi 4 decoding 1080p in software).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from piclient.player.hls import Variant

__all__ = ["AbrController", "AbrTuning", "BandwidthMeter", "Variant"]


class BandwidthMeter:
    """Network throughput as two exponentially weighted moving averages, reported as the lower one.

    The fast average reacts within seconds when the Wi-Fi drops; the slow one keeps a brief burst from
    looking like a faster link. Samples are weighted by their duration, so one long download counts
    more than a blip, and a tiny download (mostly latency) is ignored.
    """

    def __init__(self, fast_half_life_s: float = 2.0, slow_half_life_s: float = 8.0,
                 min_sample_bytes: int = 16_000) -> None:
        if fast_half_life_s <= 0 or slow_half_life_s <= 0:
            raise ValueError("half-lives must be positive")
        self._fast = _Ewma(fast_half_life_s)
        self._slow = _Ewma(slow_half_life_s)
        self._min_sample_bytes = min_sample_bytes

    def add_sample(self, nbytes: int, seconds: float) -> None:
        """``nbytes`` arrived in ``seconds`` of active downloading (one segment, say)."""
        if seconds <= 0 or nbytes < self._min_sample_bytes:
            return
        self.add_rate(nbytes / seconds, seconds)

    def add_rate(self, bytes_per_s: float, seconds: float = 1.0) -> None:
        """A download rate measured over ``seconds`` (mpv's ``cache-speed`` polled once a second).

        Only feed it while the stream is actually downloading: when the cache is full, mpv stops
        reading and the rate drops to zero, which says nothing about the network.
        """
        if seconds <= 0 or bytes_per_s < 0 or not math.isfinite(bytes_per_s):
            return
        bits_per_s = bytes_per_s * 8
        self._fast.add(bits_per_s, seconds)
        self._slow.add(bits_per_s, seconds)

    @property
    def estimate_bps(self) -> float | None:
        """Bits per second, or None before the first sample."""
        fast, slow = self._fast.value, self._slow.value
        if fast is None or slow is None:
            return None
        return min(fast, slow)


class _Ewma:
    def __init__(self, half_life_s: float) -> None:
        self._alpha = 0.5 ** (1 / half_life_s)
        self._estimate = 0.0
        self._total_weight = 0.0

    def add(self, value: float, weight_s: float) -> None:
        keep = self._alpha**weight_s
        self._estimate = value * (1 - keep) + keep * self._estimate
        self._total_weight += weight_s

    @property
    def value(self) -> float | None:
        if self._total_weight <= 0:
            return None
        # The average starts at zero; dividing by the weight gathered so far removes that pull.
        return self._estimate / (1 - self._alpha**self._total_weight)


@dataclass(frozen=True, slots=True)
class AbrTuning:
    """The thresholds, in one place so tests and the config can name them."""

    low_water_s: float = 5.0  # below this, a buffer that is not refilling means a stall is near
    healthy_s: float = 20.0  # above this (or at the readahead limit) there is room to try more
    up_sustain_s: float = 15.0  # how long everything must look good before stepping up
    min_switch_interval_s: float = 10.0  # after any switch (and after start) buffers settle first
    drop_window_s: float = 10.0
    max_drop_ratio: float = 0.05  # more than 1 frame in 20 dropped: the decoder cannot keep up
    trend_window_s: float = 3.0  # how far back to look to tell a draining buffer from a refilling one
    refill_margin_s: float = 0.5  # how much the buffer must move in that window to count as moving
    assumed_fps: float = 25.0  # when the playlist does not say (FRAME-RATE is optional)
    max_up_penalty: int = 4  # the up-sustain time doubles per failed step up, at most 2**4 times


class AbrController:
    """Decides the variant. ``initial()`` once, then ``update()`` about once a second.

    A returned variant is taken as switched to at ``now``. ``decode_limit`` is the smallest resolution
    that dropped frames; the player may keep it across films and pass it back in, since a box that
    cannot decode 1080p today will not manage it tomorrow.
    """

    def __init__(self, variants: Sequence[Variant], safety: float = 0.7, *,
                 tuning: AbrTuning | None = None, decode_limit: tuple[int, int] | None = None,
                 readahead_s: float | None = None) -> None:
        if not variants:
            raise ValueError("an ABR controller needs at least one variant")
        if not 0 < safety <= 1:
            raise ValueError("safety must be in (0, 1]")
        self.variants = sorted(variants, key=lambda v: (v.bandwidth, v.pixels or 0))
        self.safety = safety
        self.tuning = tuning or AbrTuning()
        self._healthy_s = self.tuning.healthy_s
        if readahead_s is not None:
            # When mpv is told to read ahead less than "healthy", a full cache is as healthy as it gets.
            self._healthy_s = min(self._healthy_s, 0.9 * readahead_s)
        # A low-water mark above a small readahead would call a full, steady cache a draining one.
        self._low_water_s = min(self.tuning.low_water_s, self._healthy_s / 2)
        self._limit_resolution = decode_limit
        self._limit_bandwidth: int | None = None  # for ladders without RESOLUTION
        self._ceiling: int | None = None  # variants at or above this stalled (see cap)
        # Why the last update did not step up, in words the maintainer's status shows: "top" (nothing
        # better), "decoder", "stalled" (cap), "network", "buffer", "drops", "settling", "paused", "sustain", or None.
        self.up_blocker: str | None = None
        self._current = 0
        self._last_switch: float | None = None  # None until the first update: start-up counts as a switch
        self._last_switch_was_up = False
        self._up_since: float | None = None
        self._up_penalty = 0
        self._buffer: deque[tuple[float, float]] = deque()
        self._drops: deque[tuple[float, int]] = deque()

    # --- what the player reads --------------------------------------------------------------------

    @property
    def current(self) -> Variant:
        return self.variants[self._current]

    @current.setter
    def current(self, variant: Variant) -> None:
        """Tell it what is actually playing (mpv may have chosen at start); not counted as a switch."""
        try:
            self._current = self.variants.index(variant)
        except ValueError:
            raise ValueError(f"{variant.uri!r} is not in this ladder") from None

    @property
    def decode_limit(self) -> tuple[int, int] | None:
        """The smallest resolution known to drop frames here (worth persisting), or None."""
        return self._limit_resolution

    def cap(self, bandwidth: int) -> None:
        """Never again choose a variant at or above ``bandwidth`` (its segments stalled in this film)."""
        self._ceiling = bandwidth if self._ceiling is None else min(self._ceiling, bandwidth)

    def allowed(self, variant: Variant) -> bool:
        """False for variants at or above a resolution that has dropped frames, or above the cap."""
        if self._ceiling is not None and variant.bandwidth >= self._ceiling:
            return False
        limit = self._limit_resolution
        if limit is not None and variant.pixels is not None:
            return variant.pixels < limit[0] * limit[1]
        if self._limit_bandwidth is not None:
            return variant.bandwidth < self._limit_bandwidth
        return True

    # --- decisions --------------------------------------------------------------------------------

    def initial(self, bandwidth_estimate_bps: float | None) -> Variant:
        """The variant to start with: the best that fits ``safety`` times the estimate.

        With no estimate it starts at the lowest. A stall in the first seconds is what the viewer
        notices ("the TV is broken"), a soft picture for half a minute is not, and stepping up is
        automatic. The player can do better by passing the last film's estimate.
        """
        index = self._lowest_allowed()
        if bandwidth_estimate_bps is not None:
            index = self._best_fit(bandwidth_estimate_bps, below=len(self.variants))
        self._current = index
        return self.current

    def update(self, now: float, *, throughput_bps: float | None, buffer_s: float,
               dropped_frames_total: int, playing: bool, end_buffered: bool = False) -> Variant | None:
        """A variant to switch to now, or None to stay.

        ``throughput_bps``: the network estimate in bits per second (BandwidthMeter), None if unknown.
        ``buffer_s``: seconds of media buffered ahead (mpv's ``demuxer-cache-duration``).
        ``dropped_frames_total``: the decoder's running drop count; a reset (new file) is noticed.
        ``playing``: false while she has paused; a buffering stall still counts as playing.
        ``end_buffered``: the cache holds the stream up to its end (mpv's ``demuxer-cache-state``
        ``eof``). The buffer then shrinks to nothing as the film ends, which is no reason to switch,
        and there is nothing left to download better.
        """
        if self._last_switch is None:
            self._last_switch = now
        self._record(now, buffer_s, dropped_frames_total, playing)
        if not playing:
            self._up_since = None  # a paused player fills its buffer; that proves nothing about the link
            self.up_blocker = "paused"
            return None
        if now - self._last_switch < self.tuning.min_switch_interval_s:
            self.up_blocker = "settling"
            return None
        if end_buffered:
            # Only the decoder can still be too slow for what is left.
            target = self._step_down(now, throughput_bps, buffer_s=math.inf)
            self._up_since = None
            self.up_blocker = "top"  # the rest is downloaded: nothing better to fetch
        else:
            target = self._step_down(now, throughput_bps, buffer_s)
            if target is None:
                target = self._step_up(now, throughput_bps, buffer_s)
        if target is None or target == self._current:
            return None
        self._switch(now, target)
        return self.current

    def _step_down(self, now: float, throughput_bps: float | None, buffer_s: float) -> int | None:
        candidates = []
        if self._dropping_frames(now) and self._current > 0:
            self._remember_too_heavy(self.current)
            candidates.append(self._best_fit(throughput_bps, below=self._current)
                              if throughput_bps is not None else self._next_lower())
        if buffer_s < self._low_water_s and not self._buffer_moved(now, buffer_s, up=True):
            # The estimate may be stale when the buffer says otherwise, so go at least one rung down.
            lower = self._next_lower()
            if throughput_bps is not None:
                lower = min(lower, self._best_fit(throughput_bps, below=self._current + 1))
            candidates.append(lower)
        elif (throughput_bps is not None and throughput_bps < self.current.bandwidth
              and buffer_s < self._healthy_s and self._buffer_moved(now, buffer_s, up=False)):
            # Below the peak rate and losing ground. A level buffer is fine here: BANDWIDTH is the peak,
            # so a link a little under it can still keep up on average. The band between bandwidth
            # and bandwidth / safety, where it neither steps down nor up, keeps it from flapping.
            candidates.append(self._best_fit(throughput_bps, below=self._current))
        if not candidates:
            return None
        target = min(candidates)
        return target if target < self._current else None

    def _step_up(self, now: float, throughput_bps: float | None, buffer_s: float) -> int | None:
        higher = self._next_higher()
        self.up_blocker = self._why_not_up(now, higher, throughput_bps, buffer_s)
        if self.up_blocker is not None:
            self._up_since = None
            return None
        if self._up_since is None:
            self._up_since = now
        needed = self.tuning.up_sustain_s * 2**self._up_penalty
        if now - self._up_since >= needed:
            return higher
        self.up_blocker = "sustain"
        return None

    def _why_not_up(self, now: float, higher: int | None, throughput_bps: float | None,
                    buffer_s: float) -> str | None:
        if higher is None:
            above = [v for v in self.variants if v.bandwidth > self.current.bandwidth]
            if not above:
                return "top"
            return "stalled" if self._ceiling is not None and above[0].bandwidth >= self._ceiling else "decoder"
        if throughput_bps is None or throughput_bps * self.safety < self.variants[higher].bandwidth:
            return "network"
        if buffer_s < self._healthy_s:
            return "buffer"
        if self._any_drops(now):
            return "drops"
        return None

    def _switch(self, now: float, target: int) -> None:
        up = target > self._current
        if not up and self._last_switch_was_up:
            # Stepping back down from a step up: that level was a mistake, so be slower to retry it.
            self._up_penalty = min(self._up_penalty + 1, self.tuning.max_up_penalty)
        self._current = target
        self._last_switch = now
        self._last_switch_was_up = up
        self._up_since = None
        # The old variant's drops and buffer say nothing about the new one.
        self._buffer.clear()
        self._drops.clear()

    def seeked(self) -> None:
        """The player seeked: the buffer was flushed and refills, and the decoder may drop a frame or
        two catching up. Neither says anything about the network or the decoder, so both are forgotten.
        (A flush is also noticed without this call, from a buffer falling faster than time passes.)"""
        self._buffer.clear()
        self._drops.clear()

    # --- measurements -----------------------------------------------------------------------------

    def _record(self, now: float, buffer_s: float, dropped_total: int, playing: bool) -> None:
        if not playing:
            # Drops while paused do not happen, and the buffer grows: keep neither.
            self.seeked()
            return
        if self._drops and dropped_total < self._drops[-1][1]:
            self._drops.clear()  # the counter was reset (a new file, or a reloaded stream)
        if self._buffer and buffer_s < self._buffer[-1][1] - (now - self._buffer[-1][0]) - 1.0:
            self.seeked()  # playback cannot use up the buffer faster than real time: it was flushed
        self._drops.append((now, dropped_total))
        self._buffer.append((now, buffer_s))
        horizon = now - max(self.tuning.drop_window_s, self.tuning.trend_window_s)
        while self._drops and self._drops[0][0] < now - self.tuning.drop_window_s:
            self._drops.popleft()
        while self._buffer and self._buffer[0][0] < horizon:
            self._buffer.popleft()
        if (self._last_switch_was_up and self._last_switch is not None
                and now - self._last_switch > 8 * self.tuning.up_sustain_s):
            # A long stay after a step up shows the network has settled; forgive old mistakes.
            self._up_penalty = 0

    def _buffer_moved(self, now: float, buffer_s: float, *, up: bool) -> bool:
        """Whether the buffer grew (``up``) or shrank by the margin over the trend window.

        With too little history (just after a start, switch, seek or pause) it counts as refilling
        and not shrinking: the next updates will know better, and guessing would switch for nothing.
        """
        past = [b for t, b in self._buffer if t <= now - self.tuning.trend_window_s]
        if not past:
            return up
        change = buffer_s - past[-1]
        return change >= self.tuning.refill_margin_s if up else change <= -self.tuning.refill_margin_s

    def _drop_rate(self, now: float) -> tuple[float, float]:
        """Dropped frames per second over the window, and how many seconds the window covers."""
        if len(self._drops) < 2:
            return 0.0, 0.0
        (t0, d0), (t1, d1) = self._drops[0], self._drops[-1]
        span = t1 - t0
        return ((d1 - d0) / span if span > 0 else 0.0), span

    def _dropping_frames(self, now: float) -> bool:
        rate, span = self._drop_rate(now)
        # Half a window at least, so a burst at a seek or a switch does not count as a trend.
        fps = self.current.frame_rate or self.tuning.assumed_fps
        return span >= self.tuning.drop_window_s / 2 and rate > self.tuning.max_drop_ratio * fps

    def _any_drops(self, now: float) -> bool:
        rate, _ = self._drop_rate(now)
        fps = self.current.frame_rate or self.tuning.assumed_fps
        # Stepping up needs a decoder with room to spare, not one just under the limit.
        return rate > self.tuning.max_drop_ratio * fps / 4

    def _remember_too_heavy(self, variant: Variant) -> None:
        limit = self._limit_resolution
        if variant.resolution is not None and variant.pixels is not None:
            if limit is None or variant.pixels < limit[0] * limit[1]:
                self._limit_resolution = variant.resolution
        elif self._limit_bandwidth is None or variant.bandwidth < self._limit_bandwidth:
            self._limit_bandwidth = variant.bandwidth

    # --- ladder arithmetic ------------------------------------------------------------------------

    def _lowest_allowed(self) -> int:
        return next((i for i, v in enumerate(self.variants) if self.allowed(v)), 0)

    def _best_fit(self, throughput_bps: float | None, *, below: int) -> int:
        """The highest allowed variant under index ``below`` that fits; the lowest allowed if none fits."""
        budget = (throughput_bps or 0.0) * self.safety
        fits = [i for i in range(min(below, len(self.variants)))
                if self.allowed(self.variants[i]) and self.variants[i].bandwidth <= budget]
        return fits[-1] if fits else self._lowest_allowed()

    def _next_lower(self) -> int:
        lower = [i for i in range(self._current) if self.allowed(self.variants[i])]
        return lower[-1] if lower else max(0, self._current - 1)

    def _next_higher(self) -> int | None:
        return next((i for i in range(self._current + 1, len(self.variants))
                     if self.allowed(self.variants[i]) and self.variants[i].bandwidth > self.current.bandwidth),
                    None)
