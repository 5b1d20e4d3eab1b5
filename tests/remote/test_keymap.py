import os

import pytest

from piclient.config.schema import RemoteConfig
from piclient.remote.buttons import Button
from piclient.remote.keymap import DEFAULT_CEC, DEFAULT_KEYBOARD, Keymap


def _pygame_key_names() -> set[str]:
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    pygame = pytest.importorskip("pygame")
    return {pygame.key.name(getattr(pygame, attr)).lower() for attr in dir(pygame) if attr.startswith("K_")}


def test_every_default_keyboard_key_is_a_name_pygame_really_reports():
    names = _pygame_key_names()
    assert sorted(set(DEFAULT_KEYBOARD) - names) == []


def test_every_button_but_separate_play_and_pause_can_be_pressed_from_the_keyboard():
    # Keyboards have one play/pause toggle; pygame's key names give media keys no name at all.
    assert set(Button) - set(DEFAULT_KEYBOARD.values()) == {Button.PLAY, Button.PAUSE}


@pytest.mark.parametrize(
    ("key", "button"),
    [
        ("up", Button.UP),
        ("down", Button.DOWN),
        ("left", Button.LEFT),
        ("right", Button.RIGHT),
        ("return", Button.OK),
        ("enter", Button.OK),
        ("escape", Button.BACK),
        ("backspace", Button.BACK),
        ("space", Button.PLAYPAUSE),
        ("s", Button.STOP),
        ("f", Button.FF),
        ("r", Button.RW),
        ("f1", Button.RED),
        ("f2", Button.GREEN),
        ("f3", Button.YELLOW),
        ("f4", Button.BLUE),
        ("i", Button.INFO),
        ("7", Button.DIGIT_7),
        ("[7]", Button.DIGIT_7),
    ],
)
def test_default_keyboard_keys_press_the_expected_buttons(key, button):
    assert Keymap.from_config().keyboard(key) is button


def test_keyboard_lookup_ignores_case_because_pygame_capitalises_some_names():
    assert Keymap.from_config().keyboard("AC Back") is Button.BACK


@pytest.mark.parametrize(
    ("code", "button"),
    [
        (0x00, Button.OK),
        (0x01, Button.UP),
        (0x02, Button.DOWN),
        (0x03, Button.LEFT),
        (0x04, Button.RIGHT),
        (0x0D, Button.BACK),
        (0x20, Button.DIGIT_0),
        (0x29, Button.DIGIT_9),
        (0x35, Button.INFO),
        (0x44, Button.PLAY),
        (0x45, Button.STOP),
        (0x46, Button.PAUSE),
        (0x48, Button.RW),
        (0x49, Button.FF),
        (0x61, Button.PLAYPAUSE),
        (0x64, Button.STOP),
        (0x71, Button.BLUE),
        (0x72, Button.RED),
        (0x73, Button.GREEN),
        (0x74, Button.YELLOW),
    ],
)
def test_default_cec_codes_press_the_expected_buttons(code, button):
    assert Keymap.from_config().cec(code) is button


def test_cec_colour_keys_follow_libcecs_own_names():
    # Checked against the real binding, so a wrong guess about F1..F4 cannot hide in both tables.
    cec = pytest.importorskip("cec")
    assert DEFAULT_CEC[cec.CEC_USER_CONTROL_CODE_F1_BLUE] is Button.BLUE
    assert DEFAULT_CEC[cec.CEC_USER_CONTROL_CODE_F2_RED] is Button.RED
    assert DEFAULT_CEC[cec.CEC_USER_CONTROL_CODE_F3_GREEN] is Button.GREEN
    assert DEFAULT_CEC[cec.CEC_USER_CONTROL_CODE_F4_YELLOW] is Button.YELLOW
    assert DEFAULT_CEC[cec.CEC_USER_CONTROL_CODE_SELECT] is Button.OK
    assert DEFAULT_CEC[cec.CEC_USER_CONTROL_CODE_EXIT] is Button.BACK
    assert DEFAULT_CEC[cec.CEC_USER_CONTROL_CODE_PAUSE_PLAY_FUNCTION] is Button.PLAYPAUSE


def test_codes_that_mean_nothing_here_map_to_no_button():
    keymap = Keymap.from_config()
    assert keymap.cec(0x40) is None  # POWER belongs to the TV
    assert keymap.cec(0x41) is None  # volume belongs to the TV
    assert keymap.keyboard("q") is None


def test_config_overrides_add_and_replace_entries_and_keep_the_other_defaults():
    remote = RemoteConfig.model_validate(
        {"keyboard": {"X": "ok", "space": "pause"}, "cec": {"0x09": "back", "0x71": "red"}}
    )
    keymap = Keymap.from_config(remote)
    assert keymap.keyboard("x") is Button.OK
    assert keymap.keyboard("space") is Button.PAUSE
    assert keymap.cec(0x09) is Button.BACK
    assert keymap.cec(0x71) is Button.RED
    assert keymap.keyboard("up") is Button.UP
    assert keymap.cec(0x72) is Button.RED


def test_overrides_do_not_leak_into_the_defaults_or_other_keymaps():
    Keymap.from_config(RemoteConfig.model_validate({"keyboard": {"up": "down"}, "cec": {"1": "down"}}))
    assert DEFAULT_KEYBOARD["up"] is Button.UP
    assert Keymap.from_config().cec(0x01) is Button.UP
