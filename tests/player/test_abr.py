"""The adaptive-bitrate decisions, played out second by second on a fake clock."""

from dataclasses import dataclass, field
from itertools import pairwise

import pytest

from piclient.player.abr import AbrController, AbrTuning, BandwidthMeter
from piclient.player.hls import Variant

LOW = Variant(400_000, (320, 180), "low.m3u8")
SD = Variant(1_200_000, (640, 360), "sd.m3u8")
HD = Variant(3_000_000, (1280, 720), "hd.m3u8")
FHD = Variant(6_000_000, (1920, 1080), "fhd.m3u8")
LADDER = [FHD, LOW, HD, SD]  # any order: the controller sorts by bandwidth
MBPS = 1_000_000


@dataclass
class Sim:
    """Plays a controller once a second from t=0; remembers every switch as (time, variant uri)."""

    controller: AbrController
    now: float = 0.0
    dropped: float = 0.0
    switches: list[tuple[float, str]] = field(default_factory=list)

    def run(self, seconds: float, *, throughput: float | None, buffer: float | None = None,
            buffer_rate: float = 0.0, drops_per_s: float = 0.0, playing: bool = True,
            end_buffered: bool = False) -> list[tuple[float, str]]:
        """Step once a second. ``buffer`` sets the level; ``buffer_rate`` then moves it each second."""
        level = self._level if buffer is None else buffer
        start = len(self.switches)
        for _ in range(round(seconds)):
            chosen = self.controller.update(self.now, throughput_bps=throughput, buffer_s=level,
                                            dropped_frames_total=int(self.dropped), playing=playing,
                                            end_buffered=end_buffered)
            if chosen is not None:
                self.switches.append((self.now, chosen.uri))
            self.now += 1
            level = max(0.0, level + buffer_rate)
            self.dropped += drops_per_s if playing else 0
        self._level = level
        return self.switches[start:]

    _level: float = 0.0


def sim(start: Variant, **kwargs: object) -> Sim:
    controller = AbrController(LADDER, **kwargs)  # type: ignore[arg-type]
    controller.initial(start.bandwidth / controller.safety if start is not LOW else None)
    assert controller.current == start
    return Sim(controller)


# --- start -------------------------------------------------------------------------------------------


def test_it_starts_at_the_lowest_variant_when_the_bandwidth_is_unknown() -> None:
    assert AbrController(LADDER).initial(None) == LOW


@pytest.mark.parametrize(("estimate", "expected"), [
    (100_000, LOW),  # nothing fits: the lowest still plays, just with stalls
    (2 * MBPS, SD),  # 0.7 * 2 Mbit/s = 1.4 Mbit/s: SD fits, HD does not
    (3_000_000 / 0.7, HD),  # exactly at the margin counts as fitting
    (100 * MBPS, FHD),
])
def test_it_starts_at_the_best_variant_within_the_safety_margin(estimate: float, expected: Variant) -> None:
    assert AbrController(LADDER, safety=0.7).initial(estimate) == expected


def test_a_known_decode_limit_keeps_the_start_below_it() -> None:
    controller = AbrController(LADDER, decode_limit=(1920, 1080))
    assert controller.initial(100 * MBPS) == HD
    assert controller.decode_limit == (1920, 1080)


def test_the_player_can_say_which_variant_mpv_started_with() -> None:
    controller = AbrController(LADDER)
    controller.current = HD
    assert controller.current == HD
    run = Sim(controller)
    run.run(10, throughput=None, buffer=20)
    assert run.run(30, throughput=None, buffer_rate=-1.0)[0] == (26.0, "sd.m3u8")  # down from HD, not LOW
    with pytest.raises(ValueError, match="not in this ladder"):
        controller.current = Variant(1, None, "elsewhere.m3u8")


def test_a_one_variant_ladder_never_switches() -> None:
    controller = AbrController([SD])
    run = Sim(controller)
    assert controller.initial(None) == SD
    assert run.run(60, throughput=100_000, buffer=0.5, drops_per_s=20) == []
    assert run.run(60, throughput=100 * MBPS, buffer=30) == []


def test_it_refuses_an_empty_ladder_or_a_silly_safety_margin() -> None:
    with pytest.raises(ValueError):
        AbrController([])
    with pytest.raises(ValueError):
        AbrController(LADDER, safety=1.5)


# --- stepping down ------------------------------------------------------------------------------------


def test_nothing_switches_in_the_first_ten_seconds_while_the_buffer_fills() -> None:
    run = sim(HD)
    assert run.run(9, throughput=None, buffer=0.0) == []


def test_a_draining_buffer_below_low_water_steps_down_a_rung_at_a_time_without_an_estimate() -> None:
    run = sim(HD)
    run.run(10, throughput=None, buffer=20)
    # The buffer falls a second per second: the variant is too heavy for the link. It passes 5 s at
    # t=25, the first update that sees it below is t=26; ten seconds later it is still draining.
    assert run.run(30, throughput=None, buffer_rate=-1.0) == [(26.0, "sd.m3u8"), (36.0, "low.m3u8")]


def test_a_draining_buffer_jumps_straight_to_the_variant_the_throughput_supports() -> None:
    run = sim(FHD)
    run.run(10, throughput=8 * MBPS, buffer=20)
    switches = run.run(30, throughput=0.8 * MBPS, buffer_rate=-1.0)
    # Throughput far below FHD's rate and the buffer falling (20 s at t=10, 19 s at t=11, measured
    # against t=8): straight to LOW, as 0.7 * 0.8 Mbit/s fits only LOW, long before the buffer is low.
    assert switches == [(11.0, "low.m3u8")]


def test_a_low_buffer_that_is_refilling_does_not_step_down() -> None:
    run = sim(HD)
    run.run(10, throughput=10 * MBPS, buffer=20)
    # A seek flushed the buffer; the link refills it quickly.
    assert run.run(1, throughput=10 * MBPS, buffer=0.0) == []
    assert run.run(8, throughput=10 * MBPS, buffer_rate=+1.5) == []


def test_a_stall_with_an_empty_buffer_steps_down() -> None:
    run = sim(SD)
    run.run(12, throughput=None, buffer=0.2)
    assert run.switches == [(10.0, "low.m3u8")]  # the first moment the start-up guard allows


def test_throughput_below_the_variants_rate_steps_down_when_the_buffer_is_losing_ground() -> None:
    run = sim(HD)
    run.run(10, throughput=6 * MBPS, buffer=15)
    switches = run.run(20, throughput=2.5 * MBPS, buffer_rate=-0.3)
    # At t=12 the buffer is 0.6 s below t=9: past the 0.5 s margin. 0.7 * 2.5 Mbit/s fits SD.
    assert switches == [(12.0, "sd.m3u8")]


def test_throughput_a_little_under_the_peak_rate_with_a_level_buffer_is_fine() -> None:
    run = sim(HD)
    # BANDWIDTH is the peak; a link at 90% of it keeps up with the average rate.
    assert run.run(120, throughput=2.7 * MBPS, buffer=15) == []


def test_low_throughput_with_a_healthy_buffer_is_ridden_out() -> None:
    run = sim(HD)
    run.run(10, throughput=6 * MBPS, buffer=40)
    # A dip the 40 s buffer easily absorbs: switching would only make the picture worse for nothing.
    assert run.run(15, throughput=2.5 * MBPS, buffer_rate=-0.3) == []


def test_throughput_between_the_rate_and_the_safety_margin_neither_steps_down_nor_up() -> None:
    run = sim(SD)
    # HD needs 3 / 0.7 = 4.3 Mbit/s to step up; SD steps down below 1.2. Between them it stays put,
    # whatever the buffer does.
    assert run.run(120, throughput=1.5 * MBPS, buffer=12, buffer_rate=0.0) == []
    assert run.run(120, throughput=4.0 * MBPS, buffer=30) == []


def test_switches_are_at_least_ten_seconds_apart_even_when_things_get_worse() -> None:
    run = sim(FHD)
    run.run(10, throughput=None, buffer=20)
    switches = run.run(40, throughput=None, buffer_rate=-1.0)
    times = [t for t, _ in switches]
    assert [uri for _, uri in switches] == ["hd.m3u8", "sd.m3u8", "low.m3u8"]
    assert all(b - a >= 10 for a, b in pairwise(times))


# --- stepping up --------------------------------------------------------------------------------------


def test_it_steps_up_one_rung_after_fifteen_calm_seconds() -> None:
    run = sim(LOW)
    # Plenty of throughput for FHD, but it climbs one rung at a time.
    switches = run.run(60, throughput=20 * MBPS, buffer=30)
    # 10 s start-up guard, then 15 s of calm before each step (the guard overlaps nothing).
    assert switches == [(25.0, "sd.m3u8"), (50.0, "hd.m3u8")]


def test_a_short_buffer_dip_restarts_the_wait_before_stepping_up() -> None:
    run = sim(LOW)
    run.run(10, throughput=5 * MBPS, buffer=30)
    assert run.run(10, throughput=5 * MBPS, buffer=30) == []
    assert run.run(1, throughput=5 * MBPS, buffer=10) == []  # t=20: below the healthy mark for a moment
    assert run.run(15, throughput=5 * MBPS, buffer=30) == []  # t=21 to 35: calm again, 14 s of it
    assert run.run(1, throughput=5 * MBPS, buffer=30) == [(36.0, "sd.m3u8")]


def test_it_does_not_step_up_without_a_throughput_estimate_or_with_a_thin_buffer() -> None:
    run = sim(LOW)
    assert run.run(60, throughput=None, buffer=30) == []
    assert run.run(60, throughput=50 * MBPS, buffer=15) == []


def test_a_full_cache_at_the_readahead_limit_counts_as_healthy() -> None:
    run = sim(LOW, readahead_s=12)
    assert run.run(26, throughput=5 * MBPS, buffer=11.5) == [(25.0, "sd.m3u8")]


def test_pausing_stops_all_switching_and_does_not_count_as_calm() -> None:
    run = sim(LOW)
    run.run(20, throughput=5 * MBPS, buffer=30)
    assert run.run(60, throughput=5 * MBPS, buffer=60, playing=False) == []
    assert run.run(60, throughput=100_000, buffer=0.0, playing=False) == []
    # Playing again from t=140: the calm spell starts over.
    assert run.run(15, throughput=5 * MBPS, buffer=30) == []
    assert run.run(1, throughput=5 * MBPS, buffer=30) == [(155.0, "sd.m3u8")]


def test_a_failed_step_up_doubles_the_wait_before_the_next_try() -> None:
    run = sim(LOW)
    assert run.run(26, throughput=2 * MBPS, buffer=30) == [(25.0, "sd.m3u8")]
    # SD turned out too heavy after all: the buffer drains and it steps back down.
    assert run.run(30, throughput=None, buffer=6, buffer_rate=-0.5) == [(35.0, "low.m3u8")]
    # The next try, from t=56, needs 30 s of calm, not 15.
    assert run.run(30, throughput=2 * MBPS, buffer=30) == []
    assert run.run(1, throughput=2 * MBPS, buffer=30) == [(86.0, "sd.m3u8")]


def test_a_long_stay_after_a_step_up_forgives_earlier_failures() -> None:
    run = sim(LOW)
    assert run.run(26, throughput=2 * MBPS, buffer=30) == [(25.0, "sd.m3u8")]
    assert run.run(20, throughput=None, buffer=6, buffer_rate=-0.5) == [(35.0, "low.m3u8")]  # penalty 1
    assert run.run(31, throughput=2 * MBPS, buffer=30) == [(76.0, "sd.m3u8")]  # after 30 s of calm
    # Two minutes of calm on SD (forgiven at t=197), then a drain sends it down at t=205 (penalty 1
    # again, where it would have been 2). The buffer fell from 30 s to 4.5 s in one second at t=202:
    # a flush, so the trend starts there and the drain shows three seconds later.
    assert run.run(125, throughput=1.5 * MBPS, buffer=30) == []
    assert run.run(10, throughput=None, buffer=4.5, buffer_rate=-0.2) == [(205.0, "low.m3u8")]
    # Ten seconds' guard, then 30 s of calm (not 60): up at t=245.
    assert run.run(33, throughput=2 * MBPS, buffer=30) == []
    assert run.run(1, throughput=2 * MBPS, buffer=30) == [(245.0, "sd.m3u8")]


def test_without_a_long_stay_the_penalty_keeps_growing() -> None:
    run = sim(LOW)
    run.run(26, throughput=2 * MBPS, buffer=30)
    run.run(20, throughput=None, buffer=6, buffer_rate=-0.5)  # down at 35: penalty 1
    run.run(31, throughput=2 * MBPS, buffer=30)  # up at 76
    assert run.run(20, throughput=None, buffer=6, buffer_rate=-0.5) == [(86.0, "low.m3u8")]  # penalty 2
    # From t=107 it takes 60 s of calm.
    assert run.run(60, throughput=2 * MBPS, buffer=30) == []
    assert run.run(1, throughput=2 * MBPS, buffer=30) == [(157.0, "sd.m3u8")]


# --- dropped frames -----------------------------------------------------------------------------------


def test_dropping_frames_steps_down_and_never_goes_back_to_that_resolution() -> None:
    run = sim(FHD)
    # The Pi decodes 1080p in software: 3 of 25 frames a second are dropped (12%).
    switches = run.run(11, throughput=50 * MBPS, buffer=30, drops_per_s=3)
    assert switches == [(10.0, "hd.m3u8")]
    assert run.controller.decode_limit == (1920, 1080)
    assert not run.controller.allowed(FHD) and run.controller.allowed(HD)
    # HD decodes fine; the network could carry FHD for ever, but FHD is off the table.
    assert run.run(600, throughput=50 * MBPS, buffer=30) == []
    assert run.controller.current == HD


def test_dropped_frames_need_half_a_window_of_evidence_after_a_seek() -> None:
    run = sim(FHD)
    run.run(20, throughput=50 * MBPS, buffer=30)
    run.controller.seeked()
    # From t=20 it drops 10 frames a second; the first verdict comes with 5 s of evidence, at t=25.
    assert run.run(5, throughput=50 * MBPS, buffer=30, drops_per_s=10) == []
    assert run.run(1, throughput=50 * MBPS, buffer=30, drops_per_s=10) == [(25.0, "hd.m3u8")]


def test_a_burst_of_drops_is_averaged_over_ten_seconds() -> None:
    run = sim(FHD)
    run.run(20, throughput=50 * MBPS, buffer=30)
    # 10 dropped frames in one second is 40% for that second, but 4% over the window.
    run.dropped += 10
    assert run.run(10, throughput=50 * MBPS, buffer=30) == []


def test_a_few_dropped_frames_neither_step_down_nor_allow_a_step_up() -> None:
    run = sim(SD)
    # One frame a second is 4%: tolerable, but no headroom for a heavier picture.
    assert run.run(120, throughput=50 * MBPS, buffer=30, drops_per_s=1) == []
    assert run.controller.decode_limit is None


def test_dropping_frames_on_the_lowest_variant_leaves_it_there_without_a_limit() -> None:
    run = sim(LOW)
    assert run.run(60, throughput=50 * MBPS, buffer=30, drops_per_s=10) == []
    assert run.controller.decode_limit is None


def test_a_reset_drop_counter_is_not_read_as_negative_drops() -> None:
    run = sim(HD)
    run.run(10, throughput=5 * MBPS, buffer=30, drops_per_s=0.5)
    run.dropped = 0  # a new file: mpv counts from zero again
    assert run.run(20, throughput=5 * MBPS, buffer=30, drops_per_s=0.5) == []


def test_a_resolutionless_ladder_caps_by_bandwidth() -> None:
    a, b = Variant(500_000, None, "a"), Variant(2_000_000, None, "b")
    controller = AbrController([a, b])
    controller.initial(10 * MBPS)
    run = Sim(controller)
    assert run.run(15, throughput=10 * MBPS, buffer=30, drops_per_s=5) == [(10.0, "a")]
    assert run.run(300, throughput=10 * MBPS, buffer=30) == []
    assert controller.decode_limit is None and not controller.allowed(b)


def test_the_variants_own_frame_rate_sets_the_drop_threshold() -> None:
    fast = Variant(3_000_000, (1280, 720), "hd60", frame_rate=60.0)
    controller = AbrController([LOW, fast])
    controller.initial(50 * MBPS)
    # 2 drops a second is 8% at 25 fps but only 3.3% at 60 fps.
    assert Sim(controller).run(30, throughput=50 * MBPS, buffer=30, drops_per_s=2) == []


# --- seeks and the end of the film -------------------------------------------------------------------


def test_a_seek_that_empties_the_buffer_is_not_taken_for_draining() -> None:
    run = sim(HD)
    run.run(20, throughput=None, buffer=25)
    # The buffer falls from 25 s to 1 s in one second: a flush, not a slow network.
    assert run.run(1, throughput=None, buffer=1.0) == []
    assert run.run(6, throughput=None, buffer_rate=+2.0) == []


def test_an_explicit_seek_forgets_the_buffer_history() -> None:
    run = sim(HD)
    run.run(20, throughput=None, buffer=4.0)
    run.controller.seeked()
    # Without the call, 4 s -> 3 s over three seconds would look like draining.
    assert run.run(2, throughput=None, buffer=3.0) == []


def test_the_buffer_running_out_at_the_end_of_the_film_is_no_reason_to_switch() -> None:
    run = sim(HD)
    run.run(20, throughput=5 * MBPS, buffer=25)
    assert run.run(30, throughput=None, buffer_rate=-1.0, end_buffered=True) == []


def test_dropping_frames_still_steps_down_near_the_end_of_the_film() -> None:
    run = sim(FHD)
    run.run(10, throughput=50 * MBPS, buffer=25)
    # 5 drops a second from t=10: at t=13, 15 drops in the last ten seconds is 6%.
    assert run.run(10, throughput=None, buffer_rate=-1.0, drops_per_s=5, end_buffered=True) == [
        (13.0, "hd.m3u8")]


def test_tuning_can_make_it_more_patient() -> None:
    run = sim(LOW, tuning=AbrTuning(up_sustain_s=60, min_switch_interval_s=30))
    assert run.run(90, throughput=5 * MBPS, buffer=30) == []  # t=0 to 89: 30 s guard, then 59 s of calm
    assert run.run(1, throughput=5 * MBPS, buffer=30) == [(90.0, "sd.m3u8")]


# --- the bandwidth meter ------------------------------------------------------------------------------


def test_the_meter_knows_nothing_before_its_first_sample() -> None:
    assert BandwidthMeter().estimate_bps is None


def test_the_first_sample_is_the_estimate() -> None:
    meter = BandwidthMeter()
    meter.add_sample(1_000_000, 2.0)  # 1 MB in 2 s = 4 Mbit/s
    assert meter.estimate_bps == pytest.approx(4 * MBPS)


def test_a_steady_rate_converges_to_that_rate() -> None:
    meter = BandwidthMeter()
    for _ in range(30):
        meter.add_rate(250_000)  # bytes a second
    assert meter.estimate_bps == pytest.approx(2 * MBPS)


def test_a_collapse_shows_within_seconds_and_a_burst_is_discounted() -> None:
    meter = BandwidthMeter()
    for _ in range(30):
        meter.add_rate(1_000_000)  # 8 Mbit/s
    for _ in range(3):
        meter.add_rate(100_000)  # 0.8 Mbit/s
    assert meter.estimate_bps < 4 * MBPS  # three seconds in, more than half the fall shows
    for _ in range(30):
        meter.add_rate(100_000)
    meter.add_rate(1_000_000, 1.0)  # one fast second
    assert meter.estimate_bps < 2 * MBPS  # the slow average keeps it modest


def test_tiny_or_broken_samples_are_ignored() -> None:
    meter = BandwidthMeter()
    meter.add_sample(500, 0.001)  # a playlist: all latency, no bandwidth
    meter.add_sample(1_000_000, 0.0)
    meter.add_rate(float("nan"))
    meter.add_rate(-5.0)
    assert meter.estimate_bps is None


def test_long_samples_weigh_more_than_short_ones() -> None:
    meter = BandwidthMeter()
    meter.add_sample(2_500_000, 10.0)  # 2 Mbit/s for ten seconds
    meter.add_sample(1_000_000, 0.1)  # 80 Mbit/s for a tenth of a second
    assert meter.estimate_bps < 8 * MBPS


def test_the_meter_refuses_a_nonsense_half_life() -> None:
    with pytest.raises(ValueError):
        BandwidthMeter(fast_half_life_s=0)


# --- why it stays, and variants that stalled ---------------------------------------------------------


def test_it_says_why_it_does_not_step_up() -> None:
    run = sim(LOW)
    run.run(5, throughput=20 * MBPS, buffer=30)
    assert run.controller.up_blocker == "settling"  # the first ten seconds after a start
    run.run(10, throughput=300_000, buffer=30)
    assert run.controller.up_blocker == "network"
    run.run(5, throughput=20 * MBPS, buffer=15)
    assert run.controller.up_blocker == "buffer"
    run.run(5, throughput=20 * MBPS, buffer=30, drops_per_s=1)
    assert run.controller.up_blocker == "drops"
    run.run(5, throughput=20 * MBPS, buffer=30, playing=False)
    assert run.controller.up_blocker == "paused"
    run.run(12, throughput=20 * MBPS, buffer=30)
    assert run.controller.up_blocker == "sustain"  # everything is right; it waits out the calm spell


def test_at_the_top_or_below_a_decode_limit_it_says_so() -> None:
    top = sim(FHD)
    top.run(20, throughput=50 * MBPS, buffer=30)
    assert top.controller.up_blocker == "top"
    limited = sim(FHD)
    limited.run(11, throughput=50 * MBPS, buffer=30, drops_per_s=3)  # down to HD, FHD now off the table
    limited.run(30, throughput=50 * MBPS, buffer=30)
    assert limited.controller.up_blocker == "decoder"


def test_a_capped_ladder_never_goes_back_to_the_variant_that_stalled() -> None:
    run = sim(LOW)
    run.controller.cap(SD.bandwidth)
    assert run.run(300, throughput=50 * MBPS, buffer=30) == []
    assert run.controller.up_blocker == "stalled"
    assert not run.controller.allowed(HD) and run.controller.allowed(LOW)


def test_a_slow_spell_then_a_starved_decoder_steps_down_and_stays_down_for_the_decoder() -> None:
    # The end-to-end case of a busy machine: the line is throttled, then restored, but the decoder,
    # starved of CPU, drops a frame a second. It steps down for the line and stays there, saying why.
    run = sim(SD)
    run.run(20, throughput=5 * MBPS, buffer=30)
    assert run.run(15, throughput=240_000, buffer=4, buffer_rate=-0.3) == [(23.0, "low.m3u8")]
    assert run.run(120, throughput=5 * MBPS, buffer=30, drops_per_s=1) == []
    assert run.controller.up_blocker == "drops"
    # The same spell on a quiet machine comes back up once the calm has lasted.
    quiet = sim(SD)
    quiet.run(20, throughput=5 * MBPS, buffer=30)
    quiet.run(15, throughput=240_000, buffer=4, buffer_rate=-0.3)
    assert [uri for _, uri in quiet.run(120, throughput=5 * MBPS, buffer=30)] == ["sd.m3u8", "hd.m3u8"]
