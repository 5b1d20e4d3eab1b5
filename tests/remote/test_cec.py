"""CecRemote with the real backend module (_libcec) over the fake libcec binding in tests/fake_cec.py."""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from piclient.config.schema import CecConfig, RemoteConfig
from piclient.remote.buttons import Button
from piclient.remote.cec import CecRemote, osd_name
from piclient.remote.keymap import Keymap
from tests import fake_cec

OUR_ADDRESS = fake_cec.CECDEVICE_PLAYBACKDEVICE1
TV = fake_cec.CECDEVICE_TV
BROADCAST = fake_cec.CECDEVICE_BROADCAST


def cec_config(**overrides: Any) -> CecConfig:
    # model_construct: the schema rightly refuses retry_seconds below 1, and tests must not wait that long.
    values = {"enabled": True, "wake_tv": False, "osd_name": "", "adapter": "", "retry_seconds": 0.05}
    return CecConfig.model_construct(**(values | overrides))


def wait_for(predicate: Callable[[], object], what: str, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


class Recorder:
    """on_key / on_event that only enqueue, as the real launcher's must."""

    def __init__(self) -> None:
        self.keys: list[tuple[Button, bool]] = []
        self.events: list[tuple[str, dict[str, Any]]] = []

    def on_key(self, button: Button, pressed: bool) -> None:
        self.keys.append((button, pressed))

    def on_event(self, kind: str, detail: dict[str, Any]) -> None:
        self.events.append((kind, detail))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake_cec.reset()
    monkeypatch.setitem(sys.modules, "cec", fake_cec)
    yield fake_cec


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_remote(recorder: Recorder) -> Iterator[Callable[..., CecRemote]]:
    started: list[CecRemote] = []

    def make(config: CecConfig | None = None, name: str = "Living room", keymap: Keymap | None = None,
             power_poll_seconds: float | None = None, **kwargs: Any) -> CecRemote:
        remote = CecRemote(
            config or cec_config(),
            name,
            keymap or Keymap.from_config(),
            recorder.on_key,
            recorder.on_event,
            **kwargs,
        )
        if power_poll_seconds is not None:
            remote.power_poll_seconds = power_poll_seconds
        started.append(remote)
        remote.start()
        return remote

    yield make
    for remote in started:
        remote.stop()


@pytest.fixture
def open_remote(fake: Any, make_remote: Callable[..., CecRemote], recorder: Recorder) -> CecRemote:
    fake.plug()
    remote = make_remote()
    wait_for(lambda: remote.state().adapter == "open", "the adapter to open")
    wait_for(lambda: remote.state().tv_power == "on", "the first TV power query")
    recorder.events.clear()
    return remote


# -- keys ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "button"),
    [
        (0x01, Button.UP),
        (0x00, Button.OK),
        (0x45, Button.STOP),
        (0x0D, Button.BACK),
        (0x71, Button.BLUE),
        (0x74, Button.YELLOW),
        (0x61, Button.PLAYPAUSE),
        (0x49, Button.FF),
        (0x23, Button.DIGIT_3),
    ],
)
def test_real_cec_codes_reach_on_key_as_the_right_buttons(fake, open_remote, recorder, code, button):
    fake.last().press(code)
    fake.last().release(code)
    assert recorder.keys == [(button, True), (button, False)]


def test_a_repeated_press_from_the_tv_is_passed_on_for_the_repeater_to_judge(fake, open_remote, recorder):
    for _ in range(3):
        fake.last().press(0x02)
    fake.last().release(0x02, duration_ms=900)
    assert recorder.keys == [(Button.DOWN, True)] * 3 + [(Button.DOWN, False)]


def test_unknown_cec_codes_are_ignored_and_logged_at_debug(fake, open_remote, recorder, caplog):
    caplog.set_level(logging.DEBUG, logger="piclient.remote")
    fake.last().press(0x40)  # POWER: the TV's business, not ours
    assert recorder.keys == []
    assert any("0x40" in r.getMessage() and r.levelno == logging.DEBUG for r in caplog.records)


def test_config_overrides_decide_what_a_cec_code_means(fake, make_remote, recorder):
    fake.plug()
    keymap = Keymap.from_config(RemoteConfig.model_validate({"cec": {"0x09": "back", "0x71": "red"}}))
    remote = make_remote(keymap=keymap)
    wait_for(lambda: remote.state().adapter == "open", "the adapter to open")
    fake.last().press(0x09)
    fake.last().press(0x71)
    assert recorder.keys == [(Button.BACK, True), (Button.RED, True)]


def test_a_failing_on_key_never_raises_into_libcec(fake, make_remote):
    fake.plug()

    def explode(button: Button, pressed: bool) -> None:
        raise RuntimeError("queue full")

    remote = CecRemote(cec_config(), "box", Keymap.from_config(), explode, lambda kind, detail: None)
    remote.start()
    try:
        wait_for(lambda: remote.state().adapter == "open", "the adapter to open")
        fake.last().press(0x01)
        fake.last().receive(TV, BROADCAST, fake.CEC_OPCODE_STANDBY)
        assert fake.world.escaped == []
    finally:
        remote.stop()


def test_a_key_from_the_tv_remote_means_the_tv_is_on(fake, make_remote, recorder):
    fake.plug()
    fake.world.tv_power = fake.CEC_POWER_STATUS_STANDBY
    remote = make_remote()
    wait_for(lambda: remote.state().tv_power == "standby", "the first TV power query")
    fake.last().press(0x01)
    assert remote.state().tv_power == "on"
    assert recorder.kinds() == ["tv_standby", "tv_on"]


# -- how libcec is configured ----------------------------------------------------------------------


def test_libcec_is_configured_as_a_playback_device_named_for_the_tv(fake, open_remote):
    lib = fake.last()
    assert lib.device_types == [fake.CEC_DEVICE_TYPE_PLAYBACK_DEVICE]
    assert lib.device_name == "Living room"
    assert lib.client_version == fake.LIBCEC_VERSION_CURRENT


def test_stop_acts_at_once_because_there_is_no_combo_key(fake, open_remote):
    # libcec 6.0.2 swallows STOP's press while STOP is the combo key, whatever the timeout.
    assert fake.last().combo_key == fake.CEC_USER_CONTROL_CODE_UNKNOWN
    assert fake.last().combo_key_timeout_ms == 0
    assert fake.last().button_repeat_rate_ms == 0


def test_libcec_never_wakes_or_powers_off_anything_by_itself(fake, open_remote):
    lib = fake.last()
    assert lib.activate_source == 0
    assert lib.wake_devices == set()
    assert lib.power_off_devices == set()


def test_even_with_wake_tv_libcec_does_not_wake_the_tv_when_it_opens(fake, make_remote):
    fake.plug()
    fake.world.tv_power = fake.CEC_POWER_STATUS_STANDBY
    remote = make_remote(cec_config(wake_tv=True))
    wait_for(lambda: remote.state().tv_power == "standby", "the first TV power query")
    assert fake.last().wake_devices == set()
    assert fake.last().power_on_calls == []
    assert fake.last().active_source_calls == 0


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Living room", "Living room"), ("거실 TV", "TV"), ("할머니", "piclient"), ("a" * 20, "a" * 14), ("", "piclient")],
)
def test_the_osd_name_is_what_cec_can_carry(name, expected):
    assert osd_name(name) == expected


def test_a_korean_device_name_reaches_libcec_as_a_readable_ascii_name(fake, make_remote):
    fake.plug()
    remote = make_remote(name="할머니 거실")
    wait_for(lambda: remote.state().adapter == "open", "the adapter to open")
    assert fake.last().device_name == "piclient"


def test_a_configured_adapter_port_is_opened_without_detection(fake, make_remote):
    fake.plug("/dev/cec1")
    remote = make_remote(cec_config(adapter="/dev/cec1"))
    wait_for(lambda: remote.state().adapter == "open", "the adapter to open")
    assert fake.last().opened_ports == ["/dev/cec1"]
    assert fake.last().detect_calls == 0
    assert "/dev/cec1" in remote.state().detail


# -- adapter missing, busy, lost -------------------------------------------------------------------


def test_without_an_adapter_it_says_so_once_and_retries_until_one_appears(fake, make_remote, recorder, caplog):
    caplog.set_level(logging.DEBUG, logger="piclient.remote")
    remote = make_remote()
    wait_for(lambda: fake.world.created and fake.last().detect_calls >= 4, "several detection attempts")
    state = remote.state()
    assert state.adapter in ("unavailable", "opening")
    assert state.detail == "no HDMI-CEC adapter found"
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == ["no HDMI-CEC adapter found; the keyboard still works; retrying every 0.05 s"]

    fake.plug()
    wait_for(lambda: remote.state().adapter == "open", "the adapter to open once plugged in")
    fake.last().press(0x01)
    assert recorder.keys == [(Button.UP, True)]


def test_a_busy_adapter_says_why_it_could_not_be_opened(fake, make_remote):
    fake.plug()
    fake.world.busy = True
    remote = make_remote()
    wait_for(lambda: "in use by another program" in remote.state().detail, "the busy reason")
    assert remote.state().adapter != "open"
    fake.world.busy = False
    wait_for(lambda: remote.state().adapter == "open", "the adapter to open once free")


def test_a_lost_connection_is_reported_once_and_the_adapter_reopened(fake, open_remote, caplog):
    caplog.set_level(logging.DEBUG, logger="piclient.remote")
    lib = fake.last()
    fake.unplug()
    lib.alert(fake.CEC_ALERT_CONNECTION_LOST)
    wait_for(lambda: lib.detect_calls >= 3, "retries after the loss")
    assert open_remote.state().adapter != "open"
    assert open_remote.state().tv_power == "unknown"
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("connection to the HDMI-CEC adapter lost")

    fake.plug()
    wait_for(lambda: open_remote.state().adapter == "open", "the adapter to reopen")
    assert lib.opened_ports == ["/dev/cec0", "/dev/cec0"]
    assert lib.close_calls >= 1


def test_a_missing_libcec_binding_is_one_clear_line_and_no_crash(monkeypatch, make_remote, caplog):
    monkeypatch.setitem(sys.modules, "cec", None)  # makes `import cec` fail like on a laptop
    remote = make_remote()
    wait_for(lambda: remote.state().adapter == "unavailable", "the binding check")
    assert "python3-cec" in remote.state().detail
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "keyboard still works" in warnings[0]
    remote.make_active_source()  # must stay a harmless no-op


def test_a_disabled_config_never_builds_a_backend(make_remote):
    built: list[object] = []

    def factory(*args: object) -> Any:
        built.append(args)
        raise AssertionError("CEC is disabled")

    remote = make_remote(cec_config(enabled=False), backend_factory=factory)
    remote.make_active_source()
    remote.stop()
    assert built == []
    assert remote.state().adapter == "disabled"


# -- what the TV does ------------------------------------------------------------------------------


def test_the_tv_going_to_standby_is_a_tv_standby_event(fake, open_remote, recorder):
    fake.last().receive(TV, BROADCAST, fake.CEC_OPCODE_STANDBY)
    assert recorder.kinds() == ["tv_standby"]
    assert open_remote.state().tv_power == "standby"


def test_every_standby_command_pauses_even_if_we_already_thought_the_tv_was_off(fake, open_remote, recorder):
    fake.last().receive(TV, BROADCAST, fake.CEC_OPCODE_STANDBY)
    fake.last().receive(TV, BROADCAST, fake.CEC_OPCODE_STANDBY)
    assert recorder.kinds() == ["tv_standby", "tv_standby"]


def test_a_standby_meant_for_another_device_is_not_ours(fake, open_remote, recorder):
    fake.last().receive(TV, fake.CECDEVICE_AUDIOSYSTEM, fake.CEC_OPCODE_STANDBY)
    assert recorder.kinds() == []


def test_power_reports_from_the_tv_fire_events_only_when_the_power_changes(fake, open_remote, recorder):
    lib = fake.last()
    lib.receive(TV, OUR_ADDRESS, fake.CEC_OPCODE_REPORT_POWER_STATUS, fake.CEC_POWER_STATUS_ON)
    lib.receive(TV, OUR_ADDRESS, fake.CEC_OPCODE_REPORT_POWER_STATUS, fake.CEC_POWER_STATUS_STANDBY)
    lib.receive(TV, OUR_ADDRESS, fake.CEC_OPCODE_REPORT_POWER_STATUS, fake.CEC_POWER_STATUS_STANDBY)
    lib.receive(TV, OUR_ADDRESS, fake.CEC_OPCODE_REPORT_POWER_STATUS, fake.CEC_POWER_STATUS_IN_TRANSITION_STANDBY_TO_ON)
    assert recorder.kinds() == ["tv_standby", "tv_on"]


def test_the_tv_power_is_polled_while_nothing_is_said_on_the_bus(fake, make_remote, recorder):
    fake.plug()
    remote = make_remote(power_poll_seconds=0.02)
    wait_for(lambda: remote.state().tv_power == "on", "the first TV power query")
    fake.world.tv_power = fake.CEC_POWER_STATUS_STANDBY  # and not a word on the bus
    wait_for(lambda: remote.state().tv_power == "standby", "a poll to notice the standby")
    assert recorder.kinds() == ["tv_on", "tv_standby"]
    assert fake.last().active_source_calls == 0


def test_another_device_becoming_active_source_is_input_switched_away(fake, open_remote, recorder):
    fake.last().source_activated(OUR_ADDRESS, True)
    fake.last().receive(fake.CECDEVICE_RECORDINGDEVICE1, BROADCAST, fake.CEC_OPCODE_ACTIVE_SOURCE, 0x20, 0x00)
    assert recorder.events[-1] == ("input_switched_away", {"from": 1, "to": "2.0.0.0"})
    assert open_remote.state().active_source is False


def test_libcec_telling_us_we_lost_the_source_is_input_switched_away_once(fake, open_remote, recorder):
    lib = fake.last()
    open_remote.make_active_source()
    wait_for(lambda: open_remote.state().active_source is True, "the box to become the source")
    lib.source_activated(OUR_ADDRESS, False)
    lib.receive(fake.CECDEVICE_RECORDINGDEVICE1, BROADCAST, fake.CEC_OPCODE_ACTIVE_SOURCE, 0x20, 0x00)
    assert recorder.kinds() == ["active_source", "input_switched_away"]


def test_libcec_marking_us_active_on_its_own_is_not_taken_for_the_bus(fake, open_remote, recorder):
    # libcec "activates" its client on the first key the TV forwards, even with activation off and
    # without a frame on the bus: the TV may still be showing something else.
    fake.last().source_activated(OUR_ADDRESS, True)
    assert recorder.kinds() == []
    assert open_remote.state().active_source is None


def test_the_tv_selecting_the_box_makes_it_the_active_source(fake, make_remote, recorder):
    fake.plug()
    fake.world.physical_address = 0x1000
    remote = make_remote()
    wait_for(lambda: remote.state().tv_power == "on", "the first TV power query")
    fake.last().receive(TV, BROADCAST, fake.CEC_OPCODE_SET_STREAM_PATH, 0x10, 0x00)
    assert recorder.events[-1] == ("active_source", {"by": "tv"})
    assert remote.state().active_source is True


def test_a_second_standby_within_ten_seconds_still_pauses(fake, open_remote, recorder):
    # libcec forwards one <Standby> per 10 s to the command callback; its traffic log sees them all.
    lib = fake.last()
    lib.receive(TV, BROADCAST, fake.CEC_OPCODE_STANDBY)
    lib.receive(TV, BROADCAST, fake.CEC_OPCODE_REPORT_POWER_STATUS, fake.CEC_POWER_STATUS_ON)
    lib.receive(TV, BROADCAST, fake.CEC_OPCODE_STANDBY, forward_standby=False)
    assert recorder.kinds() == ["tv_standby", "tv_on", "tv_standby"]


def test_our_own_active_source_message_is_not_switching_away(fake, open_remote, recorder):
    fake.last().receive(OUR_ADDRESS, BROADCAST, fake.CEC_OPCODE_ACTIVE_SOURCE, 0x10, 0x00)
    assert recorder.kinds() == []


@pytest.mark.parametrize(
    ("ours", "new_route", "away"),
    [
        (0x1000, 0x2000, True),  # the TV switched to HDMI 2
        (0x1000, 0x0000, True),  # the TV switched to its own tuner or apps
        (0x1000, 0x1000, False),  # the TV switched to us
        (0x1100, 0x1000, False),  # the TV switched to the AVR we sit behind
        (0x1100, 0x1200, True),  # the AVR switched to its other input
    ],
)
def test_routing_away_from_our_hdmi_port_is_input_switched_away(fake, make_remote, recorder, ours, new_route, away):
    fake.plug()
    fake.world.physical_address = ours
    remote = make_remote()
    wait_for(lambda: remote.state().tv_power == "on", "the first TV power query")
    fake.last().receive(TV, BROADCAST, fake.CEC_OPCODE_ROUTING_CHANGE, 0x10, 0x00, new_route >> 8, new_route & 0xFF)
    fake.last().receive(TV, BROADCAST, fake.CEC_OPCODE_SET_STREAM_PATH, new_route >> 8, new_route & 0xFF)
    assert ("input_switched_away" in recorder.kinds()) is away


# -- becoming the active source ----------------------------------------------------------------------


def test_make_active_source_switches_a_tv_that_is_on(fake, open_remote, recorder):
    open_remote.make_active_source()
    wait_for(lambda: open_remote.state().active_source is True, "the switch")
    assert fake.last().active_source_calls == 1
    assert recorder.kinds() == ["active_source"]


def test_make_active_source_asks_again_even_when_we_think_we_are_the_source(fake, open_remote, recorder):
    # The TV may have switched to its own tuner without a word on the bus.
    open_remote.make_active_source()
    wait_for(lambda: fake.last().active_source_calls == 1, "the first switch")
    open_remote.make_active_source()
    wait_for(lambda: fake.last().active_source_calls == 2, "the second switch")
    assert recorder.kinds() == ["active_source"]


def test_make_active_source_never_wakes_a_tv_in_standby(fake, make_remote):
    fake.plug()
    fake.world.tv_power = fake.CEC_POWER_STATUS_STANDBY
    remote = make_remote()
    wait_for(lambda: remote.state().tv_power == "standby", "the first TV power query")
    remote.make_active_source()
    wait_for(lambda: fake.last().power_status_queries >= 2, "the fresh power query")
    time.sleep(0.05)
    assert fake.last().active_source_calls == 0
    assert fake.last().power_on_calls == []


def test_make_active_source_asks_the_tv_afresh_rather_than_trusting_a_stale_on(fake, open_remote):
    fake.world.tv_power = fake.CEC_POWER_STATUS_STANDBY  # the TV slept without a word on the bus
    open_remote.make_active_source()
    wait_for(lambda: open_remote.state().tv_power == "standby", "the fresh power query")
    time.sleep(0.05)
    assert fake.last().active_source_calls == 0


def test_with_wake_tv_make_active_source_powers_the_tv_on_first(fake, make_remote):
    fake.plug()
    fake.world.tv_power = fake.CEC_POWER_STATUS_STANDBY
    remote = make_remote(cec_config(wake_tv=True))
    wait_for(lambda: remote.state().tv_power == "standby", "the first TV power query")
    remote.make_active_source()
    wait_for(lambda: remote.state().active_source is True, "the switch")
    assert fake.last().power_on_calls == [TV]
    assert fake.last().active_source_calls == 1


def test_a_refused_switch_is_recorded_as_the_last_error(fake, open_remote):
    fake.world.accepts_active_source = False
    open_remote.make_active_source()
    wait_for(lambda: open_remote.state().last_error is not None, "the error")
    assert "active source" in open_remote.state().last_error
    assert open_remote.state().active_source is not True


def test_make_active_source_does_nothing_while_the_adapter_is_missing(fake, make_remote):
    remote = make_remote()
    wait_for(lambda: fake.world.created and fake.last().detect_calls >= 1, "a detection attempt")
    remote.make_active_source()
    fake.plug()
    wait_for(lambda: remote.state().adapter == "open", "the adapter to open")
    time.sleep(0.05)
    assert fake.last().active_source_calls == 0


# -- stopping --------------------------------------------------------------------------------------


def test_stop_joins_quickly_and_closes_the_adapter(fake, open_remote):
    lib = fake.last()
    started = time.monotonic()
    open_remote.stop()
    assert time.monotonic() - started < 0.5
    assert open_remote._thread is not None and not open_remote._thread.is_alive()
    assert lib.is_open is False
    assert open_remote.state().adapter == "disabled"


def test_stop_while_waiting_to_retry_does_not_wait_for_the_retry(fake, make_remote):
    remote = make_remote(cec_config(retry_seconds=30))
    wait_for(lambda: fake.world.created and fake.last().detect_calls >= 1, "a detection attempt")
    started = time.monotonic()
    remote.stop()
    assert time.monotonic() - started < 0.5


def test_libcec_errors_reach_our_log(fake, open_remote, caplog):
    caplog.set_level(logging.DEBUG, logger="piclient.remote")
    fake.last().log(fake.CEC_LOG_ERROR, "could not transmit")
    fake.last().log(fake.CEC_LOG_TRAFFIC, ">> 0f:36")
    levels = {r.getMessage(): r.levelno for r in caplog.records if r.getMessage().startswith("libcec:")}
    assert levels == {"libcec: could not transmit": logging.INFO, "libcec: >> 0f:36": logging.DEBUG}


def test_importing_the_remote_package_loads_no_libcec():
    code = (
        "import sys, piclient.remote.cec, piclient.remote._libcec, piclient.remote.keymap, "
        "piclient.remote.repeat; print('cec' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    assert result.stdout.strip() == "False"


# -- which HDMI port (libcec 6 opens only /dev/cec0) ---------------------------------------------------


@pytest.mark.parametrize(("addresses", "hint"), [
    ({"/dev/cec0": 0x1000, "/dev/cec1": 0xFFFF}, None),  # the TV on HDMI 0: all is well
    ({"/dev/cec0": 0xFFFF, "/dev/cec1": 0x1000}, "/dev/cec1"),  # the TV on HDMI 1: say which port to use
    ({"/dev/cec0": 0xFFFF, "/dev/cec1": 0xFFFF}, None),  # no TV on either: nothing to suggest
    ({"/dev/cec0": 0xFFFF}, None),
    ({"/dev/cec1": 0x1000}, None),  # no /dev/cec0 at all: libcec finds no adapter and says so
])
def test_a_tv_on_the_other_hdmi_port_is_named_with_the_port_to_use(addresses, hint) -> None:
    from piclient.remote._libcec import port_hint

    found = port_hint(sorted(addresses), addresses.get)
    if hint is None:
        assert found is None
    else:
        assert hint in found and "HDMI 0" in found


def test_a_kernel_cec_device_that_vanishes_is_a_lost_connection_reported_once(fake, open_remote, caplog):
    # libcec 6.0.2 sends no alert then; its reader thread logs ENODEV over and over instead.
    caplog.set_level(logging.DEBUG, logger="piclient.remote")
    gone = "CLinuxCECAdapterCommunication::Process - ioctl CEC_DQEVENT failed - errno=19"
    lib = fake.last()
    fake.unplug()
    for _ in range(50):  # until our close stops libcec's reader
        with contextlib.suppress(RuntimeError):
            lib.log(fake.CEC_LOG_ERROR, gone)
    wait_for(lambda: lib.close_calls >= 1 and open_remote.state().adapter != "open", "the loss to be noticed")
    assert sum(gone in r.getMessage() for r in caplog.records) == 1  # not once per retry of libcec's loop
    fake.plug()
    wait_for(lambda: open_remote.state().adapter == "open", "the adapter to reopen")
