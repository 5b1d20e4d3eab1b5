"""The stall watcher on its own: a position and a cache level over a clock the test sets."""

from __future__ import annotations

from piclient.player.stall import StallTuning, StallWatcher


def watch(samples: list[tuple[float, float | None, float | None]], *, should_play: bool = True,
          tuning: StallTuning | None = None) -> StallWatcher:
    watcher = StallWatcher(tuning)
    watcher.reset(samples[0][0])
    for now, position, buffer_s in samples:
        watcher.observe(now, position=position, buffer_s=buffer_s, should_play=should_play)
    return watcher


def test_a_moving_position_is_neither_waiting_nor_stuck() -> None:
    watcher = watch([(t / 10, t / 10, 5.0) for t in range(300)])
    assert not watcher.waiting(29.9) and not watcher.stuck(29.9)


def test_a_still_position_asks_her_to_wait_after_one_and_a_half_seconds() -> None:
    watcher = watch([(t / 10, min(t / 10, 10.0), 5.0) for t in range(116)])
    assert watcher.still_for(11.5) == 1.5 and watcher.waiting(11.5)
    assert not watcher.waiting(11.4)


def test_it_is_stuck_when_the_last_twelve_seconds_brought_less_than_three_seconds_of_media() -> None:
    samples = [(t / 10, min(t / 10, 10.0), 0.0) for t in range(300)]
    watcher = watch(samples)
    assert watcher.stuck(29.9)
    early = watch(samples[:180])  # at 17.9 s the last 12 s still hold 4 s of playing
    assert not early.stuck(17.9)


def test_a_growing_cache_is_progress_even_with_a_still_picture() -> None:
    samples = [(t / 10, 4.0, t / 10 * 0.5) for t in range(300)]  # half a second cached per second
    watcher = watch(samples)
    assert watcher.waiting(29.9) and not watcher.stuck(29.9)


def test_nothing_counts_while_it_should_not_play() -> None:
    watcher = watch([(t / 10, 4.0, 0.0) for t in range(300)], should_play=False)
    assert watcher.still_for(29.9) == 0.0 and not watcher.waiting(29.9) and not watcher.stuck(29.9)


def test_a_jump_is_not_counted_as_playing() -> None:
    samples = [(t / 10, 4.0, 0.0) for t in range(100)] + [(10.0, 600.0, 0.0)]
    samples += [(10 + t / 10, 600.0, 0.0) for t in range(1, 100)]
    watcher = watch(samples)
    assert watcher.stuck(19.9)  # the jump moved the picture but played nothing


def test_the_thresholds_can_be_tuned() -> None:
    tuning = StallTuning(notice_after_s=0.5, recover_after_s=4.0)
    watcher = watch([(t / 10, 2.0, 0.0) for t in range(50)], tuning=tuning)
    assert watcher.waiting(4.9) and watcher.stuck(4.9)
